# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection: credentials, endpoints and one retried, rate-limited call to the KMS API.

Signing and transport are alibabacloud-tea-openapi's; the credential chain is
alibabacloud-credentials'. This file only chooses between them and maps their
errors to KmsError.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import traceback

from ansible_collections.alicloud.kms.plugins.module_utils.argspec import ARGUMENT_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils.errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils.ratelimit import RateLimiter
from ansible_collections.alicloud.kms.plugins.module_utils.retry import call_with_retries

try:
    from alibabacloud_credentials.client import Client as _CredentialClient
    from alibabacloud_credentials.exceptions import CredentialException as _CredentialException
    from alibabacloud_credentials.provider import (
        CLIProfileCredentialsProvider as _ProfileProvider,
        DefaultCredentialsProvider as _DefaultProvider,
        RamRoleArnCredentialsProvider as _RamRoleArnProvider,
        StaticAKCredentialsProvider as _StaticAKProvider,
        StaticSTSCredentialsProvider as _StaticSTSProvider,
    )
    from alibabacloud_tea_openapi.client import Client as _OpenApiClient
    from alibabacloud_tea_openapi import utils_models as _api_models
    from darabonba.exceptions import ResponseException as _ResponseException, RetryError as _RetryError
    from darabonba.runtime import RuntimeOptions as _RuntimeOptions
    from Tea.exceptions import UnretryableException as _UnretryableException
    SDK_IMPORT_ERROR = None
except ImportError:
    SDK_IMPORT_ERROR = traceback.format_exc()

SDK_REQUIREMENT = "alibabacloud-tea-openapi and alibabacloud-credentials"
API_VERSION = "2016-01-20"
DEFAULT_REGION = "cn-hangzhou"

# option -> environment variables, first found wins (the alibaba.alicloud names, then the SDK's)
ENVIRONMENT = {
    "access_key_id": ("ALICLOUD_ACCESS_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
    "access_key_secret": ("ALICLOUD_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    "security_token": ("ALICLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_SECURITY_TOKEN"),
    "region": ("ALICLOUD_REGION", "ALIBABA_CLOUD_REGION_ID"),
    "profile": ("ALICLOUD_PROFILE",),
    "assume_role_arn": ("ALICLOUD_ASSUME_ROLE_ARN",),
}
# the faces' defaults and choices apply also when the core is called directly (plugins, benchmark)
DEFAULTS = dict((name, spec["default"]) for name, spec in ARGUMENT_SPEC.items() if "default" in spec)
CHOICES = dict((name, tuple(spec["choices"])) for name, spec in ARGUMENT_SPEC.items() if "choices" in spec)

_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_ENDPOINT = re.compile(r"^[A-Za-z0-9.{}_-]+(:[0-9]{1,5})?$")
_PROXY = re.compile(r"^(https?|socks5h?)://[^/\s]+/?$")
# Transport errors may quote the request URL; V1-signed URLs carry credentials.
_URL_IN_MESSAGE = re.compile(r"(with url: )\S+|https?://\S+")


class _NoSdkDebug(logging.Filter):
    """The SDK attaches its own stderr handler and, with DEBUG=sdk, dumps every request header through it,
    the signature and the STS token included. Drop those records before any handler (or its lock) is involved:
    a handler lock inherited locked by a forked ansible-core 2.16-2.18 worker would otherwise hang the lookup."""

    def filter(self, record):
        return record.levelno > logging.DEBUG


def _guard_sdk_loggers():
    for name in ("darabonba-core", "alibabacloud-tea"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoSdkDebug) for f in logger.filters):
            logger.addFilter(_NoSdkDebug())


def check_region(region, option="region"):
    if not isinstance(region, str) or not _REGION.match(region):
        raise KmsOptionError(option, "%r is not a region ID; expected a form like cn-hangzhou or ap-southeast-1" % (region,))
    return region


def _number(options, name, minimum, maximum, integer=False):
    value = options.get(name)
    value = DEFAULTS[name] if value is None else value
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not minimum <= value <= maximum:
        raise KmsOptionError(name, "must be %s from %s to %s, got %r" % (
            "an integer" if integer else "a number", minimum, maximum, value))
    return value


class Connection(object):
    """Validated connection settings and the per-region clients built from them."""

    def __init__(self, options, environ=None, log=None):
        env = os.environ if environ is None else environ
        self._log = log
        values = dict((k, v) for k, v in options.items() if v is not None and v != "")
        for name, variables in ENVIRONMENT.items():
            if name not in values:
                found = [env[v] for v in variables if env.get(v)]
                if found:
                    values[name] = found[0]
        for name, allowed in CHOICES.items():
            value = values.get(name, DEFAULTS[name])
            if value not in allowed:
                raise KmsOptionError(name, "must be one of %s, got %r" % (", ".join(allowed), value))
            values[name] = value
        self.network = values["network"]
        self.protocol = values["protocol"]
        self.validate_certs = bool(values.get("validate_certs", True))
        self.connect_timeout = _number(values, "connect_timeout", 0.1, 600)
        self.read_timeout = _number(values, "read_timeout", 0.1, 3600)
        self.max_retries = _number(values, "max_retries", 0, 20, integer=True)
        self.rate_limit = _number(values, "rate_limit", 0.1, 1000)
        self.deadline = _number(values, "deadline", 1, 86400)
        self._end = time.monotonic() + self.deadline  # one budget for the whole run, retries included
        self.endpoint = values.get("endpoint")
        if self.endpoint is not None and not _ENDPOINT.match(self.endpoint):
            raise KmsOptionError("endpoint", "%r is not host[:port]; give a host name such as kms.cn-hangzhou.aliyuncs.com "
                                 "or 127.0.0.1:8080 (it may contain {region}), without scheme or path; "
                                 "choose http or https with the protocol option" % (self.endpoint,))
        for name in ("http_proxy", "https_proxy"):
            proxy = values.get(name)
            if proxy is not None and not _PROXY.match(proxy):
                raise KmsOptionError(name, "%r is not a proxy URL; expected scheme://host[:port], "
                                     "for example http://proxy.example.com:3128" % (proxy,))
        self.http_proxy = values.get("http_proxy")
        self.https_proxy = values.get("https_proxy")
        self.region = check_region(values["region"]) if "region" in values else None
        self._credential_values = dict((k, values.get(k)) for k in (
            "access_key_id", "access_key_secret", "security_token", "profile",
            "assume_role_arn", "assume_role_session_name"))
        if bool(self._credential_values["access_key_id"]) != bool(self._credential_values["access_key_secret"]):
            missing = "access_key_secret" if self._credential_values["access_key_id"] else "access_key_id"
            raise KmsOptionError(missing, "access_key_id and access_key_secret must be given together")
        self._credential = None
        self._clients = {}
        self._limiters = {}
        self._lock = threading.Lock()

    def _credentials(self):
        """Explicit keys, else a CLI profile, else the SDK's default chain; optionally assume a role."""
        if SDK_IMPORT_ERROR:
            raise KmsError("MissingLibrary", "install %s" % SDK_REQUIREMENT)
        _guard_sdk_loggers()
        c = self._credential_values
        if c["access_key_id"] and c["security_token"]:
            provider = _StaticSTSProvider(access_key_id=c["access_key_id"], access_key_secret=c["access_key_secret"],
                                          security_token=c["security_token"])
        elif c["access_key_id"]:
            provider = _StaticAKProvider(access_key_id=c["access_key_id"], access_key_secret=c["access_key_secret"])
        elif c["profile"]:
            provider = _ProfileProvider(profile_name=c["profile"])
        else:
            provider = _DefaultProvider()
        if c["assume_role_arn"]:
            provider = _RamRoleArnProvider(credentials_provider=provider, role_arn=c["assume_role_arn"],
                                           role_session_name=c["assume_role_session_name"] or DEFAULTS["assume_role_session_name"])
        return _CredentialClient(provider=provider)

    def endpoint_for(self, region):
        if self.endpoint:
            return self.endpoint.replace("{region}", region)
        return "kms%s.%s.aliyuncs.com" % ("-vpc" if self.network == "vpc" else "", region)

    def _client(self, region):
        with self._lock:
            if region not in self._clients:
                if self._credential is None:
                    self._credential = self._credentials()
                config = _api_models.Config(
                    credential=self._credential, region_id=region, endpoint=self.endpoint_for(region),
                    protocol=self.protocol, http_proxy=self.http_proxy, https_proxy=self.https_proxy,
                    user_agent="alicloud.kms-ansible")
                self._clients[region] = _OpenApiClient(config)
                self._limiters[region] = RateLimiter(self.rate_limit)
            return self._clients[region], self._limiters[region]

    def call(self, region, action, query=None):
        """One API call with retries; returns the response body as a dict."""
        client, limiter = self._client(region)

        def attempt():
            limiter.wait()
            remaining = self._end - time.monotonic()
            if remaining <= 0:
                raise KmsError("DeadlineExceeded", "the deadline of %ss passed before the request could be sent; "
                               "raise deadline or narrow the listing" % self.deadline, region=region, action=action)
            return self._send(client, region, action, query or {}, remaining)

        def on_retry(error):
            if error.status == 429 or (error.code or "").startswith(("Throttling", "Rejected.Throttling")):
                limiter.slow_down()
            if self._log:
                self._log("retrying %s in %s after %s (RequestId: %s)" % (action, region, error.code, error.request_id))

        return call_with_retries(attempt, self.max_retries, on_retry=on_retry, deadline=self._end)

    def _send(self, client, region, action, query, remaining):
        params = _api_models.Params(action=action, version=API_VERSION, protocol=self.protocol.upper(), pathname="/",
                                    method="POST", auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
        request = _api_models.OpenApiRequest(query=dict((k, str(v)) for k, v in query.items() if v is not None))
        # No single request may outlive the run's deadline.
        runtime = _RuntimeOptions(ignore_ssl=not self.validate_certs,
                                  connect_timeout=max(1, int(min(self.connect_timeout, remaining) * 1000)),
                                  read_timeout=max(1, int(min(self.read_timeout, remaining) * 1000)))
        try:
            body = client.call_api(params, request, runtime).get("body")
        except Exception as exc:  # pylint: disable=broad-except
            raise _to_kms_error(exc, region, action) from None
        if not isinstance(body, dict):
            raise KmsError("MalformedResponse", "the response body is not a JSON object", region=region, action=action)
        return body


def _clean(text):
    return _URL_IN_MESSAGE.sub(lambda m: (m.group(1) or "") + "<url>", str(text))


def _to_kms_error(exc, region, action):
    """Map an SDK exception to KmsError without touching the request (it holds the signature)."""
    if isinstance(exc, _ResponseException):
        data = exc.data if isinstance(exc.data, dict) else {}
        error = KmsError(exc.code or "UnknownError", data.get("Message") or exc.message or "",
                         request_id=data.get("RequestId") or getattr(exc, "request_id", None),
                         region=region, action=action, status=exc.status_code)
        # x-acs-retry-after is in milliseconds
        error.retry_after = exc.retry_after / 1000.0 if getattr(exc, "retry_after", None) else None
        return error
    inner = getattr(exc, "inner_exception", None) if isinstance(exc, _UnretryableException) else exc
    if isinstance(inner, _RetryError):
        return KmsError("ConnectionError", _clean(inner.message), region=region, action=action)
    # darabonba re-raises a JSON decoding error as a RuntimeError quoting the body; keep only the fact.
    if isinstance(inner, json.JSONDecodeError) or isinstance(inner.__context__, json.JSONDecodeError):
        return KmsError("MalformedResponse", "the response body is not valid JSON (a proxy or gateway error page?)",
                        region=region, action=action)
    if isinstance(inner, (_CredentialException, ValueError)):
        return KmsError("InvalidCredentials", "no usable credentials: %s; set access_key_id and access_key_secret, "
                        "a profile, or the ALICLOUD_ACCESS_KEY/ALICLOUD_SECRET_KEY environment variables" % _clean(inner),
                        region=region, action=action)
    return KmsError(type(inner).__name__, _clean(inner), region=region, action=action)
