"""kms_compliance_documents: the role's report in one evaluation, and its per-key parts rendered (hand-written cases)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import jsonschema

from ansible_collections.alicloud.kms.plugins.filter.compliance import kms_compliance_documents, kms_compliance_report

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "roles" / "compliance" / "files" / "kms-compliance.schema.json").read_text()
)
ACCOUNT = "1234567890123456"
NOW = "2026-11-28T00:00:00Z"
RUN = "00000000-0000-4000-8000-000000000001"


def key(key_id, **fields):
    arn = "acs:kms:cn-hangzhou:%s:key/%s" % (ACCOUNT, key_id)
    return dict({"key_id": key_id, "key_arn": arn, "region": "cn-hangzhou", "account_id": ACCOUNT}, **fields)


KEYS = [
    key("k-good", key_state="Enabled", aliases=["alias/good", "alias/other"], description="orders"),
    key("k-gone", key_state="PendingDeletion", description="old <reports> & \x01co"),
    key("k-bare", key_state="PendingDeletion"),
]
POLICY = {"forbidden_states": ["PendingDeletion"]}
EXEMPT = [{"key_id": "k-bare", "reason": "SEC-1"}]


def documents(**options):
    return kms_compliance_documents(KEYS, POLICY, EXEMPT, ["cn-hangzhou"], now=NOW, run_id=RUN, **options)


def test_the_result_is_the_report_without_its_checks_and_with_the_run():
    result = documents()["result"]
    full = kms_compliance_report(KEYS, POLICY, EXEMPT, ["cn-hangzhou"], now=NOW)
    assert "checks" not in result and result["run_id"] == RUN
    # and what the run remediated, none here
    assert result == dict((k, v) for k, v in full.items() if k != "checks") | {"run_id": RUN, "remediation": None}
    assert [(v["key_id"], v["account_id"]) for v in result["violations"]] == [("k-gone", ACCOUNT)]


def test_the_json_report_is_whole_and_matches_the_schema():
    report = json.loads(documents()["json"])
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert (report["run_id"], report["generated_at"], report["verdict"]) == (RUN, NOW, "non_compliant")
    assert report["keys"] == KEYS and report["changes"] is None  # the values as they are, control character too
    assert list(report)[:5] == ["report", "format_version", "run_id", "generated_at", "verdict"]


def test_junit_test_cases_name_keys_by_alias_and_description_and_stay_well_formed():
    cases = documents()["junit"]["forbidden_states"]
    root = ElementTree.fromstring("<testsuite>%s</testsuite>" % cases)
    names = [c.get("name") for c in root]
    assert names == [
        "forbidden_states: k-good - alias/good (orders)",
        "forbidden_states: k-gone - old <reports> & \ufffdco",
        "forbidden_states: k-bare",
    ]
    good, gone, bare = root
    assert len(good) == 0 and gone[0].tag == "failure" and bare[0].tag == "skipped"
    assert gone[0].get("message") == "k-gone: PendingDeletion, expected none of PendingDeletion"
    assert bare[0].get("message") == "exempt: SEC-1"
    assert {c.get("classname") for c in root} == {"kms.cn-hangzhou"}
    across = kms_compliance_documents(KEYS, POLICY, now=NOW, accounts=[ACCOUNT])["junit"]["forbidden_states"]
    assert 'classname="kms.%s.cn-hangzhou"' % ACCOUNT in across


def test_html_rows_escape_values_and_carry_the_key_s_name():
    html = documents()["html"]
    assert html["violations"].count("<tr>") == 1 and html["exempted"].count("<tr>") == 1
    assert html["keys"].count("<tr>") == 3
    assert '<td class="key-name">old &lt;reports&gt; &amp; \ufffdco</td>' in html["violations"]
    assert '<td class="key-name">alias/good (orders)</td>' in html["keys"]
    assert '<td class="key-name"><span class="none">-</span></td>' in html["exempted"]


def test_changes_rows_name_a_removed_key_from_the_baseline():
    baseline = json.loads(documents()["json"])
    later = kms_compliance_documents(KEYS[:1], POLICY, EXEMPT, ["cn-hangzhou"], now=NOW, baseline=baseline, run_id=RUN)
    assert later["result"]["changes"]["baseline"] == {"generated_at": NOW, "run_id": RUN}
    rows = later["changes"]
    assert rows["removed_keys"].count("<tr>") == 2 and "old &lt;reports&gt;" in rows["removed_keys"]
    assert rows["resolved_violations"].count("<tr>") == 1 and rows["new_keys"] == ""
