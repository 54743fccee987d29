# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: secret
short_description: The value of an Alibaba Cloud KMS secret
version_added: 1.1.0
description:
  - Returns the value of each secret the terms name (C(GetSecretValue)), in the order of the terms.
  - The value is marked unsafe, so a value that holds C({{ ... }}) is returned literally and never rendered. It
    appears in no log, at any verbosity, unless your own task prints it; no error or warning quotes it.
  - A binary secret's value is returned as the service gives it, base64 text.
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - alicloud.kms.connection
  - alicloud.kms.connection.plugins
options:
  _terms:
    description:
      - Secret names (up to 192 of letters, digits and C(_ / + = . @ -)), read in O(region), or secret ARNs
        (C(acs:kms:<region>:<account>:secret/<name>)), read in the region they name.
    type: list
    elements: str
    required: true
  version_stage:
    description: The version to read by its stage, for example C(ACSPrevious). Unset, C(ACSCurrent).
    type: str
  version_id:
    description: The version to read by its ID.
    type: str
  json_key:
    description:
      - Return one field of a JSON value instead of the whole value.
      - A value that is not JSON, or has no such field, fails naming O(json_key) (never quoting the value).
    type: str
  on_missing:
    description:
      - What to do when a secret or its version does not exist.
      - V(error) fails; V(warn) warns and leaves the term out of the result; V(skip) leaves it out silently. Any other
        value fails before any request, naming the option and these three.
    type: str
    default: error
  on_denied:
    description: What to do when the credentials may not read a secret, V(error), V(warn) or V(skip) as for O(on_missing).
    type: str
    default: error
notes:
  - The credentials need C(kms:GetSecretValue) on the secrets, and C(kms:Decrypt) on the key that encrypts them.
seealso:
  - plugin: alicloud.kms.keys
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: The database password, one field of a JSON secret
  ansible.builtin.set_fact:
    db_password: "{{ lookup('alicloud.kms.secret', 'orders/db-app', json_key='password', region='cn-hangzhou') }}"
  no_log: true

- name: The previous token, or nothing when there is none
  ansible.builtin.set_fact:
    old_tokens: "{{ query('alicloud.kms.secret', 'payments/api-token', version_stage='ACSPrevious', on_missing='skip') }}"
  no_log: true
"""

RETURN = r"""
_raw:
  description: The values, one per term found, marked unsafe.
  type: list
  elements: raw
"""

from ansible import constants as C
from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.lookup import LookupBase
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import CONNECTION_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._connection import (
    SDK_IMPORT_ERROR,
    SDK_REQUIREMENT,
    Connection,
)
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._secrets import (
    CHOICES,
    json_field,
    kind_of,
    secret_target,
    secret_value,
)
from ansible_collections.alicloud.kms.plugins.plugin_utils._options import check_keywords, display


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        check_keywords(kwargs, C.config.get_configuration_definitions("lookup", self._load_name), AnsibleLookupError)
        self.set_options(var_options=variables, direct=kwargs)
        if SDK_IMPORT_ERROR:
            raise AnsibleLookupError("alicloud.kms.secret needs %s" % SDK_REQUIREMENT)
        for name in ("on_missing", "on_denied"):
            if self.get_option(name) not in CHOICES:
                raise AnsibleLookupError(
                    "%s must be one of %s, got %r" % (name, ", ".join(CHOICES), self.get_option(name))
                )
        try:
            connection = Connection(
                dict((name, self.get_option(name)) for name in CONNECTION_SPEC), log=display.v, warn=display.warning
            )
            targets = [secret_target(term, connection.region) for term in terms]
            values = []
            for term, (ref, region) in zip(terms, targets):
                value = self._value(connection, term, ref, region)
                if value is not None:
                    values.append(value)
        except (KmsOptionError, KmsError) as error:
            raise AnsibleLookupError(to_native(error)) from None
        return wrap_var(values)  # data, never a template, whatever the caller's allow_unsafe

    def _value(self, connection, term, ref, region):
        try:
            data = secret_value(
                connection, region, ref, self.get_option("version_stage"), self.get_option("version_id")
            )
        except KmsError as error:
            kind = kind_of(error)
            if kind is None:
                raise
            choice = self.get_option("on_%s" % kind)
            if choice == "error":
                raise
            if choice == "warn":
                display.warning("alicloud.kms.secret: %s: %s (on_%s is warn)" % (term, error.code, kind))
            return None
        key = self.get_option("json_key")
        return json_field(data, key, term) if key else data
