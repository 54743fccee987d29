"""STS (2015-04-01) AssumeRole on the emulator's accounts: issues credentials that work only with their token.

Parameters, limits and error codes follow the SDK model (alibabacloud-sts20150401 1.2, AssumeRoleRequest docstrings)
and the AssumeRole API reference's error table (help.aliyun.com/document_detail/28763): 400 InvalidParameter.RoleArn,
.RoleSessionName, .DurationSeconds, .PolicyGrammar, .PolicySize; 403 NoPermission; 404 EntityNotExist.Role.
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
import uuid

from .backend import KEY_ID_NAMESPACE, ApiError, Backend

API_VERSION = "2015-04-01"
# Format: acs:ram::<account_id>:role/<role_name>; RAM role names: letters, digits, '.' and '-', at most 64.
ROLE_ARN_RE = re.compile(r"^acs:ram::(?P<account>\d{16}):role/(?P<name>[A-Za-z0-9.-]{1,64})$")
SESSION_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")  # "2 to 64 characters ... letters, digits, . @ - _"
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")  # "2 to 1,224 characters", [\w+=,.@:\/-]*
MIN_DURATION, DEFAULT_DURATION, MAX_POLICY = (
    900,
    3600,
    2048,
)  # "Minimum value: 900 ... Default value: 3600"; Policy 1..2048


def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def _duration(raw, role) -> int:
    if raw in (None, ""):
        return DEFAULT_DURATION
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if not MIN_DURATION <= value <= role.max_session_duration:
        raise _bad(
            "InvalidParameter.DurationSeconds",
            f"The Min/Max value of DurationSeconds is 15min/{role.max_session_duration}s.",
        )
    return value


def _check_policy(policy) -> None:
    if policy is None:
        return
    if len(policy) > MAX_POLICY:
        raise _bad("InvalidParameter.PolicySize", f"The size of Policy must be smaller than {MAX_POLICY} bytes.")
    try:
        document = json.loads(policy)
    except ValueError:
        document = None
    if not isinstance(document, dict) or "Statement" not in document:
        raise _bad("InvalidParameter.PolicyGrammar", "The parameter Policy has not passed grammar check.")


def assume_role(
    backend: Backend, caller_account: str, params: dict, now: float, session_seconds: int | None = None
) -> dict:
    """AssumeRoleResponseBody without RequestId; registers the new credentials in the role's account.

    session_seconds (the sts_session_seconds fault), when given, cuts the session short: the credentials expire then,
    whatever DurationSeconds asked for."""
    match = ROLE_ARN_RE.match(params.get("RoleArn") or "")
    if not match:
        raise _bad("InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
    session = params.get("RoleSessionName") or ""
    if not SESSION_NAME_RE.match(session):
        raise _bad("InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed.")
    if params.get("ExternalId") is not None and not EXTERNAL_ID_RE.match(params["ExternalId"]):
        raise _bad("InvalidParameter.ExternalId", "The parameter ExternalId is wrongly formed.")
    _check_policy(params.get("Policy"))
    with backend.lock:
        account = backend.accounts.get(match["account"])
        role = account.roles.get(match["name"]) if account else None
    if role is None:
        raise ApiError(404, "EntityNotExist.Role", "The specified Role not exists.")
    duration = _duration(params.get("DurationSeconds"), role)
    if session_seconds:
        duration = min(duration, session_seconds)
    if caller_account not in role.trusted_accounts:
        raise ApiError(
            403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM."
        )
    access_key_id = "STS.NU" + secrets.token_hex(11)
    secret, token = secrets.token_urlsafe(30), "CAIS" + secrets.token_urlsafe(96)
    role_account = match["account"]
    backend.add_access_key(role_account, access_key_id, secret, token, expires=now + duration)
    role_id = str(uuid.uuid5(KEY_ID_NAMESPACE, f"{role_account}/{role.name}").int)[:19]  # RAM role ids are 19 digits
    expiration = datetime.datetime.fromtimestamp(int(now) + duration, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    body = {
        "AssumedRoleUser": {
            "Arn": f"acs:ram::{role_account}:role/{role.name}/{session}",
            "AssumedRoleId": f"{role_id}:{session}",
        },
        "Credentials": {
            "AccessKeyId": access_key_id,
            "AccessKeySecret": secret,
            "SecurityToken": token,
            "Expiration": expiration,
        },
    }
    if params.get("SourceIdentity"):
        body["SourceIdentity"] = params["SourceIdentity"]
    return body


def get_caller_identity(access_key) -> dict:
    """GetCallerIdentityResponseBody without RequestId (alibabacloud-sts20150401, GetCallerIdentityResponseBody:
    AccountId, Arn, IdentityType, PrincipalId, RoleId, UserId). The emulator keeps no RAM users or sessions, so an
    STS credential is an AssumedRoleUser of an unnamed role and any other key the account itself."""
    account = access_key.account_id
    if access_key.security_token:
        return {
            "AccountId": account,
            "Arn": f"acs:ram::{account}:assumed-role/emulated/session",
            "IdentityType": "AssumedRoleUser",
            "PrincipalId": f"{access_key.id}:session",
            "RoleId": access_key.id,
        }
    return {
        "AccountId": account,
        "Arn": f"acs:ram::{account}:root",
        "IdentityType": "Account",
        "PrincipalId": account,
        "UserId": account,
    }
