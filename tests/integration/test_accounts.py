"""Every account of the organisation in one run, through the real faces, against the emulator's demo directory.

The demo seed's Resource Directory (tests/emulator/seeds/demo.yml): the management account 1234567890123456 (the
demo key's), members 9876543210987654 (acme-staging), 2222333344445555 (acme-payments-prod), 3333444455556666
(acme-data-platform), 4444555566667777 (acme-sandbox, CreateVerifying: not usable yet) and 7777888899990000
(acme-legacy-audit, whose role does not trust the management account).
"""

from __future__ import annotations

from conftest import inventory, listing, mentions

MANAGEMENT, STAGING, PAYMENTS, DATA = "1234567890123456", "9876543210987654", "2222333344445555", "3333444455556666"
SANDBOX, LEGACY = "4444555566667777", "7777888899990000"
NAMES = {
    MANAGEMENT: "acme-management",
    STAGING: "acme-staging",
    PAYMENTS: "acme-payments-prod",
    DATA: "acme-data-platform",
}


def expected(emulator, accounts, region):
    return sorted(
        (account, k.key_id) for account in accounts for k in emulator.backend.accounts[account].keys.get(region, [])
    )


def requests(emulator, action):
    return [q for q in emulator.stats()["requests"] if q["action"] == action]


def test_all_members_with_a_lenient_run_read_every_usable_account_and_list_the_others(ansible, emulator):
    # a playbook that asserts the task is ok, not skipped, with accounts left out (they are in not_read)
    usable = [MANAGEMENT, STAGING, PAYMENTS, DATA]
    keys = sorted(expected(emulator, usable, "cn-hangzhou") + expected(emulator, usable, "cn-beijing"))
    run = ansible.playbook(
        "lenient_organisation.yml",
        extra_vars={
            "kms_connection": ansible.connection(),
            "expected_keys": sorted("%s/%s" % pair for pair in keys),
            "account_names": NAMES,
            "sandbox": SANDBOX,
            "legacy": LEGACY,
        },
    )
    assert run.rc == 0, run.stdout + run.stderr
    # one ListAccounts page, one AssumeRole per member read (not per region), the caller's account with its own key
    assert len(requests(emulator, "ListAccounts")) == 1
    assert sorted(q["status"] for q in requests(emulator, "AssumeRole")) == [200, 200, 200, 403]


def test_a_strict_run_fails_naming_the_account_whose_role_cannot_be_assumed(ansible, emulator):
    r = ansible.module("key_info", accounts=["all"], regions=["cn-hangzhou"])
    assert r.failed and r["error"]["code"] == "NoPermission" and r["error"]["account_id"] == LEGACY
    assert r["msg"].startswith("AssumeRole for account %s failed: NoPermission: " % LEGACY), r["msg"]
    assert "RequestId: " in r["msg"]


def test_explicit_ids_role_arns_and_exclusions(ansible, emulator):
    r = ansible.module(
        "key_info", accounts=[STAGING, PAYMENTS, MANAGEMENT], exclude_accounts=[MANAGEMENT], region="cn-hangzhou"
    )
    assert not r.failed, r
    assert sorted((k["account_id"], k["key_id"]) for k in r["keys"]) == expected(
        emulator, [STAGING, PAYMENTS], "cn-hangzhou"
    )
    assert all(k["account_name"] is None for k in r["keys"]) and "ListAccounts" not in r["summary"]["requests"]
    r = ansible.module("key_info", accounts=["acs:ram::%s:role/kms-audit" % STAGING], region="cn-beijing")
    assert sorted((k["account_id"], k["key_id"]) for k in r["keys"]) == expected(emulator, [STAGING], "cn-beijing")


def test_the_inventory_groups_hosts_by_account(ansible, emulator):
    path = inventory(ansible, regions=["cn-hangzhou"], accounts=["all"], strict_permissions=False)
    proc, data = listing(ansible, path)
    assert proc.returncode == 0, proc.stderr
    for account in (MANAGEMENT, STAGING, PAYMENTS, DATA):
        hosts = data["account_%s" % account]["hosts"]
        assert sorted(hosts) == [key_id for _a, key_id in expected(emulator, [account], "cn-hangzhou")]
        assert all(data["_meta"]["hostvars"][h]["account_name"] == NAMES[account] for h in hosts)
    assert mentions(
        proc.stderr, "skipped account %s: NoPermission" % LEGACY, "skipped account %s: CreateVerifying" % SANDBOX
    )


def test_the_lookup_reads_the_organisation_and_reports_progress_at_v(ansible, emulator):
    c = ansible.connection()
    looked = ansible.module(
        "ansible.builtin.debug",
        flags=["-v"],
        msg="{{ query('alicloud.kms.keys', accounts=[%r, %r], region='cn-hangzhou', access_key_id=%r, "
        "access_key_secret=%r, protocol='http', http_proxy=%r) | map(attribute='account_id') | unique | sort }}"
        % (STAGING, PAYMENTS, c["access_key_id"], c["access_key_secret"], ansible.emu.url),
    )
    assert looked.rc == 0, looked
    assert looked["msg"] == sorted([PAYMENTS, STAGING])
    assert "2 of 2 account-regions listed" in looked.stdout + looked.stderr


def test_assume_role_arn_is_the_caller_the_member_roles_are_assumed_from(ansible, emulator):
    # the caller becomes the staging account's kms-audit role; its own account is then read without another role
    r = ansible.module(
        "key_info", assume_role_arn="acs:ram::%s:role/kms-audit" % STAGING, accounts=[STAGING], region="cn-beijing"
    )
    assert not r.failed, r
    assert sorted((k["account_id"], k["key_id"]) for k in r["keys"]) == expected(emulator, [STAGING], "cn-beijing")
    assert r["summary"]["requests"]["AssumeRole"] == 1  # the caller's role only
