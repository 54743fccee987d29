#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: instance_info
short_description: List Alibaba Cloud KMS instances across accounts and regions
version_added: 1.1.0
description:
  - Lists the KMS instances (dedicated KMS) of each account and region with C(ListKmsInstances), every page, and
    reads each with C(GetKmsInstance) for its status, subscription dates, zones, VPC and quotas.
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - alicloud.kms.connection
  - alicloud.kms.connection.listing
  - alicloud.kms.connection.accounts
  - alicloud.kms.attributes  # before the builtin ones: the first definition of an attribute wins
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
notes:
  - Errors from the service carry its C(Code) and C(RequestId); the secret and token never appear in output.
seealso:
  - name: GetKmsInstance API reference
    description: The KMS operation that describes an instance.
    link: https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-getkmsinstance
"""

EXAMPLES = r"""
- name: The KMS instances of every region
  alicloud.kms.instance_info:
    regions: all
  register: found

- name: When each subscription ends
  ansible.builtin.debug:
    msg: "{{ found.instances | items2dict(key_name='instance_id', value_name='end_date') }}"
"""

RETURN = r"""
not_read:
  description:
    - The accounts and regions left out with O(strict_permissions=false); empty otherwise. Each entry has
      C(account_id), C(region), C(code), C(message) and C(request_id), as in M(alicloud.kms.key_info).
  returned: always
  type: list
  elements: dict
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
    instances:
      description: Instances returned.
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
  sample: {"accounts": 1, "regions": 1, "instances": 1, "requests": {"ListKmsInstances": 1, "GetKmsInstance": 1}}
instances:
  description: One record per KMS instance, ordered by account, region and instance ID.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance ID.
      type: str
      sample: kst-hzz64f0e2b5c1a7d9e3f1a2
    region:
      description: The region the instance lives in.
      type: str
    account_id:
      description: The account that owns the instance, from its ARN.
      type: str
    account_name:
      description: The account's display name from C(ListAccounts) with O(accounts=[all]); null for other runs with O(accounts).
      returned: when O(accounts) is set
      type: str
    status:
      description: C(Uninitialized), C(Connecting), C(Connected), C(Disconnected) or C(Error).
      type: str
      sample: Connected
    spec:
      description: The instance's computing performance (C(Spec)).
      type: int
      sample: 1000
    start_date:
      description: When the subscription started.
      type: str
    end_date:
      description: When the subscription ends.
      type: str
      sample: "2026-12-20T00:00:00Z"
    zone_ids:
      description: The zones the instance runs in; two or more for a multi-zone instance.
      type: list
      elements: str
      sample: [cn-hangzhou-h, cn-hangzhou-i]
    vpc_id:
      description: The VPC the instance is attached to.
      type: str
    key_num:
      description: The most keys the instance can hold (its quota, not a count).
      type: int
    secret_num:
      description: The most secrets the instance can hold (its quota, not a count).
      type: int
"""

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import INSTANCE_ARGUMENT_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._instances import InstanceRequest
from ansible_collections.alicloud.kms.plugins.module_utils._module import exit_with, new_module


def main():
    exit_with(new_module(INSTANCE_ARGUMENT_SPEC), lambda instances: dict(instances=instances), InstanceRequest)


if __name__ == "__main__":
    main()
