"""alicloud.kms.secret_info and alicloud.kms.instance_info against the emulator's demo seed: exact sets across two
regions and two accounts, every page, the filters exact, identifiers checked, and never a value in a record."""

from __future__ import annotations

import json

from conftest import DEMO_KEY
from emulator.backend import make_secret

MANAGEMENT, PAYMENTS = "1234567890123456", "2222333344445555"
# The demo seed's secrets (tests/emulator/seeds/demo.yml), written out by hand
HANGZHOU = [
    "orders/db-app",
    "payments/api-token",
    "ops/motd-template",
    "ledger/hsm-pin",
    "orders/rds-admin",
    "backup/gpg-key",
]
SHANGHAI = ["datalake/warehouse-dsn", "datalake/etl-ram"]
PAYMENTS_HANGZHOU = ["payments/stripe", "payments/legacy-webhook"]
PAYMENTS_SHANGHAI = ["payments/replica-polardb"]
SECRET_VALUES = (
    "n3w-Pa55",
    "old-Pa55",
    "tok_live_4f2a9c",
    "rds-Pa55",
    "etl-secret",
    "sk_live_1",
    "whsec_legacy",
    "plr-Pa55",
)


def names(result):
    return [(s["account_id"], s["region"], s["secret_name"]) for s in result["secrets"]]


def test_every_secret_of_two_regions_and_two_accounts(ansible, emulator):
    r = ansible.module("secret_info", accounts=[MANAGEMENT, PAYMENTS], regions=["cn-hangzhou", "cn-shanghai"])
    assert r.rc == 0, r.result
    expected = (
        [(MANAGEMENT, "cn-hangzhou", n) for n in HANGZHOU]
        + [(MANAGEMENT, "cn-shanghai", n) for n in SHANGHAI]
        + [(PAYMENTS, "cn-hangzhou", n) for n in PAYMENTS_HANGZHOU]
        + [(PAYMENTS, "cn-shanghai", n) for n in PAYMENTS_SHANGHAI]
    )
    assert sorted(names(r.result)) == sorted(expected)
    assert r["secret_names"] == [s["secret_name"] for s in r["secrets"]]
    assert r["summary"]["secrets"] == 11 and r["summary"]["accounts"] == 2 and r["summary"]["regions"] == 2
    by_name = dict((s["secret_name"], s) for s in r["secrets"])
    assert by_name["orders/db-app"] == {
        "secret_name": "orders/db-app",
        "arn": "acs:kms:cn-hangzhou:%s:secret/orders/db-app" % MANAGEMENT,
        "region": "cn-hangzhou",
        "account_id": MANAGEMENT,
        "account_name": None,
        "secret_type": "Generic",
        "automatic_rotation": "Enabled",
        "rotation_interval": "2592000s",
        "last_rotation_date": "2026-11-01T00:00:00Z",
        "next_rotation_date": "2026-12-01T00:00:00Z",
        "encryption_key_id": None,
        "dkms_instance_id": None,
        "planned_delete_time": None,
        "create_time": "2023-02-01T00:00:00Z",
        "description": "orders app database login",
        "tags": {"env": "prod", "team": "orders"},
    }
    pin = by_name["ledger/hsm-pin"]
    assert pin["dkms_instance_id"] == "kst-hzz64f0e2b5c1a7d9e3f1a2" and pin["automatic_rotation"] == "Disabled"
    assert pin["encryption_key_id"] == "key-hzz2e34f679d1c05ee18dff8" and pin["rotation_interval"] is None
    assert by_name["orders/rds-admin"]["secret_type"] == "Rds"
    text = json.dumps(r.result)
    assert not [v for v in SECRET_VALUES if v in text], "a secret value reached the result"


def test_filters_are_exact(ansible, emulator):
    r = ansible.module("secret_info", region="cn-hangzhou", secret_type=["rds", "Generic"], tag_filters={"env": "prod"})
    assert sorted(r["secret_names"]) == ["ledger/hsm-pin", "orders/db-app", "payments/api-token"], r.result
    r = ansible.module("secret_info", regions=["cn-hangzhou", "cn-shanghai"], secret_type=["RAMCredentials"])
    assert r["secret_names"] == ["datalake/etl-ram"], r.result
    r = ansible.module("secret_info", region="cn-shanghai", dkms_instance_id=["kst-shh63a9c7d2e4b6f8a0c1d3"])
    assert r["secret_names"] == ["datalake/warehouse-dsn"], r.result
    # a region that ignores the filter keys widens nothing: the records are checked again
    emulator.set_faults(ignore_filter_keys={"cn-hangzhou": ["SecretType", "TagKey"]})
    r = ansible.module("secret_info", region="cn-hangzhou", secret_type=["Rds"], tag_filters={"env": None})
    assert r["secret_names"] == [], r.result


def test_bad_filter_values_fail_before_any_request(ansible, emulator):
    for args, option, text in (
        ({"secret_type": ["Vault"]}, "secret_type", "allowed values are Generic, Rds, Redis"),
        ({"dkms_instance_id": ["kms-1"]}, "dkms_instance_id", "not a KMS instance ID"),
        ({"tag_filters": {"env": 3}}, "tag_filters", "must be a string, a list of strings or null"),
        ({"regions": ["cn-hangzhou", "all"]}, "regions", "cannot be combined"),
    ):
        r = ansible.module("secret_info", region="cn-hangzhou", **args)
        assert r.failed and r["option"] == option and text in r["msg"], r.result
    assert emulator.stats()["total"] == 0


def test_every_page_of_a_large_region(ansible, emulator):
    account = emulator.backend.accounts[MANAGEMENT]
    extra = ["bulk/%03d" % i for i in range(250)]
    with emulator.backend.lock:
        account.secrets["cn-beijing"] = [make_secret(MANAGEMENT, "cn-beijing", {"secret_name": n}) for n in extra]
    r = ansible.module("secret_info", region="cn-beijing")
    assert r["secret_names"] == extra, r["summary"]
    assert r["summary"]["requests"]["ListSecrets"] == 3 and r["summary"]["requests"]["DescribeSecret"] == 250


def test_a_listing_that_moves_is_read_again_never_short(ansible, emulator):
    account = emulator.backend.accounts[MANAGEMENT]
    with emulator.backend.lock:
        account.secrets["cn-beijing"] = [
            make_secret(MANAGEMENT, "cn-beijing", {"secret_name": "bulk/%03d" % i}) for i in range(150)
        ]

    def grow(_emulator, _entry):  # after page 1's answer: page 2 sees another TotalCount
        with emulator.backend.lock:
            account.secrets["cn-beijing"].insert(0, make_secret(MANAGEMENT, "cn-beijing", {"secret_name": "new/x"}))

    emulator.on_request(grow, action="ListSecrets")
    r = ansible.module("secret_info", region="cn-beijing")
    assert r.rc == 0 and len(r["secret_names"]) == 151 and "new/x" in r["secret_names"], r.result
    assert r["summary"]["requests"]["ListSecrets"] >= 4


def test_instances_across_two_regions_and_two_accounts(ansible, emulator):
    r = ansible.module("instance_info", accounts=[MANAGEMENT, PAYMENTS], regions=["cn-hangzhou", "cn-shanghai"])
    assert r.rc == 0, r.result
    found = dict((i["instance_id"], i) for i in r["instances"])
    assert sorted((i["account_id"], i["region"], i["instance_id"]) for i in r["instances"]) == [
        (MANAGEMENT, "cn-hangzhou", "kst-hzz64f0e2b5c1a7d9e3f1a2"),
        (MANAGEMENT, "cn-shanghai", "kst-shh63a9c7d2e4b6f8a0c1d3"),
    ]
    assert found["kst-hzz64f0e2b5c1a7d9e3f1a2"] == {
        "instance_id": "kst-hzz64f0e2b5c1a7d9e3f1a2",
        "region": "cn-hangzhou",
        "account_id": MANAGEMENT,
        "account_name": None,
        "status": "Connected",
        "spec": 2000,
        "start_date": "2023-01-09T00:00:00Z",
        "end_date": "2026-12-20T00:00:00Z",
        "zone_ids": ["cn-hangzhou-h", "cn-hangzhou-i"],
        "vpc_id": "vpc-hzzledger01",
        "key_num": 2000,
        "secret_num": 100,
    }
    assert found["kst-shh63a9c7d2e4b6f8a0c1d3"]["zone_ids"] == ["cn-shanghai-b"]
    assert r["summary"]["instances"] == 2 and r["summary"]["requests"]["GetKmsInstance"] == 2


def test_instances_module_env_credentials(ansible, emulator):
    env = {"ALICLOUD_ACCESS_KEY": DEMO_KEY[0], "ALICLOUD_SECRET_KEY": DEMO_KEY[1]}
    r = ansible.module("instance_info", env=env, region="ap-southeast-1")
    assert r.rc == 0 and r["instances"] == [], r.result


def test_identifiers_of_another_form_are_malformed_never_records(ansible, emulator):
    account = emulator.backend.accounts[MANAGEMENT]
    with emulator.backend.lock:
        account.secrets["cn-beijing"] = [make_secret(MANAGEMENT, "cn-beijing", {"secret_name": "x{{ 7*7 }}"})]
        account.instances["cn-beijing"] = {"kst-bjj00000000000000000001": {"zone_ids": ["cn-beijing-a {{ 7*7 }}"]}}
    r = ansible.module("secret_info", region="cn-beijing")
    assert r.failed and r["error"]["code"] == "MalformedResponse" and "SecretName" in r["msg"], r.result
    assert "7*7" not in r.stdout + r.stderr
    r = ansible.module("instance_info", region="cn-beijing")
    assert r.failed and r["error"]["code"] == "MalformedResponse" and "ZoneIds" in r["msg"], r.result
    assert "7*7" not in r.stdout + r.stderr
