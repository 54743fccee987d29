"""The alicloud.kms.compliance role and playbooks end to end: ansible-playbook against the emulator.

The emulator is seeded with a small world built here, so that the violations of every rule are known
exactly (written out by hand below, not computed by the code under test).
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
import zlib
from xml.etree import ElementTree

import jsonschema
import pytest

from conftest import DEMO_KEY, SCHEMA, browse, checks_of, run_ids
from emulator.server import Emulator

ACCOUNT = "1234567890123456"
REGIONS = ["cn-hangzhou", "cn-shanghai", "ap-southeast-1"]
AES, SM4 = "Aliyun_AES_256", "Aliyun_SM4"

# Nine keys in two regions, a third region without keys. Attributes not given take the emulator's defaults:
# Enabled, Aliyun_AES_256, ENCRYPT/DECRYPT, SOFTWARE, User, rotation Disabled, deletion protection Disabled.
SEED = {
    "regions": REGIONS,
    "accounts": [
        {
            "account_id": ACCOUNT,
            "access_keys": [{"id": DEMO_KEY[0], "secret": DEMO_KEY[1]}],
            "regions": {
                "cn-hangzhou": {
                    "keys": [
                        {
                            "key_id": "hz-good",
                            "protection_level": "HSM",
                            "automatic_rotation": "Enabled",
                            "rotation_interval": "7776000s",
                            "deletion_protection": "Enabled",
                        },
                        {"key_id": "hz-disabled", "key_state": "Disabled"},
                        {
                            "key_id": "hz-doomed",
                            "key_state": "PendingDeletion",
                            "key_spec": "RSA_2048",
                            "key_usage": "SIGN/VERIFY",
                            "protection_level": "HSM",
                        },
                        {"key_id": "hz-service", "creator_type": "Service", "creator": "Rds"},
                    ]
                },
                "cn-shanghai": {
                    "keys": [
                        {
                            "key_id": "sh-yearly",
                            "key_spec": SM4,
                            "automatic_rotation": "Enabled",
                            "rotation_interval": "31536000s",
                        },
                        {
                            "key_id": "sh-wallet",
                            "key_spec": "EC_P256K",
                            "key_usage": "SIGN/VERIFY",
                            "deletion_protection": "Enabled",
                        },
                        {"key_id": "sh-byok", "key_state": "PendingImport"},  # imported material: origin EXTERNAL
                        {
                            "key_id": "sh-signer",
                            "key_spec": "EC_P256",
                            "key_usage": "SIGN/VERIFY",
                            "protection_level": "HSM",
                            "deletion_protection": "Enabled",
                        },
                        {
                            "key_id": "sh-paused",
                            "automatic_rotation": "Suspended",
                            "rotation_interval": "15552000s",
                            "deletion_protection": "Enabled",
                        },
                    ]
                },
            },
        }
    ],
}
ALL_KEYS = [
    "hz-good",
    "hz-disabled",
    "hz-doomed",
    "hz-service",
    "sh-yearly",
    "sh-wallet",
    "sh-byok",
    "sh-signer",
    "sh-paused",
]

# rule -> (value, {key: (actual, expected)} of exactly the keys that break it, the ListKeys filter keys it uses;
# None: a detail rule, DescribeKey for every key and the creator_type facet, since DescribeKey has no CreatorType)
RULES = {
    "forbidden_states": (
        ["PendingDeletion", "Disabled"],
        {
            "hz-disabled": ("Disabled", "none of PendingDeletion, Disabled"),
            "hz-doomed": ("PendingDeletion", "none of PendingDeletion, Disabled"),
        },
        {"KeyState", "KeySpec"},
    ),
    "allowed_specs": (
        [AES, SM4, "EC_P256"],
        {
            "hz-doomed": ("RSA_2048", "one of Aliyun_AES_256, Aliyun_SM4, EC_P256"),
            "sh-wallet": ("EC_P256K", "one of Aliyun_AES_256, Aliyun_SM4, EC_P256"),
        },
        {"KeyState", "KeySpec"},
    ),
    "allowed_usages": (
        ["ENCRYPT/DECRYPT"],
        {
            "hz-doomed": ("SIGN/VERIFY", "one of ENCRYPT/DECRYPT"),
            "sh-wallet": ("SIGN/VERIFY", "one of ENCRYPT/DECRYPT"),
            "sh-signer": ("SIGN/VERIFY", "one of ENCRYPT/DECRYPT"),
        },
        {"KeyState", "KeySpec", "KeyUsage"},
    ),
    "required_protection_level": (
        "HSM",
        dict(
            (k, ("SOFTWARE", "HSM"))
            for k in ("hz-disabled", "hz-service", "sh-yearly", "sh-wallet", "sh-byok", "sh-paused")
        ),
        {"KeyState", "KeySpec", "ProtectionLevel"},
    ),
    "allowed_creator_types": (
        ["User"],
        {"hz-service": ("Service", "one of User")},
        {"KeyState", "KeySpec", "CreatorType"},
    ),
    # asymmetric (hz-doomed, sh-wallet, sh-signer), service (hz-service) and imported (sh-byok) keys do not rotate
    "require_rotation": (True, {"hz-disabled": ("Disabled", "Enabled"), "sh-paused": ("Suspended", "Enabled")}, None),
    "max_rotation_interval_days": (
        180,
        {
            "hz-disabled": ("no automatic rotation (Disabled)", "at most 180 days"),
            "sh-yearly": ("365 days", "at most 180 days"),
            "sh-paused": ("no automatic rotation (Suspended)", "at most 180 days"),
        },
        None,
    ),
    # Cloud Config's kms-key-delete-protection-enabled: Enabled keys the account created; hz-service is a service's,
    # hz-disabled, hz-doomed and sh-byok are not Enabled
    "require_deletion_protection": (True, {"sh-yearly": ("Disabled", "Enabled")}, None),
}
NOT_APPLICABLE = {"require_rotation": 5, "max_rotation_interval_days": 5, "require_deletion_protection": 4}


@pytest.fixture(scope="module")
def emulator():
    """This module's own world (overrides conftest's demo emulator for the `ansible` fixture)."""
    with Emulator(seed=SEED) as emu:
        yield emu


def arn(key_id):
    region = "cn-hangzhou" if key_id.startswith("hz-") else "cn-shanghai"
    return "acs:kms:%s:%s:key/%s" % (region, ACCOUNT, key_id)


def run_role(ansible, policy, exempt=(), **options):
    """The role (conftest's Ansible.role) over this world's three regions unless options say otherwise."""
    options.setdefault("regions", REGIONS)
    return ansible.role(policy, exempt, **options)


def found(report):
    return dict(((v["key_id"], v["rule"]), (v["actual"], v["expected"])) for v in report["violations"])


def filter_keys(emu):
    """Every ListKeys filter key the emulator saw, and the number of DescribeKey requests."""
    keys, described = set(), 0
    for request in emu.stats()["requests"]:
        if request["action"] == "ListKeys":
            keys.update(pair["Key"] for pair in json.loads(request["filters"] or "[]"))
        elif request["action"] == "DescribeKey":
            described += 1
    return keys, described


# --- every rule, exactly ---------------------------------------------------------------------------


@pytest.mark.parametrize("rule", list(RULES))
def test_each_rule_flags_exactly_the_expected_keys_and_gathers_only_what_it_needs(ansible, emulator, rule):
    value, broken, facets = RULES[rule]
    result, report = run_role(ansible, {rule: value})
    assert result.rc == 0, result.stdout + result.stderr
    assert found(report) == dict(((key_id, rule), expected) for key_id, expected in broken.items())
    assert [v["key_arn"] for v in report["violations"]] == [arn(v["key_id"]) for v in report["violations"]]
    assert [v["key_id"] for v in report["violations"]] == [k["key_id"] for k in report["keys"] if k["key_id"] in broken]
    assert report["verdict"] == "non_compliant"  # and so is the fact: compliance_role.yml checks
    stats = report["summary"]["by_rule"][rule]
    assert (stats["checked"], stats["violations"], stats["not_applicable"]) == (
        9,
        len(broken),
        NOT_APPLICABLE.get(rule, 0),
    )
    assert (
        "KMS compliance: NON-COMPLIANT - %d violation(s) in 9 key(s), 3 region(s), 1 rule(s)" % len(broken)
        in result.stdout
    )
    used, described = filter_keys(emulator)
    if facets:  # a list rule: partitioned listings for the report's facets and its own, no DescribeKey
        assert (used, described) == (facets, 0)
    else:  # a detail rule: DescribeKey once per key, creator types from listings (DescribeKey has none)
        assert (used, described) == ({"CreatorType"}, 9)


def test_all_rules_together_and_a_compliant_policy(ansible):
    result, report = run_role(ansible, dict((rule, spec[0]) for rule, spec in RULES.items()))
    assert result.rc == 0, result.stdout
    assert found(report) == dict(((k, rule), e) for rule, spec in RULES.items() for k, e in spec[1].items())
    assert report["summary"]["non_compliant_keys"] == 8 and report["summary"]["compliant_keys"] == 1  # only hz-good
    assert report["summary"]["by_region"]["cn-hangzhou"]["violations"] == sum(
        1 for spec in RULES.values() for k in spec[1] if k.startswith("hz-")
    )

    result, report = run_role(
        ansible,
        {"forbidden_states": ["PendingDeletion"], "allowed_creator_types": ["User", "Service"]},
        exempt=[{"key_id": "hz-doomed", "reason": "SEC-7"}],
        fail=True,
    )
    assert result.rc == 0, result.stdout
    assert report["verdict"] == "compliant" and report["violations"] == [] and len(report["exempted"]) == 1
    assert "KMS compliance: COMPLIANT - 0 violation(s) (1 exempted)" in result.stdout


# --- exemptions ----------------------------------------------------------------------------------


def test_exemptions_move_violations_apart_with_their_reason(ansible):
    policy = {"forbidden_states": ["PendingDeletion", "Disabled"], "allowed_specs": [AES, SM4, "EC_P256"]}
    exempt = [
        {"key_id": "hz-doomed", "reason": "SEC-1: retired, deletion approved"},
        {"key_id": arn("sh-wallet"), "reason": "SEC-2: wallet key", "rules": ["allowed_specs"]},
        {"key_id": "hz-disabled", "reason": "SEC-3", "rules": ["allowed_specs"]},  # does not cover its state
        {"key_id": "gone-key", "reason": "SEC-4: key deleted long ago"},
    ]
    result, report = run_role(ansible, policy, exempt)
    assert result.rc == 0, result.stdout
    assert found(report) == {("hz-disabled", "forbidden_states"): ("Disabled", "none of PendingDeletion, Disabled")}
    assert [(e["key_id"], e["rule"], e["reason"]) for e in report["exempted"]] == [
        ("hz-doomed", "forbidden_states", "SEC-1: retired, deletion approved"),
        ("hz-doomed", "allowed_specs", "SEC-1: retired, deletion approved"),
        ("sh-wallet", "allowed_specs", "SEC-2: wallet key"),
    ]
    assert report["unused_exemptions"] == ["gone-key"]
    assert (report["summary"]["violations"], report["summary"]["exempted"]) == (1, 3)
    assert report["summary"]["by_rule"]["allowed_specs"]["exempted"] == 2


@pytest.mark.parametrize(
    "exempt, message",
    [
        ([{"key_id": "hz-doomed"}], "missing required arguments: reason"),
        ([{"key_id": "hz-doomed", "reason": "r", "rules": ["rotation"]}], "rotation"),
    ],
)
def test_malformed_exemptions_fail_before_any_request(ansible, emulator, exempt, message):
    result, report = run_role(ansible, {"forbidden_states": ["Disabled"]}, exempt)
    assert result.rc != 0 and report is None
    assert message in result.stdout
    assert emulator.stats()["total"] == 0


# --- fail and no-fail modes --------------------------------------------------------------------------


def test_violations_fail_the_play_after_the_reports_are_written(ansible):
    result, report = run_role(
        ansible, {"forbidden_states": ["PendingDeletion", "Disabled"], "allowed_creator_types": ["User"]}, fail=True
    )
    assert result.rc == 2, result.stdout
    assert (
        "KMS compliance: 3 violation(s) of the policy in 3 key(s) (forbidden_states: 2, allowed_creator_types: 1)"
        in result.stdout
    )
    assert "see %s" % (ansible.tmp / "report" / "kms-compliance.html") in result.stdout
    assert report["verdict"] == "non_compliant" and len(report["violations"]) == 3
    assert all(
        (ansible.tmp / "report" / name).stat().st_size > 0 for name in ("kms-compliance.xml", "kms-compliance.html")
    )


def test_fail_on_violation_false_reports_and_goes_on(ansible):
    # the variables as strings, as -e gives them; the play goes on to compliance_role.yml's check of the fact and of
    # alicloud_kms_key_ids, the facts later plays read
    result, report = ansible.role({"allowed_creator_types": ["User"]}, fail="false", regions="cn-hangzhou")
    assert result.rc == 0, result.stdout
    assert "TASK [The fact kms_compliance_result says what the JSON report says]" in result.stdout
    assert report["verdict"] == "non_compliant" and [v["key_id"] for v in report["violations"]] == ["hz-service"]
    assert sorted(k["key_id"] for k in report["keys"]) == ["hz-disabled", "hz-doomed", "hz-good", "hz-service"]


# --- bad input fails before any request ------------------------------------------------------------


@pytest.mark.parametrize(
    "policy, message",
    [
        ({"forbidden_states": ["Disabled"], "forbiden_specs": ["RSA_2048"]}, "forbiden_specs"),
        ({"require_rotaton": True}, "require_rotaton"),
        ({"forbidden_states": ["Deleted"]}, "Deleted"),
        ({"max_rotation_interval_days": "often"}, "max_rotation_interval_days"),
        ({"max_rotation_interval_days": 0}, "max_rotation_interval_days must be a whole number of days, 1 or more"),
    ],
)
def test_unknown_rules_and_bad_values_fail_before_any_request(ansible, emulator, policy, message):
    result, report = run_role(ansible, policy)
    assert result.rc != 0 and report is None
    assert message in result.stdout, result.stdout
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize("report_dir", ["", "  "])
def test_an_empty_report_directory_fails_before_any_request(ansible, emulator, report_dir):
    # an empty kms_compliance_report_dir used to write the reports into the current directory
    result, _report = run_role(ansible, {"forbidden_states": ["Disabled"]}, report_dir=report_dir)
    assert result.rc != 0
    assert "kms_compliance_report_dir is empty" in result.stdout, result.stdout
    assert emulator.stats()["total"] == 0
    assert not list(ansible.tmp.glob("kms-compliance.*"))


# --- unknown fields and creator types (issue 12, items 11, 24, 25) ------------------------------------------------


def test_kms_violations_over_records_without_facets_reports_every_key_unknown(ansible):
    # key_info without facets knows no state: forbidden_states must not call the PendingDeletion key compliant
    result = ansible.playbook(
        "violations_without_facets.yml",
        {
            "kms_connection": ansible.connection(region="cn-hangzhou"),
            "unknown_keys": ["hz-good", "hz-disabled", "hz-doomed", "hz-service"],
            "doomed_keys": ["hz-doomed"],
        },
    )
    assert result.rc == 0, result.stdout


def test_creator_types_come_from_the_listing_not_from_describe_key(ansible, emulator):
    # DescribeKey has no CreatorType: read from it, allowed_creator_types flagged every key and the rotation and
    # deletion protection rules judged the service's key
    policy = {"allowed_creator_types": ["User"], "require_rotation": True, "require_deletion_protection": True}
    result, report = run_role(ansible, policy)
    assert result.rc == 0, result.stdout
    assert found(report) == {
        ("hz-service", "allowed_creator_types"): ("Service", "one of User"),
        ("hz-disabled", "require_rotation"): ("Disabled", "Enabled"),
        ("sh-paused", "require_rotation"): ("Suspended", "Enabled"),
        ("sh-yearly", "require_deletion_protection"): ("Disabled", "Enabled"),
    }
    checks = dict(((c["key_id"], c["rule"]), (c["status"], c["note"])) for c in checks_of(report))
    assert checks[("hz-service", "require_rotation")] == ("not_applicable", "a cloud service manages this key")
    assert checks[("hz-service", "require_deletion_protection")] == (
        "not_applicable",
        "a cloud service manages this key",
    )
    assert not any(v["actual"] == "unknown" for v in report["violations"])
    assert [k["creator_type"] for k in report["keys"]] == ["Service" if k == "hz-service" else "User" for k in ALL_KEYS]
    used, described = filter_keys(emulator)
    assert (used, described) == ({"CreatorType"}, 9)


def test_rotation_fields_the_service_leaves_out_are_explained_not_unknown(ansible):
    # RotationInterval comes only with rotation Enabled or Suspended, DeleteDate only with PendingDeletion
    result, report = run_role(ansible, {"max_rotation_interval_days": 180, "forbidden_states": ["PendingDeletion"]})
    assert result.rc == 0, result.stdout
    keys = dict((k["key_id"], k) for k in report["keys"])
    assert not keys["hz-disabled"].get("rotation_interval") and not keys["hz-disabled"].get("delete_date")
    assert found(report)[("hz-disabled", "max_rotation_interval_days")] == (
        "no automatic rotation (Disabled)",
        "at most 180 days",
    )
    assert found(report)[("hz-doomed", "forbidden_states")] == ("PendingDeletion", "none of PendingDeletion")
    assert not any(v["actual"] == "unknown" for v in report["violations"])


# --- where the connection and regions come from ---------------------------------------------------------


def test_credentials_from_the_environment_and_regions_all(ansible, emulator):
    result, report = run_role(
        ansible,
        {"allowed_specs": [AES, SM4, "EC_P256"]},
        regions="all",
        connection={"access_key_id": None, "access_key_secret": None},
        env={"ALICLOUD_ACCESS_KEY": DEMO_KEY[0], "ALICLOUD_SECRET_KEY": DEMO_KEY[1]},
    )
    assert result.rc == 0, result.stdout
    assert set(found(report)) == {("hz-doomed", "allowed_specs"), ("sh-wallet", "allowed_specs")}
    assert report["regions_requested"] == ["all"]
    # `all` names no region: only those with keys appear, by name
    assert list(report["summary"]["by_region"]) == ["cn-hangzhou", "cn-shanghai"]
    assert emulator.stats()["by_action"]["DescribeRegions"] == 1


def test_region_from_module_defaults_when_the_role_names_none_and_reports_in_check_mode(ansible):
    result, report = run_role(
        ansible,
        {"forbidden_states": ["PendingImport"]},
        regions=None,
        connection={"region": "cn-shanghai"},
        args=["--check"],
    )
    assert result.rc == 0, result.stdout
    assert found(report) == {("sh-byok", "forbidden_states"): ("PendingImport", "none of PendingImport")}
    assert report["regions_requested"] == [] and list(report["summary"]["by_region"]) == ["cn-shanghai"]


# --- the three reports -------------------------------------------------------------------------------

REPORT_POLICY = {
    "forbidden_states": ["PendingDeletion"],
    "allowed_specs": [AES, SM4, "EC_P256"],
    "require_rotation": True,
}
REPORT_EXEMPT = [{"key_id": "sh-wallet", "reason": "SEC-5 <wallet> & co"}]


@pytest.fixture
def reports(ansible):
    result, report = run_role(ansible, REPORT_POLICY, REPORT_EXEMPT)
    assert result.rc == 0, result.stdout
    return ansible.tmp / "report", report


def test_json_report_matches_its_schema_and_counts(reports):
    report_dir, report = reports
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    summary = report["summary"]
    assert (summary["key_count"], summary["region_count"], summary["checks"]) == (9, 3, 27)
    assert summary["rules"] == ["forbidden_states", "allowed_specs", "require_rotation"]
    assert set(found(report)) == {
        ("hz-doomed", "forbidden_states"),
        ("hz-doomed", "allowed_specs"),
        ("hz-disabled", "require_rotation"),
        ("sh-paused", "require_rotation"),
    }
    assert summary["by_region"] == {
        "cn-hangzhou": {
            "key_count": 4,
            "violations": 3,
            "exempted": 0,
            "non_compliant_keys": 2,
            "key_state": {"Enabled": 2, "Disabled": 1, "PendingDeletion": 1},
            "key_spec": {AES: 3, "RSA_2048": 1},
        },
        "cn-shanghai": {
            "key_count": 5,
            "violations": 1,
            "exempted": 1,
            "non_compliant_keys": 1,
            "key_state": {"Enabled": 4, "PendingImport": 1},
            "key_spec": {AES: 2, SM4: 1, "EC_P256": 1, "EC_P256K": 1},
        },
        "ap-southeast-1": {
            "key_count": 0,
            "violations": 0,
            "exempted": 0,
            "non_compliant_keys": 0,
            "key_state": {},
            "key_spec": {},
        },
    }
    assert [k["key_id"] for k in report["keys"]] == ALL_KEYS
    for bad in ({"verdict": "maybe"}, {"violations": [{"key_id": "x"}]}, {"summary": {}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(dict(report, **bad), SCHEMA)


def test_junit_report_has_one_testcase_per_key_and_rule(reports):
    report_dir, _report = reports
    root = ElementTree.parse(report_dir / "kms-compliance.xml").getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("27", "4", "0", "6")
    suites = dict((s.get("name"), s) for s in root.findall("testsuite"))
    assert list(suites) == [
        "kms-compliance.forbidden_states",
        "kms-compliance.allowed_specs",
        "kms-compliance.require_rotation",
    ]
    cases = [(c.get("classname"), c.get("name")) for s in root for c in s.findall("testcase")]
    assert len(cases) == len(set(cases)) == 27
    failures = sorted(c.get("name") for s in root for c in s.findall("testcase") if c.find("failure") is not None)
    assert failures == [
        "allowed_specs: hz-doomed",
        "forbidden_states: hz-doomed",
        "require_rotation: hz-disabled",
        "require_rotation: sh-paused",
    ]
    failure = suites["kms-compliance.allowed_specs"].find("testcase[@name='allowed_specs: hz-doomed']/failure")
    assert failure.get("message") == "hz-doomed: RSA_2048, expected one of Aliyun_AES_256, Aliyun_SM4, EC_P256"
    assert arn("hz-doomed") in failure.text
    skipped = dict(
        (c.get("name"), c.find("skipped").get("message"))
        for s in root
        for c in s.findall("testcase")
        if c.find("skipped") is not None
    )
    assert skipped["allowed_specs: sh-wallet"] == "exempt: SEC-5 <wallet> & co"
    assert skipped["require_rotation: hz-service"] == "not applicable: a cloud service manages this key"
    for name, suite in suites.items():
        tests = suite.findall("testcase")
        assert int(suite.get("tests")) == len(tests) == 9
        assert int(suite.get("failures")) == sum(1 for c in tests if c.find("failure") is not None)
        assert int(suite.get("skipped")) == sum(1 for c in tests if c.find("skipped") is not None)
    assert {c.get("classname") for s in root for c in s.findall("testcase")} == {"kms.cn-hangzhou", "kms.cn-shanghai"}


def test_html_report_is_self_contained(reports):
    report_dir, _report = reports
    html = (report_dir / "kms-compliance.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "<link" not in html and " src=" not in html and "@import" not in html and "url(" not in html
    assert html.count("<svg") == 6  # state and spec, three regions
    assert "SEC-5 &lt;wallet&gt; &amp; co" in html  # escaped
    assert "<h1>KMS key compliance: Non-compliant</h1>" in html


# --- report files: modes, one set per run, well-formed whatever the values (issue 12, items 15, 16, 17) ------------

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
REPORT_FILES = ("kms-compliance.json", "kms-compliance.xml", "kms-compliance.html")


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("existing", [0o700, 0o1777])
def test_an_existing_report_directory_keeps_its_mode_and_the_reports_are_0640(ansible, existing):
    report_dir = ansible.tmp / "mine"
    report_dir.mkdir()
    os.chmod(report_dir, existing)  # private on purpose, or /tmp-like (sticky, world-writable)
    result, _report = run_role(ansible, {"forbidden_states": ["Disabled"]}, report_dir=report_dir)
    assert result.rc == 0, result.stdout
    assert mode(report_dir) == existing
    assert [mode(report_dir / name) for name in REPORT_FILES] == [0o640] * 3
    assert sorted(p.name for p in report_dir.iterdir()) == sorted(REPORT_FILES)  # no temporary directory left


def test_a_new_report_directory_is_0750(ansible):
    report_dir = ansible.tmp / "new" / "reports"
    result, _report = run_role(ansible, {"forbidden_states": ["Disabled"]}, report_dir=report_dir, args=["--check"])
    assert result.rc == 0, result.stdout
    assert (mode(ansible.tmp / "new"), mode(report_dir)) == (0o750, 0o750)
    assert [mode(report_dir / name) for name in REPORT_FILES] == [0o640] * 3


def test_the_key_facts_are_set_only_when_asked_for(ansible):
    # compliance_role.yml checks alicloud_kms_key_ids against the report's keys, or that it is not defined
    for key_facts in (True, False):
        result, report = run_role(ansible, {"forbidden_states": ["Disabled"]}, key_facts=key_facts)
        assert result.rc == 0 and report["keys"], result.stdout


def test_a_report_path_that_is_a_file_fails_before_any_request(ansible, emulator):
    path = ansible.tmp / "taken"
    path.write_text("not a directory")
    result, _report = run_role(ansible, {"forbidden_states": ["Disabled"]}, report_dir=path)
    assert result.rc != 0 and "exists and is not a directory" in result.stdout, result.stdout
    assert emulator.stats()["total"] == 0 and path.read_text() == "not a directory"


def test_the_three_reports_are_one_set_with_one_run_id(ansible):
    report_dir = ansible.tmp / "set"
    result, first = run_role(ansible, {"forbidden_states": ["Disabled"]}, report_dir=report_dir)
    assert result.rc == 0, result.stdout
    ids = run_ids(report_dir)
    assert len(set(ids)) == 1 and UUID.match(ids[0]), ids
    assert "Run ID: %s" % ids[0] in result.stdout  # and the fact's: compliance_role.yml checks
    jsonschema.validate(first, SCHEMA)

    result, _report = run_role(ansible, {}, report_dir=report_dir)  # an inventory report: no testsuite per rule
    assert result.rc == 0, result.stdout
    second = run_ids(report_dir)
    assert len(set(second)) == 1 and second[0] != ids[0]

    # a report that cannot be replaced (its path is a directory): nothing is moved, the set on disk stays the last one
    html = report_dir / "kms-compliance.html"
    page = html.read_text()
    html.unlink()
    html.mkdir()
    result, _report = run_role(ansible, {"forbidden_states": ["PendingDeletion"]}, report_dir=report_dir)
    assert result.rc != 0 and "kms-compliance.html exists and is not a file" in result.stdout, result.stdout
    html.rmdir()
    html.write_text(page)
    assert run_ids(report_dir) == second
    assert json.loads((report_dir / "kms-compliance.json").read_text())["policy"] == {}
    assert sorted(p.name for p in report_dir.iterdir()) == sorted(REPORT_FILES)  # the temporary directory is gone


def test_control_characters_in_service_values_and_reasons_leave_xml_and_html_well_formed(ansible, emulator):
    # a key ID is checked against its documented form (issue 21): the control characters are in free text only
    odd_id, odd_spec, reason = "hz-odd", "Odd\x01Spec", "SEC-\x01 <bell\x07> & co"
    emulator.add_keys("cn-hangzhou", [{"key_id": odd_id, "key_spec": odd_spec, "description": "tab\x01desc"}])
    policy = {"allowed_specs": [AES, SM4, "EC_P256", "Odd\x02"], "require_deletion_protection": True}
    exempt = [{"key_id": odd_id, "reason": reason, "rules": ["require_deletion_protection"]}]
    result, report = run_role(ansible, policy, exempt)
    assert result.rc == 0, result.stdout
    # the JSON keeps the values as they are
    assert found(report)[(odd_id, "allowed_specs")] == (odd_spec, "one of Aliyun_AES_256, Aliyun_SM4, EC_P256, Odd\x02")
    assert [e["reason"] for e in report["exempted"] if e["key_id"] == odd_id] == [reason]
    assert [k.get("description") for k in report["keys"] if k["key_id"] == odd_id] == ["tab\x01desc"]
    # the XML parses, with U+FFFD where XML forbids a character
    report_dir = ansible.tmp / "report"
    xml = (report_dir / "kms-compliance.xml").read_text()
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", xml)
    root = ElementTree.fromstring(xml)
    cases = dict((c.get("name"), c) for c in root.iter("testcase"))
    # named by ID and description (DescribeKey is gathered for deletion protection), both with U+FFFD
    failure = cases["allowed_specs: hz-odd - tab\ufffddesc"].find("failure")
    assert (
        failure.get("message")
        == "hz-odd: Odd\ufffdSpec, expected one of Aliyun_AES_256, Aliyun_SM4, EC_P256, Odd\ufffd"
    )
    skipped = cases["require_deletion_protection: hz-odd - tab\ufffddesc"].find("skipped")
    assert skipped.get("message") == "exempt: SEC-\ufffd <bell\ufffd> & co"
    # the HTML has no forbidden character either, and its values are escaped
    html = (report_dir / "kms-compliance.html").read_text()
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", html)
    assert "SEC-\ufffd &lt;bell\ufffd&gt; &amp; co" in html and "hz-odd" in html and "Odd\ufffdSpec" in html


# --- the HTML report in a real browser ---------------------------------------------------------------------

# clicks the "Key ID" heading of the violations table twice and records the row order each time
SORT_PROBE = """<script>
(function () {
  var table = document.getElementById("violations");
  var button = table.tHead.rows[0].cells[1].querySelector("button");
  function order() { return Array.prototype.map.call(table.tBodies[0].rows, function (r) { return r.cells[1].textContent.trim(); }).join(","); }
  button.click();
  document.body.setAttribute("data-asc", order() + "|" + table.tHead.rows[0].cells[1].getAttribute("aria-sort"));
  button.click();
  document.body.setAttribute("data-desc", order() + "|" + table.tHead.rows[0].cells[1].getAttribute("aria-sort"));
}());
</script>
</body>"""


def png_pixels(path):
    """(width, height, set of RGB colours) of an 8-bit, non-interlaced RGB or RGBA PNG such as Chromium writes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunks.setdefault(kind, []).append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert depth == 8 and colour in (2, 6) and interlace == 0
    channels = 3 if colour == 2 else 4
    raw, stride, previous, colours = (
        zlib.decompress(b"".join(chunks[b"IDAT"])),
        width * channels,
        bytearray(width * channels),
        set(),
    )
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = previous[x], previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(bytes(line[i : i + 3]) for i in range(0, stride, channels))
        previous = line
    return width, height, colours


def test_html_report_in_headless_chromium(reports, tmp_path):
    report_dir, report = reports
    page = report_dir / "kms-compliance.html"

    shot = tmp_path / "report.png"
    browse(page, tmp_path, "--window-size=1280,1400", "--hide-scrollbars", "--screenshot=%s" % shot)
    assert shot.stat().st_size > 20000, "the screenshot is suspiciously small"
    width, height, colours = png_pixels(shot)
    assert (width, height) == (1280, 1400)
    # the charts are on screen: state bars (Enabled green, PendingDeletion red) and spec bars (blue)
    for colour in ("2e7d32", "c62828", "1565c0", "ef8f00"):
        assert bytes.fromhex(colour) in colours, "no %s pixels in the screenshot" % colour

    dom = browse(page, tmp_path, "--dump-dom").stdout
    assert dom.count("<svg") == 6
    assert dom.count('class="chart chart-state"') == 3 and dom.count('class="chart chart-spec"') == 3
    assert 'data-region="cn-hangzhou"' in dom and 'data-value="PendingDeletion" data-count="1"' in dom
    assert dom.count('data-sortable="ready"') == 4  # rules, violations, exempted, keys: the script ran

    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", SORT_PROBE))
    dom = browse(probe, tmp_path, "--dump-dom").stdout
    ids = [v["key_id"] for v in report["violations"]]
    assert 'data-asc="%s|ascending"' % ",".join(sorted(ids)) in dom
    assert 'data-desc="%s|descending"' % ",".join(sorted(ids, reverse=True)) in dom
