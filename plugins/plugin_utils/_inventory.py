# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""What the inventory plugins (alicloud.kms.keys, alicloud.kms.accounts) share: reading and checking the file, the
cache, host names, unsafe hostvars and the constructed groups. A plugin says how its records are read and named."""

from __future__ import annotations

import hashlib
import json
import re
import sys

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import SECRET_FIELDS

display = Display()
# what a host name may not hold: template delimiters, whitespace, control characters
_UNFIT_HOSTNAME = re.compile(r"[{}\s\x00-\x1f\x7f]")


class KmsInventory(BaseInventoryPlugin, Constructable, Cacheable):
    """An inventory of one host per record.

    Subclasses set NAME, SUFFIXES (the file name endings), GROUP (every host's group), NOUN (a record in messages:
    "key"), ID_FIELD (the record's identifier), NAME_HINT and UNIQUE_HINT (host names to suggest) and RENAMED (record
    fields whose names Ansible reserves, and their hostvar names); and implement:

    - request(): check the options (AnsibleParserError naming the option) before the cache is consulted or any request
      is sent, and return a function that reads the service, returning plain data to cache;
    - identity(): the option names that change that data, digested into the cache key (secrets are left out);
    - records(data): the host records from that data, fresh or cached (warnings and failures of the run here);
    - groups_of(record): the names of the groups of a record's host beside GROUP, sanitized here.
    """

    NAME = None
    SUFFIXES = ()
    GROUP = None
    NOUN = None
    ID_FIELD = None
    NAME_HINT = None
    UNIQUE_HINT = None
    RENAMED = {}

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(self.SUFFIXES)

    def request(self):
        raise NotImplementedError  # pragma: no cover

    def identity(self):
        raise NotImplementedError  # pragma: no cover

    def records(self, data):
        raise NotImplementedError  # pragma: no cover

    def groups_of(self, record):
        return []

    def owner(self, record):
        """A record in messages about two records with one host name."""
        return record[self.ID_FIELD]

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        config = self._read_config_data(path) or {}
        unknown = sorted(set(config) - set(self._options))
        if unknown:
            raise AnsibleParserError(
                "%s: unknown option(s) %s; see ansible-doc -t inventory %s" % (path, ", ".join(unknown), self.NAME)
            )
        for entry in self.get_option("keyed_groups") or []:
            if not isinstance(entry, dict) or not entry.get("key"):
                raise AnsibleParserError(
                    "%s: keyed_groups: every entry must be a dict with at least 'key' "
                    "(and optionally prefix, separator, default_value), got %r" % (path, entry)
                )
        # Validate before the cache is consulted, so bad options fail even when a cache would answer.
        read = self.request()
        cache_key = self._cache_key(path)
        data = None
        if self.get_option("cache") and cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                pass
        if data is None:
            data = read()
            if self.get_option("cache"):
                self._cache[cache_key] = data
        self._populate(self.records(data))

    def _cache_key(self, path):
        """The file's cache key plus a digest of every option that changes the data and of the credentials'
        identity (access key ID, profile, role; never a secret), so another account or filter is never served."""
        identity = dict((name, self.get_option(name)) for name in self.identity() if name not in SECRET_FIELDS)
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
        return "%s_%s" % (self.get_cache_key(path), digest)

    def _hostname(self, record, hostvars):
        name = self.get_option("hostname")
        what = "%s %s" % (self.NOUN, record[self.ID_FIELD])
        try:
            if name in record:
                host = record[name]
            elif "{{" in name:  # a template, such as "{{ aliases | first | default(key_id) }}"
                self.templar.available_variables = hostvars
                host = self.templar.template(name)
            else:  # an expression, such as region ~ '/' ~ key_id
                host = self._compose(name, hostvars)
        except Exception as error:  # pylint: disable=broad-except
            raise AnsibleParserError("hostname: cannot evaluate %r for %s: %s" % (name, what, error)) from None
        if not isinstance(host, str) or not host:
            raise AnsibleParserError("hostname: %r gives %s no name (%r)" % (name, what, host))
        if _UNFIT_HOSTNAME.search(host):
            raise AnsibleParserError(
                "hostname: %r gives %s a name with braces, whitespace or control characters, which Ansible would "
                "template or split; name hosts by %s" % (name, what, self.NAME_HINT)
            )
        return str(host)

    def _populate(self, records):
        strict = self.get_option("strict")
        self.inventory.add_group(self.GROUP)
        owners = {}
        for record in records:
            # Service values are data on every core: unsafe, so that no template in them is ever rendered (before
            # 2.19 set_variable and the templar took them as templates). The controller's own Python: plays over
            # these hosts run locally, without interpreter discovery.
            hostvars = dict(
                wrap_var(dict((self.RENAMED.get(name, name), value) for name, value in record.items())),
                ansible_connection="local",
                ansible_python_interpreter=sys.executable,
            )
            host = self._hostname(record, hostvars)
            if host in owners:
                raise AnsibleParserError(
                    "hostname: %r gives two %ss the host name %r (%s and %s); choose a hostname that is unique per %s, "
                    "such as %s"
                    % (
                        self.get_option("hostname"),
                        self.NOUN,
                        host,
                        owners[host],
                        self.owner(record),
                        self.NOUN,
                        self.UNIQUE_HINT,
                    )
                )
            owners[host] = self.owner(record)
            self.inventory.add_host(host, group=self.GROUP)
            for group in self.groups_of(record):
                self.inventory.add_host(host, group=self.inventory.add_group(self._sanitize_group_name(group)))
            for name, value in hostvars.items():
                self.inventory.set_variable(host, name, value)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
