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
