"""State and rules of the KMS emulator: accounts, access keys, keys and the API semantics.

Pure Python, no HTTP: the server translates requests into calls on Backend and Backend
answers with plain dicts (without RequestId) or raises ApiError.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
import threading
import uuid

API_VERSION = "2016-01-20"

KEY_STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingImport")
KEY_SPECS = ("Aliyun_AES_256", "Aliyun_SM4", "RSA_2048", "EC_P256", "EC_P256K", "EC_SM2")
KEY_USAGES = ("ENCRYPT/DECRYPT", "SIGN/VERIFY")
PROTECTION_LEVELS = ("SOFTWARE", "HSM")
CREATOR_TYPES = ("User", "Service")

# ListKeys filter key -> Key attribute it matches: every key documented in the docstring of ListKeysRequest.filters
# (alibabacloud-kms20160120 3.3), with its casing ("keyId" is lower-case there). Values of one key are ORed; a key
# with several values (aliases, tags) matches when any of them is listed.
FILTER_KEYS = {
    "KeyState": "key_state",
    "KeySpec": "key_spec",
    "KeyUsage": "key_usage",
    "ProtectionLevel": "protection_level",
    "CreatorType": "creator_type",
    "DKMSInstanceId": "dkms_instance_id",
    "keyId": "key_id",
    "AliasName": "aliases",  # full names as ListAliases returns them: alias/<name>
    "Creator": "creator",
    "TagKey": "tag_keys",
    "TagValue": "tag_values",
}
MAX_FILTER_PAIRS = 10
MAX_FILTER_VALUES = 10

# ListTagResources (alibabacloud-kms20160120 3.3.1, ListTagResourcesRequest): "By default, 200 rows are returned per
# page" (next_token), "a maximum of 50 resource IDs" (resource_id), tags "Valid values of N: 1 to 20" (tag), resource
# types "key" and "secret" (resource_type), a tag key "cannot start with aliyun or acs:" (ListTagResourcesRequestTag).
TAG_PAGE_SIZE = 200
MAX_TAG_RESOURCE_IDS = 50
MAX_QUERY_TAGS = 20
RESOURCE_TYPES = ("key", "secret")
RESERVED_TAG_PREFIXES = ("aliyun", "acs:")
# ListAliasesRequest.page_size: "Valid values: 0 to 100. Default value: 10."; ListAliasesByKeyIdRequest.page_size:
# "Valid values: 0 to 101. Default value: 10" (sic; the emulator takes the models at their word).
ALIAS_PAGE_SIZES = {"ListAliases": (0, 100), "ListAliasesByKeyId": (0, 101)}
# GetKeyPolicyRequest.policy_name: "Only the static value default is supported."
POLICY_NAME = "default"

DEFAULT_REGIONS = (
    "cn-hangzhou",
    "cn-shanghai",
    "cn-beijing",
    "cn-shenzhen",
    "cn-hongkong",
    "ap-southeast-1",
    "eu-central-1",
    "us-west-1",
)

# Fixed namespace so omitted key ids are the same on every run.
KEY_ID_NAMESPACE = uuid.UUID("6f0c5d7e-8a43-4d0b-9a55-6b6d1c3e2f10")


class ApiError(Exception):
    """An error the API returns to the caller: HTTP status, Code and Message."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def invalid_parameter(name: str, why: str = "") -> ApiError:
    detail = f" ({why})" if why else ""
    return ApiError(400, "InvalidParameter", f"The specified parameter {name} is not valid{detail}.")


def unknown_action() -> ApiError:
    """What an action the endpoint does not offer gets."""
    return ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")


def missing_parameter(name: str) -> ApiError:
    return ApiError(
        400,
        "MissingParameter",
        f"The input parameter {name} that is mandatory for processing this request is not supplied.",
    )


def key_not_found() -> ApiError:
    return ApiError(404, "Forbidden.KeyNotFound", "The specified Key is not found.")


def default_policy(account_id: str) -> dict:
    """The policy of an instance key nobody changed: the account's RAM identities may do everything (the sample
    Policy of GetKeyPolicy's API reference, "Sid": "kms default key policy")."""
    return {
        "Version": "1",
        "Statement": [
            {
                "Sid": "kms default key policy",
                "Effect": "Allow",
                "Principal": {"RAM": [f"acs:ram::{account_id}:*"]},
                "Action": ["kms:*"],
                "Resource": ["*"],
            }
        ],
    }


@dataclasses.dataclass
class Key:
    """One customer master key with the DescribeKey fields (snake_case)."""

    key_id: str
    account_id: str
    region: str
    key_state: str = "Enabled"
    key_spec: str = "Aliyun_AES_256"
    key_usage: str = "ENCRYPT/DECRYPT"
    protection_level: str = "SOFTWARE"
    creator_type: str = "User"
    creator: str = ""
    dkms_instance_id: str = ""
    description: str = ""
    creation_date: str = "2023-01-01T00:00:00Z"
    origin: str = "Aliyun_KMS"
    automatic_rotation: str = "Disabled"
    rotation_interval: str = ""
    last_rotation_date: str = ""
    next_rotation_date: str = ""
    deletion_protection: str = "Disabled"
    deletion_protection_description: str = ""
    delete_date: str = ""
    material_expire_time: str = ""
    primary_key_version: str = ""
    aliases: tuple = ()  # alias/<name>; DescribeKey accepts them in place of the key id
    tags: dict = dataclasses.field(default_factory=dict)  # TagKey -> TagValue
    policy: dict | None = None  # GetKeyPolicy's document; keys in a KMS instance only, default_policy() when None

    # The backend treats a Key as a value: changes replace it (Backend.update_key), so a snapshot may share keys.

    @property
    def tag_keys(self) -> tuple:
        return tuple(self.tags)

    @property
    def tag_values(self) -> tuple:
        return tuple(self.tags.values())

    def filter_values(self, attr: str) -> set:
        """The values a ListKeys filter on attr compares with: one, or several for aliases and tags."""
        value = getattr(self, attr)
        return set(value) if isinstance(value, tuple) else {value}

    @property
    def arn(self) -> str:
        return f"acs:kms:{self.region}:{self.account_id}:key/{self.key_id}"

    def list_entry(self) -> dict:
        return {"KeyId": self.key_id, "KeyArn": self.arn}

    def alias_entries(self) -> list:
        """ListAliases' Aliases.Alias items (ListAliasesResponseBodyAliasesAlias: AliasArn, AliasName, KeyId)."""
        return [
            {"AliasName": name, "AliasArn": f"acs:kms:{self.region}:{self.account_id}:{name}", "KeyId": self.key_id}
            for name in self.aliases
        ]

    def policy_document(self) -> dict | None:
        """None for keys outside a KMS instance: GetKeyPolicy "Queries the key policy of a CMK in a KMS instance"."""
        if not self.dkms_instance_id:
            return None
        return self.policy if self.policy is not None else default_policy(self.account_id)

    def metadata(self) -> dict:
        """DescribeKey's KeyMetadata: exactly the fields of DescribeKeyResponseBodyKeyMetadata (alibabacloud-kms20160120),
        which has no CreatorType; a conditional field is absent, never "", when the model says it is not returned."""
        meta = {
            "CreationDate": self.creation_date,
            "Description": self.description,  # a key property, "" when none was set
            "KeyId": self.key_id,
            "KeyState": self.key_state,
            "KeyUsage": self.key_usage,
            "KeySpec": self.key_spec,
            "ProtectionLevel": self.protection_level,
            "Origin": self.origin,
            "Creator": self.creator,
            "Arn": self.arn,
            "AutomaticRotation": self.automatic_rotation,
            "DeletionProtection": self.deletion_protection,
        }
        optional = {
            # "returned only when the value of the AutomaticRotation parameter is Enabled or Suspended"
            "RotationInterval": self.rotation_interval if self.automatic_rotation in ("Enabled", "Suspended") else "",
            "NextRotationDate": self.next_rotation_date if self.automatic_rotation in ("Enabled", "Suspended") else "",
            # "returned only when the value of the KeyState parameter is PendingDeletion"
            "DeleteDate": self.delete_date if self.key_state == "PendingDeletion" else "",
            # "If this parameter value is empty, the key material does not expire": only imported material expires
            "MaterialExpireTime": self.material_expire_time if self.origin == "EXTERNAL" else "",
            "DeletionProtectionDescription": self.deletion_protection_description
            if self.deletion_protection == "Enabled"
            else "",
            "DKMSInstanceId": self.dkms_instance_id,  # keys in a KMS instance only
            "LastRotationDate": self.last_rotation_date,  # the creation date for never-rotated keys; none before import
            "PrimaryKeyVersion": self.primary_key_version,  # none before key material exists (PendingImport)
        }
        meta.update((name, value) for name, value in optional.items() if value)
        return meta


KEY_FIELDS = frozenset(f.name for f in dataclasses.fields(Key)) - {"account_id", "region"}


def normalise_fields(fields: dict) -> dict:
    """Seed or update values of aliases, tags and policy in the form Key holds them; ValueError when malformed."""
    fields = dict(fields)
    if "aliases" in fields:
        aliases = fields["aliases"] or ()
        if isinstance(aliases, str) or not all(
            isinstance(a, str) and a.startswith("alias/") and a[6:] for a in aliases
        ):
            raise ValueError(f"aliases must be a list of alias/<name> strings: {aliases!r}")
        fields["aliases"] = tuple(aliases)
    if "tags" in fields:
        tags = fields["tags"] or {}
        if not isinstance(tags, dict):
            raise ValueError(f"tags must be a mapping of tag key to value: {tags!r}")
        fields["tags"] = {str(k): str(v) for k, v in tags.items()}
    if fields.get("policy") is not None and not isinstance(fields["policy"], dict):
        raise ValueError("policy must be a mapping (the policy document)")
    return fields


@dataclasses.dataclass
class AccessKey:
    id: str
    secret: str
    account_id: str
    security_token: str = ""
    expires: float | None = None  # epoch seconds; STS credentials issued by AssumeRole stop working then

    def __repr__(self) -> str:
        # Never let a secret reach a log or a test failure message.
        return f"AccessKey(id={self.id!r}, account_id={self.account_id!r})"


@dataclasses.dataclass(frozen=True)
class Role:
    """A RAM role that accounts may assume with STS AssumeRole."""

    name: str
    trusted_accounts: tuple  # account ids whose credentials may assume it
    max_session_duration: int = 3600  # RAM's MaxSessionDuration: default 3600, at most 43200


@dataclasses.dataclass
class Account:
    account_id: str
    access_keys: list = dataclasses.field(default_factory=list)
    keys: dict = dataclasses.field(default_factory=dict)  # region -> [Key] in creation order
    created: int = 0  # keys ever created; feeds deterministic ids of keys added later
    roles: dict = dataclasses.field(default_factory=dict)  # name -> Role


def make_key(account_id: str, region: str, index: int, spec: dict) -> Key:
    """Build a Key from a seed record (snake_case fields), filling consistent defaults."""
    unknown = set(spec) - KEY_FIELDS
    if unknown:
        raise ValueError(f"unknown key field(s) in seed: {', '.join(sorted(unknown))}")
    fields = normalise_fields(spec)
    if fields.get("policy") is not None and not fields.get("dkms_instance_id"):
        raise ValueError("only keys in a KMS instance (dkms_instance_id) have a key policy")
    digest = uuid.uuid5(KEY_ID_NAMESPACE, f"{account_id}/{region}/{index}")
    if not fields.get("key_id"):
        if fields.get("dkms_instance_id"):
            # Keys in a dedicated KMS instance use the key-<region><hex> form, like the real service.
            fields["key_id"] = f"key-{region_abbr(region)}{digest.hex[:21]}"
        else:
            fields["key_id"] = str(digest)
    if "key_usage" not in fields and fields.get("key_spec") in ("EC_P256", "EC_P256K"):
        fields["key_usage"] = "SIGN/VERIFY"  # these specs cannot encrypt
    if not fields.get("creation_date"):
        fields["creation_date"] = (datetime.datetime(2023, 1, 1) + datetime.timedelta(hours=index)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    key = Key(account_id=account_id, region=region, **fields)
    if not key.creator:
        key.creator = account_id if key.creator_type == "User" else "Kms"
    if key.key_state == "PendingImport" and "origin" not in spec:
        key.origin = "EXTERNAL"
    if not key.primary_key_version and key.key_state != "PendingImport":
        key.primary_key_version = str(uuid.uuid5(KEY_ID_NAMESPACE, f"{key.key_id}/v1"))
    if key.automatic_rotation in ("Enabled", "Suspended"):
        key.rotation_interval = key.rotation_interval or "31536000s"
        key.last_rotation_date = key.last_rotation_date or key.creation_date
        key.next_rotation_date = key.next_rotation_date or _plus_year(key.last_rotation_date)
    elif not key.last_rotation_date and key.key_state != "PendingImport":
        key.last_rotation_date = key.creation_date  # the real API reports creation for never-rotated keys
    if key.key_state == "PendingDeletion" and not key.delete_date:
        key.delete_date = "2026-12-31T00:00:00Z"
    if key.deletion_protection == "Enabled" and not key.deletion_protection_description:
        key.deletion_protection_description = "protected by policy"
    return key


REGION_ABBRS = {
    "cn-hangzhou": "hzz",
    "cn-shanghai": "shh",
    "cn-beijing": "bjb",
    "cn-shenzhen": "szz",
    "cn-hongkong": "hkg",
    "ap-southeast-1": "sgp",
}


def region_abbr(region: str) -> str:
    """Three letters as in real instance and key ids (kst-hzz..., key-hzz...)."""
    if region in REGION_ABBRS:
        return REGION_ABBRS[region]
    parts = region.split("-")
    word = parts[1] if len(parts) > 1 else parts[0]
    return (word[:2] + "z").lower()


def _plus_year(date: str) -> str:
    try:
        return f"{int(date[:4]) + 1}{date[4:]}"
    except ValueError:
        return date


def parse_int(params: dict, name: str, default: int, low: int, high: int | None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise invalid_parameter(name, "not an integer") from None
    if value < low or (high is not None and value > high):
        raise invalid_parameter(name, "out of range")
    return value


def parse_filters(raw: str | None, ignored: dict | None = None, ignored_keys=()) -> dict:
    """Filters JSON -> {attribute: set of allowed values}; repeated keys union their values.

    ignored ({filter key: [values]}) emulates a region that does not support some values: ListKeysRequest says
    SM specs and HSM "are ignored" where unsupported. Those values are dropped from each pair, and a pair left
    with no value constrains nothing, like an empty Values list. ignored_keys ([filter key]) emulates a region that
    ignores whole filter keys (say TagKey, TagValue, AliasName): their pairs are validated, then constrain nothing.
    """
    if raw is None or not raw.strip():
        return {}
    try:
        pairs = json.loads(raw)
    except ValueError:
        raise invalid_parameter("Filters", "malformed JSON") from None
    if not isinstance(pairs, list):
        raise invalid_parameter("Filters", "must be a JSON list")
    if len(pairs) > MAX_FILTER_PAIRS:
        raise invalid_parameter("Filters", f"at most {MAX_FILTER_PAIRS} key-value pairs")
    allowed = {}
    for pair in pairs:
        if not isinstance(pair, dict) or set(pair) - {"Key", "Values"}:
            raise invalid_parameter("Filters", 'each pair must be {"Key": ..., "Values": [...]}')
        name, values = pair.get("Key"), pair.get("Values")
        if name not in FILTER_KEYS:
            raise invalid_parameter("Filters", "unknown Key")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise invalid_parameter("Filters", "Values must be a list of strings")
        if len(values) > MAX_FILTER_VALUES:
            raise invalid_parameter("Filters", f"at most {MAX_FILTER_VALUES} values per pair")
        values = [v for v in values if v not in (ignored or {}).get(name, ())]
        if values and name not in ignored_keys:  # an empty list constrains nothing
            allowed.setdefault(FILTER_KEYS[name], set()).update(values)
    return allowed


class Backend:
    """All accounts and their keys; thread-safe."""

    def __init__(self, regions=None):
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.access_keys: dict[str, AccessKey] = {}
        self.regions: list[str] = list(regions or DEFAULT_REGIONS)
        self.directory = None  # resourcemanager.Directory (immutable) when the seed has a resource_directory

    # --- state -----------------------------------------------------------------------------
    def add_account(self, account_id: str) -> Account:
        account_id = str(account_id)
        if len(account_id) != 16 or not account_id.isdigit():
            raise ValueError(f"account id must be 16 digits: {account_id!r}")
        with self.lock:
            return self.accounts.setdefault(account_id, Account(account_id))

    def add_access_key(
        self, account_id: str, key_id: str, secret: str, security_token: str = "", expires: float | None = None
    ) -> AccessKey:
        with self.lock:
            account = self.add_account(account_id)
            access_key = AccessKey(str(key_id), str(secret), account.account_id, str(security_token or ""), expires)
            self.access_keys[access_key.id] = access_key
            account.access_keys.append(access_key)
            return access_key

    def add_keys(self, account_id: str, region: str, specs) -> list[Key]:
        with self.lock:
            account = self.add_account(account_id)
            if region not in self.regions:
                self.regions.append(region)
            added = []
            keys = account.keys.setdefault(region, [])
            taken = {k.key_id for k in keys}  # one set, not a scan per key: seeding 100,000 keys stays linear
            names = {a for k in keys for a in k.aliases}  # an alias names one key of the account and region
            for spec in specs:
                key = make_key(account.account_id, region, account.created, spec)
                account.created += 1
                if key.key_id in taken:
                    raise ValueError(f"duplicate key id {key.key_id}")
                if names & set(key.aliases) or len(set(key.aliases)) < len(key.aliases):
                    raise ValueError(f"alias already in use in {region}: {', '.join(key.aliases)}")
                taken.add(key.key_id)
                names.update(key.aliases)
                keys.append(key)
                added.append(key)
            return added

    def add_role(self, account_id: str, name: str, trusted_accounts=None, max_session_duration: int = 3600) -> Role:
        """trusted_accounts defaults to the role's own account, as the RAM console proposes."""
        trusted = tuple(str(a) for a in (trusted_accounts if trusted_accounts is not None else [account_id]))
        if not 3600 <= int(max_session_duration) <= 43200:  # RAM CreateRole: MaxSessionDuration 3600..43200
            raise ValueError(f"max_session_duration of role {name} must be 3600..43200")
        with self.lock:
            role = Role(str(name), trusted, int(max_session_duration))
            self.add_account(account_id).roles[role.name] = role
            return role

    def update_key(self, account_id: str, region: str, key_id: str, **changes) -> Key:
        """Replace a key by a copy with changed attributes (snake_case), e.g. key_state='Disabled'."""
        unknown = set(changes) - KEY_FIELDS - {"key_id"}
        if unknown or "key_id" in changes:
            raise ValueError(f"cannot change key field(s): {', '.join(sorted(unknown | ({'key_id'} & set(changes))))}")
        changes = normalise_fields(changes)
        with self.lock:
            keys = self.accounts[account_id].keys.get(region, [])
            for index, key in enumerate(keys):
                if key.key_id == key_id:
                    changed = dataclasses.replace(key, **changes)
                    others = {a for k in keys if k.key_id != key_id for a in k.aliases}
                    if others & set(changed.aliases):
                        raise ValueError(f"alias already in use in {region}: {', '.join(changed.aliases)}")
                    if changed.policy is not None and not changed.dkms_instance_id:
                        raise ValueError("only keys in a KMS instance (dkms_instance_id) have a key policy")
                    keys[index] = changed
                    return changed
        raise KeyError(f"no key {key_id} in {account_id}/{region}")

    def remove_key(self, account_id: str, region: str, key_id: str) -> None:
        """Take a key away, as the service does once its pending window has passed (the key is then gone)."""
        with self.lock:
            keys = self.accounts[account_id].keys.get(region, [])
            left = [k for k in keys if k.key_id != key_id]
            if len(left) == len(keys):
                raise KeyError(f"no key {key_id} in {account_id}/{region}")
            keys[:] = left

    def snapshot(self) -> dict:
        """The whole state, cheap to take: keys are values, so lists are copied and keys shared."""
        with self.lock:
            return {
                "regions": list(self.regions),
                "directory": self.directory,
                "access_keys": dict(self.access_keys),
                "accounts": {
                    a.account_id: (
                        list(a.access_keys),
                        {r: list(k) for r, k in a.keys.items()},
                        a.created,
                        dict(a.roles),
                    )
                    for a in self.accounts.values()
                },
            }

    def restore(self, state: dict) -> None:
        with self.lock:
            self.regions[:] = state["regions"]
            self.directory = state["directory"]
            self.access_keys.clear()  # in place: the Authenticator holds self.access_keys.get
            self.access_keys.update(state["access_keys"])
            for account_id in list(self.accounts):
                if account_id not in state["accounts"]:
                    del self.accounts[account_id]
            for account_id, (access_keys, keys, created, roles) in state["accounts"].items():
                account = self.accounts.setdefault(account_id, Account(account_id))
                account.access_keys = list(access_keys)
                account.keys = {r: list(k) for r, k in keys.items()}
                account.created, account.roles = created, dict(roles)

    def delete_keys(self, account_id: str, region: str, count: int) -> list[Key]:
        """Remove the oldest keys: the ones a paginating client has most likely already seen."""
        with self.lock:
            keys = self.accounts[account_id].keys.get(region, [])
            removed, keys[:] = keys[:count], keys[count:]
            return removed

    def find_key(self, account_id: str, region: str, key_id_or_arn: str) -> Key | None:
        with self.lock:
            for key in self.accounts[account_id].keys.get(region, []):
                if key_id_or_arn in (key.key_id, key.arn) or key_id_or_arn in key.aliases:
                    return key
            return None

    @property
    def default_account(self) -> Account:
        return next(iter(self.accounts.values()))

    # --- API -------------------------------------------------------------------------------
    def list_keys(
        self, account_id: str, region: str, params: dict, ignored: dict | None = None, ignored_keys=()
    ) -> dict:
        page_number = parse_int(params, "PageNumber", 1, 1, None)
        page_size = parse_int(params, "PageSize", 10, 1, 100)
        allowed = parse_filters(params.get("Filters"), ignored, ignored_keys)
        start = (page_number - 1) * page_size
        with self.lock:
            keys = self.accounts[account_id].keys.get(region, [])
            if allowed:
                keys = [k for k in keys if all(k.filter_values(attr) & values for attr, values in allowed.items())]
            page, total = keys[start : start + page_size], len(keys)  # a slice is a copy: safe outside the lock
        return {
            "Keys": {"Key": [k.list_entry() for k in page]},
            "TotalCount": total,
            "PageNumber": page_number,
            "PageSize": page_size,
        }

    def describe_key(self, account_id: str, region: str, params: dict) -> dict:
        return {"KeyMetadata": self.required_key(account_id, region, params).metadata()}

    def required_key(self, account_id: str, region: str, params: dict) -> Key:
        """The key named by KeyId (id, ARN or alias): 400 MissingParameter without one, 404 Forbidden.KeyNotFound."""
        key_id = params.get("KeyId")
        if not key_id:
            raise missing_parameter("KeyId")
        key = self.find_key(account_id, region, key_id)
        if key is None:
            raise key_not_found()
        return key

    def list_aliases(self, account_id: str, region: str, params: dict) -> dict:
        """Every alias of the account in the region, in key creation order (ListAliasesResponseBody)."""
        with self.lock:
            keys = list(self.accounts[account_id].keys.get(region, []))
        return alias_page(keys, params, "ListAliases")

    def list_aliases_by_key_id(self, account_id: str, region: str, params: dict) -> dict:
        """The aliases of one key (ListAliasesByKeyIdResponseBody: the same shape as ListAliases)."""
        return alias_page([self.required_key(account_id, region, params)], params, "ListAliasesByKeyId")

    def list_resource_tags(self, account_id: str, region: str, params: dict) -> dict:
        """ListResourceTagsResponseBody: Tags.Tag[] of {KeyId, TagKey, TagValue}, unpaged."""
        key = self.required_key(account_id, region, params)
        return {"Tags": {"Tag": [{"KeyId": key.key_id, "TagKey": k, "TagValue": v} for k, v in key.tags.items()]}}

    def list_tag_resources(self, account_id: str, region: str, params: dict, page_size: int = TAG_PAGE_SIZE) -> dict:
        """ListTagResourcesResponseBody: TagResources.TagResource[] of {ResourceId, ResourceType, TagKey, TagValue}
        and NextToken ("" on the last page: "If NextToken is empty, no next page exists"), page_size rows a page.

        Resource ids that name no key are ignored (the reference documents no error for them); without ResourceId.N
        every key of the region is listed. Tag.N narrows the rows: a resource must carry every given tag (a Key
        without Value: any value) and only those tags are returned; the model says only "A list of tags that you want
        to query", so this reading is the emulator's. Rows run in key creation order, then tag order, and a key's
        tags may span two pages."""
        for name in ("RegionId", "ResourceType"):
            if not params.get(name):
                raise missing_parameter(name)
        if params["RegionId"] != region:
            raise invalid_parameter("RegionId", f"this endpoint serves {region}")
        resource_type = params["ResourceType"]
        if resource_type not in RESOURCE_TYPES:
            raise invalid_parameter("ResourceType", "key or secret")
        ids = indexed_values(params, "ResourceId")
        if len(ids) > MAX_TAG_RESOURCE_IDS:
            raise invalid_parameter("ResourceId", f"at most {MAX_TAG_RESOURCE_IDS} resource IDs")
        wanted = query_tags(params)
        with self.lock:  # the emulator has no secrets: ResourceType=secret lists nothing
            keys = list(self.accounts[account_id].keys.get(region, [])) if resource_type == "key" else []
        if ids:
            named = set(ids)
            keys = [k for k in keys if k.key_id in named]
        rows = []
        for key in keys:
            if all(tag in key.tags and value in (None, key.tags[tag]) for tag, value in wanted):
                rows += [
                    {"ResourceId": key.key_id, "ResourceType": "key", "TagKey": tag, "TagValue": value}
                    for tag, value in key.tags.items()
                    if not wanted or tag in dict(wanted)
                ]
        fingerprint = hashlib.sha256(
            json.dumps([account_id, region, resource_type, sorted(set(ids)), sorted(wanted, key=str)]).encode()
        ).hexdigest()[:24]
        start = read_token(params.get("NextToken"), fingerprint)
        end = start + page_size
        return {
            "TagResources": {"TagResource": rows[start:end]},
            "NextToken": f"{end:08x}{fingerprint}" if end < len(rows) else "",
        }

    def get_key_policy(self, account_id: str, region: str, params: dict) -> dict:
        """GetKeyPolicyResponseBody: Policy, the document as a JSON string (no PolicyName in the model).

        PolicyName other than default: "a Not Found error is returned" (the API reference's operation description
        names no code; 404 Forbidden.ResourceNotFound is the emulator's choice). A key outside a KMS instance has no
        key policy and the reference documents no code for it: 400 UnsupportedOperation is the emulator's choice."""
        key = self.required_key(account_id, region, params)
        if params.get("PolicyName", POLICY_NAME) not in (POLICY_NAME, ""):
            raise ApiError(404, "Forbidden.ResourceNotFound", "The specified resource is not found.")
        policy = key.policy_document()
        if policy is None:
            raise ApiError(
                400, "UnsupportedOperation", "This action is not supported: the key is not in a KMS instance."
            )
        return {"Policy": json.dumps(policy)}

    def describe_regions(self, account_id: str, region: str, params: dict) -> dict:  # pylint: disable=unused-argument
        with self.lock:
            return {"Regions": {"Region": [{"RegionId": r} for r in self.regions]}}

    def list_kms_instances(self, account_id: str, region: str, params: dict) -> dict:
        """The KMS instances of the account in the region: those its keys name (DKMSInstanceId), in ID order.

        ListKmsInstancesRequest (alibabacloud-kms20160120 3.3.1): PageNumber "default 1", PageSize "1 to 100. Default
        value: 20"; ListKmsInstancesResponseBody: KmsInstances.KmsInstance[]{KmsInstanceId, KmsInstanceArn},
        PageNumber, PageSize, TotalCount."""
        page_number = parse_int(params, "PageNumber", 1, 1, None)
        page_size = parse_int(params, "PageSize", 20, 1, 100)
        with self.lock:
            keys = self.accounts[account_id].keys.get(region, [])
            instances = sorted(set(k.dkms_instance_id for k in keys if k.dkms_instance_id))
        page = instances[(page_number - 1) * page_size : page_number * page_size]
        return {
            "KmsInstances": {
                "KmsInstance": [
                    {"KmsInstanceId": i, "KmsInstanceArn": f"acs:kms:{region}:{account_id}:kmsinstance/{i}"}
                    for i in page
                ]
            },
            "TotalCount": len(instances),
            "PageNumber": page_number,
            "PageSize": page_size,
        }

    ACTIONS = {
        "ListKeys": list_keys,
        "ListKmsInstances": list_kms_instances,
        "DescribeKey": describe_key,
        "DescribeRegions": describe_regions,
        "ListAliases": list_aliases,
        "ListAliasesByKeyId": list_aliases_by_key_id,
        "ListResourceTags": list_resource_tags,
        "ListTagResources": list_tag_resources,
        "GetKeyPolicy": get_key_policy,
    }

    def call(
        self,
        action: str,
        account_id: str,
        region: str,
        params: dict,
        ignored: dict | None = None,
        ignored_keys=(),
        tag_page_size: int = TAG_PAGE_SIZE,
    ) -> dict:
        """ignored, ignored_keys: the region's unsupported ListKeys filter values and keys (see parse_filters);
        tag_page_size: rows per ListTagResources page."""
        handler = self.ACTIONS.get(action)
        if handler is None:
            raise unknown_action()
        if action == "ListKeys":
            return handler(self, account_id, region, params, ignored, ignored_keys)
        if action == "ListTagResources":
            return handler(self, account_id, region, params, tag_page_size)
        return handler(self, account_id, region, params)


def alias_page(keys: list, params: dict, action: str) -> dict:
    """One page of the aliases of keys: PageNumber from 1 (default 1), PageSize per the action's model (default 10)."""
    low, high = ALIAS_PAGE_SIZES[action]
    page_number = parse_int(params, "PageNumber", 1, 1, None)
    page_size = parse_int(params, "PageSize", 10, low, high)
    entries = [entry for key in keys for entry in key.alias_entries()]
    start = (page_number - 1) * page_size
    return {
        "Aliases": {"Alias": entries[start : start + page_size]},
        "TotalCount": len(entries),
        "PageNumber": page_number,
        "PageSize": page_size,
    }


def indexed_values(params: dict, name: str) -> list:
    """The values of Name.1, Name.2, ... (the SDK's flattening of a list parameter), in N order."""
    found = {}
    for param, value in params.items():
        match = re.fullmatch(rf"{re.escape(name)}\.(\d+)", param)
        if match:
            if int(match[1]) < 1:
                raise invalid_parameter(param)
            found[int(match[1])] = value
    return [found[n] for n in sorted(found)]


def query_tags(params: dict) -> list:
    """ListTagResources' Tag.N.Key / Tag.N.Value as [(key, value or None)]; N from 1 to 20, keys not reserved."""
    tags = {}
    for param, value in params.items():
        match = re.fullmatch(r"Tag\.(\d+)\.(Key|Value)", param)
        if match:
            if not 1 <= int(match[1]) <= MAX_QUERY_TAGS:
                raise invalid_parameter("Tag.N", f"N from 1 to {MAX_QUERY_TAGS}")
            tags.setdefault(int(match[1]), {})[match[2]] = value
    wanted = []
    for number in sorted(tags):
        key = tags[number].get("Key")
        if not key:
            raise missing_parameter(f"Tag.{number}.Key")
        if key.lower().startswith(RESERVED_TAG_PREFIXES):
            raise invalid_parameter(f"Tag.{number}.Key", "cannot start with aliyun or acs:")
        wanted.append((key, tags[number].get("Value")))
    return wanted


def read_token(token: str | None, fingerprint: str) -> int:
    """The row a NextToken continues from: tokens are <offset, 8 hex><fingerprint of the query, 24 hex>, so one
    issued for another query (other ids, tags, region or account) is rejected with 400 InvalidParameter."""
    if not token:
        return 0
    if len(token) != 32 or token[8:] != fingerprint or not re.fullmatch(r"[0-9a-f]{8}", token[:8]):
        raise invalid_parameter("NextToken")
    return int(token[:8], 16)
