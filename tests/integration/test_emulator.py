"""The KMS emulator, driven by the official SDK so that its signature checks are the real ones."""

from __future__ import annotations

import dataclasses
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# pylint: disable=wrong-import-position
from alibabacloud_kms20160120 import models as kms_models  # noqa: E402
from alibabacloud_kms20160120.client import Client  # noqa: E402
from alibabacloud_tea_openapi import exceptions as sdk_errors  # noqa: E402
from alibabacloud_tea_openapi.models import Config  # noqa: E402
from alibabacloud_tea_openapi.utils import Utils  # noqa: E402

from conftest import kms_client as client  # noqa: E402
from conftest import rpc, sdk_config  # noqa: E402
from emulator.backend import DEFAULT_REGIONS  # noqa: E402
from emulator.seeding import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_ACCOUNT_ID  # noqa: E402
from emulator.server import Emulator, Handler  # noqa: E402

TESTS = Path(__file__).resolve().parents[1]
DEMO_SEED = TESTS / "emulator" / "seeds" / "demo.yml"
STS_ID, STS_SECRET, STS_TOKEN = (
    "STS.NUKmsEmulatorDemoSts01",
    "kms-emulator-sts-secret",
    "CAIS-kms-emulator-demo-sts-token",
)
# paging values every List action rejects
BAD_PAGING = [{"PageSize": 0}, {"PageSize": 101}, {"PageSize": "ten"}, {"PageNumber": 0}, {"PageNumber": -1}]
ATTRS = {
    "KeyState": "key_state",
    "KeySpec": "key_spec",
    "KeyUsage": "key_usage",
    "ProtectionLevel": "protection_level",
    "CreatorType": "creator_type",
    "DKMSInstanceId": "dkms_instance_id",
}


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(name="demo", scope="module")
def demo_fixture():
    with Emulator(seed=DEMO_SEED, log=io.StringIO()) as emu:
        yield emu


@pytest.fixture(name="gen", scope="module")
def gen_fixture():
    with Emulator(generate="cn-hangzhou=150,ap-southeast-1=30", random_seed=7) as emu:
        yield emu


@pytest.fixture(name="fresh_demo")
def fresh_demo_fixture():
    """A private demo world, for tests that change it."""
    with Emulator(seed=DEMO_SEED) as emu:
        yield emu


@pytest.fixture(name="fresh")
def fresh_fixture():
    """A private emulator for tests that change faults or state."""
    with Emulator(generate="cn-hangzhou=30,cn-shanghai=5") as emu:
        yield emu


def call(kms, action, **query):
    """The generic call_api path, as the collection uses it; lets tests send values the typed models would not."""
    return rpc(kms, action, {k: str(v) for k, v in query.items()})


def error_of(func, *args, **kwargs):
    with pytest.raises(sdk_errors.AlibabaCloudException) as info:
        func(*args, **kwargs)
    return info.value


def all_ids(kms, **query):
    ids, page = [], 1
    while True:
        body = call(kms, "ListKeys", PageNumber=page, PageSize=100, **query)
        ids += [k["KeyId"] for k in body["Keys"]["Key"]]
        if page * 100 >= body["TotalCount"]:
            return ids
        page += 1


def expected_ids(emu, region, filters):
    """Reference semantics, written independently of the backend: AND across keys, union within a key."""
    wanted = {}
    for pair in filters:
        if pair["Values"]:
            wanted.setdefault(ATTRS[pair["Key"]], set()).update(pair["Values"])
    keys = emu.backend.default_account.keys.get(region, [])
    return [k.key_id for k in keys if all(getattr(k, attr) in values for attr, values in wanted.items())]


def control(emu, path, data=None):
    request = urllib.request.Request(
        f"{emu.url}/_emulator/{path}",
        method="GET" if data is None else "POST",
        data=None if data is None else json.dumps(data).encode(),
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        return json.loads(reply.read())


# --- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize("v1", [False, True], ids=["v3", "v1"])
@pytest.mark.parametrize("via", ["proxy", "endpoint"])
def test_official_sdk_signatures_are_accepted(demo, v1, via):
    kms = client(demo, via=via, v1=v1)
    body = kms.list_keys(kms_models.ListKeysRequest(page_size=5)).body
    assert body.total_count == 14 and len(body.keys.key) == 5
    assert body.keys.key[0].key_arn.startswith(f"acs:kms:cn-hangzhou:{DEMO_ACCOUNT_ID}:key/")
    assert re.fullmatch(r"[0-9A-F-]{36}", body.request_id)
    assert demo.stats()["requests"][-1]["sig_version"] == ("v1" if v1 else "v3")


@pytest.mark.parametrize("v1", [False, True], ids=["v3", "v1"])
def test_wrong_secret_is_rejected_without_leaking(demo, v1):
    error = error_of(client(demo, v1=v1, key=(DEMO_ACCESS_KEY_ID, "not-the-secret")).describe_regions)
    assert (error.status_code, error.code) == (400, "SignatureDoesNotMatch")
    assert error.data["Message"] == "The request signature does not conform to Aliyun standards."
    assert {"Code", "Message", "RequestId", "HostId", "Recommend"} <= set(error.data)
    assert DEMO_ACCESS_KEY_SECRET not in json.dumps(error.data) and "POST" not in error.data["Message"]


@pytest.mark.parametrize("v1", [False, True], ids=["v3", "v1"])
def test_unknown_access_key(demo, v1):
    error = error_of(client(demo, v1=v1, key=("LTAI5tNoSuchKey", "x")).describe_regions)
    assert (error.status_code, error.code) == (404, "InvalidAccessKeyId.NotFound")
    assert error.data["Message"] == "The Access Key ID provided does not exist in our records."


@pytest.mark.parametrize("v1", [False, True], ids=["v3", "v1"])
def test_sts_token_is_required_and_must_match(demo, v1):
    assert client(demo, v1=v1, key=(STS_ID, STS_SECRET), security_token=STS_TOKEN).describe_regions().body.regions
    missing = error_of(client(demo, v1=v1, key=(STS_ID, STS_SECRET)).describe_regions)
    assert (missing.status_code, missing.code) == (400, "InvalidSecurityToken.MissingParameter")
    wrong = error_of(client(demo, v1=v1, key=(STS_ID, STS_SECRET), security_token="CAIS-stale").describe_regions)
    assert (wrong.status_code, wrong.code) == (400, "InvalidSecurityToken.Mismatch")
    assert STS_TOKEN not in json.dumps(wrong.data)


def capture(monkeypatch, emu, kms_call):
    """Run an SDK call and keep the exact prepared HTTP request it sent."""
    sent = []
    original = requests.Session.send

    def recording_send(session, prepared, **kwargs):
        sent.append(prepared.copy())
        return original(session, prepared, **kwargs)

    monkeypatch.setattr(requests.Session, "send", recording_send)
    kms_call()
    monkeypatch.undo()
    return sent[-1]


def replay(emu, prepared, **changes):
    prepared = prepared.copy()
    for name, value in changes.items():
        setattr(prepared, name, value)
    with requests.Session() as session:
        return session.send(prepared, proxies={"http": emu.url}, timeout=5)


def test_replayed_request_reuses_nonce(demo, monkeypatch):
    prepared = capture(monkeypatch, demo, client(demo, region="cn-shanghai").describe_regions)
    reply = replay(demo, prepared)
    assert (reply.status_code, reply.json()["Code"]) == (400, "SignatureNonceUsed")
    assert reply.headers["Content-Type"] == "application/json;charset=utf-8"


def test_tampered_request_fails_signature(demo, monkeypatch):
    prepared = capture(
        monkeypatch, demo, lambda: client(demo, v1=True).list_keys(kms_models.ListKeysRequest(page_size=5))
    )
    reply = replay(demo, prepared, url=prepared.url.replace("PageSize=5", "PageSize=6"))
    assert (reply.status_code, reply.json()["Code"]) == (400, "SignatureDoesNotMatch")


def test_same_nonce_from_sdk_v1(demo, monkeypatch):
    monkeypatch.setattr(Utils, "get_nonce", staticmethod(lambda: "fixed-nonce-for-test"))
    kms = client(demo, v1=True)
    kms.describe_regions()
    assert error_of(kms.describe_regions).code == "SignatureNonceUsed"


@pytest.mark.parametrize("v1", [False, True], ids=["v3", "v1"])
def test_stale_timestamp(demo, monkeypatch, v1):
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: "2020-01-01T00:00:00Z"))
    error = error_of(client(demo, v1=v1).describe_regions)
    assert (error.status_code, error.code) == (400, "InvalidTimeStamp.Expired")


def test_v1_parameters_in_a_form_body(demo):
    key_id, secret = demo.access_key
    params = {
        "Action": "ListKeys",
        "Version": "2016-01-20",
        "Format": "json",
        "Timestamp": Utils.get_timestamp(),
        "SignatureNonce": Utils.get_nonce(),
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": key_id,
        "PageSize": "3",
    }
    params["Signature"] = Utils.get_rpcsignature(params, "POST", secret)
    reply = requests.post(f"{demo.url}/", data=params, headers={"Host": "kms.ap-southeast-1.aliyuncs.com"}, timeout=5)
    assert reply.status_code == 200 and reply.json()["TotalCount"] == 6 and len(reply.json()["Keys"]["Key"]) == 3


def test_unsigned_request(demo):
    reply = requests.post(f"{demo.url}/?Action=ListKeys&Version=2016-01-20", timeout=5)
    assert (reply.status_code, reply.json()["Code"]) == (400, "MissingSignature")


# --- routing ---------------------------------------------------------------------------------


def test_proxy_routes_by_host_to_each_region(demo):
    for region, count in (("cn-shanghai", 10), ("ap-southeast-1", 6), ("cn-beijing", 0)):
        body = call(client(demo, region=region), "ListKeys", PageSize=100)
        assert body["TotalCount"] == count
        assert all(k["KeyArn"].startswith(f"acs:kms:{region}:") for k in body["Keys"]["Key"])
    vpc = call(client(demo, region="cn-shanghai", network="vpc"), "ListKeys")
    assert vpc["TotalCount"] == 10
    assert demo.stats()["requests"][-1]["region"] == "cn-shanghai"


def test_direct_endpoint_uses_default_region():
    with Emulator(seed=DEMO_SEED, default_region="cn-shanghai") as emu:
        body = call(client(emu, region="ap-southeast-1", via="endpoint"), "ListKeys")
        assert body["TotalCount"] == 10 and emu.stats()["by_region"] == {"cn-shanghai": 1}


def test_second_account_sees_only_its_keys(demo):
    body = call(client(demo, key=("LTAI5tKmsEmulatorDemo02", "kms-emulator-demo-secret-2")), "ListKeys")
    assert body["TotalCount"] == 1 and ":9876543210987654:" in body["Keys"]["Key"][0]["KeyArn"]


# --- ListKeys --------------------------------------------------------------------------------


def test_list_keys_defaults_and_paging(gen):
    kms = client(gen)
    first = call(kms, "ListKeys")
    assert (first["PageNumber"], first["PageSize"], first["TotalCount"], len(first["Keys"]["Key"])) == (1, 10, 150, 10)
    pages = [call(kms, "ListKeys", PageNumber=n, PageSize=40) for n in range(1, 5)]
    assert [len(p["Keys"]["Key"]) for p in pages] == [40, 40, 40, 30]
    ids = [k["KeyId"] for p in pages for k in p["Keys"]["Key"]]
    assert ids == [k.key_id for k in gen.backend.default_account.keys["cn-hangzhou"]]  # creation order, no repeats
    past = call(kms, "ListKeys", PageNumber=9, PageSize=40)
    assert past["Keys"]["Key"] == [] and past["TotalCount"] == 150 and past["PageNumber"] == 9
    assert len(call(kms, "ListKeys", PageSize=100)["Keys"]["Key"]) == 100


@pytest.mark.parametrize(
    "query",
    BAD_PAGING
    + [
        {"PageNumber": "1.5"},
        {"Filters": '{"Key": "KeyState"}'},
        {"Filters": '[{"Key":"KeyState","Values":["Enabled"]'},
        {"Filters": '[{"Key":"Color","Values":["red"]}]'},
        {"Filters": '[{"Key":"KeyState","Values":"Enabled"}]'},
        {"Filters": '[{"Key":"KeyState","Values":[1]}]'},
    ],
)
def test_list_keys_invalid_parameters(gen, query):
    error = error_of(call, client(gen), "ListKeys", **query)
    assert (error.status_code, error.code) == (400, "InvalidParameter")


FILTER_CASES = [
    # the ListKeys.txt example: repeated KeyState entries are a union, KeySpec is ANDed
    [
        {"Key": "KeyState", "Values": ["Enabled", "Disabled"]},
        {"Key": "KeyState", "Values": ["PendingDeletion"]},
        {"Key": "KeySpec", "Values": ["Aliyun_AES_256"]},
    ],
    [{"Key": "KeyState", "Values": ["Enabled", "Disabled"]}],
    [{"Key": "KeyUsage", "Values": ["SIGN/VERIFY"]}, {"Key": "ProtectionLevel", "Values": ["HSM"]}],
    [{"Key": "CreatorType", "Values": ["Service"]}],
    [{"Key": "KeySpec", "Values": ["EC_SM2", "Aliyun_SM4"]}, {"Key": "KeyState", "Values": []}],
    [{"Key": "KeyState", "Values": ["NoSuchState"]}],
    [{"Key": "KeyState", "Values": []}],
]


@pytest.mark.parametrize("filters", FILTER_CASES)
def test_list_keys_filter_semantics(gen, filters):
    expected = expected_ids(gen, "cn-hangzhou", filters)
    assert all_ids(client(gen), Filters=json.dumps(filters)) == expected
    if filters[0]["Values"] and filters[0]["Values"][0] != "NoSuchState":
        assert 0 < len(expected)


def test_list_keys_filter_by_dkms_instance(demo):
    kms = client(demo)
    body = call(
        kms, "ListKeys", Filters=json.dumps([{"Key": "DKMSInstanceId", "Values": ["kst-hzz64f0e2b5c1a7d9e3f1a2"]}])
    )
    assert body["TotalCount"] == 3 and all(k["KeyId"].startswith("key-hzz") for k in body["Keys"]["Key"])


def test_list_keys_filter_limits(gen):
    kms = client(gen)
    ten_values = [{"Key": "KeyState", "Values": ["Enabled"] + [f"x{i}" for i in range(9)]}]
    assert call(kms, "ListKeys", Filters=json.dumps(ten_values))["TotalCount"] == len(
        expected_ids(gen, "cn-hangzhou", ten_values)
    )
    ten_pairs = [{"Key": "KeyState", "Values": ["Enabled"]}] * 10
    assert call(kms, "ListKeys", Filters=json.dumps(ten_pairs))["TotalCount"] > 0
    for too_many in ([{"Key": "KeyState", "Values": [f"x{i}" for i in range(11)]}], ten_pairs + ten_pairs[:1]):
        assert error_of(call, kms, "ListKeys", Filters=json.dumps(too_many)).code == "InvalidParameter"


def test_flat_keys_form(fresh):
    fresh.set_faults(flat_keys=True)
    body = call(client(fresh), "ListKeys", PageSize=3)
    assert isinstance(body["Keys"], list) and set(body["Keys"][0]) == {"KeyId", "KeyArn"}


def test_generator_is_deterministic_and_consistent():
    def keys(**kwargs):
        with Emulator(**kwargs) as emu:
            return [k for region_keys in emu.backend.default_account.keys.values() for k in region_keys]

    spec = "cn-hangzhou=300,eu-central-1=100"
    same, other = keys(generate=spec, random_seed=1), keys(generate=spec, random_seed=2)
    assert same == keys(generate=spec, random_seed=1) and [k.key_id for k in same] != [k.key_id for k in other]
    assert len({k.key_id for k in same}) == 400
    for key in same:
        assert key.key_usage == "ENCRYPT/DECRYPT" or key.key_spec in ("RSA_2048", "EC_P256", "EC_P256K", "EC_SM2")
        assert key.key_usage == "ENCRYPT/DECRYPT" or key.key_spec not in ("Aliyun_AES_256", "Aliyun_SM4")
        assert key.region == "cn-hangzhou" or key.key_spec not in ("Aliyun_SM4", "EC_SM2")
        assert bool(key.delete_date) == (key.key_state == "PendingDeletion")
        assert (key.origin == "EXTERNAL") == (key.key_state == "PendingImport")
        assert not key.dkms_instance_id or re.fullmatch(r"kst-[a-z]{3}[0-9a-f]{21}", key.dkms_instance_id)
    for attr in (
        "key_state",
        "key_spec",
        "protection_level",
        "creator_type",
        "automatic_rotation",
        "deletion_protection",
    ):
        assert len({getattr(k, attr) for k in same}) > 1, attr
    assert any(k.dkms_instance_id for k in same)


# --- DescribeKey, DescribeRegions, unknown actions -------------------------------------------


def test_describe_key_by_id_and_arn(demo):
    kms = client(demo)
    first = call(kms, "ListKeys", PageSize=1)["Keys"]["Key"][0]
    meta = kms.describe_key(kms_models.DescribeKeyRequest(key_id=first["KeyId"])).body.key_metadata.to_map()
    assert meta["Arn"] == first["KeyArn"] and meta["Description"] == "orders-db TDE"
    assert (meta["AutomaticRotation"], meta["RotationInterval"], meta["DeletionProtection"]) == (
        "Enabled",
        "31536000s",
        "Enabled",
    )
    raw = call(kms, "DescribeKey", KeyId=first["KeyArn"])["KeyMetadata"]
    assert raw["Creator"] == DEMO_ACCOUNT_ID and raw["Origin"] == "Aliyun_KMS"
    assert "CreatorType" not in raw  # DescribeKeyResponseBodyKeyMetadata has no such field
    assert {
        "CreationDate",
        "KeyState",
        "KeySpec",
        "KeyUsage",
        "ProtectionLevel",
        "LastRotationDate",
        "NextRotationDate",
        "RotationInterval",
        "PrimaryKeyVersion",
        "DeletionProtectionDescription",
    } <= set(raw)
    assert not {"DeleteDate", "MaterialExpireTime", "DKMSInstanceId"} & set(
        raw
    )  # an Enabled, KMS-made key outside an instance


def test_describe_key_states(demo):
    kms = client(demo)
    states = {}
    for key_id in all_ids(kms):
        meta = call(kms, "DescribeKey", KeyId=key_id)["KeyMetadata"]
        states.setdefault(meta["KeyState"], []).append(meta)
    assert all(m["DeleteDate"] for m in states["PendingDeletion"])
    assert not any("DeleteDate" in m for state, metas in states.items() if state != "PendingDeletion" for m in metas)
    assert [m["Origin"] for m in states["PendingImport"]] == ["EXTERNAL"]


def test_describe_key_errors(demo):
    kms = client(demo)
    missing = error_of(call, kms, "DescribeKey", KeyId="00000000-0000-0000-0000-000000000000")
    assert (missing.status_code, missing.code) == (404, "Forbidden.KeyNotFound")
    elsewhere = call(client(demo, region="cn-shanghai"), "ListKeys", PageSize=1)["Keys"]["Key"][0]["KeyId"]
    assert error_of(call, kms, "DescribeKey", KeyId=elsewhere).code == "Forbidden.KeyNotFound"
    assert error_of(call, kms, "DescribeKey").status_code == 400


def test_describe_regions(demo):
    regions = [r.region_id for r in client(demo).describe_regions().body.regions.region]
    assert regions[: len(DEFAULT_REGIONS)] == list(DEFAULT_REGIONS) and "ap-southeast-1" in regions
    with Emulator(seed={"regions": ["cn-hangzhou", "cn-wulanchabu"], "accounts": []}) as emu:
        assert [r["RegionId"] for r in call(client(emu), "DescribeRegions")["Regions"]["Region"]] == [
            "cn-hangzhou",
            "cn-wulanchabu",
        ]


def test_unknown_action_and_version(demo):
    kms = client(demo)
    error = error_of(call, kms, "Encrypt")  # a KMS action the emulator does not offer
    assert (error.status_code, error.code) == (404, "InvalidAction.NotFound")
    with pytest.raises(sdk_errors.ClientException) as info:
        rpc(kms, "ListKeys", {}, version="2014-05-26", protocol="HTTP")
    assert info.value.code == "InvalidVersion"


# --- faults ----------------------------------------------------------------------------------


def test_throttling_per_account_and_region(fresh):
    fresh.set_faults(qps=2, retry_after_ms=250)
    kms = client(fresh)
    outcomes = []
    for dummy in range(5):
        try:
            call(kms, "ListKeys")
            outcomes.append(200)
        except sdk_errors.ThrottlingException as error:
            assert (error.status_code, error.code, error.retry_after) == (429, "Rejected.Throttling", 250)
            assert error.data["Message"] == "Request was denied due to request throttling."
            outcomes.append(429)
    assert outcomes[:2] == [200, 200] and 429 in outcomes
    assert call(client(fresh, region="cn-shanghai"), "ListKeys")["TotalCount"] == 5  # another region has its own bucket
    fresh.set_faults(retry_after_ms=None)
    while True:
        try:
            call(kms, "ListKeys")
        except sdk_errors.ClientException as error:  # without x-acs-retry-after it is a plain client error
            assert error.code == "Rejected.Throttling"
            break
    fresh.set_faults(qps=None)
    assert call(kms, "ListKeys")["TotalCount"] == 30


def test_server_errors_and_reproducible_decisions(fresh):
    kms = client(fresh)

    def outcomes():
        fresh.set_faults(random_seed=42, error_rate_503=0.3, error_rate_500=0.3)
        result = []
        for dummy in range(12):
            try:
                call(kms, "DescribeRegions")
                result.append(200)
            except sdk_errors.ServerException as error:
                assert error.code == {503: "ServiceUnavailableTemporary", 500: "InternalFailure"}[error.status_code]
                result.append(error.status_code)
        return result

    first = outcomes()
    assert {200, 500, 503} <= set(first) and outcomes() == first


def test_deny_regions(fresh):
    fresh.set_faults(deny_regions=["cn-shanghai"])
    error = error_of(call, client(fresh, region="cn-shanghai"), "ListKeys")
    assert (error.status_code, error.code) == (403, "Forbidden.NoPermission")
    assert call(client(fresh), "ListKeys")["TotalCount"] == 30


def test_latency(fresh):
    fresh.set_faults(latency_ms=150, latency_jitter_ms=20)
    started = time.monotonic()
    call(client(fresh), "DescribeRegions")
    assert time.monotonic() - started >= 0.12


def test_drop(fresh):
    kms = client(fresh)
    fresh.set_faults(drop_rate=1)
    with pytest.raises(Exception) as dropped:
        call(kms, "DescribeRegions")
    assert not isinstance(dropped.value, sdk_errors.AlibabaCloudException)  # a connection error, no HTTP reply
    assert requests.get(f"{fresh.url}/_emulator/health", timeout=5).ok  # the control API is never faulted
    fresh.set_faults(drop_rate=0)
    assert call(kms, "DescribeRegions")["Regions"]
    assert [r["status"] for r in fresh.stats()["requests"]] == ["dropped", 200]


def test_malformed_bodies(fresh, monkeypatch):
    seen = []
    original = requests.Session.send

    def recording_send(session, prepared, **kwargs):
        reply = original(session, prepared, **kwargs)
        seen.append((reply.status_code, reply.headers["Content-Type"], reply.content[:1]))
        return reply

    monkeypatch.setattr(requests.Session, "send", recording_send)
    fresh.set_faults(malformed_rate=1, random_seed=3)
    kms = client(fresh)
    for dummy in range(10):
        with pytest.raises(Exception):  # the SDK cannot parse either shape
            call(kms, "ListKeys")
    assert {status for status, dummy, dummy in seen} == {200}
    assert {(kind, first) for dummy, kind, first in seen} == {
        ("text/html", b"<"),
        ("application/json;charset=utf-8", b"{"),
    }
    fresh.set_faults(malformed_rate=0)
    assert call(kms, "ListKeys")["TotalCount"] == 30


def test_mutate_after_page(fresh):
    original = [k.key_id for k in fresh.backend.default_account.keys["cn-hangzhou"]]
    fresh.set_faults(mutate_after_page={"page": 1, "add": 4, "delete": 2})
    kms = client(fresh)
    before = call(kms, "ListKeys", PageNumber=1, PageSize=10)
    assert before["TotalCount"] == 30
    after = call(kms, "ListKeys", PageNumber=2, PageSize=10)
    assert after["TotalCount"] == 32
    assert after["Keys"]["Key"][0]["KeyId"] == original[12]  # the two oldest keys went, so a naive pager skips two
    now = all_ids(kms)
    assert now[:28] == original[2:] and len(set(now[28:]) - set(original)) == 4
    assert fresh.faults.as_dict()["mutate_after_page"] is None  # fires once
    assert call(kms, "ListKeys", PageNumber=1)["TotalCount"] == 32


# --- control API, stats, logs, CLI -----------------------------------------------------------


def test_control_api_over_http(fresh):
    assert control(fresh, "faults", {"qps": 5, "deny_regions": ["us-west-1"]})["qps"] == 5
    assert control(fresh, "faults")["deny_regions"] == ["us-west-1"]
    added = control(
        fresh, "keys", {"region": "eu-central-1", "keys": [{"key_state": "Disabled", "description": "added"}]}
    )["added"]
    assert added[0]["KeyArn"].startswith("acs:kms:eu-central-1:")
    assert call(client(fresh, region="eu-central-1"), "ListKeys")["Keys"]["Key"] == added
    stats = control(fresh, "stats")
    assert stats["total"] == 1 and stats["by_region"] == {"eu-central-1": 1}
    assert control(fresh, "reset", {})["reset"] and control(fresh, "stats")["total"] == 0
    for path, data, status in (
        ("faults", {"bogus": 1}, 400),
        ("faults", {"drop_rate": 3}, 400),
        ("nothing", None, 404),
    ):
        with pytest.raises(urllib.error.HTTPError) as info:
            control(fresh, path, data)
        assert info.value.code == status


def test_stats_count_everything_without_secrets(fresh):
    kms = client(fresh)
    call(kms, "ListKeys", PageNumber=2, PageSize=7, Filters='[{"Key":"KeyState","Values":["Enabled"]}]')
    call(client(fresh, region="cn-shanghai"), "DescribeRegions")
    error_of(call, client(fresh, key=(DEMO_ACCESS_KEY_ID, "wrong")), "ListKeys")
    stats = fresh.stats()
    assert stats["total"] == 3
    assert stats["by_action"] == {"ListKeys": 2, "DescribeRegions": 1}
    assert stats["by_region"] == {"cn-hangzhou": 2, "cn-shanghai": 1}
    assert stats["by_outcome"] == {"200": 2, "400": 1}
    first = stats["requests"][0]
    assert (first["action"], first["page_number"], first["page_size"], first["status"]) == ("ListKeys", "2", "7", 200)
    assert json.loads(first["filters"]) == [{"Key": "KeyState", "Values": ["Enabled"]}]
    assert DEMO_ACCESS_KEY_SECRET not in json.dumps(stats) and "Signature" not in json.dumps(stats)
    fresh.reset()
    assert fresh.stats()["total"] == 0


def test_access_log_has_no_secrets(demo):
    client(demo, v1=True, key=(STS_ID, STS_SECRET), security_token=STS_TOKEN).describe_regions()
    client(demo).describe_regions()
    log = demo.log_stream.getvalue()
    assert "action=DescribeRegions status=200" in log and "region=cn-hangzhou" in log
    for secret in (DEMO_ACCESS_KEY_SECRET, STS_SECRET, STS_TOKEN, "Signature", "ACS3-HMAC", "Timestamp", "?"):
        assert secret not in log


def test_keep_alive_and_content_length(fresh):
    assert Handler.disable_nagle_algorithm and Handler.protocol_version == "HTTP/1.1"
    conn = http.client.HTTPConnection("127.0.0.1", fresh.port, timeout=5)
    try:
        for dummy in range(3):
            conn.request("POST", "/?Action=ListKeys")
            reply = conn.getresponse()
            assert reply.status == 400 and int(reply.headers["Content-Length"]) == len(reply.read())
            assert reply.headers["x-acs-request-id"] and not reply.will_close
        assert fresh.stats()["total"] == 3 and len(fresh.connections) == 1  # one connection served all three
    finally:
        conn.close()


def cli(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    return subprocess.Popen(
        [sys.executable, "-m", "emulator", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_cli_exec_passes_connection_and_exit_status(tmp_path):
    script = (
        'import os, sys; print(os.environ["KMS_EMULATOR_URL"], os.environ["KMS_EMULATOR_PORT"], os.environ["ALICLOUD_ACCESS_KEY"]);'
        ' sys.exit(3 if os.environ["ALICLOUD_SECRET_KEY"] == "kms-emulator-demo-secret" else 1)'
    )
    process = cli(
        "--seed",
        str(DEMO_SEED),
        "--log",
        str(tmp_path / "access.log"),
        "--qps",
        "10",
        "--exec",
        "--",
        sys.executable,
        "-c",
        script,
    )
    out, err = process.communicate(timeout=20)
    assert process.returncode == 3, err
    banner, child = out.splitlines()
    port = re.fullmatch(r"KMS emulator listening on http://127\.0\.0\.1:(\d+)", banner)[1]
    assert child == f"http://127.0.0.1:{port} {port} {DEMO_ACCESS_KEY_ID}"


def test_cli_serves_until_sigterm():
    process = cli(
        "--generate", "cn-hangzhou=12,cn-beijing=3", "--flat-keys", "--access-key", "LTAI5tExtra:extra-secret"
    )
    try:
        banner = process.stdout.readline()
        url = re.fullmatch(r"KMS emulator listening on (http://127\.0\.0\.1:\d+)\n", banner)[1]
        port = int(url.rsplit(":", 1)[1])
        kms = Client(
            Config(
                access_key_id="LTAI5tExtra",
                access_key_secret="extra-secret",
                region_id="cn-beijing",
                protocol="http",
                http_proxy=url,
            )
        )
        body = call(kms, "ListKeys")
        assert body["TotalCount"] == 3 and isinstance(body["Keys"], list)
        assert json.loads(urllib.request.urlopen(f"{url}/_emulator/faults", timeout=5).read())["flat_keys"] is True
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0 and out == ""
    assert '127.0.0.1 "POST kms.cn-beijing.aliyuncs.com" region=cn-beijing action=ListKeys status=200' in err
    assert "extra-secret" not in err and port


# --- DescribeKey presence rules, ListKeys filter keys, timestamps ----------------------------


def test_describe_key_optional_fields_are_absent_not_empty(fresh):
    """DescribeKeyResponseBodyKeyMetadata: RotationInterval/NextRotationDate only for Enabled or Suspended rotation,
    DeleteDate only for PendingDeletion; MaterialExpireTime, DKMSInstanceId, DeletionProtectionDescription when they apply."""
    fresh.add_keys(
        "cn-shanghai",
        [
            {"automatic_rotation": "Suspended", "rotation_interval": "604800s"},
            {"key_state": "PendingImport", "origin": "EXTERNAL"},
            {"key_state": "Enabled", "origin": "EXTERNAL", "material_expire_time": "2027-01-01T00:00:00Z"},
        ],
    )
    metas = [
        call(client(fresh, region=region), "DescribeKey", KeyId=key_id)["KeyMetadata"]
        for region in ("cn-hangzhou", "cn-shanghai")
        for key_id in all_ids(client(fresh, region=region))
    ]
    for meta in metas:
        assert "" not in [v for k, v in meta.items() if k != "Description"] and "CreatorType" not in meta
        rotating = meta["AutomaticRotation"] in ("Enabled", "Suspended")
        assert ("RotationInterval" in meta) == rotating and ("NextRotationDate" in meta) == rotating
        assert ("DeleteDate" in meta) == (meta["KeyState"] == "PendingDeletion")
        assert "MaterialExpireTime" not in meta or meta["Origin"] == "EXTERNAL"
        assert "DeletionProtectionDescription" not in meta or meta["DeletionProtection"] == "Enabled"
        assert ("DKMSInstanceId" in meta) == meta["KeyId"].startswith("key-")
    suspended, pending_import, expiring = metas[-3:]
    assert (suspended["AutomaticRotation"], suspended["RotationInterval"]) == ("Suspended", "604800s") and suspended[
        "NextRotationDate"
    ]
    assert not {"PrimaryKeyVersion", "LastRotationDate", "MaterialExpireTime"} & set(pending_import)  # no material yet
    assert expiring["MaterialExpireTime"] == "2027-01-01T00:00:00Z"
    assert {m["AutomaticRotation"] for m in metas} >= {"Enabled", "Disabled", "Suspended"}


def list_ids(kms, *pairs):
    return all_ids(kms, Filters=json.dumps([{"Key": key, "Values": values} for key, values in pairs]))


def test_list_keys_documented_filter_keys(demo):
    """ListKeysRequest.filters documents keyId, AliasName, Creator, TagKey and TagValue besides the attribute keys."""
    kms, keys = client(demo), demo.backend.default_account.keys["cn-hangzhou"]
    orders, payments, archive = keys[0].key_id, keys[1].key_id, keys[4].key_id  # tagged in demo.yml
    ledger = [keys[11].key_id, keys[12].key_id]  # ledger TDE and ledger signing: env prod, team ledger
    assert list_ids(kms, ("keyId", [payments, orders, "nope"])) == [orders, payments]
    assert list_ids(kms, ("AliasName", ["alias/payments-signing"])) == [payments]
    assert list_ids(kms, ("AliasName", ["alias/jws-issuer"])) == [payments]  # any of a key's aliases
    assert list_ids(kms, ("AliasName", ["alias/orders-db", "alias/payments-signing"])) == [orders, payments]
    assert list_ids(kms, ("TagKey", ["team"])) == [orders, payments, *ledger]
    assert list_ids(kms, ("TagKey", ["env"])) == [orders, payments, archive, *ledger]
    assert list_ids(kms, ("TagValue", ["staging", "payments"])) == [payments, archive]
    assert list_ids(kms, ("TagKey", ["env"]), ("TagValue", ["prod"])) == [orders, payments, *ledger]  # AND across keys
    assert list_ids(kms, ("Creator", ["Rds", "Oss"])) == [k.key_id for k in keys if k.creator_type == "Service"]
    assert list_ids(kms, ("Creator", [DEMO_ACCOUNT_ID]), ("KeyState", ["Disabled"])) == [
        k.key_id for k in keys if k.key_state == "Disabled"
    ]
    for wrong in ("KeyID", "keyid", "Tag", "Alias"):  # casing as documented; anything else stays unknown
        assert (
            error_of(call, kms, "ListKeys", Filters=json.dumps([{"Key": wrong, "Values": ["x"]}])).code
            == "InvalidParameter"
        )


@pytest.mark.parametrize("v1", [False, True], ids=["v3", "v1"])
@pytest.mark.parametrize("stamp", ["{now}+08:00", "{now}", "{now}.000Z", "{date} {time}Z", "yesterday", "{now}z"])
def test_illegal_timestamp(demo, monkeypatch, v1, stamp):
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    value = stamp.format(now=now, date=now[:10], time=now[11:])
    monkeypatch.setattr(Utils, "get_timestamp", staticmethod(lambda: value))
    error = error_of(client(demo, v1=v1).describe_regions)
    assert (error.status_code, error.code) == (400, "IllegalTimestamp")


# --- STS AssumeRole --------------------------------------------------------------------------

AUDIT_ROLE = "acs:ram::9876543210987654:role/kms-audit"


def sts_client(emu, key=None, v1=False, endpoint="sts.aliyuncs.com"):
    from alibabacloud_sts20150401.client import Client as StsClient  # pylint: disable=import-outside-toplevel

    return StsClient(sdk_config(emu, key=key, v1=v1, endpoint=endpoint))


def assume(emu, role_arn=AUDIT_ROLE, session="ansible-test", key=None, v1=False, endpoint="sts.aliyuncs.com", **extra):
    from alibabacloud_sts20150401 import models as sts_models  # pylint: disable=import-outside-toplevel

    request = sts_models.AssumeRoleRequest(role_arn=role_arn, role_session_name=session, **extra)
    return sts_client(emu, key, v1, endpoint).assume_role(request).body


@pytest.mark.parametrize("v1", [False, True], ids=["v3", "v1"])
@pytest.mark.parametrize(
    "endpoint", ["sts.aliyuncs.com", "sts-vpc.cn-shanghai.aliyuncs.com", "sts.cn-hangzhou.aliyuncs.com"]
)
def test_assume_role_issues_credentials_valid_only_with_their_token(fresh_demo, v1, endpoint):
    started = time.time()
    body = assume(fresh_demo, v1=v1, endpoint=endpoint, duration_seconds=1200)
    creds = body.credentials
    assert creds.access_key_id.startswith("STS.") and creds.security_token and creds.access_key_secret
    expires = time.mktime(time.strptime(creds.expiration, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert started + 1200 - 2 <= expires <= time.time() + 1200 and re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", creds.expiration
    )
    assert (
        body.assumed_role_user.arn == f"{AUDIT_ROLE}/ansible-test"
        and body.assumed_role_user.assumed_role_id.endswith(":ansible-test")
    )
    assert re.fullmatch(r"[0-9A-F-]{36}", body.request_id)
    entry = fresh_demo.stats()["requests"][-1]
    assert (entry["service"], entry["action"], entry["status"], entry["sig_version"]) == (
        "sts",
        "AssumeRole",
        200,
        "v1" if v1 else "v3",
    )
    role_key = (creds.access_key_id, creds.access_key_secret)
    listed = call(
        client(fresh_demo, region="cn-beijing", key=role_key, security_token=creds.security_token), "ListKeys"
    )
    assert (
        listed["TotalCount"] == 2 and ":9876543210987654:" in listed["Keys"]["Key"][0]["KeyArn"]
    )  # the role's account
    assert error_of(call, client(fresh_demo, key=role_key), "ListKeys").code == "InvalidSecurityToken.MissingParameter"
    assert (
        error_of(call, client(fresh_demo, key=role_key, security_token="CAIS-other"), "ListKeys").code
        == "InvalidSecurityToken.Mismatch"
    )


def test_expired_sts_credentials(fresh_demo):
    creds = assume(fresh_demo, duration_seconds=900).credentials
    fresh_demo.backend.access_keys[creds.access_key_id].expires = time.time() - 1  # as if 900 s had passed
    error = error_of(
        call,
        client(fresh_demo, key=(creds.access_key_id, creds.access_key_secret), security_token=creds.security_token),
        "ListKeys",
    )
    assert (error.status_code, error.code) == (400, "InvalidSecurityToken.Expired")


@pytest.mark.parametrize(
    "change, status, code",
    [
        ({"role_arn": "acs:ram::98765432109876:role/kms-audit"}, 400, "InvalidParameter.RoleArn"),
        ({"role_arn": "acs:ram::9876543210987654:user/kms-audit"}, 400, "InvalidParameter.RoleArn"),
        ({"role_arn": "kms-audit"}, 400, "InvalidParameter.RoleArn"),
        ({"session": "a"}, 400, "InvalidParameter.RoleSessionName"),
        ({"session": "x" * 65}, 400, "InvalidParameter.RoleSessionName"),
        ({"session": "has space"}, 400, "InvalidParameter.RoleSessionName"),
        ({"duration_seconds": 899}, 400, "InvalidParameter.DurationSeconds"),
        ({"duration_seconds": 3601}, 400, "InvalidParameter.DurationSeconds"),  # above the role's MaxSessionDuration
        ({"policy": "not json"}, 400, "InvalidParameter.PolicyGrammar"),
        (
            {"policy": json.dumps({"Version": "1", "Statement": [], "Pad": "x" * 2048})},
            400,
            "InvalidParameter.PolicySize",
        ),
        ({"role_arn": "acs:ram::9876543210987654:role/no-such-role"}, 404, "EntityNotExist.Role"),
        ({"role_arn": "acs:ram::1111222233334444:role/kms-audit"}, 404, "EntityNotExist.Role"),
        (
            {"key": ("LTAI5tKmsEmulatorDemo02", "kms-emulator-demo-secret-2")},
            403,
            "NoPermission",
        ),  # its own account is not trusted
        ({"key": (DEMO_ACCESS_KEY_ID, "wrong")}, 400, "SignatureDoesNotMatch"),
    ],
)
def test_assume_role_errors(demo, change, status, code):
    error = error_of(assume, demo, **change)
    assert (error.status_code, error.code) == (status, code)


def test_assume_role_optional_parameters_and_other_roles(demo):
    policy = json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["kms:List*"], "Resource": ["*"]}]}
    )
    body = assume(
        demo, policy=policy, external_id="abc-123", source_identity="alice", duration_seconds=3600, session="a.b@c-d_e"
    )
    assert body.credentials.security_token and body.source_identity == "alice"
    rd_role = (
        "acs:ram::9876543210987654:role/ResourceDirectoryAccountAccessRole"  # the demo account manages the directory
    )
    assert assume(demo, role_arn=rd_role).assumed_role_user.arn.startswith(rd_role)
    with Emulator(
        seed={
            "accounts": [
                {
                    "account_id": "1111222233334444",
                    "access_keys": [{"id": "LTAI5tOwn", "secret": "s"}],
                    "roles": [{"name": "own", "max_session_duration": 7200}],
                }
            ]
        }
    ) as emu:
        assert assume(
            emu, role_arn="acs:ram::1111222233334444:role/own", duration_seconds=7200
        ).credentials.access_key_id


def test_sts_routing_and_actions(demo):
    for host, expected in (
        ("sts.aliyuncs.com", ("sts", "global")),
        ("sts-vpc.cn-shanghai.aliyuncs.com", ("sts", "cn-shanghai")),
        ("STS.cn-hangzhou.aliyuncs.com:80", ("sts", "cn-hangzhou")),
        ("kms-vpc.cn-beijing.aliyuncs.com", ("kms", "cn-beijing")),
        ("127.0.0.1:1234", ("kms", "cn-hangzhou")),
        ("sts.evil.example", ("kms", "cn-hangzhou")),
    ):
        assert demo.route(host) == expected, host
    assert demo.route("127.0.0.1:1234", "2015-04-01") == (
        "sts",
        "global",
    )  # an STS client pointed at the emulator itself
    assert sts_client(demo).get_caller_identity().body.account_id == DEMO_ACCOUNT_ID  # the caller's own account
    kms_on_sts = Client(sdk_config(demo, endpoint="sts.aliyuncs.com"))
    assert error_of(call, kms_on_sts, "ListKeys").code == "InvalidAction.NotFound"
    direct = assume(demo, endpoint=f"127.0.0.1:{demo.port}")
    assert direct.credentials.access_key_id.startswith("STS.")


def test_assume_role_like_alibabacloud_credentials(demo):
    """The RamRoleArn provider of alibabacloud-credentials: V1 signature in the query string of a GET."""
    from alibabacloud_credentials.utils import parameter_helper as ph  # pylint: disable=import-outside-toplevel

    query = {
        "Action": "AssumeRole",
        "Format": "JSON",
        "Version": "2015-04-01",
        "DurationSeconds": "3600",
        "RoleArn": AUDIT_ROLE,
        "RoleSessionName": "credentials-python",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "Timestamp": ph.get_iso_8061_date(),
        "SignatureNonce": ph.get_uuid(),
        "AccessKeyId": DEMO_ACCESS_KEY_ID,
    }
    query["Signature"] = ph.sign_string(ph.compose_string_to_sign("GET", query), DEMO_ACCESS_KEY_SECRET + "&")
    reply = requests.get(ph.compose_url("sts.aliyuncs.com", query, "http"), proxies={"http": demo.url}, timeout=5)
    assert reply.status_code == 200, reply.text
    assert set(reply.json()["Credentials"]) == {"AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration"}


def test_sts_credentials_never_logged_or_counted(demo):
    demo.log_stream.seek(0)
    demo.log_stream.truncate()
    creds = assume(demo).credentials
    client(
        demo, key=(creds.access_key_id, creds.access_key_secret), security_token=creds.security_token
    ).describe_regions()
    log = demo.log_stream.getvalue()
    assert "action=AssumeRole status=200" in log and "region=global" in log
    dumped = json.dumps(demo.stats())
    for secret in (
        creds.access_key_id,
        creds.access_key_secret,
        creds.security_token,
        AUDIT_ROLE,
        DEMO_ACCESS_KEY_SECRET,
    ):
        assert secret not in log and secret not in dumped
    assert demo.stats()["by_action"]["AssumeRole"] >= 1


# --- regions that ignore filter values ---------------------------------------------------------


def test_region_ignores_unsupported_filter_values():
    """ListKeysRequest: SM specs and HSM specified where unsupported "are ignored": every key comes back."""
    ignore = {"ap-southeast-1": {"KeySpec": ["Aliyun_SM4", "EC_SM2"], "ProtectionLevel": ["HSM"]}}
    with Emulator(seed=DEMO_SEED, ignore_filter_values=ignore) as emu:
        sg, hz = client(emu, region="ap-southeast-1"), client(emu)
        every = all_ids(sg)
        assert list_ids(sg, ("KeySpec", ["Aliyun_SM4"])) == every and len(every) == 6
        assert list_ids(sg, ("KeySpec", ["EC_SM2", "Aliyun_SM4"])) == every
        assert list_ids(sg, ("ProtectionLevel", ["HSM"])) == every
        rsa = list_ids(sg, ("KeySpec", ["RSA_2048"]))
        assert (
            len(rsa) == 1 and list_ids(sg, ("KeySpec", ["Aliyun_SM4", "RSA_2048"])) == rsa
        )  # only the listed value is dropped
        assert list_ids(sg, ("KeySpec", ["Aliyun_SM4"]), ("KeyState", ["Disabled"])) == list_ids(
            sg, ("KeyState", ["Disabled"])
        )
        assert len(list_ids(hz, ("KeySpec", ["Aliyun_SM4"]))) == 1  # other regions filter as usual
        emu.set_faults(ignore_filter_values={})
        assert list_ids(sg, ("KeySpec", ["Aliyun_SM4"])) == []  # default: off
        assert control(emu, "faults", {"ignore_filter_values": ignore})["ignore_filter_values"] == ignore
        assert list_ids(sg, ("ProtectionLevel", ["HSM"])) == every
        with pytest.raises(ValueError):
            emu.set_faults(ignore_filter_values={"ap-southeast-1": {"Color": ["red"]}})


# --- request timestamps, repeatable mutations, runtime key changes, reset -------------------


def test_stats_record_times_and_retry_after(fresh):
    fresh.set_faults(qps=1, retry_after_ms=400)
    kms, before, wall = client(fresh), time.monotonic(), time.time()
    call(kms, "ListKeys")
    assert error_of(call, kms, "ListKeys").code == "Rejected.Throttling"
    time.sleep(0.4)
    fresh.set_faults(qps=None)
    call(kms, "ListKeys")
    ok, throttled, retried = fresh.stats()["requests"]
    assert (ok["retry_after_ms"], throttled["retry_after_ms"], throttled["status"]) == (None, 400, 429)
    for entry in (ok, throttled, retried):
        assert before <= entry["started"] <= entry["finished"] <= time.monotonic()
        assert wall <= entry["started_wall"] <= entry["finished_wall"] <= time.time()
    assert retried["started"] - throttled["finished"] >= 0.4  # what a test of retry-after asserts


def test_mutation_repeats(fresh):
    kms = client(fresh)
    fresh.set_faults(mutate_after_page={"page": 1, "add": 2, "delete": 2, "times": 2})  # same TotalCount, other keys
    first = call(kms, "ListKeys", PageSize=10)
    assert first["TotalCount"] == 30 and fresh.faults.as_dict()["mutate_after_page"]["times"] == 1
    second = call(kms, "ListKeys", PageSize=10)
    assert second["TotalCount"] == 30 and second["Keys"]["Key"][0]["KeyId"] != first["Keys"]["Key"][0]["KeyId"]
    assert fresh.faults.as_dict()["mutate_after_page"] is None
    unchanged = call(kms, "ListKeys", PageSize=10)
    assert unchanged == {**call(kms, "ListKeys", PageSize=10), "RequestId": unchanged["RequestId"]}
    fresh.set_faults(mutate_after_page={"page": 2, "add": 1, "times": 0})  # every pass, for good
    totals = [call(kms, "ListKeys", PageNumber=2)["TotalCount"] for dummy in range(3)]
    assert totals == [30, 31, 32] and fresh.faults.as_dict()["mutate_after_page"]["times"] == 0
    with pytest.raises(ValueError):
        fresh.set_faults(mutate_after_page={"page": 1, "times": -1})


def test_key_changes_between_requests(fresh):
    """A key in state A when partition A is read and in state B when partition B is read."""
    kms, moving = client(fresh), fresh.backend.default_account.keys["cn-hangzhou"][0]
    states = sorted({"Enabled", "Disabled"} - {moving.key_state}) + [moving.key_state]  # read its current state last
    seen = []
    fresh.on_request(
        lambda emu, entry: seen.append(emu.update_key("cn-hangzhou", moving.key_id, key_state=states[0])), after=1
    )
    partitions = {state: list_ids(kms, ("KeyState", [state])) for state in reversed(states)}
    assert moving.key_id in partitions[states[1]] and moving.key_id in partitions[states[0]] and len(seen) == 1
    assert call(kms, "DescribeKey", KeyId=moving.key_id)["KeyMetadata"]["KeyState"] == states[0]
    updated = control(
        fresh, "keys/update", {"region": "cn-hangzhou", "key_id": moving.key_id, "set": {"tags": {"env": "x"}}}
    )
    assert updated["updated"]["KeyId"] == moving.key_id and list_ids(kms, ("TagValue", ["x"])) == [moving.key_id]
    for bad in ({"arn": "other"}, {"colour": "red"}):
        with pytest.raises(ValueError):
            fresh.update_key("cn-hangzhou", moving.key_id, **bad)
    calls = []
    fresh.on_request(lambda emu, entry: calls.append(entry["action"]), after=2, action="DescribeRegions", times=0)
    for dummy in range(4):
        call(kms, "DescribeRegions")
    assert calls == ["DescribeRegions"] * 3


def test_reset_restores_the_seeded_state(fresh_demo):
    emu = fresh_demo
    seeded = {region: list(keys) for region, keys in emu.backend.default_account.keys.items()}
    creds = assume(emu).credentials
    emu.add_keys("cn-hangzhou", [{"description": "added by a test"}])
    emu.add_keys("eu-central-1", [{}], account_id="5555666677778888")
    emu.update_key("cn-hangzhou", seeded["cn-hangzhou"][0].key_id, key_state="Disabled")
    emu.set_faults(qps=1, mutate_after_page={"page": 1, "delete": 3, "times": 0})
    call(client(emu), "ListKeys")
    fired = []
    emu.on_request(lambda *args: fired.append(args))
    emu.reset()
    assert emu.backend.default_account.keys == seeded and "5555666677778888" not in emu.backend.accounts
    assert emu.faults.as_dict()["qps"] == 50 and emu.faults.as_dict()["mutate_after_page"] is None
    assert call(client(emu), "ListKeys")["TotalCount"] == 14 and not fired  # hooks are cleared too
    sts_key = (creds.access_key_id, creds.access_key_secret)
    assert (
        error_of(call, client(emu, key=sts_key, security_token=creds.security_token), "ListKeys").code
        == "InvalidAccessKeyId.NotFound"
    )
    assert emu.stats()["total"] == 2


def test_cli_help():
    process = cli("--help")
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0 and not err
    for option in (
        "--seed",
        "--ignore-filter-values",
        "--ignore-filter-keys",
        "--deny-actions",
        "--tag-page-size",
        "--generate-tags",
        "--generate-aliases",
        "--mutate-after-page",
        "STS AssumeRole",
    ):
        assert option in out


def test_refused_port():
    from emulator.ports import refused_port  # pylint: disable=import-outside-toplevel

    with refused_port() as port:
        for dummy in range(3):
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=2)


# --- ResourceManager ListAccounts (2020-03-31) -----------------------------------------------

RD_ROLE_NAME = "ResourceDirectoryAccountAccessRole"
# The demo seed's Resource Directory, in listing order: id -> (DisplayName, Status, Type, JoinMethod)
DEMO_DIRECTORY = {
    "1234567890123456": ("acme-management", "CreateSuccess", "CloudAccount", "invited"),
    "9876543210987654": ("acme-staging", "InviteSuccess", "CloudAccount", "invited"),
    "2222333344445555": ("acme-payments-prod", "CreateSuccess", "ResourceAccount", "created"),
    "3333444455556666": ("acme-data-platform", "PromoteSuccess", "CloudAccount", "created"),
    "4444555566667777": ("acme-sandbox", "CreateVerifying", "CloudAccount", "created"),
    "7777888899990000": ("acme-legacy-audit", "InviteSuccess", "CloudAccount", "invited"),
}
ACCOUNT_FIELDS = {  # ListAccountsResponseBodyAccountsAccount's fields; Tags only with IncludeTags=true
    "AccountId",
    "DisplayName",
    "Status",
    "Type",
    "FolderId",
    "JoinMethod",
    "JoinTime",
    "ModifyTime",
    "ResourceDirectoryId",
    "ResourceDirectoryPath",
}


def rm_client(emu, key=None, v1=False, via="proxy", token=None):
    from alibabacloud_resourcemanager20200331.client import Client as RmClient  # pylint: disable=import-outside-toplevel

    return RmClient(sdk_config(emu, key=key, via=via, v1=v1, security_token=token))


def list_accounts(rm, **query):
    """ListAccounts through the generic call_api path, so tests can send values the typed model would not."""
    return rpc(rm, "ListAccounts", {k: str(v) for k, v in query.items()}, version="2020-03-31")


def member_credentials(emu, account_id):
    """Credentials of the member's ResourceDirectoryAccountAccessRole, assumed by the management account."""
    creds = assume(emu, role_arn=f"acs:ram::{account_id}:role/{RD_ROLE_NAME}").credentials
    return (creds.access_key_id, creds.access_key_secret), creds.security_token


def test_list_accounts_defaults_fields_and_statuses(demo):
    body = list_accounts(rm_client(demo))
    assert (body["PageNumber"], body["PageSize"], body["TotalCount"]) == (1, 10, 6)
    accounts = body["Accounts"]["Account"]
    assert re.fullmatch(r"[0-9A-F-]{36}", body["RequestId"]) and set(body) == {
        "Accounts",
        "PageNumber",
        "PageSize",
        "TotalCount",
        "RequestId",
    }
    assert {
        a["AccountId"]: (a["DisplayName"], a["Status"], a["Type"], a["JoinMethod"]) for a in accounts
    } == DEMO_DIRECTORY
    assert [a["AccountId"] for a in accounts] == list(DEMO_DIRECTORY)  # management account first, then seed order
    directory_id = accounts[0]["ResourceDirectoryId"]
    for account in accounts:
        assert set(account) == ACCOUNT_FIELDS and all(isinstance(v, str) and v for v in account.values())
        assert account["ResourceDirectoryId"] == directory_id and re.fullmatch(r"rd-\w+", directory_id)
        assert account["ResourceDirectoryPath"].startswith(f"{directory_id}/r-")
        assert account["ResourceDirectoryPath"].endswith(f"/{account['FolderId']}/{account['AccountId']}") or (
            account["FolderId"].startswith("r-")  # in the root folder
        )
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", account["JoinTime"])
    folders = {a["AccountId"]: a["FolderId"] for a in accounts}
    assert folders["2222333344445555"] == folders["3333444455556666"] == "fd-prd4Hn8vL"
    assert folders["9876543210987654"] == "fd-stg7Qm2xK" and folders["1234567890123456"].startswith("r-")
    tagged = list_accounts(rm_client(demo), IncludeTags="true", PageSize=100)["Accounts"]["Account"]
    assert all(set(a) == ACCOUNT_FIELDS | {"Tags"} for a in tagged)
    assert tagged[2]["Tags"] == {"Tag": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "payments"}]}
    assert tagged[0]["Tags"] == {"Tag": []}


def test_list_accounts_paging(demo):
    rm = rm_client(demo)
    pages = [list_accounts(rm, PageNumber=n, PageSize=4) for n in (1, 2, 3)]
    assert [len(p["Accounts"]["Account"]) for p in pages] == [4, 2, 0]
    assert all(p["TotalCount"] == 6 and p["PageSize"] == 4 for p in pages)
    assert [a["AccountId"] for p in pages for a in p["Accounts"]["Account"]] == list(DEMO_DIRECTORY)
    assert len(list_accounts(rm, PageSize=100)["Accounts"]["Account"]) == 6
    assert list_accounts(rm, PageSize=1, PageNumber=6)["Accounts"]["Account"][0]["AccountId"] == "7777888899990000"
    prod = list_accounts(rm, **{"Tag.1.Key": "env", "Tag.1.Value": "prod", "PageSize": 1})
    assert prod["TotalCount"] == 2 and prod["Accounts"]["Account"][0]["AccountId"] == "2222333344445555"
    both = list_accounts(rm, **{"Tag.1.Key": "env", "Tag.1.Value": "prod", "Tag.2.Key": "team", "Tag.2.Value": "data"})
    assert [a["AccountId"] for a in both["Accounts"]["Account"]] == ["3333444455556666"]  # every tag must match
    assert list_accounts(rm, **{"Tag.1.Key": "env"})["TotalCount"] == 3  # a key without a value: any value


@pytest.mark.parametrize(
    "query",
    BAD_PAGING
    + [
        {"IncludeTags": "maybe"},
        {"Tag.1.Value": "prod"},
    ],
)
def test_list_accounts_invalid_parameters(demo, query):
    error = error_of(list_accounts, rm_client(demo), **query)
    assert (error.status_code, error.code) == (400, "InvalidParameter")
    named = next(iter(query)).replace("Value", "Key")  # a tag value without its key: the key is missing
    assert error.data["Message"].startswith(f"The specified parameter {named} is not valid")


def test_list_accounts_only_for_the_management_account():
    seed = {
        "accounts": [
            {"account_id": "1234567890123456", "access_keys": [{"id": "LTAI5tManager", "secret": "m"}]},
            {"account_id": "2222333344445555", "access_keys": [{"id": "LTAI5tDelegated", "secret": "d"}]},
            {"account_id": "3333444455556666", "access_keys": [{"id": "LTAI5tMember", "secret": "s"}]},
            {"account_id": "8888888888888888", "access_keys": [{"id": "LTAI5tOutsider", "secret": "o"}]},
        ],
        "resource_directory": {
            "management_account": "1234567890123456",
            "members": ["2222333344445555", "3333444455556666"],
            "delegated_administrators": ["2222333344445555"],
        },
    }
    with Emulator(seed=seed) as emu:
        assert list_accounts(rm_client(emu, key=("LTAI5tManager", "m")))["TotalCount"] == 3
        assert list_accounts(rm_client(emu, key=("LTAI5tDelegated", "d")))["TotalCount"] == 3
        member = error_of(list_accounts, rm_client(emu, key=("LTAI5tMember", "s")))
        assert (member.status_code, member.code) == (403, "MemberAccountAccessDenied")
        assert member.data["Message"] == "The member account is not allowed to perform the operation."
        outsider = error_of(list_accounts, rm_client(emu, key=("LTAI5tOutsider", "o")))
        assert (outsider.status_code, outsider.code) == (404, "EntityNotExists.ResourceDirectory")
        assert outsider.data["Message"].startswith("The resource directory for the account is not enabled.")
        assert "&product=ResourceManager&" in outsider.data["Recommend"]
    with Emulator(generate="cn-hangzhou=1") as emu:  # no resource directory at all
        assert error_of(list_accounts, rm_client(emu)).code == "EntityNotExists.ResourceDirectory"


def test_list_accounts_callers_in_the_demo(fresh_demo):
    member = error_of(
        list_accounts, rm_client(fresh_demo, key=("LTAI5tKmsEmulatorDemo02", "kms-emulator-demo-secret-2"))
    )
    assert (member.status_code, member.code) == (403, "MemberAccountAccessDenied")
    key, token = member_credentials(fresh_demo, "2222333344445555")  # a member's role is not the management account
    assert error_of(list_accounts, rm_client(fresh_demo, key=key, token=token)).code == "MemberAccountAccessDenied"
    sts_key = rm_client(fresh_demo, key=(STS_ID, STS_SECRET), token=STS_TOKEN)  # the management account's STS key
    assert list_accounts(sts_key)["TotalCount"] == 6
    missing = error_of(list_accounts, rm_client(fresh_demo, key=(STS_ID, STS_SECRET)))
    assert missing.code == "InvalidSecurityToken.MissingParameter"


def test_member_roles_trust_the_management_account(fresh_demo):
    denied = error_of(assume, fresh_demo, role_arn=f"acs:ram::7777888899990000:role/{RD_ROLE_NAME}")
    assert (denied.status_code, denied.code) == (403, "NoPermission")  # deny_role: true
    unborn = error_of(assume, fresh_demo, role_arn=f"acs:ram::4444555566667777:role/{RD_ROLE_NAME}")
    assert (unborn.status_code, unborn.code) == (404, "EntityNotExist.Role")  # CreateVerifying: no account, no role
    not_trusted = error_of(
        assume,
        fresh_demo,
        role_arn=f"acs:ram::2222333344445555:role/{RD_ROLE_NAME}",
        key=("LTAI5tKmsEmulatorDemo02", "kms-emulator-demo-secret-2"),  # another member, not the management account
    )
    assert not_trusted.code == "NoPermission"
    counts = {"2222333344445555": {"cn-hangzhou": 3, "cn-shanghai": 2, "ap-southeast-1": 2, "cn-beijing": 0}}
    counts["3333444455556666"] = {"cn-beijing": 2, "cn-shenzhen": 2, "cn-hangzhou": 1, "cn-shanghai": 0}
    counts["9876543210987654"] = {"cn-beijing": 2, "cn-hangzhou": 1}
    for account_id, regions in counts.items():
        key, token = member_credentials(fresh_demo, account_id)
        for region, count in regions.items():
            listed = call(client(fresh_demo, region=region, key=key, security_token=token), "ListKeys", PageSize=100)
            assert listed["TotalCount"] == count, (account_id, region)
            assert all(f":{region}:{account_id}:key/" in k["KeyArn"] for k in listed["Keys"]["Key"])
    payments = member_credentials(fresh_demo, "2222333344445555")
    assert (
        call(
            client(fresh_demo, key=payments[0], security_token=payments[1]),
            "DescribeKey",
            KeyId="alias/payments-ledger",
        )["KeyMetadata"]["DeletionProtection"]
        == "Enabled"
    )


@pytest.mark.parametrize("v1", [False, True], ids=["v3", "v1"])
@pytest.mark.parametrize("via", ["proxy", "endpoint"])
def test_list_accounts_signatures_and_stats(fresh_demo, v1, via):
    from alibabacloud_resourcemanager20200331 import models as rm_models  # pylint: disable=import-outside-toplevel

    rm = rm_client(fresh_demo, v1=v1, via=via)  # the direct endpoint is routed by Version=2020-03-31
    body = rm.list_accounts(rm_models.ListAccountsRequest(page_number=2, page_size=5)).body
    assert (body.total_count, len(body.accounts.account), body.accounts.account[0].account_id) == (
        6,
        1,
        "7777888899990000",
    )
    entry = fresh_demo.stats()["requests"][-1]
    assert (entry["service"], entry["action"], entry["region"], entry["status"], entry["sig_version"]) == (
        "resourcemanager",
        "ListAccounts",
        "global",
        200,
        "v1" if v1 else "v3",
    )
    assert (entry["page_number"], entry["page_size"]) == ("2", "5")
    assert fresh_demo.stats()["by_action"] == {"ListAccounts": 1} and fresh_demo.stats()["by_region"] == {"global": 1}
    wrong = error_of(list_accounts, rm_client(fresh_demo, key=(DEMO_ACCESS_KEY_ID, "wrong"), v1=v1, via=via))
    assert (wrong.status_code, wrong.code) == (400, "SignatureDoesNotMatch")
    assert fresh_demo.stats()["by_outcome"] == {"200": 1, "400": 1}
    assert DEMO_ACCESS_KEY_SECRET not in json.dumps(fresh_demo.stats())


def test_list_accounts_replayed_and_tampered(demo, monkeypatch):
    rm = rm_client(demo, v1=True)
    prepared = capture(monkeypatch, demo, lambda: list_accounts(rm, PageSize=5))
    assert (replay(demo, prepared).json()["Code"]) == "SignatureNonceUsed"
    tampered = replay(demo, prepared, url=prepared.url.replace("PageSize=5", "PageSize=6"))
    assert tampered.json()["Code"] == "SignatureDoesNotMatch"


def test_resourcemanager_routing(demo):
    for host, expected in (
        ("resourcemanager.aliyuncs.com", ("resourcemanager", "global")),
        ("ResourceManager.aliyuncs.com:80", ("resourcemanager", "global")),
        ("resourcemanager-vpc.aliyuncs.com", ("resourcemanager", "global")),
        ("resourcemanager.cn-hangzhou.aliyuncs.com", ("kms", "cn-hangzhou")),  # no regional endpoint documented
    ):
        assert demo.route(host) == expected, host
    assert demo.route("127.0.0.1:1234", "2020-03-31") == ("resourcemanager", "global")
    kms_on_rm = Client(sdk_config(demo, endpoint="resourcemanager.aliyuncs.com"))
    assert error_of(call, kms_on_rm, "ListKeys").code == "InvalidAction.NotFound"
    with pytest.raises(sdk_errors.ClientException) as info:
        rpc(rm_client(demo), "ListAccounts", {}, version="2016-01-20", protocol="HTTP")
    assert info.value.code == "InvalidVersion"


def test_list_accounts_faults(fresh_demo):
    rm = rm_client(fresh_demo)
    fresh_demo.set_faults(qps=1)  # the KMS quota: ListAccounts is not throttled by it
    assert [list_accounts(rm)["TotalCount"] for dummy in range(3)] == [6, 6, 6]
    fresh_demo.set_faults(error_rate_503=1)
    assert error_of(list_accounts, rm).code == "ServiceUnavailableTemporary"
    fresh_demo.set_faults(error_rate_503=0, error_rate_500=1)
    error = error_of(list_accounts, rm)
    assert (error.status_code, error.code) == (500, "InternalFailure")
    fresh_demo.set_faults(error_rate_500=0, drop_rate=1)
    with pytest.raises(Exception) as dropped:
        list_accounts(rm)
    assert not isinstance(dropped.value, sdk_errors.AlibabaCloudException)
    fresh_demo.set_faults(drop_rate=0, malformed_rate=1)
    with pytest.raises(Exception):
        list_accounts(rm)
    fresh_demo.set_faults(malformed_rate=0, latency_ms=150)
    started = time.monotonic()
    assert list_accounts(rm)["TotalCount"] == 6 and time.monotonic() - started >= 0.14
    statuses = [(r["service"], r["status"]) for r in fresh_demo.stats()["requests"]]
    assert statuses[3:] == [
        ("resourcemanager", 503),
        ("resourcemanager", 500),
        ("resourcemanager", "dropped"),
        ("resourcemanager", 200),
        ("resourcemanager", 200),
    ]
    assert "malformed" in fresh_demo.stats()["requests"][-2]


def test_reset_restores_the_directory(fresh_demo):
    seeded = fresh_demo.backend.directory
    fresh_demo.backend.directory = None
    assert error_of(list_accounts, rm_client(fresh_demo)).code == "EntityNotExists.ResourceDirectory"
    fresh_demo.reset()
    assert fresh_demo.backend.directory is seeded and list_accounts(rm_client(fresh_demo))["TotalCount"] == 6


# --- seeds of a Resource Directory, the organisation generator -------------------------------


@pytest.mark.parametrize(
    "directory, message",
    [
        ({"management_account": "1234567890123456", "members": [{"account_id": "2222333344445555", "colour": 1}]}, "colour"),
        ({"management_account": "1234567890123456", "members": [{"account_id": "2222", "status": "CreateSuccess"}]}, "16"),
        ({"management_account": "1234567890123456", "members": [{"account_id": "2222333344445555", "status": "Done"}]}, "status"),
        ({"management_account": "1234567890123456", "members": [{"account_id": "2222333344445555", "type": "Sub"}]}, "type"),
        ({"management_account": "1234567890123456", "members": ["2222333344445555", "2222333344445555"]}, "twice"),
        ({"management_account": "1234567890123456", "delegated_administrators": ["3333444455556666"], "members": []}, "members"),
        ({"management_account": "1234567890123456", "folders": []}, "folders"),
    ],
)  # fmt: skip
def test_bad_directory_seeds(directory, message):
    with pytest.raises(ValueError, match=message):
        Emulator(seed={"resource_directory": directory})


def test_directory_defaults():
    seed = {
        "accounts": [{"account_id": "1234567890123456", "access_keys": [{"id": "LTAI5tManager", "secret": "m"}]}],
        "resource_directory": {"management_account": "1234567890123456", "members": ["2222333344445555"]},
    }
    with Emulator(seed=seed) as emu:
        accounts = list_accounts(rm_client(emu))["Accounts"]["Account"]
        assert [(a["AccountId"], a["DisplayName"], a["Status"], a["Type"], a["JoinMethod"]) for a in accounts] == [
            ("1234567890123456", "management-3456", "CreateSuccess", "CloudAccount", "invited"),
            ("2222333344445555", "member-5555", "CreateSuccess", "ResourceAccount", "created"),
        ]
        assert accounts[0]["FolderId"] == accounts[1]["FolderId"] and accounts[0]["JoinTime"] < accounts[1]["JoinTime"]
        assert emu.backend.accounts["2222333344445555"].roles[RD_ROLE_NAME].trusted_accounts == ("1234567890123456",)


def test_generated_organisation():
    from emulator import seeding  # pylint: disable=import-outside-toplevel

    seed = seeding.organisation(members=3, regions=["cn-hangzhou", "eu-central-1"], keys_per_region=4, random_seed=5)
    assert seed == seeding.organisation(
        members=3, regions=["cn-hangzhou", "eu-central-1"], keys_per_region=4, random_seed=5
    )
    assert seeding.parse_generate_accounts("120:2:3") == {
        "members": 120,
        "regions": ["cn-hangzhou", "cn-shanghai"],
        "keys_per_region": 3,
    }
    assert seeding.parse_generate_accounts("2:cn-beijing,us-west-1:0")["regions"] == ["cn-beijing", "us-west-1"]
    for bad in ("120:2", "x:2:3", "1:0:1", "1:9:1", "1::1"):
        with pytest.raises(ValueError):
            seeding.parse_generate_accounts(bad)
    with pytest.raises(ValueError):
        Emulator(seed=DEMO_SEED, generate_accounts="1:1:1")
    with Emulator(generate_accounts="120:2:3", qps=1) as emu:
        rm = rm_client(emu)
        assert emu.access_key == (DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
        first, second = list_accounts(rm, PageSize=100), list_accounts(rm, PageSize=100, PageNumber=2)
        listed = first["Accounts"]["Account"] + second["Accounts"]["Account"]
        assert first["TotalCount"] == 121 and len(listed) == 121 and listed[0]["AccountId"] == DEMO_ACCOUNT_ID
        assert listed[1]["AccountId"] == seeding.member_id(1) == "5100000000000001" and listed[1]["DisplayName"] == (
            "member-0001"
        )
        assert {a["Status"] for a in listed} == {"CreateSuccess"}
        assert call(client(emu), "ListKeys")["TotalCount"] == 0  # the management account holds no keys
        seen = set()
        for account_id in (seeding.member_id(1), seeding.member_id(120)):  # each account-region has its own quota
            key, token = member_credentials(emu, account_id)
            for region in ("cn-hangzhou", "cn-shanghai"):
                keys = call(client(emu, region=region, key=key, security_token=token), "ListKeys")["Keys"]["Key"]
                assert len(keys) == 3 and all(f":{region}:{account_id}:" in k["KeyArn"] for k in keys)
                seen.update(k["KeyId"] for k in keys)
        assert len(seen) == 12
        assert error_of(call, client(emu, key=key, security_token=token), "ListKeys").code == "Rejected.Throttling"
        assert {m.account_id for m in emu.backend.directory.members[1:]} == {
            a for a, account in emu.backend.accounts.items() if RD_ROLE_NAME in account.roles
        }


def test_cli_generates_an_organisation():
    process = cli("--generate-accounts", "5:1:2", "--exec", "--", sys.executable, "-c", "pass")
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "listening on" in out
    helped = cli("--help").communicate(timeout=20)[0]
    assert "--generate-accounts" in helped and "ResourceManager" in helped


# --- aliases, tags and key policies ----------------------------------------------------------


def demo_key(emu, description, region="cn-hangzhou"):
    return next(k for k in emu.backend.default_account.keys[region] if k.description == description)


def alias_names(body):
    return [a["AliasName"] for a in body["Aliases"]["Alias"]]


def test_list_aliases_region_wide_and_paging(demo):
    kms = client(demo)
    truth = [(a, k) for k in demo.backend.default_account.keys["cn-hangzhou"] for a in k.aliases]
    assert len(truth) == 7 and len({k.key_id for dummy, k in truth}) == 4  # keys with none, one and several
    first = call(kms, "ListAliases")  # ListAliasesRequest: PageNumber 1, PageSize 10 by default
    assert (first["TotalCount"], first["PageNumber"], first["PageSize"]) == (7, 1, 10)
    assert [(a["AliasName"], a["KeyId"]) for a in first["Aliases"]["Alias"]] == [(a, k.key_id) for a, k in truth]
    assert {a["AliasArn"] for a in first["Aliases"]["Alias"]} == {
        f"acs:kms:cn-hangzhou:{DEMO_ACCOUNT_ID}:{a}" for a, dummy in truth
    }
    pages = [alias_names(call(kms, "ListAliases", PageNumber=n, PageSize=3)) for n in (1, 2, 3, 4)]
    assert [len(p) for p in pages] == [3, 3, 1, 0] and sum(pages, []) == [a for a, dummy in truth]
    assert call(kms, "ListAliases", PageSize=0)["Aliases"]["Alias"] == []  # "Valid values: 0 to 100"
    assert alias_names(call(client(demo, "cn-shanghai"), "ListAliases")) == ["alias/kafka-envelope", "alias/data-lake"]
    assert call(client(demo, "ap-southeast-1"), "ListAliases")["TotalCount"] == 0
    other = client(demo, key=("LTAI5tKmsEmulatorDemo02", "kms-emulator-demo-secret-2"))
    assert call(other, "ListAliases")["TotalCount"] == 0  # per account: the second account has none here
    for query in ({"PageSize": 101}, {"PageSize": -1}, {"PageSize": "x"}, {"PageNumber": 0}):
        error = error_of(call, kms, "ListAliases", **query)
        assert (error.status_code, error.code) == (400, "InvalidParameter")


def test_list_aliases_by_key_id(demo):
    kms, payments = client(demo), demo_key(demo, "payments signing")
    body = call(kms, "ListAliasesByKeyId", KeyId=payments.key_id)
    assert alias_names(body) == ["alias/payments-signing", "alias/card-signing", "alias/jws-issuer"]
    assert (body["TotalCount"], body["PageNumber"], body["PageSize"]) == (3, 1, 10)
    assert {a["KeyId"] for a in body["Aliases"]["Alias"]} == {payments.key_id}
    assert alias_names(call(kms, "ListAliasesByKeyId", KeyId=payments.arn, PageNumber=2, PageSize=2)) == [
        "alias/jws-issuer"
    ]
    assert call(kms, "ListAliasesByKeyId", KeyId=payments.key_id, PageSize=101)["PageSize"] == 101  # "0 to 101"
    bare = call(kms, "ListAliasesByKeyId", KeyId=demo_key(demo, "legacy batch jobs").key_id)
    assert (bare["Aliases"]["Alias"], bare["TotalCount"]) == ([], 0)
    for query, status, code in (
        ({"KeyId": payments.key_id, "PageSize": 102}, 400, "InvalidParameter"),
        ({"KeyId": "no-such-key"}, 404, "Forbidden.KeyNotFound"),
        ({}, 400, "MissingParameter"),
    ):
        error = error_of(call, kms, "ListAliasesByKeyId", **query)
        assert (error.status_code, error.code) == (status, code)


def test_list_resource_tags(demo):
    kms, orders = client(demo), demo_key(demo, "orders-db TDE")
    tags = call(kms, "ListResourceTags", KeyId=orders.key_id)["Tags"]["Tag"]
    assert tags == [
        {"KeyId": orders.key_id, "TagKey": "env", "TagValue": "prod"},
        {"KeyId": orders.key_id, "TagKey": "team", "TagValue": "orders"},
        {"KeyId": orders.key_id, "TagKey": "cost-center", "TagValue": "cc-1042"},
    ]
    assert call(kms, "ListResourceTags", KeyId=orders.arn)["Tags"]["Tag"] == tags
    assert call(kms, "ListResourceTags", KeyId=demo_key(demo, "jwt issuer").key_id)["Tags"]["Tag"] == []
    for query, status, code in (
        ({"KeyId": "no-such-key"}, 404, "Forbidden.KeyNotFound"),
        ({}, 400, "MissingParameter"),
    ):
        error = error_of(call, kms, "ListResourceTags", **query)
        assert (error.status_code, error.code) == (status, code)


def tag_query(region, key_ids, **extra):
    query = {"RegionId": region, "ResourceType": "key", **extra}
    query.update((f"ResourceId.{n}", key_id) for n, key_id in enumerate(key_ids, 1))
    return query


def tag_pages(kms, query):
    """Every page of one ListTagResources query, following NextToken."""
    pages, token = [], None
    while True:
        body = call(kms, "ListTagResources", **query, **({"NextToken": token} if token else {}))
        pages.append(body["TagResources"]["TagResource"])
        token = body["NextToken"]
        if not token:
            return pages


def tag_rows(keys):
    return [
        {"ResourceId": k.key_id, "ResourceType": "key", "TagKey": tag, "TagValue": value}
        for k in keys
        for tag, value in k.tags.items()
    ]


def test_list_tag_resources_batches_and_next_token():
    with Emulator(generate="cn-hangzhou=120", generate_tags=5, qps=0) as emu:
        kms, keys = client(emu), emu.backend.default_account.keys["cn-hangzhou"]
        batch = keys[:50]
        pages = tag_pages(kms, tag_query("cn-hangzhou", [k.key_id for k in batch]))
        assert [len(p) for p in pages] == [200, 50]  # "By default, 200 rows are returned per page"
        assert sum(pages, []) == tag_rows(batch)
        assert sum(tag_pages(kms, tag_query("cn-hangzhou", [])), []) == tag_rows(keys)  # no ResourceId: every key
        unknown = tag_query("cn-hangzhou", [keys[0].key_id, "no-such-key", keys[1].key_id])
        assert tag_pages(kms, unknown) == [tag_rows(keys[:2])]  # unknown ids are ignored
        assert call(kms, "ListTagResources", **tag_query("cn-hangzhou", [k.key_id for k in keys[:50]]))["NextToken"]
        emu.set_faults(tag_page_size=20)
        pages = tag_pages(kms, tag_query("cn-hangzhou", [k.key_id for k in keys[50:100]]))
        assert [len(p) for p in pages] == [20] * 12 + [10] and sum(pages, []) == tag_rows(keys[50:100])
        assert emu.stats()["by_action"]["ListTagResources"] == 2 + 3 + 1 + 1 + 13


def test_list_tag_resources_parameters(demo):
    kms, keys = client(demo), demo.backend.default_account.keys["cn-hangzhou"]
    ledger = [demo_key(demo, "ledger TDE"), demo_key(demo, "ledger signing")]
    every = call(kms, "ListTagResources", RegionId="cn-hangzhou", ResourceType="key")
    assert every == {"TagResources": {"TagResource": tag_rows(keys)}, "NextToken": "", "RequestId": every["RequestId"]}
    narrowed = call(kms, "ListTagResources", RegionId="cn-hangzhou", ResourceType="key", **{"Tag.1.Key": "team"})
    assert [(r["ResourceId"], r["TagKey"]) for r in narrowed["TagResources"]["TagResource"]] == [
        (k.key_id, "team") for k in keys if "team" in k.tags
    ]
    both = {"Tag.1.Key": "team", "Tag.1.Value": "ledger", "Tag.2.Key": "env", "Tag.2.Value": "prod"}
    rows = call(kms, "ListTagResources", RegionId="cn-hangzhou", ResourceType="key", **both)["TagResources"]
    assert [(r["ResourceId"], r["TagKey"], r["TagValue"]) for r in rows["TagResource"]] == [
        (k.key_id, tag, k.tags[tag]) for k in ledger for tag in ("env", "team")
    ]
    secrets = call(kms, "ListTagResources", RegionId="cn-hangzhou", ResourceType="secret")
    assert secrets["TagResources"]["TagResource"] == [] and secrets["NextToken"] == ""
    assert (
        len(
            call(kms, "ListTagResources", **tag_query("cn-hangzhou", [keys[0].key_id] * 50))["TagResources"][
                "TagResource"
            ]
        )
        == 3
    )
    cases = (
        (tag_query("cn-hangzhou", [keys[0].key_id] * 51), "InvalidParameter"),  # "a maximum of 50 resource IDs"
        ({"RegionId": "cn-hangzhou"}, "MissingParameter"),
        ({"ResourceType": "key"}, "MissingParameter"),
        ({"RegionId": "cn-hangzhou", "ResourceType": "instance"}, "InvalidParameter"),
        ({"RegionId": "cn-shanghai", "ResourceType": "key"}, "InvalidParameter"),  # not this endpoint's region
        (tag_query("cn-hangzhou", [], **{"Tag.21.Key": "env"}), "InvalidParameter"),  # N from 1 to 20
        (tag_query("cn-hangzhou", [], **{"Tag.1.Key": "acs:owner"}), "InvalidParameter"),
        (tag_query("cn-hangzhou", [], **{"Tag.1.Value": "prod"}), "MissingParameter"),
        (tag_query("cn-hangzhou", [], NextToken="caeba0bbb2be03f84eb48b699f0a4883"), "InvalidParameter"),
    )
    for query, code in cases:
        error = error_of(call, kms, "ListTagResources", **query)
        assert (error.status_code, error.code) == (400, code), query


def test_list_tag_resources_tokens_belong_to_their_query():
    with Emulator(generate="cn-hangzhou=60,cn-shanghai=60", generate_tags=3, tag_page_size=10, qps=0) as emu:
        kms, keys = client(emu), emu.backend.default_account.keys["cn-hangzhou"]
        query = tag_query("cn-hangzhou", [k.key_id for k in keys[:10]])
        token = call(kms, "ListTagResources", **query)["NextToken"]
        assert len(token) == 32 and call(kms, "ListTagResources", **query, NextToken=token)["NextToken"]
        other = tag_query("cn-hangzhou", [k.key_id for k in keys[10:20]])
        elsewhere = tag_query("cn-shanghai", [k.key_id for k in emu.backend.default_account.keys["cn-shanghai"][:10]])
        for wrong, kms_of in ((other, kms), (elsewhere, client(emu, "cn-shanghai"))):
            error = error_of(call, kms_of, "ListTagResources", **wrong, NextToken=token)
            assert (error.status_code, error.code) == (400, "InvalidParameter")


def test_get_key_policy(demo):
    kms = client(demo)
    wallet, signing, tde = (demo_key(demo, d) for d in ("ledger wallet", "ledger signing", "ledger TDE"))

    def policy(key_id, **query):
        body = call(kms, "GetKeyPolicy", KeyId=key_id, **query)
        assert set(body) == {"Policy", "RequestId"}  # GetKeyPolicyResponseBody: no PolicyName
        return json.loads(body["Policy"])

    assert policy(wallet.key_id, PolicyName="default") == {
        "Version": "1",
        "Statement": [
            {
                "Sid": "kms default key policy",
                "Effect": "Allow",
                "Principal": {"RAM": [f"acs:ram::{DEMO_ACCOUNT_ID}:*"]},
                "Action": ["kms:*"],
                "Resource": ["*"],
            }
        ],
    }
    assert policy(wallet.arn) == policy(wallet.key_id)  # PolicyName is optional; the ARN names the key too
    public = [s for s in policy(signing.key_id)["Statement"] if s["Principal"]["RAM"] == ["*"]]
    assert len(public) == 1 and public[0]["Effect"] == "Allow"
    assert policy(tde.key_id) == tde.policy and len(tde.policy["Statement"]) == 2
    for query, status, code in (
        ({"KeyId": demo_key(demo, "orders-db TDE").key_id}, 400, "UnsupportedOperation"),  # not in a KMS instance
        ({"KeyId": wallet.key_id, "PolicyName": "custom"}, 404, "Forbidden.ResourceNotFound"),  # "Not Found"
        ({"KeyId": "key-hzznosuchkey"}, 404, "Forbidden.KeyNotFound"),
        ({"PolicyName": "default"}, 400, "MissingParameter"),
    ):
        error = error_of(call, kms, "GetKeyPolicy", **query)
        assert (error.status_code, error.code) == (status, code)


def test_region_ignores_whole_filter_keys():
    ignore = {"cn-hangzhou": ["TagKey", "TagValue"]}
    with Emulator(seed=DEMO_SEED, ignore_filter_keys=ignore) as emu:
        hz, sh = client(emu), client(emu, "cn-shanghai")
        every = all_ids(hz)
        assert list_ids(hz, ("TagKey", ["team"])) == every and len(every) == 14
        assert list_ids(hz, ("TagKey", ["team"]), ("TagValue", ["nope"])) == every
        assert list_ids(hz, ("TagKey", ["team"]), ("KeyState", ["Disabled"])) == list_ids(
            hz, ("KeyState", ["Disabled"])
        )
        assert list_ids(hz, ("AliasName", ["alias/jwt-issuer"])) == [demo_key(emu, "jwt issuer").key_id]
        assert list_ids(sh, ("TagKey", ["team"])) == [demo_key(emu, "data lake", "cn-shanghai").key_id]
        error = error_of(call, hz, "ListKeys", Filters=json.dumps([{"Key": "TagKey", "Values": ["x"] * 11}]))
        assert error.code == "InvalidParameter"  # still validated
        assert control(emu, "faults", {"ignore_filter_keys": {"cn-shanghai": "AliasName"}})["ignore_filter_keys"] == {
            "cn-shanghai": ["AliasName"]
        }
        assert list_ids(hz, ("TagKey", ["team"])) != every and len(list_ids(sh, ("AliasName", ["alias/x"]))) == 10
        with pytest.raises(ValueError):
            emu.set_faults(ignore_filter_keys={"cn-hangzhou": ["Color"]})
        emu.reset()
        assert emu.faults.settings.ignore_filter_keys == ignore


def test_region_without_list_tag_resources():
    with Emulator(seed=DEMO_SEED, deny_actions={"cn-shanghai": ["ListTagResources"]}) as emu:
        sh, orders = client(emu, "cn-shanghai"), demo_key(emu, "data lake", "cn-shanghai")
        error = error_of(call, sh, "ListTagResources", RegionId="cn-shanghai", ResourceType="key")
        assert (error.status_code, error.code) == (404, "InvalidAction.NotFound")  # as an action that does not exist
        assert len(call(sh, "ListResourceTags", KeyId=orders.key_id)["Tags"]["Tag"]) == 3  # the fallback works
        assert call(client(emu), "ListTagResources", RegionId="cn-hangzhou", ResourceType="key")["NextToken"] == ""
        stats = emu.stats()
        assert stats["by_action"] == {"ListTagResources": 2, "ListResourceTags": 1} and stats["by_outcome"]["404"] == 1
        emu.set_faults(deny_actions={"cn-hangzhou": ["GetKeyPolicy", "ListAliases"]})
        assert call(sh, "ListTagResources", RegionId="cn-shanghai", ResourceType="key")["NextToken"] == ""
        assert error_of(call, client(emu), "ListAliases").code == "InvalidAction.NotFound"
        for wrong in ({"cn-hangzhou": ["AssumeRole"]}, {"cn-hangzhou": ["Nope"]}):
            with pytest.raises(ValueError):
                emu.set_faults(deny_actions=wrong)


def test_seeded_aliases_tags_and_policies_are_checked():
    instance = {"dkms_instance_id": "kst-hzz64f0e2b5c1a7d9e3f1a2"}
    for keys, message in (
        ([{"policy": {"Version": "1", "Statement": []}}], "only keys in a KMS instance"),
        ([{"policy": "allow all", **instance}], "policy must be a mapping"),
        ([{"aliases": ["orders"]}], "alias/<name>"),
        ([{"aliases": "alias/orders"}], "alias/<name>"),
        ([{"aliases": ["alias/a"]}, {"aliases": ["alias/a"]}], "alias already in use"),
        ([{"aliases": ["alias/a", "alias/a"]}], "alias already in use"),
        ([{"tags": ["env"]}], "tags must be a mapping"),
    ):
        seed = {"accounts": [{"account_id": DEMO_ACCOUNT_ID, "regions": {"cn-hangzhou": {"keys": keys}}}]}
        with pytest.raises(ValueError, match=re.escape(message)):
            Emulator(seed=seed)


def test_runtime_alias_and_tag_changes(fresh_demo):
    kms, jwt = client(fresh_demo), demo_key(fresh_demo, "jwt issuer")
    changed = {"aliases": ["alias/jwt-issuer", "alias/jwt-v2"], "tags": {"env": "dev", "tier": "gold"}}
    control(fresh_demo, "keys/update", {"region": "cn-hangzhou", "key_id": jwt.key_id, "set": changed})
    assert alias_names(call(kms, "ListAliasesByKeyId", KeyId=jwt.key_id)) == changed["aliases"]
    assert list_ids(kms, ("AliasName", ["alias/jwt-v2"])) == [jwt.key_id]
    assert {t["TagKey"]: t["TagValue"] for t in call(kms, "ListResourceTags", KeyId=jwt.key_id)["Tags"]["Tag"]} == (
        changed["tags"]
    )
    with pytest.raises(ValueError, match="alias already in use"):
        fresh_demo.update_key("cn-hangzhou", jwt.key_id, aliases=["alias/orders-db"])
    with pytest.raises(ValueError, match="only keys in a KMS instance"):
        fresh_demo.update_key("cn-hangzhou", jwt.key_id, policy={"Version": "1", "Statement": []})


def test_generated_aliases_and_tags():
    def keys(**kwargs):
        with Emulator(generate="cn-hangzhou=200,eu-central-1=50", random_seed=4, **kwargs) as emu:
            return [k for region_keys in emu.backend.default_account.keys.values() for k in region_keys]

    plain, labelled = keys(), keys(generate_tags=3, generate_aliases=2)
    assert labelled == keys(generate_tags=3, generate_aliases=2)  # deterministic
    for bare, key in zip(plain, labelled):  # the same keys, only labelled
        assert (bare.aliases, bare.tags) == ((), {})
        assert bare == dataclasses.replace(key, aliases=(), tags={})
        assert list(key.tags) == ["env", "team", "cost-center"] and len(key.aliases) == 2
    for region in ("cn-hangzhou", "eu-central-1"):
        names = [a for k in labelled if k.region == region for a in k.aliases]
        assert len(names) == len(set(names)) and all(re.fullmatch(r"alias/[a-z0-9-]+-\d{5}(-2)?", a) for a in names)
    assert len({k.tags["env"] for k in labelled}) > 1 and len({k.tags["team"] for k in labelled}) > 1
    with pytest.raises(ValueError):
        keys(generate_tags=11)


def test_scenario_f_world_request_budget():
    """The benchmark's scenario (f): 1,000 keys, one alias and three tags each, read in bulk."""
    with Emulator(generate="cn-hangzhou=1000", generate_tags=3, generate_aliases=1, qps=0) as emu:
        kms, keys = client(emu), emu.backend.default_account.keys["cn-hangzhou"]
        aliases = [
            a for n in range(1, 11) for a in call(kms, "ListAliases", PageNumber=n, PageSize=100)["Aliases"]["Alias"]
        ]
        assert len(aliases) == len({a["KeyId"] for a in aliases}) == 1000
        rows = []
        for start in range(0, 1000, 50):
            rows += sum(tag_pages(kms, tag_query("cn-hangzhou", [k.key_id for k in keys[start : start + 50]])), [])
        assert rows == tag_rows(keys) and len(rows) == 3000
        assert emu.stats()["by_action"] == {"ListAliases": 10, "ListTagResources": 20}


def test_cli_generates_aliases_and_tags():
    process = cli(
        "--generate",
        "cn-hangzhou=60",
        "--generate-tags",
        "2",
        "--generate-aliases",
        "1",
        "--deny-actions",
        '{"cn-shanghai": ["ListTagResources"]}',
        "--tag-page-size",
        "50",
        "--exec",
        "--",
        sys.executable,
        "-c",
        CLI_CHILD,
    )
    out, dummy = process.communicate(timeout=60)
    assert process.returncode == 0 and out.splitlines()[1:] == ["60", "2", "InvalidAction.NotFound"]


# Run by the emulator's --exec: ListAliases' TotalCount, the tags of the first key, ListTagResources in cn-shanghai.
CLI_CHILD = """
import os
from alibabacloud_kms20160120 import models
from alibabacloud_kms20160120.client import Client
from alibabacloud_tea_openapi.models import Config
def kms(region):
    return Client(Config(access_key_id=os.environ["ALICLOUD_ACCESS_KEY"], access_key_secret=os.environ["ALICLOUD_SECRET_KEY"],
                         region_id=region, protocol="http", http_proxy=os.environ["KMS_EMULATOR_URL"]))
print(kms("cn-hangzhou").list_aliases(models.ListAliasesRequest()).body.total_count)
first = kms("cn-hangzhou").list_keys(models.ListKeysRequest()).body.keys.key[0].key_id
print(len(kms("cn-hangzhou").list_resource_tags(models.ListResourceTagsRequest(key_id=first)).body.tags.tag))
try:
    kms("cn-shanghai").list_tag_resources(models.ListTagResourcesRequest(region_id="cn-shanghai", resource_type="key"))
except Exception as error:
    print(error.code)
"""


# --- the hostile profile (issue 21) -----------------------------------------------------------

DOCUMENTED_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
DOCUMENTED_ALIAS = re.compile(r"^alias/[a-zA-Z0-9:/_-]{1,255}$")


@pytest.fixture(name="hostile_demo")
def hostile_demo_fixture(tmp_path):
    """The demo world with the hostile profile; its canary file must never appear."""
    canary = tmp_path / "canary"
    with Emulator(seed=DEMO_SEED, hostile=True, hostile_canary=str(canary), log=io.StringIO()) as emu:
        yield emu
    assert not canary.exists()


def test_hostile_profile_fills_every_free_text_field(hostile_demo):
    from emulator import hostile  # pylint: disable=import-outside-toplevel

    canary = hostile_demo.faults.settings.hostile_canary
    texts = hostile.texts(canary)
    assert len(texts["long"]) == hostile.LONG_LENGTH == 10000
    assert all(canary in texts[name] for name in ("jinja", "statement", "mixed", "long"))
    kms = client(hostile_demo)
    ids = all_ids(kms)
    seen = set()
    for index, key_id in enumerate(ids):  # DescribeKey: Description, Creator, DeletionProtectionDescription
        meta = kms.describe_key(kms_models.DescribeKeyRequest(key_id=key_id)).body.key_metadata
        assert meta.description == hostile.description(index, canary)
        assert meta.creator == texts["statement"] + texts["markup"]
        if meta.deletion_protection == "Enabled":
            assert meta.deletion_protection_description == texts["jinja"] + texts["control"]
        seen.add(meta.description)
        # the tags, by both actions
        tags = kms.list_resource_tags(kms_models.ListResourceTagsRequest(key_id=key_id)).body.tags.tag
        assert hostile.hostile_tags(canary).items() <= {(t.tag_key, t.tag_value) for t in tags}
    assert seen == set(texts.values())  # every text is some key's description
    rows = call(kms, "ListTagResources", RegionId="cn-hangzhou", ResourceType="key", **{"ResourceId.1": ids[0]})
    pairs = {(r["TagKey"], r["TagValue"]) for r in rows["TagResources"]["TagResource"]}
    assert hostile.hostile_tags(canary).items() <= pairs and (texts["jinja"], "v") in pairs
    # one alias outside the documented form per account and region, on its first key
    aliases = call(kms, "ListAliases", PageSize=100)["Aliases"]["Alias"]
    bad = [a for a in aliases if not DOCUMENTED_ALIAS.match(a["AliasName"])]
    assert [(a["AliasName"], a["KeyId"]) for a in bad] == [(hostile.hostile_alias(canary), ids[0])]
    # key policies: JSON text with hostile strings inside, still granting only the account
    instance_keys = [k for k in hostile_demo.backend.default_account.keys["cn-hangzhou"] if k.dkms_instance_id]
    assert instance_keys
    for key in instance_keys:
        text = call(kms, "GetKeyPolicy", KeyId=key.key_id)["Policy"]
        assert json.loads(text) == hostile.hostile_policy(DEMO_ACCOUNT_ID, canary)
        assert texts["markup"] in json.loads(text)["Statement"][0]["Condition"]["StringEquals"]["kms:tag/x"]
    # account display names and tags (ResourceManager ListAccounts)
    accounts = list_accounts(rm_client(hostile_demo), PageSize=100, IncludeTags="true")["Accounts"]["Account"]
    assert len(accounts) == 6 and {a["DisplayName"] for a in accounts} == set(texts.values())
    assert all({"Key": "x", "Value": texts["mixed"]} in a["Tags"]["Tag"] for a in accounts)
    # the filters agree with the state: a hostile tag value and the hostile alias select keys
    tagged = call(kms, "ListKeys", PageSize=100, Filters=json.dumps([{"Key": "TagValue", "Values": [texts["markup"]]}]))
    assert tagged["TotalCount"] == len(ids)
    named = call(kms, "ListKeys", Filters=json.dumps([{"Key": "AliasName", "Values": [hostile.hostile_alias(canary)]}]))
    assert [k["KeyId"] for k in named["Keys"]["Key"]] == [ids[0]]


def test_hostile_profile_stays_until_reset_and_is_part_of_the_seeded_state(hostile_demo):
    first = hostile_demo.backend.default_account.keys["cn-hangzhou"][0]
    hostile_demo.update_key("cn-hangzhou", first.key_id, description="plain")
    hostile_demo.reset()
    assert hostile_demo.backend.default_account.keys["cn-hangzhou"][0] == first
    assert hostile_demo.faults.settings.hostile is True
    for change in ({"hostile": False}, {"hostile_canary": "/tmp/elsewhere"}):
        with pytest.raises(ValueError, match="reset"):
            hostile_demo.set_faults(**change)
        with pytest.raises(urllib.error.HTTPError) as refused:
            control(hostile_demo, "faults", change)
        assert refused.value.code == 400
    assert control(hostile_demo, "faults")["hostile"] is True


@pytest.mark.parametrize("canary", ["", "/tmp/a b", "/tmp/x'); import os", "/tmp/$(id)"])
def test_hostile_canary_must_be_a_plain_path(canary):
    with pytest.raises(ValueError, match="hostile_canary"):
        Emulator(hostile=True, hostile_canary=canary)


def test_hostile_profile_turned_on_at_runtime(fresh_demo, tmp_path):
    from emulator import hostile  # pylint: disable=import-outside-toplevel

    canary = str(tmp_path / "canary")
    key = fresh_demo.backend.default_account.keys["cn-shanghai"][0]
    faults = control(fresh_demo, "faults", {"hostile": True, "hostile_canary": canary})
    assert (faults["hostile"], faults["hostile_canary"]) == (True, canary)
    meta = client(fresh_demo, "cn-shanghai").describe_key(kms_models.DescribeKeyRequest(key_id=key.key_id)).body
    assert meta.key_metadata.description == hostile.texts(canary)["mixed"]
    fresh_demo.reset()  # an emulator started without it: back to the seed
    assert fresh_demo.faults.settings.hostile is False
    assert fresh_demo.backend.default_account.keys["cn-shanghai"][0] == key and "{{" not in key.description


def arn_parts(arn):
    return re.fullmatch(r"acs:kms:([^:]*):([^:]*):key/(.*)", arn).groups()


@pytest.mark.parametrize("mode", ["key", "account", "region", "key_id"])
def test_mismatched_ids(fresh_demo, mode):
    seeded = [k.key_id for k in fresh_demo.backend.default_account.keys["cn-hangzhou"]]
    kms = client(fresh_demo)
    fresh_demo.set_faults(mismatched_ids=mode)
    for body in (call(kms, "ListKeys", PageSize=100), kms.list_keys(kms_models.ListKeysRequest(page_size=3)).body):
        entries = body["Keys"]["Key"] if isinstance(body, dict) else [k.to_map() for k in body.keys.key]
        assert entries
        for entry in entries:
            region, account, key_id = arn_parts(entry["KeyArn"])
            if mode == "key_id":
                assert not DOCUMENTED_KEY_ID.match(entry["KeyId"]) and key_id == entry["KeyId"]
                assert (region, account) == ("cn-hangzhou", DEMO_ACCOUNT_ID)
                continue
            assert entry["KeyId"] in seeded
            assert (key_id != entry["KeyId"], account != DEMO_ACCOUNT_ID, region != "cn-hangzhou") == (
                mode == "key",
                mode == "account",
                mode == "region",
            )
            assert DOCUMENTED_KEY_ID.match(key_id) and re.fullmatch(r"[0-9]{16}", account) and region
    # a member's listing names the management account
    member_key, token = member_credentials(fresh_demo, "2222333344445555")
    member = call(client(fresh_demo, key=member_key + (token,)), "ListKeys")["Keys"]["Key"]
    if mode == "account":
        assert {arn_parts(e["KeyArn"])[1] for e in member} == {DEMO_ACCOUNT_ID}
    fresh_demo.set_faults(mismatched_ids=None)
    agreed = call(kms, "ListKeys", PageSize=100)["Keys"]["Key"]
    assert [arn_parts(e["KeyArn"]) for e in agreed] == [("cn-hangzhou", DEMO_ACCOUNT_ID, e["KeyId"]) for e in agreed]
    with pytest.raises(ValueError, match="mismatched_ids"):
        fresh_demo.set_faults(mismatched_ids="everything")


def test_cli_hostile_profile(tmp_path):
    canary = tmp_path / "canary"
    script = (
        "import json, os, urllib.request; "
        'f = json.load(urllib.request.urlopen(os.environ["KMS_EMULATOR_URL"] + "/_emulator/faults")); '
        'print(f["hostile"], f["hostile_canary"], f["mismatched_ids"])'
    )
    process = cli(
        "--seed",
        str(DEMO_SEED),
        "--hostile",
        "--hostile-canary",
        str(canary),
        "--mismatched-ids",
        "region",
        "--exec",
        "--",
        sys.executable,
        "-c",
        script,
    )
    out, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert out.splitlines()[1] == f"True {canary} region"
    refused = cli("--hostile", "--hostile-canary", "/tmp/$(id)")
    dummy, err = refused.communicate(timeout=20)
    assert refused.returncode == 2 and "hostile_canary" in err
    helped, dummy = cli("--help").communicate(timeout=20)
    assert "--hostile" in helped and "--hostile-canary" in helped and "--mismatched-ids" in helped
    assert not canary.exists()
