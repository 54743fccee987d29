"""ResourceManager (2020-03-31) ListAccounts: the members of the emulator's Resource Directory.

Parameters, limits and the response shape follow the SDK models (alibabacloud-resourcemanager20200331 2.6,
ListAccountsRequest and ListAccountsResponseBodyAccountsAccount): PageNumber (minimum 1, default 1), PageSize (1 to 100,
default 10), IncludeTags (default false), Tag.N.Key/Tag.N.Value (filter) -> {PageNumber, PageSize, TotalCount,
Accounts: {Account: [{AccountId, DisplayName, Status, Type, FolderId, JoinMethod, JoinTime, ModifyTime,
ResourceDirectoryId, ResourceDirectoryPath, Tags?}]}}; the model has no other account field.

Who may call it: "only the management account of a resource directory or a delegated administrator account of a trusted
service" (ListAccounts API reference, 2020-03-31 and 2022-04-19). Errors:
- 404 EntityNotExists.ResourceDirectory: the caller belongs to no Resource Directory (ListAccounts' own error table).
- 403 MemberAccountAccessDenied: a member that is not a delegated administrator. ListAccounts' table documents no code
  for this case; this is the code Resource Manager documents for a member calling a management-only operation
  (SetMemberDeletionPermission, same API version), the most plausible one.
- 400 InvalidParameter: PageNumber, PageSize or IncludeTags out of the documented range (the POP common code).
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid

from .backend import KEY_ID_NAMESPACE, ApiError, invalid_parameter, parse_int

API_VERSION = "2020-03-31"
ACTIONS = ("ListAccounts",)
REGION = "global"  # the one endpoint, resourcemanager.aliyuncs.com, serves every region

# Member statuses as the SDK models document them (CreateCloudAccountResponseBodyAccount.status, the fullest list;
# GetAccountResponseBodyAccount.status lists the subset a joined member can have).
STATUSES = (
    "CreateSuccess",
    "CreateVerifying",
    "CreateFailed",
    "CreateExpired",
    "CreateCancelled",
    "PromoteVerifying",
    "PromoteFailed",
    "PromoteExpired",
    "PromoteCancelled",
    "PromoteSuccess",
    "InviteSuccess",
    "Removed",
)
# A member whose creation is not complete has no account yet, hence no ResourceDirectoryAccountAccessRole.
NO_ROLE_STATUSES = frozenset({"CreateVerifying", "CreateFailed", "CreateExpired", "CreateCancelled"})
TYPES = ("CloudAccount", "ResourceAccount")  # GetAccountResponseBodyAccount.type
JOIN_METHODS = ("created", "invited")  # GetAccountResponseBodyAccount.join_method
MEMBER_FIELDS = frozenset(
    {"account_id", "display_name", "status", "type", "folder_id", "join_method", "join_time", "modify_time", "tags"}
)
JOINED = datetime.datetime(2021, 1, 18, 8, 1, 50)  # default JoinTime of the management account; members follow daily
MANAGEMENT_DEFAULTS = {"type": "CloudAccount", "join_method": "invited"}  # undocumented for it; a seed may override


def _short_id(prefix: str, name: str) -> str:
    """Deterministic ids in the service's forms: rd-3G****, r-Wm****, fd-QRzuim****."""
    return f"{prefix}-{uuid.uuid5(KEY_ID_NAMESPACE, name).hex[:10]}"


@dataclasses.dataclass(frozen=True)
class Member:
    """One account of the directory, with the ListAccounts fields (snake_case)."""

    account_id: str
    display_name: str
    status: str = "CreateSuccess"
    type: str = "ResourceAccount"
    folder_id: str = ""  # default: the root folder
    join_method: str = "created"
    join_time: str = ""
    modify_time: str = ""
    tags: tuple = ()  # ((key, value), ...)

    def entry(self, directory: Directory, include_tags: bool) -> dict:
        folder = self.folder_id or directory.root_folder_id
        path = [directory.directory_id, directory.root_folder_id] + (
            [folder] if folder != directory.root_folder_id else []
        )
        account = {
            "AccountId": self.account_id,
            "DisplayName": self.display_name,
            "Status": self.status,
            "Type": self.type,
            "FolderId": folder,
            "JoinMethod": self.join_method,
            "JoinTime": self.join_time,
            "ModifyTime": self.modify_time or self.join_time,
            "ResourceDirectoryId": directory.directory_id,
            "ResourceDirectoryPath": "/".join(path + [self.account_id]),
        }
        if include_tags:
            account["Tags"] = {"Tag": [{"Key": key, "Value": value} for key, value in self.tags]}
        return account


@dataclasses.dataclass(frozen=True)
class Directory:
    """A Resource Directory: its management account is members[0], as ListAccounts lists it first."""

    management_account: str
    members: tuple  # (Member, ...) in listing order
    delegated_administrators: tuple = ()
    directory_id: str = ""
    root_folder_id: str = ""

    def member(self, account_id: str) -> Member | None:
        return next((m for m in self.members if m.account_id == account_id), None)


def make_member(spec, index: int, management: bool = False) -> Member:
    """A Member from a seed entry: an account id, or a dict of MEMBER_FIELDS (deny_role is the seeding's business)."""
    fields = {"account_id": spec} if not isinstance(spec, dict) else {k: v for k, v in spec.items() if k != "deny_role"}
    unknown = set(fields) - MEMBER_FIELDS
    if unknown:
        raise ValueError(f"unknown resource_directory member field(s) in seed: {', '.join(sorted(unknown))}")
    account_id = str(fields.pop("account_id"))
    if len(account_id) != 16 or not account_id.isdigit():
        raise ValueError(f"account id must be 16 digits: {account_id!r}")
    defaults = dict(MANAGEMENT_DEFAULTS) if management else {}
    defaults.update(
        display_name=f"{'management' if management else 'member'}-{account_id[-4:]}",
        join_time=(JOINED + datetime.timedelta(days=index, minutes=7 * index)).strftime("%Y-%m-%dT%H:%M:%S.522Z"),
    )
    fields = {**defaults, **{k: v for k, v in fields.items() if v is not None}}
    fields["tags"] = tuple((str(k), str(v)) for k, v in (fields.get("tags") or {}).items())
    for name, allowed in (("status", STATUSES), ("type", TYPES), ("join_method", JOIN_METHODS)):
        if name in fields and fields[name] not in allowed:
            raise ValueError(f"resource_directory {name} {fields[name]!r} is not one of {', '.join(allowed)}")
    return Member(account_id=account_id, **{k: str(v) if k != "tags" else v for k, v in fields.items()})


def make_directory(management, members, delegated_administrators=(), directory_id=None, root_folder_id=None):
    managing = make_member(management, 0, management=True)
    listed = [managing] + [make_member(spec, index) for index, spec in enumerate(members, start=1)]
    ids = [m.account_id for m in listed]
    if len(set(ids)) != len(ids):
        raise ValueError("resource_directory lists an account twice")
    delegated = tuple(str(a) for a in delegated_administrators or ())
    if set(delegated) - set(ids[1:]):
        raise ValueError("resource_directory delegated_administrators must be members")
    return Directory(
        management_account=managing.account_id,
        members=tuple(listed),
        delegated_administrators=delegated,
        directory_id=directory_id or _short_id("rd", managing.account_id)[:9],
        root_folder_id=root_folder_id or _short_id("r", managing.account_id + "/root")[:8],
    )


def _boolean(params: dict, name: str) -> bool:
    raw = params.get(name)
    if raw in (None, ""):
        return False
    if str(raw).strip().lower() not in ("true", "false"):
        raise invalid_parameter(name, "true or false")
    return str(raw).strip().lower() == "true"


def _tag_filter(params: dict) -> list:
    """Tag.N.Key / Tag.N.Value pairs as sent (the SDK flattens ListAccountsRequest.tag so); a pair without a value
    matches any value of its key."""
    pairs = {}
    for name, value in params.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "Tag" and parts[1].isdigit() and parts[2] in ("Key", "Value"):
            pairs.setdefault(int(parts[1]), {})[parts[2]] = value
    result = []
    for number in sorted(pairs):
        if not pairs[number].get("Key"):
            raise invalid_parameter(f"Tag.{number}.Key", "required with a tag value")
        result.append((pairs[number]["Key"], pairs[number].get("Value")))
    return result


def _matches(member: Member, wanted: list) -> bool:
    tags = dict(member.tags)
    return all(key in tags and (value in (None, "") or tags[key] == value) for key, value in wanted)


def list_accounts(directory: Directory | None, caller_account: str, params: dict) -> dict:
    """ListAccountsResponseBody without RequestId."""
    if directory is None or directory.member(caller_account) is None:
        raise ApiError(
            404,
            "EntityNotExists.ResourceDirectory",
            "The resource directory for the account is not enabled. "
            "We recommend that you first enable the resource directory for the account.",
        )
    if caller_account != directory.management_account and caller_account not in directory.delegated_administrators:
        raise ApiError(403, "MemberAccountAccessDenied", "The member account is not allowed to perform the operation.")
    page_number = parse_int(params, "PageNumber", 1, 1, None)
    page_size = parse_int(params, "PageSize", 10, 1, 100)
    include_tags = _boolean(params, "IncludeTags")
    wanted = _tag_filter(params)
    listed = [m for m in directory.members if _matches(m, wanted)]
    start = (page_number - 1) * page_size
    return {
        "Accounts": {"Account": [m.entry(directory, include_tags) for m in listed[start : start + page_size]]},
        "PageNumber": page_number,
        "PageSize": page_size,
        "TotalCount": len(listed),
    }
