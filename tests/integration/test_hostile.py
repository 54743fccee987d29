"""Issue 21, "a hostile endpoint in the suite": every face against the emulator's hostile profile.

The emulator (tests/emulator/hostile.py) fills every free-text field it returns (descriptions, Creator, tag keys and
values, alias names, key policies, account display names) with Jinja that would run `touch <canary>`, markup,
control characters and 10,000-character values, on the demo world (its Resource Directory too); with mismatched_ids
its ListKeys entries carry ARNs that name another key, account or region, or KeyIds outside the documented form.

Each run is exact (the service's text comes back literally, compared here with the emulator's own state) or fails
naming the field (MalformedResponse), and the canary file never appears: no service value is ever rendered as a
template, by the modules, the lookup, the inventory (hostname, compose, keyed_groups, groups), a play over it, or the
compliance role, whose three reports stay well-formed.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest

from conftest import BIN, DEMO_SEED, PLAYBOOKS, SCHEMA, inventory, inventory_env, listing, mentions, run_ids
from emulator import hostile
from emulator.server import Emulator

MANAGEMENT, LEGACY = "1234567890123456", "7777888899990000"
REGIONS = ("cn-hangzhou", "cn-shanghai")
# the accounts a strict run over [all] reads: the management account and the members whose role it may assume
# (4444555566667777 is not created yet, 7777888899990000's role does not trust the management account)
READ = ("1234567890123456", "9876543210987654", "2222333344445555", "3333444455556666")
ORGANISATION = {"accounts": ["all"], "exclude_accounts": [LEGACY]}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """conftest's emulator, hostile: the demo world with hostile text, its canary in a private directory."""
    canary = tmp_path_factory.mktemp("hostile") / "canary"
    with Emulator(seed=str(DEMO_SEED), hostile=True, hostile_canary=str(canary)) as emu:
        yield emu


@pytest.fixture(name="canary")
def canary_fixture(emulator):
    """The canary file, absent: every test asserts it is still absent at its end (a test whose run rendered service
    text fails there; the file is removed before the next test so that each is judged on its own run)."""
    path = Path(emulator.faults.settings.hostile_canary)
    path.unlink(missing_ok=True)
    return path


def texts(emulator):
    return hostile.texts(emulator.faults.settings.hostile_canary)


def keys_read(emulator, accounts=READ, regions=REGIONS):
    """The emulator's keys a run over accounts and regions returns, by key ID."""
    return dict(
        (key.key_id, key)
        for account in accounts
        for region in regions
        for key in emulator.backend.accounts[account].keys.get(region, [])
    )


def display_names(emulator):
    return dict((m.account_id, m.display_name) for m in emulator.backend.directory.members)


def check_records(emulator, records, tags_field="tags"):
    """records are exactly the emulator's keys of READ x REGIONS, every service text literally."""
    keys = keys_read(emulator)
    assert sorted(r["key_id"] for r in records) == sorted(keys)
    names = display_names(emulator)
    for record in records:
        key = keys[record["key_id"]]
        assert record["key_arn"] == key.arn and record["account_id"] == key.account_id
        assert record["description"] == key.description
        assert record["creator"] == key.creator
        assert record[tags_field] == key.tags
        assert record["account_name"] == names[key.account_id]
        if "key_policy" in record:
            assert record["key_policy"] == (hostile_policy(emulator, key) if key.dkms_instance_id else None)
    found = set(r["description"] for r in records)
    assert set(texts(emulator).values()) <= found  # every hostile text was among them, the 10,000 characters too
    assert set(r["account_name"] for r in records) == set(names[a] for a in READ)


def hostile_policy(emulator, key):
    return hostile.hostile_policy(key.account_id, emulator.faults.settings.hostile_canary)


def lookup_keywords(ansible):
    c = ansible.connection()
    return dict((name, c[name]) for name in ("access_key_id", "access_key_secret", "protocol", "http_proxy"))


def malformed(run, field):
    """The run failed with MalformedResponse naming field, without quoting service text."""
    text = str(run.get("msg") or "") + run.stdout + run.stderr
    return run.failed and mentions(text, "MalformedResponse", field) and "lookup(" not in text


# --- the modules and the lookup ------------------------------------------------------------------------------------


def test_modules_and_lookup_return_hostile_text_literally_and_never_run_it(ansible, emulator, canary):
    out = ansible.tmp / "records.json"
    run = ansible.playbook(
        "hostile/faces.yml",
        extra_vars={
            "kms_connection": ansible.connection(),
            "kms_lookup": lookup_keywords(ansible),
            "legacy": LEGACY,
            "out": str(out),
        },
    )
    assert run.rc == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert not canary.exists()
    written = json.loads(out.read_text())
    for face in ("info", "facts", "lookup"):
        check_records(emulator, written[face])


def test_key_info_ad_hoc_is_exact_for_one_region(ansible, emulator, canary):
    r = ansible.module("key_info", region="cn-hangzhou", details=True, tags=True, key_policy=True)
    assert not r.failed, r
    keys = keys_read(emulator, [MANAGEMENT], ["cn-hangzhou"])
    assert sorted(k["key_id"] for k in r["keys"]) == sorted(keys)
    for record in r["keys"]:
        key = keys[record["key_id"]]
        assert (record["description"], record["creator"], record["tags"]) == (key.description, key.creator, key.tags)
        assert record["key_policy"] == (hostile_policy(emulator, key) if key.dkms_instance_id else None)
        if key.deletion_protection == "Enabled":
            assert record["deletion_protection_description"] == key.deletion_protection_description
    assert not canary.exists()


@pytest.mark.parametrize("face", ["key_info", "key_facts", "lookup"])
def test_an_alias_outside_its_documented_form_fails_naming_the_field(ansible, face, canary):
    if face == "lookup":
        keywords = ", ".join("%s=%r" % item for item in lookup_keywords(ansible).items())
        r = ansible.module(
            "ansible.builtin.debug",
            msg="{{ query('alicloud.kms.keys', region='cn-hangzhou', aliases=true, %s) }}" % keywords,
        )
    else:
        r = ansible.module(face, region="cn-hangzhou", aliases=True, details=True)
    assert malformed(r, "AliasName"), r
    assert not canary.exists()


# --- mismatched identifiers ------------------------------------------------------------------------------------------

MISMATCH_FIELDS = {"key": "KeyArn", "account": "KeyArn", "region": "KeyArn", "key_id": "KeyId"}


@pytest.mark.parametrize("face", ["key_info", "lookup", "inventory"])
@pytest.mark.parametrize("mode", sorted(MISMATCH_FIELDS))
def test_mismatched_identifiers_fail_naming_the_field(ansible, emulator, mode, face, canary):
    """Issue 21 items 2-4: a KeyArn naming another key, account or region, or a KeyId outside its documented form, is
    MalformedResponse naming the field, never a record (across accounts: the account read is the record's)."""
    emulator.set_faults(mismatched_ids=mode)
    options = dict(ORGANISATION) if mode == "account" else {}
    if face == "key_info":
        r = ansible.module("key_info", regions=REGIONS, **options)
        assert malformed(r, MISMATCH_FIELDS[mode]), r
        assert r["error"]["code"] == "MalformedResponse", r
    elif face == "lookup":
        keywords = dict(lookup_keywords(ansible), regions=REGIONS, **options)
        args = ", ".join("%s=%s" % (name, json.dumps(value)) for name, value in keywords.items())
        r = ansible.module("ansible.builtin.debug", msg="{{ query('alicloud.kms.keys', %s) }}" % args)
        assert malformed(r, MISMATCH_FIELDS[mode]), r
    else:
        proc, data = listing(ansible, inventory(ansible, regions=REGIONS, **options))
        assert proc.returncode != 0 and data is None, proc.stdout[-3000:]
        assert mentions(proc.stderr, "MalformedResponse", MISMATCH_FIELDS[mode]), proc.stderr[-3000:]
        assert "lookup(" not in proc.stderr
    assert not canary.exists()


# --- the inventory ---------------------------------------------------------------------------------------------------


def test_inventory_hostvars_compose_and_groups_are_exact_and_a_play_over_them_never_runs_them(
    ansible, emulator, canary
):
    path = inventory(
        ansible,
        details=True,
        tags=True,
        strict=True,
        compose={"desc": "description", "d2": "key_tags['x']", "acct": "account_name ~ '/' ~ account_id"},
        keyed_groups=[
            {"key": "key_tags['x']", "prefix": "x"},
            {"key": "description", "prefix": "d"},
            {"key": "key_tags", "prefix": "tag"},
        ],
        groups={"templated": "'lookup' in description", "marked": "'<script>' in key_tags['markup']"},
        **ORGANISATION,
    )
    proc, data = listing(ansible, path)
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert not canary.exists()
    keys = keys_read(emulator)
    names = display_names(emulator)
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(keys)
    for host, values in hostvars.items():
        key = keys[host]
        assert values["description"] == values["desc"] == key.description
        assert values["creator"] == key.creator and values["key_tags"] == key.tags
        assert values["d2"] == key.tags["x"] == texts(emulator)["mixed"]
        assert values["account_name"] == names[key.account_id]
        assert values["acct"] == "%s/%s" % (names[key.account_id], key.account_id)
        assert not any(
            name.startswith("ansible_") and name not in ("ansible_connection", "ansible_python_interpreter")
            for name in values
        )
    assert sorted(data["templated"]["hosts"]) == sorted(k for k, v in keys.items() if "lookup" in v.description)
    assert sorted(data["marked"]["hosts"]) == sorted(keys)
    x_groups = [g for g in data if g.startswith("x_") and g != "x"]
    assert len(x_groups) == 1 and sorted(data[x_groups[0]]["hosts"]) == sorted(keys)

    out_dir = ansible.tmp / "hostvars"
    out_dir.mkdir()
    run = ansible.run(
        [str(BIN / "ansible-playbook"), "-i", str(path), str(PLAYBOOKS / "hostile" / "over_inventory.yml")]
        + ansible.extra_vars({"out_dir": str(out_dir)}),
        env=inventory_env(ansible),
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert not canary.exists()
    written = dict((p.stem, json.loads(p.read_text())) for p in out_dir.glob("*.json"))
    assert sorted(written) == sorted(keys)
    for host, values in written.items():
        key = keys[host]
        assert values["description"] == values["desc"] == key.description
        assert values["d2"] == key.tags["x"] and values["key_tags"] == key.tags and values["creator"] == key.creator
        assert values["account_name"] == names[key.account_id]


@pytest.mark.parametrize(
    "hostname, aliases, field",
    [
        ("{{ description }}", False, "hostname"),  # braces, whitespace, control characters: never a host name
        ("description", False, "hostname"),
        ("{{ aliases | first | default(key_id) }}", True, "AliasName"),  # MalformedResponse before any name
    ],
)
def test_inventory_host_names_from_hostile_text_fail_naming_the_field(
    ansible, emulator, hostname, aliases, field, canary
):
    path = inventory(ansible, details=True, aliases=aliases, hostname=hostname, regions=["cn-hangzhou"])
    proc, data = listing(ansible, path)
    assert proc.returncode != 0 and data is None, proc.stdout[-3000:]
    assert mentions(proc.stderr, field), proc.stderr[-3000:]
    if aliases:
        assert mentions(proc.stderr, "MalformedResponse")
    else:
        assert any(key_id in proc.stderr for key_id in keys_read(emulator, [MANAGEMENT], ["cn-hangzhou"]))
    assert "lookup(" not in proc.stderr
    assert not canary.exists()


# --- the compliance role and its reports -----------------------------------------------------------------------------


class Page(HTMLParser):
    """What html.parser sees of a page: its elements, the text of each <script>, and all text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self.text, self.open = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "script":
            self.scripts.append("")
        if tag not in ("meta", "link", "br", "hr", "img", "input", "col", "wbr"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data):
        if self.open and self.open[-1] == "script":
            self.scripts[-1] += data
        self.text.append(data)


POLICY = {
    "require_description": True,
    "required_tags": {"x": ["something else"], "control": None},
    "forbid_public_key_policy": True,
    "require_deletion_protection": True,
}


def test_compliance_role_reports_stay_well_formed_and_say_the_text_literally(ansible, emulator, canary):
    template_html = (
        Path(__file__).resolve().parents[2] / "roles/compliance/templates/kms-compliance.html.j2"
    ).read_text()
    # no aliases: the hostile seed's alias names are not in their documented form, which fails a listing (tested above)
    run, report = ansible.role(
        POLICY, regions=REGIONS, accounts=["all"], exclude_accounts=[LEGACY], gather_aliases=False
    )
    assert run.rc == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert not canary.exists()
    report_dir = ansible.tmp / "report"
    t = texts(emulator)
    # JSON: parses, follows its schema, holds the keys' text literally
    jsonschema.validate(report, SCHEMA)
    keys = keys_read(emulator)
    assert sorted(k["key_id"] for k in report["keys"]) == sorted(keys)
    for entry in report["keys"]:
        if "description" in entry:
            assert entry["description"] == keys[entry["key_id"]].description
    assert set(t.values()) <= {entry.get("description") for entry in report["keys"]}
    assert {v["rule"] for v in report["violations"]} >= {"required_tags"}
    # the rule quotes the value it saw (its own format): the hostile text is in it, as data
    actual = [v["actual"] for v in report["violations"] if v["rule"] == "required_tags"]
    assert len(actual) == len(keys) and all("<script>alert(" in a and "touch %s" % canary in a for a in actual)
    # JUnit XML: parses with xml.etree, the markup is text (escaped), control characters XML forbids replaced
    root = ElementTree.parse(report_dir / "kms-compliance.xml").getroot()
    assert root.tag == "testsuites" and root.findall("testsuite")
    values = [v for element in root.iter() for v in list(element.attrib.values()) + [element.text or ""]]
    assert any("<script>alert('kms')</script>]]>" in v for v in values)
    assert not any(element.tag in ("script", "kms-injected") for element in root.iter())
    # HTML: parses, its only <script> is the template's own, the hostile markup is text
    page = Page()
    page.feed((report_dir / "kms-compliance.html").read_text(encoding="utf-8"))
    page.close()
    assert page.tags.count("script") == template_html.count("<script") == len(page.scripts) == 1
    assert "alert('kms')" not in page.scripts[0] and str(canary) not in page.scripts[0]
    assert "kms-injected" not in page.tags and "testsuite" not in page.tags
    text = "".join(page.text)
    assert "<script>alert('kms')</script>]]>" in text and str(canary) in text
    assert len(set(run_ids(report_dir))) == 1


def test_compliance_role_that_needs_aliases_fails_naming_the_field(ansible, canary):
    run, report = ansible.role({"require_alias": True}, regions=["cn-hangzhou"])
    assert run.rc != 0 and report is None, run.stdout[-3000:]
    assert mentions(run.stdout + run.stderr, "MalformedResponse", "AliasName"), run.stdout[-3000:]
    assert "lookup(" not in run.stdout + run.stderr
    assert not canary.exists()
