# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The partial reports of an organisation run split into slices (AWX job slicing, one fork per account) as the input
of one report: kms_compliance_merge_dirs.

Each slice's kms-compliance.json is checked whole (parse_baseline(whole=True)); the slices must share one policy and
cover disjoint accounts. The merged run is then evaluated again from the slices' records, as one run over the same
accounts would be: the same rules, the exemptions that applied in a slice (rebuilt from its exempted violations, by
ARN where there is one) and those no slice used, what no slice could read, and the slices' remediation. It is as of
its oldest slice: ages and expiries are taken then.
"""

from __future__ import annotations

import glob
import os

from ansible_collections.alicloud.kms.plugins.module_utils._rules import RESOURCES, subject
from ansible_collections.alicloud.kms.plugins.plugin_utils._compliance_changes import BaselineError, parse_baseline

REPORT_FILE = "kms-compliance.json"


class MergeError(ValueError):
    """A slice that cannot be merged: its message names the directory."""


def _read(directory):
    path = os.path.join(os.path.realpath(os.path.expanduser(directory)), REPORT_FILE)
    if not os.path.isfile(path):
        raise MergeError("%s: no %s (the report directory of a slice)" % (directory, REPORT_FILE))
    try:
        with open(path, "rb") as handle:
            return parse_baseline(handle.read().decode("utf-8", errors="replace"), whole=True)
    except BaselineError as error:
        raise MergeError("%s: %s" % (path, error)) from None
    except OSError as error:
        raise MergeError("%s: cannot read it: %s" % (path, error.strerror or type(error).__name__)) from None


def _accounts_of(report):
    """The accounts a slice read: of its records and of what it could not read."""
    records = report["keys"] + (report.get("secrets") or []) + (report.get("instances") or [])
    found = set(r.get("account_id") for r in records) | set(e.get("account_id") for e in report["not_assessed"])
    return set(a for a in found if a)


def _exemption(entry):
    """The exemption an exempted violation shows applied: by ARN where the entry has one, for its rule only."""
    kind, ident, arn = subject(entry)
    return {RESOURCES[kind][0]: arn or ident, "reason": entry["reason"], "rules": [entry["rule"]]}


def _unused(ident):
    """An exemption no slice used (its ID matched no record of any slice), kept so the merged report lists it."""
    field = "instance_id" if ident.startswith("kst-") else "key_id"
    return {field: ident, "reason": "unused in every slice", "rules": None}


def slice_dirs(entries):
    """The directories named, a shell-style pattern (*, ?, [) expanded to the directories it matches, sorted."""
    found = []
    for entry in entries:
        if not glob.has_magic(entry):
            found.append(entry)
            continue
        matched = sorted(d for d in glob.glob(os.path.expanduser(entry)) if os.path.isdir(d))
        if not matched:
            raise MergeError("%s matches no directory" % entry)
        found.extend(matched)
    return list(dict.fromkeys(found))


def merge(entries):
    """{records, secrets, instances, skipped, regions, accounts, exclude_accounts, exempt_keys, generated, remediation,
    policy} of the slices in the directories entries name (slice_dirs); raises MergeError naming the slice."""
    reports, seen = [], {}
    for directory in slice_dirs(entries):
        report = _read(directory)
        if reports and report["policy"] != reports[0][1]["policy"]:
            raise MergeError(
                "%s: its policy is not the policy of %s; the slices of one run share one policy"
                % (directory, reports[0][0])
            )
        for account in _accounts_of(report):
            if account in seen:
                raise MergeError(
                    "%s: account %s is in slice %s too; slices cover disjoint accounts"
                    % (directory, account, seen[account])
                )
            seen[account] = directory
        reports.append((directory, report))
    if not reports:
        raise MergeError("no slice to merge")
    slices = [report for _directory, report in reports]

    def joined(name):
        parts = [report.get(name) for report in slices]
        if all(part is None for part in parts):
            return None
        return [entry for part in parts for entry in part or ()]

    def union(name):
        return list(dict.fromkeys(value for report in slices for value in report[name]))

    unused = set(slices[0]["unused_exemptions"]).intersection(*(r["unused_exemptions"] for r in slices[1:]))
    exemptions = [_exemption(e) for report in slices for e in report["exempted"]]
    return {
        "records": joined("keys"),
        "secrets": joined("secrets"),
        "instances": joined("instances"),
        "skipped": joined("not_assessed"),
        "regions": union("regions_requested"),
        "accounts": union("accounts_requested"),
        "exclude_accounts": union("accounts_excluded"),
        "exempt_keys": exemptions + [_unused(ident) for ident in sorted(unused)],
        "generated": min(report["generated_at"] for report in slices),
        "remediation": joined("remediation"),
        "policy": slices[0]["policy"],
    }
