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
import time
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

# --- the write actions' limits ----------------------------------------------------------------------------------
# Sources, cited again where used: the request models of alibabacloud-kms20160120 3.3.1 ("model"); Alibaba's OpenAPI
# metadata of Kms 2016-01-20 (github.com/dew-serverless/acs-sdk-php, data/kms/2016-01-20/api-docs.json: the error codes
# of each action, "metadata"); "Impact of CMK states on API call" (github.com/AlibabaCloudDocs/kms, intl.en-US/API
# Reference/Impact of CMK states on API call.md, doc 44211: "the state table"); the common error codes (same repository,
# intl.en-US/API Reference/Calling method/Responses.md).
SYMMETRIC_SPECS = ("Aliyun_AES_256", "Aliyun_SM4")
SIGN_ONLY_SPECS = ("EC_P256", "EC_P256K")  # cannot encrypt; RSA_2048 and EC_SM2 take either usage
SM_SPECS = ("Aliyun_SM4", "EC_SM2")
ORIGINS = ("Aliyun_KMS", "EXTERNAL")  # CreateKeyRequest.origin, "The value is case-sensitive"
# Regions that host SCA-certified HSMs: the only ones where SM specs exist (ListKeysRequest.filters: EC_SM2 and
# Aliyun_SM4 keys can be created only in such regions; which regions those are is the emulator's choice).
SM_REGIONS = frozenset({"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen"})
KEY_STORAGE_MECHANISMS = ("HsmInternal", "HsmEncryptedDatabase")  # CreateKeyRequest.key_storage_mechanism
MAX_DESCRIPTION = 8192  # CreateKeyRequest.description: "0 to 8,192 characters"
MAX_POLICY_BYTES = 32768  # SetKeyPolicyRequest.policy / CreateKeyRequest.policy: "up to 32,768 bytes"
DAY = 86400
# RotationInterval, integer[unit] with unit d, h, m or s (UpdateRotationPolicyRequest.rotation_interval). The sources
# disagree on the range: the 3.3.1 model of UpdateRotationPolicy says 7 to 730 days, the metadata of UpdateRotationPolicy
# and the 3.3.1 model of CreateKey say "default key: only 365 days; software key: 7 to 365 days". The emulator takes
# the strictest reading: a default key (no DKMSInstanceId) 365 days exactly, a key in a software instance 7 to 365.
ROTATION_INTERVAL_RE = re.compile(r"([1-9][0-9]{0,9})([dhms])")
ROTATION_UNITS = {"d": DAY, "h": 3600, "m": 60, "s": 1}
DEFAULT_KEY_ROTATION = (365 * DAY, 365 * DAY)
INSTANCE_KEY_ROTATION = (7 * DAY, 365 * DAY)
PENDING_WINDOW_DAYS = (
    7,
    366,
)  # ScheduleKeyDeletionRequest.pending_window_in_days "Valid values: 7 to 366" (older docs: 7-30)
# Aliases: "alias/" then 1 to 255 characters (CreateAliasRequest.alias_name says the whole alias is 1 to 255, the older
# API reference says the part after the prefix: the emulator takes the whole), "letters, digits, underscores (_),
# hyphens (-), and forward slashes (/)" (Manage a key alias, alibabacloud.com/help/en/kms/key-management-service/
# user-guide/manage-a-key-alias; no colon: that is AWS's set), never alias/acs... ("reserved word", model).
ALIAS_RE = re.compile(r"alias/[A-Za-z0-9_/-]+")
MAX_ALIAS_LENGTH = 255
RESERVED_ALIAS_PREFIX = "alias/acs"
# Tags (TagResourcesRequestTag, CreateKeyRequest.tags): keys 1 to 128 characters, values up to 128, of "letters,
# digits, forward slashes (/), backslashes (\), underscores (_), hyphens (-), periods (.), plus signs (+), equal signs (=),
# colons (:), and at signs (@)"; at most 20 a request; a resource holds at most 20 ("Maximum number of tags that can be
# added to a single resource: 20", Resource Management limits, alibabacloud.com/help/en/resource-management/latest/limits).
TAG_TEXT_RE = re.compile(r"[A-Za-z0-9/\\_.+=:@-]*")
MAX_TAG_LENGTH = 128
MAX_WRITE_TAGS = 20
MAX_KEY_TAGS = 20
# Key policy statements (SetKeyPolicyRequest.policy): Sid up to 128 of letters, digits and _ / + = . @ - (and spaces:
# the service's own default policy is "Sid": "kms default key policy"), Effect Allow or Deny, Action kms:..., Resource *.
POLICY_SID_RE = re.compile(r"[A-Za-z0-9 _/+=.@-]{1,128}")
POLICY_STATEMENT_FIELDS = frozenset({"Sid", "Effect", "Principal", "Action", "Resource", "Condition"})
# The metadata fields CreateKeyResponseBodyKeyMetadata has: DescribeKey's without DeletionProtection(Description).
CREATE_KEY_FIELDS = frozenset(
    {
        "Arn",
        "AutomaticRotation",
        "CreationDate",
        "Creator",
        "DKMSInstanceId",
        "DeleteDate",
        "Description",
        "KeyId",
        "KeySpec",
        "KeyState",
        "KeyUsage",
        "LastRotationDate",
        "MaterialExpireTime",
        "NextRotationDate",
        "Origin",
        "PrimaryKeyVersion",
        "ProtectionLevel",
        "RotationInterval",
    }
)
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # the form CreationDate, DeleteDate, ... take (UTC)

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


def alias_not_found() -> ApiError:
    """Common error codes (Responses.md): 404 Forbidden.AliasNotFound."""
    return ApiError(404, "Forbidden.AliasNotFound", "The specified Alias is not found.")


def state_modified_failed(why: str) -> ApiError:
    """The state table's answer to a write the key's state does not allow: 409 Rejected.StateModifiedFailed."""
    return ApiError(409, "Rejected.StateModifiedFailed", f"Keystate modified failed ({why}).")


def pending_deletion() -> ApiError:
    """409 Rejected.PendingDeletion: the state table's answer for UpdateAlias to a key pending deletion, and the
    emulator's for every other write the sources say nothing of on such a key (refusing is the conservative choice)."""
    return ApiError(
        409, "Rejected.PendingDeletion", "The request was rejected because the key state is PendingDeletion."
    )


def unsupported(why: str) -> ApiError:
    """400 Rejected.UnsupportedOperation (UpdateRotationPolicy's documented code for a key it cannot configure)."""
    return ApiError(400, "Rejected.UnsupportedOperation", f"Unsupported operation: {why}.")


def read_only_key() -> ApiError:
    """Service keys "are read-only and managed by associated Alibaba Cloud services" (Key management FAQs,
    alibabacloud.com/help/en/kms/key-management-service/user-guide/key-management-faq); no code is documented for a
    write to one: 400 Rejected.UnsupportedOperation is the emulator's choice."""
    return unsupported("a service key is managed by its Alibaba Cloud service")


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

    def create_metadata(self) -> dict:
        """CreateKey's KeyMetadata: DescribeKey's fields that CreateKeyResponseBodyKeyMetadata (alibabacloud-kms20160120
        3.3.1) has, which leaves out DeletionProtection and DeletionProtectionDescription."""
        return {name: value for name, value in self.metadata().items() if name in CREATE_KEY_FIELDS}


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
    secrets: dict = dataclasses.field(default_factory=dict)  # region -> [Secret] in creation order
    instances: dict = dataclasses.field(default_factory=dict)  # region -> {KMS instance id: seeded facts (dict)}


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


def parse_bool(params: dict, name: str, required: bool = False, default: bool = False) -> bool:
    """A Boolean parameter: true or false in any case (the SDK's Utils.query sends Python's True/False)."""
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise missing_parameter(name)
        return default
    value = str(raw).strip().lower()
    if value not in ("true", "false"):
        raise invalid_parameter(name, "true or false")
    return value == "true"


def required_text(params: dict, name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise missing_parameter(name)
    return value


def parse_interval(raw: str, name: str = "RotationInterval") -> int:
    """integer[unit], unit d, h, m or s (7d and 604800s are the same), as seconds; a bare number is not that form."""
    match = ROTATION_INTERVAL_RE.fullmatch(str(raw).strip())
    if not match:
        raise invalid_parameter(name, "integer[unit] with unit d, h, m or s, e.g. 30d or 604800s")
    return int(match[1]) * ROTATION_UNITS[match[2]]


def check_interval(seconds: int, instance_id: str) -> str:
    """RotationInterval as DescribeKey returns it ("<seconds>s"), within the range of the key's kind (see
    DEFAULT_KEY_ROTATION: a default key 365 days, a key in a software instance 7 to 365 days)."""
    low, high = INSTANCE_KEY_ROTATION if instance_id else DEFAULT_KEY_ROTATION
    if not low <= seconds <= high:
        kind = "7 to 365 days in a KMS instance" if instance_id else "365 days for a default key"
        raise invalid_parameter("RotationInterval", kind)
    return f"{seconds}s"


def rotation_refusal(key_spec: str, origin: str, creator_type: str, instance_id: str, protection_level: str):
    """Why automatic rotation cannot be configured for such a key, or None. UpdateRotationPolicy's API reference (2025,
    alibabacloud.com/help/en/kms/key-management-service/developer-reference/api-kms-2016-01-20-updaterotationpolicy):
    not for asymmetric keys, service-managed keys, imported material (BYOK); the metadata: only default keys and
    symmetric keys of software instances rotate; CreateKeyRequest.rotation_interval: "hardware-protected key,
    automatic rotation is not supported"."""
    if key_spec not in SYMMETRIC_SPECS:
        return "asymmetric keys do not rotate"
    if creator_type == "Service":
        return "a service key is managed by its Alibaba Cloud service"
    if origin != "Aliyun_KMS":
        return "keys with imported key material do not rotate"
    if instance_id and protection_level == "HSM":
        return "keys of a hardware key management instance do not rotate"
    return None


def utc_stamp(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc).strftime(DATE_FORMAT)


def stamp_seconds(stamp: str) -> float | None:
    try:
        return datetime.datetime.strptime(stamp, DATE_FORMAT).replace(tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


def check_alias_name(name: str, strict: bool) -> str:
    """An AliasName: alias/ and at most 255 characters in all (every action's model); strict (CreateAlias) also the
    documented characters and not the reserved alias/acs prefix. 400 InvalidParameter (CreateAlias's metadata)."""
    if not name.startswith("alias/") or len(name) <= len("alias/") or len(name) > MAX_ALIAS_LENGTH:
        raise invalid_parameter("AliasName", "alias/<name>, at most 255 characters")
    if strict and not ALIAS_RE.fullmatch(name):
        raise invalid_parameter("AliasName", "letters, digits, _, - and / after alias/")
    if strict and name.startswith(RESERVED_ALIAS_PREFIX):
        raise invalid_parameter("AliasName", "alias/acs is reserved")
    return name


def check_tags(pairs: list, where: str) -> dict:
    """[(key, value)] to write -> {key: value}: at most 20, keys 1 to 128 and values 0 to 128 of the documented
    characters, no key starting with aliyun or acs:, none twice. Codes from TagResources' metadata: 400
    InvalidParameter.TagKey, InvalidParameter.TagValue, Duplicate.TagKey."""
    if len(pairs) > MAX_WRITE_TAGS:
        raise invalid_parameter(where, f"at most {MAX_WRITE_TAGS} tags")
    tags = {}
    for key, value in pairs:
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_LENGTH or not TAG_TEXT_RE.fullmatch(key):
            raise ApiError(400, "InvalidParameter.TagKey", f"The specified tag key {key!r} is not valid.")
        if key.lower().startswith(RESERVED_TAG_PREFIXES):
            raise ApiError(400, "InvalidParameter.TagKey", "A tag key cannot start with aliyun or acs:.")
        if not isinstance(value, str) or len(value) > MAX_TAG_LENGTH or not TAG_TEXT_RE.fullmatch(value):
            raise ApiError(400, "InvalidParameter.TagValue", f"The specified tag value of {key!r} is not valid.")
        if key in tags:
            raise ApiError(400, "Duplicate.TagKey", f"The specified tagKey {key!r} is duplicate.")
        tags[key] = value
    return tags


def write_tags(params: dict) -> dict:
    """TagResources' Tag.N.Key / Tag.N.Value (N from 1 to 20; Tag is required). A Value must be given (it may be
    empty): the model says only "up to 128 characters", so omitting it is refused, the conservative reading."""
    numbered = {}
    for param, value in params.items():
        match = re.fullmatch(r"Tag\.(\d+)\.(Key|Value)", param)
        if match:
            if not 1 <= int(match[1]) <= MAX_WRITE_TAGS:
                raise invalid_parameter("Tag.N", f"N from 1 to {MAX_WRITE_TAGS}")
            numbered.setdefault(int(match[1]), {})[match[2]] = value
    if not numbered:
        raise missing_parameter("Tag")
    pairs = []
    for number in sorted(numbered):
        if not numbered[number].get("Key"):
            raise missing_parameter(f"Tag.{number}.Key")
        if "Value" not in numbered[number]:
            raise missing_parameter(f"Tag.{number}.Value")
        pairs.append((numbered[number]["Key"], numbered[number]["Value"]))
    return check_tags(pairs, "Tag")


def create_key_tags(raw: str | None) -> dict:
    """CreateKey's Tags: a JSON list of {"TagKey": ..., "TagValue": ...} (CreateKeyRequest.tags), same limits."""
    if raw is None or raw == "":
        return {}
    try:
        items = json.loads(raw)
    except ValueError:
        raise invalid_parameter("Tags", "malformed JSON") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) and set(i) <= {"TagKey", "TagValue"} for i in items):
        raise invalid_parameter("Tags", '[{"TagKey": ..., "TagValue": ...}, ...]')
    return check_tags([(i.get("TagKey"), i.get("TagValue", "")) for i in items], "Tags")


def parse_policy(raw: str | None) -> dict:
    """A key policy document (SetKeyPolicyRequest.policy, alibabacloud-kms20160120 3.3.1): JSON of at most 32,768
    bytes, Version "1", one or more statements with Effect Allow or Deny, a Principal, Actions starting with kms:,
    Resource * and optional Sid and Condition. Anything else: 400 InvalidParameter (documented for SetKeyPolicy)."""
    if raw is None or raw == "":
        raise missing_parameter("Policy")
    if len(raw.encode("utf-8")) > MAX_POLICY_BYTES:
        raise invalid_parameter("Policy", f"at most {MAX_POLICY_BYTES} bytes")
    try:
        document = json.loads(raw)
    except ValueError:
        raise invalid_parameter("Policy", "malformed JSON") from None
    if not isinstance(document, dict) or set(document) != {"Version", "Statement"} or document["Version"] != "1":
        raise invalid_parameter("Policy", 'a document of Version "1" and Statement')
    statements = document["Statement"]
    if not isinstance(statements, list) or not statements:
        raise invalid_parameter("Policy", "one or more statements")
    for statement in statements:
        if not isinstance(statement, dict) or set(statement) - POLICY_STATEMENT_FIELDS:
            raise invalid_parameter("Policy", f"statement fields are {', '.join(sorted(POLICY_STATEMENT_FIELDS))}")
        sid = statement.get("Sid")
        if sid is not None and not (isinstance(sid, str) and POLICY_SID_RE.fullmatch(sid)):
            raise invalid_parameter("Policy", "Sid")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise invalid_parameter("Policy", "Effect must be Allow or Deny")
        principal = statement.get("Principal")
        if not isinstance(principal, dict) or not principal or not all(as_strings(v) for v in principal.values()):
            raise invalid_parameter("Policy", "Principal")
        actions = as_strings(statement.get("Action"))
        if not actions or not all(a.startswith("kms:") for a in actions):
            raise invalid_parameter("Policy", "every Action starts with kms:")
        if as_strings(statement.get("Resource")) != ["*"]:
            raise invalid_parameter("Policy", "Resource can only be *")
        if "Condition" in statement and not isinstance(statement["Condition"], dict):
            raise invalid_parameter("Policy", "Condition")
    return document


def as_strings(value) -> list:
    """A policy element given as one string or a list of strings, as a list; [] when it is neither."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    return []


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


# --- secrets and KMS instances (read actions) -----------------------------------------------------------------------
# Sources: the models of alibabacloud-kms20160120 3.3.1 (ListSecretsRequest/ResponseBody, DescribeSecretRequest/
# ResponseBody, GetSecretValueRequest/ResponseBody, GetKmsInstanceRequest/ResponseBody: "the model"); the API reference
# of GetSecretValue (alibabacloud.com/help/en/doc-detail/154502.htm) and of GetKmsInstance (alibabacloud.com/help/en/
# kms/key-management-service/developer-reference/api-kms-2016-01-20-getkmsinstance). Neither reference page, as found,
# lists the secrets' error codes; 404 Forbidden.ResourceNotFound for a secret that does not exist is the code clients of
# the real service test for (terraform-provider-alicloud's DescribeSecret and DeleteSecret handling, Alibaba's
# EventBridge KMS client matching "code: 404, Resource not found") and 403 Forbidden.NoPermission is the emulator's RAM
# denial (server.py, as for the denied regions).
# ListSecretsRequest.filters: "Valid values for Key" (model), values of one key ORed, keys ANDed, at most 10 pairs and 10
# values a pair (as ListKeys). The model does not say whether SecretName/Description match exactly: the emulator
# matches exactly (the conservative reading). SecretType values are documented as "Generic, RDS, Redis, RAMCredentials,
# ECS, or PolarDB" while DescribeSecret answers "Rds": SecretType compares case-insensitively.
SECRET_FILTER_KEYS = {
    "SecretName": "secret_name",
    "Description": "description",
    "TagKey": "tag_keys",
    "TagValue": "tag_values",
    "DKMSInstanceId": "dkms_instance_id",
    "SecretType": "secret_type_folded",
    "Creator": "creator",
}
# GetSecretValueResponseBody.secret_type / DescribeSecretResponseBody.secret_type
SECRET_TYPES = ("Generic", "Rds", "Redis", "RAMCredentials", "ECS", "PolarDB")
SECRET_DATA_TYPES = ("text", "binary")  # GetSecretValueResponseBody.secret_data_type
CURRENT_STAGE, PREVIOUS_STAGE = "ACSCurrent", "ACSPrevious"
# GetSecretValueRequest: for these types "only the secret values corresponding to ACSPrevious and ACSCurrent can be
# retrieved" and "Specifying VersionId is not supported ... If you set this parameter, it is ignored".
MANAGED_SECRET_TYPES = frozenset(SECRET_TYPES) - {"Generic"}
SECRET_PAGE_SIZES = (1, 100)  # ListSecretsRequest.page_size: "between 1 and 100. Default: 10"
# GetKmsInstance defaults for an instance the seed gives no facts for (the API reference's example: Spec 1000, KeyNum
# 1000, SecretNum "10"; Status Connected). KeyNum and SecretNum are quotas ("The maximum number of keys that can be
# created", model), not counts: the seeded value, else these defaults, never below what the instance holds.
INSTANCE_DEFAULTS = {"spec": 1000, "key_num": 1000, "secret_num": 100, "vpc_num": 1, "status": "Connected"}
INSTANCE_STATUSES = ("Uninitialized", "Connecting", "Connected", "Disconnected", "Error")  # the model's Status values
INSTANCE_FIELDS = frozenset(
    {
        "instance_name",
        "status",
        "spec",
        "key_num",
        "secret_num",
        "vpc_num",
        "vpc_id",
        "vswitch_ids",
        "zone_ids",
        "start_date",
        "end_date",
        "create_time",
        "charge_type",
        "product_type",
        "product_version",
        "log",
        "log_storage",
        "deletion_protection",
        "deletion_protection_description",
    }
)


@dataclasses.dataclass
class Secret:
    """One secret with the DescribeSecret fields (snake_case) and its versions; a value, like Key.

    versions: ({version_id, version_stages (tuple), secret_data, secret_data_type, create_time}, ...), oldest first.
    deny_value: GetSecretValue answers 403 Forbidden.NoPermission (a caller whose RAM policy denies the value)."""

    secret_name: str
    account_id: str
    region: str
    secret_type: str = "Generic"
    description: str = ""
    create_time: str = "2023-01-01T00:00:00Z"
    update_time: str = ""
    encryption_key_id: str = ""
    dkms_instance_id: str = ""
    creator: str = ""
    owing_service: str = ""
    extended_config: str = ""
    automatic_rotation: str = "Disabled"
    rotation_interval: str = ""
    last_rotation_date: str = ""
    next_rotation_date: str = ""
    planned_delete_time: str = ""
    tags: dict = dataclasses.field(default_factory=dict)
    versions: tuple = ()
    deny_value: bool = False

    @property
    def arn(self) -> str:
        return f"acs:kms:{self.region}:{self.account_id}:secret/{self.secret_name}"

    @property
    def tag_keys(self) -> tuple:
        return tuple(self.tags)

    @property
    def tag_values(self) -> tuple:
        return tuple(self.tags.values())

    @property
    def secret_type_folded(self) -> str:
        return self.secret_type.lower()

    def filter_values(self, attr: str) -> set:
        value = getattr(self, attr)
        return set(value) if isinstance(value, tuple) else {value}

    def tag_list(self) -> dict:
        return {"Tag": [{"TagKey": k, "TagValue": v} for k, v in self.tags.items()]}

    def rotation_fields(self) -> dict:
        """AutomaticRotation always (the models say "returned only for" managed secrets; the emulator answers it for
        every secret so that a client must not infer rotation from its absence), RotationInterval and
        NextRotationDate while rotation is Enabled, LastRotationDate once rotated (the models' notes)."""
        fields = {"AutomaticRotation": self.automatic_rotation}
        if self.automatic_rotation == "Enabled":
            fields.update(RotationInterval=self.rotation_interval, NextRotationDate=self.next_rotation_date)
        if self.last_rotation_date:
            fields["LastRotationDate"] = self.last_rotation_date
        return fields


SECRET_FIELDS = frozenset(f.name for f in dataclasses.fields(Secret)) - {"account_id", "region"}
VERSION_FIELDS = frozenset({"version_id", "version_stages", "secret_data", "secret_data_type", "create_time"})


def make_secret(account_id: str, region: str, spec: dict) -> Secret:
    """A Secret from a seed record (snake_case; versions as dicts with version_stages lists), with consistent
    defaults: creator the account, update_time the creation, one version v1 staged ACSCurrent when none is given,
    rotation interval 604800s and next rotation a year after the last when rotation is Enabled."""
    unknown = set(spec) - SECRET_FIELDS
    if unknown:
        raise ValueError(f"unknown secret field(s) in seed: {', '.join(sorted(unknown))}")
    fields = dict(spec)
    if not fields.get("secret_name"):
        raise ValueError("a seeded secret needs a secret_name")
    if fields.get("secret_type", "Generic") not in SECRET_TYPES:
        raise ValueError(f"secret_type must be one of {', '.join(SECRET_TYPES)}")
    if fields.get("automatic_rotation", "Disabled") not in ("Enabled", "Disabled", "Invalid"):
        raise ValueError("automatic_rotation must be Enabled, Disabled or Invalid")
    fields["tags"] = {str(k): str(v) for k, v in (fields.get("tags") or {}).items()}
    versions = []
    for raw in fields.get("versions") or [{"version_id": "v1", "version_stages": [CURRENT_STAGE]}]:
        if set(raw) - VERSION_FIELDS:
            raise ValueError(f"unknown secret version field(s): {', '.join(sorted(set(raw) - VERSION_FIELDS))}")
        data = raw.get("secret_data", "")
        version = {
            "version_id": str(raw.get("version_id") or f"v{len(versions) + 1}"),
            "version_stages": tuple(raw.get("version_stages") or ()),
            "secret_data": data if isinstance(data, str) else json.dumps(data),  # a mapping: its JSON text
            "secret_data_type": raw.get("secret_data_type", "text"),
            "create_time": raw.get("create_time") or fields.get("create_time") or "2023-01-01T00:00:00Z",
        }
        if version["secret_data_type"] not in SECRET_DATA_TYPES:
            raise ValueError("secret_data_type must be text or binary")
        versions.append(version)
    ids = [v["version_id"] for v in versions]
    stages = [s for v in versions for s in v["version_stages"]]
    if len(set(ids)) < len(ids) or len(set(stages)) < len(stages) or CURRENT_STAGE not in stages:
        raise ValueError(f"secret {fields['secret_name']}: version ids and stages are unique, one is ACSCurrent")
    fields["versions"] = tuple(versions)
    secret = Secret(account_id=account_id, region=region, **fields)
    secret.creator = secret.creator or account_id
    secret.update_time = secret.update_time or secret.create_time
    if secret.automatic_rotation == "Enabled":
        secret.rotation_interval = secret.rotation_interval or "604800s"
        secret.next_rotation_date = secret.next_rotation_date or _plus_year(
            secret.last_rotation_date or secret.create_time
        )
    return secret


def parse_secret_filters(raw: str | None) -> dict:
    """ListSecrets' Filters JSON -> {Secret attribute: set of allowed values}, validated as ListKeys' (parse_filters)
    with the keys SECRET_FILTER_KEYS; SecretType values are compared case-folded."""
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
        if name not in SECRET_FILTER_KEYS:
            raise invalid_parameter("Filters", "unknown Key")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise invalid_parameter("Filters", "Values must be a list of strings")
        if len(values) > MAX_FILTER_VALUES:
            raise invalid_parameter("Filters", f"at most {MAX_FILTER_VALUES} values per pair")
        if name == "SecretType":
            values = [v.lower() for v in values]
        if values:
            allowed.setdefault(SECRET_FILTER_KEYS[name], set()).update(values)
    return allowed


def secret_not_found() -> ApiError:
    return ApiError(404, "Forbidden.ResourceNotFound", "Resource not found.")


def instance_id_facts(region: str, instance_id: str, facts: dict, keys: list, secrets: list) -> dict:
    """GetKmsInstanceResponseBodyKmsInstance of an instance: seeded facts over defaults. Defaults: name the id, VPC and
    vSwitch ids derived from the id, two zones (<region>-a, <region>-b), started at its oldest key or secret and
    ending three years later, PREPAY on the China site product (kms_ddi_public_cn) for cn-* regions, else the
    international one; logging off."""
    held = [k.creation_date for k in keys] + [s.create_time for s in secrets]
    start = facts.get("start_date") or (min(held) if held else "2023-01-01T00:00:00Z")
    suffix = instance_id.rsplit("-", 1)[-1][-12:]
    answer = {
        "InstanceId": instance_id,
        "InstanceName": facts.get("instance_name") or instance_id,
        "Status": facts.get("status") or INSTANCE_DEFAULTS["status"],
        "Spec": int(facts.get("spec", INSTANCE_DEFAULTS["spec"])),
        "KeyNum": max(int(facts.get("key_num", INSTANCE_DEFAULTS["key_num"])), len(keys)),
        "SecretNum": str(max(int(facts.get("secret_num", INSTANCE_DEFAULTS["secret_num"])), len(secrets))),
        "VpcNum": int(facts.get("vpc_num", INSTANCE_DEFAULTS["vpc_num"])),
        "VpcId": facts.get("vpc_id") or f"vpc-{region_abbr(region)}{suffix}",
        "VswitchIds": list(facts.get("vswitch_ids") or [f"vsw-{region_abbr(region)}{suffix}"]),
        "ZoneIds": list(facts.get("zone_ids") or [f"{region}-a", f"{region}-b"]),
        "CreateTime": facts.get("create_time") or start,
        "StartDate": start,
        "EndDate": facts.get("end_date") or _plus_years(start, 3),
        "ChargeType": facts.get("charge_type") or "PREPAY",
        "ProductType": facts.get("product_type")
        or ("kms_ddi_public_cn" if region.startswith("cn-") else "kms_ddi_public_intl"),
        "ProductVersion": str(facts.get("product_version") or "3"),
        "Log": int(facts.get("log", 0)),
        "LogStorage": int(facts.get("log_storage", 0)),
    }
    if "deletion_protection" in facts:
        answer["DeletionProtection"] = bool(facts["deletion_protection"])
        answer["DeletionProtectionDescription"] = facts.get("deletion_protection_description", "")
    return answer


def _plus_years(date: str, years: int) -> str:
    try:
        return f"{int(date[:4]) + years}{date[4:]}"
    except ValueError:
        return date


class Backend:
    """All accounts and their keys; thread-safe."""

    def __init__(self, regions=None):
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self.access_keys: dict[str, AccessKey] = {}
        self.regions: list[str] = list(regions or DEFAULT_REGIONS)
        self.directory = None  # resourcemanager.Directory (immutable) when the seed has a resource_directory
        self.clock = (
            time.time
        )  # "now" of the write actions (creation, deletion and rotation dates); tests may replace it

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
                "secrets": {
                    a.account_id: (
                        {r: list(v) for r, v in a.secrets.items()},
                        {r: dict(v) for r, v in a.instances.items()},
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
            for account_id, (secrets, instances) in state.get("secrets", {}).items():
                account = self.accounts[account_id]
                account.secrets = {r: list(v) for r, v in secrets.items()}
                account.instances = {r: dict(v) for r, v in instances.items()}

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
        """The KMS instances of the account in the region: those its keys or secrets name (DKMSInstanceId) and those
        the seed gives facts for (as GetKmsInstance), in ID order.

        ListKmsInstancesRequest (alibabacloud-kms20160120 3.3.1): PageNumber "default 1", PageSize "1 to 100. Default
        value: 20"; ListKmsInstancesResponseBody: KmsInstances.KmsInstance[]{KmsInstanceId, KmsInstanceArn},
        PageNumber, PageSize, TotalCount."""
        page_number = parse_int(params, "PageNumber", 1, 1, None)
        page_size = parse_int(params, "PageSize", 20, 1, 100)
        with self.lock:
            account = self.accounts[account_id]
            named = [k.dkms_instance_id for k in account.keys.get(region, [])]
            named += [s.dkms_instance_id for s in account.secrets.get(region, [])]
            instances = sorted(set(i for i in named if i) | set(account.instances.get(region, {})))
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

    # --- write actions -------------------------------------------------------------------------
    # Each takes the lock for its whole check-then-change, validates everything before it changes anything (a refused
    # request changes nothing), and replaces keys through update_key (keys are values). Their replies are
    # {"RequestId"} only (each *ResponseBody of alibabacloud-kms20160120 3.3.1), but CreateKey's.

    def write_key(self, account_id: str, region: str, params: dict, arn: bool = False) -> Key:
        """The key a write names by KeyId: its ID ("The ID of the CMK", every write's model), or also its ARN where the
        model says so (SetKeyPolicy). An alias or unknown ID: 404 Forbidden.KeyNotFound. Call with the lock held."""
        key_id = required_text(params, "KeyId")
        for key in self.accounts[account_id].keys.get(region, []):
            if key_id == key.key_id or (arn and key_id == key.arn):
                return key
        raise key_not_found()

    def writable_key(self, account_id: str, region: str, params: dict, arn: bool = False) -> Key:
        """write_key, refusing service keys (read_only_key) and keys pending deletion (pending_deletion)."""
        key = self.write_key(account_id, region, params, arn)
        if key.creator_type == "Service":
            raise read_only_key()
        if key.key_state == "PendingDeletion":
            raise pending_deletion()
        return key

    def now(self) -> float:
        return self.clock()

    def create_key(self, account_id: str, region: str, params: dict) -> dict:
        """CreateKeyRequest / CreateKeyResponseBody (alibabacloud-kms20160120 3.3.1), codes from CreateKey's metadata.

        Defaults (model): KeySpec Aliyun_AES_256; KeyUsage SIGN/VERIFY for a spec that signs, else ENCRYPT/DECRYPT;
        Origin Aliyun_KMS; EnableAutomaticRotation false; ProtectionLevel "set by KMS": SOFTWARE here (the emulator has
        no managed HSMs), and ignored for a key in an instance, which takes its instance's (SOFTWARE or HSM: the level
        of the instance's first key). A new key is Enabled, or PendingImport with Origin EXTERNAL, created now by the
        account (CreatorType User), with an ID of the seeded keys' form (make_key).

        Refused: values outside the model's (400 InvalidParameter); an SM spec outside SM_REGIONS (400 InvalidParameter,
        code not documented); a DKMSInstanceId no key of the region names (403 Forbidden.DKMSInstanceNotFound); a second
        default key of the account in the region, "You can create only one default key of the CMK type in each region"
        (Manage a key, alibabacloud.com/help/en/kms/key-management-service/user-guide/manage-keys-2): 400
        Rejected.LimitExceeded; Origin EXTERNAL in a software instance ("support only Aliyun_KMS", model) and
        rotation where rotation_refusal says none: 400 UnsupportedOperation; a Policy for a default key, which has
        none (400 Forbidden.KeyPolicyUnSupported, SetKeyPolicy's code). KeyStorageMechanism "is valid only" for a
        hardware instance: validated, ignored elsewhere (ignoring it misleads no caller). Instance key quotas are not
        modelled."""
        spec = params.get("KeySpec") or "Aliyun_AES_256"
        if spec not in KEY_SPECS:
            raise invalid_parameter("KeySpec", ", ".join(KEY_SPECS))
        if spec in SM_SPECS and region not in SM_REGIONS:
            raise invalid_parameter("KeySpec", f"SM specs are not offered in {region}")
        usage = params.get("KeyUsage") or ("ENCRYPT/DECRYPT" if spec in SYMMETRIC_SPECS else "SIGN/VERIFY")
        if usage not in KEY_USAGES:
            raise invalid_parameter("KeyUsage", ", ".join(KEY_USAGES))
        if (spec in SYMMETRIC_SPECS and usage != "ENCRYPT/DECRYPT") or (
            spec in SIGN_ONLY_SPECS and usage != "SIGN/VERIFY"
        ):
            raise invalid_parameter("KeyUsage", f"{spec} does not support {usage}")
        origin = params.get("Origin") or "Aliyun_KMS"
        if origin not in ORIGINS:
            raise invalid_parameter("Origin", "Aliyun_KMS or EXTERNAL")
        level = params.get("ProtectionLevel") or "SOFTWARE"
        if level not in PROTECTION_LEVELS:
            raise invalid_parameter("ProtectionLevel", "SOFTWARE or HSM")
        description = params.get("Description") or ""
        if len(description) > MAX_DESCRIPTION:
            raise invalid_parameter("Description", f"at most {MAX_DESCRIPTION} characters")
        rotate = parse_bool(params, "EnableAutomaticRotation")
        interval = parse_interval(params["RotationInterval"]) if params.get("RotationInterval") else None
        storage = params.get("KeyStorageMechanism")
        if storage and storage not in KEY_STORAGE_MECHANISMS:
            raise invalid_parameter("KeyStorageMechanism", " or ".join(KEY_STORAGE_MECHANISMS))
        policy = parse_policy(params["Policy"]) if params.get("Policy") else None
        tags = create_key_tags(params.get("Tags"))
        instance = params.get("DKMSInstanceId") or ""
        with self.lock:
            keys = self.accounts[account_id].keys.get(region, [])
            if instance:
                members = [k for k in keys if k.dkms_instance_id == instance]
                if not members:
                    raise ApiError(403, "Forbidden.DKMSInstanceNotFound", "The specified DKMS Instance is not found.")
                level = members[0].protection_level
                if origin == "EXTERNAL" and level == "SOFTWARE":
                    raise ApiError(400, "UnsupportedOperation", "Keys of a software instance support only Aliyun_KMS.")
            else:
                if any(k.creator_type == "User" and not k.dkms_instance_id for k in keys):
                    raise ApiError(
                        400,
                        "Rejected.LimitExceeded",
                        "The request was rejected because user create resource limit was exceeded (one default key "
                        "a region: create keys in a KMS instance).",
                    )
                if policy is not None:
                    raise ApiError(
                        400, "Forbidden.KeyPolicyUnSupported", "The specified key does not support key policy."
                    )
            now = self.now()
            fields = {
                "key_spec": spec,
                "key_usage": usage,
                "origin": origin,
                "protection_level": level,
                "description": description,
                "dkms_instance_id": instance,
                "creator_type": "User",
                "creation_date": utc_stamp(now),
                "key_state": "PendingImport" if origin == "EXTERNAL" else "Enabled",
                "tags": tags,
                "policy": policy,
            }
            if rotate:
                refusal = rotation_refusal(spec, origin, "User", instance, level)
                if refusal:
                    raise ApiError(400, "UnsupportedOperation", f"This action is not supported: {refusal}.")
                if interval is None:
                    raise missing_parameter("RotationInterval")
                fields.update(
                    automatic_rotation="Enabled",
                    rotation_interval=check_interval(interval, instance),
                    last_rotation_date=utc_stamp(now),
                    next_rotation_date=utc_stamp(now + interval),
                )
            key = self.add_keys(account_id, region, [fields])[0]
        return {"KeyMetadata": key.create_metadata()}

    def update_key_description(self, account_id: str, region: str, params: dict) -> dict:
        """UpdateKeyDescriptionRequest (3.3.1): KeyId and Description required; the metadata: it adds, changes or
        deletes the description, so "" is a value. At most 8,192 characters (CreateKey's limit: none is documented
        here). Service keys and keys pending deletion are refused (undocumented: the conservative choice)."""
        description = params.get("Description")
        if description is None:
            raise missing_parameter("Description")
        if len(description) > MAX_DESCRIPTION:
            raise invalid_parameter("Description", f"at most {MAX_DESCRIPTION} characters")
        with self.lock:
            key = self.writable_key(account_id, region, params)
            self.update_key(account_id, region, key.key_id, description=description)
        return {}

    def enable_key(self, account_id: str, region: str, params: dict) -> dict:
        """EnableKeyRequest (3.3.1). The state table: Enabled and Disabled keys succeed, PendingDeletion and
        PendingImport answer 409 Rejected.StateModifiedFailed. A rotation the disabling suspended resumes."""
        with self.lock:
            key = self.write_key(account_id, region, params)
            if key.creator_type == "Service":
                raise read_only_key()
            if key.key_state not in ("Enabled", "Disabled"):
                raise state_modified_failed(f"the key is {key.key_state}")
            if key.key_state == "Disabled":
                self.update_key(account_id, region, key.key_id, key_state="Enabled", **resumed_rotation(key))
        return {}

    def disable_key(self, account_id: str, region: str, params: dict) -> dict:
        """DisableKeyRequest (3.3.1). The state table: Enabled and Disabled keys succeed, PendingDeletion and
        PendingImport answer 409 Rejected.StateModifiedFailed. "If a key is in the Disabled or Pending Deletion state,
        the key rotation feature is disabled" until it is enabled again (UpdateRotationPolicy's reference): its
        AutomaticRotation reads Suspended ("Suspended: Automatic rotation is suspended", DescribeKey's model)."""
        with self.lock:
            key = self.write_key(account_id, region, params)
            if key.creator_type == "Service":
                raise read_only_key()
            if key.key_state not in ("Enabled", "Disabled"):
                raise state_modified_failed(f"the key is {key.key_state}")
            if key.key_state == "Enabled":
                self.update_key(account_id, region, key.key_id, key_state="Disabled", **suspended_rotation(key))
        return {}

    def schedule_key_deletion(self, account_id: str, region: str, params: dict) -> dict:
        """ScheduleKeyDeletionRequest (3.3.1): PendingWindowInDays required, 7 to 366. The state table: Enabled,
        Disabled and PendingImport keys go PendingDeletion, a key already PendingDeletion answers 409
        Rejected.StateModifiedFailed. DeleteDate is now plus the window. Deletion protection refuses it ("After you
        enable deletion protection for a CMK, you cannot delete the CMK", SetDeletionProtection's reference); the code
        is not documented: 409 Rejected.StateModifiedFailed is the emulator's choice. Service keys "cannot be deleted"
        (Key management FAQs): read_only_key."""
        if params.get("PendingWindowInDays") in (None, ""):
            raise missing_parameter("PendingWindowInDays")
        days = parse_int(params, "PendingWindowInDays", 0, *PENDING_WINDOW_DAYS)
        with self.lock:
            key = self.write_key(account_id, region, params)
            if key.creator_type == "Service":
                raise read_only_key()
            if key.key_state == "PendingDeletion":
                raise state_modified_failed("the key is already PendingDeletion")
            if key.deletion_protection == "Enabled":
                raise state_modified_failed("deletion protection is enabled for the key")
            self.update_key(
                account_id,
                region,
                key.key_id,
                key_state="PendingDeletion",
                delete_date=utc_stamp(self.now() + days * DAY),
                **suspended_rotation(key),
            )
        return {}

    def cancel_key_deletion(self, account_id: str, region: str, params: dict) -> dict:
        """CancelKeyDeletionRequest (3.3.1). The state table: only a PendingDeletion key succeeds, any other answers 409
        Rejected.StateModifiedFailed. "After the deletion is cancelled, the key is in the Enabled state" (the metadata);
        a key that never got its imported material returns to PendingImport (not documented: a key without material
        cannot be Enabled)."""
        with self.lock:
            key = self.write_key(account_id, region, params)
            if key.creator_type == "Service":
                raise read_only_key()
            if key.key_state != "PendingDeletion":
                raise state_modified_failed(f"the key is {key.key_state}, not PendingDeletion")
            state = "Enabled" if key.primary_key_version else "PendingImport"
            resumed = resumed_rotation(key) if state == "Enabled" else {}
            self.update_key(account_id, region, key.key_id, key_state=state, delete_date="", **resumed)
        return {}

    def set_deletion_protection(self, account_id: str, region: str, params: dict) -> dict:
        """SetDeletionProtectionRequest (3.3.1): EnableDeletionProtection required; the key by ProtectedResourceArn
        (its ARN) or KeyId (the 2025 reference makes both optional: one is needed, 400 MissingParameter without,
        InvalidParameter when they name different keys); KmsInstanceId has no description in the model: when given it
        must be the key's instance (400 InvalidParameter otherwise, the emulator's choice). "Make sure that the CMK is
        not in the PendingDeletion state" (the metadata): 409 Rejected.PendingDeletion (code not documented).
        DeletionProtectionDescription "is valid only when EnableDeletionProtection is set to true": kept then, and
        cleared when protection is turned off."""
        enable = parse_bool(params, "EnableDeletionProtection", required=True)
        arn, key_id = params.get("ProtectedResourceArn"), params.get("KeyId")
        if not arn and not key_id:
            raise missing_parameter("ProtectedResourceArn")
        with self.lock:
            keys = self.accounts[account_id].keys.get(region, [])
            by_arn = next((k for k in keys if k.arn == arn), None) if arn else None
            by_id = next((k for k in keys if k.key_id == key_id), None) if key_id else None
            if (arn and by_arn is None) or (key_id and by_id is None):
                raise key_not_found()
            key = by_arn or by_id
            if by_arn and by_id and by_arn.key_id != by_id.key_id:
                raise invalid_parameter("KeyId", "ProtectedResourceArn names another key")
            if params.get("KmsInstanceId") and params["KmsInstanceId"] != key.dkms_instance_id:
                raise invalid_parameter("KmsInstanceId", "not the key's KMS instance")
            if key.creator_type == "Service":
                raise read_only_key()
            if key.key_state == "PendingDeletion":
                raise pending_deletion()
            self.update_key(
                account_id,
                region,
                key.key_id,
                deletion_protection="Enabled" if enable else "Disabled",
                deletion_protection_description=(params.get("DeletionProtectionDescription") or "") if enable else "",
            )
        return {}

    def update_rotation_policy(self, account_id: str, region: str, params: dict) -> dict:
        """UpdateRotationPolicyRequest (3.3.1): KeyId and EnableAutomaticRotation required, RotationInterval required
        when enabling (400 MissingParameter without), in the range check_interval gives; a malformed or out-of-range
        interval: 400 InvalidParameter ("The specified parameter RotationInterval is not valid.", the metadata). A key
        rotation_refusal rules out, or "a key that is not in the Enabled state" (the 2025 reference): 400
        Rejected.UnsupportedOperation (the metadata). Enabling sets NextRotationDate to the last rotation plus the
        interval, or now when that has passed (the emulator's reading of "after the last rotation time plus the rotation
        period"); disabling drops RotationInterval and NextRotationDate, which DescribeKey returns only while rotation
        is Enabled or Suspended."""
        enable = parse_bool(params, "EnableAutomaticRotation", required=True)
        interval = parse_interval(params["RotationInterval"]) if params.get("RotationInterval") else None
        if enable and interval is None:
            raise missing_parameter("RotationInterval")
        with self.lock:
            key = self.write_key(account_id, region, params)
            refusal = rotation_refusal(
                key.key_spec, key.origin, key.creator_type, key.dkms_instance_id, key.protection_level
            )
            if refusal or key.key_state != "Enabled":
                raise unsupported(refusal or f"the key is {key.key_state}, not Enabled")
            if enable:
                interval_text = check_interval(interval, key.dkms_instance_id)
                last = stamp_seconds(key.last_rotation_date) or stamp_seconds(key.creation_date) or self.now()
                changes = {
                    "automatic_rotation": "Enabled",
                    "rotation_interval": interval_text,
                    "last_rotation_date": key.last_rotation_date or utc_stamp(last),
                    "next_rotation_date": utc_stamp(max(last + interval, self.now())),
                }
            else:
                changes = {"automatic_rotation": "Disabled", "rotation_interval": "", "next_rotation_date": ""}
            self.update_key(account_id, region, key.key_id, **changes)
        return {}

    def create_alias(self, account_id: str, region: str, params: dict) -> dict:
        """CreateAliasRequest (3.3.1): AliasName (check_alias_name, strict) and KeyId required. "The aliases of CMKs in
        the same region must be unique" (the metadata): one in use in the account and region answers 400
        AliasAlreadyExists (common error codes). The state table: a PendingDeletion key answers 409
        Rejected.StateModifiedFailed. No limit on aliases a key is documented; none is applied."""
        name = check_alias_name(required_text(params, "AliasName"), strict=True)
        with self.lock:
            key = self.write_key(account_id, region, params)
            if key.creator_type == "Service":
                raise read_only_key()
            if key.key_state == "PendingDeletion":
                raise state_modified_failed("the key is PendingDeletion")
            if any(name in k.aliases for k in self.accounts[account_id].keys.get(region, [])):
                raise ApiError(400, "AliasAlreadyExists", "AliasName Already Exists.")
            self.update_key(account_id, region, key.key_id, aliases=key.aliases + (name,))
        return {}

    def update_alias(self, account_id: str, region: str, params: dict) -> dict:
        """UpdateAliasRequest (3.3.1): bind an existing alias (AliasName, check_alias_name) to KeyId. An alias no key has:
        404 Forbidden.AliasNotFound. The state table: only the target key's state matters, "If the target key is in
        the PendingDeletion state, Rejected.PendingDeletion is returned" (409). Service keys are read-only on either
        side."""
        name = check_alias_name(required_text(params, "AliasName"), strict=False)
        with self.lock:
            target = self.write_key(account_id, region, params)
            source = next((k for k in self.accounts[account_id].keys.get(region, []) if name in k.aliases), None)
            if source is None:
                raise alias_not_found()
            if "Service" in (source.creator_type, target.creator_type):
                raise read_only_key()
            if target.key_state == "PendingDeletion":
                raise pending_deletion()
            if source.key_id != target.key_id:
                self.update_key(
                    account_id, region, source.key_id, aliases=tuple(a for a in source.aliases if a != name)
                )
                self.update_key(account_id, region, target.key_id, aliases=target.aliases + (name,))
        return {}

    def delete_alias(self, account_id: str, region: str, params: dict) -> dict:
        """DeleteAliasRequest (3.3.1): AliasName (check_alias_name). The state table: succeeds whatever the key's state.
        An alias no key has: 404 Forbidden.AliasNotFound; a service key's: read_only_key."""
        name = check_alias_name(required_text(params, "AliasName"), strict=False)
        with self.lock:
            key = next((k for k in self.accounts[account_id].keys.get(region, []) if name in k.aliases), None)
            if key is None:
                raise alias_not_found()
            if key.creator_type == "Service":
                raise read_only_key()
            self.update_key(account_id, region, key.key_id, aliases=tuple(a for a in key.aliases if a != name))
        return {}

    def tag_targets(self, account_id: str, region: str, params: dict) -> list:
        """The keys TagResources and UntagResources name (their models): RegionId, ResourceType key or secret and 1 to
        50 ResourceId.N required. An ID that is not a key of the region (and any secret: the emulator has none): 404
        InvalidResourceId.NotFound (the metadata), and then no resource changes. Service keys and keys pending deletion
        are refused (writable_key's reasons). Call with the lock held."""
        for name in ("RegionId", "ResourceType"):
            required_text(params, name)
        if params["RegionId"] != region:
            raise invalid_parameter("RegionId", f"this endpoint serves {region}")
        if params["ResourceType"] not in RESOURCE_TYPES:
            raise invalid_parameter("ResourceType", "key or secret")
        ids = list(dict.fromkeys(indexed_values(params, "ResourceId")))
        if not ids:
            raise missing_parameter("ResourceId")
        if len(ids) > MAX_TAG_RESOURCE_IDS:
            raise invalid_parameter("ResourceId", f"at most {MAX_TAG_RESOURCE_IDS} resource IDs")
        keys = {k.key_id: k for k in self.accounts[account_id].keys.get(region, [])}
        missing = [i for i in ids if i not in keys or params["ResourceType"] != "key"]
        if missing:
            raise ApiError(404, "InvalidResourceId.NotFound", f"The specified ResourceId {missing[0]} is not found.")
        for key in (keys[i] for i in ids):
            if key.creator_type == "Service":
                raise read_only_key()
            if key.key_state == "PendingDeletion":
                raise pending_deletion()
        return [keys[i] for i in ids]

    def tag_resources(self, account_id: str, region: str, params: dict) -> dict:
        """TagResourcesRequest (3.3.1): Tag.N (write_tags) on every resource of tag_targets. A key a tag already has
        takes the new value (not documented for KMS; Alibaba Cloud tagging's rule). A resource left with more than 20
        tags: 400 Rejected.LimitExceeded (the limit is Resource Management's, the code a documented KMS one for a
        limit; the pairing is the emulator's)."""
        tags = write_tags(params)
        with self.lock:
            keys = self.tag_targets(account_id, region, params)
            for key in keys:
                if len({**key.tags, **tags}) > MAX_KEY_TAGS:
                    raise ApiError(
                        400, "Rejected.LimitExceeded", f"A resource can have at most {MAX_KEY_TAGS} tags: {key.key_id}."
                    )
            for key in keys:
                self.update_key(account_id, region, key.key_id, tags={**key.tags, **tags})
        return {}

    def untag_resources(self, account_id: str, region: str, params: dict) -> dict:
        """UntagResourcesRequest (3.3.1): TagKey.N (up to 20, none starting with aliyun or acs:: 400
        InvalidParameter.TagKey) off every resource of tag_targets; keys a resource lacks are skipped ("only some tag
        keys are associated with the resource: the call succeeds", the metadata). All=true removes every tag and
        "takes effect only when you specify an empty tag key"; neither TagKey nor All=true: 400 MissingParameter (the
        sources say nothing: the conservative reading)."""
        names = indexed_values(params, "TagKey")
        remove_all = parse_bool(params, "All")
        if len(names) > MAX_WRITE_TAGS:
            raise invalid_parameter("TagKey", f"at most {MAX_WRITE_TAGS} tag keys")
        for name in names:
            if not name or name.lower().startswith(RESERVED_TAG_PREFIXES):
                raise ApiError(400, "InvalidParameter.TagKey", f"The specified tag key {name!r} is not valid.")
        if not names and not remove_all:
            raise missing_parameter("TagKey")
        with self.lock:
            for key in self.tag_targets(account_id, region, params):
                kept = {k: v for k, v in key.tags.items() if names and k not in names}
                self.update_key(account_id, region, key.key_id, tags=kept)
        return {}

    def set_key_policy(self, account_id: str, region: str, params: dict) -> dict:
        """SetKeyPolicyRequest (3.3.1): KeyId (ID or ARN) and Policy (parse_policy) required, PolicyName "can only be
        default" (404 Forbidden.ResourceNotFound "Policy not found.", the metadata). "Sets the key policy of a key in a
        KMS instance" (the metadata): another key answers 400 Forbidden.KeyPolicyUnSupported (the metadata). A key
        pending deletion is refused (not documented: the conservative choice). GetKeyPolicy returns the document."""
        policy = parse_policy(params.get("Policy"))
        if params.get("PolicyName", POLICY_NAME) not in (POLICY_NAME, ""):
            raise ApiError(404, "Forbidden.ResourceNotFound", "Policy not found.")
        with self.lock:
            key = self.write_key(account_id, region, params, arn=True)
            if not key.dkms_instance_id:
                raise ApiError(400, "Forbidden.KeyPolicyUnSupported", "The specified key does not support key policy.")
            if key.key_state == "PendingDeletion":
                raise pending_deletion()
            self.update_key(account_id, region, key.key_id, policy=policy)
        return {}

    # --- secrets and KMS instances ------------------------------------------------------------------------------
    def add_secrets(self, account_id: str, region: str, specs) -> list[Secret]:
        """Seed secrets (make_secret records); names are unique in the account and region."""
        with self.lock:
            account = self.add_account(account_id)
            if region not in self.regions:
                self.regions.append(region)
            secrets = account.secrets.setdefault(region, [])
            added = []
            for spec in specs:
                secret = make_secret(account.account_id, region, spec)
                if any(s.secret_name == secret.secret_name for s in secrets):
                    raise ValueError(f"duplicate secret name {secret.secret_name} in {region}")
                secrets.append(secret)
                added.append(secret)
            return added

    def add_kms_instances(self, account_id: str, region: str, facts: dict) -> None:
        """Seed GetKmsInstance facts ({kst-...: {spec, end_date, zone_ids, ...}}, INSTANCE_FIELDS)."""
        for instance_id, fields in (facts or {}).items():
            fields = dict(fields or {})
            if not str(instance_id).startswith("kst-"):
                raise ValueError(f"KMS instance ids are kst-<id>: {instance_id!r}")
            if set(fields) - INSTANCE_FIELDS:
                raise ValueError(f"unknown KMS instance field(s): {', '.join(sorted(set(fields) - INSTANCE_FIELDS))}")
            if fields.get("status", "Connected") not in INSTANCE_STATUSES:
                raise ValueError(f"KMS instance status must be one of {', '.join(INSTANCE_STATUSES)}")
            with self.lock:
                self.add_account(account_id).instances.setdefault(region, {})[str(instance_id)] = fields

    def find_secret(self, account_id: str, region: str, name: str, arn: bool = False) -> Secret | None:
        with self.lock:
            for secret in self.accounts[account_id].secrets.get(region, []):
                if name == secret.secret_name or (arn and name == secret.arn):
                    return secret
            return None

    def list_secrets(self, account_id: str, region: str, params: dict, ignored_keys=()) -> dict:
        """ListSecretsRequest / ListSecretsResponseBody (alibabacloud-kms20160120 3.3.1): PageNumber "greater than 0.
        Default: 1", PageSize "between 1 and 100. Default: 10", FetchTags "false (default)", Filters (SECRET_FILTER_KEYS;
        parse_secret_filters). SecretList.Secret[]{CreateTime, SecretName, SecretType, UpdateTime, PlannedDeleteTime
        and OwingService when set, Tags.Tag[] with FetchTags}, in creation order; no documented error codes beyond the
        common ones (400 InvalidParameter). ignored_keys: filter keys the region validates, then ignores (faults'
        ignore_filter_keys)."""
        page_number = parse_int(params, "PageNumber", 1, 1, None)
        page_size = parse_int(params, "PageSize", 10, *SECRET_PAGE_SIZES)
        fetch_tags = parse_bool(params, "FetchTags")
        allowed = parse_secret_filters(params.get("Filters"))
        ignored = set(SECRET_FILTER_KEYS[k] for k in ignored_keys if k in SECRET_FILTER_KEYS)
        allowed = dict((a, v) for a, v in allowed.items() if a not in ignored)
        with self.lock:
            secrets = list(self.accounts[account_id].secrets.get(region, []))
        if allowed:
            secrets = [s for s in secrets if all(s.filter_values(a) & values for a, values in allowed.items())]
        page = secrets[(page_number - 1) * page_size : page_number * page_size]
        entries = []
        for secret in page:
            entry = {
                "SecretName": secret.secret_name,
                "SecretType": secret.secret_type,
                "CreateTime": secret.create_time,
                "UpdateTime": secret.update_time,
            }
            if secret.planned_delete_time:
                entry["PlannedDeleteTime"] = secret.planned_delete_time
            if secret.owing_service:
                entry["OwingService"] = secret.owing_service
            if fetch_tags:
                entry["Tags"] = secret.tag_list()
            entries.append(entry)
        return {
            "SecretList": {"Secret": entries},
            "TotalCount": len(secrets),
            "PageNumber": page_number,
            "PageSize": page_size,
        }

    def describe_secret(self, account_id: str, region: str, params: dict) -> dict:
        """DescribeSecretRequest / DescribeSecretResponseBody (3.3.1): SecretName "the name of the secret" (required;
        the model documents no ARN here, so an ARN names nothing), FetchTags "false ... default". Answers Arn,
        SecretName, SecretType, Description, CreateTime, UpdateTime, the rotation fields (Secret.rotation_fields),
        EncryptionKeyId, DKMSInstanceId, PlannedDeleteTime, OwingService and ExtendedConfig when set, Tags.Tag[]
        with FetchTags. Missing SecretName: 400 MissingParameter; unknown: 404 Forbidden.ResourceNotFound."""
        name = required_text(params, "SecretName")
        fetch_tags = parse_bool(params, "FetchTags")
        secret = self.find_secret(account_id, region, name)
        if secret is None:
            raise secret_not_found()
        body = {
            "Arn": secret.arn,
            "SecretName": secret.secret_name,
            "SecretType": secret.secret_type,
            "Description": secret.description,
            "CreateTime": secret.create_time,
            "UpdateTime": secret.update_time,
            **secret.rotation_fields(),
        }
        for field, value in (
            ("EncryptionKeyId", secret.encryption_key_id),
            ("DKMSInstanceId", secret.dkms_instance_id),
            ("PlannedDeleteTime", secret.planned_delete_time),
            ("OwingService", secret.owing_service),
            ("ExtendedConfig", secret.extended_config if secret.secret_type in MANAGED_SECRET_TYPES else ""),
        ):
            if value:
                body[field] = value
        if fetch_tags:
            body["Tags"] = secret.tag_list()
        return body

    def get_secret_value(self, account_id: str, region: str, params: dict) -> dict:
        """GetSecretValueRequest / GetSecretValueResponseBody (3.3.1).

        SecretName: "The secret name or secret Alibaba Cloud Resource Name (ARN)" (an ARN of another account names
        nothing: the emulator has no cross-account secret policies); VersionStage "Default value: ACSCurrent";
        VersionId; for managed types (MANAGED_SECRET_TYPES) VersionId "is ignored" and only ACSCurrent/ACSPrevious
        can be read. With both VersionStage and VersionId "If the secret values do not exist, a parameter error is
        returned" (the KMS instance gateway's GetSecretValue reference): 400 InvalidParameter when the version does not
        carry the stage. FetchExtendedConfig: ExtendedConfig of a managed secret. DryRun "KMS always returns a
        failure": 400 DryRunOperationError when the call would succeed (status not documented: the emulator's
        choice). Recipient (an enclave's attestation for CiphertextForRecipient) is not emulated: a non-empty one is
        400 Rejected.UnsupportedOperation. A secret seeded deny_value: 403 Forbidden.NoPermission; an unknown secret,
        version or stage: 404 Forbidden.ResourceNotFound. The value is returned exactly as stored (text or binary
        as base64 text, SecretDataType)."""
        name = required_text(params, "SecretName")
        dry_run = parse_bool(params, "DryRun")
        extended = parse_bool(params, "FetchExtendedConfig")
        if params.get("Recipient"):
            raise unsupported("the emulator has no KMS instance enclave for Recipient")
        secret = self.find_secret(account_id, region, name, arn=True)
        if secret is None:
            raise secret_not_found()
        if secret.deny_value:
            raise ApiError(403, "Forbidden.NoPermission", "This operation is forbidden by permission system.")
        stage = params.get("VersionStage") or ""
        version_id = params.get("VersionId") or ""
        if secret.secret_type in MANAGED_SECRET_TYPES:
            version_id = ""
            if stage and stage not in (CURRENT_STAGE, PREVIOUS_STAGE):
                raise secret_not_found()
        if version_id:
            version = next((v for v in secret.versions if v["version_id"] == version_id), None)
            if version is not None and stage and stage not in version["version_stages"]:
                raise invalid_parameter("VersionStage", "the version does not carry this stage")
        else:
            wanted = stage or CURRENT_STAGE
            version = next((v for v in secret.versions if wanted in v["version_stages"]), None)
        if version is None:
            raise secret_not_found()
        if dry_run:
            raise ApiError(400, "DryRunOperationError", "The request would succeed without DryRun.")
        body = {
            "SecretName": secret.secret_name,
            "SecretType": secret.secret_type,
            "SecretData": version["secret_data"],
            "SecretDataType": version["secret_data_type"],
            "VersionId": version["version_id"],
            "VersionStages": {"VersionStage": list(version["version_stages"])},
            "CreateTime": secret.create_time,
            **secret.rotation_fields(),
        }
        if extended and secret.extended_config and secret.secret_type in MANAGED_SECRET_TYPES:
            body["ExtendedConfig"] = secret.extended_config
        return body

    def get_kms_instance(self, account_id: str, region: str, params: dict) -> dict:
        """GetKmsInstanceRequest / GetKmsInstanceResponseBody (3.3.1): KmsInstanceId required; KmsInstance{InstanceId,
        InstanceName, Status, Spec, KeyNum, SecretNum, VpcNum, VpcId, VswitchIds, ZoneIds, CreateTime, StartDate,
        EndDate, ChargeType, ProductType, ProductVersion, Log, LogStorage, DeletionProtection(Description) when
        seeded} (instance_id_facts). The region's instances are those its keys or secrets name (as ListKmsInstances)
        and those the seed gives facts for. An unknown id: no code is documented (the reference says "No
        authorization for this operation" and lists none): 404 Forbidden.ResourceNotFound is the emulator's choice."""
        instance_id = required_text(params, "KmsInstanceId")
        with self.lock:
            account = self.accounts[account_id]
            keys = [k for k in account.keys.get(region, []) if k.dkms_instance_id == instance_id]
            secrets = [s for s in account.secrets.get(region, []) if s.dkms_instance_id == instance_id]
            facts = account.instances.get(region, {}).get(instance_id)
        if facts is None and not keys and not secrets:
            raise ApiError(404, "Forbidden.ResourceNotFound", "The specified KMS instance is not found.")
        return {"KmsInstance": instance_id_facts(region, instance_id, facts or {}, keys, secrets)}

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
        "CreateKey": create_key,
        "UpdateKeyDescription": update_key_description,
        "EnableKey": enable_key,
        "DisableKey": disable_key,
        "ScheduleKeyDeletion": schedule_key_deletion,
        "CancelKeyDeletion": cancel_key_deletion,
        "SetDeletionProtection": set_deletion_protection,
        "UpdateRotationPolicy": update_rotation_policy,
        "CreateAlias": create_alias,
        "UpdateAlias": update_alias,
        "DeleteAlias": delete_alias,
        "TagResources": tag_resources,
        "UntagResources": untag_resources,
        "SetKeyPolicy": set_key_policy,
        "ListSecrets": list_secrets,
        "DescribeSecret": describe_secret,
        "GetSecretValue": get_secret_value,
        "GetKmsInstance": get_kms_instance,
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
        if action == "ListSecrets":
            return handler(self, account_id, region, params, ignored_keys)
        return handler(self, account_id, region, params)


def suspended_rotation(key: Key) -> dict:
    """The changes that suspend a key's enabled rotation (DisableKey, ScheduleKeyDeletion)."""
    return {"automatic_rotation": "Suspended"} if key.automatic_rotation == "Enabled" else {}


def resumed_rotation(key: Key) -> dict:
    """The changes that resume a suspended rotation (EnableKey, CancelKeyDeletion)."""
    return {"automatic_rotation": "Enabled"} if key.automatic_rotation == "Suspended" else {}


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
