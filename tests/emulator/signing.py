"""Verification of the two signatures alibabacloud-tea-openapi produces.

V3 (ACS3-HMAC-SHA256, the SDK default) mirrors ``Utils.get_authorization``; V1 (HMAC-SHA1, the SDK's
``signature_algorithm='v2'``) mirrors ``Utils.get_rpcsignature``. Both are recomputed from what arrived
on the wire, so a client that signs anything differently from the SDK is caught here.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import hmac
import re
import threading
import time
from collections import OrderedDict
from urllib.parse import quote

from .backend import AccessKey, ApiError

MAX_CLOCK_SKEW = 15 * 60  # seconds, both for timestamps and for remembering nonces
V3_ALGORITHM = "ACS3-HMAC-SHA256"
V3_REQUIRED_HEADERS = ("host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256")
AUTHORIZATION_RE = re.compile(
    r"^(?P<alg>\S+)\s+Credential=(?P<ak>[^,\s]+)\s*,\s*SignedHeaders=(?P<signed>[^,\s]*)\s*,\s*Signature=(?P<sig>[0-9a-fA-F]+)$"
)


@dataclasses.dataclass
class WireRequest:
    """What signing needs from an HTTP request, already parsed by the server."""

    method: str
    path: str
    query: list  # decoded (name, value) pairs in wire order
    headers: dict  # lower-case name -> list of values
    body: bytes = b""
    form: list = dataclasses.field(default_factory=list)  # decoded form body pairs

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[-1] if values else None


@dataclasses.dataclass
class Credentials:
    """The claims a request makes, and how to check its signature against a secret."""

    version: str  # 'v3' or 'v1'
    access_key_id: str
    timestamp: str | None
    nonce: str | None
    security_token: str | None
    expected: object  # callable(secret) -> the signature the request should carry
    signature: str

    def matches(self, secret: str) -> bool:
        return hmac.compare_digest(self.expected(secret), self.signature)


def _encode(value: str) -> str:
    return quote(value, safe="~", encoding="utf-8")


def v3_credentials(request: WireRequest, authorization: str) -> Credentials:
    match = AUTHORIZATION_RE.match(authorization.strip())
    if not match:
        raise ApiError(400, "IncompleteSignature", "The Authorization header is malformed.")
    if match["alg"] != V3_ALGORITHM:
        raise ApiError(400, "IncompleteSignature", f"The signature algorithm is not supported; use {V3_ALGORITHM}.")
    signed = match["signed"].split(";") if match["signed"] else []
    missing = [h for h in V3_REQUIRED_HEADERS if h not in signed]
    if missing:
        raise ApiError(400, "IncompleteSignature", f"The request must sign the headers: {', '.join(missing)}.")
    query = dict(request.query)
    canonical_query = "&".join(f"{name}={_encode(query[name])}" for name in sorted(query))
    canonical_headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in request.headers.get(name, [])))}\n" for name in signed
    )
    payload_hash = hashlib.sha256(request.body).hexdigest()  # what arrived, not what the client claims
    canonical = "\n".join(
        (request.method, request.path or "/", canonical_query, canonical_headers, ";".join(signed), payload_hash)
    )
    string_to_sign = f"{V3_ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"

    def expected(secret: str) -> str:
        return hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()

    return Credentials(
        "v3",
        match["ak"],
        request.header("x-acs-date"),
        request.header("x-acs-signature-nonce"),
        request.header("x-acs-security-token"),
        expected,
        match["sig"].lower(),
    )


def v1_credentials(request: WireRequest) -> Credentials:
    params = dict(request.query)
    params.update(request.form)
    signature = params.pop("Signature")
    if not params.get("AccessKeyId"):
        raise ApiError(400, "IncompleteSignature", "The input parameter AccessKeyId is not supplied.")
    if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
        raise ApiError(400, "IncompleteSignature", "SignatureMethod must be HMAC-SHA1 and SignatureVersion 1.0.")
    canonical = "&".join(f"{_encode(name)}={_encode(params[name])}" for name in sorted(params))
    string_to_sign = f"{request.method}&%2F&{_encode(canonical)}"

    def expected(secret: str) -> str:
        digest = hmac.new(f"{secret}&".encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
        return base64.b64encode(digest).decode("ascii")

    return Credentials(
        "v1",
        params["AccessKeyId"],
        params.get("Timestamp"),
        params.get("SignatureNonce"),
        params.get("SecurityToken"),
        expected,
        signature,
    )


def credentials(request: WireRequest) -> Credentials:
    authorization = request.header("authorization")
    if authorization:
        return v3_credentials(request, authorization)
    if any(pair[0] == "Signature" for pair in request.query + request.form):
        return v1_credentials(request)
    raise ApiError(
        400,
        "MissingSignature",
        'The input parameter "Signature" that is mandatory for processing this request is not supplied.',
    )


TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def parse_timestamp(value: str | None) -> float:
    """Timestamp (V1) or x-acs-date (V3): UTC ISO 8601 'YYYY-MM-DDThh:mm:ssZ', as the SDK's Utils.get_timestamp sends it.

    Anything else is IllegalTimestamp (400), the common POP error code the KMS error samples show.
    """
    if not value:
        raise ApiError(400, "MissingTimestamp", "The input parameter Timestamp (or header x-acs-date) is not supplied.")
    try:
        if not TIMESTAMP_RE.match(value):
            raise ValueError(value)
        moment = datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ApiError(
            400,
            "IllegalTimestamp",
            'The input parameter "Timestamp" that is mandatory for processing this request is not supplied.',
        ) from None
    return moment.timestamp()


class Authenticator:
    """Applies the checks in the service's order and remembers nonces per access key."""

    def __init__(self, lookup, clock=time.time):
        self.lookup = lookup  # access key id -> AccessKey or None
        self.clock = clock
        self.lock = threading.Lock()
        self.nonces: dict[str, OrderedDict] = {}  # access key id -> nonce -> first seen, oldest first

    def reset(self) -> None:
        with self.lock:
            self.nonces.clear()

    def authenticate(self, request: WireRequest) -> tuple[AccessKey, str]:
        claims = credentials(request)
        access_key = self.lookup(claims.access_key_id)
        if access_key is None:
            raise ApiError(
                404, "InvalidAccessKeyId.NotFound", "The Access Key ID provided does not exist in our records."
            )
        if not claims.matches(access_key.secret):
            raise ApiError(400, "SignatureDoesNotMatch", "The request signature does not conform to Aliyun standards.")
        now = self.clock()
        if abs(now - parse_timestamp(claims.timestamp)) > MAX_CLOCK_SKEW:
            raise ApiError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        self._use_nonce(access_key.id, claims.nonce, now)
        self._check_token(access_key, claims.security_token)
        if access_key.expires is not None and now >= access_key.expires:
            raise ApiError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
        return access_key, claims.version

    def _use_nonce(self, access_key_id: str, nonce: str | None, now: float) -> None:
        if not nonce:
            raise ApiError(400, "MissingSignatureNonce", "The input parameter SignatureNonce is not supplied.")
        with self.lock:
            seen = self.nonces.setdefault(access_key_id, OrderedDict())
            while seen and now - next(iter(seen.values())) > MAX_CLOCK_SKEW:
                seen.popitem(last=False)  # older than any timestamp we would still accept
            if nonce in seen:
                raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            seen[nonce] = now

    @staticmethod
    def _check_token(access_key: AccessKey, token: str | None) -> None:
        if access_key.security_token and not token:
            raise ApiError(
                400, "InvalidSecurityToken.MissingParameter", "The security token is required for this access key."
            )
        if not hmac.compare_digest((token or "").encode("utf-8"), access_key.security_token.encode("utf-8")):
            raise ApiError(
                400, "InvalidSecurityToken.Mismatch", "Specified security token does not match the access key."
            )
