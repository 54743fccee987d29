"""alicloud.kms.key against the emulator, through the ansible CLI: check mode, diff, apply, idempotence, the
constraints checked before any write, and CreateKey under a dropped connection creating one key."""

from __future__ import annotations

import pytest

HZ = "cn-hangzhou"
WRITES = frozenset(
    (
        "UpdateRotationPolicy",
        "SetDeletionProtection",
        "CancelKeyDeletion",
        "ScheduleKeyDeletion",
        "EnableKey",
        "DisableKey",
        "UpdateKeyDescription",
        "TagResources",
        "UntagResources",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "CreateKey",
        "SetKeyPolicy",
    )
)


def writes(emulator):
    """The write actions the emulator answered since the last reset, in order."""
    return [r["action"] for r in emulator.stats()["requests"] if r["action"] in WRITES and r["status"] == 200]


def key(ansible, check=False, flags=(), **args):
    return ansible.module("key", check=check, flags=flags, region=HZ, **args)


@pytest.fixture
def plain(emulator):
    """A symmetric key of the account: Enabled, no rotation, no protection, no tags or aliases."""
    emulator.add_keys(HZ, [{"key_id": "hz-plain", "description": "plain"}])
    return "hz-plain"


WANTED = dict(
    description="orders database",
    automatic_rotation=True,
    rotation_interval_days=365,  # a key outside a KMS instance rotates every 365 days only
    deletion_protection=True,
    deletion_protection_description="SEC-1",
    tags={"team": "payments", "env": "prod"},
    aliases=["alias/test-orders"],
)


def test_check_mode_plans_the_writes_and_sends_none(ansible, emulator, plain):
    run = key(ansible, check=True, flags=["--diff"], key_id=plain, **WANTED)
    assert run.rc == 0 and run.result["changed"], run.stdout + run.stderr
    assert writes(emulator) == []
    planned = [(c["field"], c["action"]) for c in run.result["changes"]]
    assert planned == [
        ("deletion_protection", "SetDeletionProtection"),
        ("description", "UpdateKeyDescription"),
        ("automatic_rotation", "UpdateRotationPolicy"),  # one request, with the interval
        ("tags", "TagResources"),
        ("aliases", "CreateAlias"),
    ]
    after = run.result["key"]
    assert (after["automatic_rotation"], after["rotation_interval"]) == ("Enabled", "31536000s")
    assert after["tags"] == WANTED["tags"] and after["aliases"] == ["alias/test-orders"]


def test_apply_then_a_second_run_writes_nothing(ansible, emulator, plain):
    run = key(ansible, key_id=plain, **WANTED)
    assert run.rc == 0 and run.result["changed"], run.stdout + run.stderr
    record = run.result["key"]  # read again after the writes
    assert (record["automatic_rotation"], record["rotation_interval"]) == ("Enabled", "31536000s")
    assert (record["deletion_protection"], record["description"]) == ("Enabled", "orders database")
    assert record["tags"] == WANTED["tags"] and record["aliases"] == ["alias/test-orders"]
    sent = writes(emulator)
    assert sorted(set(sent)) == sorted(
        {"SetDeletionProtection", "UpdateKeyDescription", "UpdateRotationPolicy", "TagResources", "CreateAlias"}
    )

    again = key(ansible, key_id=plain, **WANTED)
    assert again.rc == 0 and not again.result["changed"] and again.result["changes"] == [], again.result
    assert writes(emulator) == sent  # nothing more was sent
    # the alias names the key: found by it
    by_alias = key(ansible, alias="alias/test-orders", description="orders database")
    assert by_alias.rc == 0 and not by_alias.result["changed"] and by_alias.result["key"]["key_id"] == plain


def test_tags_and_aliases_are_purged_only_when_asked(ansible, emulator, plain):
    assert key(ansible, key_id=plain, tags={"a": "1", "b": "2"}, aliases=["alias/one", "alias/two"]).rc == 0
    kept = key(ansible, key_id=plain, tags={"a": "9"}, aliases=["alias/one"])
    assert kept.result["key"]["tags"] == {"a": "9", "b": "2"}
    assert kept.result["key"]["aliases"] == ["alias/one", "alias/two"]
    purged = key(ansible, key_id=plain, tags={"a": "9"}, purge_tags=True, aliases=["alias/one"], purge_aliases=True)
    assert purged.result["key"]["tags"] == {"a": "9"} and purged.result["key"]["aliases"] == ["alias/one"]
    assert [c["action"] for c in purged.result["changes"]] == ["UntagResources", "DeleteAlias"]


def test_absent_schedules_deletion_and_present_cancels_it(ansible, emulator, plain):
    run = key(ansible, key_id=plain, state="absent", pending_window_in_days=7)
    assert run.rc == 0 and run.result["key"]["key_state"] == "PendingDeletion", run.result
    assert key(ansible, key_id=plain, state="absent").result["changed"] is False
    back = key(ansible, key_id=plain, state="present")
    assert back.result["changed"] and back.result["key"]["key_state"] == "Enabled"
    assert [c["action"] for c in back.result["changes"]] == ["CancelKeyDeletion"]
    disabled = key(ansible, key_id=plain, enabled=False)
    assert disabled.result["key"]["key_state"] == "Disabled" and [c["action"] for c in disabled.result["changes"]] == [
        "DisableKey"
    ]


@pytest.mark.parametrize(
    "spec, args, option",
    [
        ({"key_spec": "RSA_2048", "key_usage": "SIGN/VERIFY"}, {"automatic_rotation": True}, "automatic_rotation"),
        ({"origin": "EXTERNAL"}, {"rotation_interval_days": 30}, "automatic_rotation"),
        ({"deletion_protection": "Enabled"}, {"state": "absent"}, "state"),
        ({}, {"key_policy": {"Statement": []}}, "key_policy"),
        ({}, {"key_spec": "RSA_2048"}, "key_spec"),
        ({}, {"rotation_interval_days": 180}, "rotation_interval_days"),  # 365 only outside a KMS instance
        ({"key_state": "PendingDeletion"}, {"state": "absent", "enabled": False}, None),  # already pending: no change
    ],
)
def test_what_the_service_refuses_fails_before_any_write(ansible, emulator, spec, args, option):
    emulator.add_keys(HZ, [dict({"key_id": "hz-rule"}, **spec)])
    run = key(ansible, key_id="hz-rule", description="changed too", **args)
    if option is None:
        assert run.rc == 0 and not run.result["changed"], run.result
    else:
        assert run.rc != 0 and run.result["option"] == option, run.result
    assert writes(emulator) == []


@pytest.mark.parametrize(
    "args, option",
    [
        ({"alias": "orders-db"}, "alias"),
        ({"key_id": "hz-plain", "aliases": ["alias/acs/reserved"]}, "aliases"),
        ({"key_id": "hz-plain", "pending_window_in_days": 400}, "pending_window_in_days"),
        ({"key_id": "hz-plain", "rotation_interval_days": 3}, "rotation_interval_days"),
        ({"key_id": "hz-plain", "tags": {"acs:x": "1"}}, "tags"),
        ({"key_id": "acs:kms:cn-hangzhou:12:key/x"}, "key_id"),
        ({"key_id": "hz-plain", "key_policy": "{not json"}, "key_policy"),
    ],
)
def test_bad_options_fail_naming_the_option_before_any_request(ansible, emulator, plain, args, option):
    before = emulator.stats()["total"]
    run = key(ansible, **args)
    assert run.rc != 0 and run.result["option"] == option, run.result
    assert emulator.stats()["total"] == before


def test_an_alias_of_another_key_is_never_moved(ansible, emulator, plain):
    emulator.add_keys(HZ, [{"key_id": "hz-other", "aliases": ("alias/taken",)}])
    run = key(ansible, key_id=plain, aliases=["alias/taken"])
    assert run.rc != 0 and run.result["option"] == "aliases" and "hz-other" in run.result["msg"], run.result
    assert writes(emulator) == []


# a new key goes into a KMS instance: an account has one default key a region (CreateKey's reference)
NEW = dict(
    alias="alias/new-app", description="new app", tags={"team": "x"}, dkms_instance_id="kst-hzz64f0e2b5c1a7d9e3f1a2"
)


def test_create_by_alias_once_even_when_the_create_key_response_is_lost(ansible, emulator):
    planned = key(ansible, check=True, **NEW)
    assert planned.rc == 0 and planned.result["changed"] and writes(emulator) == [], planned.result
    assert [c["action"] for c in planned.result["changes"]][:2] == ["CreateKey", "TagResources"]

    def lose_the_answer(_emu, _entry):
        raise RuntimeError("the connection drops after the key was created")

    emulator.on_request(lose_the_answer, action="CreateKey")
    run = key(ansible, enabled=False, **NEW)
    assert run.rc == 0 and run.result["changed"], run.stdout + run.stderr
    created = run.result["key"]
    assert created["aliases"] == ["alias/new-app"] and created["tags"] == {"team": "x"}  # the marker tag is gone
    assert created["key_state"] == "Disabled" and created["description"] == "new app"
    assert created["dkms_instance_id"] == NEW["dkms_instance_id"]
    # its lost answer was found by the marker tag (a ListKeys filtered on it), and CreateKey was not sent again
    requests = emulator.stats()["requests"]
    assert [r for r in requests if r["action"] == "CreateKey" and r["status"] == 200] == []
    assert any(r["action"] == "ListKeys" and "alicloud-kms-create" in (r["filters"] or "") for r in requests)
    described = [k for k in emulator.backend.default_account.keys[HZ] if k.description == "new app"]
    assert [k.key_id for k in described] == [created["key_id"]]

    again = key(ansible, enabled=False, **NEW)
    assert again.rc == 0 and not again.result["changed"], again.result


def test_absent_without_a_key_changes_nothing(ansible, emulator):
    run = key(ansible, alias="alias/never-made", state="absent")
    assert run.rc == 0 and not run.result["changed"] and run.result["key"] is None, run.result
    missing = key(ansible, key_id="hz-missing", enabled=True)
    assert missing.rc != 0 and missing.result["option"] == "key_id", missing.result


# --- the rulebook's guard: cancel the deletion of a key tagged protected=true ------------------------------------


def guard(ansible, key_arn):
    from conftest import BIN, DEMO_KEY, ROOT  # noqa: PLC0415

    env = {"KMS_EMULATOR_URL": ansible.emu.url, "ALICLOUD_ACCESS_KEY": DEMO_KEY[0], "ALICLOUD_SECRET_KEY": DEMO_KEY[1]}
    env["ALICLOUD_REGION"] = HZ
    book = ROOT / "playbooks" / "cancel_protected_deletion.yml"
    command = [str(BIN / "ansible-playbook"), "-i", str(ansible.inventory), str(book)]
    return ansible.run(command + ansible.extra_vars({"kms_key_guard_key_arn": key_arn}), env=env)


def test_the_guard_cancels_only_the_deletion_of_a_protected_key(ansible, emulator):
    emulator.add_keys(
        HZ,
        [
            {"key_id": "hz-guarded", "key_state": "PendingDeletion", "tags": {"protected": "true"}},
            {"key_id": "hz-free", "key_state": "PendingDeletion", "tags": {"protected": "no"}},
        ],
    )
    account = emulator.backend.default_account.account_id
    arn = "acs:kms:%s:%s:key/%%s" % (HZ, account)
    proc = guard(ansible, arn % "hz-guarded")
    assert proc.returncode == 0 and "deletion cancelled, the key is Enabled" in proc.stdout, proc.stdout
    proc = guard(ansible, arn % "hz-free")
    assert proc.returncode == 0 and "left alone" in proc.stdout, proc.stdout
    states = dict((k.key_id, k.key_state) for k in emulator.backend.default_account.keys[HZ])
    assert (states["hz-guarded"], states["hz-free"]) == ("Enabled", "PendingDeletion")
    proc = guard(ansible, arn % "hz-guarded\nhz-free")  # the rulebook checks the form first; the playbook again
    assert proc.returncode != 0 and "must be a KMS key ARN" in proc.stdout


def test_through_ansible_playbook_check_diff_apply_and_a_second_run(ansible, emulator, plain):
    run = ansible.playbook("key_module_diff.yml", {"kms_connection": ansible.connection(region=HZ), "key_id": plain})
    assert run.rc == 0, run.stdout + run.stderr  # the playbook asserts its own outcome
    assert writes(emulator) == ["SetDeletionProtection", "UpdateRotationPolicy"]  # the check mode run sent none


def test_a_member_account_s_key_is_written_with_the_member_role(ansible, emulator):
    member = "2222333344445555"  # acme-payments-prod in the demo seed, with the Resource Directory's role
    target = emulator.backend.accounts[member].keys[HZ][0]
    run = key(ansible, key_id=target.key_id, account_id=member, description="changed in the member")
    assert run.rc == 0 and run.result["changed"], run.stdout + run.stderr
    assert run.result["key"]["account_id"] == member
    assert emulator.backend.find_key(member, HZ, target.key_id).description == "changed in the member"
    assert "AssumeRole" in [r["action"] for r in emulator.stats()["requests"]]
    arn = "acs:kms:%s:%s:key/%s" % (HZ, member, target.key_id)
    wrong = key(ansible, key_id=arn, account_id="9876543210987654", enabled=True)
    assert wrong.rc != 0 and wrong.result["option"] == "key_id", wrong.result
