# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""Lister: every page of one or more ListKeys queries in one region, concurrently.

Page 1 of each query gives TotalCount; the remaining pages of all queries then go out together,
paced by the connection's per-region rate limiter. A listing whose TotalCount moves, whose pages
do not add up to it, or whose facet partitions do not add up to the plain listing, is read again.
"""

from __future__ import annotations

from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.kms.plugins.module_utils import _facets
from ansible_collections.alicloud.kms.plugins.module_utils._enrich import describe_key, enrich, kms_instances
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError
from ansible_collections.alicloud.kms.plugins.module_utils._kinds import MAX_CONCURRENCY, MAX_REREADS, windowed
from ansible_collections.alicloud.kms.plugins.module_utils._query import KeyQuery
from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    add_metadata,
    key_items,
    make_record,
    total_count,
)

Page = namedtuple("Page", "total items request_id")  # items: key records, identifiers checked
Listing = namedtuple("Listing", "items total consistent")  # items: distinct key records in service order


def _page_count(total, page_size):
    return (total + page_size - 1) // page_size


def _through(pool, call, items):
    """[call(item) for item in items]: through the pool when there are several, in this thread when one (the common
    listing of one page: no hand-over to a worker thread, which costs more CPU than the request's own bookkeeping)."""
    items = list(items)
    if len(items) <= 1:
        return [call(item) for item in items]
    return windowed(pool, call, items)


class Lister(object):
    def __init__(self, connection, region, pool, account_id=None):
        self.connection = connection
        self.region = region
        self.pool = pool
        self.account_id = account_id  # the account read (None: the caller's own); an ARN naming another is malformed

    def _page(self, query, number):
        body = self.connection.call(
            self.region,
            "ListKeys",
            {"PageNumber": number, "PageSize": query.page_size, "Filters": query.filters_json()},
        )
        total = total_count(body, self.region, "ListKeys")
        records = [make_record(item, self.region, self.account_id, body) for item in key_items(body, self.region)]
        return Page(total, records, body.get("RequestId"))

    def _read(self, queries, count_only=0):
        """One pass over every page of every query: a Listing per query, in query order.

        The first count_only queries are read for their TotalCount only (page 1).
        """
        pages = [[first] for first in _through(self.pool, lambda q: self._page(q, 1), queries)]
        tasks = [
            (i, n)
            for i, query_pages in enumerate(pages)
            if i >= count_only
            for n in range(2, _page_count(query_pages[0].total, queries[i].page_size) + 1)
        ]
        for (i, _n), page in zip(tasks, _through(self.pool, lambda t: self._page(queries[t[0]], t[1]), tasks)):
            pages[i].append(page)
        listings = []
        for query_pages in pages:
            totals = set(page.total for page in query_pages)
            seen = {}
            for page in query_pages:
                for item in page.items:
                    seen.setdefault(item["key_id"], item)
            total = query_pages[0].total
            complete = len(seen) == total or len(listings) < count_only
            listings.append(Listing(list(seen.values()), total, len(totals) == 1 and complete))
        return listings

    def _consistent_pass(self, queries, check, count_only=0):
        """Listings of every query that agree with each other (check(listings) is None), re-read up to MAX_REREADS."""
        for _attempt in range(MAX_REREADS):
            listings = self._read(queries, count_only)
            problem = next(
                (
                    "TotalCount %d, %d distinct keys read" % (l.total, len(l.items))
                    for l in listings
                    if not l.consistent
                ),
                None,
            ) or check(listings)
            if not problem:
                return listings
        raise KmsError(
            "ListingChanged",
            "the keys changed while they were being listed (%s) in %d attempts; "
            "run again when the account is quiet" % (problem, MAX_REREADS),
            region=self.region,
            action="ListKeys",
        )

    def keys(self, query, facets=(), details=False, wanted=None):
        """Records for the query, with facet attributes and, on request, DescribeKey details."""
        partitions = _facets.plan(query, facets)
        covering = _facets.covering(facets)
        # With a closed facet its partitions hold every key: the plain listing is needed only for its TotalCount.
        plain = KeyQuery(query.filters, 1) if covering else query
        found = {}

        def check(listings):
            labels, conflicts = _facets.labels(partitions, [l.items for l in listings[1:]])
            found.clear()
            found.update(labels)
            if conflicts:
                return "%d key(s) in two values of one facet" % conflicts
            if covering:
                union = set(
                    item["key_id"]
                    for part, l in zip(partitions, listings[1:])
                    if part.facet == covering
                    for item in l.items
                )
                if len(union) != listings[0].total:
                    return "%s partitions hold %d keys, the plain listing %d" % (
                        covering,
                        len(union),
                        listings[0].total,
                    )
            return None

        listings = self._consistent_pass([plain] + [part.query for part in partitions], check, 1 if covering else 0)
        if covering:
            base = list(
                dict(
                    (item["key_id"], item)
                    for part, l in zip(partitions, listings[1:])
                    if part.facet == covering
                    for item in l.items
                ).values()
            )
        else:
            base = listings[0].items
        records = base
        for record in records:
            for facet in facets:
                record[facet] = found.get((facet, record["key_id"]))
        if wanted is not None and wanted.tag_filters:  # the tag filter first: fewer keys to describe
            records = enrich(
                self.connection, self.region, self.pool, records, wanted._replace(aliases=False, key_policy=False)
            )
            wanted = wanted._replace(tags=False, tag_filters=None)
        if details:
            described = windowed(self.pool, lambda r: describe_key(self.connection, self.region, r["key_id"]), records)
            records = [add_metadata(r, metadata, body) for r, (metadata, body) in zip(records, described)]
        if wanted is not None and wanted.key_policy and not details:  # DescribeKey's DKMSInstanceId is not at hand
            members = self._instance_members(query)
            for record in records:
                record["dkms_instance_id"] = members.get(record["key_id"])
        if wanted is not None:
            records = enrich(self.connection, self.region, self.pool, records, wanted)
        return records

    def _instance_members(self, query):
        """{key_id: KMS instance ID} of the query's keys in an instance: ListKmsInstances, then one ListKeys filtered
        by DKMSInstanceId per instance (O(instances x pages), never a request per key)."""
        parts = [
            (i, query.narrowed("DKMSInstanceId", i)) for i in kms_instances(self.connection, self.region, self.pool)
        ]
        parts = [(i, q) for i, q in parts if q is not None]
        if not parts:
            return {}
        listings = self._consistent_pass([q for _i, q in parts], lambda _listings: None)
        members = {}
        for (instance, _query), listing in zip(parts, listings):
            for item in listing.items:
                if members.setdefault(item["key_id"], instance) != instance:  # a region ignoring the filter
                    raise KmsError(
                        "MalformedResponse",
                        "ListKeys placed key %s in two KMS instances" % item["key_id"],
                        region=self.region,
                        action="ListKeys",
                    )
        return members


def list_region(connection, region, query, facets=(), details=False, wanted=None, account_id=None):
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENCY) as pool:
        return Lister(connection, region, pool, account_id).keys(query, facets, details, wanted)
