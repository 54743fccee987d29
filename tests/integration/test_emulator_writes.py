"""The emulator's write actions through the official client: the happy path, the change visible to every later read,
and each documented constraint failing with its Code and HTTP status while changing nothing.

The sources of each rule are cited where backend.py implements it; these tests hold the emulator to them.
"""

from __future__ import annotations

import datetime
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# pylint: disable=wrong-import-position
from alibabacloud_kms20160120 import models as m  # noqa: E402
from alibabacloud_tea_openapi import exceptions as sdk_errors  # noqa: E402
from alibabacloud_tea_openapi.utils import Utils  # noqa: E402

from conftest import kms_client, rpc  # noqa: E402
from emulator.server import Emulator  # noqa: E402

DEMO_SEED = Path(__file__).resolve().parents[1] / "emulator" / "seeds" / "demo.yml"
HZ, SH = "cn-hangzhou", "cn-shanghai"
HARDWARE = "kst-hzz64f0e2b5c1a7d9e3f1a2"  # the demo's instance of HSM keys (cn-hangzhou)
SOFTWARE = "kst-shh63a9c7d2e4b6f8a0c1d3"  # the demo's instance of SOFTWARE keys (cn-shanghai)
UUID_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
POLICY = {
    "Version": "1",
    "Statement": [
        {
            "Sid": "kms default key policy",
            "Effect": "Allow",
            "Principal": {"RAM": ["acs:ram::1234567890123456:*"]},
            "Action": ["kms:*"],
            "Resource": ["*"],
        }
    ],
}


@pytest.fixture(name="emu", scope="module")
def emu_fixture():
    with Emulator(seed=DEMO_SEED, qps=0) as emulator:
        yield emulator


@pytest.fixture(autouse=True)
def seeded(emu):
    emu.reset()  # every test starts from the seeded demo world


def key(emu, description, region=HZ):
    return next(k for k in emu.backend.default_account.keys[region] if k.description == description)


def kid(emu, description, region=HZ):
    return key(emu, description, region).key_id


def call(emu, action, region=HZ, **query):
    """action through the official client's generic path, query flattened as the SDK does (Tag.1.Key, ...)."""
    return rpc(kms_client(emu, region), action, Utils.query(query))


def refused(emu, action, region=HZ, **query):
    """(HTTP status, Code) of a refused call, which must leave the whole world as it was."""
    before = emu.backend.snapshot()
    with pytest.raises(sdk_errors.AlibabaCloudException) as info:
        call(emu, action, region, **query)
    assert emu.backend.snapshot() == before, f"a refused {action} changed the state"
    return info.value.status_code, info.value.code


def meta(emu, key_id, region=HZ):
    return call(emu, "DescribeKey", region, KeyId=key_id)["KeyMetadata"]


def listed(emu, region=HZ, **filters):
    body = call(
        emu, "ListKeys", region, PageSize=100, Filters=json.dumps([{"Key": k, "Values": v} for k, v in filters.items()])
    )
    return [k["KeyId"] for k in body["Keys"]["Key"]]


def tags_of(emu, key_id, region=HZ):
    return {t["TagKey"]: t["TagValue"] for t in call(emu, "ListResourceTags", region, KeyId=key_id)["Tags"]["Tag"]}


def aliases_of(emu, key_id, region=HZ):
    body = call(emu, "ListAliasesByKeyId", region, KeyId=key_id, PageSize=100)
    return [a["AliasName"] for a in body["Aliases"]["Alias"]]


def seconds(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def now():
    return datetime.datetime.now(datetime.timezone.utc).timestamp()


# --- CreateKey ---------------------------------------------------------------------------------------------------


def test_create_key_defaults_and_every_read_sees_it(emu):
    kms = kms_client(emu, "cn-beijing")  # the demo account has no default key there yet
    tags = json.dumps([{"TagKey": "env", "TagValue": "dev"}, {"TagKey": "team", "TagValue": "web"}])
    body = kms.create_key(m.CreateKeyRequest(description="web sessions", tags=tags)).body.to_map()
    created = body["KeyMetadata"]
    key_id = created["KeyId"]
    assert UUID_ID.match(key_id) and abs(seconds(created["CreationDate"]) - now()) < 120
    assert {k: created[k] for k in ("KeySpec", "KeyUsage", "Origin", "ProtectionLevel", "KeyState")} == {
        "KeySpec": "Aliyun_AES_256",
        "KeyUsage": "ENCRYPT/DECRYPT",
        "Origin": "Aliyun_KMS",
        "ProtectionLevel": "SOFTWARE",
        "KeyState": "Enabled",
    }
    assert created["Creator"] == "1234567890123456" and created["AutomaticRotation"] == "Disabled"
    assert "DeletionProtection" not in created  # not a field of CreateKeyResponseBodyKeyMetadata
    described = meta(emu, key_id, "cn-beijing")
    assert {**created, "DeletionProtection": "Disabled"} == described
    assert key_id in listed(emu, "cn-beijing", CreatorType=["User"], TagKey=["team"], KeySpec=["Aliyun_AES_256"])
    assert tags_of(emu, key_id, "cn-beijing") == {"env": "dev", "team": "web"}
    rows = call(emu, "ListTagResources", "cn-beijing", RegionId="cn-beijing", ResourceType="key", ResourceId=[key_id])
    assert [(r["TagKey"], r["TagValue"]) for r in rows["TagResources"]["TagResource"]] == [
        ("env", "dev"),
        ("team", "web"),
    ]


def test_create_key_in_instances(emu):
    soft = (
        kms_client(emu, SH)
        .create_key(
            m.CreateKeyRequest(
                dkmsinstance_id=SOFTWARE,
                protection_level="HSM",  # ignored in an instance: the instance decides
                enable_automatic_rotation=True,
                rotation_interval="30d",
                policy=json.dumps(POLICY),
            )
        )
        .body.key_metadata
    )
    assert re.match(r"^key-shh[0-9a-f]{21}$", soft.key_id) and soft.protection_level == "SOFTWARE"
    assert (soft.automatic_rotation, soft.rotation_interval) == ("Enabled", "2592000s")
    assert seconds(soft.next_rotation_date) - seconds(soft.creation_date) == 30 * 86400
    assert json.loads(call(emu, "GetKeyPolicy", SH, KeyId=soft.key_id)["Policy"]) == POLICY
    assert soft.key_id in listed(emu, SH, DKMSInstanceId=[SOFTWARE])
    hard = kms_client(emu).create_key(m.CreateKeyRequest(dkmsinstance_id=HARDWARE, origin="EXTERNAL")).body.key_metadata
    assert (hard.protection_level, hard.key_state, hard.origin) == ("HSM", "PendingImport", "EXTERNAL")
    assert hard.primary_key_version is None and hard.last_rotation_date is None  # no key material yet
    assert (
        json.loads(call(emu, "GetKeyPolicy", KeyId=hard.key_id)["Policy"])["Statement"][0]["Sid"]
        == "kms default key policy"
    )
    instances = call(emu, "ListKmsInstances")["KmsInstances"]["KmsInstance"]
    assert [i["KmsInstanceId"] for i in instances] == [HARDWARE]  # a key in an instance adds no instance


@pytest.mark.parametrize(
    "spec, usage",
    [
        ("Aliyun_SM4", "ENCRYPT/DECRYPT"),
        ("RSA_2048", "SIGN/VERIFY"),
        ("EC_P256K", "SIGN/VERIFY"),
        ("EC_SM2", "SIGN/VERIFY"),
    ],
)
def test_create_key_usage_defaults_by_spec(emu, spec, usage):
    created = call(emu, "CreateKey", DKMSInstanceId=HARDWARE, KeySpec=spec)["KeyMetadata"]
    assert (created["KeySpec"], created["KeyUsage"]) == (spec, usage)


CREATE_REFUSED = [
    # (region, query, (status, code))
    (HZ, {"DKMSInstanceId": HARDWARE, "KeySpec": "AES_128"}, (400, "InvalidParameter")),
    (HZ, {"DKMSInstanceId": HARDWARE, "KeyUsage": "SIGN/VERIFY"}, (400, "InvalidParameter")),
    (HZ, {"DKMSInstanceId": HARDWARE, "KeySpec": "EC_P256", "KeyUsage": "ENCRYPT/DECRYPT"}, (400, "InvalidParameter")),
    (HZ, {"DKMSInstanceId": HARDWARE, "Origin": "aliyun_kms"}, (400, "InvalidParameter")),  # case-sensitive
    (HZ, {"DKMSInstanceId": HARDWARE, "ProtectionLevel": "CLOUD"}, (400, "InvalidParameter")),
    (HZ, {"DKMSInstanceId": HARDWARE, "Description": "x" * 8193}, (400, "InvalidParameter")),
    (HZ, {"DKMSInstanceId": HARDWARE, "EnableAutomaticRotation": "yes"}, (400, "InvalidParameter")),
    (HZ, {"DKMSInstanceId": HARDWARE, "KeyStorageMechanism": "Disk"}, (400, "InvalidParameter")),
    ("eu-central-1", {"KeySpec": "Aliyun_SM4"}, (400, "InvalidParameter")),  # no SM specs outside SM regions
    (HZ, {"DKMSInstanceId": "kst-hzz000000000000000000000"}, (403, "Forbidden.DKMSInstanceNotFound")),
    (HZ, {}, (400, "Rejected.LimitExceeded")),  # one default key a region, and cn-hangzhou has it
    ("cn-beijing", {"Policy": json.dumps(POLICY)}, (400, "Forbidden.KeyPolicyUnSupported")),  # default keys: no policy
    (SH, {"DKMSInstanceId": SOFTWARE, "Origin": "EXTERNAL"}, (400, "UnsupportedOperation")),
    (
        "cn-beijing",
        {"EnableAutomaticRotation": True, "RotationInterval": "90d"},
        (400, "InvalidParameter"),
    ),  # 365d only
    ("cn-beijing", {"EnableAutomaticRotation": True}, (400, "MissingParameter")),
    (
        HZ,
        {"DKMSInstanceId": HARDWARE, "EnableAutomaticRotation": True, "RotationInterval": "30d"},
        (400, "UnsupportedOperation"),
    ),
    (
        SH,
        {"DKMSInstanceId": SOFTWARE, "KeySpec": "RSA_2048", "EnableAutomaticRotation": True, "RotationInterval": "30d"},
        (400, "UnsupportedOperation"),
    ),
    (
        "cn-beijing",
        {"Origin": "EXTERNAL", "EnableAutomaticRotation": True, "RotationInterval": "365d"},
        (400, "UnsupportedOperation"),
    ),
    *[
        (
            SH,
            {"DKMSInstanceId": SOFTWARE, "EnableAutomaticRotation": True, "RotationInterval": bad},
            (400, "InvalidParameter"),
        )
        for bad in ("6d", "366d", "8760h1", "30", "4w", "-30d")
    ],
    (SH, {"DKMSInstanceId": SOFTWARE, "Policy": "{not json"}, (400, "InvalidParameter")),
    (SH, {"DKMSInstanceId": SOFTWARE, "Tags": "env=prod"}, (400, "InvalidParameter")),
    (
        SH,
        {"DKMSInstanceId": SOFTWARE, "Tags": json.dumps([{"TagKey": "aliyun-x", "TagValue": "v"}])},
        (400, "InvalidParameter.TagKey"),
    ),
    (
        SH,
        {"DKMSInstanceId": SOFTWARE, "Tags": json.dumps([{"TagKey": "k", "TagValue": "v" * 129}])},
        (400, "InvalidParameter.TagValue"),
    ),
    (
        SH,
        {"DKMSInstanceId": SOFTWARE, "Tags": json.dumps([{"TagKey": "k", "TagValue": "1"}] * 2)},
        (400, "Duplicate.TagKey"),
    ),
    (
        SH,
        {"DKMSInstanceId": SOFTWARE, "Tags": json.dumps([{"TagKey": f"k{n}", "TagValue": ""} for n in range(21)])},
        (400, "InvalidParameter"),
    ),
]


@pytest.mark.parametrize("region, query, expected", CREATE_REFUSED)
def test_create_key_constraints(emu, region, query, expected):
    assert refused(emu, "CreateKey", region, **query) == expected


def test_retried_create_key_creates_one_key(emu):
    """Faults decided before the backend (a dropped connection, a 503) leave nothing behind: a retry creates the one key,
    and the stats count both requests. A garbled reply (malformed) comes after the key was created, as a reply lost on
    the way back: a client that retries then creates a second key, which is what an idempotent module must avoid."""
    region = "cn-beijing"
    for fault in ({"drop_rate": 1}, {"error_rate_503": 1}):
        emu.reset()
        emu.set_faults(**fault)
        with pytest.raises(Exception):  # noqa: B017 - a dropped connection or a 503, whichever the fault is
            call(emu, "CreateKey", region)
        emu.set_faults(drop_rate=0, error_rate_503=0)
        created = call(emu, "CreateKey", region)["KeyMetadata"]["KeyId"]
        assert listed(emu, region) == [created]
        assert emu.stats()["by_action"]["CreateKey"] == 2
    emu.reset()
    emu.set_faults(malformed_rate=1)
    with pytest.raises(Exception):  # noqa: B017 - the body is garbled, whatever the client makes of it
        call(emu, "CreateKey", region)
    emu.set_faults(malformed_rate=0)
    assert len(listed(emu, region)) == 1 and emu.stats()["requests"][0]["malformed"]


def test_writes_obey_the_faults_of_their_region(emu):
    emu.set_faults(deny_actions={HZ: ["TagResources"]}, deny_regions=[SH])
    tag = {
        "RegionId": HZ,
        "ResourceType": "key",
        "ResourceId": [kid(emu, "jwt issuer")],
        "Tag": [{"Key": "a", "Value": "b"}],
    }
    assert refused(emu, "TagResources", **tag) == (404, "InvalidAction.NotFound")
    assert refused(emu, "DisableKey", SH, KeyId=kid(emu, "kafka envelope", SH)) == (403, "Forbidden.NoPermission")
    call(emu, "DisableKey", KeyId=kid(emu, "jwt issuer"))  # other actions and regions still work
    assert emu.stats()["by_action"] == {"TagResources": 1, "DisableKey": 2}


# --- key states --------------------------------------------------------------------------------------------------

STATE_KEYS = {
    "Enabled": "jwt issuer",
    "Disabled": "legacy batch jobs",
    "PendingDeletion": "retired reporting",
    "PendingImport": "byok imported",
}
CONFLICT = (409, "Rejected.StateModifiedFailed")
# "Impact of CMK states on API call": the state each action leaves, or its refusal
STATE_TABLE = {
    "EnableKey": {"Enabled": "Enabled", "Disabled": "Enabled", "PendingDeletion": CONFLICT, "PendingImport": CONFLICT},
    "DisableKey": {
        "Enabled": "Disabled",
        "Disabled": "Disabled",
        "PendingDeletion": CONFLICT,
        "PendingImport": CONFLICT,
    },
    "ScheduleKeyDeletion": {
        "Enabled": "PendingDeletion",
        "Disabled": "PendingDeletion",
        "PendingDeletion": CONFLICT,
        "PendingImport": "PendingDeletion",
    },
    "CancelKeyDeletion": {
        "Enabled": CONFLICT,
        "Disabled": CONFLICT,
        "PendingDeletion": "Enabled",
        "PendingImport": CONFLICT,
    },
}
EXTRA = {"ScheduleKeyDeletion": {"PendingWindowInDays": 7}}


@pytest.mark.parametrize("action, state", [(a, s) for a in STATE_TABLE for s in STATE_KEYS])
def test_state_transitions(emu, action, state):
    key_id, expected = kid(emu, STATE_KEYS[state]), STATE_TABLE[action][state]
    query = {"KeyId": key_id, **EXTRA.get(action, {})}
    if isinstance(expected, tuple):
        assert refused(emu, action, **query) == expected
        return
    assert call(emu, action, **query) == {"RequestId": emu.stats()["requests"][-1]["request_id"]}
    assert meta(emu, key_id)["KeyState"] == expected
    assert key_id in listed(emu, KeyState=[expected])


def test_disabling_suspends_rotation_and_enabling_resumes_it(emu):
    key_id = kid(emu, "customer PII envelope")  # Enabled, rotating every 90 days
    call(emu, "DisableKey", KeyId=key_id)
    suspended = meta(emu, key_id)
    assert (suspended["AutomaticRotation"], suspended["RotationInterval"]) == ("Suspended", "7776000s")
    call(emu, "EnableKey", KeyId=key_id)
    assert meta(emu, key_id)["AutomaticRotation"] == "Enabled"


def test_schedule_and_cancel_deletion(emu):
    key_id = kid(emu, "jwt issuer")
    call(emu, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=30)
    scheduled = meta(emu, key_id)
    assert (
        scheduled["KeyState"] == "PendingDeletion" and abs(seconds(scheduled["DeleteDate"]) - now() - 30 * 86400) < 120
    )
    call(emu, "CancelKeyDeletion", KeyId=key_id)
    cancelled = meta(emu, key_id)
    assert cancelled["KeyState"] == "Enabled" and "DeleteDate" not in cancelled
    external = kid(emu, "byok imported")  # no key material: back to PendingImport, not Enabled
    call(emu, "ScheduleKeyDeletion", KeyId=external, PendingWindowInDays=366)
    call(emu, "CancelKeyDeletion", KeyId=external)
    assert meta(emu, external)["KeyState"] == "PendingImport"


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"PendingWindowInDays": 6}, (400, "InvalidParameter")),
        ({"PendingWindowInDays": 367}, (400, "InvalidParameter")),
        ({"PendingWindowInDays": "week"}, (400, "InvalidParameter")),
        ({}, (400, "MissingParameter")),
        ({"PendingWindowInDays": 7, "KeyId": "alias/jwt-issuer"}, (404, "Forbidden.KeyNotFound")),  # IDs only
        ({"PendingWindowInDays": 7, "KeyId": "no-such-key"}, (404, "Forbidden.KeyNotFound")),
        ({"PendingWindowInDays": 7, "KeyId": "orders-db TDE"}, CONFLICT),  # deletion protection
        ({"PendingWindowInDays": 7, "KeyId": "rds managed key"}, (400, "Rejected.UnsupportedOperation")),  # service key
    ],
)
def test_schedule_key_deletion_constraints(emu, query, expected):
    query.setdefault("KeyId", "jwt issuer")
    names = {k.description for k in emu.backend.default_account.keys[HZ]}
    if query["KeyId"] in names:
        query["KeyId"] = kid(emu, query["KeyId"])
    assert refused(emu, "ScheduleKeyDeletion", **query) == expected


def test_every_key_action_refuses_a_service_key_and_an_unknown_id(emu):
    service = kid(emu, "rds managed key")
    for action, extra in [
        ("EnableKey", {}),
        ("DisableKey", {}),
        ("CancelKeyDeletion", {}),
        ("UpdateKeyDescription", {"Description": "x"}),
        ("UpdateRotationPolicy", {"EnableAutomaticRotation": False}),
        ("CreateAlias", {"AliasName": "alias/rds"}),
    ]:
        assert refused(emu, action, KeyId=service, **extra) == (400, "Rejected.UnsupportedOperation"), action
        assert refused(emu, action, KeyId="no-such-key", **extra) == (404, "Forbidden.KeyNotFound"), action
        assert refused(emu, action, **extra) == (400, "MissingParameter"), action


# --- deletion protection, description, rotation ------------------------------------------------------------------


def test_set_deletion_protection(emu):
    jwt = key(emu, "jwt issuer")
    kms = kms_client(emu)
    kms.set_deletion_protection(
        m.SetDeletionProtectionRequest(
            protected_resource_arn=jwt.arn, enable_deletion_protection=True, deletion_protection_description="in use"
        )
    )
    protected = meta(emu, jwt.key_id)
    assert (protected["DeletionProtection"], protected["DeletionProtectionDescription"]) == ("Enabled", "in use")
    assert refused(emu, "ScheduleKeyDeletion", KeyId=jwt.key_id, PendingWindowInDays=7) == CONFLICT
    kms.set_deletion_protection(m.SetDeletionProtectionRequest(key_id=jwt.key_id, enable_deletion_protection=False))
    unprotected = meta(emu, jwt.key_id)
    assert unprotected["DeletionProtection"] == "Disabled" and "DeletionProtectionDescription" not in unprotected
    call(emu, "ScheduleKeyDeletion", KeyId=jwt.key_id, PendingWindowInDays=7)


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"KeyId": "jwt issuer"}, (400, "MissingParameter")),
        ({"EnableDeletionProtection": True}, (400, "MissingParameter")),
        ({"KeyId": "jwt issuer", "EnableDeletionProtection": "on"}, (400, "InvalidParameter")),
        (
            {"ProtectedResourceArn": "acs:kms:cn-hangzhou:1234567890123456:key/none", "EnableDeletionProtection": True},
            (404, "Forbidden.KeyNotFound"),
        ),
        (
            {"KeyId": "jwt issuer", "ProtectedResourceArn": "guomi archive", "EnableDeletionProtection": True},
            (400, "InvalidParameter"),
        ),
        (
            {"KeyId": "jwt issuer", "KmsInstanceId": HARDWARE, "EnableDeletionProtection": True},
            (400, "InvalidParameter"),
        ),
        ({"KeyId": "retired reporting", "EnableDeletionProtection": True}, (409, "Rejected.PendingDeletion")),
        ({"KeyId": "oss managed key", "EnableDeletionProtection": True}, (400, "Rejected.UnsupportedOperation")),
    ],
)
def test_set_deletion_protection_constraints(emu, query, expected):
    if "KeyId" in query:
        query["KeyId"] = kid(emu, query["KeyId"])
    if query.get("ProtectedResourceArn") == "guomi archive":
        query["ProtectedResourceArn"] = key(emu, "guomi archive").arn
    assert refused(emu, "SetDeletionProtection", **query) == expected


def test_update_key_description(emu):
    key_id = kid(emu, "jwt issuer")
    kms_client(emu).update_key_description(m.UpdateKeyDescriptionRequest(key_id=key_id, description="token signing"))
    assert meta(emu, key_id)["Description"] == "token signing"
    call(emu, "UpdateKeyDescription", KeyId=key_id, Description="")  # deleting it is updating it to nothing
    assert meta(emu, key_id)["Description"] == ""
    assert refused(emu, "UpdateKeyDescription", KeyId=key_id, Description="x" * 8193) == (400, "InvalidParameter")
    assert refused(emu, "UpdateKeyDescription", KeyId=key_id) == (400, "MissingParameter")
    pending = kid(emu, "retired reporting")
    assert refused(emu, "UpdateKeyDescription", KeyId=pending, Description="x") == (409, "Rejected.PendingDeletion")


def test_update_rotation_policy(emu):
    guomi = kid(emu, "guomi archive")  # a default symmetric key, not rotating
    kms_client(emu).update_rotation_policy(
        m.UpdateRotationPolicyRequest(key_id=guomi, enable_automatic_rotation=True, rotation_interval="365d")
    )
    rotating = meta(emu, guomi)
    assert (rotating["AutomaticRotation"], rotating["RotationInterval"]) == ("Enabled", "31536000s")
    assert abs(seconds(rotating["NextRotationDate"]) - now()) < 120  # created 2021: the next rotation is due now
    call(emu, "UpdateRotationPolicy", KeyId=guomi, EnableAutomaticRotation=False)
    stopped = meta(emu, guomi)
    assert stopped["AutomaticRotation"] == "Disabled" and not {"RotationInterval", "NextRotationDate"} & set(stopped)
    lake = kid(emu, "data lake", SH)  # in the software instance: 7 to 365 days, any unit
    call(emu, "UpdateRotationPolicy", SH, KeyId=lake, EnableAutomaticRotation=True, RotationInterval="168h")
    assert meta(emu, lake, SH)["RotationInterval"] == "604800s"


UNSUPPORTED = (400, "Rejected.UnsupportedOperation")


@pytest.mark.parametrize(
    "region, description, query, expected",
    [
        (HZ, "jwt issuer", {"RotationInterval": "365d"}, UNSUPPORTED),  # asymmetric
        (HZ, "rds managed key", {"RotationInterval": "365d"}, UNSUPPORTED),  # service key
        (HZ, "legacy batch jobs", {"RotationInterval": "365d"}, UNSUPPORTED),  # not Enabled
        (HZ, "ledger TDE", {"RotationInterval": "30d"}, UNSUPPORTED),  # hardware instance
        (HZ, "guomi archive", {"RotationInterval": "90d"}, (400, "InvalidParameter")),  # default keys: 365d only
        (HZ, "guomi archive", {"RotationInterval": "365"}, (400, "InvalidParameter")),
        (HZ, "guomi archive", {}, (400, "MissingParameter")),
        (HZ, "guomi archive", {"EnableAutomaticRotation": None}, (400, "MissingParameter")),
        (SH, "data lake", {"RotationInterval": "6d"}, (400, "InvalidParameter")),
        (SH, "data lake", {"RotationInterval": "730d"}, (400, "InvalidParameter")),
    ],
)
def test_update_rotation_policy_constraints(emu, region, description, query, expected):
    query = {"KeyId": kid(emu, description, region), "EnableAutomaticRotation": True, **query}
    assert refused(emu, "UpdateRotationPolicy", region, **{k: v for k, v in query.items() if v is not None}) == expected


def test_update_rotation_policy_refuses_imported_material(emu):
    guomi = kid(emu, "guomi archive")
    emu.update_key(HZ, guomi, origin="EXTERNAL")
    assert (
        refused(emu, "UpdateRotationPolicy", KeyId=guomi, EnableAutomaticRotation=True, RotationInterval="365d")
        == UNSUPPORTED
    )


# --- aliases -----------------------------------------------------------------------------------------------------


def test_alias_lifecycle_is_visible_to_every_read(emu):
    jwt, guomi = kid(emu, "jwt issuer"), kid(emu, "guomi archive")
    name = "alias/" + "a/b_c-" * 41 + "xyz"  # 255 characters, every documented character
    assert len(name) == 255
    kms = kms_client(emu)
    kms.create_alias(m.CreateAliasRequest(alias_name=name, key_id=jwt))
    assert aliases_of(emu, jwt) == ["alias/jwt-issuer", name]
    assert meta(emu, name)["KeyId"] == jwt and jwt in listed(emu, AliasName=[name])
    assert {a["AliasName"]: a["KeyId"] for a in call(emu, "ListAliases", PageSize=100)["Aliases"]["Alias"]}[name] == jwt
    kms.update_alias(m.UpdateAliasRequest(alias_name=name, key_id=guomi))
    assert (aliases_of(emu, jwt), aliases_of(emu, guomi)) == (["alias/jwt-issuer"], [name])
    assert listed(emu, AliasName=[name]) == [guomi]
    kms.delete_alias(m.DeleteAliasRequest(alias_name=name))
    assert aliases_of(emu, guomi) == [] and name not in json.dumps(call(emu, "ListAliases", PageSize=100))
    call(emu, "CreateAlias", SH, AliasName="alias/orders-db", KeyId=kid(emu, "backup encryption", SH))  # another region
    call(emu, "DeleteAlias", AliasName="alias/ledger-tde")  # any state of the key will do, even ...
    call(emu, "CreateAlias", AliasName="alias/retired", KeyId=kid(emu, "byok imported"))  # ... PendingImport


@pytest.mark.parametrize(
    "alias, expected",
    [
        ("jwt", (400, "InvalidParameter")),
        ("alias/", (400, "InvalidParameter")),
        ("alias/" + "x" * 250, (400, "InvalidParameter")),  # 256 characters with the prefix
        ("alias/has space", (400, "InvalidParameter")),
        ("alias/a:b", (400, "InvalidParameter")),  # a colon is AWS's, not documented here
        ("alias/acs/oss", (400, "InvalidParameter")),  # reserved for service keys
        ("alias/acsmine", (400, "InvalidParameter")),  # "cannot be prefixed with the reserved word alias/acs"
        ("alias/orders-db", (400, "AliasAlreadyExists")),
        (None, (400, "MissingParameter")),
    ],
)
def test_create_alias_names(emu, alias, expected):
    query = {"KeyId": kid(emu, "jwt issuer")} | ({"AliasName": alias} if alias else {})
    assert refused(emu, "CreateAlias", **query) == expected


def test_alias_constraints(emu):
    jwt, pending = kid(emu, "jwt issuer"), kid(emu, "retired reporting")
    assert refused(emu, "CreateAlias", AliasName="alias/x", KeyId=pending) == CONFLICT
    assert refused(emu, "UpdateAlias", AliasName="alias/none", KeyId=jwt) == (404, "Forbidden.AliasNotFound")
    assert refused(emu, "UpdateAlias", AliasName="alias/jwt-issuer", KeyId=pending) == (409, "Rejected.PendingDeletion")
    assert refused(emu, "UpdateAlias", AliasName="alias/jwt-issuer", KeyId="no-such-key") == (
        404,
        "Forbidden.KeyNotFound",
    )
    assert refused(emu, "UpdateAlias", AliasName="jwt-issuer", KeyId=jwt) == (400, "InvalidParameter")
    assert refused(emu, "DeleteAlias", AliasName="alias/none") == (404, "Forbidden.AliasNotFound")
    assert refused(emu, "DeleteAlias", AliasName="none") == (400, "InvalidParameter")
    assert refused(emu, "DeleteAlias") == (400, "MissingParameter")


# --- tags ---------------------------------------------------------------------------------------------------------


def tag_query(emu, *descriptions, **extra):
    return {"RegionId": HZ, "ResourceType": "key", "ResourceId": [kid(emu, d) for d in descriptions], **extra}


def test_tag_and_untag_resources(emu):
    jwt, guomi = kid(emu, "jwt issuer"), kid(emu, "guomi archive")
    kms = kms_client(emu)
    tags = [m.TagResourcesRequestTag(key="owner", value="alice"), m.TagResourcesRequestTag(key="env", value="prod")]
    kms.tag_resources(m.TagResourcesRequest(region_id=HZ, resource_type="key", resource_id=[jwt, guomi], tag=tags))
    assert tags_of(emu, jwt) == {"owner": "alice", "env": "prod"}
    assert tags_of(emu, guomi) == {"env": "prod", "owner": "alice"}  # env's value replaced, its place kept
    assert set(listed(emu, TagKey=["owner"])) == {jwt, guomi} and guomi not in listed(emu, TagValue=["staging"])
    rows = call(emu, "ListTagResources", **tag_query(emu, "jwt issuer", "guomi archive", Tag=[{"Key": "owner"}]))
    assert [(r["ResourceId"], r["TagValue"]) for r in rows["TagResources"]["TagResource"]] == [
        (jwt, "alice"),
        (guomi, "alice"),
    ]
    kms.untag_resources(
        m.UntagResourcesRequest(region_id=HZ, resource_type="key", resource_id=[jwt, guomi], tag_key=["owner", "none"])
    )
    assert (tags_of(emu, jwt), tags_of(emu, guomi)) == ({"env": "prod"}, {"env": "prod"})
    orders = kid(emu, "orders-db TDE")
    call(emu, "UntagResources", **tag_query(emu, "orders-db TDE", All=True))
    assert tags_of(emu, orders) == {} and orders not in listed(emu, TagKey=["team"])


TAG = [{"Key": "owner", "Value": "alice"}]


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"RegionId": SH}, (400, "InvalidParameter")),
        ({"RegionId": None}, (400, "MissingParameter")),
        ({"ResourceType": "disk"}, (400, "InvalidParameter")),
        ({"ResourceType": "secret"}, (404, "InvalidResourceId.NotFound")),
        ({"ResourceId": ["no-such-key", "jwt issuer"]}, (404, "InvalidResourceId.NotFound")),  # and jwt untouched
        ({"ResourceId": [f"id-{n}" for n in range(51)]}, (400, "InvalidParameter")),
        ({"ResourceId": None}, (400, "MissingParameter")),
        ({"Tag": None}, (400, "MissingParameter")),
        ({"Tag": [{"Key": f"k{n}", "Value": ""} for n in range(21)]}, (400, "InvalidParameter")),
        ({"Tag": [{"Key": "owner"}]}, (400, "MissingParameter")),
        ({"Tag": [{"Key": "aliyun:x", "Value": "v"}]}, (400, "InvalidParameter.TagKey")),
        ({"Tag": [{"Key": "ACS:x", "Value": "v"}]}, (400, "InvalidParameter.TagKey")),
        ({"Tag": [{"Key": "k" * 129, "Value": "v"}]}, (400, "InvalidParameter.TagKey")),
        ({"Tag": [{"Key": "two words", "Value": "v"}]}, (400, "InvalidParameter.TagKey")),
        ({"Tag": [{"Key": "k", "Value": "v" * 129}]}, (400, "InvalidParameter.TagValue")),
        ({"Tag": TAG * 2}, (400, "Duplicate.TagKey")),
        ({"Tag": [{"Key": f"k{n}", "Value": ""} for n in range(18)]}, (400, "Rejected.LimitExceeded")),  # 3 + 18 > 20
        ({"ResourceId": ["retired reporting"]}, (409, "Rejected.PendingDeletion")),
        ({"ResourceId": ["rds managed key"]}, (400, "Rejected.UnsupportedOperation")),
    ],
)
def test_tag_resources_constraints(emu, change, expected):
    query = tag_query(emu, "orders-db TDE", Tag=TAG)
    for name, value in change.items():
        names = {k.description for k in emu.backend.default_account.keys[HZ]}
        query[name] = [kid(emu, v) if v in names else v for v in value] if name == "ResourceId" and value else value
    assert refused(emu, "TagResources", **{k: v for k, v in query.items() if v is not None}) == expected


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, (400, "MissingParameter")),  # neither TagKey nor All=true
        ({"All": False}, (400, "MissingParameter")),
        ({"All": "maybe"}, (400, "InvalidParameter")),
        ({"TagKey": ["aliyun-tag"]}, (400, "InvalidParameter.TagKey")),
        ({"TagKey": [f"k{n}" for n in range(21)]}, (400, "InvalidParameter")),
        ({"TagKey": ["env"], "ResourceType": "secret"}, (404, "InvalidResourceId.NotFound")),
    ],
)
def test_untag_resources_constraints(emu, change, expected):
    assert refused(emu, "UntagResources", **{**tag_query(emu, "orders-db TDE"), **change}) == expected


# --- key policies -------------------------------------------------------------------------------------------------


def test_set_key_policy(emu):
    wallet = key(emu, "ledger wallet")  # in an instance, with the default policy
    policy = {
        **POLICY,
        "Statement": POLICY["Statement"]
        + [{"Effect": "Deny", "Principal": {"RAM": "*"}, "Action": "kms:Decrypt", "Resource": "*"}],
    }
    kms_client(emu).set_key_policy(m.SetKeyPolicyRequest(key_id=wallet.arn, policy=json.dumps(policy)))
    assert json.loads(call(emu, "GetKeyPolicy", KeyId=wallet.key_id)["Policy"]) == policy
    call(emu, "SetKeyPolicy", KeyId=wallet.key_id, Policy=json.dumps(POLICY), PolicyName="default")
    assert json.loads(call(emu, "GetKeyPolicy", KeyId=wallet.arn)["Policy"]) == POLICY


def statement(**change):
    return json.dumps({"Version": "1", "Statement": [{**POLICY["Statement"][0], **change}]})


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"KeyId": "jwt issuer"}, (400, "Forbidden.KeyPolicyUnSupported")),  # not in an instance
        ({"PolicyName": "custom"}, (404, "Forbidden.ResourceNotFound")),
        ({"Policy": None}, (400, "MissingParameter")),
        ({"Policy": "{"}, (400, "InvalidParameter")),
        ({"Policy": json.dumps({**POLICY, "Version": "2"})}, (400, "InvalidParameter")),
        ({"Policy": json.dumps({"Version": "1", "Statement": []})}, (400, "InvalidParameter")),
        ({"Policy": statement(Effect="Permit")}, (400, "InvalidParameter")),
        ({"Policy": statement(Action=["ecs:*"])}, (400, "InvalidParameter")),
        ({"Policy": statement(Resource=["acs:kms:*"])}, (400, "InvalidParameter")),
        ({"Policy": statement(Principal="*")}, (400, "InvalidParameter")),
        ({"Policy": statement(Sid="no;semicolons")}, (400, "InvalidParameter")),
        ({"Policy": statement(NotAction=["kms:*"])}, (400, "InvalidParameter")),
        ({"Policy": statement(Sid="x" * 32768)}, (400, "InvalidParameter")),  # more than 32,768 bytes
        ({"KeyId": "no-such-key"}, (404, "Forbidden.KeyNotFound")),
    ],
)
def test_set_key_policy_constraints(emu, change, expected):
    query = {"KeyId": kid(emu, "ledger wallet"), "Policy": json.dumps(POLICY), **change}
    if query["KeyId"] == "jwt issuer":
        query["KeyId"] = kid(emu, "jwt issuer")
    assert refused(emu, "SetKeyPolicy", **{k: v for k, v in query.items() if v is not None}) == expected


def test_set_key_policy_refuses_a_key_pending_deletion(emu):
    wallet = kid(emu, "ledger wallet")
    call(emu, "ScheduleKeyDeletion", KeyId=wallet, PendingWindowInDays=7)
    assert refused(emu, "SetKeyPolicy", KeyId=wallet, Policy=json.dumps(POLICY)) == (409, "Rejected.PendingDeletion")
