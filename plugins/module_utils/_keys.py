# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The key kind: options in, key records out (KeyRequest; list_keys for one call); the run is _kinds'."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.kms.plugins.module_utils._enrich import enrichment, narrowing_filters
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._kinds import MAX_PARALLEL_LISTINGS, Request
from ansible_collections.alicloud.kms.plugins.module_utils._lister import list_region
from ansible_collections.alicloud.kms.plugins.module_utils._query import FILTER_OPTIONS, KeyQuery
from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    add_metadata,
    check_key_arn,
    make_record,
    malformed,
)


class KeyRequest(Request):
    """Keys: the ListKeys query, facets, details and enrichment, validated before the first request."""

    plural = "keys"

    def __init__(self, options, environ=None, log=None, warn=None, connection=None):
        self.query = KeyQuery.from_options(options)
        Request.__init__(self, options, environ=environ, log=log, warn=warn, connection=connection)
        self.facets = _check_facets(options.get("facets"))
        self.details = bool(options.get("details"))
        self.wanted = enrichment(options)
        self.query = self.query.with_pairs(narrowing_filters(self.wanted.tag_filters))

    def list_region(self, connection, region, account_id):
        return list_region(connection, region, self.query, self.facets, self.details, self.wanted, account_id)

    def describe(self, refs):
        """One record with KeyMetadata per key ID, ARN or alias, in the order given (DescribeKey each)."""
        targets = [_target(ref, self.connection.region) for ref in refs]
        self._check_offered(sorted(set(region for _ref, region, _account in targets if region)), "region")

        def one(target):
            ref, region, account_id = target
            body = self.connection.call(region, "DescribeKey", {"KeyId": ref})
            metadata = body.get("KeyMetadata") if isinstance(body.get("KeyMetadata"), dict) else {}
            record = make_record(metadata, region, account_id, body, "DescribeKey", "Arn")
            if not ref.startswith("alias/") and record["key_id"] != ref:
                raise malformed(body, region, "DescribeKey", "key %s when asked for key %s" % (record["key_id"], ref))
            return add_metadata(record, metadata, body)

        with ThreadPoolExecutor(max_workers=MAX_PARALLEL_LISTINGS) as pool:
            return list(pool.map(one, targets))


def _target(ref, default_region):
    """(KeyId to send, region, account or None) for a term: an ARN names them; an ID or alias uses region."""
    if not isinstance(ref, str) or not ref.strip():
        raise KmsOptionError("_terms", "%r is not a key ID, ARN or alias; terms must be non-empty strings" % (ref,))
    if ref.startswith("acs:"):
        try:
            region, account_id, key_id = check_key_arn(ref, "_terms")
        except (ValueError, KmsOptionError):
            raise KmsOptionError(
                "_terms", "%r is not a KMS key ARN; expected acs:kms:<region>:<account>:key/<key id>" % (ref,)
            ) from None
        return key_id, region, account_id
    if ref != ref.strip() or any(c.isspace() or ord(c) < 32 for c in ref):
        raise KmsOptionError("_terms", "%r contains whitespace or control characters" % (ref,))
    if not default_region:
        raise KmsOptionError(
            "region", "%s: a key ID or alias is resolved in one region; set region, or give the key's ARN" % ref
        )
    return ref, default_region, None


def _check_facets(facets):
    facets = facets or []
    for facet in facets:
        if facet not in FILTER_OPTIONS:
            raise KmsOptionError(
                "facets", "unknown facet %r; allowed values are %s" % (facet, ", ".join(FILTER_OPTIONS))
            )
    return list(dict.fromkeys(facets))


def list_keys(options, environ=None, log=None, warn=None):
    """Validate options, then list keys across accounts and regions: a Result. Raises KmsOptionError or KmsError."""
    return KeyRequest(options, environ=environ, log=log, warn=warn).run()
