"""The rule pack (plugins/module_utils/_rules.py) key by key: pass, fail, not applicable and unknown, at a fixed time."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.alicloud.kms.plugins.filter.compliance import compliance_plan, kms_compliance_report

NOW = "2026-01-31T00:00:00Z"
ARN = "acs:kms:cn-hangzhou:1234567890123456:key/%s"


def key(key_id, **fields):
    record = {"key_id": key_id, "key_arn": ARN % key_id, "region": "cn-hangzhou", "account_id": "1234567890123456"}
    record.update(fields)
    return record


def judged(policy, *keys):
    return [
        (c["key_id"], c["status"], c["actual"]) for c in kms_compliance_report(list(keys), policy, now=NOW)["checks"]
    ]


def test_required_tags():
    policy = {"required_tags": {"env": ["prod", "staging"], "team": None}}
    assert judged(
        policy,
        key("ok", tags={"env": "prod", "team": "a"}),
        key("wrong", tags={"env": "dev", "team": "a"}),
        key("bare", tags={}),
        key("ungathered"),
    ) == [
        ("ok", "pass", "all required tags"),
        ("wrong", "fail", "env=dev"),
        ("bare", "fail", "no env, no team"),
        ("ungathered", "fail", "unknown"),
    ]


def test_require_alias():
    assert judged({"require_alias": True}, key("a", aliases=["alias/a"]), key("b", aliases=[]), key("c")) == [
        ("a", "pass", "alias/a"),
        ("b", "fail", "no alias"),
        ("c", "fail", "unknown"),
    ]


def test_require_description():
    assert judged({"require_description": True}, key("a", description="db"), key("b", description=" "), key("c")) == [
        ("a", "pass", "db"),
        ("b", "fail", "no description"),
        ("c", "fail", "unknown"),
    ]


def test_max_key_age_days():
    created = {"key_state": "Enabled", "creation_date": "2025-01-01T00:00:00Z"}
    assert judged(
        {"max_key_age_days": 365},
        key("never", last_rotation_date="2025-01-01T00:00:00Z", **created),
        key("rotated", last_rotation_date="2025-12-01T00:00:00Z", **created),
        key("young", key_state="Enabled", creation_date="2025-06-01T00:00:00Z"),
        key("waiting", key_state="PendingImport", creation_date="2020-01-01T00:00:00Z"),
        key("blind", key_state="Enabled"),
    ) == [
        ("never", "fail", "395 days (created 2025-01-01, never rotated)"),
        ("rotated", "pass", "61 days (last rotated 2025-12-01)"),
        ("young", "pass", "244 days (created 2025-06-01, never rotated)"),
        ("waiting", "not_applicable", "2020-01-01T00:00:00Z"),
        ("blind", "fail", "unknown"),
    ]


def test_min_material_validity_days():
    ext = {"origin": "EXTERNAL", "key_state": "Enabled"}
    assert judged(
        {"min_material_validity_days": 30},
        key("soon", material_expire_time="2026-02-10T00:00:00Z", **ext),
        key("later", material_expire_time="2026-06-01T00:00:00Z", **ext),
        key("gone", material_expire_time="2026-01-01T00:00:00Z", **ext),
        key("forever", **ext),
        key("kms", origin="Aliyun_KMS", key_state="Enabled"),
        key("blind"),
    ) == [
        ("soon", "fail", "expires 2026-02-10 (in 10 days)"),
        ("later", "pass", "expires 2026-06-01 (in 121 days)"),
        ("gone", "fail", "expired 2026-01-01"),
        ("forever", "pass", "never expires"),
        ("kms", "not_applicable", None),
        ("blind", "fail", "unknown"),
    ]


def test_forbid_public_key_policy():
    def policy(*principals):
        return {"Statement": [{"Sid": "s%d" % i, "Effect": "Allow", "Principal": p} for i, p in enumerate(principals)]}

    assert judged(
        {"forbid_public_key_policy": True},
        key("public", key_policy=policy({"RAM": ["acs:ram::1:*"]}, {"RAM": ["*"]})),
        key("star", key_policy=policy("*")),
        key("private", key_policy=policy({"RAM": ["acs:ram::1234567890123456:*"]})),
        key("denied", key_policy={"Statement": [{"Effect": "Deny", "Principal": {"RAM": "*"}}]}),
        key("none", key_policy=None),
        key("blind"),
    ) == [
        ("public", "fail", "allows * (s1)"),
        ("star", "fail", "allows * (s0)"),
        ("private", "pass", "no principal *"),
        ("denied", "pass", "no principal *"),
        ("none", "not_applicable", None),
        ("blind", "fail", "unknown"),
    ]


ALLOW_ALL = {"Sid": "open", "Effect": "Allow", "Principal": {"RAM": ["*"]}}


@pytest.mark.parametrize(
    "key_policy, why",
    [
        ({"Version": "1"}, "no Statement list"),
        ({"Statement": "Allow * kms:*"}, "no Statement list"),
        ({"Statement": 1}, "no Statement list"),
        ({"Statement": None}, "no Statement list"),
        ("{not a document}", "not a policy document"),
        ({"Statement": [ALLOW_ALL["Sid"]]}, "statement 1 is not a statement"),
        ({"Statement": [{"Effect": "Deny", "Principal": "*"}, ["x"]]}, "statement 2 is not a statement"),
        ({"Statement": [dict(ALLOW_ALL, Effect=None)]}, "statement 1 has no Effect Allow or Deny"),
        ({"Statement": [dict(ALLOW_ALL, Effect="Permit")]}, "statement 1 has no Effect Allow or Deny"),
        ({"Statement": [dict(ALLOW_ALL, Sid=["open"])]}, "statement 1 has a Sid that is not a string"),
        (
            {"Statement": [{"Effect": "Allow", "NotPrincipal": {"RAM": ["acs:ram::1:root"]}}]},
            "statement 1 has a Principal",
        ),
        ({"Statement": [dict(ALLOW_ALL, Principal=1)]}, "statement 1 has a Principal"),
        ({"Statement": [dict(ALLOW_ALL, Principal={"RAM": {"any": "*"}})]}, "statement 1 has a Principal"),
        ({"Statement": [dict(ALLOW_ALL, Principal={"RAM": ["acs:ram::1:*", 7]})]}, "statement 1 has a Principal"),
        ({"Statement": [dict(ALLOW_ALL, Principal={})]}, "statement 1 has a Principal"),
    ],
)
def test_a_key_policy_it_cannot_read_is_unknown_never_a_pass(key_policy, why):
    (check,) = kms_compliance_report([key("odd", key_policy=key_policy)], {"forbid_public_key_policy": True}, now=NOW)[
        "checks"
    ]
    assert (check["status"], check["actual"]) == ("fail", "unknown")
    assert check["note"].startswith("unreadable key policy: " + why), check["note"]


def test_a_key_policy_in_every_documented_shape_is_read():
    def judge(statement):
        return judged({"forbid_public_key_policy": True}, key("k", key_policy={"Statement": statement}))[0][1:]

    assert judge([]) == ("pass", "no principal *")  # allows nobody anything
    assert judge(ALLOW_ALL) == ("fail", "allows * (open)")  # one statement, not in a list
    assert judge([dict(ALLOW_ALL, Effect="allow", Principal=["acs:ram::1:*", " * "])]) == ("fail", "allows * (open)")
    assert judge([{"Effect": "Allow", "Principal": {"RAM": "*"}}]) == ("fail", "allows * (statement 1)")
    assert judge([{"Effect": "Deny", "Principal": "*"}, {"Effect": "Allow", "Principal": "acs:ram::1:*"}]) == (
        "pass",
        "no principal *",
    )


@pytest.mark.parametrize(
    "policy, gathered",
    [
        ({"required_tags": {"env": None}}, {"tags"}),
        ({"require_alias": True}, {"aliases"}),
        ({"forbid_public_key_policy": True}, {"key_policy"}),
        ({"require_description": True, "max_key_age_days": 9, "min_material_validity_days": 9}, {"details"}),
    ],
)
def test_the_plan_gathers_only_what_the_pack_reads(policy, gathered):
    plan = compliance_plan(policy)
    assert set(s for s in ("details", "aliases", "tags", "key_policy") if plan[s]) == gathered


@pytest.mark.parametrize(
    "policy, message",
    [
        ({"required_tags": ["env"]}, "required_tags must be a dict"),
        ({"required_tags": {"env": 3}}, "required_tags: env must be a value, a list of values or null"),
        ({"max_key_age_days": 0}, "max_key_age_days must be a whole number of days, 1 or more"),
        ({"min_material_validity_days": "soon"}, "min_material_validity_days must be a whole number"),
    ],
)
def test_bad_values_of_the_pack(policy, message):
    with pytest.raises(AnsibleFilterError, match=message):
        compliance_plan(policy)


def test_a_bad_now_is_an_error():
    with pytest.raises(AnsibleFilterError, match="now must be an ISO 8601 time"):
        kms_compliance_report([], {}, now="yesterday")
