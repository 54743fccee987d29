# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""What changed since an earlier kms-compliance.json (the role's kms_compliance_baseline): the report's changes."""

from __future__ import annotations

import json

from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import check_region
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._records import ACCOUNT_ID, INSTANCE_ID, KEY_ID, parse_arn
from ansible_collections.alicloud.kms.plugins.module_utils._rules import RESOURCES, RULE_NAMES, missing, subject
from ansible_collections.alicloud.kms.plugins.module_utils._secrets import SECRET_ARN, SECRET_NAME

REPORT = "alicloud.kms.compliance"
# the fields changed_keys compares: state, spec, rotation, deletion protection (when both runs gathered them)
COMPARED_FIELDS = ("key_state", "key_spec", "automatic_rotation", "deletion_protection")
SCALARS = (str, bool, int, float)


class BaselineError(ValueError):
    """The baseline is not a report of this role."""


def _region(value):
    try:
        return check_region(value)
    except KmsOptionError:
        return None


def _arn(value):
    """(region, account_id, key_id) of a well-formed key ARN, or None."""
    region, account_id, key_id = parse_arn(value)
    if key_id is None or not _region(region) or not ACCOUNT_ID.match(account_id or "") or not KEY_ID.match(key_id):
        return None
    return region, account_id, key_id


def _secret_arn(value):
    """(region, account_id, secret name) of a well-formed secret ARN, or None."""
    match = SECRET_ARN.match(value)
    if not match or not _region(match.group("region")) or not SECRET_NAME.match(match.group("name")):
        return None
    return match.group("region"), match.group("account"), match.group("name")


# identifier field -> (whether a value has the form the role writes it in, that form in words)
_FORMS = {
    "key_id": (lambda v: bool(KEY_ID.match(v)), "a KMS key ID"),
    "account_id": (lambda v: bool(ACCOUNT_ID.match(v)), "a 16-digit account ID"),
    "region": (lambda v: _region(v) is not None, "a region ID like cn-hangzhou"),
    "key_arn": (lambda v: _arn(v) is not None, "a key ARN acs:kms:<region>:<account ID>:key/<key ID>"),
    "secret_name": (lambda v: bool(SECRET_NAME.match(v)), "a secret name"),
    "arn": (lambda v: _secret_arn(v) is not None, "a secret ARN acs:kms:<region>:<account ID>:secret/<name>"),
    "instance_id": (lambda v: bool(INSTANCE_ID.match(v)), "a KMS instance ID"),
}
# ARN field -> how to read it: (region, account_id, identifier) or None
_ARNS = {"key_arn": _arn, "arn": _secret_arn}


def _got(value):
    """A bad value in a message: a short string as it is, anything else by its type (it may be huge or deep)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else "a string of %d characters" % len(value)
    if value is None:
        return "null"
    name = type(value).__name__
    return "%s %s" % ("an" if name[0] in "aeiou" else "a", name)


def _check_entry(entry, where, violation, kind="key"):
    """One entry of keys or violations as the role writes it: what identifies the key (a violation's key, secret or
    instance) in its documented form and agreeing with the ARN, the rule known, the fields compared and shown scalar. Anything else in the entry is not
    read. kind: what a record entry is (keys, secrets, instances); a violation's is read from its identifiers.
    Raises BaselineError naming the entry and field."""
    for name, (valid, form) in _FORMS.items():
        value = entry.get(name)
        # "\n" apart: the forms' `$` also matches before a final newline
        if value is not None and not (isinstance(value, str) and "\n" not in value and valid(value)):
            raise BaselineError("%s.%s is not %s or null (got %s)" % (where, name, form, _got(value)))
    # keys are keys; a violation is about a key, a secret or an instance, by the identifiers it has
    kinds = [k for k, (id_field, arn_field, _g) in RESOURCES.items() if id_field in entry or arn_field in entry]
    if violation and len(kinds) > 1:
        raise BaselineError("%s names more than one of a key, a secret and an instance" % where)
    id_field, arn_field, _gathering = RESOURCES[kinds[0] if violation and kinds else kind]
    arn = _ARNS[arn_field](entry[arn_field]) if arn_field and entry.get(arn_field) is not None else None
    for name, from_arn in zip(("region", "account_id", id_field), arn or ()):
        if entry.get(name) not in (None, from_arn):
            raise BaselineError("%s.%s is not the one its %s names (%s)" % (where, name, arn_field, from_arn))
    if entry.get(id_field) is None and arn is None:
        raise BaselineError("%s has neither %s nor %s" % (where, id_field, arn_field or "an ARN"))
    if violation and entry.get("rule") not in RULE_NAMES:
        raise BaselineError("%s.rule is not a rule of this role (got %s)" % (where, _got(entry.get("rule"))))
    for name in COMPARED_FIELDS + ("description",):
        if entry.get(name) is not None and not isinstance(entry[name], SCALARS):
            raise BaselineError("%s.%s is not a string, number or boolean (got %s)" % (where, name, _got(entry[name])))
    aliases = entry.get("aliases")
    if aliases is not None and not (isinstance(aliases, list) and all(isinstance(a, str) for a in aliases)):
        raise BaselineError("%s.aliases is not a list of alias names (got %s)" % (where, _got(aliases)))


def parse_baseline(baseline, whole=False):
    """An earlier report, from its text or already parsed; raises BaselineError naming what is wrong. whole: every
    part a merge reads is checked too (a slice of an organisation run, _compliance_merge.py)."""
    if isinstance(baseline, (str, bytes)):
        try:
            baseline = json.loads(baseline)
        except ValueError:
            raise BaselineError("not JSON: name a kms-compliance.json written by this role") from None
        except RecursionError:  # the parser recurses per level: no report of this role nests that deep
            raise BaselineError("nested too deeply to be a kms-compliance.json written by this role") from None
    if not isinstance(baseline, dict) or baseline.get("report") != REPORT:
        raise BaselineError("not a kms-compliance.json report (its report field is not %s)" % REPORT)
    for name in ("generated_at", "run_id"):
        if baseline.get(name) is not None and not isinstance(baseline[name], str):
            raise BaselineError("its %s is not a string (got %s)" % (name, _got(baseline[name])))
    for name in ("keys", "violations"):
        if not isinstance(baseline.get(name), list) or not all(isinstance(e, dict) for e in baseline[name]):
            raise BaselineError("its %s is not a list of entries" % name)
        for index, entry in enumerate(baseline[name]):
            _check_entry(entry, "%s[%d]" % (name, index), name == "violations")
    if whole:
        _check_whole(baseline)
    return baseline


def _entries(report, name, nullable=False):
    value = report.get(name)
    if value is None and nullable:
        return []
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise BaselineError("its %s is not a list of entries" % name)
    return value


def _check_whole(report):
    """The parts beside keys and violations that a merge reads, each in the form the role writes it."""
    for index, entry in enumerate(_entries(report, "exempted")):
        _check_entry(entry, "exempted[%d]" % index, True)
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise BaselineError("exempted[%d] has no reason" % index)
    for name, kind in (("secrets", "secret"), ("instances", "instance")):
        for index, entry in enumerate(_entries(report, name, nullable=True)):
            _check_entry(entry, "%s[%d]" % (name, index), False, kind)
            if not isinstance(entry.get(RESOURCES[kind][0]), str):
                raise BaselineError("%s[%d] has no %s" % (name, index, RESOURCES[kind][0]))
    _entries(report, "not_assessed")
    _entries(report, "remediation", nullable=True)
    for name in ("regions_requested", "accounts_requested", "accounts_excluded", "unused_exemptions"):
        value = report.get(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BaselineError("its %s is not a list of strings" % name)
    if not isinstance(report.get("policy"), dict):
        raise BaselineError("its policy is not a dict of rules")
    if not isinstance(report.get("generated_at"), str):
        raise BaselineError("it has no generated_at")


def identity(entry):
    """(account_id, region, what) of a record or violation: what is a key's ID, or (kind, ID) of a secret or an
    instance; the ARN fills what the entry leaves out."""
    kind, ident, arn = subject(entry)
    if kind == "key":
        region, account_id, ident = parse_arn(arn)
        return (entry.get("account_id") or account_id, entry.get("region") or region, entry.get("key_id") or ident)
    region, account_id, name = (_secret_arn(arn) if isinstance(arn, str) else None) or (None, None, None)
    return (entry.get("account_id") or account_id, entry.get("region") or region, (kind, ident or name))


def _entry(record, rule=None):
    """A record or violation as changes names it: its identifier (and ARN), account and region, and rule."""
    account_id, region, what = identity(record)
    kind, _ident, _arn = subject(record)
    id_field, arn_field, _gathering = RESOURCES[kind]
    entry = {id_field: what if kind == "key" else what[1], "account_id": account_id, "region": region}
    if arn_field:
        entry[arn_field] = record.get(arn_field)
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


def changes(baseline, keys, violations, regions=None, accounts=None, not_assessed=(), kinds=("key",)):
    """New and removed keys, new and resolved violations, and keys whose compared fields changed since baseline.

    accounts: the account IDs the run named (None or empty: every account it could read). kinds: what the run
    gathered (a secret's violation is never resolved by a run that did not read secrets)."""
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
            if identity(v) + (v.get("rule"),) not in broken_now
            and looked_at(*identity(v)[:2])
            and subject(v)[0] in kinds
        ],
        "changed_keys": changed,
    }
