#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: secret_info
short_description: List Alibaba Cloud KMS secrets (never their values) across accounts and regions
version_added: 1.1.0
description:
  - Lists the secrets of Secrets Manager in KMS with C(ListSecrets), every page, in one region or many regions and
    accounts in parallel, and describes each with C(DescribeSecret) for its ARN, rotation, encryption key and KMS
    instance.
  - Never reads a value. Use the P(alicloud.kms.secret#lookup) lookup for a value.
  - Filters are applied by the service and checked again on every record, so the result is exact even where a
    region ignores a filter. Bad filter values fail before any request is sent.
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - alicloud.kms.connection
  - alicloud.kms.connection.listing
  - alicloud.kms.connection.accounts
  - alicloud.kms.attributes  # before the builtin ones: the first definition of an attribute wins
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
options:
  secret_type:
    description:
      - Only secrets of these types, each one of V(Generic), V(Rds), V(Redis), V(RAMCredentials), V(ECS) or
        V(PolarDB), without regard to case (the service answers C(Rds) where its request documentation writes
        C(RDS)). At most 10 values.
    type: list
    elements: str
  dkms_instance_id:
    description:
      - Only secrets stored in these KMS instances (C(kst-<id>)). At most 10 values.
    type: list
    elements: str
  tag_filters:
    description:
      - Only secrets that carry all these tags. A value may be a string, a list (any of them) or null (any value).
      - The service narrows the listing with the C(TagKey) filter and the tags listed with every secret decide.
        At most 20 tags; keys must be non-empty strings.
    type: dict
notes:
  - Errors from the service carry its C(Code) and C(RequestId); the secret and token never appear in output.
  - One C(DescribeSecret) per secret listed (after the type and tag filters), paced with every other request under
    O(rate_limit).
seealso:
  - name: ListSecrets API reference
    description: The KMS operation this module pages.
    link: https://www.alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-listsecrets
  - plugin: alicloud.kms.secret
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Every secret of two regions
  alicloud.kms.secret_info:
    regions: [cn-hangzhou, cn-shanghai]
  register: found

- name: Production database secrets whose rotation is off, across the organisation
  alicloud.kms.secret_info:
    regions: all
    accounts: [all]
    secret_type: [Rds, PolarDB]
    tag_filters: {env: prod}
  register: db_secrets

- name: Name them
  ansible.builtin.debug:
    msg: "{{ db_secrets.secrets | rejectattr('automatic_rotation', 'eq', 'Enabled') | map(attribute='arn') }}"
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
    secrets:
      description: Secrets returned.
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
  sample: {"accounts": 1, "regions": 1, "secrets": 2, "requests": {"ListSecrets": 1, "DescribeSecret": 2}}
secrets:
  description: One record per secret, ordered by account, region and then as the service lists them.
  returned: always
  type: list
  elements: dict
  contains:
    secret_name:
      description: The secret's name.
      type: str
      sample: orders/db-app
    arn:
      description: The secret's ARN, from C(DescribeSecret).
      type: str
      sample: acs:kms:cn-hangzhou:1234567890123456:secret/orders/db-app
    region:
      description: The region the secret lives in.
      type: str
    account_id:
      description: The account that owns the secret, from its ARN.
      type: str
    account_name:
      description: The account's display name from C(ListAccounts) with O(accounts=[all]); null for other runs with O(accounts).
      returned: when O(accounts) is set
      type: str
    secret_type:
      description: C(Generic), C(Rds), C(Redis), C(RAMCredentials), C(ECS) or C(PolarDB), as the service answers.
      type: str
      sample: Generic
    automatic_rotation:
      description: C(Enabled), C(Disabled) or C(Invalid); null when the service does not say.
      type: str
      sample: Enabled
    rotation_interval:
      description: The rotation period in seconds with an C(s), while rotation is enabled; null otherwise.
      type: str
      sample: 2592000s
    last_rotation_date:
      description: When the secret was last rotated; null when it never was.
      type: str
      sample: "2026-11-01T00:00:00Z"
    next_rotation_date:
      description: When it rotates next, while rotation is enabled; null otherwise.
      type: str
    encryption_key_id:
      description: The KMS key that encrypts the secret; null when the service does not say.
      type: str
    dkms_instance_id:
      description: The KMS instance that stores the secret; null for none.
      type: str
    planned_delete_time:
      description: When a secret scheduled for deletion is deleted; null otherwise.
      type: str
    create_time:
      description: When the secret was created.
      type: str
      sample: "2023-02-01T00:00:00Z"
    description:
      description: The secret's description; empty when it has none.
      type: str
    tags:
      description: The secret's tags, tag key to value; empty when it has none.
      type: dict
      sample: {"env": "prod"}
secret_names:
  description: The secret names, in the order of RV(secrets).
  returned: always
  type: list
  elements: str
  sample: [orders/db-app]
"""

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import SECRET_ARGUMENT_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._module import exit_with, new_module
from ansible_collections.alicloud.kms.plugins.module_utils._secrets import SecretRequest


def main():
    exit_with(
        new_module(SECRET_ARGUMENT_SPEC),
        lambda secrets: dict(secrets=secrets, secret_names=[s["secret_name"] for s in secrets]),
        SecretRequest,
    )


if __name__ == "__main__":
    main()
