"""kms_compliance_merge_dirs: the reports of slices of one run (one account each) merged by the role into the report
one run over the same accounts writes; what may not be given with it. The slices under ansible-runner, as AWX job
slicing runs them, are in test_runner.py."""

from __future__ import annotations

import json

import jsonschema

from conftest import SCHEMA

MANAGEMENT, PAYMENTS = "1234567890123456", "2222333344445555"
REGIONS = ["cn-hangzhou", "cn-shanghai"]
POLICY = {"forbidden_states": ["PendingDeletion"], "secret_require_rotation": True, "instance_require_multi_zone": True}
EXEMPT = [{"secret_name": "payments/replica-polardb", "reason": "DB-3"}, {"key_id": "no-such-key", "reason": "SEC-9"}]


def ordered(entries):
    return sorted(entries, key=lambda e: json.dumps(e, sort_keys=True))


def test_two_slices_merged_are_one_run(ansible, emulator):
    slices = []
    for account in (MANAGEMENT, PAYMENTS):
        directory = ansible.tmp / "slices" / account
        result, _report = ansible.role(POLICY, EXEMPT, report_dir=directory, regions=REGIONS, accounts=[account])
        assert result.rc == 0, result.stdout + result.stderr
        slices.append(str(directory))
    requests = emulator.stats()["total"]
    result, merged = ansible.role({}, merge_dirs=[str(ansible.tmp / "slices" / "*")], connection=False)
    assert result.rc == 0, result.stdout + result.stderr
    assert emulator.stats()["total"] == requests
    jsonschema.Draft202012Validator(SCHEMA).validate(merged)
    result, single = ansible.role(POLICY, EXEMPT, regions=REGIONS, accounts=[MANAGEMENT, PAYMENTS])
    assert result.rc == 0, result.stdout + result.stderr
    assert (merged["verdict"], merged["summary"], merged["accounts"]) == (
        single["verdict"],
        single["summary"],
        single["accounts"],
    )
    for part in ("keys", "secrets", "instances", "violations", "exempted", "not_assessed"):
        assert ordered(merged[part]) == ordered(single[part]), part
    assert merged["unused_exemptions"] == single["unused_exemptions"] == ["no-such-key"]
    assert [e["secret_name"] for e in merged["exempted"]] == ["payments/replica-polardb"]


def test_what_comes_from_the_slices_is_not_given(ansible):
    directory = ansible.tmp / "slices" / MANAGEMENT
    result, _report = ansible.role(POLICY, report_dir=directory, regions=REGIONS, accounts=[MANAGEMENT])
    assert result.rc == 0, result.stdout + result.stderr
    result, _report = ansible.role({}, merge_dirs=[str(directory)], regions=REGIONS, report_dir=ansible.tmp / "m1")
    assert result.rc != 0 and "kms_compliance_merge_dirs: merges the reports of slices: kms_compliance_regions" in (
        result.stdout
    )
    result, _report = ansible.role(
        {"require_rotation": True}, merge_dirs=[str(directory)], report_dir=ansible.tmp / "m2"
    )
    assert (
        result.rc != 0
        and "kms_compliance_policy is not the policy of the slices in kms_compliance_merge_dirs" in result.stdout
    )
    result, _report = ansible.role({}, merge_dirs=[str(ansible.tmp / "none")], report_dir=ansible.tmp / "m3")
    assert result.rc != 0 and "no kms-compliance.json" in result.stdout
    assert not (ansible.tmp / "m3").exists()
