# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""KeyQuery: the ListKeys filters and page size, validated before any request."""

from __future__ import annotations

import json

from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._records import INSTANCE_ID

# The documented values of the closed sets (ListKeysRequest.filters, official SDK), defined here only.
KEY_STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingImport")
KEY_USAGES = ("ENCRYPT/DECRYPT", "SIGN/VERIFY")
PROTECTION_LEVELS = ("SOFTWARE", "HSM")
CREATOR_TYPES = ("User", "Service")
# The specs KMS documents (ListKeys names six; CreateKey also offers AES-128/192 and RSA-3072/4096).
# The set is open, so these only seed the key_spec facet's partitions; any spec may be filtered on.
KNOWN_KEY_SPECS = (
    "Aliyun_AES_256",
    "Aliyun_AES_192",
    "Aliyun_AES_128",
    "Aliyun_SM4",
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "EC_P256",
    "EC_P256K",
    "EC_SM2",
)
# option name -> (API filter key, allowed values or None for an open set)
FILTER_OPTIONS = {
    "key_state": ("KeyState", KEY_STATES),
    "key_spec": ("KeySpec", None),
    "key_usage": ("KeyUsage", KEY_USAGES),
    "protection_level": ("ProtectionLevel", PROTECTION_LEVELS),
    "creator_type": ("CreatorType", CREATOR_TYPES),
    "dkms_instance_id": ("DKMSInstanceId", None),
}
# Every filter key ListKeys documents (ListKeysRequest.filters, official SDK); the raw `filters` option
# accepts only these, so a typo fails here instead of being sent.
API_FILTER_KEYS = tuple(api for api, _allowed in FILTER_OPTIONS.values()) + (
    "keyId",
    "AliasName",
    "Creator",
    "TagKey",
    "TagValue",
)
OPTION_BY_API_KEY = dict((api, opt) for opt, (api, _allowed) in FILTER_OPTIONS.items())
MAX_PAIRS = 10
MAX_VALUES = 10
MAX_PAGE_SIZE = 100


def _check_values(option, values):
    if not isinstance(values, (list, tuple)):
        raise KmsOptionError(option, "must be a list of strings, got %s" % type(values).__name__)
    for value in values:
        if not isinstance(value, str) or not value:
            raise KmsOptionError(option, "every value must be a non-empty string, got %r" % (value,))
    api_key, allowed = FILTER_OPTIONS.get(option, (None, None))
    for value in values:
        if allowed is not None and value not in allowed:
            hint = [a for a in allowed if a.lower() == value.lower()]
            raise KmsOptionError(
                option,
                "unknown value %r%s; allowed values are %s"
                % (value, " (did you mean %r?)" % hint[0] if hint else "", ", ".join(allowed)),
            )
        if api_key == "DKMSInstanceId" and not INSTANCE_ID.match(value):
            raise KmsOptionError(option, "%r is not a KMS instance ID; expected the form kst-xxxx" % (value,))


def _raw_pairs(filters):
    """Yield (option name for messages, API key, values) from the raw `filters` option."""
    if not isinstance(filters, (list, tuple)):
        raise KmsOptionError("filters", "must be a list of {key, values} dicts")
    for index, pair in enumerate(filters):
        where = "filters[%d]" % index
        if not isinstance(pair, dict):
            raise KmsOptionError(where, "must be a dict with 'key' and 'values', got %r" % (pair,))
        unknown = set(pair) - {"key", "values"}
        if unknown:
            raise KmsOptionError(
                where, "unknown field(s) %s; a filter has only 'key' and 'values'" % ", ".join(sorted(unknown))
            )
        key = pair.get("key")
        if not isinstance(key, str) or not key:
            raise KmsOptionError(where, "'key' is required: the API filter key, for example KeyState or KeySpec")
        if key not in API_FILTER_KEYS:
            close = [k for k in API_FILTER_KEYS if k.lower() == key.lower()]
            raise KmsOptionError(
                where,
                "unknown filter key %r%s; ListKeys documents %s"
                % (key, " (did you mean %r?)" % close[0] if close else "", ", ".join(API_FILTER_KEYS)),
            )
        values = pair.get("values")
        if not isinstance(values, (list, tuple)):
            raise KmsOptionError(where, "'values' must be a list of strings, got %r" % (values,))
        # A key with a typed option is checked like that option.
        option = OPTION_BY_API_KEY.get(key)
        _check_values(option or where, values)
        yield where, key, list(values)


class KeyQuery(object):
    """Filters merged per API key (the union of values, as the API does) and a page size."""

    def __init__(self, filters, page_size=MAX_PAGE_SIZE):
        self.filters = filters  # list of (API key, [values]) in first-seen order
        self.page_size = page_size

    @classmethod
    def from_options(cls, options):
        merged = {}
        names = {}

        def add(name, key, values):
            bucket = merged.setdefault(key, [])
            names.setdefault(key, name)
            bucket.extend(v for v in values if v not in bucket)

        for option, (api_key, _allowed) in FILTER_OPTIONS.items():
            values = options.get(option)
            if values is None:
                continue
            if isinstance(values, str):
                values = [values]
            _check_values(option, values)
            if values:
                add(option, api_key, values)
        if options.get("filters"):
            for where, key, values in _raw_pairs(options["filters"]):
                if values:
                    add(OPTION_BY_API_KEY.get(key, where), key, values)
        if len(merged) > MAX_PAIRS:
            raise KmsOptionError(
                "filters",
                "at most %d filter keys are allowed, got %d (%s)" % (MAX_PAIRS, len(merged), ", ".join(merged)),
            )
        for key, values in merged.items():
            if len(values) > MAX_VALUES:
                raise KmsOptionError(
                    names[key],
                    "at most %d values are allowed per filter key, got %d for %s" % (MAX_VALUES, len(values), key),
                )
        page_size = options.get("page_size")
        page_size = MAX_PAGE_SIZE if page_size is None else page_size
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise KmsOptionError("page_size", "must be an integer from 1 to %d, got %r" % (MAX_PAGE_SIZE, page_size))
        return cls(list(merged.items()), page_size)

    def with_pairs(self, pairs):
        """The query with more filter pairs that only narrow it, where they fit the API's limits and the user
        does not filter on those keys already; else the query as it is (the pairs are an optimisation)."""
        new = [(key, values) for key, values in pairs if self.values(key) is None]
        if not new or len(self.filters) + len(new) > MAX_PAIRS:
            return self
        return KeyQuery(self.filters + new, self.page_size)

    def values(self, api_key):
        for key, values in self.filters:
            if key == api_key:
                return values
        return None

    def narrowed(self, api_key, value):
        """The query ANDed with api_key == value, or None when that selects nothing.

        Sending a second pair for a key the user already filters on would OR the
        values (the API unions repeated keys), so the pair is replaced instead.
        """
        current = self.values(api_key)
        if current is not None and value not in current:
            return None
        filters = [(k, v) for k, v in self.filters if k != api_key] + [(api_key, [value])]
        return KeyQuery(filters, self.page_size)

    def filters_json(self):
        if not self.filters:
            return None
        return json.dumps([{"Key": k, "Values": v} for k, v in self.filters], separators=(",", ":"))
