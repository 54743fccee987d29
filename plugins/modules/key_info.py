#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: key_info
short_description: List Alibaba Cloud KMS keys, with server-side filters, across regions
version_added: 1.0.0
description:
  - Lists the customer master keys (CMKs) of an Alibaba Cloud account with the KMS C(ListKeys) API, reading
    every page (concurrently, under the service's quota) in one region or many regions in parallel.
  - Filters are applied by the service. Bad filter values fail before any request is sent.
  - Optionally learns each key's state, spec and other attributes (O(facets)) or its full metadata (O(details)).
  - Credentials come from the options, the E(ALICLOUD_*) or E(ALIBABA_CLOUD_*) environment variables, or the
    default credential chain of C(alibabacloud-credentials). Set them for several tasks at once with
    C(module_defaults) and the C(group/alicloud.kms.kms) action group.
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - alicloud.kms.connection
  - alicloud.kms.connection.listing
  - alicloud.kms.connection.accounts
  - alicloud.kms.filters
  - alicloud.kms.attributes  # before the builtin ones: the first definition of an attribute wins
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
notes:
  - Errors from the service carry its C(Code) and C(RequestId); the secret and token never appear in output.
seealso:
  - name: ListKeys API reference
    description: The KMS operation this module wraps.
    link: https://www.alibabacloud.com/help/en/kms/developer-reference/api-kms-2016-01-20-listkeys
"""

EXAMPLES = r"""
- name: List every key in one region
  alicloud.kms.key_info:
    region: cn-hangzhou
  register: kms

- name: Enabled or disabled AES keys in two regions
  alicloud.kms.key_info:
    regions: [cn-hangzhou, cn-shanghai]
    key_state: [Enabled, Disabled]
    key_spec: Aliyun_AES_256
  register: aes_keys

- name: Keys scheduled for deletion anywhere, with their state and spec, and full metadata
  alicloud.kms.key_info:
    regions: all
    key_state: PendingDeletion
    facets: [key_spec]
    details: true
  register: doomed

- name: Keys of one KMS instance, through a raw filter
  alicloud.kms.key_info:
    region: cn-hangzhou
    filters:
      - key: DKMSInstanceId
        values: [kst-hzz62ee817bvyyr5x0001]

- name: Credentials for every KMS task of a play, from the environment or a vault
  hosts: localhost
  module_defaults:
    group/alicloud.kms.kms:
      access_key_id: "{{ vault_alicloud_access_key }}"
      access_key_secret: "{{ vault_alicloud_secret_key }}"
  tasks:
    - name: List keys with the defaults above
      alicloud.kms.key_info:
        region: cn-shanghai
"""

RETURN = r"""
not_read:
  description:
    - The accounts and regions left out with O(strict_permissions=false) (denied, unreachable after retries, an account
      whose role cannot be assumed, or a member that is not usable yet); empty otherwise.
    - Not named C(skipped), which Ansible would take for a skipped task.
  returned: always
  type: list
  elements: dict
  contains:
    account_id:
      description: The account, or null for the caller's own.
      type: str
    region:
      description: The region, or null when the whole account was left out.
      type: str
    code:
      description: The service's Code, or the member's ListAccounts status.
      type: str
    message:
      description: What went wrong.
      type: str
    request_id:
      description: The service's RequestId, when there was a request.
      type: str
summary:
  description: What the run did, for job logs.
  returned: always
  type: dict
  contains:
    accounts:
      description: Accounts read.
      type: int
    regions:
      description: Regions per account.
      type: int
    keys:
      description: Keys returned.
      type: int
    requests:
      description: Requests sent per API action, retries included.
      type: dict
    retries:
      description: Requests that were retries.
      type: int
    not_read:
      description: Entries in RV(not_read).
      type: int
  sample: {"accounts": 1, "regions": 2, "keys": 24, "requests": {"ListKeys": 2}, "retries": 0, "not_read": 0}
keys:
  description: One record per key, ordered by region and then as the service lists them.
  returned: always
  type: list
  elements: dict
  contains:
    key_id:
      description: The key ID.
      type: str
      sample: 08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001
    key_arn:
      description: The key's ARN.
      type: str
      sample: acs:kms:cn-hangzhou:123456:key/08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001
    region:
      description: The region the key lives in, from its ARN.
      type: str
      sample: cn-hangzhou
    account_id:
      description: The account that owns the key, from its ARN.
      type: str
      sample: "123456"
    account_name:
      description: The account's display name from C(ListAccounts) with O(accounts=[all]); null for other runs with O(accounts).
      returned: when O(accounts) is set
      type: str
    aliases:
      description: The key's alias names, sorted; empty when it has none.
      returned: when O(aliases=true)
      type: list
      elements: str
      sample: [alias/orders-db]
    tags:
      description: The key's tags, tag key to value; empty when it has none.
      returned: when O(tags=true)
      type: dict
      sample: {"env": "prod", "team": "orders"}
    key_policy:
      description: The parsed default key policy of a key in a KMS instance; null for other keys.
      returned: when O(key_policy=true)
      type: dict
    key_state:
      description: The key state, when O(facets) includes V(key_state) or O(details=true).
      type: str
      returned: when asked for
      sample: Enabled
    key_spec:
      description: The key spec, when O(facets) includes V(key_spec) or O(details=true).
      type: str
      returned: when asked for
      sample: Aliyun_AES_256
    key_usage:
      description: The key usage, when O(facets) includes V(key_usage) or O(details=true).
      type: str
      returned: when asked for
      sample: ENCRYPT/DECRYPT
    protection_level:
      description: The protection level, when O(facets) includes V(protection_level) or O(details=true).
      type: str
      returned: when asked for
      sample: SOFTWARE
    creator_type:
      description: Who created the key, when O(facets) includes V(creator_type).
      type: str
      returned: when asked for
      sample: User
    dkms_instance_id:
      description: The KMS instance of the key, when O(facets) includes V(dkms_instance_id) or O(details=true).
      type: str
      returned: when asked for
      sample: kst-hzz62ee817bvyyr5x0001
    creation_date:
      description:
        - With O(details=true), every field of C(DescribeKey)'s C(KeyMetadata) in snake_case, among them
          C(creation_date), C(description), C(creator), C(origin), C(automatic_rotation), C(rotation_interval),
          C(last_rotation_date), C(next_rotation_date), C(delete_date), C(material_expire_time),
          C(primary_key_version), C(deletion_protection) and C(deletion_protection_description).
      type: str
      returned: when O(details=true)
      sample: "2026-01-15T08:00:00Z"
key_ids:
  description: The key IDs, in the order of RV(keys).
  returned: always
  type: list
  elements: str
  sample: [08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001]
key_arns:
  description: The key ARNs, in the order of RV(keys).
  returned: always
  type: list
  elements: str
  sample: ["acs:kms:cn-hangzhou:123456:key/08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001"]
total_count:
  description: The number of keys returned.
  returned: always
  type: int
  sample: 1
"""

from ansible_collections.alicloud.kms.plugins.module_utils._module import exit_with, new_module


def main():
    exit_with(
        new_module(),
        lambda keys: dict(
            keys=keys,
            key_ids=[k["key_id"] for k in keys],
            key_arns=[k["key_arn"] for k in keys],
            total_count=len(keys),
        ),
    )


if __name__ == "__main__":
    main()
