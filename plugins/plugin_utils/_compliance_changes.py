# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""What changed since an earlier kms-compliance.json (the role's kms_compliance_baseline): the report's changes."""

from __future__ import annotations

import json

from ansible_collections.alicloud.kms.plugins.module_utils._records import parse_arn
from ansible_collections.alicloud.kms.plugins.module_utils._rules import missing

REPORT = "alicloud.kms.compliance"
# the fields changed_keys compares: state, spec, rotation, deletion protection (when both runs gathered them)
COMPARED_FIELDS = ("key_state", "key_spec", "automatic_rotation", "deletion_protection")


class BaselineError(ValueError):
    """The baseline is not a report of this role."""


def parse_baseline(baseline):
    """An earlier report, from its text or already parsed; raises BaselineError naming what is wrong."""
    if isinstance(baseline, (str, bytes)):
        try:
            baseline = json.loads(baseline)
        except ValueError:
            raise BaselineError("not JSON: name a kms-compliance.json written by this role") from None
    if not isinstance(baseline, dict) or baseline.get("report") != REPORT:
        raise BaselineError("not a kms-compliance.json report (its report field is not %s)" % REPORT)
    for name in ("keys", "violations"):
        if not isinstance(baseline.get(name), list) or not all(isinstance(e, dict) for e in baseline[name]):
            raise BaselineError("its %s is not a list of entries" % name)
    return baseline


def identity(entry):
    """(account_id, region, key_id) of a key record or violation; the ARN fills what the entry leaves out."""
    region, account_id, key_id = parse_arn(entry.get("key_arn"))
    return (entry.get("account_id") or account_id, entry.get("region") or region, entry.get("key_id") or key_id)


def _entry(key, rule=None):
    account_id, region, key_id = identity(key)
    entry = {"key_id": key_id, "account_id": account_id, "region": region, "key_arn": key.get("key_arn")}
    if rule:
        entry["rule"] = rule
    return entry


def _in_scope(regions, accounts, not_assessed):
    """Whether a key of the baseline was looked at this run: its account-region was assessed, and the run's regions
    and accounts (when it named them) include it. A key out of scope is never removed, nor its violations resolved."""
    regions = set(r for r in regions or () if r) if regions and "all" not in regions else None
    accounts = set(accounts) if accounts else None
    skipped = set((e["account_id"], e["region"]) for e in not_assessed)

    def looked_at(account_id, region):
        return (
            (regions is None or region in regions)
            and (accounts is None or account_id in accounts)
            and (account_id, None) not in skipped
            and (account_id, region) not in skipped
        )

    return looked_at


def changes(baseline, keys, violations, regions=None, accounts=None, not_assessed=()):
    """New and removed keys, new and resolved violations, and keys whose compared fields changed since baseline.

    accounts: the account IDs the run named (None or empty: every account it could read)."""
    looked_at = _in_scope(regions, accounts, not_assessed)
    before = dict((identity(k), k) for k in baseline["keys"])
    now = dict((identity(k), k) for k in keys)
    broken_before = set(identity(v) + (v.get("rule"),) for v in baseline["violations"])
    broken_now = set(identity(v) + (v.get("rule"),) for v in violations)
    changed = []
    for ident, key in now.items():
        old = before.get(ident)
        if old is None:
            continue
        fields = dict(
            (name, [old[name], key[name]])
            for name in COMPARED_FIELDS
            if not missing(old.get(name)) and not missing(key.get(name)) and old[name] != key[name]
        )
        if fields:
            changed.append(dict(_entry(key), changes=fields))
    return {
        "baseline": {"generated_at": baseline.get("generated_at"), "run_id": baseline.get("run_id")},
        "new_keys": [_entry(k) for ident, k in now.items() if ident not in before],
        "removed_keys": [_entry(k) for ident, k in before.items() if ident not in now and looked_at(*ident[:2])],
        "new_violations": [_entry(v, v["rule"]) for v in violations if identity(v) + (v["rule"],) not in broken_before],
        "resolved_violations": [
            _entry(v, v.get("rule"))
            for v in baseline["violations"]
            if identity(v) + (v.get("rule"),) not in broken_now and looked_at(*identity(v)[:2])
        ],
        "changed_keys": changed,
    }
