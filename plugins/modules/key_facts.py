#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: key_facts
short_description: Set facts about Alibaba Cloud KMS keys for later tasks and plays
version_added: 1.0.0
description:
  - Lists KMS keys exactly as M(alicloud.kms.key_info) does, with the same options, and stores them as host
    facts, so later tasks, and later plays through C(hostvars), read them without asking the service again.
  - Sets C(alicloud_kms_keys) (the key records), C(alicloud_kms_key_ids) and C(alicloud_kms_key_arns).
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - alicloud.kms.connection
  - alicloud.kms.connection.listing
  - alicloud.kms.connection.accounts
  - alicloud.kms.filters
  - ansible.builtin.action_common_attributes.facts
  - alicloud.kms.attributes  # before the builtin ones: the first definition of an attribute wins
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  facts:
    support: full
seealso:
  - module: alicloud.kms.key_info
"""

EXAMPLES = r"""
- name: Gather the keys scheduled for deletion
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Set alicloud_kms_* facts
      alicloud.kms.key_facts:
        regions: [cn-hangzhou, cn-shanghai]
        key_state: PendingDeletion

    - name: A later task reads them as variables
      ansible.builtin.debug:
        msg: "{{ alicloud_kms_key_ids | length }} keys are pending deletion"

- name: A later play reads them through hostvars
  hosts: all
  gather_facts: false
  tasks:
    - name: Use the facts gathered on localhost
      ansible.builtin.debug:
        msg: "{{ hostvars['localhost'].alicloud_kms_key_arns }}"
"""

RETURN = r"""
not_read:
  description: The accounts and regions left out, as M(alicloud.kms.key_info) returns them in RV(alicloud.kms.key_info#module:not_read).
  returned: always
  type: list
  elements: dict
summary:
  description: What the run did, as M(alicloud.kms.key_info) returns it in RV(alicloud.kms.key_info#module:summary).
  returned: always
  type: dict
ansible_facts:
  description: The facts set for the host.
  returned: always
  type: dict
  contains:
    alicloud_kms_keys:
      description:
        - One record per key, the same records M(alicloud.kms.key_info) returns as C(keys).
        - Each has C(key_id), C(key_arn), C(region), C(account_id), plus the O(facets) asked for and, with O(details=true),
          the C(KeyMetadata) fields in snake_case.
      type: list
      elements: dict
      sample: [{"key_id": "08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001", "region": "cn-hangzhou", "account_id": "123456",
                "key_arn": "acs:kms:cn-hangzhou:123456:key/08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001"}]
    alicloud_kms_key_ids:
      description: The key IDs, in the order of C(alicloud_kms_keys).
      sample: [08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001]
      type: list
      elements: str
    alicloud_kms_key_arns:
      description: The key ARNs, in the order of C(alicloud_kms_keys).
      sample: ["acs:kms:cn-hangzhou:123456:key/08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001"]
      type: list
      elements: str
"""

from ansible_collections.alicloud.kms.plugins.module_utils._module import exit_with, new_module


def main():
    exit_with(
        new_module(),
        lambda keys: dict(
            ansible_facts=dict(
                alicloud_kms_keys=keys,
                alicloud_kms_key_ids=[k["key_id"] for k in keys],
                alicloud_kms_key_arns=[k["key_arn"] for k in keys],
            )
        ),
    )


if __name__ == "__main__":
    main()
