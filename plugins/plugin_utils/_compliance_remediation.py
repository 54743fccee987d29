# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""Remediation: the violations of the rules that have a fix, as writes of the key module's write side (_writes.py).

Planned from the report's violations (never its exemptions) and the listing's read of the keys; applied key by key.
A write the service refuses means the key changed since it was listed: it is read again and planned from what it
says now, never overwritten blind. Every fixed key is read again after its writes, so the verdict is computed on what
the service then says: at the quota, a write and a read per key.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._retry import is_retryable
from ansible_collections.alicloud.kms.plugins.module_utils._writes import KeyWriter

# The rules with a fix, and the key module's options that fix them (value: the rule's value in the policy)
FIXES = {
    "require_rotation": lambda value, policy: dict(
        automatic_rotation=True, rotation_interval_days=policy.get("max_rotation_interval_days")
    ),
    "max_rotation_interval_days": lambda value, policy: dict(automatic_rotation=True, rotation_interval_days=value),
    "require_deletion_protection": lambda value, policy: dict(deletion_protection=True),
    "forbidden_states": lambda value, policy: dict(state="present"),  # only a key PendingDeletion: cancel it
}
REMEDIABLE = tuple(FIXES)
PARALLEL = 16  # keys remediated at once; every request still waits for its account and region's rate limit
# the record fields each fix changes, as a remediation entry names them
FIELDS = {
    "require_rotation": ("automatic_rotation", "rotation_interval"),
    "max_rotation_interval_days": ("automatic_rotation", "rotation_interval"),
    "require_deletion_protection": ("deletion_protection",),
    "forbidden_states": ("key_state",),
}


def fixable(violation, rules):
    if violation["rule"] not in rules:
        return False
    return violation["rule"] != "forbidden_states" or violation["actual"] == "PendingDeletion"


def _params(rules, policy):
    params = dict(state=None)  # the key's deletion stays as it is unless forbidden_states fixes it
    for rule in rules:
        params.update(FIXES[rule](policy[rule], policy))
    return params


def _by_key(violations, rules):
    keys = {}
    for violation in violations:
        if fixable(violation, rules):
            keys.setdefault((violation["account_id"], violation["region"], violation["key_id"]), []).append(violation)
    return keys


def _entries(found, planned_changes, status, error=None):
    """One entry per violation of the key: what its rule's fix changes, field: [old, new]."""
    entries = []
    for violation in found:
        fields = FIELDS[violation["rule"]]
        change = dict((c.field, [c.old, c.new]) for c in planned_changes if c.field in fields)
        entry = dict(
            key_id=violation["key_id"],
            account_id=violation["account_id"],
            region=violation["region"],
            rule=violation["rule"],
            change=change,
            status=status,
        )
        if error is not None:
            entry.update(code=error.code, message=error.message, request_id=getattr(error, "request_id", None))
        entries.append(entry)
    return entries


def plan(records, violations, rules, policy):
    """Check mode: the entries (status planned) for what the listing read; nothing is sent."""
    by_id = dict(((r.get("account_id"), r.get("region"), r["key_id"]), r) for r in records)
    entries = []
    for where, found in _by_key(violations, rules).items():
        record = dict(by_id[where], key_arn=by_id[where].get("key_arn") or "")
        writer = KeyWriter(None, where[1], where[0])
        try:
            changes, _after = writer.plan(record, _params([v["rule"] for v in found], policy))
        except KmsOptionError as error:
            entries += _entries(found, [], "failed", KmsError("NotRemediable", str(error)))
            continue
        entries += _entries(found, changes, "planned")
    return entries


def apply(connections, records, violations, rules, policy):
    """Remediate each key with violations to fix: (entries, records with the fixed keys read again)."""
    by_id = dict(((r.get("account_id"), r.get("region"), r["key_id"]), i) for i, r in enumerate(records))
    records = list(records)

    def one(item):
        where, found = item
        account_id, region, key_id = where
        connection = connections.get(account_id) or connections.get(None)
        writer = KeyWriter(connection, region, account_id)
        params = _params([v["rule"] for v in found], policy)

        def settled(change):
            return (writer.read(key_id, full=False) or {}).get(change.field) == change.new

        try:
            # planned from the listing's read of moments ago; a write the service refuses means the key changed
            # since: it is read again and planned from what it says now, never written blind
            changes, _after = writer.plan(dict(records[by_id[where]]), params)
            try:
                writer.send(changes, settled=settled)
            except KmsError as error:
                if is_retryable(error):
                    raise
                current = writer.read(key_id, full=False)
                if current is None:
                    raise KmsError(
                        "Forbidden.KeyNotFound", "the key is gone since it was listed", region=region
                    ) from None
                changes, _after = writer.plan(current, params)
                writer.send(changes, settled=settled)
            return where, _entries(found, changes, "applied"), writer.read(key_id, full=False)  # the verdict's read
        except KmsOptionError as error:
            return where, _entries(found, [], "failed", KmsError("NotRemediable", str(error))), None
        except KmsError as error:
            return where, _entries(found, [], "failed", error), None

    entries = []
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        for where, done, record in pool.map(one, list(_by_key(violations, rules).items())):
            entries += done
            if record is not None:
                old = records[by_id[where]]
                records[by_id[where]] = dict(old, **dict((k, record.get(k)) for k in _FIELDS_READ))
    return entries, records


# what a remediated key's record takes from its read after the writes
_FIELDS_READ = ("key_state", "automatic_rotation", "rotation_interval", "deletion_protection", "next_rotation_date")
