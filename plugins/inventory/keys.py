# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: keys
short_description: Alibaba Cloud KMS keys as inventory hosts
version_added: 1.0.0
description:
  - One inventory host per KMS key, so that compliance and audit plays run over keys and report per key.
  - Hostvars are the key record (C(key_id), C(key_arn), C(region), C(account_id), the O(facets) asked for and,
    with O(details=true), the C(KeyMetadata) fields in snake_case), plus C(ansible_connection=local) and the
    controller's Python, so a play over keys needs no SSH. O(compose) can override both.
  - With O(tags=true) the record's C(tags) is the hostvar C(key_tags), in O(hostname), O(compose), O(groups) and
    O(keyed_groups) too (for example the keyed group key C(key_tags.env)), because Ansible reserves C(tags) for its
    play keyword.
  - Every value that came from the service is data, never a template, on every supported ansible-core. A description
    or tag value holding C({{ ... }}) stays that text in hostvars, in O(hostname), in O(compose) and in group names.
    A host name that would hold C({), C(}), whitespace or a control character fails the inventory, naming the key.
  - Every host is in the group C(alicloud_kms_keys) and in C(region_<region>) (dashes become underscores,
    for example C(region_cn_shanghai)); O(keyed_groups) and O(groups) add more.
  - The configuration file must end in C(kms_keys.yml) or C(kms_keys.yaml). Connection options come from that file
    or from the environment variables listed; the C(vars) sources shown below apply to the lookup only.
  - A source that fails (bad credentials, a denied region with O(strict_permissions=true)) is by Ansible's default
    only a warning, and the play then runs on no hosts with return code 0. For unattended runs make it fatal with
    C([inventory] unparsed_is_failed = true) in C(ansible.cfg) or E(ANSIBLE_INVENTORY_UNPARSED_FAILED=true), and
    C(any_unparsed_is_failed) / E(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true) when several sources are combined.
  - The raw records are cached when O(cache=true), under a key made of the file's path and a digest of every option
    that changes them and of the credentials' identity (access key ID, profile, role; never a secret), so other
    filters or another account are never served from the cache; groups are rebuilt from the records on every run.
    C(ansible-playbook --flush-cache) reads the service again, as does C(ansible-inventory --flush-cache) from
    ansible-core 2.19 on; before 2.19, remove the cache (for C(jsonfile), the files in O(cache_connection)).
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - alicloud.kms.connection
  - alicloud.kms.connection.listing
  - alicloud.kms.connection.accounts
  - alicloud.kms.connection.plugins
  - alicloud.kms.filters
options:
  plugin:
    description: The name of this plugin; makes the file an C(alicloud.kms.keys) inventory source.
    required: true
    type: str
    choices: [alicloud.kms.keys]
  hostname:
    description:
      - The inventory hostname of each key. V(key_id) or V(key_arn), another field of the record, or a Jinja2
        expression over the record, for example C(region ~ '/' ~ key_id).
      - Two keys that get the same name fail the inventory, naming both keys (a host per key, never fewer).
      - With O(aliases=true), C({{ aliases | first | default(key_id) }}) names a key by its first alias, or its ID
        when it has none.
      - A name must not contain C({), C(}), whitespace or control characters (Ansible would read C({{) as a template).
    type: str
    default: key_id
"""

EXAMPLES = r"""
# demo.kms_keys.yml: every key of three regions, grouped by region, state and spec
plugin: alicloud.kms.keys
regions: [cn-hangzhou, cn-shanghai, ap-southeast-1]
facets: [key_state, key_spec]
keyed_groups:
  - key: key_state
    prefix: state
  - key: key_spec
    prefix: spec
groups:
  hsm_or_signing: key_spec.startswith('RSA') or key_spec.startswith('EC')
compose:
  short_id: key_id[:8]

# tagged.kms_keys.yml: hosts named by their first alias, grouped by the env tag (key_tags: tags is reserved)
# plugin: alicloud.kms.keys
# region: cn-hangzhou
# aliases: true
# tags: true
# hostname: "{{ aliases | first | default(key_id) }}"
# keyed_groups:
#   - key: key_tags.env
#     prefix: env

# all.kms_keys.yml: every region, cached for an hour, keep going when one region is denied
# plugin: alicloud.kms.keys
# regions: all
# strict_permissions: false
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/alicloud-kms-inventory
# cache_timeout: 3600
"""

from ansible.errors import AnsibleParserError
from ansible.utils.display import Display

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import OPTION_NAMES
from ansible_collections.alicloud.kms.plugins.module_utils._kinds import skip_text
from ansible_collections.alicloud.kms.plugins.plugin_utils._inventory import KmsInventory
from ansible_collections.alicloud.kms.plugins.plugin_utils._options import key_request, run_request

display = Display()


class InventoryModule(KmsInventory):
    NAME = "alicloud.kms.keys"
    SUFFIXES = ("kms_keys.yml", "kms_keys.yaml")
    GROUP = "alicloud_kms_keys"
    NOUN = "key"
    ID_FIELD = "key_id"
    NAME_HINT = "key_id, key_arn or aliases"
    UNIQUE_HINT = "key_id or key_arn"
    # record fields whose names Ansible reserves (play keywords), and their hostvar names
    RENAMED = {"tags": "key_tags"}

    def request(self):
        request = key_request(self, AnsibleParserError)

        def read():
            result = run_request(lambda: request.run(progress=display.v), AnsibleParserError)
            for entry in result.skipped:
                display.warning("alicloud.kms.keys: %s (strict_permissions is false)" % skip_text(entry))
            return result.records

        return read

    def identity(self):
        return OPTION_NAMES

    def records(self, data):
        return data

    def owner(self, record):
        return record["key_arn"] or record["key_id"]

    def groups_of(self, record):
        groups = ["region_" + (record["region"] or "unknown")]
        if record["account_id"]:
            groups.append("account_" + record["account_id"])
        return groups
