# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""ConnectionOptions: the connection settings resolved from options and environment, validated before any request."""

from __future__ import annotations

import os
import re

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import ARGUMENT_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError

DEFAULT_REGION = "cn-hangzhou"
DEFAULT_STS_ENDPOINT = "sts.aliyuncs.com"
RESOURCE_MANAGER_ENDPOINT = "resourcemanager.aliyuncs.com"  # ListAccounts; a global endpoint
# option -> environment variables, first found wins (the alibaba.alicloud names, then the SDK's)
ENVIRONMENT = {
    "access_key_id": ("ALICLOUD_ACCESS_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID"),
    "access_key_secret": ("ALICLOUD_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
    "security_token": ("ALICLOUD_SECURITY_TOKEN", "ALIBABA_CLOUD_SECURITY_TOKEN"),
    "region": ("ALICLOUD_REGION", "ALIBABA_CLOUD_REGION_ID"),
    "profile": ("ALICLOUD_PROFILE",),
    "assume_role_arn": ("ALICLOUD_ASSUME_ROLE_ARN",),
}
# Taken from the options or from the environment as a whole, never mixed: an explicit key pair must not be
# completed with another identity's secret or token.
KEY_FIELDS = ("access_key_id", "access_key_secret", "security_token")
SECRET_FIELDS = ("access_key_secret", "security_token")
# the faces' defaults and choices apply also when the core is called directly (plugins, benchmark)
DEFAULTS = dict((name, spec["default"]) for name, spec in ARGUMENT_SPEC.items() if "default" in spec)
CHOICES = dict((name, tuple(spec["choices"])) for name, spec in ARGUMENT_SPEC.items() if "choices" in spec)

_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+\Z")
_ENDPOINT = re.compile(r"^[A-Za-z0-9.{}_-]+(:(?P<port>[0-9]{1,5}))?\Z")
_PROXY = re.compile(
    r"^https?://(?:(?P<user>[^:@/\s]*)(?::(?P<password>[^@/\s]*))?@)?[A-Za-z0-9.\[\]_-]+(:[0-9]{1,5})?/?\Z"
)
_WHITESPACE = re.compile(r"[\s\x00-\x1f\x7f]")
_LOOPBACK = re.compile(r"^(localhost|127\.[0-9.]+|\[::1\])\Z")


def check_region(region, option="region"):
    if not isinstance(region, str) or not _REGION.match(region):
        raise KmsOptionError(
            option, "%r is not a region ID; expected a form like cn-hangzhou or ap-southeast-1" % (region,)
        )
    return region


def _userinfo(url):
    """The user[:password] of a proxy URL, whatever its shape (all before the last @ after any scheme), or None:
    a URL that fails validation is masked as well as one that passes."""
    rest = url.split("://", 1)[-1] if isinstance(url, str) else ""
    return rest.rsplit("@", 1)[0] if "@" in rest else None


def mask_proxy(url):
    """A proxy URL fit for messages: its user and password replaced."""
    info = _userinfo(url)
    return url.replace(info + "@", "****@", 1) if info is not None else url


def proxy_password(url):
    """The password part of a proxy URL, or None: the faces add it to what they mask."""
    password = (_userinfo(url) or "").partition(":")[2]
    return password or None


def _number(values, name, minimum, maximum, integer=False):
    value = values.get(name)
    value = DEFAULTS[name] if value is None else value
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not minimum <= value <= maximum:
        raise KmsOptionError(
            name,
            "must be %s from %s to %s, got %r" % ("an integer" if integer else "a number", minimum, maximum, value),
        )
    return value


def _endpoint(values, name, example):
    endpoint = values.get(name)
    match = _ENDPOINT.match(endpoint) if isinstance(endpoint, str) else None
    if endpoint is not None and (not match or int(match.group("port") or 1) not in range(1, 65536)):
        raise KmsOptionError(
            name,
            "%r is not host[:port] with a port from 1 to 65535; give a host name such as %s "
            "or 127.0.0.1:8080 (it may contain {region}), without scheme or path; "
            "choose http or https with the protocol option" % (endpoint, example),
        )
    return endpoint


class ConnectionOptions(object):
    """Explicit options win over the environment; every value is checked here, so a bad one fails before any request."""

    def __init__(self, options, environ=None, warn=None):
        env = os.environ if environ is None else environ
        values = dict((k, v) for k, v in options.items() if v is not None and v != "")
        self.sources = {}  # option -> environment variable it came from, for messages
        explicit_keys = any(values.get(name) for name in KEY_FIELDS)
        for name, variables in ENVIRONMENT.items():
            if name in values or (explicit_keys and name in KEY_FIELDS):
                continue
            found = [v for v in variables if env.get(v)]
            if found:
                values[name], self.sources[name] = env[found[0]], found[0]
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
        self.sts_rate_limit = _number(values, "sts_rate_limit", 0.1, 1000)
        self.deadline = _number(values, "deadline", 1, 86400)
        self.max_in_flight = _number(values, "max_in_flight", 1, 1000, integer=True)
        self.endpoint = _endpoint(values, "endpoint", "kms.cn-hangzhou.aliyuncs.com")
        self.sts_endpoint = _endpoint(values, "sts_endpoint", DEFAULT_STS_ENDPOINT)
        for name in ("http_proxy", "https_proxy"):
            proxy = values.get(name)
            if proxy is not None and (not isinstance(proxy, str) or not _PROXY.match(proxy)):
                raise KmsOptionError(
                    name,
                    "%r is not an http proxy URL; expected http://[user:password@]host[:port] "
                    "(or https://), for example http://proxy.example.com:3128; other schemes such as "
                    "socks5 are not supported" % (mask_proxy(str(proxy)),),
                )
        self.http_proxy = values.get("http_proxy")
        self.https_proxy = values.get("https_proxy")
        self.region = check_region(values["region"]) if "region" in values else None
        self.credentials = dict((k, values.get(k)) for k in KEY_FIELDS + ("profile", "assume_role_arn"))
        self.credentials["assume_role_session_name"] = (
            values.get("assume_role_session_name") or DEFAULTS["assume_role_session_name"]
        )
        self._check_credentials()
        self._warn_cleartext(warn)

    def _name(self, option):
        source = self.sources.get(option)
        return "%s (from %s)" % (option, source) if source else option

    def _check_credentials(self):
        c = self.credentials
        for name in KEY_FIELDS + ("profile", "assume_role_arn", "assume_role_session_name"):
            value = c.get(name)
            if value is not None and (not isinstance(value, str) or _WHITESPACE.search(value)):
                # never the value: it may be a secret
                raise KmsOptionError(
                    self._name(name),
                    "contains whitespace or a control character (a trailing newline "
                    "from a YAML block scalar?); remove it",
                )
        if bool(c["access_key_id"]) != bool(c["access_key_secret"]):
            missing = "access_key_secret" if c["access_key_id"] else "access_key_id"
            raise KmsOptionError(
                missing,
                "access_key_id and access_key_secret must be given together (the options or "
                "the environment variables, not one of each)",
            )
        if c["security_token"] and not c["access_key_id"]:
            raise KmsOptionError("security_token", "an STS token needs its access_key_id and access_key_secret")

    def _warn_cleartext(self, warn):
        """http to a real Alibaba Cloud endpoint sends signed requests and tokens in clear text."""
        if warn is None or self.protocol != "http":
            return
        proxy_host = re.sub(r"^https?://([^@/]*@)?|(:[0-9]+)?/?$", "", self.http_proxy or "")
        targets = [self.endpoint or "kms.REGION.aliyuncs.com", self.sts_endpoint or DEFAULT_STS_ENDPOINT]
        if any(t.split(":")[0].endswith("aliyuncs.com") for t in targets) and not _LOOPBACK.match(proxy_host):
            warn(
                "protocol is http: requests to Alibaba Cloud endpoints, the STS token included, travel unencrypted; "
                "use https except with a local emulator or proxy"
            )

    @property
    def fixed_endpoint(self):
        """True when every region would be sent to the same KMS endpoint."""
        return bool(self.endpoint) and "{region}" not in self.endpoint

    def endpoint_for(self, region):
        if self.endpoint:
            return self.endpoint.replace("{region}", region)
        return "kms%s.%s.aliyuncs.com" % ("-vpc" if self.network == "vpc" else "", region)

    def service_endpoint(self, service, region):
        if service == "sts":
            return self.sts_endpoint_for(region)
        if service == "resourcemanager":
            return RESOURCE_MANAGER_ENDPOINT
        return self.endpoint_for(region)

    def sts_endpoint_for(self, region):
        region = region or self.region or DEFAULT_REGION
        if self.sts_endpoint:
            return self.sts_endpoint.replace("{region}", region)
        return "sts-vpc.%s.aliyuncs.com" % region if self.network == "vpc" else DEFAULT_STS_ENDPOINT
