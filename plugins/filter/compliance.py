# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance rules for KMS key records: pure functions behind the alicloud.kms.compliance role.

Four filters, documented in the adjacent kms_*.yml files:

- ``kms_compliance_plan(policy)``: the active rules and what to gather for them (facets, details);
- ``kms_violations(keys, policy, exempt_keys)``: one entry per key and broken rule;
- ``kms_compliance_report(keys, policy, exempt_keys, regions, skipped, accounts, exclude_accounts)``: verdict,
  summary per account, region and rule, violations, exemptions, what was not assessed and one check per key and
  rule (what the JSON, JUnit and HTML reports are made of);
- ``kms_xml_escape(value)``: a value as XML 1.0 / HTML text, for the JUnit and HTML reports.

A rule never passes a key whose field it reads is unknown (missing, null or empty): the check fails
with actual ``unknown`` and a note naming what to gather.

No request is made here and nothing but the arguments is read: same input, same output.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.alicloud.kms.plugins.module_utils._query import (  # the one definition of the allowed values
    CREATOR_TYPES,
    KEY_STATES,
    KEY_USAGES,
    PROTECTION_LEVELS,
)

# rule -> (record field it reads, what gathers that field)
RULES = {
    "forbidden_states": ("key_state", "facet"),
    "allowed_specs": ("key_spec", "facet"),
    "allowed_usages": ("key_usage", "facet"),
    "required_protection_level": ("protection_level", "facet"),
    "allowed_creator_types": ("creator_type", "facet"),
    "require_rotation": ("automatic_rotation", "details"),
    "max_rotation_interval_days": ("rotation_interval", "details"),
    "require_deletion_protection": ("deletion_protection", "details"),
}
RULE_NAMES = tuple(RULES)
# Facets in their canonical order
FACETS = ("key_state", "key_spec", "key_usage", "protection_level", "creator_type")
# What every report shows (bar charts per region), whatever the rules
REPORT_FACETS = ("key_state", "key_spec")
# Facets that DescribeKey documents (KeyMetadata of the official SDK model): with details they need no listing.
# CreatorType is not one of them: it is only known from the creator_type facet.
DESCRIBED_FACETS = ("key_state", "key_spec", "key_usage", "protection_level")
# rule -> the record fields that decide whether it applies to a key (see _rotation_not_applicable)
APPLICABILITY = {
    "require_rotation": ("key_spec", "creator_type", "origin"),
    "max_rotation_interval_days": ("key_spec", "creator_type", "origin"),
    "require_deletion_protection": ("creator_type",),
}
# record field -> how a play gathers it, for the note of a check whose field is unknown
GATHERED_BY = dict((facet, "the %s facet" % facet) for facet in FACETS)
GATHERED_BY.update(
    (field, "details (DescribeKey)")
    for field in ("automatic_rotation", "rotation_interval", "deletion_protection", "origin")
)
# closed sets a rule value must come from
RULE_CHOICES = {
    "forbidden_states": KEY_STATES,
    "allowed_usages": KEY_USAGES,
    "required_protection_level": PROTECTION_LEVELS,
    "allowed_creator_types": CREATOR_TYPES,
}
LIST_RULES = ("forbidden_states", "allowed_specs", "allowed_usages", "allowed_creator_types")
BOOL_RULES = ("require_rotation", "require_deletion_protection")
ROTATION_RULES = ("require_rotation", "max_rotation_interval_days")
DAY = 86400

# A 16-digit account ID, and a RAM role ARN acs:ram::<account>:role/<name> (as alicloud.kms.key_facts takes them)
_ACCOUNT_ID = re.compile(r"^\d{16}$")
_ROLE_ARN = re.compile(r"^acs:ram::(\d{16}):role/.+$")
# the fields of a not-assessed entry (key_facts' skipped): region None means the whole account
SKIPPED_FIELDS = ("account_id", "region", "code", "message", "request_id")

COMPLIANT = "compliant"
NON_COMPLIANT = "non_compliant"
INCOMPLETE = "incomplete"

PASS = "pass"
FAIL = "fail"
EXEMPT = "exempt"
NOT_APPLICABLE = "not_applicable"
# what a check reports as actual when the field its rule reads is unknown
UNKNOWN = "unknown"


def _error(message):
    return AnsibleFilterError("alicloud.kms compliance: %s" % message)


def _is_set(rule, value):
    """A rule is on when it has a value: null, false and empty lists leave it off."""
    if value is None:
        return False
    if rule in BOOL_RULES:
        return value is True
    if rule in LIST_RULES:
        return len(value) > 0
    return True


def _as_list(rule, value):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise _error("%s must be a list of strings, got %r" % (rule, value))
    return list(value)


def _bool(rule, value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise _error("%s must be true or false, got %r" % (rule, value))


def check_policy(policy):
    """The active rules of a policy, normalized, in the canonical order; raises on any mistake."""
    if policy is None:
        return {}
    if not isinstance(policy, dict):
        raise _error("the policy must be a dict of rules, got %s" % type(policy).__name__)
    unknown = sorted(str(name) for name in policy if name not in RULES)
    if unknown:
        raise _error("unknown rule(s) %s; known rules are %s" % (", ".join(unknown), ", ".join(RULE_NAMES)))
    rules = {}
    for rule in RULE_NAMES:
        value = policy.get(rule)
        if rule in BOOL_RULES and value is not None:
            value = _bool(rule, value)
        if rule in LIST_RULES and value is not None:
            value = _as_list(rule, value)
        if not _is_set(rule, value):
            continue
        if rule == "required_protection_level":
            if not isinstance(value, str):
                raise _error("required_protection_level must be a string, got %r" % (value,))
        if rule == "max_rotation_interval_days":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, str))
                or not str(value).strip().isdigit()
                or int(value) < 1
            ):
                raise _error("max_rotation_interval_days must be a whole number of days, 1 or more, got %r" % (value,))
            value = int(value)
        choices = RULE_CHOICES.get(rule)
        for item in (value if isinstance(value, list) else [value]) if choices else ():
            if item not in choices:
                raise _error("%s: unknown value %r; allowed values are %s" % (rule, item, ", ".join(choices)))
        rules[rule] = value
    return rules


def check_exemptions(exempt_keys):
    """Exemptions as [{key_id, reason, rules}], rules None meaning every rule; raises on any mistake."""
    result = []
    for index, entry in enumerate(exempt_keys or ()):
        where = "kms_compliance_exempt_keys[%d]" % index
        if not isinstance(entry, dict):
            raise _error("%s must be a dict with key_id and reason, got %r" % (where, entry))
        unknown = sorted(set(entry) - {"key_id", "reason", "rules"})
        if unknown:
            raise _error(
                "%s: unknown field(s) %s; an exemption has key_id, reason and optionally rules"
                % (where, ", ".join(unknown))
            )
        key_id, reason = entry.get("key_id"), entry.get("reason")
        if not isinstance(key_id, str) or not key_id:
            raise _error("%s: key_id is required (a key ID or ARN)" % where)
        if not isinstance(reason, str) or not reason.strip():
            raise _error("%s (%s): a reason is required, for example the ticket that allows it" % (where, key_id))
        rules = entry.get("rules")
        if rules is not None:
            rules = _as_list("%s.rules" % where, rules)
            unknown = sorted(r for r in rules if r not in RULES)
            if unknown:
                raise _error(
                    "%s: unknown rule(s) %s; known rules are %s" % (where, ", ".join(unknown), ", ".join(RULE_NAMES))
                )
        result.append({"key_id": key_id, "reason": reason.strip(), "rules": rules})
    return result


def compliance_plan(policy):
    """What the policy needs gathered: facets for list rules, DescribeKey only for the detail rules.

    Every facet a rule reads or its applicability depends on is planned, except those DescribeKey
    documents when details are gathered anyway; creator type is never among those.
    """
    rules = check_policy(policy)
    details = any(RULES[rule][1] == "details" for rule in rules)
    needed = set()
    for rule in rules:
        needed.update(field for field in (RULES[rule][0],) + APPLICABILITY.get(rule, ()) if field in FACETS)
    if details:
        facets = [f for f in FACETS if f in needed and f not in DESCRIBED_FACETS]
    else:
        facets = [f for f in FACETS if f in needed or f in REPORT_FACETS]
    return {"rules": list(rules), "facets": facets, "details": details}


def _interval_seconds(value):
    """'31536000s' -> 31536000; None when the interval is missing or unreadable."""
    text = str(value or "").strip()
    if text.endswith("s"):
        text = text[:-1]
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _days(seconds):
    days = seconds / DAY
    return "%d days" % days if days == int(days) else "%.2f days" % days


def _missing(value):
    """A field is unknown when it is absent, null or empty (records gathered without its facet or details)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _unknown(*fields):
    """The failing check of a rule that cannot be judged: actual `unknown`, and what to gather."""
    return (
        FAIL,
        UNKNOWN,
        "unknown %s: gather %s" % (", ".join(fields), ", ".join(dict.fromkeys(GATHERED_BY.get(f, f) for f in fields))),
    )


def _rotation_not_applicable(key):
    """(why the service cannot rotate this key automatically or None, the unknown fields that decide it).

    The service rotates symmetric keys (Aliyun_* specs) that the account created (creator type User)
    with material KMS generated (origin Aliyun_KMS). A known field that rules the key out settles it;
    otherwise every one of the three must be known.
    """
    spec, creator, origin = key.get("key_spec"), key.get("creator_type"), key.get("origin")
    if not _missing(spec) and not str(spec).startswith("Aliyun_"):
        return "asymmetric keys (%s) do not rotate automatically" % spec, ()
    if creator == "Service":
        return "a cloud service manages this key", ()
    if origin == "EXTERNAL":
        return "imported key material does not rotate automatically", ()
    if not _missing(origin) and origin != "Aliyun_KMS":
        return "key material from %s does not rotate automatically" % origin, ()
    decisive = (("key_spec", spec), ("creator_type", creator if creator == "User" else None), ("origin", origin))
    return None, tuple(name for name, value in decisive if _missing(value))


def expected(rule, value):
    """What a rule asks of every key, in words."""
    if rule == "forbidden_states":
        return "none of %s" % ", ".join(value)
    if rule in ("allowed_specs", "allowed_usages", "allowed_creator_types"):
        return "one of %s" % ", ".join(value)
    if rule == "max_rotation_interval_days":
        return "at most %d days" % value
    if rule in ("require_rotation", "require_deletion_protection"):
        return "Enabled"
    return value


def _rotation(rule, value, key, actual):
    why, unknown = _rotation_not_applicable(key)
    if why:
        return NOT_APPLICABLE, actual, why
    if unknown:
        return _unknown(*unknown)
    rotation = key.get("automatic_rotation")
    if _missing(rotation):
        return _unknown("automatic_rotation")
    if rule == "require_rotation":
        return (PASS if rotation == "Enabled" else FAIL), rotation, None
    # The service sends RotationInterval only while rotation is Enabled or Suspended: without it, the
    # rotation state explains its absence. A key that never rotates is rotated less often than any interval.
    if rotation != "Enabled":
        return FAIL, "no automatic rotation (%s)" % rotation, None
    if _missing(actual):
        return _unknown("rotation_interval")
    seconds = _interval_seconds(actual)
    if seconds is None:
        return FAIL, "unknown interval (%s)" % actual, None
    return (PASS if seconds <= value * DAY else FAIL), _days(seconds), None


def evaluate(rule, value, key):
    """(status, actual, note) of one rule for one key; status is pass, fail or not_applicable.

    A rule never passes a key whose field it reads (or that decides whether it applies) is unknown:
    the check fails with actual `unknown` and a note naming what to gather.
    """
    field = RULES[rule][0]
    actual = key.get(field)
    if rule in ROTATION_RULES:
        return _rotation(rule, value, key, actual)
    if rule == "require_deletion_protection":
        creator = key.get("creator_type")
        if creator == "Service":
            return NOT_APPLICABLE, actual, "a cloud service manages this key"
        if creator != "User":
            return _unknown("creator_type")
        if _missing(actual):
            return _unknown(field)
        return (PASS if actual == "Enabled" else FAIL), actual, None
    if _missing(actual):
        return _unknown(field)
    if rule == "forbidden_states":
        return (FAIL if actual in value else PASS), actual, None
    if rule in ("allowed_specs", "allowed_usages", "allowed_creator_types"):
        return (PASS if actual in value else FAIL), actual, None
    if rule == "required_protection_level":
        return (PASS if actual == value else FAIL), actual, None
    raise _error("unknown rule %r" % rule)  # pragma: no cover - check_policy rejects it first


def _exemption_for(key, rule, exemptions):
    for exemption in exemptions:
        if exemption["key_id"] in (key.get("key_id"), key.get("key_arn")) and (
            exemption["rules"] is None or rule in exemption["rules"]
        ):
            return exemption
    return None


def _keys(keys):
    if not isinstance(keys, (list, tuple)):
        raise _error("expected a list of key records, got %s" % type(keys).__name__)
    for key in keys:
        if not isinstance(key, dict) or not key.get("key_id"):
            raise _error("every key record must be a dict with key_id, got %r" % (key,))
    return keys


def compliance_checks(keys, policy, exempt_keys=None):
    """One check per key and active rule, in key order then rule order."""
    rules = check_policy(policy)
    exemptions = check_exemptions(exempt_keys)
    checks = []
    for key in _keys(keys):
        for rule, value in rules.items():
            status, actual, note = evaluate(rule, value, key)
            check = {
                "key_id": key["key_id"],
                "key_arn": key.get("key_arn"),
                "region": key.get("region"),
                "account_id": key.get("account_id"),
                "account_name": key.get("account_name"),
                "rule": rule,
                "status": status,
                "actual": actual,
                "expected": expected(rule, value),
                "note": note,
            }
            if status == FAIL:
                exemption = _exemption_for(key, rule, exemptions)
                if exemption:
                    check.update(status=EXEMPT, note=exemption["reason"])
            checks.append(check)
    return checks


def _violation(check, with_reason=False):
    entry = dict((name, check[name]) for name in ("key_id", "key_arn", "region", "rule", "actual", "expected"))
    if with_reason:
        entry["reason"] = check["note"]
    return entry


def kms_violations(keys, policy, exempt_keys=None):
    """The broken rules that no exemption covers: one dict per key and rule."""
    return [_violation(c) for c in compliance_checks(keys, policy, exempt_keys) if c["status"] == FAIL]


def _count(counter, value):
    name = UNKNOWN if _missing(value) else str(value)
    counter[name] = counter.get(name, 0) + 1


def _ordered(counter, canonical=()):
    """Counts in the canonical order first, then the rest by name."""
    names = [n for n in canonical if n in counter] + sorted(n for n in counter if n not in canonical)
    return dict((n, counter[n]) for n in names)


def _region_stats():
    return {"key_count": 0, "violations": 0, "exempted": 0, "non_compliant_keys": 0, "key_state": {}, "key_spec": {}}


def _account_of(entry, where):
    """The account an entry of kms_compliance_accounts names: an ID, the account of a role ARN, or None for all."""
    text = str(entry).strip()
    if text == "all":
        return None
    if _ACCOUNT_ID.match(text):
        return text
    match = _ROLE_ARN.match(text)
    if match:
        return match.group(1)
    raise _error(
        "%s: %r is not a 16-digit account ID, a RAM role ARN (acs:ram::<account>:role/<name>) or all" % (where, entry)
    )


def _account_list(accounts, where):
    if accounts is None:
        return []
    if isinstance(accounts, str):
        accounts = [a for a in (part.strip() for part in accounts.split(",")) if a]
    if not isinstance(accounts, (list, tuple)):
        raise _error("%s must be a list of account IDs, role ARNs or all, got %r" % (where, accounts))
    return [a for a in (_account_of(entry, where) for entry in accounts) if a]


def check_skipped(skipped):
    """What was not assessed (alicloud.kms.key_facts' skipped) as [{account_id, region, code, message, request_id}]."""
    if skipped is None:
        return []
    if not isinstance(skipped, (list, tuple)):
        raise _error("skipped must be the list alicloud.kms.key_facts returns, got %s" % type(skipped).__name__)
    result = []
    for index, entry in enumerate(skipped):
        if not isinstance(entry, dict) or not (entry.get("code") or entry.get("message")):
            raise _error(
                "skipped[%d] must be a dict with account_id, region, code and message, got %r" % (index, entry)
            )
        item = dict((name, entry.get(name)) for name in SKIPPED_FIELDS)
        for name in SKIPPED_FIELDS:
            if item[name] is not None and not isinstance(item[name], str):
                item[name] = str(item[name])
            if item[name] == "":
                item[name] = None
        result.append(item)
    return result


def _verdict(violations, not_assessed):
    """incomplete when anything was not assessed (never compliant then), else by the violations."""
    if not_assessed:
        return INCOMPLETE
    return NON_COMPLIANT if violations else COMPLIANT


def kms_compliance_report(
    keys, policy, exempt_keys=None, regions=None, skipped=None, accounts=None, exclude_accounts=None
):
    """Verdict, summary per account, region and rule, violations, exemptions, what was not assessed, every check.

    ``skipped`` is alicloud.kms.key_facts' list of accounts and account-regions it could not read: anything in it
    makes the verdict ``incomplete``. ``accounts`` (IDs, role ARNs or ``all``) names accounts that appear in the
    per-account summary even without keys, in that order, unless ``exclude_accounts`` names them.
    """
    rules = check_policy(policy)
    exemptions = check_exemptions(exempt_keys)
    keys = _keys(keys)
    not_assessed = check_skipped(skipped)
    excluded = set(_account_list(exclude_accounts, "exclude_accounts"))
    named_accounts = [a for a in _account_list(accounts, "accounts") if a not in excluded]
    checks = compliance_checks(keys, rules, exemptions)
    if isinstance(regions, str):
        regions = [regions]
    named = [r for r in (regions or ()) if r and r != "all"]
    order = list(dict.fromkeys(named + sorted(set(k.get("region") or "unknown" for k in keys))))

    by_region = dict((r, _region_stats()) for r in order)
    by_account = _accounts(keys, named, named_accounts, not_assessed)
    for key in keys:
        for entry in _stats_of(by_region, by_account, key.get("account_id"), key.get("region")):
            entry["key_count"] += 1
            if "key_state" in entry:  # a region's entry (an account's has its regions' charts)
                _count(entry["key_state"], key.get("key_state"))
                _count(entry["key_spec"], key.get("key_spec"))
    by_rule = dict(
        (
            rule,
            {
                "expected": expected(rule, value),
                "checked": 0,
                "passed": 0,
                "violations": 0,
                "exempted": 0,
                "not_applicable": 0,
            },
        )
        for rule, value in rules.items()
    )
    failing = {}
    for check in checks:
        stats = by_rule[check["rule"]]
        counted = _stats_of(by_region, by_account, check["account_id"], check["region"])
        stats["checked"] += 1
        if check["status"] == PASS:
            stats["passed"] += 1
        elif check["status"] == FAIL:
            stats["violations"] += 1
            for entry in counted:
                entry["violations"] += 1
            failing.setdefault((check["account_id"], check["region"], check["key_id"]), check)
        elif check["status"] == EXEMPT:
            stats["exempted"] += 1
            for entry in counted:
                entry["exempted"] += 1
        else:
            stats["not_applicable"] += 1
    for check in failing.values():
        for entry in _stats_of(by_region, by_account, check["account_id"], check["region"]):
            entry["non_compliant_keys"] += 1
    for entry in list(by_region.values()) + [r for a in by_account.values() for r in a["by_region"].values()]:
        entry["key_state"] = _ordered(entry["key_state"], KEY_STATES)
        entry["key_spec"] = _ordered(entry["key_spec"])

    violations = [_violation(c) for c in checks if c["status"] == FAIL]
    exempted = [_violation(c, with_reason=True) for c in checks if c["status"] == EXEMPT]
    known = set(k["key_id"] for k in keys) | set(k.get("key_arn") for k in keys)
    return {
        "verdict": _verdict(violations, not_assessed),
        "policy": rules,
        "summary": {
            "key_count": len(keys),
            "region_count": len(by_region),
            "account_count": sum(1 for a in by_account.values() if a["assessed"]),
            "rules": list(rules),
            "checks": len(checks),
            "violations": len(violations),
            "exempted": len(exempted),
            "non_compliant_keys": len(failing),
            "compliant_keys": len(keys) - len(failing),
            "not_assessed": len(not_assessed),
            "by_region": by_region,
            "by_account": by_account,
            "by_rule": by_rule,
        },
        "violations": violations,
        "exempted": exempted,
        "unused_exemptions": [e["key_id"] for e in exemptions if e["key_id"] not in known],
        "accounts": [_roster_entry(a) for a in by_account.values()],
        "not_assessed": not_assessed,
        "checks": checks,
    }


def _accounts(keys, regions, named_accounts, not_assessed):
    """The per-account summary, empty but for names and regions: named accounts first, then the others by ID.

    An account is assessed unless it was skipped as a whole. Its regions are the regions named (when they were),
    less those skipped for it, plus those of its keys; its not_assessed lists what was skipped of it.
    """
    names = {}
    for key in keys:
        if key.get("account_id") and key.get("account_name"):
            names.setdefault(key["account_id"], key["account_name"])
    seen = set(k.get("account_id") for k in keys if k.get("account_id"))
    seen.update(e["account_id"] for e in not_assessed if e["account_id"])
    order = list(dict.fromkeys(named_accounts + sorted(seen)))
    by_account = {}
    for account_id in order:
        skipped = [
            dict((n, e[n]) for n in SKIPPED_FIELDS if n != "account_id")
            for e in not_assessed
            if e["account_id"] == account_id
        ]
        whole = any(e["region"] is None for e in skipped)
        left_out = set(e["region"] for e in skipped)
        own = sorted(set(k.get("region") or "unknown" for k in keys if k.get("account_id") == account_id))
        listed = [] if whole else [r for r in regions if r not in left_out]
        by_account[account_id] = {
            "account_id": account_id,
            "account_name": names.get(account_id),
            "assessed": not whole,
            "key_count": 0,
            "violations": 0,
            "exempted": 0,
            "non_compliant_keys": 0,
            "not_assessed": skipped,
            "by_region": dict((r, _region_stats()) for r in dict.fromkeys(listed + own)),
        }
    return by_account


def _roster_entry(account):
    """An account of the report in one line: who it is, whether it was assessed, its counts and regions."""
    entry = dict(
        (name, account[name])
        for name in (
            "account_id",
            "account_name",
            "assessed",
            "key_count",
            "violations",
            "exempted",
            "non_compliant_keys",
        )
    )
    entry["regions"] = list(account["by_region"])
    return entry


def _stats_of(by_region, by_account, account_id, region):
    """The summary entries a key or check counts in: its region, its account and its region within the account."""
    region = region or "unknown"
    entries = [by_region[region]]
    account = by_account.get(account_id)
    if account is not None:
        entries += [account, account["by_region"][region]]
    return entries


# Characters XML 1.0 does not allow (section 2.2): C0 controls but tab, newline and carriage return, lone
# surrogates, U+FFFE and U+FFFF. Escaping cannot express them (&#1; is not well-formed either).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_XML_SPECIAL = re.compile("[&<>\"']")


def kms_xml_escape(value):
    """value as XML 1.0 (and HTML) text or attribute: forbidden characters become U+FFFD, markup is escaped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = _XML_FORBIDDEN.sub("\ufffd", text)
    return _XML_SPECIAL.sub(lambda match: _XML_ESCAPES[match.group(0)], text)


class FilterModule(object):
    """alicloud.kms compliance filters."""

    def filters(self):
        return {
            "kms_compliance_plan": compliance_plan,
            "kms_violations": kms_violations,
            "kms_compliance_report": kms_compliance_report,
            "kms_xml_escape": kms_xml_escape,
        }
