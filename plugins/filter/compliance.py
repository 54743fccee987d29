# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compliance rules for KMS key records: pure functions behind the alicloud.kms.compliance role.

Five filters, documented in the adjacent kms_*.yml files:

- ``kms_compliance_plan(policy)``: the active rules and what to gather for them (facets, details);
- ``kms_violations(keys, policy, exempt_keys)``: one entry per key and broken rule;
- ``kms_compliance_report(keys, policy, exempt_keys, regions, skipped, accounts, exclude_accounts, now, baseline,
  run_id)``: verdict, summary per account, region and rule, violations, exemptions, what was not assessed, what
  changed since a baseline report, and one check per key and rule;
- ``kms_compliance_documents(...)``: the same arguments; the report and the per-key parts of the role's three
  reports, rendered once (plugin_utils/_compliance_documents.py);
- ``kms_xml_escape(value)``: a value as XML 1.0 / HTML text, for the JUnit and HTML reports.

A rule never passes a key whose field it reads is unknown (missing, null or empty): the check fails
with actual ``unknown`` and a note naming what to gather.

No request is made here and nothing but the arguments is read: same input, same output.
"""

from __future__ import annotations

import datetime
import json
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.alicloud.kms.plugins.module_utils._query import KEY_STATES
from ansible_collections.alicloud.kms.plugins.module_utils._rules import (  # the one table of rules
    DESCRIBED_FACETS,
    EXEMPT,
    FACETS,
    FAIL,
    PASS,
    RESOURCE_RULES,
    RESOURCES,
    RULE_NAMES,
    RULES,
    UNKNOWN,
    PolicyError,
    missing,
    parse_time,
    subject,
)
from ansible_collections.alicloud.kms.plugins.plugin_utils import _compliance_documents as documents
from ansible_collections.alicloud.kms.plugins.plugin_utils._compliance_changes import (
    BaselineError,
    changes,
    identity,
    parse_baseline,
)

# What every report shows (bar charts per region), whatever the rules
REPORT_FACETS = ("key_state", "key_spec")
# the gathering options of alicloud.kms.key_facts beside facets, then the kinds listed beside keys, in the plan
GATHERINGS = ("details", "aliases", "tags", "key_policy") + tuple(g for _i, _a, g in RESOURCES.values() if g)

# A 16-digit account ID, and a RAM role ARN acs:ram::<account>:role/<name> (as alicloud.kms.key_facts takes them)
_ACCOUNT_ID = re.compile(r"^\d{16}\Z")
_ROLE_ARN = re.compile(r"^acs:ram::(\d{16}):role/.+\Z")
# the fields of a not-assessed entry (key_facts' skipped): region None means the whole account
SKIPPED_FIELDS = ("account_id", "region", "code", "message", "request_id")

# kms_compliance_report's arguments after the policy, in order (kms_compliance_documents takes them too)
REPORT_ARGUMENTS = (
    "exempt_keys",
    "regions",
    "skipped",
    "accounts",
    "exclude_accounts",
    "now",
    "baseline",
    "run_id",
    "secrets",
    "instances",
)
# kms_compliance_documents also takes the baseline's path, for its error messages, and the remediation entries of
# the run (alicloud.kms.compliance_check with remediate)
DOCUMENTS_ARGUMENTS = REPORT_ARGUMENTS + ("baseline_path", "remediation")
# what kms-compliance.json takes from the report, in the schema's order, between the run's fields and the keys
REPORT_PARTS = (
    "policy",
    "summary",
    "accounts",
    "not_assessed",
    "changes",
    "remediation",
    "violations",
    "exempted",
    "unused_exemptions",
)

COMPLIANT = "compliant"
NON_COMPLIANT = "non_compliant"
INCOMPLETE = "incomplete"


def _error(message):
    return AnsibleFilterError("alicloud.kms compliance: %s" % message)


def _as_list(rule, value):
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise _error("%s must be a list of strings, got %r" % (rule, value))
    return list(value)


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
    for name, rule in RULES.items():
        try:
            value = rule.normalize(policy.get(name))
        except PolicyError as exc:
            raise _error(str(exc)) from None
        if value is not None:
            rules[name] = value
    return rules


# what an exemption names, per kind: a key by ID or ARN, a secret by name or ARN, an instance by ID
_EXEMPTED = dict((fields[0], kind) for kind, fields in RESOURCES.items())
_NAMED_BY = "key_id (a key ID or ARN), secret_name (a secret name or ARN) or instance_id (a KMS instance ID)"


def check_exemptions(exempt_keys):
    """Exemptions as [{key_id, secret_name or instance_id: the ID, reason, rules}], rules None meaning every rule of
    that kind; raises on any mistake. Its result is its own valid input."""
    result = []
    for index, entry in enumerate(exempt_keys or ()):
        where = "kms_compliance_exempt_keys[%d]" % index
        if not isinstance(entry, dict):
            raise _error("%s must be a dict with key_id and reason, got %r" % (where, entry))
        unknown = sorted(set(entry) - set(_EXEMPTED) - {"reason", "rules"})
        if unknown:
            raise _error(
                "%s: unknown field(s) %s; an exemption has one of %s, a reason and optionally rules"
                % (where, ", ".join(unknown), _NAMED_BY)
            )
        named = [field for field in _EXEMPTED if field in entry]
        if len(named) != 1 or not isinstance(entry[named[0]], str) or not entry[named[0]]:
            raise _error("%s: exactly one of %s is required" % (where, _NAMED_BY))
        kind, ident, reason = _EXEMPTED[named[0]], entry[named[0]], entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise _error("%s (%s): a reason is required, for example the ticket that allows it" % (where, ident))
        rules = entry.get("rules")
        if rules is not None:
            rules = _as_list("%s.rules" % where, rules)
            unknown = sorted(r for r in rules if r not in RULES)
            if unknown:
                raise _error(
                    "%s: unknown rule(s) %s; known rules are %s" % (where, ", ".join(unknown), ", ".join(RULE_NAMES))
                )
            other = [r for r in rules if RULES[r].resource != kind]
            if other:
                raise _error(
                    "%s: %s judge no %s; the rules on a %s are %s"
                    % (where, ", ".join(other), kind, kind, ", ".join(RESOURCE_RULES[kind]))
                )
        result.append({named[0]: ident, "reason": reason.strip(), "rules": rules})
    return result


def compliance_plan(policy):
    """What the policy needs gathered: facets for the facet rules, details, aliases, tags, key policies.

    Every facet a rule reads or its applicability depends on is planned, except those DescribeKey
    documents when details are gathered anyway; creator type is never among those.
    """
    rules = check_policy(policy)
    sources = set(source for name in rules for source in RULES[name].gathers())
    needed = set(f for name in rules for f in RULES[name].fields + RULES[name].applies_fields if f in FACETS)
    if "details" in sources:
        facets = [f for f in FACETS if f in needed and f not in DESCRIBED_FACETS]
    else:
        facets = [f for f in FACETS if f in needed or f in REPORT_FACETS]
    plan = {"rules": list(rules), "facets": facets}
    plan.update((gathering, gathering in sources) for gathering in GATHERINGS)
    return plan


def _now(now):
    """The time the age and expiry rules compare with: an ISO 8601 time, a datetime, or (None) the clock."""
    if now is None:
        return datetime.datetime.now(datetime.timezone.utc)
    moment = parse_time(now)
    if moment is None:
        raise _error("now must be an ISO 8601 time such as 2026-01-31T00:00:00Z, got %r" % (now,))
    return moment


def expected(rule, value):
    """What a rule asks of every key, in words."""
    return RULES[rule].expected(value)


def evaluate(rule, value, key, now=None):
    """(status, actual, note) of one rule for one key; status is pass, fail or not_applicable."""
    return RULES[rule].evaluate(value, key, _now(now))


def _exempted(exemption):
    """What an exemption names: its ID or ARN."""
    return next(exemption[field] for field in _EXEMPTED if field in exemption)


def _exemption_for(kind, ident, arn, rule, exemptions):
    field = RESOURCES[kind][0]
    for exemption in exemptions:
        if (
            exemption.get(field) not in (None, "")
            and exemption[field] in (ident, arn)
            and (exemption["rules"] is None or rule in exemption["rules"])
        ):
            return exemption
    return None


def _records(records, kind="key"):
    """The records as plain dicts: ansible-core 2.19 hands filters lazy containers that cost microseconds per read,
    and the rules read each of 20,000 records' fields several times; one shallow copy reads each field once."""
    if records is None and kind != "key":
        return None  # not gathered
    id_field = RESOURCES[kind][0]
    if not isinstance(records, (list, tuple)):
        raise _error("expected a list of %s records, got %s" % (kind, type(records).__name__))
    records = [dict(record) if isinstance(record, dict) else record for record in records]
    for record in records:
        if not isinstance(record, dict) or not record.get(id_field):
            raise _error("every %s record must be a dict with %s, got %r" % (kind, id_field, record))
    return records


def _kinds(keys, secrets, instances):
    """{kind: its records} of the kinds given (secrets and instances None: not gathered)."""
    given = {"key": _records(keys), "secret": _records(secrets, "secret"), "instance": _records(instances, "instance")}
    return dict((kind, records) for kind, records in given.items() if records is not None)


def compliance_checks(keys, policy, exempt_keys=None, now=None, secrets=None, instances=None):
    """One check per record and active rule of its kind: keys, then secrets, then instances, in record order then
    rule order. A check names its record as a violation does (key_id and key_arn, secret_name and arn, or
    instance_id). A rule on secrets or instances with none given (not gathered) is an error: it cannot be judged."""
    rules = check_policy(policy)
    exemptions = check_exemptions(exempt_keys)
    moment = _now(now)
    kinds = _kinds(keys, secrets, instances)
    lost = [r for r in rules if RULES[r].resource not in kinds]
    if lost:
        raise _error(
            "%s judge %s, which were not given: pass them (the role gathers them for these rules)"
            % (", ".join(lost), ", ".join(dict.fromkeys(RESOURCES[RULES[r].resource][2] for r in lost)))
        )
    checks = []
    for kind, records in kinds.items():
        id_field, arn_field, _gathering = RESOURCES[kind]
        active = [(rule, value) for rule, value in rules.items() if RULES[rule].resource == kind]
        for record in records:
            ident, arn = record[id_field], record.get(arn_field) if arn_field else None
            for rule, value in active:
                status, actual, note = RULES[rule].evaluate(value, record, moment)
                check = {id_field: ident}
                if arn_field:
                    check[arn_field] = arn
                check.update(
                    region=record.get("region"),
                    account_id=record.get("account_id"),
                    account_name=record.get("account_name"),
                    alias=(record.get("aliases") or [None])[0],
                    description=record.get("description"),
                    rule=rule,
                    status=status,
                    actual=actual,
                    expected=expected(rule, value),
                    note=note,
                )
                if status == FAIL:
                    exemption = _exemption_for(kind, ident, arn, rule, exemptions)
                    if exemption:
                        check.update(status=EXEMPT, note=exemption["reason"])
                checks.append(check)
    return checks


def _violation(check, with_reason=False):
    kind, _ident, _arn = subject(check)
    id_field, arn_field, _gathering = RESOURCES[kind]
    entry = dict((name, check[name]) for name in (id_field, arn_field) if name)
    if kind == "key":
        entry["key_name"] = documents.key_name(check) or None
    entry.update((name, check[name]) for name in ("account_id", "region", "rule", "actual", "expected"))
    if with_reason:
        entry["reason"] = check["note"]
    return entry


def kms_violations(keys, policy, exempt_keys=None, now=None, secrets=None, instances=None):
    """The broken rules that no exemption covers: one dict per record and rule."""
    return [
        _violation(c)
        for c in compliance_checks(keys, policy, exempt_keys, now, secrets, instances)
        if c["status"] == FAIL
    ]


def _count(counter, value):
    name = UNKNOWN if missing(value) else str(value)
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


def check_baseline(baseline, path=None):
    if baseline in (None, ""):
        return None
    try:
        return parse_baseline(baseline)
    except BaselineError as exc:
        raise _error("kms_compliance_baseline%s: %s" % (" %s" % path if path else "", exc)) from None


def kms_compliance_report(
    keys,
    policy,
    exempt_keys=None,
    regions=None,
    skipped=None,
    accounts=None,
    exclude_accounts=None,
    now=None,
    baseline=None,
    run_id=None,
    secrets=None,
    instances=None,
):
    """Verdict, summary per account, region and rule, violations, exemptions, what was not assessed, every check.

    ``skipped`` is alicloud.kms.key_facts' list of accounts and account-regions it could not read: anything in it
    makes the verdict ``incomplete``. ``accounts`` (IDs, role ARNs or ``all``) names accounts that appear in the
    per-account summary even without keys, in that order, unless ``exclude_accounts`` names them. ``baseline``, an
    earlier kms-compliance.json (its text or parsed), adds ``changes``. ``run_id``, when given, is added.
    ``secrets`` and ``instances`` (alicloud.kms.secret_info's and instance_info's records) are what the rules on them
    judge; None means not gathered.
    """
    baseline = check_baseline(baseline)
    rules = check_policy(policy)
    exemptions = check_exemptions(exempt_keys)
    kinds = _kinds(keys, secrets, instances)
    keys = kinds["key"]
    every = [record for records in kinds.values() for record in records]
    not_assessed = check_skipped(skipped)
    excluded = set(_account_list(exclude_accounts, "exclude_accounts"))
    named_accounts = [a for a in _account_list(accounts, "accounts") if a not in excluded]
    checks = compliance_checks(keys, rules, exemptions, now, kinds.get("secret"), kinds.get("instance"))
    if isinstance(regions, str):
        regions = [regions]
    named = [r for r in (regions or ()) if r and r != "all"]
    order = list(dict.fromkeys(named + sorted(set(r.get("region") or "unknown" for r in every))))

    by_region = dict((r, _region_stats()) for r in order)
    by_account = _accounts(every, named, named_accounts, not_assessed)
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
                "config_rule": RULES[rule].config_rule_for(value),
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
            failing.setdefault((check["account_id"], check["region"]) + subject(check)[:2], check)
        elif check["status"] == EXEMPT:
            stats["exempted"] += 1
            for entry in counted:
                entry["exempted"] += 1
        else:
            stats["not_applicable"] += 1
    failing_by_kind = dict((kind, 0) for kind in RESOURCES)
    for (account_id, region, kind, _ident), check in failing.items():
        failing_by_kind[kind] += 1
        if kind == "key":
            for entry in _stats_of(by_region, by_account, account_id, region):
                entry["non_compliant_keys"] += 1
    for entry in list(by_region.values()) + [r for a in by_account.values() for r in a["by_region"].values()]:
        entry["key_state"] = _ordered(entry["key_state"], KEY_STATES)
        entry["key_spec"] = _ordered(entry["key_spec"])

    violations = [_violation(c) for c in checks if c["status"] == FAIL]
    exempted = [_violation(c, with_reason=True) for c in checks if c["status"] == EXEMPT]
    known = set(name for record in every for name in subject(record)[1:] if name)
    since = None
    if baseline is not None:
        every_account = "all" in [str(a).strip() for a in (accounts or ())]
        since = changes(
            baseline, keys, violations, regions, None if every_account else named_accounts, not_assessed, set(kinds)
        )
    report = {
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
            "non_compliant_keys": failing_by_kind["key"],
            "compliant_keys": len(keys) - failing_by_kind["key"],
            # secrets and instances: null when the run did not gather them (no rule judges them)
            "secret_count": len(kinds["secret"]) if "secret" in kinds else None,
            "non_compliant_secrets": failing_by_kind["secret"] if "secret" in kinds else None,
            "instance_count": len(kinds["instance"]) if "instance" in kinds else None,
            "non_compliant_instances": failing_by_kind["instance"] if "instance" in kinds else None,
            "not_assessed": len(not_assessed),
            "by_region": by_region,
            "by_account": by_account,
            "by_rule": by_rule,
        },
        "violations": violations,
        "exempted": exempted,
        "unused_exemptions": [_exempted(e) for e in exemptions if _exempted(e) not in known],
        "accounts": [_roster_entry(a) for a in by_account.values()],
        "not_assessed": not_assessed,
        "changes": since,
        "checks": checks,
    }
    if run_id is not None:
        report["run_id"] = run_id
    return report


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


def kms_compliance_documents(keys, policy, *args, **kwargs):
    """The role's run in one evaluation: ``result``, the report as kms_compliance_report returns it without checks
    (the role's fact), and what the reports repeat per key, rendered once: the JSON report's text, the JUnit test cases
    per rule, and the rows of the HTML report's tables (violations, exempted, keys and changes since the baseline).
    The arguments are kms_compliance_report's; now is required."""
    options = dict(zip(DOCUMENTS_ARGUMENTS, args))
    unknown = set(kwargs) - set(DOCUMENTS_ARGUMENTS)
    if len(args) > len(DOCUMENTS_ARGUMENTS) or unknown:
        raise _error("kms_compliance_documents takes %s after the policy" % ", ".join(DOCUMENTS_ARGUMENTS))
    options.update(kwargs)
    baseline_path = options.pop("baseline_path", None)
    remediation = options.pop("remediation", None)
    regions, accounts, exclude_accounts, now, run_id = (
        options.get(name) for name in ("regions", "accounts", "exclude_accounts", "now", "run_id")
    )
    if now is None:
        raise _error("kms_compliance_documents needs now, the report's time (the role passes it)")
    kinds = _kinds(keys, options.get("secrets"), options.get("instances"))
    keys = kinds["key"]
    options.update(secrets=kinds.get("secret"), instances=kinds.get("instance"))
    options["baseline"] = baseline = check_baseline(options.get("baseline"), baseline_path)
    report = kms_compliance_report(keys, policy, **options)
    report["remediation"] = remediation
    checks = report.pop("checks")
    across = bool(accounts)
    text = documents.json_report(
        report="alicloud.kms.compliance",
        format_version=1,
        run_id=run_id,
        generated_at=now,
        verdict=report["verdict"],
        regions_requested=list(regions or ()),
        accounts_requested=list(accounts or ()),
        accounts_excluded=list(exclude_accounts or ()),
        **dict((name, report[name]) for name in REPORT_PARTS),
        keys=keys,
        secrets=kinds.get("secret"),
        instances=kinds.get("instance"),
    )
    names = dict((identity(r), r) for records in kinds.values() for r in records)
    if baseline is not None:
        names.update((identity(k), k) for k in baseline["keys"] if identity(k) not in names)
    labels = dict(
        (a, documents.account_label(a, e["account_name"])) for a, e in report["summary"]["by_account"].items()
    )
    labels[""] = documents.account_label(None, None)  # the caller's account, when it is not known by ID
    summary = report["summary"]
    # the charts the page draws (per account and region, else per region) share one scale: 10 keys draw longer than 8
    charts = [r for a in summary["by_account"].values() for r in a["by_region"].values()] or summary[
        "by_region"
    ].values()
    counts = [n for chart in charts for kind in REPORT_FACETS for n in chart[kind].values()]
    return {
        "result": report,
        "bar_top": max(counts or [1]),
        "policy": documents.xml_escape(json.dumps(report["policy"], indent=2, ensure_ascii=False)),
        "accounts": labels,
        "json": text,
        "junit": documents.junit_testcases(checks, across, remediation),
        "html": documents.html_rows(checks, kinds, across),
        "changes": documents.html_changes(report["changes"], names, across) if report["changes"] else None,
        "remediation": documents.html_remediation(remediation, names, across) if remediation else None,
    }


kms_xml_escape = documents.xml_escape  # the filter, under its name


class FilterModule(object):
    """alicloud.kms compliance filters."""

    def filters(self):
        return {
            "kms_compliance_plan": compliance_plan,
            "kms_violations": kms_violations,
            "kms_compliance_report": kms_compliance_report,
            "kms_xml_escape": kms_xml_escape,
            "kms_compliance_documents": kms_compliance_documents,
        }
