"""The Event-Driven Ansible source alicloud.kms.key_events, driven through asyncio against the KMS emulator.

Like ansible.eda's own tests, most of these call the source's `main(queue, args)` (or its
`KeyEvents.run(queue, sleep=...)` with a sleep the test steps, so that every poll is one `await driver.poll()` and
nothing waits on a clock); the rulebook tests run the real ansible-rulebook (it needs Java) and are skipped without
it. The service side is the real emulator over HTTP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from emulator.seeding import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET
from emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "extensions" / "eda" / "plugins" / "event_source" / "key_events.py"
DEMO_SEED = ROOT / "tests" / "emulator" / "seeds" / "demo.yml"
BIN = Path(sys.executable).parent
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(ROOT / ".collections")
ACCOUNT = "1234567890123456"
STS_TOKEN = "CAIS-kms-emulator-demo-sts-token"  # the demo seed's STS credential
STS_SECRET = "kms-emulator-sts-secret"


def load_source():
    """The event source module, loaded from its file as ansible-rulebook loads sources."""
    spec = importlib.util.spec_from_file_location("key_events", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


key_events = load_source()


@pytest.fixture(scope="module")
def emulator():
    with Emulator(seed=str(DEMO_SEED)) as emu:
        yield emu


@pytest.fixture
def emu(emulator, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("ALICLOUD_", "ALIBABA_CLOUD_")):
            monkeypatch.delenv(name)
    emulator.reset()
    emulator.set_faults(latency_ms=0, qps=50, error_rate_503=0, error_rate_500=0, drop_rate=0, deny_regions=[])
    return emulator


def arguments(emu, **overrides):
    args = {
        "regions": ["cn-hangzhou", "cn-shanghai"],
        "access_key_id": DEMO_ACCESS_KEY_ID,
        "access_key_secret": DEMO_ACCESS_KEY_SECRET,
        "protocol": "http",
        "http_proxy": emu.url,
        "max_retries": 1,
    }
    args.update(overrides)
    return dict((k, v) for k, v in args.items() if v is not None)


def keys(emu, region):
    return list(emu.backend.default_account.keys[region])


def drain(queue):
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


def kinds(events):
    return [(e["type"], e.get("key_id")) for e in events]


class Driver(object):
    """Runs KeyEvents.run with a sleep the test steps: poll() lets one poll run and returns its events."""

    def __init__(self, args):
        self.source = key_events.KeyEvents(args)
        self.queue = asyncio.Queue()
        self.slept = asyncio.Queue()
        self.wake = asyncio.Queue()
        self.intervals = []
        self.task = None
        self.seen = []

    async def sleep(self, seconds):
        self.intervals.append(seconds)
        await self.slept.put(seconds)
        await self.wake.get()

    async def poll(self):
        if self.task is None:
            self.task = asyncio.create_task(self.source.run(self.queue, sleep=self.sleep))
        else:
            self.wake.put_nowait(None)
        waiting = asyncio.ensure_future(self.slept.get())
        done, _pending = await asyncio.wait({waiting, self.task}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        assert waiting in done, "the source ended or hung: %r" % (self.task.exception() if self.task.done() else None)
        events = drain(self.queue)
        self.seen += events
        return events

    async def stop(self):
        if self.task is not None:
            self.task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await self.task


def scenario(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


OTHER_ACCOUNT = "9876543210987654"  # the demo seed's second account, with an access key of its own
OTHER_ACCESS_KEY = ("LTAI5tKmsEmulatorDemo02", "kms-emulator-demo-secret-2")


def assert_no_secret(events):
    text = json.dumps(events, default=str)
    for secret in (DEMO_ACCESS_KEY_SECRET, STS_SECRET, STS_TOKEN):
        assert secret not in text


# --- baseline and the three kinds of change ------------------------------------------------------------------------
def test_baseline_then_created_changed_deleted_one_poll_each(emu):
    async def run():
        driver = Driver(arguments(emu))
        try:
            first = await driver.poll()
            assert [e["type"] for e in first] == ["baseline"]
            assert first[0]["count"] == 24
            assert first[0]["regions"] == ["cn-hangzhou", "cn-shanghai"]
            assert driver.intervals == [300]  # the default interval

            assert await driver.poll() == []  # nothing changed: nothing emitted

            (added,) = emu.add_keys("cn-shanghai", [{"key_spec": "RSA_2048", "key_usage": "SIGN/VERIFY"}])
            (created,) = await driver.poll()
            assert created["type"] == "key_created" and created["existing"] is False
            assert created["key_id"] == added.key_id and "meta" not in created
            assert created["identifiers"] == {
                "key_id": added.key_id,
                "account_id": ACCOUNT,
                "region": "cn-shanghai",
            }
            assert (created["account_id"], created["region"]) == (ACCOUNT, "cn-shanghai")
            assert created["key"]["key_arn"] == added.arn
            assert (created["key"]["key_spec"], created["key"]["key_usage"]) == ("RSA_2048", "SIGN/VERIFY")
            assert created["changes"] == {} and created["previous"] == {}

            target = keys(emu, "cn-hangzhou")[1]
            assert target.key_state == "Enabled"
            emu.update_key("cn-hangzhou", target.key_id, key_state="PendingDeletion")
            (changed,) = await driver.poll()
            assert changed["type"] == "key_changed"
            assert changed["key_id"] == target.key_id
            assert changed["changes"] == {"key_state": ["Enabled", "PendingDeletion"]}
            assert changed["previous"] == {"key_state": "Enabled"}
            assert changed["key"]["key_state"] == "PendingDeletion"
            assert (changed["account_id"], changed["region"]) == (ACCOUNT, "cn-hangzhou")
            assert changed["detected_at"].endswith("Z")

            (removed,) = emu.backend.delete_keys(ACCOUNT, "cn-hangzhou", 1)
            (deleted,) = await driver.poll()
            assert deleted["type"] == "key_deleted" and deleted["key_id"] == removed.key_id
            assert deleted["key"]["key_arn"] == removed.arn  # the last record known
            assert "meta" not in deleted and deleted["identifiers"]["key_id"] == removed.key_id

            assert await driver.poll() == []
        finally:
            await driver.stop()
        assert_no_secret(driver.seen)

    scenario(run())


def test_several_changes_in_one_poll(emu):
    async def run():
        driver = Driver(arguments(emu, watch=["key_state", "key_spec"]))
        try:
            await driver.poll()
            hangzhou = keys(emu, "cn-hangzhou")
            (added,) = emu.add_keys("cn-hangzhou", [{}])
            emu.update_key("cn-hangzhou", hangzhou[2].key_id, key_state="Disabled")
            emu.update_key("cn-shanghai", keys(emu, "cn-shanghai")[0].key_id, key_usage="SIGN/VERIFY")  # unwatched
            (removed,) = emu.backend.delete_keys(ACCOUNT, "cn-hangzhou", 1)
            events = await driver.poll()
            assert sorted(kinds(events)) == sorted(
                [("key_created", added.key_id), ("key_changed", hangzhou[2].key_id), ("key_deleted", removed.key_id)]
            )
        finally:
            await driver.stop()

    scenario(run())


def test_watch_details_fields_are_gathered_with_describe_key(emu):
    async def run():
        driver = Driver(arguments(emu, regions=["ap-southeast-1"], watch=["automatic_rotation", "key_state"]))
        try:
            await driver.poll()
            assert emu.stats()["by_action"].get("DescribeKey") == 6
            target = keys(emu, "ap-southeast-1")[1]
            assert target.automatic_rotation == "Disabled"
            emu.update_key("ap-southeast-1", target.key_id, automatic_rotation="Enabled", description="rotated now")
            (changed,) = await driver.poll()
            assert changed["type"] == "key_changed" and changed["key_id"] == target.key_id
            # only watched fields count: the description changed too, and rotation_interval appeared
            assert changed["changes"] == {"automatic_rotation": ["Disabled", "Enabled"]}
            assert changed["key"]["description"] == "rotated now"
            assert changed["key"]["creation_date"]  # the record carries the DescribeKey fields
        finally:
            await driver.stop()

    scenario(run())


def test_emit_existing_announces_every_key_instead_of_a_baseline(emu):
    async def run():
        driver = Driver(arguments(emu, regions=["ap-southeast-1"], emit_existing=True))
        try:
            events = await driver.poll()
            assert [e["type"] for e in events] == ["key_created"] * 6
            assert all(e["existing"] is True for e in events)
            assert sorted(e["key_id"] for e in events) == sorted(k.key_id for k in keys(emu, "ap-southeast-1"))
            assert all(e["key"]["key_state"] for e in events)  # the watched facets are known
            assert await driver.poll() == []
        finally:
            await driver.stop()

    scenario(run())


# --- state_file: a restart neither repeats nor misses ----------------------------------------------------------------
def test_state_file_restart_reports_what_changed_while_down_and_nothing_twice(emu, tmp_path):
    state = tmp_path / "state" / "kms.json"
    state.parent.mkdir()

    async def run():
        args = arguments(emu, state_file=str(state))
        first = Driver(args)
        try:
            assert [e["type"] for e in await first.poll()] == ["baseline"]
        finally:
            await first.stop()
        saved = json.loads(state.read_text())
        assert len(saved["keys"]) == 24
        assert stat.S_IMODE(state.stat().st_mode) == 0o600
        assert sorted(p.name for p in state.parent.iterdir()) == ["kms.json"]  # no temporary file left
        assert DEMO_ACCESS_KEY_SECRET not in state.read_text()

        # while the source is down
        (added,) = emu.add_keys("cn-hangzhou", [{}])
        target = keys(emu, "cn-shanghai")[0]
        emu.update_key("cn-shanghai", target.key_id, key_state="Disabled")
        (removed,) = emu.backend.delete_keys(ACCOUNT, "cn-shanghai", 1)

        second = Driver(args)
        try:
            events = await second.poll()
            assert sorted(kinds(events)) == sorted([("key_created", added.key_id), ("key_deleted", removed.key_id)])
            assert removed.key_id == target.key_id  # deleted, so no change reported for it
        finally:
            await second.stop()

        emu.update_key("cn-hangzhou", added.key_id, key_state="PendingDeletion")
        third = Driver(args)
        try:
            (changed,) = await third.poll()  # no baseline, nothing announced again
            assert changed["type"] == "key_changed" and changed["key_id"] == added.key_id
            assert await third.poll() == []
        finally:
            await third.stop()

    scenario(run())


def test_state_file_of_other_options_is_a_new_baseline(emu, tmp_path):
    state = tmp_path / "kms.json"

    async def run():
        first = Driver(arguments(emu, state_file=str(state)))
        try:
            await first.poll()
        finally:
            await first.stop()
        # another scope: its keys were never seen as deleted or created, a new baseline instead
        other = Driver(arguments(emu, regions=["ap-southeast-1"], state_file=str(state)))
        try:
            events = await other.poll()
            assert [(e["type"], e["count"]) for e in events] == [("baseline", 6)]
        finally:
            await other.stop()

    state.write_text("not json")
    scenario(run())


# --- failures: one poll_failed, never a false key_deleted, recovery ---------------------------------------------------
def test_denied_region_fails_the_poll_without_key_deleted_then_recovers(emu):
    async def run():
        driver = Driver(arguments(emu))
        try:
            await driver.poll()
            emu.set_faults(deny_regions=["cn-shanghai"])
            (removed,) = emu.backend.delete_keys(ACCOUNT, "cn-hangzhou", 1)
            (failed,) = await driver.poll()
            assert failed["type"] == "poll_failed" and failed["partial"] is False
            assert failed["code"] == "Forbidden.NoPermission"
            assert failed["request_id"] and failed["request_id"] in failed["message"]
            assert failed["region"] == "cn-shanghai" and "Forbidden.NoPermission" in failed["message"]
            assert failed["consecutive_failures"] == 1
            (again,) = await driver.poll()
            assert again["type"] == "poll_failed" and again["consecutive_failures"] == 2

            emu.set_faults(deny_regions=[])
            (deleted,) = await driver.poll()  # the deletion in the region that was listed, reported once complete
            assert (deleted["type"], deleted["key_id"]) == ("key_deleted", removed.key_id)
            assert await driver.poll() == []
        finally:
            await driver.stop()
        assert_no_secret(driver.seen)

    scenario(run())


def test_partial_poll_reports_listed_regions_and_keeps_skipped_keys(emu):
    async def run():
        driver = Driver(arguments(emu, strict_permissions=False))
        try:
            await driver.poll()
            emu.set_faults(deny_regions=["cn-shanghai"])
            (removed,) = emu.backend.delete_keys(ACCOUNT, "cn-hangzhou", 1)
            events = await driver.poll()
            assert kinds(events) == [("poll_failed", None), ("key_deleted", removed.key_id)]
            failed = events[0]
            assert failed["partial"] is True and failed["code"] == "Forbidden.NoPermission"
            assert [s["region"] for s in failed["skipped"]] == ["cn-shanghai"]
            # cn-shanghai's ten keys were not listed: none of them is reported deleted
            emu.set_faults(deny_regions=[])
            assert await driver.poll() == []
        finally:
            await driver.stop()

    scenario(run())


def test_partial_baseline_does_not_announce_the_skipped_region_later(emu):
    async def run():
        emu.set_faults(deny_regions=["cn-shanghai"])
        driver = Driver(arguments(emu, strict_permissions=False))
        try:
            events = await driver.poll()
            assert [e["type"] for e in events] == ["poll_failed", "baseline"]
            assert events[1]["count"] == 14 and [s["region"] for s in events[1]["skipped"]] == ["cn-shanghai"]
            assert [e["type"] for e in await driver.poll()] == ["poll_failed"]
            emu.set_faults(deny_regions=[])
            assert await driver.poll() == []  # cn-shanghai's keys existed before: its baseline, not new keys
            (added,) = emu.add_keys("cn-shanghai", [{}])
            assert kinds(await driver.poll()) == [("key_created", added.key_id)]
        finally:
            await driver.stop()

    scenario(run())


def test_service_unavailable_fails_the_poll_then_recovers(emu):
    async def run():
        driver = Driver(arguments(emu, regions=["cn-hangzhou"]))
        try:
            await driver.poll()
            emu.set_faults(error_rate_503=1.0)
            (failed,) = await driver.poll()
            assert failed["type"] == "poll_failed" and failed["code"] == "ServiceUnavailableTemporary"
            assert failed["request_id"] and "after 2 attempts" in failed["message"]
            emu.set_faults(error_rate_503=0)
            target = keys(emu, "cn-hangzhou")[0]
            emu.update_key("cn-hangzhou", target.key_id, key_state="Disabled")
            assert kinds(await driver.poll()) == [("key_changed", target.key_id)]
        finally:
            await driver.stop()
        assert_no_secret(driver.seen)

    scenario(run())


def test_no_secret_or_token_in_any_event_with_sts_credentials(emu, tmp_path):
    state = tmp_path / "kms.json"

    async def run():
        args = arguments(
            emu,
            access_key_id="STS.NUKmsEmulatorDemoSts01",
            access_key_secret=STS_SECRET,
            security_token=STS_TOKEN,
            state_file=str(state),
            watch=["key_state", "deletion_protection", "tags", "aliases"],
        )
        driver = Driver(args)
        try:
            await driver.poll()
            emu.add_keys("cn-hangzhou", [{"tags": {"env": "prod"}}])
            emu.set_faults(error_rate_500=1.0)
            await driver.poll()
            emu.set_faults(error_rate_500=0, deny_regions=["cn-hangzhou"])
            await driver.poll()
            emu.set_faults(deny_regions=[])
            await driver.poll()
        finally:
            await driver.stop()
        assert [e["type"] for e in driver.seen] == ["baseline", "poll_failed", "poll_failed", "key_created"]
        assert driver.seen[-1]["key"]["tags"] == {"env": "prod"}
        assert_no_secret(driver.seen)
        assert STS_TOKEN not in state.read_text() and STS_SECRET not in state.read_text()

    scenario(run())


# --- the real loop: main(queue, args), interval, cancellation ---------------------------------------------------------
def test_main_polls_every_interval_and_cancels_within_a_second(emu, monkeypatch):
    monkeypatch.setenv(key_events.MIN_INTERVAL_ENV, "0.1")

    async def run():
        queue = asyncio.Queue()
        task = asyncio.create_task(key_events.main(queue, arguments(emu, regions=["cn-hangzhou"], interval=0.2)))
        event = await asyncio.wait_for(queue.get(), 30)
        assert event["type"] == "baseline"
        target = keys(emu, "cn-hangzhou")[0]
        emu.update_key("cn-hangzhou", target.key_id, key_state="Disabled")
        event = await asyncio.wait_for(queue.get(), 30)
        assert (event["type"], event["key_id"]) == ("key_changed", target.key_id)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1

    scenario(run())


def test_cancel_during_a_slow_poll_returns_within_a_second(emu):
    emu.set_faults(latency_ms=3000)

    async def run():
        queue = asyncio.Queue()
        task = asyncio.create_task(key_events.main(queue, arguments(emu, regions=["cn-hangzhou"])))
        deadline = time.monotonic() + 10
        while emu.stats()["total"] == 0 and emu.counts.in_flight == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert emu.counts.in_flight >= 1  # a request is being answered, slowly
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 1
        assert queue.empty()

    scenario(run())


# --- bad arguments fail at start, naming the argument, before any request ---------------------------------------------
@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"regoins": ["cn-hangzhou"]}, "argument regoins: unknown argument (did you mean regions?)"),
        ({"interval": 10}, "argument interval: must be at least 30"),
        ({"interval": "soon"}, "argument interval: must be a float"),
        ({"watch": ["key_sate"]}, "argument watch: unknown field 'key_sate' (did you mean key_state?)"),
        ({"watch": []}, "argument watch: must name at least one field"),
        ({"emit_existing": "perhaps"}, "argument emit_existing: must be a bool"),
        ({"key_state": ["Gone"]}, "argument key_state"),
        ({"access_key_secret": None}, "argument access_key_secret"),
        ({"protocol": "ftp"}, "argument protocol: must be one of https, http"),
        ({"regions": None, "region": None}, "argument region: no region given"),
        (
            {"state_file": "/nonexistent/folder/kms.json"},
            "argument state_file: the folder /nonexistent/folder does not",
        ),
        ({"regions": ["cn-hangzhou", "cn-shanghai"], "endpoint": "kms.example.internal"}, "argument endpoint"),
    ],
)
def test_bad_arguments_fail_at_start_naming_the_argument(emu, overrides, named):
    async def run():
        await key_events.main(asyncio.Queue(), arguments(emu, **overrides))

    with pytest.raises(ValueError) as failure:
        scenario(run())
    assert named in str(failure.value)
    assert DEMO_ACCESS_KEY_SECRET not in str(failure.value)
    assert emu.stats()["total"] == 0


def test_a_secret_of_the_wrong_type_is_not_quoted(emu):
    with pytest.raises(ValueError) as failure:
        key_events.KeyEvents(arguments(emu, access_key_secret={"oops": "s3cr3t-value"}, max_retries=2))
    assert "argument access_key_secret: must be a str" in str(failure.value)
    assert "s3cr3t-value" not in str(failure.value)


# --- the example rulebook ----------------------------------------------------------------------------------------------
RULEBOOK = ROOT / "extensions" / "eda" / "rulebooks" / "kms_key_guard.yml"


def test_the_example_rulebook_gives_the_source_valid_arguments_and_runs_the_compliance_check():
    (ruleset,) = yaml.safe_load(RULEBOOK.read_text())
    (source,) = ruleset["sources"]
    options, settings = key_events.check_args(source["alicloud.kms.key_events"])
    assert options["regions"] and settings["interval"] >= key_events.MIN_INTERVAL
    actions = [a for rule in ruleset["rules"] for a in rule.get("actions", [rule.get("action")])]
    plays = [a["run_playbook"] for a in actions if "run_playbook" in a]
    assert [p["name"] for p in plays] == ["alicloud.kms.cancel_protected_deletion"] + [
        "alicloud.kms.compliance_check"
    ] * 2
    for play in plays:
        assert (ROOT / "playbooks" / ("%s.yml" % play["name"].split(".")[-1])).is_file()
    # the guard gets the checked ARN alone (its rule reads the tag, never passes it on)
    assert plays[0]["var_root"] == "identifiers" and plays[0]["extra_vars"] == {
        "kms_key_guard_key_arn": "acs:kms:{{ event.region }}:{{ event.account_id }}:key/{{ event.key_id }}"
    }
    assert ruleset["match_multiple_rules"] is True and source["alicloud.kms.key_events"]["tags"] is True
    for play in plays[1:]:
        # the playbook sees the event narrowed to its checked identifiers, and only those reach its extra vars
        assert play["var_root"] == "identifiers"
        assert play["extra_vars"]["kms_compliance_accounts"] == "{{ [event.account_id] }}"
        assert play["extra_vars"]["kms_compliance_regions"] == "{{ [event.region] }}"
        assert os.path.isabs(os.path.expanduser(play["extra_vars"]["kms_compliance_report_dir"].split("'")[1]))
    assert "/" not in source["alicloud.kms.key_events"]["state_file"]  # kept in the private state folder


needs_rulebook = pytest.mark.skipif(
    not (shutil.which("ansible-rulebook") or (BIN / "ansible-rulebook").exists()) or not shutil.which("java"),
    reason="ansible-rulebook (PyPI) and a Java 17 runtime (Debian openjdk-17-jre-headless) are not installed here; "
    "see docs/docsite/rst/events.rst to run a rulebook against the emulator by hand",
)


@needs_rulebook
def test_ansible_rulebook_runs_the_source_against_the_emulator(emu, tmp_path):
    args = arguments(emu, regions=["cn-hangzhou"])
    rulebook = [
        {
            "name": "baseline then stop",
            "hosts": "localhost",
            "sources": [{"alicloud.kms.key_events": args}],
            "rules": [
                {
                    "name": "baseline",
                    "condition": 'event.type == "baseline"',
                    "actions": [{"print_event": {}}, {"shutdown": {}}],
                }
            ],
        }
    ]
    path = tmp_path / "rulebook.yml"
    path.write_text(yaml.safe_dump(rulebook))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    rulebook_bin = shutil.which("ansible-rulebook") or str(BIN / "ansible-rulebook")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS)
    proc = subprocess.run(
        [rulebook_bin, "--rulebook", str(path), "-i", str(inventory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "'count': 14" in proc.stdout or '"count": 14' in proc.stdout
    assert DEMO_ACCESS_KEY_SECRET not in proc.stdout + proc.stderr


# --- identifiers: only documented forms reach an event (issue 21 item 2) ------------------------------------------------
def plant_key(emu, region, **fields):
    """Replace the region's first key by one with other identifiers: ListKeys then returns the ARN they make."""
    with emu.backend.lock:
        listed = emu.backend.default_account.keys[region]
        listed[0] = dataclasses.replace(listed[0], **fields)
        return listed[0]


@pytest.mark.parametrize(
    "fields, named",
    [
        # the core refuses these where records are built (naming the KeyArn); the source checks again
        ({"account_id": "{{ lookup('pipe', 'id') }}"}, None),
        ({"account_id": ACCOUNT + "\n"}, None),
        # a well-formed ARN of another account in the caller's own listing: the source knows the caller
        ({"account_id": OTHER_ACCOUNT}, "a key (%s) with an account_id of an account not read"),
    ],
)
def test_a_key_whose_identifiers_are_not_in_their_documented_form_is_a_failed_poll(emu, tmp_path, fields, named):
    state = tmp_path / "kms.json"

    async def run():
        driver = Driver(arguments(emu, regions=["cn-hangzhou"], state_file=str(state)))
        try:
            await driver.poll()
            written = state.read_text()
            planted = plant_key(emu, "cn-hangzhou", **fields)
            (failed,) = await driver.poll()
            assert failed["type"] == "poll_failed" and failed["code"] == "MalformedResponse"
            assert planted.account_id not in failed["message"]
            if named:
                assert named % planted.key_id in failed["message"]
            assert state.read_text() == written  # a failed poll is no snapshot
        finally:
            await driver.stop()
        assert not [e for e in driver.seen if e["type"].startswith("key_")]

    scenario(run())


# --- state_file: private by default, refused when others can write it, checked like a service answer (item 10) ------
def test_a_bare_state_file_name_lives_in_a_private_state_folder(emu, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)

    async def run():
        driver = Driver(arguments(emu, regions=["cn-hangzhou"], state_file="guard.json"))
        try:
            await driver.poll()
        finally:
            await driver.stop()

    scenario(run())
    folder = tmp_path / "xdg" / "alicloud-kms"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "guard.json").stat().st_mode) == 0o600
    assert len(json.loads((folder / "guard.json").read_text())["keys"]) == 14
    assert not (tmp_path / "guard.json").exists()


def _planted(tmp_path, how):
    state = tmp_path / "shared" / "kms.json"
    state.parent.mkdir()
    state.write_text("{}")
    state.chmod(0o600)
    if how == "group-writable":
        state.chmod(0o620)
    elif how == "world-writable":
        state.chmod(0o666)
    elif how == "another user's":
        if os.geteuid() != 0:
            pytest.skip("only root can give a file to another user")
        os.chown(state, os.geteuid() + 4242, -1)
    elif how == "a symbolic link":
        target = tmp_path / "elsewhere.json"
        state.rename(target)
        state.symlink_to(target)
    elif how == "in a world-writable folder":
        state.parent.chmod(0o777)
    return state


@pytest.mark.parametrize(
    "how, named",
    [
        ("group-writable", "is writable by group or others"),
        ("world-writable", "is writable by group or others"),
        ("another user's", "is owned by another user"),
        ("a symbolic link", "is a symbolic link"),
        ("in a world-writable folder", "is writable by other users"),
    ],
)
def test_a_state_file_others_could_write_fails_the_source_at_start(emu, tmp_path, how, named):
    state = _planted(tmp_path, how)
    with pytest.raises(ValueError) as failure:
        key_events.KeyEvents(arguments(emu, state_file=str(state)))
    assert "argument state_file" in str(failure.value) and named in str(failure.value)
    assert emu.stats()["total"] == 0


def _forge(saved, how):
    record = saved["keys"][0]
    if how == "template in account_id":
        record["account_id"] = "{{ lookup('pipe', 'id') }}"
    elif how == "ARN of another key":
        record["key_arn"] = saved["keys"][1]["key_arn"]
    elif how == "key_id a list":
        record["key_id"] = ["x"]
    elif how == "another account":
        record.update(
            account_id=OTHER_ACCOUNT, key_arn=record["key_arn"].replace(ACCOUNT, OTHER_ACCOUNT), key_id="forged-key"
        )
    elif how == "key_state a dict":
        record["key_state"] = {"nested": "value"}
    elif how == "an unknown field":
        record["ansible_host"] = "attacker.example"
    elif how == "a key twice":
        saved["keys"].append(dict(record))
    elif how == "a bad unknown area":
        saved["unknown"] = [["{{ x }}", None]]
    elif how == "deep nesting":
        return '{"keys": %s%s}' % ("[" * 100000, "]" * 100000)
    return json.dumps(saved)


@pytest.mark.parametrize(
    "how",
    [
        "template in account_id",
        "ARN of another key",
        "key_id a list",
        "another account",
        "key_state a dict",
        "an unknown field",
        "a key twice",
        "a bad unknown area",
        "deep nesting",
    ],
)
def test_a_state_file_with_a_record_not_in_its_documented_form_is_a_new_baseline(emu, tmp_path, how, caplog):
    state = tmp_path / "kms.json"

    async def run():
        args = arguments(emu, regions=["cn-hangzhou"], state_file=str(state))
        first = Driver(args)
        try:
            await first.poll()
        finally:
            await first.stop()
        state.write_text(_forge(json.loads(state.read_text()), how))
        second = Driver(args)
        try:
            return await second.poll()
        finally:
            await second.stop()

    events = scenario(run())
    assert [(e["type"], e["count"]) for e in events] == [("baseline", 14)]  # never a key event from the file
    assert "state_file %s" % state in caplog.text and "new baseline" in caplog.text
    assert "lookup" not in caplog.text and "attacker" not in caplog.text


# --- the caller account is part of the scope (item 11) -----------------------------------------------------------------
def test_a_state_file_of_another_caller_account_is_a_new_baseline(emu, tmp_path):
    state = tmp_path / "kms.json"

    async def run():
        first = Driver(arguments(emu, regions=["cn-hangzhou"], state_file=str(state)))
        try:
            await first.poll()
        finally:
            await first.stop()
        key_id, secret = OTHER_ACCESS_KEY
        other = Driver(
            arguments(
                emu, regions=["cn-hangzhou"], state_file=str(state), access_key_id=key_id, access_key_secret=secret
            )
        )
        try:
            return await other.poll()
        finally:
            await other.stop()

    events = scenario(run())
    assert [(e["type"], e["count"]) for e in events] == [("baseline", 1)]  # not 14 keys deleted, 1 created
    assert json.loads(state.read_text())["caller_account"] == OTHER_ACCOUNT


def test_credentials_that_change_account_while_running_make_a_new_baseline(emu):
    async def run():
        driver = Driver(arguments(emu, regions=["cn-hangzhou"]))
        try:
            await driver.poll()
            with emu.backend.lock:  # the same access key now belongs to another account (a profile switched)
                access_key = emu.backend.access_keys[DEMO_ACCESS_KEY_ID]
                emu.backend.access_keys[DEMO_ACCESS_KEY_ID] = dataclasses.replace(access_key, account_id=OTHER_ACCOUNT)
            events = await driver.poll()
            assert [(e["type"], e["count"]) for e in events] == [("baseline", 1)]
            assert await driver.poll() == []
        finally:
            await driver.stop()

    scenario(run())


# --- the shipped rulebook through the real ansible-rulebook (items 2 and 9) ---------------------------------------------
def shipped_ruleset():
    (ruleset,) = yaml.safe_load(RULEBOOK.read_text())
    return ruleset


def rulebook_run(tmp_path, ruleset, env=None, extra=()):
    """ansible-rulebook started on [ruleset] (its stdout and stderr in tmp_path/rulebook.log): the Popen."""
    path = tmp_path / "rulebook.yml"
    path.write_text(yaml.safe_dump([ruleset]))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                    }
                }
            }
        )
    )
    rulebook_bin = shutil.which("ansible-rulebook") or str(BIN / "ansible-rulebook")
    env = dict(
        os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, PATH="%s:%s" % (BIN, os.environ["PATH"]), **(env or {})
    )
    log = open(tmp_path / "rulebook.log", "w")  # noqa: SIM115 (closed by the caller's stop())
    proc = subprocess.Popen(
        [rulebook_bin, "--rulebook", str(path), "-i", str(inventory), *extra],
        env=env,
        cwd=str(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    proc.log = log
    return proc


def wait_for(check, proc, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if check():
            return True
        time.sleep(0.2)
    return check()


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    proc.log.close()


@needs_rulebook
def test_the_shipped_rulebook_runs_its_compliance_check_when_a_key_is_deleted(emu, tmp_path):
    ruleset = shipped_ruleset()
    (source,) = ruleset["sources"]
    state = tmp_path / "state.json"
    # the rules as shipped; only the source's arguments point at the emulator
    source["alicloud.kms.key_events"].update(arguments(emu, regions=["cn-hangzhou"], interval=1, state_file=str(state)))
    report = tmp_path / "report"
    variables = tmp_path / "vars.yml"
    variables.write_text(yaml.safe_dump({"kms_key_guard_report_dir": str(report)}))
    proc = rulebook_run(
        tmp_path,
        ruleset,
        env={
            key_events.MIN_INTERVAL_ENV: "0.5",
            "ALICLOUD_ACCESS_KEY": DEMO_ACCESS_KEY_ID,
            "ALICLOUD_SECRET_KEY": DEMO_ACCESS_KEY_SECRET,
            "KMS_EMULATOR_URL": emu.url,  # compliance_check's switch to the emulator
        },
        extra=["-e", str(variables)],
    )
    try:
        assert wait_for(state.exists, proc), (tmp_path / "rulebook.log").read_text()  # the baseline
        emu.backend.delete_keys(ACCOUNT, "cn-hangzhou", 1)
        found = wait_for((report / "kms-compliance.json").exists, proc)
    finally:
        stop(proc)
    output = (tmp_path / "rulebook.log").read_text()
    assert found, output
    assert "Could not match supplied host pattern" not in output
    checked = json.loads((report / "kms-compliance.json").read_text())
    assert checked["accounts_requested"] == [ACCOUNT] and checked["regions_requested"] == ["cn-hangzhou"]
    assert checked["summary"]["key_count"] == 13  # the deleted key is gone
    assert DEMO_ACCESS_KEY_SECRET not in output


@needs_rulebook
def test_the_shipped_rulebook_cancels_the_deletion_of_a_protected_key(emu, tmp_path):
    ruleset = shipped_ruleset()
    (source,) = ruleset["sources"]
    state = tmp_path / "state.json"
    source["alicloud.kms.key_events"].update(arguments(emu, regions=["cn-hangzhou"], interval=1, state_file=str(state)))
    variables = tmp_path / "vars.yml"
    variables.write_text(yaml.safe_dump({"kms_key_guard_report_dir": str(tmp_path / "report")}))
    guarded = emu.backend.default_account.keys["cn-hangzhou"][0]
    emu.backend.update_key(ACCOUNT, "cn-hangzhou", guarded.key_id, tags={"protected": "true"})
    proc = rulebook_run(
        tmp_path,
        ruleset,
        env={
            key_events.MIN_INTERVAL_ENV: "0.5",
            "ALICLOUD_ACCESS_KEY": DEMO_ACCESS_KEY_ID,
            "ALICLOUD_SECRET_KEY": DEMO_ACCESS_KEY_SECRET,
            "ALICLOUD_REGION": "cn-hangzhou",
            "KMS_EMULATOR_URL": emu.url,
        },
        extra=["-e", str(variables)],
    )

    def state_of():
        return emu.backend.find_key(ACCOUNT, "cn-hangzhou", guarded.key_id).key_state

    try:
        assert wait_for(state.exists, proc), (tmp_path / "rulebook.log").read_text()  # the baseline
        emu.backend.update_key(ACCOUNT, "cn-hangzhou", guarded.key_id, key_state="PendingDeletion")
        # its deletion is cancelled, and the compliance check of its account runs too (match_multiple_rules)
        cancelled = wait_for(
            lambda: state_of() == "Enabled" and (tmp_path / "report" / "kms-compliance.json").exists(), proc
        )
    finally:
        stop(proc)
    output = (tmp_path / "rulebook.log").read_text()
    assert cancelled, output
    assert "deletion cancelled, the key is Enabled" in output and DEMO_ACCESS_KEY_SECRET not in output


CRAFTED_SOURCE = """
import asyncio
import json


async def main(queue, args):
    # ansible-rulebook renders a source's arguments: the events travel with their braces spelled << and >>
    for event in json.loads(args["events"].replace("<<", "{" "{").replace(">>", "}" "}")):
        await queue.put(event)
    await asyncio.Event().wait()
"""

DUMP_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.lineinfile:
        path: {path}
        create: true
        line: "{{{{ {{'event': ansible_eda.event, 'accounts': kms_compliance_accounts,
          'regions': kms_compliance_regions}} | to_json }}}}"
"""


@needs_rulebook
def test_the_shipped_rules_hand_the_playbook_only_identifiers_in_their_documented_forms(tmp_path):
    canary = tmp_path / "canary"
    template = "{{ lookup('ansible.builtin.pipe', 'touch %s') }}" % canary
    good = {"key_id": "c48a52e1-a8f8-5a1c-945d-baf8a0154f02", "account_id": ACCOUNT, "region": "cn-hangzhou"}
    hostile = [
        {"account_id": template},
        {"account_id": ACCOUNT + "\n"},  # the patterns end in \z: Java's $ matches before a final newline
        {"account_id": "x" + ACCOUNT},
        {"region": "cn-hangzhou\n"},
        {"region": template},
        {"key_id": "c48a52e1\n"},
        {"key_id": template},
    ]
    events = [
        dict(type="key_deleted", key={"description": "case %d" % n}, identifiers=dict(good, **ids), **dict(good, **ids))
        for n, ids in enumerate(hostile)
    ]
    events.append(dict(type="key_deleted", key={"description": template}, identifiers=good, **good))
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "crafted.py").write_text(CRAFTED_SOURCE)
    dump = tmp_path / "dump.jsonl"
    playbook = tmp_path / "dump.yml"
    playbook.write_text(DUMP_PLAYBOOK.format(path=dump))

    ruleset = shipped_ruleset()
    # the shipped conditions and run_playbook arguments, verbatim; only the playbook is one that shows what it got
    ruleset["sources"] = [{"crafted": {"events": json.dumps(events).replace("{{", "<<").replace("}}", ">>")}}]
    for rule in ruleset["rules"]:
        for action in rule.get("actions", []):
            if "run_playbook" in action:
                action["run_playbook"]["name"] = str(playbook)
    proc = rulebook_run(tmp_path, ruleset, extra=["-S", str(sources)])
    try:
        assert wait_for(dump.exists, proc), (tmp_path / "rulebook.log").read_text()
        time.sleep(2)  # the events before the last one were matched (or not) before it
    finally:
        stop(proc)
    (line,) = dump.read_text().splitlines()  # the well-formed event alone ran the playbook
    received = json.loads(line)
    assert received["event"] == good  # not the key record with its free text
    assert received["accounts"] == [ACCOUNT] and received["regions"] == ["cn-hangzhou"]
    assert not canary.exists()


# --- roles assumed once, again only near expiry (issue 25) ----------------------------------------------------------
MEMBERS = ["9876543210987654", "2222333344445555"]  # the demo seed's members whose role trusts the demo account


def assumed(emu):
    return [q for q in emu.stats()["requests"] if q["action"] == "AssumeRole"]


def test_member_roles_are_assumed_once_not_every_poll(emu):
    async def run():
        driver = Driver(arguments(emu, regions=["cn-hangzhou"], accounts=MEMBERS))
        try:
            events = await driver.poll()
            assert [e["type"] for e in events] == ["baseline"], events
            assert [q["status"] for q in assumed(emu)] == [200] * len(MEMBERS)
            emu.counts.reset()  # the stats alone
            for _poll in range(3):
                assert await driver.poll() == []
        finally:
            await driver.stop()

    scenario(run())
    assert assumed(emu) == [], "the roles were not assumed again in three more polls"
    by_action = emu.stats()["by_action"]
    assert "AssumeRole" not in by_action and by_action["ListKeys"] >= 3 * len(MEMBERS), by_action


def test_a_role_is_assumed_again_when_its_credentials_near_expiry(emu):
    # STS cuts the sessions to 10 s: shorter than twice the 5 minutes' margin, so they are renewed halfway through
    emu.set_faults(sts_session_seconds=10)

    async def run():
        driver = Driver(arguments(emu, regions=["cn-hangzhou"], accounts=MEMBERS, watch=["key_state"]))
        try:
            await driver.poll()
            assert await driver.poll() == []  # 8 s or more left: kept
            assert len(assumed(emu)) == len(MEMBERS)
            await asyncio.sleep(5)
            assert await driver.poll() == []  # under 5 s left: renewed first
        finally:
            await driver.stop()

    scenario(run())
    assert [q["status"] for q in assumed(emu)] == [200] * 2 * len(MEMBERS)


def test_a_refused_token_is_forgotten_and_the_role_assumed_again(emu):
    async def run():
        driver = Driver(arguments(emu, regions=["cn-hangzhou"], accounts=MEMBERS))
        try:
            await driver.poll()
            with emu.backend.lock:  # the STS credentials issued so far are revoked
                for key_id in [k for k, v in emu.backend.access_keys.items() if v.security_token]:
                    if key_id.startswith("STS.NU"):
                        emu.backend.access_keys.pop(key_id)
            failed = await driver.poll()
            assert [e["type"] for e in failed] == ["poll_failed"], failed
            assert await driver.poll() == []
        finally:
            await driver.stop()
        assert_no_secret(driver.seen)

    scenario(run())
    assert len([q for q in assumed(emu) if q["status"] == 200]) == 2 * len(MEMBERS)
