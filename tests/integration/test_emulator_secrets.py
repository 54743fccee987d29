"""ListSecrets, DescribeSecret, GetSecretValue and GetKmsInstance of the emulator through the official client, on the
demo seed (tests/emulator/seeds/demo.yml): paging, filters, versions and stages, a value holding Jinja text, a value
the caller may not read, and the KMS instances' facts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# pylint: disable=wrong-import-position
from alibabacloud_kms20160120 import models  # noqa: E402
from Tea.exceptions import TeaException  # noqa: E402

from conftest import DEMO_SEED, kms_client  # noqa: E402
from emulator.server import Emulator  # noqa: E402

HZ_SECRETS = [
    "orders/db-app",
    "payments/api-token",
    "ops/motd-template",
    "ledger/hsm-pin",
    "orders/rds-admin",
    "backup/gpg-key",
]
LEDGER, LAKE = "kst-hzz64f0e2b5c1a7d9e3f1a2", "kst-shh63a9c7d2e4b6f8a0c1d3"


@pytest.fixture(name="emu", scope="module")
def emu_fixture():
    with Emulator(seed=DEMO_SEED, qps=0) as emulator:
        yield emulator


@pytest.fixture(name="kms", scope="module")
def kms_fixture(emu):
    return kms_client(emu)


def names(body) -> list:
    return [s.secret_name for s in body.secret_list.secret]


def error_of(call) -> tuple:
    with pytest.raises(TeaException) as caught:
        call()
    return caught.value.status_code if hasattr(caught.value, "status_code") else None, caught.value.code


def test_list_secrets_pages_in_creation_order(kms):
    pages = [kms.list_secrets(models.ListSecretsRequest(page_number=n, page_size=4)).body for n in (1, 2, 3)]
    assert [names(p) for p in pages] == [HZ_SECRETS[:4], HZ_SECRETS[4:], []]
    assert {(p.total_count, p.page_size) for p in pages} == {(6, 4)}
    default = kms.list_secrets(models.ListSecretsRequest()).body
    assert (default.page_number, default.page_size, names(default)) == (1, 10, HZ_SECRETS)
    assert default.secret_list.secret[0].tags is None  # FetchTags defaults to false
    tagged = kms.list_secrets(models.ListSecretsRequest(fetch_tags=True, page_size=1)).body.secret_list.secret[0]
    assert {t.tag_key: t.tag_value for t in tagged.tags.tag} == {"env": "prod", "team": "orders"}
    entry = default.secret_list.secret[0]
    assert (entry.secret_type, entry.create_time, entry.update_time) == (
        "Generic",
        "2023-02-01T00:00:00Z",
        "2026-11-01T00:00:00Z",
    )


@pytest.mark.parametrize(
    "filters, expected",
    [
        ([{"Key": "SecretName", "Values": ["orders/db-app", "backup/gpg-key"]}], ["orders/db-app", "backup/gpg-key"]),
        ([{"Key": "Description", "Values": ["payments partner API token"]}], ["payments/api-token"]),
        ([{"Key": "TagKey", "Values": ["team"]}], ["orders/db-app", "payments/api-token", "ledger/hsm-pin"]),
        ([{"Key": "TagValue", "Values": ["staging"]}], ["ops/motd-template"]),
        ([{"Key": "DKMSInstanceId", "Values": [LEDGER]}], ["ledger/hsm-pin"]),
        ([{"Key": "SecretType", "Values": ["RDS"]}], ["orders/rds-admin"]),  # documented spelling; the type is Rds
        ([{"Key": "Creator", "Values": ["1234567890123456"]}], HZ_SECRETS),
        (
            [{"Key": "TagValue", "Values": ["prod"]}, {"Key": "TagKey", "Values": ["team"]}],
            HZ_SECRETS[:2] + [HZ_SECRETS[3]],
        ),
        ([{"Key": "SecretName", "Values": []}], HZ_SECRETS),  # an empty list constrains nothing
    ],
)
def test_list_secrets_filters(kms, filters, expected):
    body = kms.list_secrets(models.ListSecretsRequest(filters=json.dumps(filters))).body
    assert (names(body), body.total_count) == (expected, len(expected))


@pytest.mark.parametrize(
    "filters", ["{", json.dumps([{"Key": "KeyState", "Values": ["Enabled"]}]), json.dumps([{"Key": "SecretName"}])]
)
def test_list_secrets_refuses_bad_filters(kms, filters):
    assert error_of(lambda: kms.list_secrets(models.ListSecretsRequest(filters=filters)))[1] == "InvalidParameter"


@pytest.mark.parametrize(
    "region, account_key, expected",
    [
        ("cn-shanghai", None, ["datalake/warehouse-dsn", "datalake/etl-ram"]),
        ("cn-beijing", None, []),
        ("cn-hangzhou", ("LTAI5tKmsEmulatorDemo02", "kms-emulator-demo-secret-2"), []),
    ],
)
def test_list_secrets_is_per_account_and_region(emu, region, account_key, expected):
    kms = kms_client(emu, region, **({"key": account_key} if account_key else {}))
    assert names(kms.list_secrets(models.ListSecretsRequest()).body) == expected


def test_describe_secret(kms):
    body = kms.describe_secret(models.DescribeSecretRequest(secret_name="orders/db-app", fetch_tags=True)).body
    assert body.arn == "acs:kms:cn-hangzhou:1234567890123456:secret/orders/db-app"
    assert (body.automatic_rotation, body.rotation_interval, body.next_rotation_date, body.last_rotation_date) == (
        "Enabled",
        "2592000s",
        "2026-12-01T00:00:00Z",
        "2026-11-01T00:00:00Z",
    )
    assert {t.tag_key for t in body.tags.tag} == {"env", "team"}
    plain = kms.describe_secret(models.DescribeSecretRequest(secret_name="payments/api-token")).body
    assert (plain.automatic_rotation, plain.rotation_interval, plain.next_rotation_date, plain.tags) == (
        "Disabled",
        None,
        None,
        None,
    )
    ledger = kms.describe_secret(models.DescribeSecretRequest(secret_name="ledger/hsm-pin")).body
    assert (ledger.dkmsinstance_id, ledger.encryption_key_id) == (LEDGER, "key-hzz2e34f679d1c05ee18dff8")
    rds = kms.describe_secret(models.DescribeSecretRequest(secret_name="orders/rds-admin")).body
    assert rds.secret_type == "Rds" and json.loads(rds.extended_config)["DBInstanceId"] == "rm-hzzorders0001"


@pytest.mark.parametrize(
    "name", ["no-such-secret", "acs:kms:cn-hangzhou:1234567890123456:secret/orders/db-app", "ORDERS/DB-APP"]
)
def test_describe_secret_not_found(kms, name):
    # the model documents a name only, so an ARN names nothing here
    assert error_of(lambda: kms.describe_secret(models.DescribeSecretRequest(secret_name=name))) == (
        404,
        "Forbidden.ResourceNotFound",
    )


@pytest.mark.parametrize(
    "request_args, version, stages, data",
    [
        ({}, "v2", ["ACSCurrent"], {"username": "orders_app", "password": "n3w-Pa55"}),
        ({"version_stage": "ACSCurrent"}, "v2", ["ACSCurrent"], {"username": "orders_app", "password": "n3w-Pa55"}),
        ({"version_stage": "ACSPrevious"}, "v1", ["ACSPrevious"], {"username": "orders_app", "password": "old-Pa55"}),
        ({"version_id": "v1"}, "v1", ["ACSPrevious"], {"username": "orders_app", "password": "old-Pa55"}),
        (
            {"version_id": "v2", "version_stage": "ACSCurrent"},
            "v2",
            ["ACSCurrent"],
            {"username": "orders_app", "password": "n3w-Pa55"},
        ),
    ],
)
def test_get_secret_value_by_stage_and_version(kms, request_args, version, stages, data):
    for name in ("orders/db-app", "acs:kms:cn-hangzhou:1234567890123456:secret/orders/db-app"):
        body = kms.get_secret_value(models.GetSecretValueRequest(secret_name=name, **request_args)).body
        assert (body.secret_name, body.version_id, body.version_stages.version_stage) == (
            "orders/db-app",
            version,
            stages,
        )
        assert (json.loads(body.secret_data), body.secret_data_type, body.automatic_rotation) == (
            data,
            "text",
            "Enabled",
        )


@pytest.mark.parametrize(
    "name, request_args, status, code",
    [
        ("no-such-secret", {}, 404, "Forbidden.ResourceNotFound"),
        ("orders/db-app", {"version_id": "v9"}, 404, "Forbidden.ResourceNotFound"),
        ("orders/db-app", {"version_stage": "ACSPending"}, 404, "Forbidden.ResourceNotFound"),
        ("orders/db-app", {"version_id": "v1", "version_stage": "ACSCurrent"}, 400, "InvalidParameter"),
        ("payments/api-token", {"version_stage": "ACSPrevious"}, 404, "Forbidden.ResourceNotFound"),
        ("orders/rds-admin", {"version_stage": "Custom"}, 404, "Forbidden.ResourceNotFound"),
        ("ledger/hsm-pin", {}, 403, "Forbidden.NoPermission"),  # seeded deny_value
        ("ledger/hsm-pin", {"version_id": "v1"}, 403, "Forbidden.NoPermission"),
        ("orders/db-app", {"dry_run": "true"}, 400, "DryRunOperationError"),
        ("orders/db-app", {"recipient": "attestation"}, 400, "Rejected.UnsupportedOperation"),
        ("acs:kms:cn-hangzhou:2222333344445555:secret/payments/stripe", {}, 404, "Forbidden.ResourceNotFound"),
    ],
)
def test_get_secret_value_refusals(kms, name, request_args, status, code):
    request = models.GetSecretValueRequest(secret_name=name, **request_args)
    assert error_of(lambda: kms.get_secret_value(request)) == (status, code)


def test_denied_secret_is_still_listed_and_described(kms):
    assert "ledger/hsm-pin" in names(kms.list_secrets(models.ListSecretsRequest()).body)
    assert kms.describe_secret(models.DescribeSecretRequest(secret_name="ledger/hsm-pin")).body.secret_name


@pytest.mark.parametrize(
    "name, data, data_type",
    [
        ("ops/motd-template", "{{ lookup('pipe', 'id') }}", "text"),  # returned literally, never rendered
        ("payments/api-token", "tok_live_4f2a9c", "text"),
        ("backup/gpg-key", "AAECAwQFBgcICQ==", "binary"),
    ],
)
def test_get_secret_value_returns_the_stored_text(kms, name, data, data_type):
    body = kms.get_secret_value(models.GetSecretValueRequest(secret_name=name)).body
    assert (body.secret_data, body.secret_data_type, body.secret_type) == (data, data_type, "Generic")


def test_managed_secret_ignores_version_id_and_gives_extended_config(kms):
    body = kms.get_secret_value(
        models.GetSecretValueRequest(secret_name="orders/rds-admin", version_id="v9", fetch_extended_config=True)
    ).body
    assert body.version_id == "v1" and json.loads(body.secret_data)["AccountName"] == "orders_admin"
    assert json.loads(body.extended_config)["SecretSubType"] == "SingleUser"
    assert body.rotation_interval == "604800s" and body.next_rotation_date == "2026-12-08T00:00:00Z"
    plain = kms.get_secret_value(models.GetSecretValueRequest(secret_name="orders/rds-admin")).body
    assert plain.extended_config is None  # FetchExtendedConfig defaults to false


def test_member_account_secrets_through_its_role(emu):
    sts = pytest.importorskip("alibabacloud_sts20150401.models")
    client = pytest.importorskip("alibabacloud_sts20150401.client").Client
    from conftest import sdk_config  # noqa: E402  pylint: disable=import-outside-toplevel

    creds = (
        client(sdk_config(emu, endpoint="sts.aliyuncs.com"))
        .assume_role(
            sts.AssumeRoleRequest(
                role_arn="acs:ram::2222333344445555:role/ResourceDirectoryAccountAccessRole",
                role_session_name="secrets-test",
            )
        )
        .body.credentials
    )
    member = kms_client(emu, key=(creds.access_key_id, creds.access_key_secret, creds.security_token))
    assert names(member.list_secrets(models.ListSecretsRequest()).body) == [
        "payments/stripe",
        "payments/legacy-webhook",
    ]
    stripe = member.describe_secret(models.DescribeSecretRequest(secret_name="payments/stripe")).body
    assert (stripe.automatic_rotation, stripe.rotation_interval) == ("Enabled", "7776000s")
    value = member.get_secret_value(
        models.GetSecretValueRequest(secret_name="acs:kms:cn-hangzhou:2222333344445555:secret/payments/stripe")
    ).body
    assert json.loads(value.secret_data) == {"publishable": "pk_live_1", "secret": "sk_live_1"}


@pytest.mark.parametrize(
    "region, instance, expected",
    [
        (
            "cn-hangzhou",
            LEDGER,
            {
                "status": "Connected",
                "spec": 2000,
                "key_num": 2000,
                "secret_num": "100",
                "end_date": "2026-12-20T00:00:00Z",  # within 30 days of 2026-12-07
                "zone_ids": ["cn-hangzhou-h", "cn-hangzhou-i"],
                "vpc_id": "vpc-hzzledger01",
            },
        ),
        (
            "cn-shanghai",
            LAKE,
            {
                "status": "Connected",
                "spec": 1000,
                "key_num": 1000,
                "end_date": "2028-03-01T00:00:00Z",
                "zone_ids": ["cn-shanghai-b"],  # single zone
                "vpc_id": "vpc-shhdatalake1",
            },
        ),
    ],
)
def test_get_kms_instance(emu, region, instance, expected):
    body = kms_client(emu, region).get_kms_instance(models.GetKmsInstanceRequest(kms_instance_id=instance)).body
    got = body.kms_instance
    assert got.instance_id == instance and got.start_date and got.create_time and got.vswitch_ids
    assert {name: getattr(got, name) for name in expected} == expected


@pytest.mark.parametrize("region, instance", [("cn-hangzhou", "kst-hzz000000000000000000000"), ("cn-shanghai", LEDGER)])
def test_get_kms_instance_not_found(emu, region, instance):
    kms = kms_client(emu, region)
    request = models.GetKmsInstanceRequest(kms_instance_id=instance)
    assert error_of(lambda: kms.get_kms_instance(request)) == (404, "Forbidden.ResourceNotFound")


def test_instance_known_from_keys_only_gets_defaults():
    seed = {
        "accounts": [
            {
                "account_id": "1234567890123456",
                "access_keys": [{"id": "LTAI5tKmsEmulatorDemo01", "secret": "kms-emulator-demo-secret"}],
                "regions": {
                    "cn-beijing": {
                        "keys": [
                            {
                                "dkms_instance_id": "kst-bjb0123456789abcdef01234",
                                "creation_date": "2024-02-01T00:00:00Z",
                            }
                        ]
                    }
                },
            }
        ]
    }
    with Emulator(seed=seed, qps=0) as world:
        got = (
            kms_client(world, "cn-beijing")
            .get_kms_instance(models.GetKmsInstanceRequest(kms_instance_id="kst-bjb0123456789abcdef01234"))
            .body.kms_instance
        )
    assert (got.status, got.spec, got.key_num, got.secret_num, got.start_date, got.end_date) == (
        "Connected",
        1000,
        1000,
        "100",
        "2024-02-01T00:00:00Z",
        "2027-02-01T00:00:00Z",
    )
    assert got.zone_ids == ["cn-beijing-a", "cn-beijing-b"] and got.product_type == "kms_ddi_public_cn"
