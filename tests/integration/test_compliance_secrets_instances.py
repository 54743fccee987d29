"""The rules on key origin, secrets and KMS instances through the compliance role, against the demo seed: violations
written out by hand from tests/emulator/seeds/demo.yml, found in all three reports; exemptions, the baseline, and a
kind gathered only when a rule needs it."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import jsonschema

from conftest import SCHEMA, truth

MANAGEMENT, PAYMENTS = "1234567890123456", "2222333344445555"
REGIONS = ["cn-hangzhou", "cn-shanghai"]
LEDGER, DATALAKE = "kst-hzz64f0e2b5c1a7d9e3f1a2", "kst-shh63a9c7d2e4b6f8a0c1d3"
POLARDB = "payments/replica-polardb"
# 365 days: the demo's rotating secrets (last rotated 2026-11 and 2026-12) pass for a year; the PolarDB secret has
# never rotated since 2023-06-12. The ledger instance ends 2026-12-20; the data lake's in 2028 (30 days: it passes).
POLICY = {
    "forbid_external_origin": True,
    "secret_require_rotation": True,
    "secret_max_rotation_age_days": 365,
    "instance_min_days_to_expiry": 30,
    "instance_require_multi_zone": True,
}


def subject(entry):
    return entry.get("key_id") or entry.get("secret_name") or entry.get("instance_id")


def expected_violations(emulator):
    (byok,) = truth(emulator, "cn-hangzhou", origin={"EXTERNAL"})
    return {
        (MANAGEMENT, "cn-hangzhou", byok.key_id, "forbid_external_origin"),
        (PAYMENTS, "cn-shanghai", POLARDB, "secret_require_rotation"),
        (PAYMENTS, "cn-shanghai", POLARDB, "secret_max_rotation_age_days"),
        (MANAGEMENT, "cn-hangzhou", LEDGER, "instance_min_days_to_expiry"),
        (MANAGEMENT, "cn-shanghai", DATALAKE, "instance_require_multi_zone"),
    }


def found(entries):
    return set((e["account_id"], e["region"], subject(e), e["rule"]) for e in entries)


def test_the_five_rules_find_the_seeded_violations_in_all_three_reports(ansible, emulator):
    result, report = ansible.role(POLICY, regions=REGIONS, accounts=[MANAGEMENT, PAYMENTS])
    assert result.rc == 0, result.stdout + result.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    expected = expected_violations(emulator)
    assert found(report["violations"]) == expected
    by_rule = dict(((v["rule"], subject(v)), v) for v in report["violations"])
    (byok,) = truth(emulator, "cn-hangzhou", origin={"EXTERNAL"})
    assert by_rule[("forbid_external_origin", byok.key_id)]["actual"] == "EXTERNAL"
    polardb = by_rule[("secret_require_rotation", POLARDB)]
    assert polardb["arn"] == "acs:kms:cn-shanghai:%s:secret/%s" % (PAYMENTS, POLARDB) and "key_id" not in polardb
    assert polardb["actual"] == "Disabled" and polardb["expected"] == "Enabled"
    assert by_rule[("secret_max_rotation_age_days", POLARDB)]["actual"].endswith("(created 2023-06-12, never rotated)")
    assert by_rule[("instance_require_multi_zone", DATALAKE)]["actual"] == "cn-shanghai-b"
    ends = by_rule[("instance_min_days_to_expiry", LEDGER)]["actual"]
    assert ends == "expired 2026-12-20" or ends.startswith("ends 2026-12-20 (in ")
    summary = report["summary"]
    # the seed's secrets in these accounts and regions: 6 + 2 of the management account, 2 + 1 of payments
    assert (summary["secret_count"], summary["non_compliant_secrets"]) == (11, 1)
    assert (summary["instance_count"], summary["non_compliant_instances"]) == (2, 2)
    assert sorted(s["secret_name"] for s in report["secrets"] if s["account_id"] == PAYMENTS) == [
        "payments/legacy-webhook",
        POLARDB,
        "payments/stripe",
    ]
    assert sorted(i["instance_id"] for i in report["instances"]) == [LEDGER, DATALAKE]
    generic = summary["by_rule"]["secret_require_rotation"]
    assert (generic["checked"], generic["violations"], generic["not_applicable"]) == (11, 1, 8)  # 3 managed, 8 generic
    assert summary["by_rule"]["instance_require_multi_zone"]["config_rule"] == "kms-instance-multi-zone"
    assert (
        "NON-COMPLIANT - 5 violation(s) in %d key(s), 11 secret(s), 2 instance(s), 2 region(s), 5 rule(s)"
        % (summary["key_count"])
        in result.stdout
    )

    # JUnit: a failure per violation, in the rule's testsuite, named by the secret or instance
    root = ElementTree.parse(ansible.tmp / "report" / "kms-compliance.xml").getroot()
    failed = set()
    for suite in root.findall("testsuite"):
        for case in suite.findall("testcase"):
            if case.find("failure") is not None:
                failed.add((suite.get("name").split(".", 1)[1], case.get("name").split(": ", 1)[1].split(" - ")[0]))
    assert failed == set((rule, ident) for _a, _r, ident, rule in expected)
    assert root.find("testsuite[@name='kms-compliance.secret_require_rotation']").get("tests") == "11"

    # HTML: a violation row per violation, naming what it is about; the secrets and instances tables
    html = (ansible.tmp / "report" / "kms-compliance.html").read_text()
    rows = html.split('<table class="sortable" id="violations">', 1)[1].split("</table>", 1)[0]
    assert rows.count("<tr>") == 1 + len(expected)  # the header row, then one per violation
    for _account, _region, ident, rule in expected:
        assert "<code>%s</code>" % ident in rows and "<code>%s</code>" % rule in rows
    assert 'id="secrets"' in html and 'id="instances"' in html and 'id="total-secrets">11<' in html
    assert "plr-Pa55" not in html + json.dumps(report)  # never a secret's value


def test_exemptions_and_the_baseline_cover_secrets_and_instances(ansible, emulator):
    exempt = [
        {"instance_id": LEDGER, "reason": "OPS-7: renewal ordered", "rules": ["instance_min_days_to_expiry"]},
        {"secret_name": POLARDB, "reason": "DB-3: rotation function pending"},
    ]
    result, first = ansible.role(POLICY, exempt, regions=REGIONS, accounts=[MANAGEMENT, PAYMENTS])
    assert result.rc == 0, result.stdout + result.stderr
    assert found(first["exempted"]) == set(v for v in expected_violations(emulator) if v[2] in (LEDGER, POLARDB))
    assert [e["reason"] for e in first["exempted"] if e.get("instance_id")] == ["OPS-7: renewal ordered"]
    baseline = ansible.tmp / "baseline.json"
    baseline.write_text(json.dumps(first))

    # a new violation of a secret: the ratchet (fail_on new) fails on it and only on it
    account = emulator.backend.accounts[MANAGEMENT]
    etl = next(s for s in account.secrets["cn-shanghai"] if s.secret_name == "datalake/etl-ram")
    etl.automatic_rotation = "Disabled"
    result, second = ansible.role(
        POLICY,
        exempt,
        fail=True,
        regions=REGIONS,
        accounts=[MANAGEMENT, PAYMENTS],
        baseline=str(baseline),
        fail_on="new",
    )
    assert result.rc == 2, result.stdout
    assert [(v["secret_name"], v["rule"]) for v in second["changes"]["new_violations"]] == [
        ("datalake/etl-ram", "secret_require_rotation")
    ]
    assert second["changes"]["resolved_violations"] == []


def test_a_kind_is_gathered_only_when_a_rule_needs_it(ansible, emulator):
    result, report = ansible.role({"forbidden_states": ["PendingDeletion"]}, regions=REGIONS)
    assert result.rc == 0, result.stdout + result.stderr
    assert report["secrets"] is None and report["instances"] is None
    assert report["summary"]["secret_count"] is None
    by_action = emulator.stats()["by_action"]
    assert not [a for a in by_action if a in ("ListSecrets", "DescribeSecret", "ListKmsInstances", "GetKmsInstance")]
    html = (ansible.tmp / "report" / "kms-compliance.html").read_text()
    assert 'id="secrets"' not in html and 'id="instances"' not in html

    result, report = ansible.role({"instance_require_multi_zone": True}, regions=REGIONS)
    assert result.rc == 0, result.stdout + result.stderr
    assert report["secrets"] is None and len(report["instances"]) == 2
    assert "ListSecrets" not in emulator.stats()["by_action"]
