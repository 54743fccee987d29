"""What changed since a baseline report, and the ratchet (fail only on new violations), through the role.

The demo account's cn-hangzhou keys under a policy of two rules; between two runs a key is fixed, one is enabled, one
is added, one is removed and one is exempted. The expected changes are written out by hand from the demo seed.
"""

from __future__ import annotations

import re
import shutil
from xml.etree import ElementTree

import jsonschema
import pytest

from conftest import SCHEMA, browse

HZ, SH = "cn-hangzhou", "cn-shanghai"
ACCOUNT = "1234567890123456"
POLICY = {"forbidden_states": ["PendingDeletion"], "require_deletion_protection": True}
DP = "require_deletion_protection"
# the baseline's violations: the key pending deletion, and the Enabled keys of the account without deletion protection
BEFORE = {
    ("retired reporting", "forbidden_states"),
    ("payments signing", DP),
    ("customer PII envelope", DP),
    ("jwt issuer", DP),
    ("guomi archive", DP),
    ("guomi e-invoice signing", DP),
    ("ledger signing", DP),
}


def ids(emu, region=HZ):
    """description -> key ID of the demo account's keys in region (the seed names keys by description)."""
    return dict((k.description, k.key_id) for k in emu.backend.accounts[ACCOUNT].keys.get(region, []))


def described(entries, *reports):
    """Entries (changes, violations) as descriptions, or (description, rule) for violations; the reports' keys give the
    descriptions (the baseline's for a removed key)."""
    names = dict((k["key_id"], k.get("description")) for report in reports for k in report["keys"])
    return set((names[e["key_id"]], e["rule"]) if "rule" in e else names[e["key_id"]] for e in entries)


def baseline(ansible, report_dir=None, regions=(HZ,)):
    """A first run's report, copied aside as the next run's baseline; returns (its path, the report)."""
    result, report = ansible.role(POLICY, regions=list(regions), report_dir=report_dir)
    assert result.rc == 0, result.stdout
    path = ansible.tmp / "baseline.json"
    shutil.copy(str(ansible.tmp / "report" / "kms-compliance.json"), str(path))
    return path, report


def change_the_keys(emu):
    """Fix one key, enable one, add one, remove one (the exemption of jwt issuer comes with the second run)."""
    keys = ids(emu)
    emu.update_key(HZ, keys["payments signing"], deletion_protection="Enabled")
    emu.update_key(HZ, keys["legacy batch jobs"], key_state="Enabled")
    emu.add_keys(HZ, [{"description": "partner api v2"}])
    emu.remove_key(HZ, keys["guomi archive"])
    return keys


def test_changes_since_the_baseline_in_json_html_and_junit(ansible, emulator):
    path, first = baseline(ansible)
    assert described(first["violations"], first) == BEFORE and first["changes"] is None
    old = change_the_keys(emulator)
    exempt = [{"key_id": old["jwt issuer"], "reason": "SEC-77: retiring", "rules": [DP]}]
    result, report = ansible.role(POLICY, exempt, regions=[HZ], baseline=str(path))
    assert result.rc == 0, result.stdout
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    changes = report["changes"]
    assert changes["baseline"] == {"generated_at": first["generated_at"], "run_id": first["run_id"]}
    assert described(changes["new_keys"], report) == {"partner api v2"}
    assert described(changes["removed_keys"], first) == {"guomi archive"}
    assert described(changes["new_violations"], report) == {("partner api v2", DP), ("legacy batch jobs", DP)}
    assert described(changes["resolved_violations"], first) == {
        ("payments signing", DP),  # fixed
        ("jwt issuer", DP),  # exempted
        ("guomi archive", DP),  # gone
    }
    assert dict((e["key_id"], e["changes"]) for e in changes["changed_keys"]) == {
        old["payments signing"]: {"deletion_protection": ["Disabled", "Enabled"]},
        old["legacy batch jobs"]: {"key_state": ["Disabled", "Enabled"]},
    }
    every = changes["new_keys"] + changes["removed_keys"] + changes["new_violations"] + changes["resolved_violations"]
    assert all(e["account_id"] == ACCOUNT and e["region"] == HZ and e["key_arn"].endswith(e["key_id"]) for e in every)
    assert "Since %s: 2 new violation(s), 3 resolved, 1 new key(s), 1 removed, 2 changed" % first["generated_at"] in (
        result.stdout
    )

    html = (ansible.tmp / "report" / "kms-compliance.html").read_text()
    assert html.index('<section id="changes"') < html.index('class="totals"')  # first
    assert "<h2>Since %s</h2>" % first["generated_at"] in html
    for part, count in (("new-violations", 2), ("resolved-violations", 3), ("new-keys", 1), ("removed-keys", 1)):
        table = html.split('id="changes-%s">' % part, 1)[1].split("</table>", 1)[0]
        assert table.count("<tr>") == count + 1, part  # and the heading
    changed = html.split('id="changes-changed-keys">', 1)[1].split("</table>", 1)[0]
    assert "key_state: Disabled &rarr; Enabled" in changed and "deletion_protection: Disabled &rarr; Enabled" in changed
    removed = html.split('id="changes-removed-keys">', 1)[1].split("</table>", 1)[0]
    assert "guomi archive" in removed  # named from the baseline, the key being gone

    # in a browser: the section renders first, its five tables sort like the others
    dom = browse(ansible.tmp / "report" / "kms-compliance.html", ansible.tmp, "--dump-dom").stdout
    assert dom.index('id="changes"') < dom.index('id="total-keys"')
    for part in ("new-violations", "resolved-violations", "new-keys", "removed-keys", "changed-keys"):
        assert re.search(r'<table class="sortable" id="changes-%s" data-sortable="ready">' % part, dom), part
    assert dom.count('data-sortable="ready"') == 9  # and rules, violations, exempted, keys

    # keys are named the way people know them: "alias (description)" beside the ID, the description alone without alias
    cases = [
        c.get("name") for c in ElementTree.parse(str(ansible.tmp / "report" / "kms-compliance.xml")).iter("testcase")
    ]
    assert "forbidden_states: %s - retired reporting" % old["retired reporting"] in cases
    assert "%s: %s - alias/card-signing (payments signing)" % (DP, old["payments signing"]) in cases
    assert '<td><code>%s</code></td><td class="key-name">alias/jwt-issuer (jwt issuer)</td>' % old["jwt issuer"] in html


def test_fail_on_new_fails_only_on_violations_the_baseline_did_not_have(ansible, emulator):
    path, first = baseline(ansible)
    # nothing new: the seven violations are the backlog, the run passes
    result, report = ansible.role(POLICY, fail=True, regions=[HZ], baseline=str(path), fail_on="new")
    assert result.rc == 0, result.stdout
    assert report["verdict"] == "non_compliant" and len(report["violations"]) == 7
    assert report["changes"]["new_violations"] == []
    # two new ones fail it, after the reports are written, naming them
    change_the_keys(emulator)
    result, report = ansible.role(POLICY, fail=True, regions=[HZ], baseline=str(path), fail_on="new")
    assert result.rc == 2, result.stdout
    assert "KMS compliance: 2 new violation(s) since %s (%s), of 7 in all" % (first["generated_at"], DP) in (
        result.stdout
    )
    assert len(report["changes"]["new_violations"]) == 2
    # fail_on any fails on the backlog as before
    result, _report = ansible.role(POLICY, fail=True, regions=[HZ], baseline=str(path))
    assert result.rc == 2 and "KMS compliance: 7 violation(s) of the policy in 7 key(s)" in result.stdout


def test_a_missing_baseline_fails_fail_on_new_before_any_request_and_is_a_first_run_otherwise(ansible, emulator):
    missing = ansible.tmp / "no-such.json"
    result, report = ansible.role(POLICY, regions=[HZ], baseline=str(missing), fail_on="new")
    assert result.rc == 2 and report is None
    assert "kms_compliance_fail_on is new, so kms_compliance_baseline must name a readable" in result.stdout
    assert "%s does not exist" % missing in result.stdout
    assert emulator.stats()["total"] == 0
    result, report = ansible.role(POLICY, regions=[HZ], fail_on="new")
    assert result.rc == 2 and "(it is empty)" in result.stdout and emulator.stats()["total"] == 0
    # with fail_on any, a baseline not written yet is a first run: no changes
    result, report = ansible.role(POLICY, regions=[HZ], baseline=str(missing))
    assert result.rc == 0 and report["changes"] is None
    assert "Since: no baseline at %s yet (a first run), no changes reported" % missing in result.stdout


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "kms_compliance_baseline: not JSON"),
        ('{"report": "something else", "keys": [], "violations": []}', "not a kms-compliance.json report"),
        ('{"report": "alicloud.kms.compliance", "keys": {}, "violations": []}', "its keys is not a list"),
        # entries the role cannot compare: a key ID that is a list, a rule it does not have; and JSON too deep to parse
        (
            '{"report": "alicloud.kms.compliance", "keys": [{"key_id": ["x"]}], "violations": []}',
            "kms_compliance_baseline: keys[0].key_id is not a KMS key ID or null (got a list)",
        ),
        (
            '{"report": "alicloud.kms.compliance", "keys": [], "violations": [{"key_id": "k1", "rule": {}}]}',
            "kms_compliance_baseline: violations[0].rule is not a rule of this role (got a dict)",
        ),
        (
            '{"report": "alicloud.kms.compliance", "keys": %s, "violations": []}' % ("[" * 100000 + "]" * 100000),
            "kms_compliance_baseline: nested too deeply to be a kms-compliance.json",
        ),
    ],
)
def test_a_baseline_that_is_not_a_report_fails_the_role(ansible, content, message):
    path = ansible.tmp / "bad.json"
    path.write_text(content)
    result, _report = ansible.role(POLICY, regions=[HZ], baseline=str(path))
    # the message names the file (issue 21 item 12)
    message = message.replace("kms_compliance_baseline:", "kms_compliance_baseline %s:" % path)
    assert result.rc == 2 and message in result.stdout, result.stdout


def test_keys_of_regions_not_asked_for_are_not_removed(ansible, emulator):
    path, first = baseline(ansible, regions=(HZ, SH))
    assert {k["region"] for k in first["keys"]} == {HZ, SH}
    emulator.remove_key(HZ, ids(emulator)["jwt issuer"])
    result, report = ansible.role(POLICY, regions=[HZ], baseline=str(path))
    assert result.rc == 0, result.stdout
    # only the key taken away: the Shanghai keys were not looked at, so neither gone nor resolved
    assert described(report["changes"]["removed_keys"], first) == {"jwt issuer"}
    assert described(report["changes"]["resolved_violations"], first) == {("jwt issuer", DP)}
    assert report["changes"]["new_keys"] == [] and report["changes"]["changed_keys"] == []
