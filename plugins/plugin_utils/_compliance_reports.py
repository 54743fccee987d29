# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The compliance check's output: the three reports written as a set, the verdict in lines, what fails the run.

The templates are the role's (roles/compliance/templates), rendered with plain Jinja2 and the one filter they use:
every value they show is data passed in as a variable, never a template, and Ansible's templating of a page with
20,000 keys would cost seconds.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import jinja2

from ansible_collections.alicloud.kms.plugins.plugin_utils._compliance_documents import xml_escape

# the report files, in the order they are written and moved into place
REPORTS = ("kms-compliance.json", "kms-compliance.xml", "kms-compliance.html")
TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "compliance", "templates")
# tables of the HTML report longer than this are collapsed: the page of 20,000 keys opens fast
OPEN_ROWS = 500
REPORT_MODE, DIRECTORY_MODE = 0o640, 0o750
# the reports as the verdict names them, the page people open first
_KINDS = (("HTML", REPORTS[2]), ("JSON", REPORTS[0]), ("JUnit", REPORTS[1]))


def _environment():
    # as ansible.builtin.template renders: blocks trimmed, the final newline kept, undefined names an error
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        trim_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        autoescape=False,
    )
    environment.filters["alicloud.kms.kms_xml_escape"] = xml_escape
    return environment


def render(variables):
    """{file name: text} of the three reports."""
    environment = _environment()
    return dict((name, environment.get_template(name + ".j2").render(variables)) for name in REPORTS)


def write_set(directory, texts):
    """Write the reports into a temporary directory inside directory, then move each into place: all three or, on a
    failure, the previous run's as they were. The temporary directory always goes. Missing directories are made 0750
    whatever the umask; an existing one keeps its mode."""
    _make_directories(directory)
    for name in REPORTS:  # a move must not fail halfway through the set
        path = os.path.join(directory, name)
        if os.path.lexists(path) and not os.path.isfile(path):
            raise ReportError("%s exists and is not a file" % path)
    staging = tempfile.mkdtemp(prefix=".kms-compliance-", dir=directory)
    try:
        for name in REPORTS:
            path = os.path.join(staging, name)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, REPORT_MODE), "w", encoding="utf-8") as out:
                out.write(texts[name])
            os.chmod(path, REPORT_MODE)
        for name in REPORTS:
            os.replace(os.path.join(staging, name), os.path.join(directory, name))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dict((name, os.path.join(directory, name)) for name in REPORTS)


def _make_directories(directory):
    missing = []
    while not os.path.isdir(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for path in reversed(missing):
        os.mkdir(path, DIRECTORY_MODE)
        os.chmod(path, DIRECTORY_MODE)


class ReportError(Exception):
    """The reports cannot be written where they belong."""


def not_assessed_text(result):
    """What was not assessed, in one line."""
    return ", ".join(
        "%s%s: %s"
        % (
            "account %s" % e["account_id"] if e["account_id"] else "the caller's account",
            " region %s" % e["region"] if e["region"] else "",
            e["code"],
        )
        for e in result["not_assessed"]
    )


def _counted(summary, non_compliant=False):
    """What was judged, in words: 30 key(s), and 11 secret(s), 2 instance(s) when the run gathered them (all of
    them, or the non-compliant ones)."""
    parts = [("non_compliant_keys" if non_compliant else "key_count", "key(s)")]
    parts += [
        ("non_compliant_%ss" % kind if non_compliant else "%s_count" % kind, "%s(s)" % kind)
        for kind in ("secret", "instance")
        if summary.get("%s_count" % kind) is not None
    ]
    return ", ".join("%d %s" % (summary[field], what) for field, what in parts)


def verdict_lines(result, across_accounts, baseline, directory):
    """The verdict as the role prints it: counts, run ID, changes, accounts, what was not assessed, rules, files."""
    summary, changes = result["summary"], result["changes"]
    line = "KMS compliance: %s - %d violation(s)%s in %s, %d region(s), %d rule(s)%s%s" % (
        result["verdict"].upper().replace("_", "-"),
        summary["violations"],
        " (%d exempted)" % summary["exempted"] if summary["exempted"] else "",
        _counted(summary),
        summary["region_count"],
        len(summary["rules"]),
        ", %d account(s)" % summary["account_count"] if across_accounts else "",
        ", %d not assessed" % summary["not_assessed"] if summary["not_assessed"] else "",
    )
    if changes:
        since = "Since %s: %d new violation(s), %d resolved, %d new key(s), %d removed, %d changed" % (
            changes["baseline"]["generated_at"],
            len(changes["new_violations"]),
            len(changes["resolved_violations"]),
            len(changes["new_keys"]),
            len(changes["removed_keys"]),
            len(changes["changed_keys"]),
        )
    elif baseline:
        since = "Since: no baseline at %s yet (a first run), no changes reported" % baseline
    else:
        since = "Since: no baseline (kms_compliance_baseline), no changes reported"
    accounts = "; ".join(
        "%s%s%s"
        % (
            a["account_id"],
            " (%s)" % a["account_name"] if a["account_name"] else "",
            ": %d key(s), %d violation(s)" % (a["key_count"], a["violations"]) if a["assessed"] else ": not assessed",
        )
        for a in summary["by_account"].values()
    )
    rules = ", ".join("%s=%d" % (rule, stats["violations"]) for rule, stats in summary["by_rule"].items())
    fixes = result.get("remediation")
    if fixes is None:
        fixed = "Remediation: none asked for (kms_compliance_remediate)"
    else:
        counts = dict((s, sum(1 for e in fixes if e["status"] == s)) for s in ("applied", "planned", "failed"))
        fixed = "Remediation: %d fixed in this run, %d would fix (check mode), %d could not fix" % (
            counts["applied"],
            counts["planned"],
            counts["failed"],
        )
    return [
        line,
        "Run ID: %s" % result["run_id"],
        since,
        "By account: %s" % (accounts or "no keys"),
        "Not assessed: %s" % (not_assessed_text(result) or "nothing"),
        "By rule: %s" % (rules or "no rules"),
        fixed,
    ] + ["%s report: %s" % (kind, os.path.join(directory, name)) for kind, name in _KINDS]


def failure(result, fail_on, directory):
    """Why the run fails, or None: anything not assessed; violations (fail_on any) or new ones (fail_on new)."""
    summary, verdict = result["summary"], result["verdict"]
    new = (result["changes"] or {}).get("new_violations") or []
    see = "; see %s" % os.path.join(directory, "kms-compliance.html")
    if verdict == "incomplete":
        return (
            "KMS compliance: INCOMPLETE - not assessed: %s; %d violation(s) of the policy in %s of what was "
            "assessed%s" % (not_assessed_text(result), summary["violations"], _counted(summary, True), see)
        )
    if verdict != "non_compliant":
        return None
    if fail_on == "new":
        if not new:
            return None
        return "KMS compliance: %d new violation(s) since %s (%s), of %d in all%s" % (
            len(new),
            result["changes"]["baseline"]["generated_at"],
            ", ".join(dict.fromkeys(v["rule"] for v in new)),
            summary["violations"],
            see,
        )
    by_rule = ", ".join(
        "%s: %d" % (rule, stats["violations"]) for rule, stats in summary["by_rule"].items() if stats["violations"]
    )
    return "KMS compliance: %d violation(s) of the policy in %s (%s)%s" % (
        summary["violations"],
        _counted(summary, True),
        by_rule,
        see,
    )
