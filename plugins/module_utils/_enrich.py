# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""Aliases, tags and key policies: fetched in bulk per region and joined to the records locally.

ListAliases reads every alias of a region a page at a time, ListTagResources the tags of 50 keys a request;
GetKeyPolicy is the one per-key call, and only for keys in a KMS instance (the others have no policy): membership
is the documented DKMSInstanceId (DescribeKey's with details, else one ListKeys filtered by each instance that
ListKmsInstances names, see the lister), never guessed from the shape of a key ID.
"""

from __future__ import annotations

import json
from collections import namedtuple

from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._instances import instance_entries
from ansible_collections.alicloud.kms.plugins.module_utils._kinds import windowed
from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    alias_pairs,
    listed_items,
    malformed,
    tag_dict,
    total_count,
)

ALIAS_PAGE_SIZE = 100  # ListAliases' maximum (ListAliasesRequest.page_size)
TAG_BATCH = 50  # ListTagResources takes at most 50 ResourceId.N (ListTagResourcesRequest.resource_id)
MAX_TAG_FILTERS = 20
MAX_FILTER_VALUES = 10  # ListKeys: values per filter key
# A batch's tags fill at most 50 keys x 20 tags (TagResourcesRequest.tag: "up to 20 tags") rows: even at one row a
# page, a batch that needs more pages is an endless NextToken (docs/docsite/rst/reliability.rst).
MAX_TAG_PAGES = TAG_BATCH * 20
# How a region that lacks ListTagResources answers; the client then asks ListResourceTags per key.
UNSUPPORTED_ACTION = ("InvalidAction.NotFound", "UnsupportedOperation", "Forbidden.ActionNotSupported")


def describe_key(connection, region, key_id):
    """(KeyMetadata, body) of DescribeKey for a key ID, or MalformedResponse when it describes another key."""
    body = connection.call(region, "DescribeKey", {"KeyId": key_id})
    metadata = body.get("KeyMetadata")
    if not isinstance(metadata, dict) or metadata.get("KeyId") != key_id:
        raise malformed(body, region, "DescribeKey", "no KeyMetadata for key %s" % key_id)
    return metadata, body


def check_tag_filters(value):
    """{tag: None | str | [str]} validated, or None. Raises KmsOptionError naming tag_filters."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise KmsOptionError(
            "tag_filters",
            "must be a dict of tag key to a value, a list of values or null, got %s" % (type(value).__name__),
        )
    if len(value) > MAX_TAG_FILTERS:
        raise KmsOptionError("tag_filters", "at most %d tags, got %d" % (MAX_TAG_FILTERS, len(value)))
    checked = {}
    for key, wanted in value.items():
        if not isinstance(key, str) or not key.strip():
            raise KmsOptionError("tag_filters", "tag keys must be non-empty strings, got %r" % (key,))
        values = [wanted] if isinstance(wanted, str) else wanted
        if values is not None and (not isinstance(values, list) or not all(isinstance(v, str) for v in values)):
            raise KmsOptionError(
                "tag_filters", "%r: the value must be a string, a list of strings or null, got %r" % (key, wanted)
            )
        checked[key] = values
    return checked


def narrowing_filters(tag_filters):
    """ListKeys filter pairs that select a superset of the keys carrying every tag: the service narrows, the
    records are then checked exactly (a region may ignore these filter keys)."""
    if not tag_filters or len(tag_filters) > MAX_FILTER_VALUES:
        return []
    pairs = [("TagKey", sorted(tag_filters))]
    values = sorted(set(v for wanted in tag_filters.values() if wanted for v in wanted))
    if all(tag_filters.values()) and len(values) <= MAX_FILTER_VALUES:
        pairs.append(("TagValue", values))
    return pairs


def matches(tags, tag_filters):
    return all(key in tags and (wanted is None or tags[key] in wanted) for key, wanted in tag_filters.items())


Enrichment = namedtuple("Enrichment", "aliases tags key_policy tag_filters")


def enrichment(options):
    """What a run adds to the records, validated: an Enrichment."""
    return Enrichment(
        bool(options.get("aliases")),
        bool(options.get("tags")),
        bool(options.get("key_policy")),
        check_tag_filters(options.get("tag_filters")),
    )


def kms_instances(connection, region, pool):
    """The IDs of the region's KMS instances, every page of ListKmsInstances (each ID in its documented form)."""
    return [instance_id for instance_id, _account in instance_entries(connection, region, pool)]


def enrich(connection, region, pool, records, wanted):
    """The records with what `wanted` (an Enrichment) asks for; with tag_filters, only the keys carrying the tags.

    key_policy needs each record's dkms_instance_id known (a key without one is in no KMS instance)."""
    if not records or not (wanted.aliases or wanted.tags or wanted.key_policy or wanted.tag_filters):
        return records
    enricher = Enricher(connection, region, pool, connection.run.log)
    if wanted.tags or wanted.tag_filters:
        found = enricher.tags([r["key_id"] for r in records])
        for record in records:
            record["tags"] = found.get(record["key_id"], {})
        if wanted.tag_filters:
            records = [r for r in records if matches(r["tags"], wanted.tag_filters)]
        if not wanted.tags:
            for record in records:
                del record["tags"]
    if wanted.aliases and records:
        found = enricher.aliases()
        for record in records:
            record["aliases"] = found.get(record["key_id"], [])
    if wanted.key_policy:
        for record, policy in zip(records, windowed(pool, enricher.key_policy, records)):
            record["key_policy"] = policy
    return records


class Enricher(object):
    """The enrichments of one region's records, through the lister's connection and thread pool."""

    def __init__(self, connection, region, pool, log=None):
        self.connection = connection
        self.region = region
        self.pool = pool
        self.log = log

    def aliases(self):
        """{key_id: [alias names]} of the whole region, every page of ListAliases, read again if it moved."""
        for _attempt in range(3):
            first = self._alias_page(1)
            pages = [first] + windowed(self.pool, self._alias_page, range(2, -(-first[0] // ALIAS_PAGE_SIZE) + 1))
            totals = set(total for total, _pairs in pages)
            seen = set(pair for _total, pairs in pages for pair in pairs)
            if len(totals) == 1 and len(seen) == first[0]:
                found = {}
                for name, key_id in sorted(seen):
                    found.setdefault(key_id, []).append(name)
                return found
        raise KmsError(
            "ListingChanged",
            "the aliases changed while they were being listed; run again",
            region=self.region,
            action="ListAliases",
        )

    def _alias_page(self, number):
        body = self.connection.call(self.region, "ListAliases", {"PageNumber": number, "PageSize": ALIAS_PAGE_SIZE})
        items = listed_items(body, "Aliases", "Alias", self.region, "ListAliases")
        return total_count(body, self.region, "ListAliases"), alias_pairs(items, body, self.region)

    def tags(self, key_ids):
        """{key_id: {tag: value}} for the keys, 50 a request; ListResourceTags per key where the region lacks it."""
        batches = [key_ids[i : i + TAG_BATCH] for i in range(0, len(key_ids), TAG_BATCH)]
        try:
            found = {}
            for part in windowed(self.pool, self._tag_batch, batches):
                for key_id, tags in part.items():
                    found.setdefault(key_id, {}).update(tags)
            return found
        except KmsError as error:
            if error.code not in UNSUPPORTED_ACTION:
                raise
            if self.log:
                self.log(
                    "ListTagResources is not offered in %s (%s); asking ListResourceTags per key"
                    % (self.region, error.code)
                )
        return dict(zip(key_ids, windowed(self.pool, self._resource_tags, key_ids)))

    def _tag_batch(self, key_ids):
        query = dict(("ResourceId.%d" % (n + 1), key_id) for n, key_id in enumerate(key_ids))
        query.update(RegionId=self.region, ResourceType="key")
        rows, token, tokens = {}, None, set()
        while True:
            body = self.connection.call(self.region, "ListTagResources", dict(query, NextToken=token))
            for item in listed_items(body, "TagResources", "TagResource", self.region, "ListTagResources"):
                if item.get("ResourceId") not in key_ids:
                    raise malformed(body, self.region, "ListTagResources", "tags of a ResourceId it was not asked for")
                rows.setdefault(item["ResourceId"], []).append(item)
            token = body.get("NextToken") or None
            if token is None:
                return dict(
                    (key_id, tag_dict(items, body, self.region, "ListTagResources")) for key_id, items in rows.items()
                )
            if token in tokens or len(tokens) >= MAX_TAG_PAGES:  # a token seen before, or without end, loops for ever
                raise malformed(
                    body,
                    self.region,
                    "ListTagResources",
                    "a NextToken seen before, or more pages than %d keys' tags can fill" % len(key_ids),
                )
            tokens.add(token)

    def _resource_tags(self, key_id):
        body = self.connection.call(self.region, "ListResourceTags", {"KeyId": key_id})
        items = listed_items(body, "Tags", "Tag", self.region, "ListResourceTags")
        return tag_dict(items, body, self.region, "ListResourceTags")

    def key_policy(self, record):
        """The parsed default policy of a key in a KMS instance; None, without a request, for the others."""
        if not record.get("dkms_instance_id"):
            return None
        body = self.connection.call(self.region, "GetKeyPolicy", {"KeyId": record["key_id"], "PolicyName": "default"})
        try:
            policy = json.loads(body.get("Policy"))
        except (TypeError, ValueError, RecursionError):
            policy = None
        if not isinstance(policy, dict):
            raise malformed(body, self.region, "GetKeyPolicy", "no policy document for key %s" % record["key_id"])
        return policy
