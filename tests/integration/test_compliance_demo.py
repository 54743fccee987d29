"""The ready playbooks and the compliance role over every account, against the demo seed's Resource Directory.

The expected counts are written out by hand from tests/emulator/seeds/demo.yml.
"""

from __future__ import annotations

import json
import os
import re
from xml.etree import ElementTree

import jsonschema

from conftest import BIN, DEMO_KEY, ROOT, SCHEMA, run_ids, truth

# --- the ready playbooks ----------------------------------------------------------------------------


def run_playbook(ansible, name, *args):
    env = {"KMS_EMULATOR_URL": ansible.emu.url, "ALICLOUD_ACCESS_KEY": DEMO_KEY[0], "ALICLOUD_SECRET_KEY": DEMO_KEY[1]}
    return ansible.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(ROOT / "playbooks" / "inventory" / "localhost.yml"),
            str(ROOT / "playbooks" / name),
        ]
        + list(args),
        env=env,
    )


def test_compliance_check_playbook_with_the_example_policy(ansible, emulator):
    policy = ROOT / "playbooks" / "vars" / "policy.example.yml"
    proc = run_playbook(
        ansible, "compliance_check.yml", "-e", "@%s" % policy, "-e", "kms_compliance_fail_on_violation=false"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report_dir = ansible.tmp / "kms-compliance-report"  # the policy's relative directory, from the current one
    report = json.loads((report_dir / "kms-compliance.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert "KMS compliance: NON-COMPLIANT - %d violation(s)" % len(report["violations"]) in proc.stdout
    assert "HTML report: %s" % (report_dir / "kms-compliance.html") in proc.stdout
    doomed = [
        k
        for region in ("cn-hangzhou", "cn-shanghai", "ap-southeast-1")
        for k in truth(emulator, region, key_state={"PendingDeletion"})
    ]
    broken = [v["key_id"] for v in report["violations"] if v["rule"] == "forbidden_states"]
    assert len(doomed) == 3 and broken == [k.key_id for k in doomed[1:]]  # the first is exempted in the example
    assert [e["key_id"] for e in report["exempted"] if e["rule"] == "forbidden_states"] == [doomed[0].key_id]
    assert [v["actual"] for v in report["violations"] if v["rule"] == "allowed_specs"] == ["EC_P256K"]

    proc = run_playbook(ansible, "compliance_check.yml", "-e", "@%s" % policy)  # the example fails on violations
    assert proc.returncode == 2 and "violation(s) of the policy" in proc.stdout


def test_inventory_report_playbook(ansible, emulator):
    proc = run_playbook(ansible, "inventory_report.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((ansible.tmp / "kms-compliance-report" / "inventory" / "kms-compliance.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["verdict"] == "compliant" and report["summary"]["rules"] == [] and report["violations"] == []
    expected = dict(
        (region, len(truth(emulator, region))) for region in ("cn-hangzhou", "cn-shanghai", "ap-southeast-1")
    )
    assert dict((r, s["key_count"]) for r, s in report["summary"]["by_region"].items()) == expected
    assert report["summary"]["by_region"]["cn-shanghai"]["key_state"] == {
        "Enabled": 8,
        "Disabled": 1,
        "PendingDeletion": 1,
    }
    assert "cn-hangzhou: %d key(s); per state" % expected["cn-hangzhou"] in proc.stdout
    html = (ansible.tmp / "kms-compliance-report" / "inventory" / "kms-compliance.html").read_text()
    assert "<h1>KMS key inventory (no rules checked)</h1>" in html and html.count("<svg") == 6
    assert os.path.getsize(ansible.tmp / "kms-compliance-report" / "inventory" / "kms-compliance.xml") > 0


# --- every account of the organisation (issue 13): the demo seed's Resource Directory --------------------------------

MANAGEMENT, STAGING, PAYMENTS, DATA = "1234567890123456", "9876543210987654", "2222333344445555", "3333444455556666"
SANDBOX, LEGACY = "4444555566667777", "7777888899990000"
ORG_REGIONS = ["cn-hangzhou", "cn-shanghai", "ap-southeast-1"]
# Written out by hand from tests/emulator/seeds/ansible.yml for ORG_REGIONS and forbidden_states [PendingDeletion]:
# account -> (display name, {region: (keys, violations)}). acme-data-platform's other keys are in cn-beijing and
# cn-shenzhen, acme-staging's in cn-beijing: not asked for.
ORG = {
    MANAGEMENT: (
        "acme-management",
        {"cn-hangzhou": (14, 1), "cn-shanghai": (10, 1), "ap-southeast-1": (6, 1)},  # retired reporting, crm, sg test
    ),
    PAYMENTS: ("acme-payments-prod", {"cn-hangzhou": (3, 0), "cn-shanghai": (2, 0), "ap-southeast-1": (2, 1)}),
    DATA: ("acme-data-platform", {"cn-hangzhou": (1, 0), "cn-shanghai": (0, 0), "ap-southeast-1": (0, 0)}),
    STAGING: ("acme-staging", {"cn-hangzhou": (1, 0), "cn-shanghai": (0, 0), "ap-southeast-1": (0, 0)}),
}
NOT_ASSESSED = {SANDBOX: "CreateVerifying", LEGACY: "NoPermission"}
DOOMED = {"forbidden_states": ["PendingDeletion"]}


def per_account(report):
    return dict(
        (
            account_id,
            (a["account_name"], dict((r, (s["key_count"], s["violations"])) for r, s in a["by_region"].items())),
        )
        for account_id, a in report["summary"]["by_account"].items()
        if a["assessed"]
    )


def test_all_accounts_report_per_account_and_list_what_was_not_assessed(ansible):
    result, report = ansible.role(DOOMED, regions=ORG_REGIONS, accounts=["all"])
    assert result.rc == 0, result.stdout + result.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["verdict"] == "incomplete"  # and so is the fact: compliance_role.yml checks
    assert per_account(report) == ORG
    by_account = report["summary"]["by_account"]
    assert list(by_account) == sorted(by_account)  # [all] names no account: by ID
    assert [(a, by_account[a]["key_count"], by_account[a]["violations"]) for a in ORG] == [
        (MANAGEMENT, 30, 3),
        (PAYMENTS, 7, 1),
        (DATA, 1, 0),
        (STAGING, 1, 0),
    ]
    summary = report["summary"]
    assert (summary["key_count"], summary["violations"], summary["account_count"], summary["not_assessed"]) == (
        39,
        4,
        4,
        2,
    )
    assert summary["by_region"]["cn-hangzhou"]["key_count"] == 14 + 3 + 1 + 1
    assert by_account[MANAGEMENT]["by_region"]["cn-hangzhou"]["key_state"] == {
        "Enabled": 10,
        "Disabled": 2,
        "PendingDeletion": 1,
        "PendingImport": 1,
    }
    # the two members that could not be read: listed, not counted as assessed accounts with no keys
    for account_id, code in NOT_ASSESSED.items():
        entry = by_account[account_id]
        assert (entry["assessed"], entry["key_count"], entry["by_region"]) == (False, 0, {})
        assert [(e["region"], e["code"]) for e in entry["not_assessed"]] == [(None, code)]
    not_assessed = dict((e["account_id"], e) for e in report["not_assessed"])
    assert set(not_assessed) == set(NOT_ASSESSED) and len(report["not_assessed"]) == 2
    assert dict((a, e["code"]) for a, e in not_assessed.items()) == NOT_ASSESSED
    assert all(e["region"] is None for e in report["not_assessed"])
    assert not_assessed[LEGACY]["request_id"] and not_assessed[LEGACY]["message"]
    assert not_assessed[SANDBOX]["request_id"] is None
    assert [(a["account_id"], a["account_name"], a["assessed"]) for a in report["accounts"]] == [
        (MANAGEMENT, "acme-management", True),
        (PAYMENTS, "acme-payments-prod", True),
        (DATA, "acme-data-platform", True),
        (SANDBOX, None, False),
        (LEGACY, None, False),
        (STAGING, "acme-staging", True),
    ]
    assert report["accounts_requested"] == ["all"]
    # every violation is a doomed key of the account its ARN names
    assert sorted(v["key_arn"].split(":")[3] for v in report["violations"]) == [MANAGEMENT] * 3 + [PAYMENTS]
    assert {(k["account_id"], k["account_name"]) for k in report["keys"]} == {(a, ORG[a][0]) for a in ORG}
    # the verdict, said in the job log
    assert (
        "KMS compliance: INCOMPLETE - 4 violation(s) in 39 key(s), 3 region(s), 1 rule(s), 4 account(s), 2 not assessed"
        in result.stdout
    )
    assert "account %s: CreateVerifying" % SANDBOX in result.stdout
    assert "account %s: NoPermission" % LEGACY in result.stdout
    assert "%s (acme-payments-prod): 7 key(s), 1 violation(s)" % PAYMENTS in result.stdout

    report_dir = ansible.tmp / "report"
    root = ElementTree.parse(report_dir / "kms-compliance.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("41", "4", "2")
    suites = dict((s.get("name"), s) for s in root.findall("testsuite"))
    assert list(suites) == ["kms-compliance.forbidden_states", "kms-compliance.not_assessed"]
    failing = sorted(c.get("classname") for c in root.iter("testcase") if c.find("failure") is not None)
    assert failing == sorted(
        ["kms.%s.ap-southeast-1" % PAYMENTS] + ["kms.%s.%s" % (MANAGEMENT, r) for r in ORG_REGIONS]
    )
    errors = dict((c.get("name"), c.find("error")) for c in suites["kms-compliance.not_assessed"].findall("testcase"))
    assert sorted(errors) == ["not assessed: account %s" % SANDBOX, "not assessed: account %s" % LEGACY]
    assert errors["not assessed: account %s" % LEGACY].get("type") == "NoPermission"
    assert "RequestId: %s" % not_assessed[LEGACY]["request_id"] in errors["not assessed: account %s" % LEGACY].text
    assert len(set(run_ids(report_dir))) == 1

    html = (report_dir / "kms-compliance.html").read_text()
    assert "<h1>KMS key compliance: INCOMPLETE</h1>" in html and 'data-verdict="incomplete"' in html
    sections = re.findall(r'<section class="account[^"]*" id="account-(\d+)"[^>]*data-assessed="(\w+)"', html)
    assert sections == [(a["account_id"], str(a["assessed"]).lower()) for a in report["accounts"]]
    assert html.count("<svg") == 2 * 3 * 4  # state and spec, three regions, four accounts read
    assert 'id="region-%s-ap-southeast-1"' % PAYMENTS in html
    table = html.split('<table id="not-assessed">', 1)[1].split("</table>", 1)[0]
    assert SANDBOX in table and LEGACY in table and "CreateVerifying" in table and "NoPermission" in table


def test_not_assessed_members_fail_the_play_and_the_reports_are_written(ansible):
    result, report = ansible.role(DOOMED, fail=True, regions=ORG_REGIONS, accounts=["all"])
    assert result.rc == 2, result.stdout
    assert report["verdict"] == "incomplete"  # written before the play fails
    message = re.search(r"KMS compliance: INCOMPLETE - not assessed: [^\n]*", result.stdout).group(0)
    assert "account %s: CreateVerifying" % SANDBOX in message and "account %s: NoPermission" % LEGACY in message
    assert "4 violation(s) of the policy in 4 key(s) of what was assessed" in message

    # no violation at all: still incomplete, never compliant, and the play fails
    result, report = ansible.role(
        {"allowed_creator_types": ["User", "Service"]}, fail=True, regions=ORG_REGIONS, accounts=["all"]
    )
    assert result.rc == 2, result.stdout
    assert (report["verdict"], report["summary"]["violations"], report["summary"]["not_assessed"]) == (
        "incomplete",
        0,
        2,
    )
    assert "KMS compliance: INCOMPLETE - 0 violation(s)" in result.stdout
    assert "KMS compliance: INCOMPLETE - not assessed: " in result.stdout

    # excluding both leaves nothing unassessed: the verdict is the violations' again
    result, report = ansible.role(
        DOOMED, fail=True, regions=ORG_REGIONS, accounts=["all"], exclude_accounts=[SANDBOX, LEGACY]
    )
    assert result.rc == 2 and "4 violation(s) of the policy in 4 key(s) (forbidden_states: 4)" in result.stdout
    assert (report["verdict"], report["not_assessed"], report["accounts_excluded"]) == (
        "non_compliant",
        [],
        [SANDBOX, LEGACY],
    )
    assert per_account(report) == ORG


def test_an_explicit_list_of_members_is_judged_by_its_violations_only(ansible, emulator):
    regions = ["cn-hangzhou", "ap-southeast-1"]
    result, report = ansible.role(DOOMED, regions=regions, accounts=[STAGING, PAYMENTS])
    assert result.rc == 0, result.stdout + result.stderr
    jsonschema.validate(report, SCHEMA)
    assert report["verdict"] == "non_compliant" and report["not_assessed"] == []
    # named accounts come in their order; no display names without ListAccounts
    assert per_account(report) == {
        STAGING: (None, {"cn-hangzhou": (1, 0), "ap-southeast-1": (0, 0)}),
        PAYMENTS: (None, {"cn-hangzhou": (3, 0), "ap-southeast-1": (2, 1)}),
    }
    assert list(report["summary"]["by_account"]) == [STAGING, PAYMENTS]
    doomed = [
        k.key_id for k in emulator.backend.accounts[PAYMENTS].keys["ap-southeast-1"] if k.key_state == "PendingDeletion"
    ]
    assert [v["key_id"] for v in report["violations"]] == doomed and len(doomed) == 1
    assert (
        "KMS compliance: NON-COMPLIANT - 1 violation(s) in 6 key(s), 2 region(s), 1 rule(s), 2 account(s)"
        in result.stdout
    )

    # the same members, the doomed key exempted: compliant, and fail_on_violation lets the play pass
    exempt = [{"key_id": doomed[0], "reason": "PAY-12: retired"}]
    result, report = ansible.role(DOOMED, exempt, fail=True, regions=regions, accounts=[STAGING, PAYMENTS])
    assert result.rc == 0, result.stdout
    assert report["verdict"] == "compliant" and report["summary"]["account_count"] == 2
    assert "KMS compliance: COMPLIANT - 0 violation(s) (1 exempted)" in result.stdout
    html = (ansible.tmp / "report" / "kms-compliance.html").read_text()
    assert "<h1>KMS key compliance: Compliant</h1>" in html and 'id="not-assessed"' not in html


# --- a report people keep open: the page's layout in a real browser (issue 22) ----------------------------------

# measures the page once it is laid out, into the body's data-layout attribute (read back from --dump-dom)
LAYOUT_PROBE = """<script>
(function () {
  var width = window.innerWidth, out = {width: width, overflow: document.documentElement.scrollWidth - width};
  function rects(selector) {
    return Array.prototype.map.call(document.querySelectorAll(selector), function (e) { return e.getBoundingClientRect(); });
  }
  out.clipped = Array.prototype.filter.call(
    document.querySelectorAll("article.region, #not-assessed, #policy, section.totals, header.verdict h1"),
    function (e) { return e.getBoundingClientRect().right > width + 0.5; }
  ).map(function (e) { return e.id || e.tagName + "." + e.className; });
  out.rows = rects("#violations tbody tr").length;
  out.arn_height = Math.max.apply(null, rects("#violations code.arn").map(function (r) { return r.height; }));
  out.arn_width = Math.min.apply(null, rects("#violations code.arn").map(function (r) { return r.width; }));
  out.regions = rects("article.region").length;
  document.body.setAttribute("data-layout", JSON.stringify(out));
}());
</script>
</body>"""
# the violations of this policy: every key of the organisation not AES-256, pending deletion or without a description
# (which makes the role read descriptions), with a policy whose JSON has a line longer than any window
LAYOUT_POLICY = {
    "allowed_specs": ["Aliyun_AES_256"],
    "require_description": True,
    "forbidden_states": ["PendingDeletion"],
    "required_tags": {"cost-centre-" + "x" * 150: None},
}


def layout(page, tmp, width):
    from conftest import browse  # noqa: PLC0415 (skips the test without Chromium)

    probe = tmp / ("layout-%d.html" % width)
    probe.write_text(page.read_text().replace("</body>", LAYOUT_PROBE))
    dom = browse(probe, tmp, "--window-size=%d,2000" % width, "--dump-dom").stdout
    found = re.search(r'data-layout="([^"]*)"', dom)
    assert found, dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_the_html_report_reads_at_1400_and_400_pixels(ansible, tmp_path):
    result, report = ansible.role(LAYOUT_POLICY, regions=ORG_REGIONS, accounts=["all"])
    assert result.rc == 0, result.stdout
    page = ansible.tmp / "report" / "kms-compliance.html"
    html = page.read_text()
    # keys are named "alias (description)" wherever they are named: aliases are gathered though no rule reads them
    named = [k for k in report["keys"] if k.get("aliases") and k.get("description")]
    assert named, "the demo seed has keys with an alias and a description"
    for k in named:
        assert '<td class="key-name">%s (%s)</td>' % (k["aliases"][0], k["description"]) in html
    by_id = dict((k["key_id"], k) for k in named)
    assert any(
        v["key_name"] == "%s (%s)" % (by_id[v["key_id"]]["aliases"][0], by_id[v["key_id"]]["description"])
        for v in report["violations"]
        if v["key_id"] in by_id
    )
    junit = (ansible.tmp / "report" / "kms-compliance.xml").read_text()
    assert "%s - %s (%s)" % (named[0]["key_id"], named[0]["aliases"][0], named[0]["description"]) in junit
    # one scale for every chart: a bar's width is its count times the same factor (to the 0.1 px the page rounds to)
    bars = [
        (float(w), int(c))
        for w, c in re.findall(r'<rect class="bar"[^>]* width="([\d.]+)"[^>]* data-count="(\d+)"', html)
    ]
    top = max(c for _w, c in bars)
    assert len(bars) > 10 and all(abs(w - c * 180.0 / top) <= 0.06 for w, c in bars), bars

    wide = layout(page, tmp_path, 1400)
    assert wide["rows"] == len(report["violations"]) >= 20
    assert wide["overflow"] <= 0 and wide["clipped"] == [], wide
    # an ARN wraps at its separators only: at most three lines of 12 px type, in a column wide enough to read
    assert wide["arn_height"] <= 3 * 18 and wide["arn_width"] >= 150, wide
    narrow = layout(page, tmp_path, 400)
    assert narrow["regions"] == wide["regions"] > 0
    assert narrow["overflow"] <= 0 and narrow["clipped"] == [], narrow
