# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""Accounts: which accounts of the organisation a run reads, and the role it reads each one with."""

from __future__ import annotations

import re
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import DEFAULTS
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    ACCOUNT_ID,
    listed_items,
    malformed,
    total_count,
)

ALL = "all"
# ListAccounts Status values whose account can be read (alibabacloud-resourcemanager20200331, ListAccounts docs);
# the others (CreateVerifying, PromoteVerifying, failed or expired ones) are reported as skipped.
USABLE_STATUSES = ("CreateSuccess", "InviteSuccess", "PromoteSuccess")
LIST_ACCOUNTS_PAGE_SIZE = 100  # the API's maximum
MAX_PAGES_AT_ONCE = 8  # ListAccounts pages in flight: 1,000 members in two latencies
_ROLE_ARN = re.compile(r"^acs:ram::(?P<account>[0-9]{16}):role/(?P<name>[A-Za-z0-9.@_-]{1,64})\Z")
_ROLE_NAME = re.compile(r"^[A-Za-z0-9.@_-]{1,64}\Z")

# One account to read: its ID, the role to assume there (None: the caller's own credentials) and its name.
Target = namedtuple("Target", "account_id role_arn name")


class AccountSpec(object):
    """The accounts options, validated before any request."""

    def __init__(self, options):
        accounts = options.get("accounts")
        # default ResourceDirectoryAccountAccessRole: the role Resource Directory creates in every member
        self.role_name = options.get("account_role_name") or DEFAULTS["account_role_name"]
        if not isinstance(self.role_name, str) or not _ROLE_NAME.match(self.role_name):
            raise KmsOptionError(
                "account_role_name", "%r is not a RAM role name (letters, digits, . @ _ -)" % (self.role_name,)
            )
        self.exclude = [
            _account_id(a, "exclude_accounts") for a in _as_list(options.get("exclude_accounts"), "exclude_accounts")
        ]
        self.all = False
        self.explicit = []  # (account_id, role_arn) in the order given
        if accounts is None:
            self.enabled = False
            return
        self.enabled = True
        accounts = _as_list(accounts, "accounts")
        if not accounts:
            raise KmsOptionError(
                "accounts", "must list account IDs, RAM role ARNs or [all]; leave it unset for the caller's account"
            )
        if ALL in accounts:
            if len(accounts) > 1:
                raise KmsOptionError("accounts", "'all' cannot be combined with accounts or roles")
            self.all = True
            return
        for entry in accounts:
            match = _ROLE_ARN.match(entry) if isinstance(entry, str) else None
            if match:
                self.explicit.append((match.group("account"), entry))
            else:
                self.explicit.append((_account_id(entry, "accounts"), None))

    def role_arn(self, account_id):
        return "acs:ram::%s:role/%s" % (account_id, self.role_name)

    def targets(self, caller_id, directory=None):
        """(targets, skipped): directory is ListAccounts' accounts for `all`; the caller reads its own account itself."""
        skipped, targets = [], []
        if self.all:
            for account in directory:
                if account["AccountId"] in self.exclude:
                    continue
                if account.get("Status") not in USABLE_STATUSES:
                    skipped.append(
                        dict(
                            account_id=account["AccountId"],
                            region=None,
                            code=account.get("Status") or "Unknown",
                            message="the account is not usable yet (status %s)" % account.get("Status"),
                            request_id=None,
                        )
                    )
                    continue
                targets.append(
                    Target(account["AccountId"], self.role_arn(account["AccountId"]), account.get("DisplayName"))
                )
        else:
            seen = set()
            for account_id, role_arn in self.explicit:
                if account_id in self.exclude or account_id in seen:
                    continue
                seen.add(account_id)
                targets.append(Target(account_id, role_arn or self.role_arn(account_id), None))
        own = [t for t in targets if t.account_id == caller_id and not _explicit_role(self, t)]
        targets = [Target(t.account_id, None, t.name) if t in own else t for t in targets]
        return targets, skipped


def _explicit_role(spec, target):
    """A role ARN the user named is assumed as given, even in the caller's own account."""
    return any(role == target.role_arn for _id, role in spec.explicit if role)


def directory_accounts(connection):
    """Every account ListAccounts returns (ResourceManager 2020-03-31; the caller must manage the directory), paged:
    page 1 gives TotalCount, the other pages go out together (paced like every ResourceManager call)."""

    def page(number):
        body = connection.call(
            None, "ListAccounts", {"PageNumber": number, "PageSize": LIST_ACCOUNTS_PAGE_SIZE}, service="resourcemanager"
        )
        items = listed_items(body, "Accounts", "Account", None, "ListAccounts")
        for account in items:
            if not isinstance(account.get("AccountId"), str) or not ACCOUNT_ID.match(account["AccountId"]):
                raise malformed(body, None, "ListAccounts", "an AccountId that is not 16 digits")
            if not all(isinstance(account.get(k), (str, type(None))) for k in ("DisplayName", "Status")):
                raise malformed(body, None, "ListAccounts", "a DisplayName or Status that is not a string")
        accounts = [dict((k, account.get(k)) for k in ("AccountId", "DisplayName", "Status")) for account in items]
        return total_count(body, None, "ListAccounts"), accounts

    total, accounts = page(1)
    totals = set([total])
    rest = list(range(2, -(-total // LIST_ACCOUNTS_PAGE_SIZE) + 1)) if accounts else []
    if rest:
        with ThreadPoolExecutor(max_workers=min(MAX_PAGES_AT_ONCE, len(rest))) as pool:
            for other_total, more in pool.map(page, rest):
                totals.add(other_total)
                accounts += more
    unique = list(dict((a["AccountId"], a) for a in accounts).values())
    if len(unique) != total or len(totals) > 1:
        raise KmsError(
            "ListingChanged",
            "ListAccounts returned %d accounts for a TotalCount of %d; run again" % (len(unique), total),
            action="ListAccounts",
        )
    return unique


def _as_list(value, option):
    if value is None:
        return []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if not isinstance(value, (list, tuple)):
        raise KmsOptionError(option, "must be a list, got %s" % type(value).__name__)
    return list(value)


def _account_id(value, option):
    if not isinstance(value, str) or not ACCOUNT_ID.match(value):
        also = " or a RAM role ARN (acs:ram::<account>:role/<name>)" if option == "accounts" else ""
        raise KmsOptionError(option, "%r is not an account ID (16 digits)%s" % (value, also))
    return value
