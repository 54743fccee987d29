# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""Connection: one retried, rate-limited call to KMS or STS, with the credentials the options resolve to.

Signing and transport are alibabacloud-tea-openapi's; the credential chain is alibabacloud-credentials'.
AssumeRole is sent here too, through the same client settings (protocol, proxies, timeouts, retries,
deadline), instead of the credentials library's own RAM role provider, which speaks only https, ignores
these options and logs the signed URL when it fails.
"""

from __future__ import annotations

import calendar
import json
import logging
import threading
import time
import traceback

from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import DEFAULT_REGION, ConnectionOptions
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError
from ansible_collections.alicloud.kms.plugins.module_utils._ratelimit import RateLimiter
from ansible_collections.alicloud.kms.plugins.module_utils._records import ACCOUNT_ID
from ansible_collections.alicloud.kms.plugins.module_utils._retry import call_with_retries, is_retryable, is_throttling

try:
    from alibabacloud_credentials.client import Client as _CredentialClient
    from alibabacloud_credentials.exceptions import CredentialException as _CredentialException
    from alibabacloud_credentials.provider import (
        CLIProfileCredentialsProvider as _ProfileProvider,
    )
    from alibabacloud_credentials.provider import (
        DefaultCredentialsProvider as _DefaultProvider,
    )
    from alibabacloud_credentials.provider import (
        StaticAKCredentialsProvider as _StaticAKProvider,
    )
    from alibabacloud_credentials.provider import (
        StaticSTSCredentialsProvider as _StaticSTSProvider,
    )
    from alibabacloud_credentials.provider.refreshable import Credentials as _Credentials
    from alibabacloud_credentials_api import ICredentialsProvider as _ProviderBase
    from alibabacloud_tea_openapi import utils_models as _api_models
    from alibabacloud_tea_openapi.client import Client as _OpenApiClient
    from darabonba.exceptions import ResponseException as _ResponseException
    from darabonba.exceptions import RetryError as _RetryError
    from darabonba.runtime import RuntimeOptions as _RuntimeOptions
    from Tea.exceptions import UnretryableException as _UnretryableException

    SDK_IMPORT_ERROR = None
except ImportError:
    SDK_IMPORT_ERROR = traceback.format_exc()
    _ProviderBase = object

SDK_REQUIREMENT = "alibabacloud-tea-openapi and alibabacloud-credentials"
# service -> API version (alibabacloud-kms20160120, alibabacloud-sts20150401, alibabacloud-resourcemanager20200331)
API_VERSIONS = {"kms": "2016-01-20", "sts": "2015-04-01", "resourcemanager": "2020-03-31"}
ASSUME_ROLE_SECONDS = 3600  # STS default and the role's default maximum session
REFRESH_MARGIN = 300  # assume the role again when its credentials have less than this left

# Loggers of the SDK stack that can print signed URLs, headers or credentials. The collection reports every
# failure itself, so their records are dropped before any handler (or its lock) sees them: a handler lock
# inherited locked by a forked ansible-core 2.16-2.18 worker would otherwise hang the run.
_SDK_LOGGERS = ("darabonba-core", "alibabacloud-tea", "credentials", "urllib3")


class _Silence(logging.Filter):
    def filter(self, record):
        return False


def _guard_sdk_loggers():
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Silence) for f in logger.filters):
            logger.addFilter(_Silence())


class RunState(object):
    """What every connection of one run shares: the deadline, the bound on requests in flight, the counts."""

    def __init__(self, options, log):
        self.end = time.monotonic() + options.deadline  # one budget for the whole run, retries included
        self.slots = threading.BoundedSemaphore(options.max_in_flight)
        self.log = log
        self.lock = threading.Lock()
        self.requests = {}  # action -> requests sent, retries included
        self.retries = 0
        self.opened = set()  # endpoints a request has reached: the SDK keeps an HTTP session for each
        self._opening = {}

    def first_to(self, endpoint):
        """A lock to hold while sending the first request to endpoint, or None once one was sent.

        The SDK builds one HTTP session (connection pool, TLS context) per endpoint on first use, unguarded: every
        thread that starts before it exists builds its own, which costs tens of ms of CPU each. The first request
        builds it; the others wait for it and then share its connections, whatever account they read."""
        if endpoint in self.opened:
            return None
        with self.lock:
            return None if endpoint in self.opened else self._opening.setdefault(endpoint, threading.Lock())

    def count(self, action):
        with self.lock:
            self.requests[action] = self.requests.get(action, 0) + 1

    def retried(self):
        with self.lock:
            self.retries += 1


class CredentialCache(object):
    """Roles assumed by one long-lived caller, kept across its runs (the event source polls with a new Connection
    each time): a role is assumed again only when its credentials near expiry (REFRESH_MARGIN), not once per run.

    Keyed by role ARN; it holds credentials in memory only, never writes or shows them. clear() forgets them all
    (the caller's identity changed, or the service refused a token)."""

    def __init__(self):
        self._roles = {}
        self._lock = threading.Lock()

    def provider(self, key, make, connection, source):
        """The role's provider, bound to this run's connection and source credentials; made by make() if new."""
        with self._lock:
            provider = self._roles.get(key)
            if provider is None:
                provider = self._roles[key] = make()
            else:
                provider.rebind(connection, source)
            return provider

    def clear(self):
        with self._lock:
            self._roles.clear()


class Connection(object):
    """Validated options and the clients built from them: one per service and region, each with its rate limiter.

    A run reads several accounts through child connections (for_role): each has its own credentials, so its
    own clients and rate limiters (the quota is per account and region), and shares the run's state.
    """

    def __init__(self, options, environ=None, log=None, warn=None, _parent=None, _role=None):
        if _parent is None:
            self.options = ConnectionOptions(options, environ, warn=warn)
            self.run = RunState(self.options, log)
        else:
            self.options, self.run = _parent.options, _parent.run
        self._parent = _parent
        self._role = _role
        self.cache = _parent.cache if _parent is not None else None
        self._credential = None
        self._clients = {}
        self._limiters = {}
        self._lock = threading.RLock()

    @property
    def region(self):
        return self.options.region

    @property
    def deadline(self):
        return self.options.deadline

    def keep_credentials(self, cache):
        """Take assumed roles from cache (a CredentialCache) and keep new ones there; before the first request."""
        self.cache = cache

    def _assumed(self, connection, source, region, role, session):
        def make():
            return _AssumedRole(connection, source, region, role, session)

        if self.cache is None:
            return make()
        return self.cache.provider((role, session), make, connection, source)

    def for_role(self, role_arn):
        """A connection with the credentials of role_arn, assumed (once, on first use) with this one's."""
        return Connection(None, _parent=self, _role=role_arn)

    def _source_provider(self):
        """Explicit keys, else a CLI profile, else the SDK's default chain."""
        c = self.options.credentials
        if c["access_key_id"] and c["security_token"]:
            return _StaticSTSProvider(
                access_key_id=c["access_key_id"],
                access_key_secret=c["access_key_secret"],
                security_token=c["security_token"],
            )
        if c["access_key_id"]:
            return _StaticAKProvider(access_key_id=c["access_key_id"], access_key_secret=c["access_key_secret"])
        if c["profile"]:
            return _ProfileProvider(profile_name=c["profile"])
        return _DefaultProvider()

    def _credentials(self, region):
        with self._lock:
            if self._credential is None:
                if SDK_IMPORT_ERROR:
                    raise KmsError("MissingLibrary", "install %s" % SDK_REQUIREMENT)
                _guard_sdk_loggers()
                session = self.options.credentials["assume_role_session_name"]
                sts_region = self.region or region
                if self._parent is not None:  # a member account: its role, assumed with the caller's credentials
                    source = self._parent._credentials(region)  # pylint: disable=protected-access
                    self._credential = _CredentialClient(
                        provider=self._assumed(self._parent, source, sts_region, self._role, session)
                    )
                    return self._credential
                source = _CredentialClient(provider=self._source_provider())
                role = self.options.credentials["assume_role_arn"]
                if role:
                    source = _CredentialClient(provider=self._assumed(self, source, sts_region, role, session))
                self._credential = source
            return self._credential

    def _client(self, service, region, credential=None):
        """The client and the rate limiter of one service and region with these credentials (or credential's).

        Each quota has its limiter: KMS is paced per account and region (rate_limit), ResourceManager per account
        (rate_limit), STS per calling identity (sts_rate_limit; AssumeRole's quota is per calling account), so that
        every AssumeRole of a run, whatever region's STS endpoint it goes to, shares one pace."""
        with self._lock:
            name = (service, region, id(credential) if credential else None)
            if name not in self._clients:
                o = self.options
                config = _api_models.Config(
                    credential=credential or self._credentials(region),
                    region_id=region or o.region or DEFAULT_REGION,
                    endpoint=o.service_endpoint(service, region),
                    protocol=o.protocol,
                    http_proxy=o.http_proxy,
                    https_proxy=o.https_proxy,
                    user_agent="alicloud.kms-ansible",
                )
                pace = (service, region) if service == "kms" else (service, id(credential) if credential else None)
                if pace not in self._limiters:
                    self._limiters[pace] = RateLimiter(o.sts_rate_limit if service == "sts" else o.rate_limit)
                self._clients[name] = (_OpenApiClient(config), self._limiters[pace])
            return self._clients[name]

    def credentials_now(self):
        """Resolve the credentials (assume the role) now rather than on the first request."""
        self._credentials(self.region).get_credential()

    def caller_account(self):
        """The account ID of these credentials (STS GetCallerIdentity)."""
        body = self.call(self.region, "GetCallerIdentity", service="sts")
        account = body.get("AccountId")
        if not isinstance(account, str) or not ACCOUNT_ID.match(account):
            raise KmsError(
                "MalformedResponse",
                "GetCallerIdentity returned no AccountId",
                body.get("RequestId"),
                action="GetCallerIdentity",
            )
        return account

    def call(self, region, action, query=None, service="kms", credential=None, idempotent=True):
        """One API call with retries; returns the response body as a dict. A request that must not run twice
        (idempotent false: CreateKey) is retried only when the service throttled it, which it then did not run."""
        client, limiter = self._client(service, region, credential)
        run = self.run

        ticket = [None]

        def attempt():
            ticket[0] = limiter.wait()
            remaining = run.end - time.monotonic()
            if remaining <= 0:
                raise KmsError(
                    "DeadlineExceeded",
                    "the deadline of %ss passed before the request could be sent; "
                    "raise deadline or narrow the listing" % self.deadline,
                    region=region,
                    action=action,
                )
            if credential is None and (self._parent is not None or self.options.credentials["assume_role_arn"]):
                # a role is assumed (or renewed) before taking a slot: AssumeRole needs one too
                self._credentials(region).get_credential()
            run.count(action)
            endpoint = self.options.service_endpoint(service, region)

            def send():
                with run.slots:
                    body = self._send(client, service, region, action, query or {}, run.end - time.monotonic())
                limiter.succeeded()
                return body

            gate = run.first_to(endpoint)
            if gate is not None:
                with gate:
                    if endpoint not in run.opened:  # the first: it builds the session the others wait for
                        try:
                            return send()
                        finally:
                            run.opened.add(endpoint)
            # the session exists: sent at once, also by those that waited for it (never one by one behind the gate)
            return send()

        def on_retry(error):
            run.retried()
            if is_throttling(error):
                limiter.slow_down(ticket=ticket[0])
            if run.log:
                run.log("retrying %s in %s after %s (RequestId: %s)" % (action, region, error.code, error.request_id))

        return call_with_retries(
            attempt,
            self.options.max_retries,
            on_retry=on_retry,
            deadline=run.end,
            retryable=is_retryable if idempotent else is_throttling,
            unbounded=is_throttling,  # throttling slows the run down (on_retry), it never ends it before the deadline
        )

    def _send(self, client, service, region, action, query, remaining):
        o = self.options
        params = _api_models.Params(
            action=action,
            version=API_VERSIONS[service],
            protocol=o.protocol.upper(),
            pathname="/",
            method="POST",
            auth_type="AK",
            style="RPC",
            req_body_type="formData",
            body_type="json",
        )
        request = _api_models.OpenApiRequest(query=dict((k, str(v)) for k, v in query.items() if v is not None))
        connect_ms, read_ms = timeouts_ms(o, remaining)
        # max_idle_conns: the SDK's pool per endpoint keeps as many connections as may be in flight (its default, 40,
        # would close and reopen the others), shared by every account the run reads
        runtime = _RuntimeOptions(
            ignore_ssl=not o.validate_certs,
            connect_timeout=connect_ms,
            read_timeout=read_ms,
            max_idle_conns=o.max_in_flight,
        )
        try:
            body = client.call_api(params, request, runtime).get("body")
        except Exception as exc:  # pylint: disable=broad-except
            where = region if service == "kms" else None  # STS and ResourceManager answer for every region
            raise _to_kms_error(exc, where, action, client._endpoint) from None  # pylint: disable=protected-access
        if not isinstance(body, dict):
            raise KmsError("MalformedResponse", "the response body is not a JSON object", region=region, action=action)
        return body


def timeouts_ms(options, remaining):
    """(connect, read) timeouts in ms for one request: no single request may outlive the run's deadline."""
    return tuple(max(1, int(min(limit, remaining) * 1000)) for limit in (options.connect_timeout, options.read_timeout))


class _AssumedRole(_ProviderBase):
    """Credentials of a RAM role, assumed with STS AssumeRole through the connection and renewed before they expire."""

    def __init__(self, connection, source, region, role_arn, session_name):
        self._connection = connection
        self._source = source
        self._region = region
        self._query = {"RoleArn": role_arn, "RoleSessionName": session_name, "DurationSeconds": ASSUME_ROLE_SECONDS}
        self._lock = threading.Lock()
        self._value = None
        self._expires = 0
        self._margin = REFRESH_MARGIN

    def rebind(self, connection, source):
        """Assume (or renew) through another run's connection and source credentials, keeping what was assumed."""
        with self._lock:
            self._connection, self._source = connection, source

    def get_credentials(self):
        with self._lock:
            if self._value is None or self._expires - time.time() < self._margin:
                self._value, self._expires = self._assume()
                # renewed REFRESH_MARGIN before expiry, or halfway through a session shorter than twice that: a short
                # session is renewed once per half-life, not before every request
                self._margin = min(REFRESH_MARGIN, max(0.0, self._expires - time.time()) / 2.0)
            return self._value

    async def get_credentials_async(self):
        return self.get_credentials()

    def get_provider_name(self):
        return "alicloud.kms/assume_role"

    def _assume(self):
        body = self._connection.call(self._region, "AssumeRole", self._query, service="sts", credential=self._source)
        issued = body.get("Credentials") if isinstance(body.get("Credentials"), dict) else {}
        try:
            expires = calendar.timegm(time.strptime(issued.get("Expiration") or "", "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            expires = None
        if (
            not all(
                isinstance(issued.get(k), str) and issued.get(k)
                for k in ("AccessKeyId", "AccessKeySecret", "SecurityToken")
            )
            or expires is None
        ):
            raise KmsError(
                "MalformedResponse",
                "AssumeRole returned no usable Credentials",
                body.get("RequestId"),
                self._region,
                "AssumeRole",
            )
        value = _Credentials(
            access_key_id=issued["AccessKeyId"],
            access_key_secret=issued["AccessKeySecret"],
            security_token=issued["SecurityToken"],
            expiration=expires,
            provider_name=self.get_provider_name(),
        )
        return value, expires


def _inner(exc):
    """The exception the SDK wrapped (it wraps everything raised while sending, ours included)."""
    inner = exc
    while isinstance(inner, _UnretryableException) and getattr(inner, "inner_exception", None) is not None:
        inner = inner.inner_exception
    return inner


def _to_kms_error(exc, region, action, endpoint=None):
    """Map an SDK exception to KmsError.

    Only the service's own Code, Message and RequestId are quoted. The text of any other exception may quote a
    signed URL, a header or a credential (requests quotes an invalid header's value), so it is never used: the
    error says what kind of failure it was and where.
    """
    inner = _inner(exc)
    if isinstance(inner, KmsError):
        return inner
    if isinstance(inner, _ResponseException):
        data = inner.data if isinstance(inner.data, dict) else {}
        retry_after = getattr(inner, "retry_after", None)
        return KmsError(
            inner.code or "UnknownError",
            data.get("Message") or "(no message)",
            request_id=data.get("RequestId") or getattr(inner, "request_id", None),
            region=region,
            action=action,
            status=inner.status_code,
            retry_after=retry_after / 1000.0 if retry_after else None,
        )  # x-acs-retry-after is in ms
    # darabonba re-raises a JSON decoding error as a RuntimeError quoting the body.
    if isinstance(inner, json.JSONDecodeError) or isinstance(inner.__context__, json.JSONDecodeError):
        return KmsError(
            "MalformedResponse",
            "the response body is not valid JSON (a proxy or gateway error page?)",
            region=region,
            action=action,
        )
    if isinstance(inner, _CredentialException) or type(inner) is ValueError:  # pylint: disable=unidiomatic-typecheck
        # the credential providers' own checks (an empty or missing key)
        return KmsError(
            "InvalidCredentials",
            "no usable credentials were found; set access_key_id and access_key_secret, "
            "a profile, or the ALICLOUD_ACCESS_KEY/ALICLOUD_SECRET_KEY environment variables",
            region=region,
            action=action,
        )
    if isinstance(inner, _RetryError):  # darabonba's wrapper of every transport (IOError) failure
        cause = inner.__context__ or inner
        kind = type(cause).__name__
        if "Timeout" in kind or "timed out" in _safe_str(cause):
            why = "no response within connect_timeout/read_timeout"
        else:
            why = "%s; check endpoint, network, protocol and proxies" % kind
        return KmsError(
            "ConnectionError", "the request to %s failed: %s" % (endpoint, why), region=region, action=action
        )
    return KmsError(
        "UnexpectedError",
        "%s while sending the request to %s" % (type(inner).__name__, endpoint),
        region=region,
        action=action,
    )


def _safe_str(exc):
    """For classification only, never for a message."""
    try:
        return str(exc)
    except Exception:  # pylint: disable=broad-except
        return ""
