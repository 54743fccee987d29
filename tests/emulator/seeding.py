"""Filling a Backend: seed files (YAML/JSON), the built-in demo account and a deterministic generator.

Seed format (every part optional):

    regions: [cn-hangzhou, ...]                 # DescribeRegions' answer; default DEFAULT_REGIONS
    resource_directory:                         # accounts of a Resource Directory
      management_account: "1234567890123456"
      members: ["9876543210987654"]             # default: every other seeded account
    accounts:
      - account_id: "1234567890123456"          # 16 digits
        access_keys: [{id, secret, security_token?}]
        roles:                                  # RAM roles for STS AssumeRole
          - {name: kms-audit, trusted_accounts: ["..."], max_session_duration: 3600}  # trusted default: own account
        regions:
          cn-hangzhou:
            keys: [{description, key_spec, ..., aliases: [alias/x], tags: {k: v}}]  # snake_case Key fields

Every Resource Directory member gets the role ResourceDirectoryAccountAccessRole trusted by the management account
(unless the seed defines it), as the real Resource Directory creates it in each member.
"""

from __future__ import annotations

import datetime
import json
import random
from pathlib import Path

import yaml

from .backend import DEFAULT_REGIONS, Backend, region_abbr

DEMO_ACCOUNT_ID = "1234567890123456"
DEMO_ACCESS_KEY_ID = "LTAI5tKmsEmulatorDemo01"
DEMO_ACCESS_KEY_SECRET = "kms-emulator-demo-secret"
RD_ROLE = "ResourceDirectoryAccountAccessRole"

# Regions that host SCA-certified HSMs: the only ones where SM specs exist.
SM_REGIONS = frozenset({"cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen"})
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
            backend.add_keys(account_id, region, (content or {}).get("keys") or ())
    directory = data.get("resource_directory")
    if directory:
        management = str(directory["management_account"])
        members = directory.get("members")
        for account_id in map(str, members) if members is not None else list(backend.accounts):
            if account_id != management and RD_ROLE not in backend.add_account(account_id).roles:
                backend.add_role(account_id, RD_ROLE, [management])


def build_backend(seed=None, generate: str | None = None, random_seed: int = 0, access_keys=()) -> Backend:
    """The backend as the CLI and Emulator describe it: seed or demo account, plus generated keys."""
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
            backend.add_keys(account_id, region, generate_keys(region, count, random_seed))
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


def generate_keys(region: str, count: int, random_seed: int = 0, start: int = 0) -> list[dict]:
    """A realistic, consistent mix of keys; the same arguments always give the same keys."""
    rng = random.Random(f"{random_seed}/{region}/{start}")
    instances = [f"kst-{region_abbr(region)}{rng.getrandbits(84):021x}" for dummy in range(2)]
    created = datetime.datetime(2021, 1, 4, 8, 0, 0) + datetime.timedelta(days=start)
    return [_random_key(rng, region, instances, created + datetime.timedelta(hours=13 * i)) for i in range(count)]


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
