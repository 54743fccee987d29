# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: accounts
short_description: The accounts of an Alibaba Cloud Resource Directory as inventory hosts
version_added: 1.1.0
description:
  - One inventory host per member account of the caller's Resource Directory, found with ResourceManager
    C(ListAccounts) (every page), plus the caller's own account when the directory does not list it. The caller must
    be the directory's management account or a delegated administrator. No role is assumed and no key is read.
  - A play over these hosts reads one account per host, each in its own fork, and AWX / Ansible Automation Platform
    job slicing splits the organisation across jobs; for example the compliance role in a play over the
    group C(kms_accounts), with C(kms_compliance_accounts) set to the host's C(account_id).
  - Hostvars are C(account_id), C(account_name) (the C(DisplayName) of C(ListAccounts), or null) and C(status) (its
    C(Status), or null for a caller the directory does not list), plus C(ansible_connection=local) and the
    controller's Python, so a play over accounts needs no SSH. O(compose) can override both. No other field of the
    service becomes a hostvar.
  - Every value that came from the service is data, never a template, on every supported ansible-core. An account
    name holding C({{ ... }}) stays that text in hostvars, in O(hostname), in O(compose) and in group names. A host
    name that would hold C({), C(}), whitespace or a control character fails the inventory, naming the account.
  - Every host is in the group C(kms_accounts); O(keyed_groups) and O(groups) add more, for example by C(status).
  - Members whose status is not C(CreateSuccess), C(InviteSuccess) or C(PromoteSuccess) (such as C(CreateVerifying))
    cannot be read yet; O(unusable_accounts) says what becomes of them.
  - The configuration file must end in C(kms_accounts.yml) or C(kms_accounts.yaml). Connection options come from that
    file or from the environment variables listed; the C(vars) sources shown below apply to the lookups only. It
    takes the same connection options as M(alicloud.kms.key_info), so one set of settings serves every face; the
    calls it makes are STS C(GetCallerIdentity) (through O(sts_endpoint), and O(assume_role_arn) first when set) and
    ResourceManager C(ListAccounts), paced at O(rate_limit).
  - A source that fails (bad credentials, a caller that may not list the directory) is by Ansible's default only a
    warning, and the play then runs on no hosts with return code 0. For unattended runs make it fatal with
    C([inventory] unparsed_is_failed = true) in C(ansible.cfg) or E(ANSIBLE_INVENTORY_UNPARSED_FAILED=true).
  - What the service returned is cached when O(cache=true), under a key made of the file's path and a digest of the
    connection options and of the credentials' identity (access key ID, profile, role; never a secret), so another
    account is never served from the cache; O(exclude_accounts), O(unusable_accounts), host names and groups are
    applied on every run. C(ansible-playbook --flush-cache) reads the service again, as does
    C(ansible-inventory --flush-cache) from ansible-core 2.19 on; before 2.19, remove the cache (for C(jsonfile), the
    files in O(cache_connection)).
author:
  - alicloud.kms contributors (@alicloud-kms)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - alicloud.kms.connection
  - alicloud.kms.connection.accounts
  - alicloud.kms.connection.plugins
options:
  plugin:
    description: The name of this plugin; makes the file an C(alicloud.kms.accounts) inventory source.
    required: true
    type: str
    choices: [alicloud.kms.accounts]
  hostname:
    description:
      - The inventory hostname of each account. V(account_id) or V(account_name), or a Jinja2 expression over the
        hostvars, for example C(account_name ~ '_' ~ account_id).
      - Two accounts that get the same name fail the inventory, naming both accounts (a host per account, never fewer).
      - A name must not contain C({), C(}), whitespace or control characters (Ansible would read C({{) as a template);
        an account without a name (C(account_name) null) fails with V(account_name).
    type: str
    default: account_id
  unusable_accounts:
    description:
      - What becomes of a member whose status is not C(CreateSuccess), C(InviteSuccess) or C(PromoteSuccess), which
        the listing faces do not read with C(accounts=[all]).
      - V(skip) leaves it out with a warning naming the account and its status, as the listing faces do.
      - V(include) makes it a host like the others; its C(status) tells it apart, for example in a keyed group by
        C(status) (see the examples).
      - V(fail) fails the inventory naming the account and its status; for runs that must cover every member.
      - Members in O(exclude_accounts) are left out whatever this says.
    type: str
    choices: [skip, include, fail]
    default: skip
"""

EXAMPLES = r"""
# org.kms_accounts.yml: every account of the Resource Directory, grouped by status
plugin: alicloud.kms.accounts
keyed_groups:
  - key: status
    prefix: status
exclude_accounts: ["4444555566667777"]

# named.kms_accounts.yml: hosts named by display name, cached for an hour, not-usable members kept as hosts
# plugin: alicloud.kms.accounts
# hostname: account_name
# unusable_accounts: include
# groups:
#   usable: status in ['CreateSuccess', 'InviteSuccess', 'PromoteSuccess', None]
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/alicloud-kms-inventory
# cache_timeout: 3600

# A play over it, one account per host (ansible-playbook -i org.kms_accounts.yml audit.yml):
# - hosts: kms_accounts
#   gather_facts: false
#   tasks:
#     - ansible.builtin.debug:
#         msg: "{{ account_id }} {{ account_name }} {{ status }}"
"""

from ansible.errors import AnsibleParserError
from ansible.utils.display import Display

from ansible_collections.alicloud.kms.plugins.module_utils._kinds import skip_text
from ansible_collections.alicloud.kms.plugins.plugin_utils._inventory import KmsInventory
from ansible_collections.alicloud.kms.plugins.plugin_utils._options import (
    DIRECTORY_OPTION_NAMES,
    directory_listing,
    run_request,
)

display = Display()


class InventoryModule(KmsInventory):
    NAME = "alicloud.kms.accounts"
    SUFFIXES = ("kms_accounts.yml", "kms_accounts.yaml")
    GROUP = "kms_accounts"
    NOUN = "account"
    ID_FIELD = "account_id"
    NAME_HINT = "account_id"
    UNIQUE_HINT = "account_id"

    def request(self):
        self._listing = directory_listing(self, AnsibleParserError)
        return lambda: run_request(self._listing.run, AnsibleParserError)

    def identity(self):
        # what the service answers depends on the connection only: exclude_accounts and unusable_accounts are applied
        # to the cached answer on every run
        return tuple(name for name in DIRECTORY_OPTION_NAMES if name != "exclude_accounts")

    def records(self, data):
        mode = self.get_option("unusable_accounts")
        records, not_usable = self._listing.hosts(data, include_not_usable=mode == "include")
        for entry in not_usable:
            if mode == "fail":
                raise AnsibleParserError(
                    "unusable_accounts is fail: account %s is not usable yet (status %s); list it in "
                    "exclude_accounts, or set unusable_accounts to skip or include"
                    % (entry["account_id"], entry["code"])
                )
            if mode == "skip":
                display.warning("alicloud.kms.accounts: %s (unusable_accounts is skip)" % skip_text(entry))
        return records
