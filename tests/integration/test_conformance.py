"""The emulator against the official SDK models: no response field a model lacks, no documented parameter rejected.

Introspects alibabacloud-kms20160120, alibabacloud-sts20150401 and alibabacloud-resourcemanager20200331 (request models'
__init__ parameters and to_map names, response models' from_map/to_map), so an SDK update that documents a new parameter
or drops a field fails here.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# pylint: disable=wrong-import-position
from alibabacloud_kms20160120 import models as kms_models  # noqa: E402
from alibabacloud_tea_openapi.utils import Utils  # noqa: E402

from conftest import kms_client, rpc, sdk_config  # noqa: E402
from emulator import resourcemanager  # noqa: E402
from emulator.backend import FILTER_KEYS, MAX_TAG_RESOURCE_IDS, Backend  # noqa: E402
from emulator.seeding import RD_ROLE, build_backend  # noqa: E402
from emulator.server import STS_ACTIONS, Emulator  # noqa: E402

sts_models = pytest.importorskip("alibabacloud_sts20150401.models")
StsClient = pytest.importorskip("alibabacloud_sts20150401.client").Client
rm_models = pytest.importorskip("alibabacloud_resourcemanager20200331.models")
RmClient = pytest.importorskip("alibabacloud_resourcemanager20200331.client").Client

DEMO_SEED = Path(__file__).resolve().parents[1] / "emulator" / "seeds" / "demo.yml"
ROLE_ARN = "acs:ram::9876543210987654:role/kms-audit"

# action -> (service, API version, request model or None when the SDK has none, response body model)
MODELS = {
    "ListKeys": ("kms", "2016-01-20", kms_models.ListKeysRequest, kms_models.ListKeysResponseBody),
    "DescribeKey": ("kms", "2016-01-20", kms_models.DescribeKeyRequest, kms_models.DescribeKeyResponseBody),
    "DescribeRegions": ("kms", "2016-01-20", None, kms_models.DescribeRegionsResponseBody),
    "ListAliases": ("kms", "2016-01-20", kms_models.ListAliasesRequest, kms_models.ListAliasesResponseBody),
    "ListAliasesByKeyId": (
        "kms",
        "2016-01-20",
        kms_models.ListAliasesByKeyIdRequest,
        kms_models.ListAliasesByKeyIdResponseBody,
    ),
    "ListResourceTags": (
        "kms",
        "2016-01-20",
        kms_models.ListResourceTagsRequest,
        kms_models.ListResourceTagsResponseBody,
    ),
    "ListTagResources": (
        "kms",
        "2016-01-20",
        kms_models.ListTagResourcesRequest,
        kms_models.ListTagResourcesResponseBody,
    ),
    "GetKeyPolicy": ("kms", "2016-01-20", kms_models.GetKeyPolicyRequest, kms_models.GetKeyPolicyResponseBody),
    "ListKmsInstances": (
        "kms",
        "2016-01-20",
        kms_models.ListKmsInstancesRequest,
        kms_models.ListKmsInstancesResponseBody,
    ),
    "CreateKey": ("kms", "2016-01-20", kms_models.CreateKeyRequest, kms_models.CreateKeyResponseBody),
    "UpdateKeyDescription": (
        "kms",
        "2016-01-20",
        kms_models.UpdateKeyDescriptionRequest,
        kms_models.UpdateKeyDescriptionResponseBody,
    ),
    "EnableKey": ("kms", "2016-01-20", kms_models.EnableKeyRequest, kms_models.EnableKeyResponseBody),
    "DisableKey": ("kms", "2016-01-20", kms_models.DisableKeyRequest, kms_models.DisableKeyResponseBody),
    "ScheduleKeyDeletion": (
        "kms",
        "2016-01-20",
        kms_models.ScheduleKeyDeletionRequest,
        kms_models.ScheduleKeyDeletionResponseBody,
    ),
    "CancelKeyDeletion": (
        "kms",
        "2016-01-20",
        kms_models.CancelKeyDeletionRequest,
        kms_models.CancelKeyDeletionResponseBody,
    ),
    "SetDeletionProtection": (
        "kms",
        "2016-01-20",
        kms_models.SetDeletionProtectionRequest,
        kms_models.SetDeletionProtectionResponseBody,
    ),
    "UpdateRotationPolicy": (
        "kms",
        "2016-01-20",
        kms_models.UpdateRotationPolicyRequest,
        kms_models.UpdateRotationPolicyResponseBody,
    ),
    "CreateAlias": ("kms", "2016-01-20", kms_models.CreateAliasRequest, kms_models.CreateAliasResponseBody),
    "UpdateAlias": ("kms", "2016-01-20", kms_models.UpdateAliasRequest, kms_models.UpdateAliasResponseBody),
    "DeleteAlias": ("kms", "2016-01-20", kms_models.DeleteAliasRequest, kms_models.DeleteAliasResponseBody),
    "TagResources": ("kms", "2016-01-20", kms_models.TagResourcesRequest, kms_models.TagResourcesResponseBody),
    "UntagResources": ("kms", "2016-01-20", kms_models.UntagResourcesRequest, kms_models.UntagResourcesResponseBody),
    "SetKeyPolicy": ("kms", "2016-01-20", kms_models.SetKeyPolicyRequest, kms_models.SetKeyPolicyResponseBody),
    "ListSecrets": ("kms", "2016-01-20", kms_models.ListSecretsRequest, kms_models.ListSecretsResponseBody),
    "DescribeSecret": ("kms", "2016-01-20", kms_models.DescribeSecretRequest, kms_models.DescribeSecretResponseBody),
    "GetSecretValue": ("kms", "2016-01-20", kms_models.GetSecretValueRequest, kms_models.GetSecretValueResponseBody),
    "GetKmsInstance": ("kms", "2016-01-20", kms_models.GetKmsInstanceRequest, kms_models.GetKmsInstanceResponseBody),
    "AssumeRole": ("sts", "2015-04-01", sts_models.AssumeRoleRequest, sts_models.AssumeRoleResponseBody),
    "GetCallerIdentity": ("sts", "2015-04-01", None, sts_models.GetCallerIdentityResponseBody),
    "ListAccounts": (
        "resourcemanager",
        "2020-03-31",
        rm_models.ListAccountsRequest,
        rm_models.ListAccountsResponseBody,
    ),
}
HOSTS = {"sts": "sts.aliyuncs.com", "resourcemanager": "resourcemanager.aliyuncs.com"}  # the global endpoints

DEMO_KEYS = {k.description: k for k in build_backend(DEMO_SEED).default_account.keys["cn-hangzhou"]}
ORDERS_DB, LEDGER_TDE = DEMO_KEYS["orders-db TDE"], DEMO_KEYS["ledger TDE"]
JWT, GUOMI = DEMO_KEYS["jwt issuer"], DEMO_KEYS["guomi archive"]
# the write actions: each sample changes the demo world, which is reset after it
WRITES = {a for a, (service, dummy, dummy, dummy) in MODELS.items() if service == "kms"} - {
    "ListKeys",
    "DescribeKey",
    "DescribeRegions",
    "ListAliases",
    "ListAliasesByKeyId",
    "ListResourceTags",
    "ListTagResources",
    "GetKeyPolicy",
    "ListKmsInstances",
    "ListSecrets",
    "DescribeSecret",
    "GetSecretValue",
    "GetKmsInstance",
}
POLICY = json.dumps(
    {
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
)

# A valid value for every request parameter the models document; a parameter missing here fails the test.
SAMPLES = {
    "ListKeys": {"Filters": json.dumps([{"Key": "KeyState", "Values": ["Enabled"]}]), "PageNumber": 1, "PageSize": 10},
    "DescribeKey": {"KeyId": "alias/orders-db"},
    "DescribeRegions": {},
    "ListAliases": {"PageNumber": 1, "PageSize": 100},
    "ListAliasesByKeyId": {"KeyId": ORDERS_DB.key_id, "PageNumber": 1, "PageSize": 10},
    "ListResourceTags": {"KeyId": ORDERS_DB.key_id},
    "ListTagResources": {
        "NextToken": "",  # the first page; a real token is followed in test_every_response_field_exists_in_the_models
        "RegionId": "cn-hangzhou",
        "ResourceId": [ORDERS_DB.key_id, LEDGER_TDE.key_id],
        "ResourceType": "key",
        "Tag": [{"Key": "env", "Value": "prod"}],
    },
    "GetKeyPolicy": {"KeyId": LEDGER_TDE.arn, "PolicyName": "default"},
    "ListKmsInstances": {"Filters": "[]", "PageNumber": 1, "PageSize": 100},
    "ListSecrets": {
        "FetchTags": True,
        "Filters": json.dumps([{"Key": "SecretType", "Values": ["Generic", "RDS"]}]),
        "PageNumber": 1,
        "PageSize": 100,
    },
    "DescribeSecret": {"FetchTags": True, "SecretName": "orders/db-app"},
    "GetSecretValue": {
        "DryRun": "false",
        "FetchExtendedConfig": True,
        "Recipient": "",  # an enclave attestation: not emulated, empty is accepted
        "SecretName": "acs:kms:cn-hangzhou:1234567890123456:secret/orders/db-app",
        "VersionId": "v1",
        "VersionStage": "ACSPrevious",
    },
    "GetKmsInstance": {"KmsInstanceId": LEDGER_TDE.dkms_instance_id},
    # writes: every sample succeeds on the seeded demo world (LEDGER_TDE is in a hardware instance)
    "CreateKey": {
        "DKMSInstanceId": LEDGER_TDE.dkms_instance_id,
        "Description": "conformance",
        "EnableAutomaticRotation": False,
        "KeySpec": "Aliyun_AES_256",
        "KeyStorageMechanism": "HsmEncryptedDatabase",
        "KeyUsage": "ENCRYPT/DECRYPT",
        "Origin": "Aliyun_KMS",
        "Policy": POLICY,
        "ProtectionLevel": "HSM",
        "RotationInterval": "365d",
        "Tags": json.dumps([{"TagKey": "env", "TagValue": "test"}]),
    },
    "UpdateKeyDescription": {"Description": "conformance", "KeyId": ORDERS_DB.key_id},
    "EnableKey": {"KeyId": DEMO_KEYS["legacy batch jobs"].key_id},
    "DisableKey": {"KeyId": JWT.key_id},
    "ScheduleKeyDeletion": {"KeyId": JWT.key_id, "PendingWindowInDays": 7},
    "CancelKeyDeletion": {"KeyId": DEMO_KEYS["retired reporting"].key_id},
    "SetDeletionProtection": {
        "DeletionProtectionDescription": "conformance",
        "EnableDeletionProtection": True,
        "KeyId": LEDGER_TDE.key_id,
        "KmsInstanceId": LEDGER_TDE.dkms_instance_id,
        "ProtectedResourceArn": LEDGER_TDE.arn,
    },
    "UpdateRotationPolicy": {"EnableAutomaticRotation": True, "KeyId": GUOMI.key_id, "RotationInterval": "365d"},
    "CreateAlias": {"AliasName": "alias/conformance", "KeyId": JWT.key_id},
    "UpdateAlias": {"AliasName": "alias/jwt-issuer", "KeyId": ORDERS_DB.key_id},
    "DeleteAlias": {"AliasName": "alias/orders-db-tde"},
    "TagResources": {
        "RegionId": "cn-hangzhou",
        "ResourceId": [ORDERS_DB.key_id, JWT.key_id],
        "ResourceType": "key",
        "Tag": [{"Key": "owner", "Value": "alice"}],
    },
    "UntagResources": {
        "All": False,
        "RegionId": "cn-hangzhou",
        "ResourceId": [ORDERS_DB.key_id],
        "ResourceType": "key",
        "TagKey": ["env"],
    },
    "SetKeyPolicy": {"KeyId": LEDGER_TDE.arn, "Policy": POLICY, "PolicyName": "default"},
    "AssumeRole": {
        "RoleArn": ROLE_ARN,
        "RoleSessionName": "conformance",
        "DurationSeconds": 900,
        "ExternalId": "ext-1",
        "Policy": json.dumps(
            {"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["kms:List*"], "Resource": ["*"]}]}
        ),
        "SourceIdentity": "alice",
    },
    "GetCallerIdentity": {},
    "ListAccounts": {"IncludeTags": True, "PageNumber": 1, "PageSize": 10, "Tag": [{"Key": "env", "Value": "prod"}]},
}


@pytest.fixture(name="emu", scope="module")
def emu_fixture():
    with Emulator(seed=DEMO_SEED, qps=0) as emulator:
        yield emulator


def raw_call(emu, action, query, region="cn-hangzhou", key=None):
    """The generic call_api path with the action's service host; returns the JSON body as a dict. key: (id, secret) or
    (id, secret, security token); query values are flattened as the SDK clients do (Tag.1.Key, ...)."""
    service, version, dummy, dummy = MODELS[action]
    endpoint = HOSTS.get(service, f"kms.{region}.aliyuncs.com")
    return rpc(kms_client(emu, None, key=key, endpoint=endpoint), action, Utils.query(query), version=version)


def wire_names(model) -> set:
    """The parameter names a request model sends: every __init__ argument set (a list one to []), then to_map()."""
    parameters = [p for p in inspect.signature(model.__init__).parameters.values() if p.name != "self"]
    return set(model(**{p.name: [] if str(p.annotation).startswith("List") else "x" for p in parameters}).to_map())


def unknown_fields(data, echoed, path=""):
    """Paths in data that the model's from_map/to_map round trip dropped: fields the model does not have."""
    if isinstance(data, dict):
        for name, value in data.items():
            if not isinstance(echoed, dict) or name not in echoed:
                yield path + name
            else:
                yield from unknown_fields(value, echoed[name], f"{path}{name}.")
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from unknown_fields(
                value, echoed[index] if isinstance(echoed, list) and index < len(echoed) else None, f"{path}[{index}]."
            )


def assert_conforms(action, body):
    echoed = MODELS[action][3]().from_map(body).to_map()
    assert list(unknown_fields(body, echoed)) == [], f"{action} returns fields its SDK model lacks"
    assert echoed == body  # and every value survives the official parsing unchanged


def test_every_emulated_action_has_its_models():
    assert set(Backend.ACTIONS) | set(STS_ACTIONS) | set(resourcemanager.ACTIONS) == set(MODELS)


@pytest.mark.parametrize("action", sorted(MODELS))
def test_every_documented_parameter_is_accepted(emu, action):
    request_model = MODELS[action][2]
    documented = wire_names(request_model) if request_model else set()
    assert documented == set(SAMPLES[action]), "the SDK documents other parameters: give each a sample value"
    try:
        assert_conforms(action, raw_call(emu, action, SAMPLES[action]))
    finally:
        if action in WRITES:
            emu.reset()  # the module's demo world stays the seeded one for the tests that read it


def test_every_documented_filter_key_is_accepted(emu):
    source = inspect.getsource(kms_models.ListKeysRequest.__init__)
    documented = set(re.findall(r"If \\\\`Key\\\\` is set to \\\\`(\w+)\\\\`", source))
    assert documented == set(FILTER_KEYS) and len(documented) == 11
    for key in sorted(documented):
        body = raw_call(emu, "ListKeys", {"Filters": json.dumps([{"Key": key, "Values": ["x", "y"]}])})
        assert_conforms("ListKeys", body)


def account_key(emu, account):
    """An access key of the account: its own, else credentials of its Resource Directory role (None if denied)."""
    key = next((k for k in account.access_keys if not k.security_token), None)
    if key is not None:
        return key.id, key.secret
    role = account.roles.get(RD_ROLE)
    if role is None or emu.backend.directory.management_account not in role.trusted_accounts:
        return None
    arn = f"acs:ram::{account.account_id}:role/{RD_ROLE}"
    creds = raw_call(emu, "AssumeRole", {"RoleArn": arn, "RoleSessionName": "conformance"})["Credentials"]
    return creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"]


def every_key(emu, unreachable=()):
    """Every key with credentials that can describe it; the accounts in `unreachable` (no credentials reach them) must
    be exactly those skipped."""
    skipped = set()
    for account in emu.backend.accounts.values():
        key = account_key(emu, account) if account.keys else None
        if key is None:
            skipped.add(account.account_id)
            continue
        for region, keys in account.keys.items():
            for k in keys:
                yield key, region, k.key_id
    assert skipped == set(unreachable)


def test_every_response_field_exists_in_the_models(emu):
    with Emulator(
        generate="cn-hangzhou=120,eu-central-1=40",
        generate_tags=3,
        generate_aliases=2,
        random_seed=3,
        qps=0,
        tag_page_size=40,
    ) as generated:
        # the demo's member 4444555566667777 has no keys (CreateVerifying), 7777888899990000 denies its role
        for world, unreachable in ((emu, {"4444555566667777", "7777888899990000"}), (generated, set())):
            for region in ("cn-hangzhou", "cn-shanghai", "eu-central-1"):
                for filters in ([], [{"Key": "KeyState", "Values": ["PendingDeletion"]}]):
                    assert_conforms(
                        "ListKeys",
                        raw_call(world, "ListKeys", {"PageSize": 100, "Filters": json.dumps(filters)}, region),
                    )
            assert_conforms("DescribeRegions", raw_call(world, "DescribeRegions", {}))
            by_region = {}
            for key, region, key_id in every_key(world, unreachable):
                assert_conforms("DescribeKey", raw_call(world, "DescribeKey", {"KeyId": key_id}, region, key))
                assert_conforms("ListResourceTags", raw_call(world, "ListResourceTags", {"KeyId": key_id}, region, key))
                by_region.setdefault((key, region), []).append(key_id)
                listed = raw_call(world, "ListAliasesByKeyId", {"KeyId": key_id, "PageSize": 101}, region, key)
                assert_conforms("ListAliasesByKeyId", listed)
                if key_id.startswith("key-"):  # keys in a KMS instance
                    assert_conforms("GetKeyPolicy", raw_call(world, "GetKeyPolicy", {"KeyId": key_id}, region, key))
            for (key, region), key_ids in by_region.items():
                assert_conforms("ListAliases", raw_call(world, "ListAliases", {"PageSize": 100}, region, key))
                assert_conforms("ListKmsInstances", raw_call(world, "ListKmsInstances", {}, region, key))
                for start in range(0, len(key_ids), MAX_TAG_RESOURCE_IDS):
                    query = {
                        "RegionId": region,
                        "ResourceType": "key",
                        "ResourceId": key_ids[start : start + MAX_TAG_RESOURCE_IDS],
                    }
                    while True:
                        body = raw_call(world, "ListTagResources", query, region, key)
                        assert_conforms("ListTagResources", body)
                        if not body["NextToken"]:
                            break
                        query["NextToken"] = body["NextToken"]
    assert_conforms("AssumeRole", raw_call(emu, "AssumeRole", {"RoleArn": ROLE_ARN, "RoleSessionName": "minimal"}))
    issued = raw_call(emu, "AssumeRole", {"RoleArn": ROLE_ARN, "RoleSessionName": "identity"})["Credentials"]
    for key in (None, (issued["AccessKeyId"], issued["AccessKeySecret"], issued["SecurityToken"])):
        assert_conforms("GetCallerIdentity", raw_call(emu, "GetCallerIdentity", {}, key=key))
    with Emulator(generate_accounts="25:2:1", qps=0) as org:
        for world in (emu, org):
            for query in ({}, {"PageSize": 100, "IncludeTags": True}, {"PageNumber": 2, "PageSize": 4}):
                assert_conforms("ListAccounts", raw_call(world, "ListAccounts", query))
            assert_conforms("ListAccounts", raw_call(world, "ListAccounts", {"PageNumber": 99}))  # past the end


def test_official_clients_parse_every_reply(emu):
    kms = kms_client(emu)
    listed = kms.list_keys(kms_models.ListKeysRequest(page_size=100)).body
    assert listed.total_count == len(listed.keys.key) == 14
    for entry in listed.keys.key:
        meta = kms.describe_key(kms_models.DescribeKeyRequest(key_id=entry.key_id)).body.key_metadata
        assert (meta.key_id, meta.arn) == (entry.key_id, entry.key_arn) and meta.creation_date and meta.key_state
    assert "cn-hangzhou" in [r.region_id for r in kms.describe_regions().body.regions.region]
    sts = StsClient(sdk_config(emu, endpoint="sts.aliyuncs.com"))
    body = sts.assume_role(sts_models.AssumeRoleRequest(role_arn=ROLE_ARN, role_session_name="conformance")).body
    assert body.credentials.access_key_id and body.credentials.expiration and body.assumed_role_user.assumed_role_id
    assert sts.get_caller_identity().body.account_id == emu.backend.default_account.account_id
    creds = body.credentials
    role = kms_client(emu, "cn-beijing", key=(creds.access_key_id, creds.access_key_secret, creds.security_token))
    assert role.list_keys(kms_models.ListKeysRequest()).body.total_count == 2


def test_official_resourcemanager_client_parses_list_accounts(emu):
    rm = RmClient(sdk_config(emu))
    assert rm._endpoint == "resourcemanager.aliyuncs.com"  # pylint: disable=protected-access
    body = rm.list_accounts(rm_models.ListAccountsRequest(page_size=100, include_tags=True)).body
    assert (body.total_count, body.page_number, body.page_size, len(body.accounts.account)) == (6, 1, 100, 6)
    first = body.accounts.account[0]
    assert (first.account_id, first.display_name, first.status, first.type) == (
        "1234567890123456",
        "acme-management",
        "CreateSuccess",
        "CloudAccount",
    )
    for account in body.accounts.account:
        assert account.folder_id and account.join_method in ("created", "invited") and account.join_time
        assert account.resource_directory_id.startswith("rd-") and account.resource_directory_path.endswith(
            account.account_id
        )
        assert account.tags is not None
    tagged = rm.list_accounts(
        rm_models.ListAccountsRequest(tag=[rm_models.ListAccountsRequestTag(key="env", value="prod")])
    ).body
    assert [a.display_name for a in tagged.accounts.account] == ["acme-payments-prod", "acme-data-platform"]
    assert tagged.accounts.account[0].tags is None  # IncludeTags defaults to false
    pages, number = [], 1
    while True:
        page = rm.list_accounts(rm_models.ListAccountsRequest(page_number=number, page_size=4)).body
        pages.append([a.account_id for a in page.accounts.account])
        if number * 4 >= page.total_count:
            break
        number += 1
    assert [len(p) for p in pages] == [4, 2]
    v1 = RmClient(sdk_config(emu, v1=True, network="vpc"))  # resourcemanager-vpc.aliyuncs.com
    assert v1.list_accounts(rm_models.ListAccountsRequest()).body.total_count == 6


def test_official_client_parses_aliases_tags_and_policies(emu):
    kms = kms_client(emu)
    aliases = kms.list_aliases(kms_models.ListAliasesRequest(page_size=100)).body
    assert aliases.total_count == len(aliases.aliases.alias) == 7 and (aliases.page_number, aliases.page_size) == (
        1,
        100,
    )
    first = aliases.aliases.alias[0]
    assert (first.alias_name, first.key_id) == ("alias/orders-db", ORDERS_DB.key_id)
    assert first.alias_arn == f"acs:kms:cn-hangzhou:{ORDERS_DB.account_id}:alias/orders-db"
    by_key = kms.list_aliases_by_key_id(kms_models.ListAliasesByKeyIdRequest(key_id=ORDERS_DB.key_id)).body
    assert [a.alias_name for a in by_key.aliases.alias] == ["alias/orders-db", "alias/orders-db-tde"]
    assert by_key.total_count == 2
    tags = kms.list_resource_tags(kms_models.ListResourceTagsRequest(key_id=ORDERS_DB.key_id)).body.tags.tag
    assert {t.tag_key: t.tag_value for t in tags} == {"env": "prod", "team": "orders", "cost-center": "cc-1042"}
    assert {t.key_id for t in tags} == {ORDERS_DB.key_id}
    listed = kms.list_tag_resources(
        kms_models.ListTagResourcesRequest(
            region_id="cn-hangzhou",
            resource_type="key",
            resource_id=[ORDERS_DB.key_id, LEDGER_TDE.key_id, "no-such-key"],
        )
    ).body
    assert listed.next_token == "" and len(listed.tag_resources.tag_resource) == 6
    assert {(r.resource_id, r.resource_type) for r in listed.tag_resources.tag_resource} == {
        (ORDERS_DB.key_id, "key"),
        (LEDGER_TDE.key_id, "key"),
    }
    narrowed = kms.list_tag_resources(
        kms_models.ListTagResourcesRequest(
            region_id="cn-hangzhou",
            resource_type="key",
            tag=[kms_models.ListTagResourcesRequestTag(key="team", value="ledger")],
        )
    ).body.tag_resources.tag_resource
    assert [(r.tag_key, r.tag_value) for r in narrowed] == [("team", "ledger")] * 2
    policy = json.loads(kms.get_key_policy(kms_models.GetKeyPolicyRequest(key_id=LEDGER_TDE.key_id)).body.policy)
    assert policy["Version"] == "1" and len(policy["Statement"]) == 2


def test_official_client_lists_the_kms_instances_its_keys_name(emu):
    """ListKmsInstances (issue 21 item 6: key policy membership) parsed by the official client, every page."""
    kms = kms_client(emu)
    instances = sorted(set(k.dkms_instance_id for k in DEMO_KEYS.values() if k.dkms_instance_id))
    assert instances
    body = kms.list_kms_instances(kms_models.ListKmsInstancesRequest(page_size=1)).body
    assert body.total_count == len(instances) and body.page_size == 1
    listed = [
        i.kms_instance_id
        for n in range(1, len(instances) + 1)
        for i in kms.list_kms_instances(
            kms_models.ListKmsInstancesRequest(page_number=n, page_size=1)
        ).body.kms_instances.kms_instance
    ]
    assert listed == instances
    first = kms.list_kms_instances(kms_models.ListKmsInstancesRequest()).body.kms_instances.kms_instance[0]
    assert first.kms_instance_arn == "acs:kms:cn-hangzhou:1234567890123456:kmsinstance/%s" % instances[0]


def test_official_client_parses_every_write_reply():
    """Every write through its typed request model and method, on a private demo world: each reply parses into its
    response model, and CreateKey's KeyMetadata has only fields of CreateKeyResponseBodyKeyMetadata."""
    with Emulator(seed=DEMO_SEED, qps=0) as world:
        kms, shanghai, beijing = (kms_client(world, r) for r in ("cn-hangzhou", "cn-shanghai", "cn-beijing"))
        instance = "kst-shh63a9c7d2e4b6f8a0c1d3"  # the demo's software instance
        created = [
            beijing.create_key(kms_models.CreateKeyRequest(description="default key")).body,
            shanghai.create_key(
                kms_models.CreateKeyRequest(
                    dkmsinstance_id=instance, enable_automatic_rotation=True, rotation_interval="30d", policy=POLICY
                )
            ).body,
            kms.create_key(
                kms_models.CreateKeyRequest(dkmsinstance_id=LEDGER_TDE.dkms_instance_id, origin="EXTERNAL")
            ).body,
            kms.create_key(
                kms_models.CreateKeyRequest(dkmsinstance_id=LEDGER_TDE.dkms_instance_id, key_spec="EC_P256")
            ).body,
        ]
        for body in created:
            assert_conforms("CreateKey", body.to_map())
        assert [b.key_metadata.key_state for b in created] == ["Enabled", "Enabled", "PendingImport", "Enabled"]
        assert (
            created[1].key_metadata.rotation_interval == "2592000s"
            and created[3].key_metadata.key_usage == "SIGN/VERIFY"
        )
        replies = [
            kms.update_key_description(kms_models.UpdateKeyDescriptionRequest(key_id=JWT.key_id, description="d")),
            kms.disable_key(kms_models.DisableKeyRequest(key_id=JWT.key_id)),
            kms.enable_key(kms_models.EnableKeyRequest(key_id=JWT.key_id)),
            kms.schedule_key_deletion(
                kms_models.ScheduleKeyDeletionRequest(key_id=JWT.key_id, pending_window_in_days=7)
            ),
            kms.cancel_key_deletion(kms_models.CancelKeyDeletionRequest(key_id=JWT.key_id)),
            kms.set_deletion_protection(
                kms_models.SetDeletionProtectionRequest(protected_resource_arn=JWT.arn, enable_deletion_protection=True)
            ),
            kms.update_rotation_policy(
                kms_models.UpdateRotationPolicyRequest(
                    key_id=GUOMI.key_id, enable_automatic_rotation=True, rotation_interval="365d"
                )
            ),
            kms.create_alias(kms_models.CreateAliasRequest(alias_name="alias/typed", key_id=JWT.key_id)),
            kms.update_alias(kms_models.UpdateAliasRequest(alias_name="alias/typed", key_id=GUOMI.key_id)),
            kms.delete_alias(kms_models.DeleteAliasRequest(alias_name="alias/typed")),
            kms.tag_resources(
                kms_models.TagResourcesRequest(
                    region_id="cn-hangzhou",
                    resource_type="key",
                    resource_id=[JWT.key_id],
                    tag=[kms_models.TagResourcesRequestTag(key="owner", value="bob")],
                )
            ),
            kms.untag_resources(
                kms_models.UntagResourcesRequest(
                    region_id="cn-hangzhou", resource_type="key", resource_id=[JWT.key_id], tag_key=["owner"]
                )
            ),
            kms.set_key_policy(kms_models.SetKeyPolicyRequest(key_id=LEDGER_TDE.key_id, policy=POLICY)),
        ]
        for reply in replies:
            assert reply.status_code == 200 and set(reply.body.to_map()) == {"RequestId"} and reply.body.request_id


def test_every_secret_and_instance_reply_exists_in_the_models(emu):
    """Every seeded secret (each version, by id and by stage) and every KMS instance of the demo world, through each
    account's credentials: replies have only fields of their models and survive the official parsing unchanged."""
    checked = 0
    for account in emu.backend.accounts.values():
        regions = {r for r, s in account.secrets.items() if s} | {r for r, k in account.keys.items() if k}
        key = account_key(emu, account) if regions else None
        if key is None:
            continue
        for region in sorted(regions):
            for fetch in (True, False):
                listed = raw_call(emu, "ListSecrets", {"PageSize": 100, "FetchTags": fetch}, region, key)
                assert_conforms("ListSecrets", listed)
            for secret in account.secrets.get(region, []):
                described = raw_call(
                    emu, "DescribeSecret", {"SecretName": secret.secret_name, "FetchTags": True}, region, key
                )
                assert_conforms("DescribeSecret", described)
                if secret.deny_value:
                    continue
                for version in secret.versions:
                    queries = [{"VersionStage": s} for s in version["version_stages"]]
                    if secret.secret_type == "Generic":
                        queries.append({"VersionId": version["version_id"]})
                    for query in queries:
                        query.update(SecretName=secret.secret_name, FetchExtendedConfig=True)
                        assert_conforms("GetSecretValue", raw_call(emu, "GetSecretValue", query, region, key))
                        checked += 1
            instances = {k.dkms_instance_id for k in account.keys.get(region, []) if k.dkms_instance_id}
            for instance_id in sorted(instances | set(account.instances.get(region, {}))):
                body = raw_call(emu, "GetKmsInstance", {"KmsInstanceId": instance_id}, region, key)
                assert_conforms("GetKmsInstance", body)
    assert checked >= 10
