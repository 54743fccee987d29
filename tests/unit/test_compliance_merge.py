"""Merging the slices of one run (plugin_utils/_compliance_merge.py): what a slice must be, and what the merge takes
from the slices. The merge against the emulator, under ansible-runner, is tests/integration/test_runner.py."""

from __future__ import annotations

import json

import pytest

from ansible_collections.alicloud.kms.plugins.filter.compliance import kms_compliance_documents
from ansible_collections.alicloud.kms.plugins.plugin_utils._compliance_merge import MergeError, merge

POLICY = {"forbidden_states": ["PendingDeletion"], "secret_require_rotation": True}


def key(account, key_id, state="Enabled"):
    return {
        "key_id": key_id,
        "key_arn": "acs:kms:cn-hangzhou:%s:key/%s" % (account, key_id),
        "region": "cn-hangzhou",
        "account_id": account,
        "key_state": state,
    }


def secret(account, name, rotation):
    return {
        "secret_name": name,
        "arn": "acs:kms:cn-hangzhou:%s:secret/%s" % (account, name),
        "region": "cn-hangzhou",
        "account_id": account,
        "secret_type": "Rds",
        "automatic_rotation": rotation,
    }


def write_slice(tmp_path, account, now, keys, secrets, policy=None, exempt=()):
    policy = POLICY if policy is None else policy
    text = kms_compliance_documents(
        keys, policy, list(exempt), ["cn-hangzhou"], None, [account], None, now, secrets=secrets
    )["json"]
    directory = tmp_path / account
    directory.mkdir()
    (directory / "kms-compliance.json").write_text(text)
    return str(directory)


A, B = "1111222233334444", "5555666677778888"


def test_the_slices_records_exemptions_and_oldest_time(tmp_path):
    exempt = [{"key_id": "k-a2", "reason": "SEC-1"}, {"secret_name": "nowhere", "reason": "SEC-2"}]
    first = write_slice(
        tmp_path,
        A,
        "2026-12-07T10:00:00Z",
        [key(A, "k-a1"), key(A, "k-a2", "PendingDeletion")],
        [secret(A, "s", "Disabled")],
        exempt=exempt,
    )
    write_slice(tmp_path, B, "2026-12-07T09:00:00Z", [key(B, "k-b1", "PendingDeletion")], [], exempt=exempt)
    merged = merge([first, str(tmp_path / "5555*")])
    assert [k["key_id"] for k in merged["records"]] == ["k-a1", "k-a2", "k-b1"]
    assert [s["secret_name"] for s in merged["secrets"]] == ["s"]
    assert merged["accounts"] == [A, B] and merged["regions"] == ["cn-hangzhou"]
    assert merged["generated"] == "2026-12-07T09:00:00Z" and merged["policy"] == POLICY
    assert merged["exempt_keys"] == [
        {"key_id": "acs:kms:cn-hangzhou:%s:key/k-a2" % A, "reason": "SEC-1", "rules": ["forbidden_states"]},
        {"key_id": "nowhere", "reason": "unused in every slice", "rules": None},
    ]


@pytest.mark.parametrize(
    "second, message",
    [
        (dict(account=A), "account %s is in slice" % A),
        (dict(policy={"forbidden_states": ["Disabled"]}), "its policy is not the policy of"),
    ],
)
def test_slices_share_one_policy_and_cover_disjoint_accounts(tmp_path, second, message):
    first = write_slice(tmp_path, A, "2026-12-07T10:00:00Z", [key(A, "k-a1")], [])
    (tmp_path / "other").mkdir()
    other = write_slice(
        tmp_path / "other",
        B,
        "2026-12-07T10:00:00Z",
        [key(second.get("account", B), "k-x")],
        [],
        policy=second.get("policy", POLICY),
    )
    with pytest.raises(MergeError, match=message):
        merge([first, other])


def test_what_is_not_a_slice_is_named(tmp_path):
    with pytest.raises(MergeError, match="no kms-compliance.json"):
        merge([str(tmp_path)])
    with pytest.raises(MergeError, match="matches no directory"):
        merge([str(tmp_path / "none-*")])
    (tmp_path / "kms-compliance.json").write_text(json.dumps({"report": "alicloud.kms.compliance", "keys": []}))
    with pytest.raises(MergeError, match="its violations is not a list"):
        merge([str(tmp_path)])
    with pytest.raises(MergeError, match="no slice"):
        merge([])
