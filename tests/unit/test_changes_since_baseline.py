"""changes(): what changed since a baseline report, and what is out of the run's scope (hand-written cases)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.alicloud.kms.plugins.plugin_utils._compliance_changes import (
    BaselineError,
    changes,
    parse_baseline,
)

A, B = "1111222233334444", "5555666677778888"


def key(key_id, account=A, region="cn-hangzhou", **fields):
    arn = "acs:kms:%s:%s:key/%s" % (region, account, key_id)
    return dict({"key_id": key_id, "key_arn": arn, "account_id": account, "region": region}, **fields)


def violation(key_id, rule, account=A, region="cn-hangzhou"):
    return dict(key(key_id, account, region), rule=rule, actual="x", expected="y")


def report(keys, violations):
    return {
        "report": "alicloud.kms.compliance",
        "generated_at": "2026-11-01T00:00:00Z",
        "run_id": "r1",
        "keys": keys,
        "violations": violations,
    }


def refs(entries):
    return sorted((e["account_id"], e["region"], e["key_id"]) + ((e["rule"],) if "rule" in e else ()) for e in entries)


def test_new_removed_new_and_resolved_and_changed():
    before = report(
        [key("k1", key_state="Enabled"), key("k2"), key("k3", deletion_protection="Disabled")],
        [violation("k2", "require_alias"), violation("k3", "require_deletion_protection")],
    )
    keys = [key("k1", key_state="Disabled"), key("k3", deletion_protection="Enabled"), key("k4")]
    now = [violation("k4", "require_alias"), violation("k1", "forbidden_states")]
    found = changes(before, keys, now)
    assert found["baseline"] == {"generated_at": "2026-11-01T00:00:00Z", "run_id": "r1"}
    assert refs(found["new_keys"]) == [(A, "cn-hangzhou", "k4")]
    assert refs(found["removed_keys"]) == [(A, "cn-hangzhou", "k2")]
    assert refs(found["new_violations"]) == [
        (A, "cn-hangzhou", "k1", "forbidden_states"),
        (A, "cn-hangzhou", "k4", "require_alias"),
    ]
    assert refs(found["resolved_violations"]) == [
        (A, "cn-hangzhou", "k2", "require_alias"),
        (A, "cn-hangzhou", "k3", "require_deletion_protection"),
    ]
    assert [(e["key_id"], e["changes"]) for e in found["changed_keys"]] == [
        ("k1", {"key_state": ["Enabled", "Disabled"]}),
        ("k3", {"deletion_protection": ["Disabled", "Enabled"]}),
    ]


def test_a_key_is_the_same_key_only_in_the_same_account_and_region():
    before = report([key("k1", A), key("k1", A, "cn-shanghai")], [])
    found = changes(before, [key("k1", B)], [])
    assert refs(found["new_keys"]) == [(B, "cn-hangzhou", "k1")]
    assert refs(found["removed_keys"]) == [(A, "cn-hangzhou", "k1"), (A, "cn-shanghai", "k1")]


def test_fields_either_run_did_not_gather_are_not_compared():
    before = report([key("k1", key_state="Enabled"), key("k2", key_spec="RSA_2048")], [])
    found = changes(before, [key("k1"), key("k2", key_spec=None, key_state="Enabled")], [])
    assert found["changed_keys"] == []


def test_what_the_run_did_not_assess_or_ask_for_is_neither_removed_nor_resolved():
    before = report(
        [key("a1"), key("a2", region="cn-shanghai"), key("b1", B), key("b2", B, "cn-beijing")],
        [violation("a2", "r", region="cn-shanghai"), violation("b1", "r", B), violation("b2", "r", B, "cn-beijing")],
    )
    # asked for cn-hangzhou and cn-beijing; B's cn-beijing not assessed; A whole
    not_assessed = [{"account_id": B, "region": "cn-beijing"}]
    found = changes(before, [], [], regions=["cn-hangzhou", "cn-beijing"], not_assessed=not_assessed)
    assert refs(found["removed_keys"]) == [(A, "cn-hangzhou", "a1"), (B, "cn-hangzhou", "b1")]
    assert refs(found["resolved_violations"]) == [(B, "cn-hangzhou", "b1", "r")]
    # a whole account not assessed, and accounts asked for by ID
    found = changes(before, [], [], not_assessed=[{"account_id": B, "region": None}])
    assert {e["account_id"] for e in found["removed_keys"]} == {A}
    found = changes(before, [], [], accounts=[B])
    assert {e["account_id"] for e in found["removed_keys"]} == {B}
    # all regions: every region is in scope
    assert len(changes(before, [], [], regions=["all"])["removed_keys"]) == 4


def test_the_arn_fills_what_an_older_entry_leaves_out():
    old = violation("k1", "r")
    del old["account_id"]
    found = changes(report([key("k1")], [old]), [key("k1")], [violation("k1", "r")])
    assert found["new_violations"] == [] and found["resolved_violations"] == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "not JSON"),
        ("[]", "not a kms-compliance.json report"),
        (json.dumps({"report": "other"}), "not a kms-compliance.json report"),
        (json.dumps({"report": "alicloud.kms.compliance", "keys": [], "violations": None}), "its violations is not"),
        (json.dumps({"report": "alicloud.kms.compliance", "keys": [1], "violations": []}), "its keys is not"),
    ],
)
def test_a_baseline_must_be_a_report(text, message):
    with pytest.raises(BaselineError, match=message):
        parse_baseline(text)
    assert parse_baseline(json.dumps(report([], [])))["run_id"] == "r1"


def entry_error(keys=(), violations=()):
    """parse_baseline's error for a report with these entries (its text, as the role passes it)."""
    with pytest.raises(BaselineError) as caught:
        parse_baseline(json.dumps(report(list(keys), list(violations))))
    return str(caught.value)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("key_id", ["x"], "keys[1].key_id is not a KMS key ID or null (got a list)"),
        ("key_id", "../k1", "keys[1].key_id is not a KMS key ID or null (got '../k1')"),
        ("key_id", "k1\n", "keys[1].key_id is not a KMS key ID or null"),
        ("account_id", 1111222233334444, "keys[1].account_id is not a 16-digit account ID or null (got an int)"),
        ("account_id", "{{ lookup('pipe', 'id') }}", "keys[1].account_id is not a 16-digit account ID"),
        ("region", {"cn": "hangzhou"}, "keys[1].region is not a region ID like cn-hangzhou or null (got a dict)"),
        ("region", "x" * 41, "keys[1].region is not a region ID like cn-hangzhou or null (got a string of 41 char"),
        ("key_arn", "acs:kms:cn-hangzhou:1:key/k1", "keys[1].key_arn is not a key ARN acs:kms:<region>:<account ID>"),
        ("key_arn", ["acs:kms:cn-hangzhou:%s:key/k1" % A], "keys[1].key_arn is not a key ARN"),
        ("key_state", ["Enabled"], "keys[1].key_state is not a string, number or boolean (got a list)"),
        ("deletion_protection", {"on": True}, "keys[1].deletion_protection is not a string, number or boolean"),
        ("description", ["x"], "keys[1].description is not a string, number or boolean"),
        ("aliases", "alias/x", "keys[1].aliases is not a list of alias names (got 'alias/x')"),
        ("aliases", [["alias/x"]], "keys[1].aliases is not a list of alias names (got a list)"),
    ],
)
def test_every_entry_of_a_baseline_is_checked_field_by_field(field, value, message):
    assert message in entry_error([key("k0"), dict(key("k1"), **{field: value})])


def test_a_baseline_entry_names_one_key_its_arn_agrees_with():
    assert entry_error([dict(key("k1"), key_id="k2")]) == "keys[0].key_id is not the one its key_arn names (k1)"
    assert entry_error([dict(key("k1"), region="cn-shanghai")]) == (
        "keys[0].region is not the one its key_arn names (cn-hangzhou)"
    )
    assert "keys[0].account_id is not the one its key_arn names (%s)" % A in entry_error(
        [dict(key("k1"), account_id=B)]
    )
    assert entry_error([{"region": "cn-hangzhou"}]) == "keys[0] has neither key_id nor key_arn"
    # what identifies a key may be left out (an older report, a run that did not learn the account)
    older = {"key_arn": key("k1")["key_arn"], "account_id": None, "region": None}
    assert parse_baseline(report([older, {"key_id": "k2"}], []))["keys"][0] == older


def test_a_baseline_violation_names_a_rule_of_the_role():
    assert entry_error(violations=[violation("k1", "no_such_rule")]) == (
        "violations[0].rule is not a rule of this role (got 'no_such_rule')"
    )
    assert "violations[0].rule is not a rule of this role (got a list)" in entry_error(
        violations=[violation("k1", ["require_alias"])]
    )
    assert "violations[0].rule is not a rule of this role (got null)" in entry_error(
        violations=[dict(key("k1"), actual="x")]
    )
    assert "violations[0].key_id is not a KMS key ID" in entry_error(
        violations=[dict(violation("k1", "require_alias"), key_id=["k1"])]
    )


def test_a_baseline_nested_too_deeply_or_with_odd_run_fields_is_a_baseline_error():
    deep = '{"report": "alicloud.kms.compliance", "keys": %s, "violations": []}' % ("[" * 100000 + "]" * 100000)
    with pytest.raises(BaselineError, match="nested too deeply to be a kms-compliance.json"):
        parse_baseline(deep)
    with pytest.raises(BaselineError, match="its generated_at is not a string"):
        parse_baseline(dict(report([], []), generated_at=["2026"]))
    with pytest.raises(BaselineError, match="its run_id is not a string"):
        parse_baseline(dict(report([], []), run_id={"id": 1}))
