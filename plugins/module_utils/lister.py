# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lister: every page of one or more ListKeys queries in one region, concurrently.

Page 1 of each query gives TotalCount; the remaining pages of all queries then
go out together, paced by the connection's per-region rate limiter. A listing
whose TotalCount moves, or whose pages do not add up to it, is read again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.kms.plugins.module_utils.errors import KmsError
from ansible_collections.alicloud.kms.plugins.module_utils.query import FILTER_OPTIONS, KNOWN_KEY_SPECS
from ansible_collections.alicloud.kms.plugins.module_utils.records import add_metadata, key_items, make_record

MAX_CONCURRENCY = 16  # in flight per region: enough for the rate limit at 250 ms latency; the limiter bounds the rate
MAX_REREADS = 3
CLOSED_FACETS = ("key_state", "key_usage", "protection_level", "creator_type")


class Lister(object):
    def __init__(self, connection, region, pool):
        self.connection = connection
        self.region = region
        self.pool = pool

    def _page(self, query, number):
        body = self.connection.call(self.region, "ListKeys", {
            "PageNumber": number, "PageSize": query.page_size, "Filters": query.filters_json()})
        try:
            total = int(body.get("TotalCount"))
        except (TypeError, ValueError):
            raise KmsError("MalformedResponse", "ListKeys returned no TotalCount", body.get("RequestId"),
                           self.region, "ListKeys") from None
        return total, key_items(body), body.get("RequestId")

    def _read(self, queries):
        """One pass over every page of every query: [(items, consistent, detail)] in query order."""
        pages = [[first] for first in self.pool.map(lambda q: self._page(q, 1), queries)]
        tasks = [(i, n) for i, first in enumerate(pages)
                 for n in range(2, -(-first[0][0] // queries[i].page_size) + 1)]
        for (i, _n), page in zip(tasks, self.pool.map(lambda t: self._page(queries[t[0]], t[1]), tasks)):
            pages[i].append(page)
        results = []
        for query_pages in pages:
            totals = sorted(set(total for total, _items, _rid in query_pages))
            seen = {}
            for _total, items, _rid in query_pages:
                for item in items:
                    seen.setdefault(item["KeyId"], item)
            consistent = len(totals) == 1 and len(seen) == totals[0]
            results.append((list(seen.values()), consistent, "TotalCount %s, %d distinct keys read" % (
                "/".join(str(t) for t in totals), len(seen))))
        return results

    def read(self, queries):
        """Every key of each query, re-reading listings that changed under pagination."""
        results = [None] * len(queries)
        pending = list(range(len(queries)))
        for _attempt in range(MAX_REREADS):
            for index, outcome in zip(pending, self._read([queries[i] for i in pending])):
                results[index] = outcome
            pending = [i for i in pending if not results[i][1]]
            if not pending:
                return [items for items, _ok, _detail in results]
        raise KmsError("ListingChanged", "the keys changed while they were being listed (%s) in %d attempts; "
                       "run again when the account is quiet" % (results[pending[0]][2], MAX_REREADS),
                       region=self.region, action="ListKeys")

    def keys(self, query, facets=(), details=False):
        """Records for the query, with facet attributes and, on request, DescribeKey details."""
        plan = []  # (facet, value, narrowed query)
        for facet in facets:
            api_key, allowed = FILTER_OPTIONS[facet]
            # Open sets are partitioned by the values the user filters on (and the documented specs).
            values = allowed or tuple(query.values(api_key) or ()) + (KNOWN_KEY_SPECS if facet == "key_spec" else ())
            for value in dict.fromkeys(values):
                narrowed = query.narrowed(api_key, value)
                if narrowed is not None:
                    plan.append((facet, value, narrowed))
        # A closed facet partitions every key, so its listings replace the plain one.
        covering = next((f for f in facets if f in CLOSED_FACETS), None)
        listings = self.read(([] if covering else [query]) + [q for _f, _v, q in plan])
        base, partitions = (None, listings) if covering else (listings[0], listings[1:])
        claims = {}  # (facet, key_id) -> (partition size, value)
        for (facet, value, _q), items in zip(plan, partitions):
            for item in items:
                # The service ignores a value a region does not support (HSM, SM specs) and
                # returns every key; the smallest partition naming a key is the true one.
                current = claims.get((facet, item["KeyId"]))
                if current is None or len(items) < current[0]:
                    claims[(facet, item["KeyId"])] = (len(items), value)
        if covering:
            base = list(dict((it["KeyId"], it) for (f, _v, _q), items in zip(plan, partitions)
                             if f == covering for it in items).values())
        records = [make_record(item, self.region) for item in base]
        for record in records:
            for facet in facets:
                claim = claims.get((facet, record["key_id"]))
                record[facet] = claim[1] if claim else None
        if details:
            metadata = self.pool.map(self._describe, [r["key_id"] for r in records])
            records = [add_metadata(r, m) for r, m in zip(records, metadata)]
        return records

    def _describe(self, key_id):
        return self.connection.call(self.region, "DescribeKey", {"KeyId": key_id}).get("KeyMetadata") or {}


def list_region(connection, region, query, facets=(), details=False):
    with ThreadPoolExecutor(max_workers=MAX_CONCURRENCY) as pool:
        return Lister(connection, region, pool).keys(query, facets, details)
