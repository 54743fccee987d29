# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The per-key parts of the compliance role's reports, rendered here rather than in its templates.

An organisation's report has 20,000 keys and 80,000 checks: Ansible's templating costs tens of microseconds per
value it passes through (set_fact, loops, filter calls), which made a Jinja loop over the checks take minutes. The
templates keep the page and its summaries; the rows they repeat per key, check or change are rendered here, once,
as escaped text, and the JSON report is written with json.dumps.
"""

from __future__ import annotations

import json
import re

from ansible_collections.alicloud.kms.plugins.module_utils._rules import subject
from ansible_collections.alicloud.kms.plugins.plugin_utils._compliance_changes import identity

# Characters XML 1.0 does not allow (section 2.2): C0 controls but tab, newline and carriage return, lone
# surrogates, U+FFFE and U+FFFF. Escaping cannot express them (&#1; is not well-formed either).
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_XML_SPECIAL = re.compile("[&<>\"']")
_XML_ANY = re.compile("%s|%s" % (_XML_FORBIDDEN.pattern, _XML_SPECIAL.pattern))


def xml_escape(value):
    """value as XML 1.0 (and HTML) text or attribute: forbidden characters become U+FFFD, markup is escaped."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not _XML_ANY.search(text):  # most values: nothing to do (a report has hundreds of thousands of them)
        return text
    text = _XML_FORBIDDEN.sub("\ufffd", text)
    return _XML_SPECIAL.sub(lambda match: _XML_ESCAPES[match.group(0)], text)


def json_report(**fields):
    """kms-compliance.json: the fields in the order given (the schema's), two-space indented."""
    return json.dumps(fields, indent=2, ensure_ascii=False) + "\n"


def key_name(entry):
    """How people know a key, beside its ID: "alias (description)", its first alias or its description alone, when
    gathered (a record has aliases, a check its first alias); "" when neither is known."""
    alias = entry.get("alias") or (entry.get("aliases") or [None])[0]
    description = entry.get("description")
    if alias and description:
        return "%s (%s)" % (alias, description)
    return str(alias or description or "")


def arn_html(arn):
    """An ARN as HTML that wraps only after its ':' and '/' separators, never inside a field (a key ID's hyphens)."""
    fields = re.findall("[^:/]*[:/]?", xml_escape(arn))
    return '<code class="arn">%s</code>' % "<wbr>".join("<span>%s</span>" % field for field in fields if field)


# --- JUnit -----------------------------------------------------------------------------------------------------------


def remediation_text(entry):
    """What a remediation entry did (or would do), in one line: "applied: automatic_rotation Disabled -> Enabled"."""
    change = ", ".join("%s %s -> %s" % (field, old, new) for field, (old, new) in entry["change"].items())
    text = "%s: %s" % (REMEDIATION_STATUS[entry["status"]], change or "no change")
    if entry.get("code"):
        text += " (%s: %s%s)" % (
            entry["code"],
            entry.get("message") or "",
            ", RequestId %s" % entry["request_id"] if entry.get("request_id") else "",
        )
    return text


# a remediation entry's status, as the reports say it
REMEDIATION_STATUS = {"applied": "fixed in this run", "planned": "would fix", "failed": "could not fix"}


def _remediated(remediation):
    return dict(((e["account_id"], e["region"], e["key_id"], e["rule"]), e) for e in remediation or ())


def junit_testcases(checks, across_accounts, remediation=None):
    """{rule: the <testcase> elements of its testsuite}: one per key (secret, instance), a <failure> when it breaks
    the rule, a <skipped> when it is exempt or the rule does not apply. The name is "rule: key ID - alias
    (description)" (a secret's name, an instance's ID). A case the run remediated (or would) says so in its
    <system-out>."""
    cases, remediated = {}, _remediated(remediation)
    for check in checks:
        rule = check["rule"]
        _kind, ident, arn = subject(check)
        key_id, region = xml_escape(ident), xml_escape(check["region"])
        account = ""
        classname = "kms.%s" % region
        if across_accounts:
            classname = "kms.%s.%s" % (xml_escape(check["account_id"] or "unknown"), region)
            account = " of account %s" % xml_escape(check["account_id"])
            if check["account_name"]:
                account += " (%s)" % xml_escape(check["account_name"])
        name = key_name(check)
        head = '    <testcase classname="%s" name="%s: %s%s" time="0"' % (
            classname,
            rule,
            key_id,
            " - %s" % xml_escape(name) if name else "",
        )
        status = check["status"]
        entry = remediated.get((check["account_id"], check["region"], check.get("key_id"), rule))
        out = "      <system-out>%s</system-out>\n" % xml_escape(remediation_text(entry)) if entry else ""
        if status == "pass" and not out:
            text = head + "/>\n"
        elif status == "pass":
            text = "%s>\n%s    </testcase>\n" % (head, out)
        else:
            actual, expected = xml_escape(check["actual"] or "unknown"), xml_escape(check["expected"])
            note = xml_escape(check["note"])
            if status == "fail":
                body = (
                    '      <failure type="%s" message="%s: %s, expected %s">%s in %s%s breaks %s: actual %s, expected %s%s</failure>'
                    % (
                        rule,
                        key_id,
                        actual,
                        expected,
                        xml_escape(arn or ident),
                        region,
                        account,
                        rule,
                        actual,
                        expected,
                        " (%s)" % note if note else "",
                    )
                )
            else:
                body = '      <skipped message="%s: %s"/>' % (
                    "exempt" if status == "exempt" else "not applicable",
                    note,
                )
            text = "%s>\n%s\n%s    </testcase>\n" % (head, body, out)
        cases.setdefault(rule, []).append(text)
    return dict((rule, "".join(parts)) for rule, parts in cases.items())


# --- HTML ------------------------------------------------------------------------------------------------------------


def account_label(account_id, account_name):
    """An account as HTML: its display name and ID, its ID, or the caller's account."""
    if account_name:
        return "%s <code>%s</code>" % (xml_escape(account_name), xml_escape(account_id))
    if account_id:
        return "<code>%s</code>" % xml_escape(account_id)
    return "the caller&#39;s account"


def _cells(entry, across_accounts):
    """The cells every row about a key (secret, instance) starts with: region, key ID (secret name, instance ID),
    name (alias (description), a secret's description), account."""
    name = key_name(entry)
    cells = '<td class="region">%s</td><td><code>%s</code></td><td class="key-name">%s</td>' % (
        xml_escape(entry.get("region")),
        xml_escape(subject(entry)[1]),
        xml_escape(name) if name else '<span class="none">-</span>',
    )
    if across_accounts:
        cells += "<td>%s</td>" % account_label(entry.get("account_id"), entry.get("account_name"))
    return cells


def _actual(value):
    return '<span class="none">unknown</span>' if value in (None, "unknown") else xml_escape(value)


def _row(entry, across_accounts, *cells):
    """One <tr>: the cells about the key, then cells (HTML already)."""
    return "<tr>%s%s</tr>\n" % (_cells(entry, across_accounts), "".join("<td>%s</td>" % cell for cell in cells))


def _code(value):
    return "<code>%s</code>" % xml_escape(value)


# the columns of the keys, secrets and instances tables after the record's own
COLUMNS = {
    "key": ("key_state", "key_spec", "key_usage", "protection_level", "creator_type"),
    "secret": ("secret_type", "automatic_rotation", "last_rotation_date", "create_time"),
    "instance": ("status", "spec", "zone_ids", "end_date"),
}
# kind -> its table in html_rows
TABLES = {"key": "keys", "secret": "secrets", "instance": "instances"}


def _column(value):
    return ", ".join(value) if isinstance(value, list) else str(value if value is not None else "")


def html_rows(checks, kinds, across_accounts):
    """{violations, exempted, keys, secrets, instances}: the <tr> rows of the HTML report's long tables (secrets and
    instances None when they were not gathered). kinds: {key, secret, instance: records}."""
    violations, exempted = [], []
    for check in checks:
        cells = (_code(check["rule"]), _actual(check["actual"]), xml_escape(check["expected"]))
        if check["status"] == "fail":
            arn = subject(check)[2]
            violations.append(_row(check, across_accounts, *cells, arn_html(arn) if arn else ""))
        elif check["status"] == "exempt":
            exempted.append(_row(check, across_accounts, *cells, xml_escape(check["note"])))
    rows = {"violations": "".join(violations), "exempted": "".join(exempted), "secrets": None, "instances": None}
    for kind, records in kinds.items():
        rows[TABLES[kind]] = "".join(
            _row(r, across_accounts, *(xml_escape(_column(r.get(field))) for field in COLUMNS[kind])) for r in records
        )
    return rows


def html_remediation(remediation, names, across_accounts):
    """{applied, planned, failed}: <tr> rows of the remediation section, per status. names as for html_changes."""
    rows = dict((status, []) for status in REMEDIATION_STATUS)
    for entry in remediation:
        known = names.get(identity(entry)) or {}
        change = "<br>".join(
            "%s: %s &rarr; %s" % (xml_escape(field), xml_escape(old), xml_escape(new))
            for field, (old, new) in entry["change"].items()
        )
        problem = xml_escape(remediation_text(entry).split(" (", 1)[1][:-1]) if entry.get("code") else ""
        rows[entry["status"]].append(_row(dict(known, **entry), across_accounts, _code(entry["rule"]), change, problem))
    return dict((status, "".join(found)) for status, found in rows.items())


def html_changes(changes, names, across_accounts):
    """{new_violations, resolved_violations, new_keys, removed_keys, changed_keys}: <tr> rows of the "Since" section.
    names: identity (account_id, region, key ID or (kind, ID)) -> the record, for its alias and description."""

    def row(entry, *cells):
        known = names.get(identity(entry)) or {}
        return _row(dict(known, **entry), across_accounts, *cells)

    rows = dict(
        (part, "".join(row(e, _code(e["rule"])) for e in changes[part]))
        for part in ("new_violations", "resolved_violations")
    )
    rows.update((part, "".join(row(e) for e in changes[part])) for part in ("new_keys", "removed_keys"))
    rows["changed_keys"] = "".join(
        row(
            e,
            "<br>".join(
                "%s: %s &rarr; %s" % (field, xml_escape(old), xml_escape(new))
                for field, (old, new) in e["changes"].items()
            ),
        )
        for e in changes["changed_keys"]
    )
    return rows
