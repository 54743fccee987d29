# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""Facets: attributes ListKeys does not return, learned from one filtered listing per value.

Invariant: a key is labelled with a value only when that value's listing holds the key and the listing
cannot be one the service answered by ignoring the filter.
"""

from __future__ import annotations

from collections import namedtuple

from ansible_collections.alicloud.kms.plugins.module_utils._query import FILTER_OPTIONS, KNOWN_KEY_SPECS

# Closed facets: their values partition every key, so their listings together replace the plain one.
CLOSED_FACETS = tuple(name for name, (_key, allowed) in FILTER_OPTIONS.items() if allowed)
# Values the service ignores in regions that lack them, answering with every key (ListKeysRequest, official SDK:
# "If you specify EC_SM2 or Aliyun_SM4 in a region that does not support these key types, the parameters are
# ignored"; likewise HSM).
REGION_DEPENDENT = frozenset(("Aliyun_SM4", "EC_SM2", "HSM"))

Partition = namedtuple("Partition", "facet value query")


def plan(query, facets):
    """The partitions to list: one narrowed query per facet value that can select anything."""
    partitions = []
    for facet in facets:
        api_key, allowed = FILTER_OPTIONS[facet]
        # Open sets are partitioned by the values the user filters on (and the documented specs).
        values = allowed or tuple(query.values(api_key) or ()) + (KNOWN_KEY_SPECS if facet == "key_spec" else ())
        for value in dict.fromkeys(values):
            narrowed = query.narrowed(api_key, value)
            if narrowed is not None:
                partitions.append(Partition(facet, value, narrowed))
    return partitions


def covering(facets):
    """The first closed facet, whose partitions hold every key, or None."""
    return next((f for f in facets if f in CLOSED_FACETS), None)


def labels(partitions, listings):
    """({(facet, key_id): value}, conflicts) from the partitions' listings (lists of key records).

    A key has one value per facet, so real partitions are disjoint. A region-dependent value whose listing
    shares a key with another value's listing was ignored by the service (it answered with every key) and
    labels nothing. A key left in two listings of one facet changed while they were read: it is counted
    in conflicts, and the caller reads again.
    """
    members = [set(item["key_id"] for item in items) for items in listings]

    def overlaps(i):
        return any(
            j != i and partitions[j].facet == partitions[i].facet and members[i] & members[j]
            for j in range(len(partitions))
        )

    found, conflicts = {}, 0
    for i, part in enumerate(partitions):
        if part.value in REGION_DEPENDENT and overlaps(i):
            continue
        for key_id in members[i]:
            conflicts += found.setdefault((part.facet, key_id), part.value) != part.value
    return found, conflicts
