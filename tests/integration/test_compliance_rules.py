"""The rule pack (issue 15) and the Cloud Config mapping, through the alicloud.kms.compliance role, against the demo seed.

Every expected violation is written out by hand from tests/emulator/seeds/ansible.yml (the caller's account,
1234567890123456), by the keys' descriptions; a test that needs a state the seed lacks says what it changes first.
"""

from __future__ import annotations

import datetime
import json
from xml.etree import ElementTree

import jsonschema

from conftest import SCHEMA, checks_of, truth

HZ, SH = "cn-hangzhou", "cn-shanghai"
REGIONS = (HZ, SH)


def described(emu, regions=REGIONS):
    """key_id -> description, from the emulator's own keys."""
    return dict((k.key_id, k.description) for region in regions for k in truth(emu, region))


def key_id(emu, description, region=HZ):
    return next(k.key_id for k in truth(emu, region) if k.description == description)


def broken(emu, report, rule):
    """{description: actual} of the keys that break a rule."""
    names = described(emu)
    return dict((names[v["key_id"]], v["actual"]) for v in report["violations"] if v["rule"] == rule)


def actions(emu):
    counts = {}
    for request in emu.stats()["requests"]:
        counts[request["action"]] = counts.get(request["action"], 0) + 1
    return counts


def stats(report, rule):
    s = report["summary"]["by_rule"][rule]
    return s["checked"], s["passed"], s["violations"], s["not_applicable"]


def test_require_alias_flags_keys_without_one_and_lists_aliases_only(ansible, emulator):
    result, report = ansible.role({"require_alias": True}, regions=REGIONS)
    assert result.rc == 0, result.stdout + result.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    no_alias = [
        "customer PII envelope",
        "guomi archive",
        "guomi e-invoice signing",
        "legacy batch jobs",
        "retired reporting",
        "byok imported",
        "rds managed key",
        "oss managed key",
        "ledger signing",
        "ledger wallet",
        "orders-db TDE replica",
        "backup encryption",
        "partner api tokens",
        "mobile app signing",
        "old analytics",
        "decommissioned crm",
        "ecs disk managed key",
        "data lake signing",
    ]
    assert broken(emulator, report, "require_alias") == dict((d, "no alias") for d in no_alias)
    assert stats(report, "require_alias") == (24, 6, 18, 0)
    assert report["summary"]["by_rule"]["require_alias"]["config_rule"] is None
    calls = actions(emulator)
    assert calls.get("ListAliases", 0) >= 2 and "DescribeKey" not in calls and "ListTagResources" not in calls


def test_required_tags_names_the_missing_and_the_wrong_tags(ansible, emulator):
    result, report = ansible.role({"required_tags": {"env": ["prod"], "team": None}}, regions=REGIONS)
    assert result.rc == 0, result.stdout + result.stderr
    untagged = [
        "customer PII envelope",
        "jwt issuer",
        "guomi e-invoice signing",
        "legacy batch jobs",
        "retired reporting",
        "byok imported",
        "rds managed key",
        "oss managed key",
        "ledger wallet",
        "orders-db TDE replica",
        "backup encryption",
        "partner api tokens",
        "mobile app signing",
        "old analytics",
        "decommissioned crm",
        "ecs disk managed key",
        "data lake signing",
    ]
    expected = dict((d, "no env, no team") for d in untagged)
    expected.update({"guomi archive": "env=staging, no team", "kafka envelope": "env=staging, no team"})
    assert broken(emulator, report, "required_tags") == expected
    assert report["summary"]["by_rule"]["required_tags"]["expected"] == "tags env=prod, team"
    assert report["policy"]["required_tags"] == {"env": ["prod"], "team": None}
    assert stats(report, "required_tags") == (24, 5, 19, 0)
    calls = actions(emulator)
    # aliases, to name the keys, cost one ListAliases page per region (kms_compliance_gather_aliases)
    assert calls.get("ListTagResources", 0) >= 2 and "DescribeKey" not in calls and calls.get("ListAliases") == 2


def test_require_description_is_kms_key_description_required(ansible, emulator):
    # every demo key has a description: blank two first
    archive, wallet = key_id(emulator, "guomi archive"), key_id(emulator, "ledger wallet")
    emulator.update_key(HZ, archive, description="")
    emulator.update_key(HZ, wallet, description="  ")
    result, report = ansible.role({"require_description": True}, regions=REGIONS)
    assert result.rc == 0, result.stdout + result.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert dict((v["key_id"], v["actual"]) for v in report["violations"]) == {
        archive: "no description",
        wallet: "no description",
    }
    assert stats(report, "require_description") == (24, 22, 2, 0)
    assert report["summary"]["by_rule"]["require_description"]["config_rule"] == "kms-key-description-required"
    assert actions(emulator)["DescribeKey"] == 24


def test_max_key_age_days_counts_from_creation_or_the_last_rotation(ansible, emulator):
    # a limit that falls between the keys created up to 2022-10-10 and those from 2023-01-10 on, whatever today is
    cutoff = datetime.datetime(2022, 11, 25, tzinfo=datetime.timezone.utc)
    days = (datetime.datetime.now(datetime.timezone.utc) - cutoff).days
    result, report = ansible.role({"max_key_age_days": days}, regions=REGIONS)
    assert result.rc == 0, result.stdout + result.stderr
    old = {
        "orders-db TDE": "2021-03-02",
        "payments signing": "2021-04-18",
        "customer PII envelope": "2021-06-09",
        "jwt issuer": "2021-08-21",
        "guomi archive": "2021-11-30",
        "guomi e-invoice signing": "2022-01-12",
        "legacy batch jobs": "2022-02-14",
        "retired reporting": "2022-03-01",
        "rds managed key": "2022-06-01",
        "oss managed key": "2022-06-02",
        "orders-db TDE replica": "2021-03-05",
        "kafka envelope": "2021-09-09",
        "backup encryption": "2021-10-01",
        "partner api tokens": "2022-04-04",
        "mobile app signing": "2022-07-07",
        "old analytics": "2022-08-08",
        "decommissioned crm": "2022-09-09",
        "ecs disk managed key": "2022-10-10",
    }
    found = broken(emulator, report, "max_key_age_days")
    assert sorted(found) == sorted(old)
    for description, created in old.items():  # the service reports LastRotationDate = CreationDate: never rotated
        assert found[description].endswith(" days (created %s, never rotated)" % created), found[description]
    # byok imported waits for its material (PendingImport): no key material, not applicable
    assert stats(report, "max_key_age_days") == (24, 5, 18, 1)
    checks = dict((c["key_id"], c) for c in checks_of(report))
    assert checks[key_id(emulator, "byok imported")]["note"] == "no key material yet (PendingImport)"


def test_max_key_age_days_counts_from_a_rotation_after_creation(ansible, emulator):
    rotated = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=10)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    emulator.update_key(HZ, key_id(emulator, "orders-db TDE"), last_rotation_date=rotated)
    result, report = ansible.role({"max_key_age_days": 30}, regions=[HZ])
    assert result.rc == 0, result.stdout + result.stderr
    found = broken(emulator, report, "max_key_age_days")
    assert "orders-db TDE" not in found and len(found) == 12  # 14 keys, byok imported not applicable
    check = next(c for c in checks_of(report) if c["key_id"] == key_id(emulator, "orders-db TDE"))
    assert (check["status"], check["actual"]) == ("pass", "10 days (last rotated %s)" % rotated[:10])


def test_min_material_validity_days_applies_to_imported_material_only(ansible, emulator):
    # the demo's imported key still waits for material: import some expiring in 10 days, add two more EXTERNAL keys
    now = datetime.datetime.now(datetime.timezone.utc)

    def at(days):
        return (now + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    byok = key_id(emulator, "byok imported")
    emulator.update_key(HZ, byok, key_state="Enabled", material_expire_time=at(10))
    emulator.add_keys(
        HZ,
        [
            {"description": "byok long-lived", "origin": "EXTERNAL", "material_expire_time": at(400)},
            {"description": "byok lapsed", "origin": "EXTERNAL", "material_expire_time": at(-3)},
            {"description": "byok waiting", "origin": "EXTERNAL", "key_state": "PendingImport"},
        ],
    )
    result, report = ansible.role({"min_material_validity_days": 30}, regions=[HZ])
    assert result.rc == 0, result.stdout + result.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    names = dict((k.key_id, k.description) for k in truth(emulator, HZ))
    found = dict((names[v["key_id"]], v["actual"]) for v in report["violations"])
    assert sorted(found) == ["byok imported", "byok lapsed"]
    assert found["byok imported"].startswith("expires %s (in " % at(10)[:10])
    assert found["byok lapsed"] == "expired %s" % at(-3)[:10]
    # 17 keys: 13 with KMS material and byok waiting are not applicable, byok long-lived passes
    assert stats(report, "min_material_validity_days") == (17, 1, 2, 14)
    checks = dict((names[c["key_id"]], c) for c in checks_of(report))
    assert checks["byok waiting"]["note"] == "no key material imported yet (PendingImport)"
    assert checks["orders-db TDE"]["note"] == "key material from Aliyun_KMS does not expire"


def test_forbid_public_key_policy_flags_ledger_signing_and_skips_keys_without_a_policy(ansible, emulator):
    result, report = ansible.role({"forbid_public_key_policy": True}, regions=REGIONS)
    assert result.rc == 0, result.stdout + result.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert broken(emulator, report, "forbid_public_key_policy") == {"ledger signing": "allows * (anyone may verify)"}
    # the five instance keys have a policy (ledger TDE, signing, wallet; data lake, data lake signing): 4 pass
    assert stats(report, "forbid_public_key_policy") == (24, 4, 1, 19)
    calls = actions(emulator)
    assert calls["GetKeyPolicy"] == 5 and "DescribeKey" not in calls


def test_a_key_policy_the_rule_cannot_read_breaks_it_as_unknown(ansible, emulator):
    # a document without a Statement list, and one whose Allow statement names its principal by a number
    emulator.update_key(HZ, key_id(emulator, "ledger wallet"), policy={"Version": "1", "Statement": "*"})
    odd = {"Statement": [{"Sid": "odd", "Effect": "Allow", "Principal": 1, "Action": ["kms:*"], "Resource": ["*"]}]}
    emulator.update_key(HZ, key_id(emulator, "ledger TDE"), policy=odd)
    result, report = ansible.role({"forbid_public_key_policy": True}, regions=REGIONS)
    assert result.rc == 0, result.stdout + result.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert broken(emulator, report, "forbid_public_key_policy") == {
        "ledger signing": "allows * (anyone may verify)",
        "ledger wallet": "unknown",
        "ledger TDE": "unknown",
    }
    notes = dict((described(emulator)[c["key_id"]], c["note"]) for c in checks_of(report) if c["actual"] == "unknown")
    assert notes == {
        "ledger wallet": "unreadable key policy: no Statement list",
        "ledger TDE": "unreadable key policy: statement 1 has a Principal that is not a string, a list of strings or "
        "a dict of them",
    }


def test_cloud_config_mapping_and_applicability_in_json_html_and_junit(ansible, emulator):
    policy = {
        "forbidden_states": ["PendingDeletion"],
        "require_rotation": True,
        "require_deletion_protection": True,
        "require_description": True,
        "require_alias": True,
    }
    result, report = ansible.role(policy, regions=[HZ])
    assert result.rc == 0, result.stdout + result.stderr
    by_rule = report["summary"]["by_rule"]
    assert dict((rule, s["config_rule"]) for rule, s in by_rule.items()) == {
        "forbidden_states": "kms-key-state-not-pending-deletion",
        "require_rotation": "kms-key-rotation-enabled",
        "require_deletion_protection": "kms-key-delete-protection-enabled",
        "require_description": "kms-key-description-required",
        "require_alias": None,
    }
    # rotation: symmetric keys the account created with KMS material; 5 asymmetric, 2 service, 1 imported do not apply
    assert broken(emulator, report, "require_rotation") == dict(
        (d, "Disabled") for d in ("guomi archive", "legacy batch jobs", "retired reporting", "ledger TDE")
    )
    assert stats(report, "require_rotation") == (14, 2, 4, 8)
    # deletion protection: Enabled keys the account created; legacy, retired, byok and ledger wallet are not Enabled,
    # rds and oss are a service's
    assert broken(emulator, report, "require_deletion_protection") == dict(
        (d, "Disabled")
        for d in (
            "payments signing",
            "customer PII envelope",
            "jwt issuer",
            "guomi archive",
            "guomi e-invoice signing",
            "ledger signing",
        )
    )
    assert stats(report, "require_deletion_protection") == (14, 2, 6, 6)
    html = (ansible.tmp / "report" / "kms-compliance.html").read_text()
    for config_rule in (
        "kms-key-state-not-pending-deletion",
        "kms-key-rotation-enabled",
        "kms-key-description-required",
    ):
        assert '<td class="config-rule"><code>%s</code></td>' % config_rule in html
    suites = ElementTree.parse(str(ansible.tmp / "report" / "kms-compliance.xml")).getroot()
    properties = dict(
        (suite.get("name"), dict((p.get("name"), p.get("value")) for p in suite.iter("property"))) for suite in suites
    )
    assert properties["kms-compliance.require_rotation"]["config_rule"] == "kms-key-rotation-enabled"
    assert "config_rule" not in properties["kms-compliance.require_alias"]
    assert json.loads((ansible.tmp / "report" / "kms-compliance.json").read_text())["policy"] == policy
