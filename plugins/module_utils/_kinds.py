# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""Resource kinds: one run over accounts x regions for any kind, and every page of a kind's listing.

A kind (keys, secrets, KMS instances) is a Request subclass that says how one region of one account is listed
(list_region) and what its records are called (plural). Everything around that is here once: the options every
listing takes (regions, accounts, strict_permissions), region checks, roles assumed once per account, the
account-regions listed in parallel under the connection's pacing, what is skipped, and the run's summary.
every_page reads a paged List* action whole or not at all.
"""

from __future__ import annotations

import difflib
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.kms.plugins.module_utils import _accounts
from ansible_collections.alicloud.kms.plugins.module_utils._connection import Connection
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import DEFAULT_REGION, check_region
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._records import listed_items, malformed, total_count
from ansible_collections.alicloud.kms.plugins.module_utils._retry import is_retryable

# account-regions listed (and roles assumed) at once; each lists its pages with up to 16 requests in flight, all
# under max_in_flight: enough for 100 accounts x 4 regions in a few latencies, bounded for 1,000
MAX_PARALLEL_LISTINGS = 64
# What a run gives the faces: records, skipped account-regions (dicts), and counts of what it did
Result = namedtuple("Result", "records skipped summary")
# Regions KMS is known to serve: naming only these skips the DescribeRegions round trip before listing.
# Any other name (a region newer than this list) is still checked with DescribeRegions.
KNOWN_REGIONS = frozenset(
    (
        "cn-qingdao",
        "cn-beijing",
        "cn-zhangjiakou",
        "cn-huhehaote",
        "cn-wulanchabu",
        "cn-hangzhou",
        "cn-shanghai",
        "cn-nanjing",
        "cn-fuzhou",
        "cn-shenzhen",
        "cn-heyuan",
        "cn-guangzhou",
        "cn-chengdu",
        "cn-hongkong",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-3",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "us-east-1",
        "us-west-1",
        "na-south-1",
        "eu-west-1",
        "eu-central-1",
        "me-east-1",
        "me-central-1",
    )
)


class Request(object):
    """One listing of a kind across accounts and regions, validated as a whole before the first request.

    Subclasses set plural (the records' name in the summary) and implement list_region(connection, region,
    account_id) -> records; they validate their own options in __init__ after calling this one."""

    plural = None

    def __init__(self, options, environ=None, log=None, warn=None, connection=None):
        # connection: an earlier request's, to list another kind of the same accounts under the same pacing
        self.connection = connection or Connection(options, environ=environ, log=log, warn=warn)
        self.regions = _check_regions(options.get("regions"))
        self.accounts = _accounts.AccountSpec(options)
        strict = options.get("strict_permissions")
        self.strict = True if strict is None else bool(strict)
        if (
            self.connection.options.fixed_endpoint
            and self.regions
            and (len(self.regions) > 1 or self.regions == ["all"])
        ):
            raise KmsOptionError(
                "endpoint",
                "%r serves one region, but regions names %s; put {region} in the endpoint "
                "(for example kms.{region}.example.internal) or list one region"
                % (self.connection.options.endpoint, ", ".join(self.regions)),
            )

    def list_region(self, connection, region, account_id):
        raise NotImplementedError  # pragma: no cover

    def resolve_regions(self):
        """The regions to list: regions (`all`: every region DescribeRegions returns), else region, each offered."""
        if self.regions == ["all"]:
            return self._offered_regions()
        if self.regions:
            return self._check_offered(self.regions, "regions")
        return self._check_offered([self.connection.region], "region")

    def _check_offered(self, names, option):
        """names, when KMS offers each (KNOWN_REGIONS, else DescribeRegions), or KmsOptionError naming option."""
        if KNOWN_REGIONS.issuperset(names):
            return names
        known = self._offered_regions()
        unknown = [r for r in names if r not in known]
        if unknown:
            hints = [
                "%s (did you mean %s?)" % (name, close[0]) if close else name
                for name, close in ((n, difflib.get_close_matches(n, known, 1)) for n in unknown)
            ]
            raise KmsOptionError(
                option, "%s not offered by KMS; valid regions are %s" % (", ".join(hints), ", ".join(known))
            )
        return names

    def _offered_regions(self):
        entry = self.connection.region if self.connection.region in KNOWN_REGIONS else DEFAULT_REGION
        body = self.connection.call(entry, "DescribeRegions")
        regions = body.get("Regions") if isinstance(body.get("Regions"), dict) else {}
        known = [r.get("RegionId") for r in regions.get("Region") or [] if isinstance(r, dict)]
        if not known or not all(isinstance(r, str) and _is_region(r) for r in known):
            # an empty or garbled list would make `all` mean nothing: never a silent empty answer
            raise malformed(body, entry, "DescribeRegions", "no valid region list")
        return known

    def run(self, progress=None, after=None):
        """A Result: the records of every account and region, what was skipped, and what the run cost.

        With strict_permissions false, an account whose role cannot be assumed, or an account and region that is
        denied or unreachable after retries, is skipped (and listed) instead of failing the run.
        progress(text), when given, hears of every account-region done. after: an earlier request that ran over
        the same accounts (another kind): its accounts and roles are used again, and the accounts it skipped are
        its Result's, not this one's.
        """
        if not self.regions and not self.connection.region:
            raise KmsOptionError("region", "no region given; set region (or ALICLOUD_REGION) or regions")
        regions = self.resolve_regions()
        if after is not None:
            planned, skipped, assume = [t for t, _c in after.targets], [], dict(after.targets).get
        else:
            planned, skipped, assume = self._plan()
        done, whole, partial = [], [], {}

        def one(target, connection, region):
            try:
                account_id = target.account_id if target else None
                records = self.list_region(connection, region, account_id)
            except KmsError as error:
                error.account = error.account or (target.account_id if target else None)
                if self.strict or not _skippable(error):
                    raise
                partial[(id(target), region)] = _skip(error, region)
                records = []
            for record in records:
                if target is not None:
                    record["account_name"] = target.name
            done.append(len(records))
            if progress:
                run = self.connection.run
                progress(
                    "%d of %d account-regions listed, %d %s, %d requests, %d retries"
                    % (
                        len(done),
                        len(planned) * len(regions),
                        sum(done),
                        self.plural,
                        sum(run.requests.values()),
                        run.retries,
                    )
                )
            return records

        # An account's regions are listed as soon as its role is assumed: with 1,000 members the roles take 10 s at
        # the STS quota, and listing the first accounts meanwhile overlaps the two.
        workers = min(MAX_PARALLEL_LISTINGS, max(1, len(planned) * len(regions)))
        with ThreadPoolExecutor(max_workers=workers) as listing, ThreadPoolExecutor(max_workers=workers) as assuming:

            def account(target):
                connection, failure = assume(target), None
                if isinstance(connection, dict):  # the role could not be assumed: skipped as a whole
                    connection, failure = None, connection
                jobs = [listing.submit(one, target, connection, region) for region in regions] if connection else []
                return connection, failure, jobs

            accounts = [(target, assuming.submit(account, target)) for target in planned]
            targets, records = [], []
            for target, future in accounts:
                connection, failure, jobs = future.result()
                if failure:
                    whole.append(failure)
                else:
                    targets.append((target, connection))
                for job in jobs:
                    records.extend(job.result())
        skipped += whole + [partial[(id(t), r)] for t, _c in targets for r in regions if (id(t), r) in partial]
        self.targets = targets
        # the connection of every account read (None: the caller's), for writes after the listing
        self.connections = dict(((target.account_id if target else None), connection) for target, connection in targets)
        run = self.connection.run
        summary = dict(
            accounts=len(targets),
            regions=len(regions),
            **{self.plural: len(records)},
            requests=dict(run.requests),
            retries=run.retries,
            not_read=len(skipped),
        )
        return Result(records, skipped, summary)

    def _plan(self):
        """([Target or None], the accounts skipped before any role is assumed, assume(target) -> its connection, or
        the skipped entry of an account whose role cannot be assumed); without accounts, the caller's alone.

        Each member role is assumed once per account, so that an account whose role cannot be assumed fails (or is
        skipped) as a whole, before any of its regions is listed.
        """
        if not self.accounts.enabled:
            return [None], [], lambda target: self.connection
        caller = self.connection.caller_account()
        directory = _accounts.directory_accounts(self.connection) if self.accounts.all else None
        targets, skipped = self.accounts.targets(caller, directory)

        def assume(target):
            if target.role_arn is None:
                return self.connection
            connection = self.connection.for_role(target.role_arn)
            try:
                connection.credentials_now()
            except KmsError as error:
                error.account = target.account_id
                if self.strict or not _skippable(error):
                    raise
                return dict(_skip(error, None), region=None)
            return connection

        return targets, skipped, assume


def _is_region(name):
    try:
        return bool(check_region(name))
    except KmsOptionError:
        return False


def _check_regions(regions):
    if regions is None:
        return None
    if isinstance(regions, str):
        regions = [r.strip() for r in regions.split(",")]
    if not isinstance(regions, (list, tuple)) or not regions:
        raise KmsOptionError("regions", "must be a non-empty list of region IDs, or [all]")
    if "all" in regions:
        if len(regions) > 1:
            raise KmsOptionError("regions", "'all' cannot be combined with named regions")
        return ["all"]
    return list(dict.fromkeys(check_region(r, "regions") for r in regions))


def _skippable(error):
    """A denied or unreachable account or region may be skipped; a wrong answer or a bad request never."""
    code = error.code or ""
    if code in ("MalformedResponse", "ListingChanged", "MissingLibrary", "InvalidCredentials", "UnexpectedError"):
        return False
    denied = error.status in (401, 403) or "NoPermission" in code or code.startswith(("Forbidden", "EntityNotExist"))
    return denied or is_retryable(error)


def skip_text(entry):
    """A skipped account or region in one line, for the faces' warnings (strict_permissions is false)."""
    where = " ".join(
        x
        for x in (
            "account %s" % entry["account_id"] if entry["account_id"] else "",
            "region %s" % entry["region"] if entry["region"] else "",
        )
        if x
    )
    text = "skipped %s: %s: %s" % (where or "the caller's account", entry["code"], entry["message"])
    return text + (" (RequestId: %s)" % entry["request_id"] if entry["request_id"] else "")


def _skip(error, region):
    return dict(
        account_id=error.account,
        region=error.region or region,
        code=error.code,
        message=error.message,
        request_id=error.request_id,
    )


MAX_CONCURRENCY = 16  # in flight per region: enough for the rate limit at 250 ms latency; the limiter bounds the rate
# A listing whose TotalCount moves, or whose pages do not add up to it, is read again this many times, then fails.
MAX_REREADS = 3
# Requests handed to a thread pool at once: a listing of many pages holds a window of futures, never one per page.
WINDOW = 64


def windowed(pool, call, items):
    """[call(item) for item in items] through the pool, a WINDOW at a time, in order: memory stays bounded."""
    items = list(items)
    results = []
    for start in range(0, len(items), WINDOW):
        results.extend(pool.map(call, items[start : start + WINDOW]))
    return results


def every_page(connection, region, pool, action, params, page_size, container, id_of):
    """Every entry of a paged List* action in one region, in service order, each once: page 1 gives TotalCount, the
    other pages go out together through the pool. container is the (outer, inner) list of the reply; id_of(entry,
    body) is the entry's identifier, checked (MalformedResponse otherwise). A listing that does not add up to a
    steady TotalCount is read again, up to MAX_REREADS times, then ListingChanged: never a shorter answer."""

    def page(number):
        body = connection.call(region, action, dict(params, PageNumber=number, PageSize=page_size))
        entries = listed_items(body, container[0], container[1], region, action)
        return total_count(body, region, action), [(id_of(entry, body), entry, body) for entry in entries]

    problem = None
    for _attempt in range(MAX_REREADS):
        total, first = page(1)
        pages = [(total, first)] + windowed(pool, page, range(2, -(-total // page_size) + 1))
        seen = {}
        for _total, entries in pages:
            for identifier, entry, body in entries:
                seen.setdefault(identifier, (entry, body))
        if len(set(t for t, _entries in pages)) == 1 and len(seen) == total:
            return list(seen.values())
        problem = "TotalCount %d, %d distinct entries read" % (total, len(seen))
    raise KmsError(
        "ListingChanged",
        "the listing changed while it was being read (%s) in %d attempts; run again when the account is quiet"
        % (problem, MAX_REREADS),
        region=region,
        action=action,
    )
