# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The adapter from plugin options to the core, shared by the lookup and the inventory plugins."""

from __future__ import annotations

import difflib

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_native
from ansible.utils.display import Display

from ansible_collections.alicloud.kms.plugins.module_utils._accounts import ALL, AccountSpec, directory_accounts
from ansible_collections.alicloud.kms.plugins.module_utils._argspec import CONNECTION_SPEC, OPTION_NAMES
from ansible_collections.alicloud.kms.plugins.module_utils._connection import (
    SDK_IMPORT_ERROR,
    SDK_REQUIREMENT,
    Connection,
)
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._keys import KeyRequest

display = Display()


def plugin_options(plugin):
    """The core's options as the plugin resolved them (direct, then vars, then env, then defaults)."""
    return dict((name, plugin.get_option(name)) for name in OPTION_NAMES)


def _check_sdk(error_class):
    if SDK_IMPORT_ERROR:
        raise error_class(
            "the alicloud.kms plugins need %s: pip install %s"
            % (SDK_REQUIREMENT, SDK_REQUIREMENT.replace(" and ", " "))
        )


def key_request(plugin, error_class=AnsibleError):
    """A validated KeyRequest, or error_class naming the option; call with options already set."""
    _check_sdk(error_class)
    try:
        # The core reads the environment itself; plugin `env:` entries already resolved it.
        # retries and fallbacks at -v, beside the progress lines: a long run shows where it is
        return KeyRequest(plugin_options(plugin), log=display.v, warn=display.warning)
    except KmsOptionError as error:
        raise error_class(to_native(error)) from None


# The options the accounts inventory gives the core: the connection's and the accounts it leaves out.
DIRECTORY_OPTION_NAMES = tuple(CONNECTION_SPEC) + ("exclude_accounts",)


class DirectoryListing(object):
    """The caller's account and every account of its Resource Directory (ListAccounts, every page), as host records
    of the accounts inventory: {account_id, account_name, status}, nothing else of what the service returns.

    The options are checked here, before any request; run() reads the service, hosts() makes records of what it
    read (or of a cached copy), leaving out exclude_accounts and setting apart the members AccountSpec would not read
    (status other than CreateSuccess, InviteSuccess, PromoteSuccess)."""

    def __init__(self, options, environ=None, log=None, warn=None):
        # accounts [all]: the same choice of members as every listing face's accounts: [all]
        self.spec = AccountSpec(dict(options, accounts=[ALL]))
        self.connection = Connection(options, environ=environ, log=log, warn=warn)

    def run(self):
        """What the service says, as plain data (the inventory caches it): the caller's ID and ListAccounts' entries."""
        return dict(caller=self.connection.caller_account(), accounts=directory_accounts(self.connection))

    def hosts(self, listing, include_not_usable=False):
        """(records, not_usable): the host records of listing (run()'s answer, fresh or cached) in ListAccounts'
        order, the caller last when the directory does not list it, none of exclude_accounts; and AccountSpec's
        skipped entries of the members not usable yet (status other than CreateSuccess, InviteSuccess,
        PromoteSuccess), whose records are among records only with include_not_usable."""
        caller, directory = listing["caller"], listing["accounts"]
        targets, not_usable = self.spec.targets(caller, directory)
        wanted = set(target.account_id for target in targets)
        if include_not_usable:
            wanted.update(entry["account_id"] for entry in not_usable)
        records = [
            dict(account_id=account["AccountId"], account_name=account["DisplayName"], status=account["Status"])
            for account in directory
            if account["AccountId"] in wanted
        ]
        if caller not in set(account["AccountId"] for account in directory) and caller not in self.spec.exclude:
            records.append(dict(account_id=caller, account_name=None, status=None))
        return records, not_usable


def directory_listing(plugin, error_class=AnsibleError):
    """A validated DirectoryListing from the plugin's options, or error_class naming the option."""
    _check_sdk(error_class)
    try:
        return DirectoryListing(
            dict((name, plugin.get_option(name)) for name in DIRECTORY_OPTION_NAMES),
            log=display.v,
            warn=display.warning,
        )
    except KmsOptionError as error:
        raise error_class(to_native(error)) from None


def check_keywords(given, known, error_class=AnsibleError):
    """Fail on keyword arguments the plugin does not know, suggesting the close option: a typo must not widen a listing."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        hints = [
            "%s (did you mean %s?)" % (name, close[0]) if close else name
            for name, close in ((n, difflib.get_close_matches(n, known, 1)) for n in unknown)
        ]
        raise error_class("unknown option(s) %s; see ansible-doc -t lookup alicloud.kms.keys" % ", ".join(hints))


def run_request(call, error_class=AnsibleError):
    """Run call() (a KeyRequest or DirectoryListing method), turning core errors into error_class without a traceback."""
    try:
        return call()
    except (KmsOptionError, KmsError) as error:
        raise error_class(to_native(error)) from None
