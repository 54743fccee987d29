"""Filling a Backend: seed files (YAML/JSON), the built-in demo account and a deterministic generator.

Seed format (every part optional):

    regions: [cn-hangzhou, ...]                 # DescribeRegions' answer; default DEFAULT_REGIONS
    resource_directory:                         # a Resource Directory, for ResourceManager ListAccounts
      management_account: "1234567890123456"    # an id, or a dict of the member fields below (no deny_role)
      members:                                  # default: every other seeded account, with default fields
        - "9876543210987654"                    # an id: every field defaulted
        - account_id: "1111222233334444"
          display_name: payments-prod           # default member-<last 4 digits> (management-<...>)
          status: CreateSuccess                 # resourcemanager.STATUSES; default CreateSuccess
          type: ResourceAccount                 # or CloudAccount; default ResourceAccount (management: CloudAccount)
          join_method: created                  # or invited; default created (management: invited)
          folder_id: fd-QRzuim01                # default: the root folder
          join_time: "2021-01-18T08:01:50.522Z" # default: one day apart in listing order; modify_time: join_time
          tags: {env: prod}                     # ListAccounts Tag.N filter and IncludeTags
          deny_role: true                       # its ResourceDirectoryAccountAccessRole does not trust the management
                                                # account: AssumeRole answers 403 NoPermission
      delegated_administrators: ["..."]         # members that may call ListAccounts too
      directory_id: rd-...                      # default derived from the management account; root_folder_id: r-...
    accounts:
      - account_id: "1234567890123456"          # 16 digits
        access_keys: [{id, secret, security_token?}]
        roles:                                  # RAM roles for STS AssumeRole
          - {name: kms-audit, trusted_accounts: ["..."], max_session_duration: 3600}  # trusted default: own account
        regions:
          cn-hangzhou:
            keys: [{description, key_spec, ..., aliases: [alias/x], tags: {k: v}}]  # snake_case Key fields
            # aliases: alias/<name>, unique in the account and region (ListAliases, ListAliasesByKeyId, DescribeKey,
            # the AliasName filter); tags: ListTagResources, ListResourceTags, the TagKey/TagValue filters;
            # policy: {Version, Statement: [...]}, keys with dkms_instance_id only (GetKeyPolicy; default: the
            # account's RAM identities may do kms:*)
            secrets:                            # ListSecrets, DescribeSecret, GetSecretValue (backend.make_secret)
              - secret_name: db-password        # unique in the account and region; arn acs:kms:<region>:<account>:secret/<name>
                secret_type: Generic            # Generic, Rds, Redis, RAMCredentials, ECS, PolarDB
                description: ..., create_time: ..., update_time: ..., encryption_key_id: ..., dkms_instance_id: kst-...
                automatic_rotation: Enabled     # or Disabled (default); rotation_interval 604800s by default
                rotation_interval: ..., last_rotation_date: ..., next_rotation_date: ..., planned_delete_time: ...
                tags: {env: prod}
                deny_value: true                # GetSecretValue answers 403 Forbidden.NoPermission
                versions:                       # default: one version v1, ACSCurrent, empty text
                  - {version_id: v2, version_stages: [ACSCurrent], secret_data: ..., secret_data_type: text}
                  # secret_data: a string, stored and returned as is; a mapping or list: its JSON text
            kms_instances:                      # GetKmsInstance facts (backend.INSTANCE_FIELDS); instances the keys
              kst-...: {spec: 1000, end_date: "2026-12-20T00:00:00Z", zone_ids: [cn-hangzhou-h], vpc_id: vpc-..., status: Connected}
              # name and secrets only known from keys or secrets get defaults (backend.instance_id_facts)

Every Resource Directory member gets the role ResourceDirectoryAccountAccessRole trusted by the management account
(unless the seed defines it, or deny_role makes it trust the member alone), as the real Resource Directory creates it in
each member; a member whose creation is not complete (CreateVerifying, CreateFailed, CreateExpired, CreateCancelled)
has no role yet. Members are accounts: their keys and access keys come from `accounts`.

organisation() builds a seed of a management account and N members with generated keys (the benchmark's world).
"""

from __future__ import annotations

import datetime
import json
import random
from pathlib import Path

import yaml

from . import resourcemanager
from .backend import DEFAULT_REGIONS, SM_REGIONS, Backend, region_abbr

DEMO_ACCOUNT_ID = "1234567890123456"
DEMO_ACCESS_KEY_ID = "LTAI5tKmsEmulatorDemo01"
DEMO_ACCESS_KEY_SECRET = "kms-emulator-demo-secret"
RD_ROLE = "ResourceDirectoryAccountAccessRole"

DESCRIPTIONS = (
    "orders-db TDE",
    "payments signing",
    "backup encryption",
    "oss bucket logs",
    "session tokens",
    "audit archive",
    "customer PII",
    "ci artifacts",
    "jwt issuer",
    "kafka envelope",
    "",
)
SERVICES = ("Rds", "Oss", "Ecs", "Ack", "Polardb")
# Generated tags, in this order: a key with N tags has the first N keys.
TAG_CHOICES = {
    "env": ("prod", "staging", "dev", "test"),
    "team": ("orders", "payments", "data", "platform", "security", "identity"),
    "cost-center": tuple(f"cc-{n}" for n in range(1000, 1040)),
    "app": ("checkout", "ledger", "billing", "search", "reporting", "gateway", "crm"),
    "owner": ("alice", "bob", "carol", "dan", "erin", "frank"),
    "data-class": ("public", "internal", "confidential", "pii", "pci"),
    "backup": ("daily", "weekly", "none"),
    "tier": ("gold", "silver", "bronze"),
    "compliance": ("pci-dss", "mlps-3", "iso27001", "none"),
    "project": ("apollo", "gemini", "mercury", "voyager"),
}


def read_seed(seed) -> dict:
    """A seed is a dict, or a path to a YAML or JSON file."""
    if isinstance(seed, dict):
        return seed
    text = Path(seed).read_text(encoding="utf-8")
    if str(seed).endswith(".json"):
        return json.loads(text)
    return yaml.safe_load(text) or {}


def load_seed(backend: Backend, seed) -> None:
    data = read_seed(seed)
    for region in data.get("regions") or ():
        if region not in backend.regions:
            backend.regions.append(region)
    for account in data.get("accounts") or ():
        account_id = str(account["account_id"])
        backend.add_account(account_id)
        for access_key in account.get("access_keys") or ():
            backend.add_access_key(
                account_id, access_key["id"], access_key["secret"], access_key.get("security_token", "")
            )
        for role in account.get("roles") or ():
            unknown = set(role) - {"name", "trusted_accounts", "max_session_duration"}
            if unknown:
                raise ValueError(f"unknown role field(s) in seed: {', '.join(sorted(unknown))}")
            backend.add_role(
                account_id, role["name"], role.get("trusted_accounts"), role.get("max_session_duration", 3600)
            )
        for region, content in (account.get("regions") or {}).items():
            content = content or {}
            unknown = set(content) - {"keys", "secrets", "kms_instances"}
            if unknown:
                raise ValueError(f"unknown region field(s) in seed: {', '.join(sorted(unknown))}")
            backend.add_keys(account_id, region, content.get("keys") or ())
            backend.add_secrets(account_id, region, content.get("secrets") or ())
            backend.add_kms_instances(account_id, region, content.get("kms_instances") or {})
    if data.get("resource_directory"):
        load_directory(backend, data["resource_directory"])


def load_directory(backend: Backend, spec: dict) -> None:
    unknown = set(spec) - {
        "management_account",
        "members",
        "delegated_administrators",
        "directory_id",
        "root_folder_id",
    }
    if unknown:
        raise ValueError(f"unknown resource_directory field(s) in seed: {', '.join(sorted(unknown))}")
    management = spec["management_account"]
    management_id = str(management["account_id"] if isinstance(management, dict) else management)
    members = spec.get("members")
    if members is None:
        members = [a for a in backend.accounts if a != management_id]
    directory = resourcemanager.make_directory(
        management, members, spec.get("delegated_administrators"), spec.get("directory_id"), spec.get("root_folder_id")
    )
    denied = {str(m["account_id"]) for m in members if isinstance(m, dict) and m.get("deny_role")}
    with backend.lock:
        backend.add_account(management_id)
        for member in directory.members[1:]:
            account = backend.add_account(member.account_id)
            if RD_ROLE in account.roles or member.status in resourcemanager.NO_ROLE_STATUSES:
                continue
            trusted = [member.account_id] if member.account_id in denied else [management_id]
            backend.add_role(member.account_id, RD_ROLE, trusted)
        backend.directory = directory


def build_backend(
    seed=None,
    generate: str | None = None,
    random_seed: int = 0,
    access_keys=(),
    generate_accounts: str | None = None,
    generate_tags: int = 0,
    generate_aliases: int = 0,
) -> Backend:
    """The backend as the CLI and Emulator describe it: seed, generated organisation or demo account, plus generated
    keys (in the default account) with generate_tags tags and generate_aliases aliases each."""
    if generate_accounts:
        if seed is not None:
            raise ValueError("give a seed or generate_accounts, not both")
        seed = organisation(**parse_generate_accounts(generate_accounts), random_seed=random_seed)
    regions = None
    if seed is not None:
        regions = read_seed(seed).get("regions")
    backend = Backend(regions or DEFAULT_REGIONS)
    if seed is not None:
        load_seed(backend, seed)
    if not backend.accounts:
        backend.add_access_key(DEMO_ACCOUNT_ID, DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
    account_id = backend.default_account.account_id
    for spec in access_keys:
        key_id, secret, token = (list(parse_access_key(spec)) + [""])[:3]
        backend.add_access_key(account_id, key_id, secret, token)
    if generate:
        for region, count in parse_generate(generate).items():
            backend.add_keys(
                account_id,
                region,
                generate_keys(region, count, random_seed, tags=generate_tags, aliases=generate_aliases),
            )
    return backend


def parse_access_key(spec: str) -> tuple:
    parts = spec.split(":", 2)
    if len(parts) < 2 or not all(parts[:2]):
        raise ValueError("access key must be ID:SECRET[:TOKEN]")
    return tuple(parts)


def parse_generate(spec: str) -> dict:
    """'cn-hangzhou=100,cn-shanghai=50' -> {'cn-hangzhou': 100, 'cn-shanghai': 50}."""
    result = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        region, dummy, count = item.partition("=")
        if not region or not count.isdigit():
            raise ValueError(f"bad --generate item {item!r}: expected REGION=COUNT")
        result[region] = int(count)
    return result


def parse_generate_accounts(spec: str) -> dict:
    """'100:4:10' or '100:cn-hangzhou,cn-shanghai:10' -> organisation() arguments (REGIONS: a count of
    DEFAULT_REGIONS, in order, or region names)."""
    parts = spec.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit() or not parts[1]:
        raise ValueError(f"bad --generate-accounts {spec!r}: expected MEMBERS:REGIONS:KEYS, e.g. 100:4:10")
    if parts[1].isdigit():
        if not 1 <= int(parts[1]) <= len(DEFAULT_REGIONS):
            raise ValueError(f"--generate-accounts: 1 to {len(DEFAULT_REGIONS)} regions, or region names")
        regions = list(DEFAULT_REGIONS[: int(parts[1])])
    else:
        regions = [r.strip() for r in parts[1].split(",") if r.strip()]
    return {"members": int(parts[0]), "regions": regions, "keys_per_region": int(parts[2])}


def member_id(index: int) -> str:
    """The id of organisation()'s index-th member (1-based): 5100000000000001, 5100000000000002, ..."""
    return f"51{index:014d}"


def organisation(
    members: int = 100,
    regions=("cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen"),
    keys_per_region: int = 10,
    random_seed: int = 0,
    management_keys_per_region: int = 0,
) -> dict:
    """A seed: the demo account (DEMO_ACCOUNT_ID, demo access key) managing a Resource Directory of `members` members
    (ids member_id(1..N), display names member-0001..., status CreateSuccess), each with `keys_per_region` generated keys
    in each region and a ResourceDirectoryAccountAccessRole trusting the management account. Members have no access
    keys: they are reached by AssumeRole from the management account. Deterministic for given arguments."""
    if members < 0 or keys_per_region < 0 or management_keys_per_region < 0:
        raise ValueError("organisation(): counts must not be negative")
    management = {
        "account_id": DEMO_ACCOUNT_ID,
        "access_keys": [{"id": DEMO_ACCESS_KEY_ID, "secret": DEMO_ACCESS_KEY_SECRET}],
        "regions": {
            r: {"keys": generate_keys(r, management_keys_per_region, f"{random_seed}/{DEMO_ACCOUNT_ID}")}
            for r in regions
        },
    }
    accounts, listed = [management], []
    for index in range(1, members + 1):
        account_id = member_id(index)
        accounts.append(
            {
                "account_id": account_id,
                "regions": {
                    r: {"keys": generate_keys(r, keys_per_region, f"{random_seed}/{account_id}")} for r in regions
                },
            }
        )
        listed.append({"account_id": account_id, "display_name": f"member-{index:04d}"})
    return {
        "resource_directory": {"management_account": DEMO_ACCOUNT_ID, "members": listed},
        "accounts": accounts,
    }


def generate_keys(
    region: str, count: int, random_seed: int | str = 0, start: int = 0, tags: int = 0, aliases: int = 0
) -> list[dict]:
    """A realistic, consistent mix of keys; the same arguments always give the same keys.

    tags: each key gets the first `tags` keys of TAG_CHOICES with drawn values; aliases: each key gets that many
    aliases, alias/<description>-<number>[-<n>], unique in the region (numbered from `start`). Neither changes the
    keys themselves: they are drawn from their own random generator."""
    if not 0 <= tags <= len(TAG_CHOICES) or aliases < 0:
        raise ValueError(f"generated keys take 0 to {len(TAG_CHOICES)} tags and a non-negative number of aliases")
    rng = random.Random(f"{random_seed}/{region}/{start}")
    instances = [f"kst-{region_abbr(region)}{rng.getrandbits(84):021x}" for dummy in range(2)]
    created = datetime.datetime(2021, 1, 4, 8, 0, 0) + datetime.timedelta(days=start)
    keys = [_random_key(rng, region, instances, created + datetime.timedelta(hours=13 * i)) for i in range(count)]
    labels = random.Random(f"{random_seed}/{region}/{start}/labels")
    for number, key in enumerate(keys, start + 1):
        if tags:
            key["tags"] = {name: labels.choice(values) for name, values in list(TAG_CHOICES.items())[:tags]}
        if aliases:
            base = "-".join((key["description"] or "key").replace("managed key", "").split()).lower() or "key"
            key["aliases"] = [f"alias/{base}-{number:05d}" + (f"-{n}" if n > 1 else "") for n in range(1, aliases + 1)]
    return keys


def _random_key(rng: random.Random, region: str, instances: list, created: datetime.datetime) -> dict:
    specs = ["Aliyun_AES_256"] * 10 + ["RSA_2048"] * 3 + ["EC_P256"] * 2 + ["EC_P256K"]
    if region in SM_REGIONS:
        specs += ["Aliyun_SM4"] * 2 + ["EC_SM2"]
    key = {
        "key_spec": rng.choice(specs),
        "key_state": rng.choices(("Enabled", "Disabled", "PendingDeletion", "PendingImport"), (70, 15, 10, 5))[0],
        "protection_level": "HSM" if rng.random() < 0.2 else "SOFTWARE",
        "creator_type": "User",
        "description": rng.choice(DESCRIPTIONS),
        "creation_date": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    symmetric = key["key_spec"] in ("Aliyun_AES_256", "Aliyun_SM4")
    if symmetric or key["key_spec"] not in ("RSA_2048", "EC_SM2"):
        key["key_usage"] = "ENCRYPT/DECRYPT" if symmetric else "SIGN/VERIFY"
    else:
        key["key_usage"] = rng.choice(("ENCRYPT/DECRYPT", "SIGN/VERIFY"))
    if key["key_state"] == "PendingImport" and not symmetric:
        key["key_state"] = "Enabled"  # only symmetric keys take imported material
    if key["key_state"] == "PendingImport":
        key["origin"] = "EXTERNAL"
    if key["key_state"] == "PendingDeletion":
        key["delete_date"] = (created + datetime.timedelta(days=rng.randint(7, 30))).strftime("%Y-%m-%dT%H:%M:%SZ")
    if rng.random() < 0.1 and key["key_spec"] == "Aliyun_AES_256":
        key.update(
            creator_type="Service",
            creator=rng.choice(SERVICES),
            protection_level="SOFTWARE",
            description=f"{key['description'] or 'service'} managed key",
        )
    elif rng.random() < 0.25:
        key["dkms_instance_id"] = rng.choice(instances)
    if symmetric and key["key_state"] == "Enabled" and rng.random() < 0.3:
        key["automatic_rotation"] = "Enabled"
        key["rotation_interval"] = rng.choice(("31536000s", "15552000s", "7776000s"))
    if rng.random() < 0.15 and key["key_state"] != "PendingDeletion":  # protection forbids scheduling deletion
        key["deletion_protection"] = "Enabled"
        key["deletion_protection_description"] = "production data"
    return key
