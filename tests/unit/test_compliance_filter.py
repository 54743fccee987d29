"""The compliance filters (plugins/filter/compliance.py): pure rule evaluation, exemptions, report summary."""

from __future__ import annotations

import copy

import jinja2
import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.alicloud.kms.plugins.filter.compliance import (
    RULE_NAMES, FilterModule, compliance_plan, kms_compliance_report, kms_violations)

ARN = "acs:kms:{region}:1234567890123456:key/{key_id}"


def key(key_id, region="cn-hangzhou", **fields):
    record = {"key_id": key_id, "key_arn": ARN.format(region=region, key_id=key_id), "region": region,
              "account_id": "1234567890123456", "key_state": "Enabled", "key_spec": "Aliyun_AES_256",
              "key_usage": "ENCRYPT/DECRYPT", "protection_level": "SOFTWARE", "creator_type": "User",
              "origin": "Aliyun_KMS", "automatic_rotation": "Disabled", "rotation_interval": "",
              "deletion_protection": "Disabled"}
    record.update(fields)
    return record


KEYS = [
    key("hz-good", protection_level="HSM", automatic_rotation="Enabled", rotation_interval="7776000s", deletion_protection="Enabled"),
    key("hz-disabled", key_state="Disabled"),
    key("hz-doomed", key_state="PendingDeletion", key_spec="RSA_2048", key_usage="SIGN/VERIFY", protection_level="HSM"),
    key("hz-service", creator_type="Service"),
    key("sh-yearly", region="cn-shanghai", key_spec="Aliyun_SM4", automatic_rotation="Enabled", rotation_interval="31536000s"),
    key("sh-wallet", region="cn-shanghai", key_spec="EC_P256K", key_usage="SIGN/VERIFY", deletion_protection="Enabled"),
    key("sh-byok", region="cn-shanghai", key_state="PendingImport", origin="EXTERNAL"),
]


def broken(policy, keys=None, exempt=None):
    return sorted((v["key_id"], v["rule"]) for v in kms_violations(KEYS if keys is None else keys, policy, exempt))


# --- the plan: only what the rules need ------------------------------------------------------------

@pytest.mark.parametrize("policy, facets", [
    ({}, ["key_state", "key_spec"]),
    ({"forbidden_states": ["PendingDeletion"]}, ["key_state", "key_spec"]),
    ({"allowed_specs": ["Aliyun_AES_256"]}, ["key_state", "key_spec"]),
    ({"allowed_usages": ["SIGN/VERIFY"]}, ["key_state", "key_spec", "key_usage"]),
    ({"required_protection_level": "HSM"}, ["key_state", "key_spec", "protection_level"]),
    ({"allowed_creator_types": ["User"]}, ["key_state", "key_spec", "creator_type"]),
    ({"allowed_creator_types": ["User"], "allowed_usages": ["SIGN/VERIFY"], "forbidden_states": ["Disabled"]},
     ["key_state", "key_spec", "key_usage", "creator_type"]),
])
def test_list_rules_plan_facets_and_no_details(policy, facets):
    plan = compliance_plan(policy)
    assert plan == {"rules": [r for r in RULE_NAMES if r in policy], "facets": facets, "details": False}


@pytest.mark.parametrize("rule, value", [("require_rotation", True), ("max_rotation_interval_days", 90),
                                         ("require_deletion_protection", True)])
def test_detail_rules_plan_describe_key_and_no_facets(rule, value):
    plan = compliance_plan({rule: value, "allowed_usages": ["SIGN/VERIFY"]})
    assert plan == {"rules": ["allowed_usages", rule], "facets": [], "details": True}


def test_rules_that_are_off_gather_nothing_extra():
    plan = compliance_plan({"forbidden_states": [], "allowed_specs": None, "require_rotation": False,
                            "require_deletion_protection": False, "required_protection_level": None})
    assert plan == {"rules": [], "facets": ["key_state", "key_spec"], "details": False}


def test_rules_come_out_in_canonical_order():
    policy = dict((rule, True) for rule in ("require_deletion_protection", "require_rotation"))
    policy.update(allowed_specs=["EC_P256"], forbidden_states="Disabled")
    assert compliance_plan(policy)["rules"] == ["forbidden_states", "allowed_specs", "require_rotation", "require_deletion_protection"]


@pytest.mark.parametrize("policy, message", [
    ({"forbidden_state": ["Disabled"]}, "unknown rule(s) forbidden_state; known rules are forbidden_states, allowed_specs"),
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
])
def test_bad_policies_fail_with_a_clear_message(policy, message):
    with pytest.raises(AnsibleFilterError) as caught:
        compliance_plan(policy)
    assert message in str(caught.value)


def test_values_from_the_command_line_are_normalized():
    report = kms_compliance_report([], {"require_rotation": "yes", "max_rotation_interval_days": "90", "forbidden_states": "Disabled"})
    assert report["policy"] == {"forbidden_states": ["Disabled"], "require_rotation": True, "max_rotation_interval_days": 90}


# --- each rule, with exactly known violations ------------------------------------------------------

def test_forbidden_states():
    assert broken({"forbidden_states": ["PendingDeletion", "PendingImport"]}) == [
        ("hz-doomed", "forbidden_states"), ("sh-byok", "forbidden_states")]


def test_allowed_specs():
    assert broken({"allowed_specs": ["Aliyun_AES_256", "Aliyun_SM4"]}) == [
        ("hz-doomed", "allowed_specs"), ("sh-wallet", "allowed_specs")]


def test_allowed_usages():
    assert broken({"allowed_usages": ["ENCRYPT/DECRYPT"]}) == [("hz-doomed", "allowed_usages"), ("sh-wallet", "allowed_usages")]


def test_required_protection_level():
    assert broken({"required_protection_level": "HSM"}) == [
        ("hz-disabled", "required_protection_level"), ("hz-service", "required_protection_level"),
        ("sh-byok", "required_protection_level"), ("sh-wallet", "required_protection_level"),
        ("sh-yearly", "required_protection_level")]


def test_allowed_creator_types():
    assert broken({"allowed_creator_types": ["User"]}) == [("hz-service", "allowed_creator_types")]


def test_require_rotation_applies_to_keys_the_service_can_rotate():
    # hz-doomed and sh-wallet are asymmetric, hz-service is a service's, sh-byok has imported material
    assert broken({"require_rotation": True}) == [("hz-disabled", "require_rotation")]
    checks = kms_compliance_report(KEYS, {"require_rotation": True})["checks"]
    assert dict((c["key_id"], c["status"]) for c in checks) == {
        "hz-good": "pass", "hz-disabled": "fail", "hz-doomed": "not_applicable", "hz-service": "not_applicable",
        "sh-yearly": "pass", "sh-wallet": "not_applicable", "sh-byok": "not_applicable"}
    notes = dict((c["key_id"], c["note"]) for c in checks)
    assert notes["hz-doomed"] == "asymmetric keys (RSA_2048) do not rotate automatically"
    assert notes["hz-service"] == "a cloud service manages this key"
    assert notes["sh-byok"] == "imported key material does not rotate automatically"


def test_require_rotation_reports_suspended_rotation():
    keys = [key("a", automatic_rotation="Suspended", rotation_interval="7776000s")]
    assert kms_violations(keys, {"require_rotation": True}) == [{
        "key_id": "a", "key_arn": ARN.format(region="cn-hangzhou", key_id="a"), "region": "cn-hangzhou",
        "rule": "require_rotation", "actual": "Suspended", "expected": "Enabled"}]


@pytest.mark.parametrize("days, expected", [
    (365, [("hz-disabled", "no automatic rotation (Disabled)")]),
    (364, [("hz-disabled", "no automatic rotation (Disabled)"), ("sh-yearly", "365 days")]),
    (90, [("hz-disabled", "no automatic rotation (Disabled)"), ("sh-yearly", "365 days")]),
    (89, [("hz-good", "90 days"), ("hz-disabled", "no automatic rotation (Disabled)"), ("sh-yearly", "365 days")]),
])
def test_max_rotation_interval_days(days, expected):
    violations = kms_violations(KEYS, {"max_rotation_interval_days": days})
    assert [(v["key_id"], v["actual"]) for v in violations] == expected
    assert all(v["expected"] == "at most %d days" % days for v in violations)


def test_max_rotation_interval_reads_odd_intervals():
    keys = [key("frac", automatic_rotation="Enabled", rotation_interval="604800.5s"),
            key("garbled", automatic_rotation="Enabled", rotation_interval="soon"),
            key("missing", automatic_rotation="Enabled", rotation_interval=None)]
    assert [v["actual"] for v in kms_violations(keys, {"max_rotation_interval_days": 6})] == [
        "7.00 days", "unknown interval (soon)", "unknown interval (none)"]


def test_require_deletion_protection_applies_to_keys_the_account_created():
    assert broken({"require_deletion_protection": True}) == [
        ("hz-disabled", "require_deletion_protection"), ("hz-doomed", "require_deletion_protection"),
        ("sh-byok", "require_deletion_protection"), ("sh-yearly", "require_deletion_protection")]


def test_violation_entries_have_exactly_the_documented_fields():
    violations = kms_violations(KEYS, {"allowed_specs": ["Aliyun_AES_256"]})
    assert violations[0] == {"key_id": "hz-doomed", "key_arn": ARN.format(region="cn-hangzhou", key_id="hz-doomed"),
                             "region": "cn-hangzhou", "rule": "allowed_specs", "actual": "RSA_2048",
                             "expected": "one of Aliyun_AES_256"}


def test_unknown_attributes_break_allow_lists_but_not_deny_lists():
    keys = [{"key_id": "k", "key_arn": ARN.format(region="cn-hangzhou", key_id="k"), "region": "cn-hangzhou",
             "key_state": None, "key_spec": None}]
    assert broken({"allowed_specs": ["Aliyun_AES_256"], "forbidden_states": ["Disabled"]}, keys) == [("k", "allowed_specs")]
    assert kms_violations(keys, {"allowed_specs": ["Aliyun_AES_256"]})[0]["actual"] is None


def test_violations_follow_key_order_then_rule_order():
    violations = kms_violations(KEYS, {"allowed_specs": ["Aliyun_AES_256"], "forbidden_states": ["PendingDeletion"]})
    assert [(v["key_id"], v["rule"]) for v in violations] == [
        ("hz-doomed", "forbidden_states"), ("hz-doomed", "allowed_specs"), ("sh-yearly", "allowed_specs"),
        ("sh-wallet", "allowed_specs")]


def test_no_rules_no_violations():
    assert kms_violations(KEYS, {}) == []
    assert kms_violations([], {"forbidden_states": ["Disabled"]}) == []


# --- exemptions ----------------------------------------------------------------------------------

def test_exemptions_by_id_or_arn_for_every_rule_or_some():
    policy = {"forbidden_states": ["PendingDeletion", "Disabled"], "allowed_specs": ["Aliyun_AES_256"]}
    exempt = [{"key_id": "hz-doomed", "reason": "SEC-1: retiring"},
              {"key_id": ARN.format(region="cn-shanghai", key_id="sh-wallet"), "reason": "SEC-2: HSM wallet", "rules": ["allowed_specs"]},
              {"key_id": "hz-disabled", "reason": "SEC-3", "rules": ["allowed_specs"]}]
    assert broken(policy, exempt=exempt) == [("hz-disabled", "forbidden_states"), ("sh-yearly", "allowed_specs")]
    report = kms_compliance_report(KEYS, policy, exempt)
    assert [(e["key_id"], e["rule"], e["reason"]) for e in report["exempted"]] == [
        ("hz-doomed", "forbidden_states", "SEC-1: retiring"), ("hz-doomed", "allowed_specs", "SEC-1: retiring"),
        ("sh-wallet", "allowed_specs", "SEC-2: HSM wallet")]
    assert report["unused_exemptions"] == []
    assert report["summary"]["exempted"] == 3 and report["summary"]["violations"] == 2


def test_exempting_every_violation_makes_the_verdict_compliant():
    exempt = [{"key_id": "hz-doomed", "reason": "SEC-1"}]
    report = kms_compliance_report(KEYS, {"forbidden_states": ["PendingDeletion"]}, exempt)
    assert report["verdict"] == "compliant" and report["violations"] == [] and len(report["exempted"]) == 1


def test_exemptions_that_match_no_key_are_listed():
    report = kms_compliance_report(KEYS, {"forbidden_states": ["Disabled"]}, [{"key_id": "gone", "reason": "old ticket"}])
    assert report["unused_exemptions"] == ["gone"]


@pytest.mark.parametrize("exempt, message", [
    ([{"key_id": "k"}], "a reason is required"),
    ([{"key_id": "k", "reason": "  "}], "a reason is required"),
    ([{"reason": "why"}], "key_id is required"),
    ([{"key_id": "k", "reason": "r", "rules": ["rotation"]}], "unknown rule(s) rotation"),
    ([{"key_id": "k", "reason": "r", "until": "2030"}], "unknown field(s) until"),
    (["k"], "must be a dict with key_id and reason"),
])
def test_bad_exemptions_fail_with_a_clear_message(exempt, message):
    with pytest.raises(AnsibleFilterError) as caught:
        kms_violations(KEYS, {"forbidden_states": ["Disabled"]}, exempt)
    assert message in str(caught.value)


# --- the report ----------------------------------------------------------------------------------

def test_report_counts_per_region_and_rule():
    policy = {"forbidden_states": ["PendingDeletion"], "allowed_specs": ["Aliyun_AES_256", "Aliyun_SM4"], "require_rotation": True}
    report = kms_compliance_report(KEYS, policy, [{"key_id": "sh-wallet", "reason": "SEC-9"}],
                                   ["ap-southeast-1", "cn-shanghai", "cn-hangzhou"])
    summary = report["summary"]
    assert report["verdict"] == "non_compliant"
    assert (summary["key_count"], summary["region_count"], summary["checks"]) == (7, 3, 21)
    assert summary["rules"] == ["forbidden_states", "allowed_specs", "require_rotation"]
    assert (summary["violations"], summary["exempted"], summary["non_compliant_keys"], summary["compliant_keys"]) == (3, 1, 2, 5)
    assert list(summary["by_region"]) == ["ap-southeast-1", "cn-shanghai", "cn-hangzhou"]
    assert summary["by_region"]["ap-southeast-1"] == {"key_count": 0, "violations": 0, "exempted": 0, "non_compliant_keys": 0,
                                                      "key_state": {}, "key_spec": {}}
    assert summary["by_region"]["cn-hangzhou"] == {
        "key_count": 4, "violations": 3, "exempted": 0, "non_compliant_keys": 2,
        "key_state": {"Enabled": 2, "Disabled": 1, "PendingDeletion": 1}, "key_spec": {"Aliyun_AES_256": 3, "RSA_2048": 1}}
    assert summary["by_region"]["cn-shanghai"]["key_state"] == {"Enabled": 2, "PendingImport": 1}
    assert summary["by_region"]["cn-shanghai"]["key_spec"] == {"Aliyun_AES_256": 1, "Aliyun_SM4": 1, "EC_P256K": 1}
    assert summary["by_rule"] == {
        "forbidden_states": {"expected": "none of PendingDeletion", "checked": 7, "passed": 6, "violations": 1, "exempted": 0, "not_applicable": 0},
        "allowed_specs": {"expected": "one of Aliyun_AES_256, Aliyun_SM4", "checked": 7, "passed": 5, "violations": 1, "exempted": 1, "not_applicable": 0},
        "require_rotation": {"expected": "Enabled", "checked": 7, "passed": 2, "violations": 1, "exempted": 0, "not_applicable": 4},
    }
    assert summary["by_region"]["cn-shanghai"]["exempted"] == 1
    assert [(v["key_id"], v["rule"]) for v in report["violations"]] == [
        ("hz-disabled", "require_rotation"), ("hz-doomed", "forbidden_states"), ("hz-doomed", "allowed_specs")]


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
    assert set(filters) == {"kms_compliance_plan", "kms_violations", "kms_compliance_report"}
    env = jinja2.Environment()
    env.filters.update(filters)
    out = env.from_string("{{ (keys | kms_violations(policy, exempt) | map(attribute='key_id') | join(',')) }}"
                          "/{{ (policy | kms_compliance_plan).facets | join(',') }}").render(
        keys=KEYS, policy={"allowed_usages": ["ENCRYPT/DECRYPT"]}, exempt=[{"key_id": "sh-wallet", "reason": "r"}])
    assert out == "hz-doomed/key_state,key_spec,key_usage"


# --- properties ------------------------------------------------------------------------------------

STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingImport")
SPECS = ("Aliyun_AES_256", "Aliyun_SM4", "RSA_2048", "EC_P256", "EC_P256K", "EC_SM2")
records = st.lists(st.builds(
    lambda i, region, state, spec, creator, rotation, days, protection: key(
        "k%d" % i, region=region, key_state=state, key_spec=spec, creator_type=creator, automatic_rotation=rotation,
        rotation_interval="%ds" % (days * 86400), deletion_protection=protection),
    st.integers(0, 10 ** 6), st.sampled_from(("cn-hangzhou", "cn-shanghai")), st.sampled_from(STATES), st.sampled_from(SPECS),
    st.sampled_from(("User", "Service")), st.sampled_from(("Enabled", "Disabled", "Suspended")), st.integers(7, 400),
    st.sampled_from(("Enabled", "Disabled"))), max_size=12, unique_by=lambda k: k["key_id"])
policies = st.fixed_dictionaries({}, optional={
    "forbidden_states": st.lists(st.sampled_from(STATES), unique=True),
    "allowed_specs": st.lists(st.sampled_from(SPECS), unique=True),
    "require_rotation": st.booleans(),
    "max_rotation_interval_days": st.integers(1, 400),
    "require_deletion_protection": st.booleans(),
})


@settings(max_examples=150, deadline=None)
@given(records, policies, st.data())
def test_every_check_is_counted_once_and_exemptions_only_move_violations(keys, policy, data):
    exempt_ids = data.draw(st.lists(st.sampled_from([k["key_id"] for k in keys]), unique=True) if keys else st.just([]))
    exempt = [{"key_id": k, "reason": "ticket"} for k in exempt_ids]
    plain, report = kms_compliance_report(keys, policy), kms_compliance_report(keys, policy, exempt)
    rules = report["summary"]["rules"]
    assert len(report["checks"]) == len(keys) * len(rules)
    for stats in report["summary"]["by_rule"].values():
        assert stats["checked"] == stats["passed"] + stats["violations"] + stats["exempted"] + stats["not_applicable"] == len(keys)
    moved = sorted((v["key_id"], v["rule"]) for v in report["violations"] + report["exempted"])
    assert moved == sorted((v["key_id"], v["rule"]) for v in plain["violations"])
    assert all(v["key_id"] in exempt_ids for v in report["exempted"])
    assert not any(v["key_id"] in exempt_ids for v in report["violations"])
    assert sum(r["violations"] for r in report["summary"]["by_region"].values()) == len(report["violations"])
    assert report["verdict"] == ("non_compliant" if report["violations"] else "compliant")
    if "forbidden_states" in rules:
        assert sorted(v["key_id"] for v in plain["violations"] if v["rule"] == "forbidden_states") == sorted(
            k["key_id"] for k in keys if k["key_state"] in policy["forbidden_states"])
