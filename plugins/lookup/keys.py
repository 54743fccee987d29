# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: keys
short_description: Alibaba Cloud KMS keys, inline in templates and vars
version_added: 1.0.0
description:
  - Without terms, lists the KMS keys that the filters select, in one region or several, exactly as
    M(alicloud.kms.key_info) does, and returns one record per key.
  - With terms, resolves each term (a key ID, a key ARN, or an alias such as C(alias/orders-db)) with
    C(DescribeKey) and returns its record with the full key metadata, in the order of the terms. An ARN names its
    own region; key IDs and aliases are resolved in O(region).
  - Use C(query()) (or C(lookup(..., wantlist=true))) to always get a list; pick a field with C(map(attribute=...)).
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - alicloud.kms.connection
  - alicloud.kms.connection.listing
  - alicloud.kms.connection.accounts
  - alicloud.kms.connection.plugins
  - alicloud.kms.filters
options:
  _terms:
    description:
      - Key IDs, key ARNs or aliases (C(alias/...)) to resolve. When given, filters, O(regions), O(facets)
        and O(details) do not apply.
    type: list
    elements: str
    required: false
seealso:
  - module: alicloud.kms.key_info
"""

EXAMPLES = r"""
- name: ARNs of the enabled keys, inline
  ansible.builtin.debug:
    msg: "{{ query('alicloud.kms.keys', region='cn-hangzhou', key_state='Enabled') | map(attribute='key_arn') }}"

- name: Keys pending deletion in two regions, as a variable
  ansible.builtin.set_fact:
    doomed: "{{ query('alicloud.kms.keys', regions=['cn-hangzhou', 'cn-shanghai'], key_state='PendingDeletion') }}"

- name: The ARN behind an alias, for a configuration file
  ansible.builtin.set_fact:
    orders_key_arn: "{{ lookup('alicloud.kms.keys', 'alias/orders-db', region='cn-hangzhou').key_arn }}"

- name: Whether a key known by its ARN has rotation on
  ansible.builtin.assert:
    that:
      - lookup('alicloud.kms.keys', key_arn).automatic_rotation == 'Enabled'
  vars:
    key_arn: acs:kms:cn-shanghai:123456:key/08c33a6f-4e0a-4a1b-a3fa-7ddfa1d4b001

- name: Credentials and endpoint from inventory variables (alicloud_access_key, alicloud_secret_key, alicloud_region)
  ansible.builtin.debug:
    msg: "{{ query('alicloud.kms.keys') | length }} keys"
"""

RETURN = r"""
_raw:
  description:
    - One record per key, the same records M(alicloud.kms.key_info) returns as RV(alicloud.kms.key_info#module:keys)
      (see there for every field); for terms, the record also has the C(KeyMetadata) fields in snake_case.
  type: list
  elements: dict
"""

from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.alicloud.kms.plugins.module_utils._kinds import skip_text
from ansible_collections.alicloud.kms.plugins.plugin_utils._options import (
    check_keywords,
    display,
    key_request,
    run_request,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        check_keywords(kwargs, C.config.get_configuration_definitions("lookup", self._load_name), AnsibleLookupError)
        self.set_options(var_options=variables, direct=kwargs)
        request = key_request(self, AnsibleLookupError)
        # Service values are data, never templates, even where a caller passes allow_unsafe=True.
        if terms:
            return wrap_var(run_request(lambda: request.describe(terms), AnsibleLookupError))
        result = run_request(lambda: request.run(progress=display.v), AnsibleLookupError)
        for entry in result.skipped:
            display.warning("alicloud.kms.keys: %s (strict_permissions is false)" % skip_text(entry))
        return wrap_var(result.records)
