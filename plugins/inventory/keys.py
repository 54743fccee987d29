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

import hashlib
import json
import re
import sys

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import OPTION_NAMES
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import SECRET_FIELDS
from ansible_collections.alicloud.kms.plugins.module_utils._kinds import skip_text
from ansible_collections.alicloud.kms.plugins.plugin_utils._options import key_request, run_request

display = Display()
GROUP = "alicloud_kms_keys"
# record fields whose names Ansible reserves (play keywords), and their hostvar names
RENAMED = {"tags": "key_tags"}
# what a host name may not hold: template delimiters, whitespace, control characters
_UNFIT_HOSTNAME = re.compile(r"[{}\s\x00-\x1f\x7f]")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "alicloud.kms.keys"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("kms_keys.yml", "kms_keys.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        config = self._read_config_data(path) or {}
        unknown = sorted(set(config) - set(self._options))
        if unknown:
            raise AnsibleParserError(
                "%s: unknown option(s) %s; see ansible-doc -t inventory alicloud.kms.keys" % (path, ", ".join(unknown))
            )
        for entry in self.get_option("keyed_groups") or []:
            if not isinstance(entry, dict) or not entry.get("key"):
                raise AnsibleParserError(
                    "%s: keyed_groups: every entry must be a dict with at least 'key' "
                    "(and optionally prefix, separator, default_value), got %r" % (path, entry)
                )
        # Validate before the cache is consulted, so bad options fail even when a cache would answer.
        request = key_request(self, AnsibleParserError)
        cache_key = self._cache_key(path)
        use_cache = self.get_option("cache") and cache
        records = None
        if use_cache:
            try:
                records = self._cache[cache_key]
            except KeyError:
                pass
        if records is None:
            result = run_request(lambda: request.run(progress=display.v), AnsibleParserError)
            for entry in result.skipped:
                display.warning("alicloud.kms.keys: %s (strict_permissions is false)" % skip_text(entry))
            records = result.records
            if self.get_option("cache"):
                self._cache[cache_key] = records
        self._populate(records)

    def _cache_key(self, path):
        """The file's cache key plus a digest of every option that changes the records and of the credentials'
        identity (access key ID, profile, role; never a secret), so another account or filter is never served."""
        identity = dict((name, self.get_option(name)) for name in OPTION_NAMES if name not in SECRET_FIELDS)
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
        return "%s_%s" % (self.get_cache_key(path), digest)

    def _hostname(self, record, hostvars):
        name = self.get_option("hostname")
        try:
            if name in record:
                host = record[name]
            elif "{{" in name:  # a template, such as "{{ aliases | first | default(key_id) }}"
                self.templar.available_variables = hostvars
                host = self.templar.template(name)
            else:  # an expression, such as region ~ '/' ~ key_id
                host = self._compose(name, hostvars)
        except Exception as error:  # pylint: disable=broad-except
            raise AnsibleParserError(
                "hostname: cannot evaluate %r for key %s: %s" % (name, record["key_id"], error)
            ) from None
        if not isinstance(host, str) or not host:
            raise AnsibleParserError("hostname: %r gives key %s no name (%r)" % (name, record["key_id"], host))
        if _UNFIT_HOSTNAME.search(host):
            raise AnsibleParserError(
                "hostname: %r gives key %s a name with braces, whitespace or control characters, which Ansible would "
                "template or split; name hosts by key_id, key_arn or aliases" % (name, record["key_id"])
            )
        return str(host)

    def _populate(self, records):
        strict = self.get_option("strict")
        self.inventory.add_group(GROUP)
        owners = {}
        for record in records:
            # Service values are data on every core: unsafe, so that no template in them is ever rendered (before
            # 2.19 set_variable and the templar took them as templates). The controller's own Python: plays over
            # keys run locally, without interpreter discovery.
            hostvars = dict(
                wrap_var(dict((RENAMED.get(name, name), value) for name, value in record.items())),
                ansible_connection="local",
                ansible_python_interpreter=sys.executable,
            )
            host = self._hostname(record, hostvars)
            if host in owners:
                raise AnsibleParserError(
                    "hostname: %r gives two keys the host name %r (%s and %s); choose a hostname that "
                    "is unique per key, such as key_id or key_arn"
                    % (self.get_option("hostname"), host, owners[host], record["key_arn"] or record["key_id"])
                )
            owners[host] = record["key_arn"] or record["key_id"]
            region_group = self.inventory.add_group(
                self._sanitize_group_name("region_" + (record["region"] or "unknown"))
            )
            self.inventory.add_host(host, group=GROUP)
            self.inventory.add_host(host, group=region_group)
            if record["account_id"]:
                self.inventory.add_host(
                    host, group=self.inventory.add_group(self._sanitize_group_name("account_" + record["account_id"]))
                )
            for name, value in hostvars.items():
                self.inventory.set_variable(host, name, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
