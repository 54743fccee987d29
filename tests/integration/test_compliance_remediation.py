"""The compliance role's remediation (kms_compliance_remediate) against the demo seed: planned under --check with no
write, applied otherwise with the verdict judged on the keys read again, exempted keys never changed, what cannot be
fixed reported with its reason, and a second run that has nothing left to write."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import jsonschema

from conftest import SCHEMA

REGIONS = ["cn-hangzhou", "cn-shanghai", "ap-southeast-1"]
POLICY = {"forbidden_states": ["PendingDeletion"], "require_rotation": True, "require_deletion_protection": True}
FIXES = ["forbidden_states", "require_rotation", "require_deletion_protection"]
WRITES = ("UpdateRotationPolicy", "SetDeletionProtection", "CancelKeyDeletion")


def writes(emulator):
    return [r["action"] for r in emulator.stats()["requests"] if r["action"] in WRITES and r["status"] == 200]


def fixable(report):
    """(key_id, rule) of every violation a fix applies to: its rule is remediated, and forbidden_states only for a
    key PendingDeletion."""
    return sorted(
        (v["key_id"], v["rule"])
        for v in report["violations"]
        if v["rule"] in FIXES and (v["rule"] != "forbidden_states" or v["actual"] == "PendingDeletion")
    )


def entries(report, status=None):
    return sorted((e["key_id"], e["rule"]) for e in report["remediation"] if status in (None, e["status"]))


def test_check_mode_plans_every_fix_and_writes_nothing(ansible, emulator):
    result, report = ansible.role(POLICY, regions=REGIONS, remediate=FIXES, args=["--check"])
    assert result.rc == 0, result.stdout
    jsonschema.validate(report, SCHEMA)
    assert writes(emulator) == []
    assert entries(report) == fixable(report) and entries(report, "planned")
    planned = dict(((e["key_id"], e["rule"]), e) for e in report["remediation"])
    for (key_id, rule), entry in planned.items():
        if entry["status"] == "planned" and rule == "require_rotation":
            assert entry["change"] == {"automatic_rotation": ["Disabled", "Enabled"]}, entry
        if entry["status"] == "planned" and rule == "forbidden_states":
            assert entry["change"] == {"key_state": ["PendingDeletion", "Enabled"]}, entry
    # what cannot be fixed says why, before any write: a key of a hardware instance does not rotate
    failed = [e for e in report["remediation"] if e["status"] == "failed"]
    assert failed and all(e["code"] == "NotRemediable" and e["message"] for e in failed), failed
    assert "Remediation: 0 fixed in this run, %d would fix (check mode)" % len(entries(report, "planned")) in (
        result.stdout
    )
    html = (ansible.tmp / "report" / "kms-compliance.html").read_text()
    assert html.index('id="remediation"') < html.index('id="total-keys"') and "Would fix" in html


def test_apply_fixes_the_keys_and_judges_them_read_again(ansible, emulator):
    doomed = [k for k in emulator.backend.default_account.keys["cn-hangzhou"] if k.key_state == "PendingDeletion"]
    exempt = [{"key_id": doomed[0].key_id, "reason": "SEC-9: retiring", "rules": ["forbidden_states"]}]
    _result, before = ansible.role(POLICY, exempt, regions=REGIONS)
    result, report = ansible.role(POLICY, exempt, regions=REGIONS, remediate=FIXES)
    assert result.rc == 0, result.stdout
    jsonschema.validate(report, SCHEMA)
    applied = entries(report, "applied")
    assert applied and set(fixable(before)) <= set(entries(report))
    # beyond what the listing found: keys whose deletion was cancelled are Enabled again, and then get their
    # deletion protection in the same run
    cancelled = set(k for k, rule in applied if rule == "forbidden_states")
    extra = set(entries(report)) - set(fixable(before))
    assert extra and all(k in cancelled and rule != "forbidden_states" for k, rule in extra), extra
    assert sorted(set(writes(emulator))) == sorted(WRITES)
    # the verdict is the service's after the writes: no applied fix is still a violation
    assert not set(applied) & set((v["key_id"], v["rule"]) for v in report["violations"])
    assert set(entries(report, "failed")) <= set((v["key_id"], v["rule"]) for v in report["violations"])
    # the exempted key is still pending deletion
    assert emulator.backend.find_key(doomed[0].account_id, "cn-hangzhou", doomed[0].key_id).key_state == (
        "PendingDeletion"
    )
    assert doomed[0].key_id not in [key_id for key_id, _rule in applied]
    # JUnit says which cases were fixed in this run
    root = ElementTree.parse(ansible.tmp / "report" / "kms-compliance.xml").getroot()
    outs = [c.find("system-out").text for c in root.iter("testcase") if c.find("system-out") is not None]
    assert len([o for o in outs if o.startswith("fixed in this run: ")]) == len(applied)
    assert "Fixed in this run" in (ansible.tmp / "report" / "kms-compliance.html").read_text()

    sent = writes(emulator)
    result, again = ansible.role(POLICY, exempt, regions=REGIONS, remediate=FIXES)
    assert result.rc == 0 and writes(emulator) == sent, result.stdout  # nothing left to write
    assert entries(again, "applied") == [] and entries(again) == entries(report, "failed")


def test_a_rule_to_remediate_must_be_in_the_policy(ansible, emulator):
    result, _report = ansible.role({"require_rotation": True}, regions=REGIONS, remediate=["forbidden_states"])
    assert result.rc != 0 and "kms_compliance_remediate: forbidden_states not in the policy" in result.stdout
    assert emulator.stats()["total"] == 0


def test_the_fact_carries_the_remediation(ansible, emulator):
    result, report = ansible.role(POLICY, regions=REGIONS, remediate=FIXES, args=["--check"])
    assert result.rc == 0
    path = ansible.tmp / "report" / "kms-compliance.json"
    assert json.loads(path.read_text())["remediation"] == report["remediation"]


def test_a_key_that_changed_since_the_listing_is_read_again_not_overwritten(ansible, emulator):
    policy, region = {"require_rotation": True}, "cn-hangzhou"
    _result, planned = ansible.role(policy, regions=[region], remediate=["require_rotation"], args=["--check"])
    target = entries(planned, "planned")[0][0]
    account = emulator.backend.default_account.account_id
    described = len(emulator.backend.default_account.keys[region])  # one DescribeKey per key, gathering details

    def disable(emu, _entry):  # after the listing read the key, before its fix is sent
        emu.backend.update_key(account, region, target, key_state="Disabled")

    emulator.on_request(disable, after=described, action="DescribeKey")
    result, report = ansible.role(policy, regions=[region], remediate=["require_rotation"])
    assert result.rc == 0, result.stdout
    entry = [e for e in report["remediation"] if e["key_id"] == target][0]
    # the refused write made the key be read again: Disabled now, so no rotation is written for it
    assert entry["status"] == "failed" and entry["code"] == "NotRemediable" and "Disabled" in entry["message"], entry
    key = emulator.backend.find_key(account, region, target)
    assert (key.key_state, key.automatic_rotation) == ("Disabled", "Disabled")
    assert len(entries(report, "applied")) == len(entries(planned, "planned")) - 1
