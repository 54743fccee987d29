#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: key
short_description: Manage one Alibaba Cloud KMS key, idempotently
version_added: 1.1.0
description:
  - Creates a key, or brings an existing one to the state the options describe. It can enable or disable the key,
    change its description, automatic rotation, deletion protection, tags, aliases and key policy, schedule its
    deletion or cancel it. Options left unset are left as they are.
  - Name the key by O(key_id) (an ID or ARN) or by O(alias). With O(alias) and no such key, O(state=present) creates
    one (C(CreateKey)) and attaches the alias.
  - Everything is checked before the first write, and a change the service would refuse fails naming the option.
    Rotation is only for symmetric C(Aliyun_*) keys with material KMS generated. Deletion cannot be scheduled while
    deletion protection is on, and a key pending deletion can be neither enabled nor disabled.
  - In check mode nothing is written, and RV(changes) lists the writes that would be sent. With C(--diff) the
    before and after records are shown.
  - Writes go through the same connection as reads, under O(rate_limit) and O(deadline). A write whose response was
    lost is settled by reading the key again, and a retry of a write that already took effect does not fail the
    task. C(CreateKey) is never retried blindly. It carries a one-time tag (C(alicloud-kms-create)) until the key has
    its alias, and after a lost response the key is looked for by that tag before it is sent again, so one task
    creates at most one key.
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - alicloud.kms.connection
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
options:
  key_id:
    description:
      - The key's ID or ARN. An ARN names the key's region (it wins over O(region)) and account.
      - One of O(key_id) and O(alias) is required. With both, the alias is attached to this key when it is not yet.
    type: str
  alias:
    description:
      - An alias of the key, C(alias/) followed by 1 to 249 of C([a-zA-Z0-9:/_-]), not C(alias/acs/...).
      - Without O(key_id), the key is the one this alias names. When no key has it, O(state=present) creates a key
        and attaches the alias.
    type: str
  account_id:
    description:
      - The member account the key is in (16 digits), read and written with the role O(account_role_name) assumed in
        it, as the listing faces read the accounts they are given.
      - An ARN in O(key_id) must name the same account.
    type: str
  state:
    description:
      - V(present) keeps the key. A key pending deletion has its deletion cancelled, and comes back V(Enabled).
      - V(absent) schedules the key's deletion after O(pending_window_in_days). A key already pending deletion, or
        no key at all, is left alone.
    type: str
    choices: [present, absent]
    default: present
  pending_window_in_days:
    description: Days before a key scheduled for deletion is deleted, from 7 to 366.
    type: int
    default: 30
  enabled:
    description: Whether the key is V(Enabled) or V(Disabled).
    type: bool
  description:
    description: The key's description, at most 8,192 characters.
    type: str
  automatic_rotation:
    description:
      - Whether KMS rotates the key's material automatically (C(UpdateRotationPolicy)).
      - Only for symmetric C(Aliyun_*) keys with material KMS generated (origin C(Aliyun_KMS)).
    type: bool
  rotation_interval_days:
    description:
      - Days between automatic rotations. Setting it turns O(automatic_rotation) on.
      - A key in a KMS instance rotates every 7 to 365 days; a key outside one every 365 days only, and any other
        value fails before any write.
      - Unset, a key whose rotation is turned on keeps its interval, or gets 365 days.
    type: int
  deletion_protection:
    description: Whether the key is protected from deletion (C(SetDeletionProtection)).
    type: bool
  deletion_protection_description:
    description: Why the key is protected, sent when O(deletion_protection) turns protection on.
    type: str
  tags:
    description:
      - Tags the key must have, tag key to value (strings). Keys starting with C(aliyun) or C(acs:) are reserved. A
        key has at most 20 tags.
      - Other tags stay unless O(purge_tags) is true.
    type: dict
  purge_tags:
    description: Remove the tags that O(tags) does not name. Only with O(tags).
    type: bool
    default: false
  aliases:
    description:
      - Aliases the key must have, each in the form of O(alias). An alias that names another key fails the task; it
        is never moved.
      - Other aliases stay unless O(purge_aliases) is true.
    type: list
    elements: str
  purge_aliases:
    description: Remove the aliases that O(aliases) and O(alias) do not name. Only with O(aliases) or O(alias).
    type: bool
    default: false
  key_policy:
    description:
      - The key policy (C(default)) of a key in a KMS instance, as a dict or JSON text, with a C(Statement) list.
      - Keys outside a KMS instance have no policy; setting one fails.
    type: json
  key_spec:
    description: The spec of a key to create, for example C(Aliyun_AES_256) (the default) or C(RSA_2048). Only when creating.
    type: str
  key_usage:
    description: The usage of a key to create. Only when creating.
    type: str
    choices: [ENCRYPT/DECRYPT, SIGN/VERIFY]
  protection_level:
    description: The protection level of a key to create. Only when creating.
    type: str
    choices: [SOFTWARE, HSM]
  origin:
    description: Where the material of a key to create comes from. Only when creating.
    type: str
    choices: [Aliyun_KMS, EXTERNAL]
  dkms_instance_id:
    description: The KMS instance (C(kst-...)) to create the key in. Only when creating.
    type: str
attributes:
  action_group:
    membership: [alicloud.kms.kms]
  check_mode:
    support: full
    details: Nothing is written; RV(changes) lists the writes that would be sent, and RV(key) the key as it would be.
  diff_mode:
    support: full
    details: The key's record before and after.
  platform:
    platforms: all
    details: Runs wherever Python and the Alibaba Cloud SDK do; usually on the controller.
seealso:
  - module: alicloud.kms.key_info
"""

EXAMPLES = r"""
- name: A key for the orders database, rotated yearly, protected and tagged
  alicloud.kms.key:
    alias: alias/orders-db
    description: orders database TDE
    automatic_rotation: true
    rotation_interval_days: 365
    deletion_protection: true
    deletion_protection_description: SEC-112, production data
    tags:
      team: payments
      env: prod

- name: Rotation on for a key found by the compliance check
  alicloud.kms.key:
    key_id: acs:kms:cn-hangzhou:1234567890123456:key/08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001
    automatic_rotation: true

- name: Retire a key in 7 days (after taking its deletion protection off)
  alicloud.kms.key:
    key_id: 08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001
    region: cn-hangzhou
    deletion_protection: false
    state: absent
    pending_window_in_days: 7
"""

RETURN = r"""
key:
  description:
    - The key's record as M(alicloud.kms.key_info) returns it with details, aliases and tags (and C(key_policy) for a
      key in a KMS instance), read again after the writes. In check mode, the key as it would be.
    - V(null) when there is no key (O(state=absent) for a key that does not exist).
  returned: always
  type: dict
  sample: {"key_id": "08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001", "key_state": "Enabled", "automatic_rotation": "Enabled",
           "aliases": ["alias/orders-db"], "tags": {"team": "payments"}}
changes:
  description: The writes sent (in check mode, that would be sent), in order, each with the field it changes.
  returned: always
  type: list
  elements: dict
  contains:
    field:
      description: The record's field, for example C(automatic_rotation), C(tags) or C(aliases).
      type: str
    old:
      description: Its value before.
      type: raw
    new:
      description: Its value after.
      type: raw
    action:
      description: The API action, for example C(UpdateRotationPolicy).
      type: str
  sample: [{"field": "automatic_rotation", "old": "Disabled", "new": "Enabled", "action": "UpdateRotationPolicy"}]
"""

from ansible_collections.alicloud.kms.plugins.module_utils._key_module import run_module


def main():
    run_module()


if __name__ == "__main__":
    main()
