"""The rules on key origin, secrets and KMS instances (issue 24): pass, fail, not applicable and unknown, at a fixed
time; exemptions by secret name and instance ID; the report and its documents with secrets and instances."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.alicloud.kms.plugins.filter.compliance import (
    compliance_plan,
    kms_compliance_documents,
    kms_compliance_report,
    kms_violations,
)

NOW = "2026-12-07T00:00:00Z"
ACCOUNT = "1234567890123456"
SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "roles/compliance/files/kms-compliance.schema.json").read_text()
)


def secret(name, secret_type="Rds", **fields):
    record = {
        "secret_name": name,
        "arn": "acs:kms:cn-hangzhou:%s:secret/%s" % (ACCOUNT, name),
        "region": "cn-hangzhou",
        "account_id": ACCOUNT,
        "secret_type": secret_type,
        "automatic_rotation": "Enabled",
        "create_time": "2026-01-01T00:00:00Z",
        "last_rotation_date": None,
    }
    record.update(fields)
    return record


def instance(instance_id, **fields):
    record = {"instance_id": instance_id, "region": "cn-shanghai", "account_id": ACCOUNT}
    record.update(fields)
    return record


def judged(policy, keys=(), secrets=None, instances=None):
    report = kms_compliance_report(list(keys), policy, now=NOW, secrets=secrets, instances=instances)
    return [
        (c.get("key_id") or c.get("secret_name") or c["instance_id"], c["status"], c["actual"])
        for c in report["checks"]
    ]


def test_forbid_external_origin():
    arn = "acs:kms:cn-hangzhou:%s:key/%s"
    keys = [
        {"key_id": k, "key_arn": arn % (ACCOUNT, k), "region": "cn-hangzhou", "origin": origin}
        for k, origin in (("kms", "Aliyun_KMS"), ("byok", "EXTERNAL"), ("ungathered", None))
    ]
    assert judged({"forbid_external_origin": True}, keys) == [
        ("kms", "pass", "Aliyun_KMS"),
        ("byok", "fail", "EXTERNAL"),
        ("ungathered", "fail", "unknown"),
    ]


def test_secret_require_rotation_applies_to_managed_secrets_only():
    secrets = [
        secret("on"),
        secret("off", "PolarDB", automatic_rotation="Disabled"),
        secret("generic", "Generic", automatic_rotation="Disabled"),
        secret("unsaid", "RAMCredentials", automatic_rotation=None),
    ]
    assert judged({"secret_require_rotation": True}, secrets=secrets) == [
        ("on", "pass", "Enabled"),
        ("off", "fail", "Disabled"),
        ("generic", "not_applicable", "Disabled"),
        ("unsaid", "fail", "unknown"),
    ]
    checks = kms_compliance_report([], {"secret_require_rotation": True}, now=NOW, secrets=secrets)["checks"]
    assert checks[3]["note"] == "unknown automatic_rotation: not returned by the service"


def test_secret_max_rotation_age_days_counts_from_the_last_rotation_or_creation():
    secrets = [
        secret("fresh", last_rotation_date="2026-12-01T00:00:00Z"),
        secret("stale", last_rotation_date="2026-08-01T00:00:00Z"),
        secret("never", "Redis", automatic_rotation="Disabled", create_time="2024-06-01T00:00:00Z"),
        secret("generic", "Generic"),
        secret("bad", create_time="yesterday"),
    ]
    assert judged({"secret_max_rotation_age_days": 90}, secrets=secrets) == [
        ("fresh", "pass", "6 days (last rotated 2026-12-01)"),
        ("stale", "fail", "128 days (last rotated 2026-08-01)"),
        ("never", "fail", "919 days (created 2024-06-01, never rotated)"),
        ("generic", "not_applicable", None),
        ("bad", "fail", "unknown creation time (yesterday)"),
    ]


def test_instance_rules():
    instances = [
        instance("kst-ok", end_date="2028-03-01T00:00:00Z", zone_ids=["cn-shanghai-a", "cn-shanghai-b"]),
        instance("kst-soon", end_date="2026-12-20T00:00:00Z", zone_ids=["cn-shanghai-b", "cn-shanghai-b"]),
        instance("kst-gone", end_date="2026-11-01T00:00:00Z", zone_ids=None),
    ]
    policy = {"instance_min_days_to_expiry": 30, "instance_require_multi_zone": True}
    assert judged(policy, instances=instances) == [
        ("kst-ok", "pass", "ends 2028-03-01 (in 450 days)"),
        ("kst-ok", "pass", "cn-shanghai-a, cn-shanghai-b"),
        ("kst-soon", "fail", "ends 2026-12-20 (in 13 days)"),
        ("kst-soon", "fail", "cn-shanghai-b"),
        ("kst-gone", "fail", "expired 2026-11-01"),
        ("kst-gone", "fail", "unknown"),
    ]


def test_the_plan_gathers_a_kind_only_for_its_rules():
    assert compliance_plan({"forbidden_states": ["Disabled"]})["secrets"] is False
    plan = compliance_plan({"secret_require_rotation": True, "instance_require_multi_zone": True})
    assert (plan["secrets"], plan["instances"], plan["details"]) == (True, True, False)
    assert compliance_plan({"forbid_external_origin": True})["details"] is True


def test_a_rule_on_a_kind_not_given_is_an_error():
    with pytest.raises(AnsibleFilterError, match="secret_require_rotation judge secrets, which were not given"):
        kms_violations([], {"secret_require_rotation": True})


def test_violations_name_the_secret_or_the_instance_in_place_of_key_id():
    found = kms_violations(
        [],
        {"secret_require_rotation": True, "instance_require_multi_zone": True},
        now=NOW,
        secrets=[secret("off", automatic_rotation="Disabled")],
        instances=[instance("kst-one", zone_ids=["cn-shanghai-b"])],
    )
    assert found == [
        {
            "secret_name": "off",
            "arn": "acs:kms:cn-hangzhou:%s:secret/off" % ACCOUNT,
            "account_id": ACCOUNT,
            "region": "cn-hangzhou",
            "rule": "secret_require_rotation",
            "actual": "Disabled",
            "expected": "Enabled",
        },
        {
            "instance_id": "kst-one",
            "account_id": ACCOUNT,
            "region": "cn-shanghai",
            "rule": "instance_require_multi_zone",
            "actual": "cn-shanghai-b",
            "expected": "two or more zones",
        },
    ]


def test_exemptions_by_secret_name_arn_and_instance_id():
    secrets = [secret("a", automatic_rotation="Disabled"), secret("b", automatic_rotation="Disabled")]
    exempt = [
        {"secret_name": "a", "reason": "SEC-1"},
        {"secret_name": secrets[1]["arn"], "reason": "SEC-2", "rules": ["secret_require_rotation"]},
        {"instance_id": "kst-one", "reason": "SEC-3"},
        {"instance_id": "kst-unknown", "reason": "SEC-4"},
    ]
    report = kms_compliance_report(
        [],
        {"secret_require_rotation": True, "instance_require_multi_zone": True},
        exempt,
        now=NOW,
        secrets=secrets,
        instances=[instance("kst-one", zone_ids=["cn-shanghai-b"])],
    )
    assert report["violations"] == []
    assert [(e.get("secret_name") or e["instance_id"], e["reason"]) for e in report["exempted"]] == [
        ("a", "SEC-1"),
        ("b", "SEC-2"),
        ("kst-one", "SEC-3"),
    ]
    assert report["unused_exemptions"] == ["kst-unknown"]
    assert report["summary"]["non_compliant_secrets"] == 0 and report["summary"]["secret_count"] == 2


@pytest.mark.parametrize(
    "exempt, message",
    [
        ([{"secret_name": "a", "key_id": "k", "reason": "r"}], "exactly one of key_id"),
        ([{"secret_name": "a", "reason": "r", "rules": ["require_rotation"]}], "require_rotation judge no secret"),
        ([{"instance_id": "kst-1", "reason": "r", "rules": ["secret_require_rotation"]}], "judge no instance"),
    ],
)
def test_bad_exemptions_of_secrets_and_instances(exempt, message):
    with pytest.raises(AnsibleFilterError, match=message):
        kms_violations([], {"secret_require_rotation": True}, exempt, NOW, [])


def test_the_documents_carry_secrets_and_instances_and_match_the_schema():
    secrets = [secret("off", "PolarDB", automatic_rotation="Disabled", description="<b>db</b>")]
    instances = [instance("kst-one", end_date="2026-12-20T00:00:00Z", zone_ids=["cn-shanghai-b"])]
    documents = kms_compliance_documents(
        [],
        {"secret_require_rotation": True, "instance_min_days_to_expiry": 30},
        now=NOW,
        run_id="0f8fad5b-d9cb-469f-a165-70867728950e",
        secrets=secrets,
        instances=instances,
    )
    report = json.loads(documents["json"])
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert [v.get("secret_name") or v["instance_id"] for v in report["violations"]] == ["off", "kst-one"]
    assert report["secrets"][0]["secret_name"] == "off" and report["instances"][0]["instance_id"] == "kst-one"
    summary = report["summary"]
    assert (summary["secret_count"], summary["non_compliant_secrets"]) == (1, 1)
    assert (summary["instance_count"], summary["non_compliant_instances"]) == (1, 1)
    assert summary["by_region"]["cn-shanghai"]["violations"] == 1 and summary["key_count"] == 0
    junit = documents["junit"]
    assert 'name="secret_require_rotation: off - &lt;b&gt;db&lt;/b&gt;"' in junit["secret_require_rotation"]
    assert "acs:kms:cn-hangzhou:%s:secret/off in cn-hangzhou breaks" % ACCOUNT in junit["secret_require_rotation"]
    assert 'name="instance_min_days_to_expiry: kst-one"' in junit["instance_min_days_to_expiry"]
    html = documents["html"]
    assert "<code>off</code>" in html["violations"] and "<code>kst-one</code>" in html["violations"]
    assert "&lt;b&gt;db&lt;/b&gt;" in html["secrets"] and "cn-shanghai-b" in html["instances"]
    keys_only = kms_compliance_documents([], {}, now=NOW)
    assert json.loads(keys_only["json"])["secrets"] is None and keys_only["html"]["secrets"] is None


def test_the_baseline_ratchets_violations_of_secrets_and_instances():
    policy = {"secret_require_rotation": True, "instance_require_multi_zone": True}
    before = kms_compliance_documents(
        [],
        policy,
        now=NOW,
        secrets=[secret("off", automatic_rotation="Disabled"), secret("later")],
        instances=[instance("kst-one", zone_ids=["cn-shanghai-b"])],
    )["json"]
    after = kms_compliance_report(
        [],
        policy,
        now=NOW,
        baseline=before,
        secrets=[secret("off"), secret("later", automatic_rotation="Disabled")],
        instances=[instance("kst-one", zone_ids=["cn-shanghai-b"])],
    )["changes"]
    assert [(v["secret_name"], v["rule"]) for v in after["new_violations"]] == [("later", "secret_require_rotation")]
    assert [(v["secret_name"], v["rule"]) for v in after["resolved_violations"]] == [("off", "secret_require_rotation")]
    # a run that did not read secrets resolves none of theirs (the instance still fails, unknown zones)
    instances_only = kms_compliance_report(
        [], {"instance_require_multi_zone": True}, now=NOW, baseline=before, instances=[instance("kst-one")]
    )["changes"]
    assert (instances_only["resolved_violations"], instances_only["new_violations"]) == ([], [])
