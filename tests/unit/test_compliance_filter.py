"""The compliance filters (plugins/filter/compliance.py): pure rule evaluation, exemptions, report summary."""

from __future__ import annotations

import copy
from xml.etree import ElementTree

import jinja2
import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.alicloud.kms.plugins.filter.compliance import (
    RULE_NAMES,
    FilterModule,
    compliance_plan,
    kms_compliance_report,
    kms_violations,
    kms_xml_escape,
)

ARN = "acs:kms:{region}:1234567890123456:key/{key_id}"


def key(key_id, region="cn-hangzhou", **fields):
    record = {
        "key_id": key_id,
        "key_arn": ARN.format(region=region, key_id=key_id),
        "region": region,
        "account_id": "1234567890123456",
        "key_state": "Enabled",
        "key_spec": "Aliyun_AES_256",
        "key_usage": "ENCRYPT/DECRYPT",
        "protection_level": "SOFTWARE",
        "creator_type": "User",
        "origin": "Aliyun_KMS",
        "automatic_rotation": "Disabled",
        "rotation_interval": "",
        "deletion_protection": "Disabled",
    }
    record.update(fields)
    return record


KEYS = [
    key(
        "hz-good",
        protection_level="HSM",
        automatic_rotation="Enabled",
        rotation_interval="7776000s",
        deletion_protection="Enabled",
    ),
    key("hz-disabled", key_state="Disabled"),
    key("hz-doomed", key_state="PendingDeletion", key_spec="RSA_2048", key_usage="SIGN/VERIFY", protection_level="HSM"),
    key("hz-service", creator_type="Service"),
    key(
        "sh-yearly",
        region="cn-shanghai",
        key_spec="Aliyun_SM4",
        automatic_rotation="Enabled",
        rotation_interval="31536000s",
    ),
    key("sh-wallet", region="cn-shanghai", key_spec="EC_P256K", key_usage="SIGN/VERIFY", deletion_protection="Enabled"),
    key("sh-byok", region="cn-shanghai", key_state="PendingImport", origin="EXTERNAL"),
]


def broken(policy, keys=None, exempt=None):
    return sorted((v["key_id"], v["rule"]) for v in kms_violations(KEYS if keys is None else keys, policy, exempt))


# --- the plan: only what the rules need ------------------------------------------------------------

NOTHING_MORE = {
    "details": False,
    "aliases": False,
    "tags": False,
    "key_policy": False,
    "secrets": False,
    "instances": False,
}


@pytest.mark.parametrize(
    "policy, facets",
    [
        ({}, ["key_state", "key_spec"]),
        ({"forbidden_states": ["PendingDeletion"]}, ["key_state", "key_spec"]),
        ({"allowed_specs": ["Aliyun_AES_256"]}, ["key_state", "key_spec"]),
        ({"allowed_usages": ["SIGN/VERIFY"]}, ["key_state", "key_spec", "key_usage"]),
        ({"required_protection_level": "HSM"}, ["key_state", "key_spec", "protection_level"]),
        ({"allowed_creator_types": ["User"]}, ["key_state", "key_spec", "creator_type"]),
        (
            {"allowed_creator_types": ["User"], "allowed_usages": ["SIGN/VERIFY"], "forbidden_states": ["Disabled"]},
            ["key_state", "key_spec", "key_usage", "creator_type"],
        ),
    ],
)
def test_list_rules_plan_facets_and_no_details(policy, facets):
    plan = compliance_plan(policy)
    assert plan == dict(NOTHING_MORE, rules=[r for r in RULE_NAMES if r in policy], facets=facets)


@pytest.mark.parametrize(
    "policy, facets",
    [
        ({"require_rotation": True}, ["creator_type"]),
        ({"max_rotation_interval_days": 90}, ["creator_type"]),
        ({"require_deletion_protection": True}, ["creator_type"]),
        ({"require_rotation": True, "allowed_usages": ["SIGN/VERIFY"]}, ["creator_type"]),
        (
            {"require_deletion_protection": True, "allowed_specs": ["RSA_2048"], "allowed_creator_types": ["User"]},
            ["creator_type"],
        ),
    ],
)
def test_detail_rules_plan_describe_key_and_the_creator_type_facet(policy, facets):
    # DescribeKey documents state, spec, usage and protection level, but not the creator type: the rotation and
    # deletion protection rules apply only to keys the account created, so the creator type comes from a listing
    plan = compliance_plan(policy)
    assert plan == dict(NOTHING_MORE, rules=[r for r in RULE_NAMES if r in policy], facets=facets, details=True)


def test_rules_that_are_off_gather_nothing_extra():
    plan = compliance_plan(
        {
            "forbidden_states": [],
            "allowed_specs": None,
            "require_rotation": False,
            "require_deletion_protection": False,
            "required_protection_level": None,
        }
    )
    assert plan == dict(NOTHING_MORE, rules=[], facets=["key_state", "key_spec"])


def test_rules_come_out_in_canonical_order():
    policy = dict((rule, True) for rule in ("require_deletion_protection", "require_rotation"))
    policy.update(allowed_specs=["EC_P256"], forbidden_states="Disabled")
    assert compliance_plan(policy)["rules"] == [
        "forbidden_states",
        "allowed_specs",
        "require_rotation",
        "require_deletion_protection",
    ]


@pytest.mark.parametrize(
    "policy, message",
    [
        (
            {"forbidden_state": ["Disabled"]},
            "unknown rule(s) forbidden_state; known rules are forbidden_states, allowed_specs",
        ),
        ({"allowed_specs": ["Aliyun_AES_256"], "rotate": True, "bogus": 1}, "unknown rule(s) bogus, rotate"),
        ({"forbidden_states": ["Deleted"]}, "forbidden_states: unknown value 'Deleted'"),
        ({"allowed_usages": ["ENCRYPT"]}, "allowed_usages: unknown value 'ENCRYPT'"),
        ({"required_protection_level": "hsm"}, "required_protection_level: unknown value 'hsm'"),
        ({"required_protection_level": ["HSM"]}, "required_protection_level must be a string"),
        ({"allowed_creator_types": ["Root"]}, "allowed_creator_types: unknown value 'Root'"),
        ({"max_rotation_interval_days": 0}, "max_rotation_interval_days must be a whole number of days, 1 or more"),
        ({"max_rotation_interval_days": "ninety"}, "max_rotation_interval_days must be a whole number"),
        ({"max_rotation_interval_days": True}, "max_rotation_interval_days must be a whole number"),
        ({"require_rotation": "maybe"}, "require_rotation must be true or false"),
        ({"allowed_specs": [1]}, "allowed_specs must be a list of strings"),
        (["forbidden_states"], "the policy must be a dict of rules"),
    ],
)
def test_bad_policies_fail_with_a_clear_message(policy, message):
    with pytest.raises(AnsibleFilterError) as caught:
        compliance_plan(policy)
    assert message in str(caught.value)


def test_values_from_the_command_line_are_normalized():
    report = kms_compliance_report(
        [], {"require_rotation": "yes", "max_rotation_interval_days": "90", "forbidden_states": "Disabled"}
    )
    assert report["policy"] == {
        "forbidden_states": ["Disabled"],
        "require_rotation": True,
        "max_rotation_interval_days": 90,
    }


# --- each rule, with exactly known violations ------------------------------------------------------


def test_forbidden_states():
    assert broken({"forbidden_states": ["PendingDeletion", "PendingImport"]}) == [
        ("hz-doomed", "forbidden_states"),
        ("sh-byok", "forbidden_states"),
    ]


def test_allowed_specs():
    assert broken({"allowed_specs": ["Aliyun_AES_256", "Aliyun_SM4"]}) == [
        ("hz-doomed", "allowed_specs"),
        ("sh-wallet", "allowed_specs"),
    ]


def test_allowed_usages():
    assert broken({"allowed_usages": ["ENCRYPT/DECRYPT"]}) == [
        ("hz-doomed", "allowed_usages"),
        ("sh-wallet", "allowed_usages"),
    ]


def test_required_protection_level():
    assert broken({"required_protection_level": "HSM"}) == [
        ("hz-disabled", "required_protection_level"),
        ("hz-service", "required_protection_level"),
        ("sh-byok", "required_protection_level"),
        ("sh-wallet", "required_protection_level"),
        ("sh-yearly", "required_protection_level"),
    ]


def test_allowed_creator_types():
    assert broken({"allowed_creator_types": ["User"]}) == [("hz-service", "allowed_creator_types")]


def test_require_rotation_applies_to_keys_the_service_can_rotate():
    # hz-doomed and sh-wallet are asymmetric, hz-service is a service's, sh-byok has imported material
    assert broken({"require_rotation": True}) == [("hz-disabled", "require_rotation")]
    checks = kms_compliance_report(KEYS, {"require_rotation": True})["checks"]
    assert dict((c["key_id"], c["status"]) for c in checks) == {
        "hz-good": "pass",
        "hz-disabled": "fail",
        "hz-doomed": "not_applicable",
        "hz-service": "not_applicable",
        "sh-yearly": "pass",
        "sh-wallet": "not_applicable",
        "sh-byok": "not_applicable",
    }
    notes = dict((c["key_id"], c["note"]) for c in checks)
    assert notes["hz-doomed"] == "asymmetric keys (RSA_2048) do not rotate automatically"
    assert notes["hz-service"] == "a cloud service manages this key"
    assert notes["sh-byok"] == "imported key material does not rotate automatically"


def test_require_rotation_reports_suspended_rotation():
    keys = [key("a", automatic_rotation="Suspended", rotation_interval="7776000s")]
    assert kms_violations(keys, {"require_rotation": True}) == [
        {
            "key_id": "a",
            "key_arn": ARN.format(region="cn-hangzhou", key_id="a"),
            "key_name": None,
            "account_id": "1234567890123456",
            "region": "cn-hangzhou",
            "rule": "require_rotation",
            "actual": "Suspended",
            "expected": "Enabled",
        }
    ]


@pytest.mark.parametrize(
    "days, expected",
    [
        (365, [("hz-disabled", "no automatic rotation (Disabled)")]),
        (364, [("hz-disabled", "no automatic rotation (Disabled)"), ("sh-yearly", "365 days")]),
        (90, [("hz-disabled", "no automatic rotation (Disabled)"), ("sh-yearly", "365 days")]),
        (89, [("hz-good", "90 days"), ("hz-disabled", "no automatic rotation (Disabled)"), ("sh-yearly", "365 days")]),
    ],
)
def test_max_rotation_interval_days(days, expected):
    violations = kms_violations(KEYS, {"max_rotation_interval_days": days})
    assert [(v["key_id"], v["actual"]) for v in violations] == expected
    assert all(v["expected"] == "at most %d days" % days for v in violations)


def test_max_rotation_interval_reads_odd_intervals():
    keys = [
        key("frac", automatic_rotation="Enabled", rotation_interval="604800.5s"),
        key("garbled", automatic_rotation="Enabled", rotation_interval="soon"),
        key("missing", automatic_rotation="Enabled", rotation_interval=None),
    ]
    assert [v["actual"] for v in kms_violations(keys, {"max_rotation_interval_days": 6})] == [
        "7.00 days",
        "unknown interval (soon)",
        "unknown",
    ]


def test_require_deletion_protection_applies_to_enabled_keys_the_account_created():
    # Cloud Config's kms-key-delete-protection-enabled: not service keys, not keys that are not Enabled
    assert broken({"require_deletion_protection": True}) == [("sh-yearly", "require_deletion_protection")]
    checks = kms_compliance_report(KEYS, {"require_deletion_protection": True})["checks"]
    assert dict((c["key_id"], (c["status"], c["note"])) for c in checks) == {
        "hz-good": ("pass", None),
        "hz-disabled": ("not_applicable", "the key is Disabled, not Enabled"),
        "hz-doomed": ("not_applicable", "the key is PendingDeletion, not Enabled"),
        "hz-service": ("not_applicable", "a cloud service manages this key"),
        "sh-yearly": ("fail", None),
        "sh-wallet": ("pass", None),
        "sh-byok": ("not_applicable", "the key is PendingImport, not Enabled"),
    }


def test_violation_entries_have_exactly_the_documented_fields():
    violations = kms_violations(KEYS, {"allowed_specs": ["Aliyun_AES_256"]})
    assert violations[0] == {
        "key_id": "hz-doomed",
        "key_arn": ARN.format(region="cn-hangzhou", key_id="hz-doomed"),
        "key_name": None,  # the records here have neither alias nor description
        "account_id": "1234567890123456",
        "region": "cn-hangzhou",
        "rule": "allowed_specs",
        "actual": "RSA_2048",
        "expected": "one of Aliyun_AES_256",
    }


# --- unknown fields never pass (issue 12, items 11, 24, 25) ------------------------------------------

BARE = {"key_id": "k", "key_arn": ARN.format(region="cn-hangzhou", key_id="k"), "region": "cn-hangzhou"}
ALL_RULES = {
    "forbidden_states": ["PendingDeletion"],
    "allowed_specs": ["Aliyun_AES_256"],
    "allowed_usages": ["ENCRYPT/DECRYPT"],
    "required_protection_level": "SOFTWARE",
    "allowed_creator_types": ["User"],
    "require_rotation": True,
    "max_rotation_interval_days": 365,
    "require_deletion_protection": True,
}


def test_a_record_gathered_without_facets_breaks_every_rule_with_actual_unknown():
    # key_info without facets: the PendingDeletion key must not pass forbidden_states
    violations = kms_violations([BARE], {"forbidden_states": ["PendingDeletion"]})
    assert violations == [
        dict(
            BARE,
            key_name=None,
            account_id=None,
            rule="forbidden_states",
            actual="unknown",
            expected="none of PendingDeletion",
        )
    ]
    assert [(v["rule"], v["actual"]) for v in kms_violations([BARE], ALL_RULES)] == [
        (rule, "unknown") for rule in ALL_RULES
    ]
    report = kms_compliance_report([BARE], ALL_RULES)
    assert report["verdict"] == "non_compliant" and report["summary"]["non_compliant_keys"] == 1
    assert all(stats["passed"] == 0 and stats["violations"] == 1 for stats in report["summary"]["by_rule"].values())


@pytest.mark.parametrize(
    "rule, field, note",
    [
        ("forbidden_states", "key_state", "unknown key_state: gather the key_state facet"),
        ("allowed_specs", "key_spec", "unknown key_spec: gather the key_spec facet"),
        ("allowed_usages", "key_usage", "unknown key_usage: gather the key_usage facet"),
        (
            "required_protection_level",
            "protection_level",
            "unknown protection_level: gather the protection_level facet",
        ),
        ("allowed_creator_types", "creator_type", "unknown creator_type: gather the creator_type facet"),
        ("require_rotation", "automatic_rotation", "unknown automatic_rotation: gather details (DescribeKey)"),
        (
            "require_deletion_protection",
            "deletion_protection",
            "unknown deletion_protection: gather details (DescribeKey)",
        ),
    ],
)
@pytest.mark.parametrize("missing", ["absent", None, ""])
def test_a_missing_null_or_empty_field_is_unknown_and_never_passes(rule, field, note, missing):
    record = key("k")
    if missing == "absent":
        del record[field]
    else:
        record[field] = missing
    checks = kms_compliance_report([record], {rule: ALL_RULES[rule]})["checks"]
    assert [(c["status"], c["actual"], c["note"]) for c in checks] == [("fail", "unknown", note)]
    # an exemption covers an unknown like any violation
    exempt = kms_compliance_report([record], {rule: ALL_RULES[rule]}, [{"key_id": "k", "reason": "SEC-8"}])
    assert exempt["verdict"] == "compliant" and exempt["exempted"][0]["actual"] == "unknown"


def test_records_as_the_real_describe_key_returns_them_judge_no_key_by_an_unknown_creator():
    # DescribeKey has no CreatorType: without the creator_type facet no key may be judged for rotation or deletion
    # protection (a service's key would fail them), and a known asymmetric spec still settles rotation
    described = [
        dict((f, v) for f, v in key(key_id, **fields).items() if f != "creator_type")
        for key_id, fields in (("user-aes", {}), ("rds-aes", {}), ("rsa", {"key_spec": "RSA_2048"}))
    ]
    policy = {"require_rotation": True, "require_deletion_protection": True}
    checks = kms_compliance_report(described, policy)["checks"]
    assert [(c["key_id"], c["rule"], c["status"], c["actual"]) for c in checks] == [
        ("user-aes", "require_rotation", "fail", "unknown"),
        ("user-aes", "require_deletion_protection", "fail", "unknown"),
        ("rds-aes", "require_rotation", "fail", "unknown"),
        ("rds-aes", "require_deletion_protection", "fail", "unknown"),
        ("rsa", "require_rotation", "not_applicable", "Disabled"),
        ("rsa", "require_deletion_protection", "fail", "unknown"),
    ]
    assert checks[0]["note"] == "unknown creator_type: gather the creator_type facet"
    # with the facet (as the plan asks), the service's key is not applicable and the others are judged
    labelled = [
        dict(described[0], creator_type="User"),
        dict(described[1], creator_type="Service"),
        dict(described[2], creator_type="User"),
    ]
    checks = kms_compliance_report(labelled, policy)["checks"]
    assert [(c["key_id"], c["rule"], c["status"]) for c in checks] == [
        ("user-aes", "require_rotation", "fail"),
        ("user-aes", "require_deletion_protection", "fail"),
        ("rds-aes", "require_rotation", "not_applicable"),
        ("rds-aes", "require_deletion_protection", "not_applicable"),
        ("rsa", "require_rotation", "not_applicable"),
        ("rsa", "require_deletion_protection", "fail"),
    ]


@pytest.mark.parametrize(
    "fields, actual",
    [
        ({"key_spec": None}, "unknown"),
        ({"origin": None}, "unknown"),
        ({"origin": "EXTERNAL_KEY_STORE"}, None),
        ({"key_spec": "EC_SM2", "creator_type": None, "origin": None}, None),
    ],
)
def test_rotation_applicability_needs_spec_creator_and_origin(fields, actual):
    record = key("k", automatic_rotation="Enabled", rotation_interval="7776000s", **fields)
    check = kms_compliance_report([record], {"require_rotation": True})["checks"][0]
    assert check["status"] == ("fail" if actual else "not_applicable")
    if actual:
        assert check["actual"] == "unknown"


def test_absent_rotation_fields_are_explained_by_the_rotation_state():
    # the service sends RotationInterval and NextRotationDate only while rotation is Enabled or Suspended, DeleteDate
    # only for PendingDeletion: such records lack them, and the rotation state, not `unknown`, is the answer
    def described(key_id, **fields):
        record = key(key_id, **fields)
        for name in ("rotation_interval", "next_rotation_date", "delete_date"):
            if fields.get(name) is None:
                record.pop(name, None)
        return record

    keys = [
        described("off"),
        described("doomed", key_state="PendingDeletion", delete_date="2026-12-31T00:00:00Z"),
        described("paused", automatic_rotation="Suspended", rotation_interval="15552000s"),
        described(
            "on", automatic_rotation="Enabled", rotation_interval="7776000s", next_rotation_date="2026-01-01T00:00:00Z"
        ),
        described("on-no-interval", automatic_rotation="Enabled"),
        dict((f, v) for f, v in described("never-described").items() if f != "automatic_rotation"),
    ]
    policy = {"require_rotation": True, "max_rotation_interval_days": 180}
    checks = kms_compliance_report(keys, policy)["checks"]
    assert [(c["key_id"], c["rule"], c["status"], c["actual"]) for c in checks] == [
        ("off", "require_rotation", "fail", "Disabled"),
        ("off", "max_rotation_interval_days", "fail", "no automatic rotation (Disabled)"),
        ("doomed", "require_rotation", "fail", "Disabled"),
        ("doomed", "max_rotation_interval_days", "fail", "no automatic rotation (Disabled)"),
        ("paused", "require_rotation", "fail", "Suspended"),
        ("paused", "max_rotation_interval_days", "fail", "no automatic rotation (Suspended)"),
        ("on", "require_rotation", "pass", "Enabled"),
        ("on", "max_rotation_interval_days", "pass", "90 days"),
        ("on-no-interval", "require_rotation", "pass", "Enabled"),
        ("on-no-interval", "max_rotation_interval_days", "fail", "unknown"),
        ("never-described", "require_rotation", "fail", "unknown"),
        ("never-described", "max_rotation_interval_days", "fail", "unknown"),
    ]
    assert checks[9]["note"] == "unknown rotation_interval: gather details (DescribeKey)"


def test_unknown_values_count_as_unknown_in_the_charts():
    keys = [key("a", key_state=""), key("b", key_spec=None), key("c")]
    by_region = kms_compliance_report(keys, {})["summary"]["by_region"]["cn-hangzhou"]
    assert by_region["key_state"] == {"Enabled": 2, "unknown": 1} and by_region["key_spec"] == {
        "Aliyun_AES_256": 2,
        "unknown": 1,
    }


def test_violations_follow_key_order_then_rule_order():
    violations = kms_violations(KEYS, {"allowed_specs": ["Aliyun_AES_256"], "forbidden_states": ["PendingDeletion"]})
    assert [(v["key_id"], v["rule"]) for v in violations] == [
        ("hz-doomed", "forbidden_states"),
        ("hz-doomed", "allowed_specs"),
        ("sh-yearly", "allowed_specs"),
        ("sh-wallet", "allowed_specs"),
    ]


def test_no_rules_no_violations():
    assert kms_violations(KEYS, {}) == []
    assert kms_violations([], {"forbidden_states": ["Disabled"]}) == []


# --- exemptions ----------------------------------------------------------------------------------


def test_exemptions_by_id_or_arn_for_every_rule_or_some():
    policy = {"forbidden_states": ["PendingDeletion", "Disabled"], "allowed_specs": ["Aliyun_AES_256"]}
    exempt = [
        {"key_id": "hz-doomed", "reason": "SEC-1: retiring"},
        {
            "key_id": ARN.format(region="cn-shanghai", key_id="sh-wallet"),
            "reason": "SEC-2: HSM wallet",
            "rules": ["allowed_specs"],
        },
        {"key_id": "hz-disabled", "reason": "SEC-3", "rules": ["allowed_specs"]},
    ]
    assert broken(policy, exempt=exempt) == [("hz-disabled", "forbidden_states"), ("sh-yearly", "allowed_specs")]
    report = kms_compliance_report(KEYS, policy, exempt)
    assert [(e["key_id"], e["rule"], e["reason"]) for e in report["exempted"]] == [
        ("hz-doomed", "forbidden_states", "SEC-1: retiring"),
        ("hz-doomed", "allowed_specs", "SEC-1: retiring"),
        ("sh-wallet", "allowed_specs", "SEC-2: HSM wallet"),
    ]
    assert report["unused_exemptions"] == []
    assert report["summary"]["exempted"] == 3 and report["summary"]["violations"] == 2


def test_exempting_every_violation_makes_the_verdict_compliant():
    exempt = [{"key_id": "hz-doomed", "reason": "SEC-1"}]
    report = kms_compliance_report(KEYS, {"forbidden_states": ["PendingDeletion"]}, exempt)
    assert report["verdict"] == "compliant" and report["violations"] == [] and len(report["exempted"]) == 1


def test_exemptions_that_match_no_key_are_listed():
    report = kms_compliance_report(
        KEYS, {"forbidden_states": ["Disabled"]}, [{"key_id": "gone", "reason": "old ticket"}]
    )
    assert report["unused_exemptions"] == ["gone"]


@pytest.mark.parametrize(
    "exempt, message",
    [
        ([{"key_id": "k"}], "a reason is required"),
        ([{"key_id": "k", "reason": "  "}], "a reason is required"),
        ([{"reason": "why"}], "exactly one of key_id (a key ID or ARN), secret_name"),
        ([{"key_id": "k", "reason": "r", "rules": ["rotation"]}], "unknown rule(s) rotation"),
        ([{"key_id": "k", "reason": "r", "until": "2030"}], "unknown field(s) until"),
        (["k"], "must be a dict with key_id and reason"),
    ],
)
def test_bad_exemptions_fail_with_a_clear_message(exempt, message):
    with pytest.raises(AnsibleFilterError) as caught:
        kms_violations(KEYS, {"forbidden_states": ["Disabled"]}, exempt)
    assert message in str(caught.value)


# --- the report ----------------------------------------------------------------------------------


def test_report_counts_per_region_and_rule():
    policy = {
        "forbidden_states": ["PendingDeletion"],
        "allowed_specs": ["Aliyun_AES_256", "Aliyun_SM4"],
        "require_rotation": True,
    }
    report = kms_compliance_report(
        KEYS, policy, [{"key_id": "sh-wallet", "reason": "SEC-9"}], ["ap-southeast-1", "cn-shanghai", "cn-hangzhou"]
    )
    summary = report["summary"]
    assert report["verdict"] == "non_compliant"
    assert (summary["key_count"], summary["region_count"], summary["checks"]) == (7, 3, 21)
    assert summary["rules"] == ["forbidden_states", "allowed_specs", "require_rotation"]
    assert (summary["violations"], summary["exempted"], summary["non_compliant_keys"], summary["compliant_keys"]) == (
        3,
        1,
        2,
        5,
    )
    assert list(summary["by_region"]) == ["ap-southeast-1", "cn-shanghai", "cn-hangzhou"]
    assert summary["by_region"]["ap-southeast-1"] == {
        "key_count": 0,
        "violations": 0,
        "exempted": 0,
        "non_compliant_keys": 0,
        "key_state": {},
        "key_spec": {},
    }
    assert summary["by_region"]["cn-hangzhou"] == {
        "key_count": 4,
        "violations": 3,
        "exempted": 0,
        "non_compliant_keys": 2,
        "key_state": {"Enabled": 2, "Disabled": 1, "PendingDeletion": 1},
        "key_spec": {"Aliyun_AES_256": 3, "RSA_2048": 1},
    }
    assert summary["by_region"]["cn-shanghai"]["key_state"] == {"Enabled": 2, "PendingImport": 1}
    assert summary["by_region"]["cn-shanghai"]["key_spec"] == {"Aliyun_AES_256": 1, "Aliyun_SM4": 1, "EC_P256K": 1}
    assert summary["by_rule"] == {
        "forbidden_states": {
            "expected": "none of PendingDeletion",
            "config_rule": "kms-key-state-not-pending-deletion",
            "checked": 7,
            "passed": 6,
            "violations": 1,
            "exempted": 0,
            "not_applicable": 0,
        },
        "allowed_specs": {
            "expected": "one of Aliyun_AES_256, Aliyun_SM4",
            "config_rule": None,
            "checked": 7,
            "passed": 5,
            "violations": 1,
            "exempted": 1,
            "not_applicable": 0,
        },
        "require_rotation": {
            "expected": "Enabled",
            "config_rule": "kms-key-rotation-enabled",
            "checked": 7,
            "passed": 2,
            "violations": 1,
            "exempted": 0,
            "not_applicable": 4,
        },
    }
    assert summary["by_region"]["cn-shanghai"]["exempted"] == 1
    assert [(v["key_id"], v["rule"]) for v in report["violations"]] == [
        ("hz-disabled", "require_rotation"),
        ("hz-doomed", "forbidden_states"),
        ("hz-doomed", "allowed_specs"),
    ]


def test_report_regions_all_names_none_and_unknown_attributes_count_as_unknown():
    keys = [key("a", region="eu-central-1", key_state=None, key_spec=None), key("b", region="cn-beijing")]
    summary = kms_compliance_report(keys, {}, regions="all")["summary"]
    assert list(summary["by_region"]) == ["cn-beijing", "eu-central-1"]
    assert summary["by_region"]["eu-central-1"]["key_state"] == {"unknown": 1}
    assert summary["rules"] == [] and summary["checks"] == 0


def test_an_inventory_report_without_rules_is_compliant():
    report = kms_compliance_report(KEYS, {})
    assert report["verdict"] == "compliant" and report["checks"] == [] and report["summary"]["compliant_keys"] == 7


def test_filters_do_not_change_their_input():
    keys, policy = copy.deepcopy(KEYS), {"forbidden_states": ["Disabled"], "require_rotation": "yes"}
    exempt = [{"key_id": "hz-disabled", "reason": "SEC-4"}]
    before = copy.deepcopy((keys, policy, exempt))
    kms_compliance_report(keys, policy, exempt, ["cn-hangzhou"])
    kms_violations(keys, policy, exempt)
    compliance_plan(policy)
    assert (keys, policy, exempt) == before


@pytest.mark.parametrize("keys", [{"key_id": "a"}, [{"region": "cn-hangzhou"}], ["a"]])
def test_bad_key_records_fail_clearly(keys):
    with pytest.raises(AnsibleFilterError, match="key records|key_id"):
        kms_violations(keys, {"forbidden_states": ["Disabled"]})


def test_the_filters_work_in_jinja_under_their_names():
    filters = FilterModule().filters()
    assert set(filters) == {
        "kms_compliance_plan",
        "kms_violations",
        "kms_compliance_report",
        "kms_compliance_documents",
        "kms_xml_escape",
    }
    env = jinja2.Environment()
    env.filters.update(filters)
    out = env.from_string(
        "{{ (keys | kms_violations(policy, exempt) | map(attribute='key_id') | join(',')) }}"
        "/{{ (policy | kms_compliance_plan).facets | join(',') }}"
    ).render(keys=KEYS, policy={"allowed_usages": ["ENCRYPT/DECRYPT"]}, exempt=[{"key_id": "sh-wallet", "reason": "r"}])
    assert out == "hz-doomed/key_state,key_spec,key_usage"


# --- properties ------------------------------------------------------------------------------------

STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingImport")
SPECS = ("Aliyun_AES_256", "Aliyun_SM4", "RSA_2048", "EC_P256", "EC_P256K", "EC_SM2")
records = st.lists(
    st.builds(
        lambda i, region, state, spec, creator, rotation, days, protection: key(
            "k%d" % i,
            region=region,
            key_state=state,
            key_spec=spec,
            creator_type=creator,
            automatic_rotation=rotation,
            rotation_interval="%ds" % (days * 86400),
            deletion_protection=protection,
        ),
        st.integers(0, 10**6),
        st.sampled_from(("cn-hangzhou", "cn-shanghai")),
        st.sampled_from(STATES),
        st.sampled_from(SPECS),
        st.sampled_from(("User", "Service")),
        st.sampled_from(("Enabled", "Disabled", "Suspended")),
        st.integers(7, 400),
        st.sampled_from(("Enabled", "Disabled")),
    ),
    max_size=12,
    unique_by=lambda k: k["key_id"],
)
policies = st.fixed_dictionaries(
    {},
    optional={
        "forbidden_states": st.lists(st.sampled_from(STATES), unique=True),
        "allowed_specs": st.lists(st.sampled_from(SPECS), unique=True),
        "require_rotation": st.booleans(),
        "max_rotation_interval_days": st.integers(1, 400),
        "require_deletion_protection": st.booleans(),
    },
)


@settings(max_examples=150, deadline=None)
@given(records, policies, st.data())
def test_every_check_is_counted_once_and_exemptions_only_move_violations(keys, policy, data):
    exempt_ids = data.draw(st.lists(st.sampled_from([k["key_id"] for k in keys]), unique=True) if keys else st.just([]))
    exempt = [{"key_id": k, "reason": "ticket"} for k in exempt_ids]
    plain, report = kms_compliance_report(keys, policy), kms_compliance_report(keys, policy, exempt)
    rules = report["summary"]["rules"]
    assert len(report["checks"]) == len(keys) * len(rules)
    for stats in report["summary"]["by_rule"].values():
        assert (
            stats["checked"]
            == stats["passed"] + stats["violations"] + stats["exempted"] + stats["not_applicable"]
            == len(keys)
        )
    moved = sorted((v["key_id"], v["rule"]) for v in report["violations"] + report["exempted"])
    assert moved == sorted((v["key_id"], v["rule"]) for v in plain["violations"])
    assert all(v["key_id"] in exempt_ids for v in report["exempted"])
    assert not any(v["key_id"] in exempt_ids for v in report["violations"])
    assert sum(r["violations"] for r in report["summary"]["by_region"].values()) == len(report["violations"])
    assert report["verdict"] == ("non_compliant" if report["violations"] else "compliant")
    if "forbidden_states" in rules:
        assert sorted(v["key_id"] for v in plain["violations"] if v["rule"] == "forbidden_states") == sorted(
            k["key_id"] for k in keys if k["key_state"] in policy["forbidden_states"]
        )


# --- every account of the organisation (issue 13): by account, not assessed, incomplete --------------------------

MEMBER, DENIED, VERIFYING = "2222333344445555", "7777888899990000", "4444555566667777"
SKIPPED = [
    {
        "account_id": VERIFYING,
        "region": None,
        "code": "CreateVerifying",
        "message": "not usable yet",
        "request_id": None,
    },
    {"account_id": DENIED, "region": None, "code": "NoPermission", "message": "denied", "request_id": "RID-1"},
    {"account_id": MEMBER, "region": "cn-beijing", "code": "Forbidden.RAM", "message": "no", "request_id": "RID-2"},
]


def org_keys():
    """KEYS (the management account's, named), and three keys of a member: one in PendingDeletion."""
    member = [
        key(
            "m-hz",
            account_id=MEMBER,
            key_arn=ARN.format(region="cn-hangzhou", key_id="m-hz").replace("1234567890123456", MEMBER),
        ),
        key(
            "m-sh-doomed",
            region="cn-shanghai",
            account_id=MEMBER,
            key_state="PendingDeletion",
            key_arn=ARN.format(region="cn-shanghai", key_id="m-sh-doomed").replace("1234567890123456", MEMBER),
        ),
        key(
            "m-sh",
            region="cn-shanghai",
            account_id=MEMBER,
            key_spec="RSA_2048",
            key_arn=ARN.format(region="cn-shanghai", key_id="m-sh").replace("1234567890123456", MEMBER),
        ),
    ]
    for record in member:
        record["account_name"] = "payments"
    return [dict(k, account_name="management") for k in KEYS] + member


def test_the_summary_has_every_account_with_its_regions():
    regions = ["cn-hangzhou", "cn-shanghai", "cn-beijing"]
    report = kms_compliance_report(
        org_keys(), {"forbidden_states": ["PendingDeletion"]}, None, regions, SKIPPED, ["all"]
    )
    by_account = report["summary"]["by_account"]
    assert list(by_account) == ["1234567890123456", MEMBER, VERIFYING, DENIED]  # [all] names none: by ID
    management = by_account["1234567890123456"]
    assert dict((n, management[n]) for n in ("account_name", "assessed", "key_count", "violations")) == {
        "account_name": "management",
        "assessed": True,
        "key_count": 7,
        "violations": 1,
    }
    assert dict((r, (s["key_count"], s["violations"])) for r, s in management["by_region"].items()) == {
        "cn-hangzhou": (4, 1),
        "cn-shanghai": (3, 0),
        "cn-beijing": (0, 0),
    }
    member = by_account[MEMBER]
    assert (member["account_name"], member["key_count"], member["violations"], member["non_compliant_keys"]) == (
        "payments",
        3,
        1,
        1,
    )
    # its cn-beijing was not read: not listed as a region without keys, but as not assessed
    assert dict((r, (s["key_count"], s["violations"])) for r, s in member["by_region"].items()) == {
        "cn-hangzhou": (1, 0),
        "cn-shanghai": (2, 1),
    }
    assert member["by_region"]["cn-shanghai"]["key_state"] == {"Enabled": 1, "PendingDeletion": 1}
    assert member["not_assessed"] == [
        {"region": "cn-beijing", "code": "Forbidden.RAM", "message": "no", "request_id": "RID-2"}
    ]
    for account_id in (VERIFYING, DENIED):
        entry = by_account[account_id]
        assert (entry["assessed"], entry["key_count"], entry["by_region"], entry["account_name"]) == (
            False,
            0,
            {},
            None,
        )
    # the whole: every account's keys per region, as before
    summary = report["summary"]
    assert (summary["key_count"], summary["account_count"], summary["not_assessed"]) == (10, 2, 3)
    assert (
        summary["by_region"]["cn-shanghai"]["key_count"] == 5 and summary["by_region"]["cn-shanghai"]["violations"] == 1
    )
    assert [(a["account_id"], a["assessed"], a["key_count"], a["regions"]) for a in report["accounts"]] == [
        ("1234567890123456", True, 7, regions),
        (MEMBER, True, 3, ["cn-hangzhou", "cn-shanghai"]),
        (VERIFYING, False, 0, []),
        (DENIED, False, 0, []),
    ]
    checks = [c for c in report["checks"] if c["key_id"] == "m-sh-doomed"]
    assert [(c["account_id"], c["account_name"], c["status"]) for c in checks] == [(MEMBER, "payments", "fail")]


def test_named_accounts_come_first_even_without_keys_and_exclusions_leave_them_out():
    other = "5555666677778888"
    accounts = [MEMBER, "acs:ram::%s:role/kms-audit" % other, "1234567890123456"]
    report = kms_compliance_report(org_keys(), {}, None, ["cn-hangzhou"], [], accounts, ["1234567890123456"])
    by_account = report["summary"]["by_account"]
    # the excluded account's keys (if any came) still count, after the named ones
    assert list(by_account) == [MEMBER, other, "1234567890123456"]
    assert by_account[other]["assessed"] and by_account[other]["key_count"] == 0
    assert list(by_account[other]["by_region"]) == ["cn-hangzhou"]
    assert report["verdict"] == "compliant"
    with pytest.raises(AnsibleFilterError, match="not a 16-digit account ID"):
        kms_compliance_report(KEYS, {}, accounts=["prod"])


def test_one_account_without_accounts_reports_as_before_with_its_account():
    report = kms_compliance_report(KEYS, {"forbidden_states": ["PendingDeletion"]})
    assert report["verdict"] == "non_compliant" and report["not_assessed"] == []
    assert list(report["summary"]["by_account"]) == ["1234567890123456"]
    entry = report["summary"]["by_account"]["1234567890123456"]
    assert (entry["account_name"], entry["key_count"], entry["violations"], entry["assessed"]) == (None, 7, 1, True)
    assert report["summary"]["by_account"]["1234567890123456"]["by_region"] == report["summary"]["by_region"]


@pytest.mark.parametrize(
    "policy, violations",
    [
        ({"forbidden_states": ["PendingDeletion"]}, 2),  # with violations: still incomplete, not non_compliant
        ({"allowed_creator_types": ["User", "Service"]}, 0),  # without: incomplete, never compliant
        ({}, 0),  # an inventory report too
    ],
)
def test_anything_not_assessed_makes_the_verdict_incomplete(policy, violations):
    for skipped in (SKIPPED, SKIPPED[2:]):  # whole accounts, or one region of one account
        report = kms_compliance_report(org_keys(), policy, None, None, skipped, ["all"])
        assert report["verdict"] == "incomplete"
        assert report["summary"]["violations"] == len(report["violations"]) == violations
        assert report["summary"]["not_assessed"] == len(skipped)
    assert kms_compliance_report(org_keys(), policy, None, None, [], ["all"])["verdict"] == (
        "non_compliant" if violations else "compliant"
    )
    assert kms_compliance_report(org_keys(), policy, skipped=None)["verdict"] != "incomplete"


def test_skipped_entries_are_carried_as_not_assessed_with_exactly_their_fields():
    skipped = [dict(SKIPPED[1], extra="dropped"), {"account_id": None, "region": "cn-hangzhou", "code": "Throttling"}]
    report = kms_compliance_report(KEYS, {}, skipped=skipped)
    assert report["not_assessed"] == [
        {"account_id": DENIED, "region": None, "code": "NoPermission", "message": "denied", "request_id": "RID-1"},
        {"account_id": None, "region": "cn-hangzhou", "code": "Throttling", "message": None, "request_id": None},
    ]
    assert report["verdict"] == "incomplete"
    # the caller's own account, unnamed, is in not_assessed only; the denied account has its entry
    assert list(report["summary"]["by_account"]) == ["1234567890123456", DENIED]
    assert report["summary"]["by_account"]["1234567890123456"]["not_assessed"] == []


@pytest.mark.parametrize("skipped", ["NoPermission", [{"account_id": DENIED}], ["x"]])
def test_bad_skipped_entries_fail_clearly(skipped):
    with pytest.raises(AnsibleFilterError, match="skipped"):
        kms_compliance_report(KEYS, {}, skipped=skipped)


# --- XML and HTML values (issue 12, item 17) --------------------------------------------------------


def test_xml_escape_replaces_what_xml_forbids_and_escapes_markup():
    assert kms_xml_escape("SEC-5 <wallet> & \"co\" 'x'") == "SEC-5 &lt;wallet&gt; &amp; &quot;co&quot; &#39;x&#39;"
    assert (
        kms_xml_escape("a\x01b\x00c\x1f\x7f\td\ne\rf\ud800\ufffe") == "a\ufffdb\ufffdc\ufffd\x7f\td\ne\rf\ufffd\ufffd"
    )
    assert kms_xml_escape(None) == "" and kms_xml_escape(365) == "365" and kms_xml_escape("\U0001f511") == "\U0001f511"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_escaped_is_well_formed_xml_in_text_and_attributes(text):
    safe = kms_xml_escape(text)
    root = ElementTree.fromstring(('<a b="%s">%s</a>' % (safe, safe)).encode("utf-8", "surrogatepass"))
    legal = "".join(
        c if c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff" else "\ufffd"
        for c in text
    )
    lines = legal.replace("\r\n", "\n").replace("\r", "\n")  # a parser normalizes line ends, then attribute whitespace
    assert (root.text or "") == lines
    assert root.get("b") == "".join(" " if c in "\t\n" else c for c in lines)
