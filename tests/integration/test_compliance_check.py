"""alicloud.kms.compliance_check on its own: the step the compliance role runs, called as a module by the ansible CLI.

The role's tests (test_compliance*.py) cover the reports; these cover the step's own face: its options and errors,
its result, check mode, and that no secret reaches its output.
"""

from __future__ import annotations

import json

import pytest

from conftest import DEMO_KEY

REGIONS = ["cn-hangzhou", "cn-shanghai"]


def check(ansible, tmp_path, flags=(), **args):
    args.setdefault("regions", REGIONS)
    args.setdefault("report_dir", str(tmp_path / "report"))
    return ansible.module("compliance_check", flags=flags, **args)


def test_the_result_says_the_verdict_why_it_fails_and_where_the_reports_are(ansible, tmp_path):
    run = check(ansible, tmp_path, policy={"forbidden_states": ["PendingDeletion"]})
    assert run.rc == 0, run.stdout + run.stderr  # the verdict never fails the step
    result = run.result
    report = json.loads((tmp_path / "report" / "kms-compliance.json").read_text())
    assert result["verdict"] == report["verdict"] == "non_compliant" and result["changed"] is False
    assert result["run_id"] == report["run_id"]
    assert (
        result["reports"] == dict((n, str(tmp_path / "report" / n)) for n in result["reports"])
        and len(result["reports"]) == 3
    )
    assert result["failure"].startswith("KMS compliance: %d violation(s) of the policy" % len(report["violations"]))
    assert result["messages"][0].startswith(
        "KMS compliance: NON-COMPLIANT - %d violation(s)" % len(report["violations"])
    )
    facts = result["ansible_facts"]
    assert (
        list(facts) == ["kms_compliance_result"]
        and facts["kms_compliance_result"]["violations"] == report["violations"]
    )

    run = check(ansible, tmp_path, policy={"forbidden_states": ["PendingDeletion"]}, key_facts=True)
    assert sorted(run.result["ansible_facts"]["alicloud_kms_key_ids"]) == sorted(k["key_id"] for k in report["keys"])


def test_check_mode_writes_the_reports_too(ansible, tmp_path):
    run = ansible.module(
        "compliance_check", check=True, regions=REGIONS, report_dir=str(tmp_path / "r"), policy={}, **{}
    )
    assert run.rc == 0 and run.result["verdict"] == "compliant" and run.result["failure"] is None, run.stdout
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == sorted(run.result["reports"])


@pytest.mark.parametrize(
    "args, message",
    [
        ({"policy": {"no_such_rule": True}}, "policy: unknown rule(s) no_such_rule; known rules are forbidden_states"),
        ({"report_dir": " "}, "report_dir is empty"),
        ({"exclude_accounts": ["1234567890123456"]}, "exclude_accounts is set but accounts is empty"),
        ({"fail_on": "new"}, "fail_on is new, so baseline must name a readable kms-compliance.json"),
        ({"fail_on": "some"}, "value of fail_on must be one of: any, new, got: some"),
        ({"exempt_keys": [{"key_id": "k"}]}, "exempt_keys[0] (k): a reason is required"),
        ({"key_state": ["Enabled"]}, "Unsupported parameters"),  # the plan decides what to list
    ],
)
def test_bad_options_fail_naming_the_option_before_any_request(ansible, emulator, tmp_path, args, message):
    run = check(ansible, tmp_path, **args)
    assert run.rc != 0 and message in run.result["msg"], run.result
    assert emulator.stats()["total"] == 0
    assert not (tmp_path / "report").exists()


def test_no_secret_in_the_output_at_any_verbosity(ansible, tmp_path):
    proxy = "http://user:pr0xy-pa55@%s" % ansible.emu.url.split("://", 1)[1]
    run = check(ansible, tmp_path, flags=["-vvvv"], policy={"require_rotation": True}, http_proxy=proxy)
    assert run.rc == 0, run.stdout + run.stderr
    for secret in (DEMO_KEY[1], "pr0xy-pa55"):
        assert secret not in run.stdout + run.stderr
        assert all(secret not in p.read_text() for p in (tmp_path / "report").iterdir())
