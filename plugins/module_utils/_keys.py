# -*- coding: utf-8 -*-
# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# Internal to this collection; no compatibility promise (the public API is the modules, plugins, filters and role).
"""The one entry point of the core: options in, key records out (modules call list_keys, plugins KeyRequest)."""

from __future__ import annotations

import difflib
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.alicloud.kms.plugins.module_utils import _accounts
from ansible_collections.alicloud.kms.plugins.module_utils._connection import Connection
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import DEFAULT_REGION, check_region
from ansible_collections.alicloud.kms.plugins.module_utils._enrich import enrichment, narrowing_filters
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError, KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._lister import list_region
from ansible_collections.alicloud.kms.plugins.module_utils._query import FILTER_OPTIONS, KeyQuery
from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    add_metadata,
    check_key_arn,
    make_record,
    malformed,
)
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


class KeyRequest(object):
    """Everything a face asked for, validated as a whole before the first request."""

    def __init__(self, options, environ=None, log=None, warn=None):
        self.query = KeyQuery.from_options(options)
        self.connection = Connection(options, environ=environ, log=log, warn=warn)
        self.regions = _check_regions(options.get("regions"))
        self.facets = _check_facets(options.get("facets"))
        self.details = bool(options.get("details"))
        self.accounts = _accounts.AccountSpec(options)
        self.wanted = enrichment(options)
        self.query = self.query.with_pairs(narrowing_filters(self.wanted.tag_filters))
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

    def run(self, progress=None):
        """A Result: the records of every account and region, what was skipped, and what the run cost.

        With strict_permissions false, an account whose role cannot be assumed, or an account and region that is
        denied or unreachable after retries, is skipped (and listed) instead of failing the run.
        progress(text), when given, hears of every account-region done.
        """
        if not self.regions and not self.connection.region:
            raise KmsOptionError("region", "no region given; set region (or ALICLOUD_REGION) or regions")
        regions = self.resolve_regions()
        targets, skipped = self._targets()
        pairs = [(target, connection, region) for target, connection in targets for region in regions]
        # the connection of every account read (None: the caller's), for writes after the listing
        self.connections = dict(((target.account_id if target else None), connection) for target, connection in targets)
        done = []

        def one(pair):
            target, connection, region = pair
            try:
                account_id = target.account_id if target else None
                records = list_region(
                    connection, region, self.query, self.facets, self.details, self.wanted, account_id
                )
            except KmsError as error:
                error.account = error.account or (target.account_id if target else None)
                if self.strict or not _skippable(error):
                    raise
                skipped.append(_skip(error, region))
                records = []
            for record in records:
                if target is not None:
                    record["account_name"] = target.name
            done.append(len(records))
            if progress:
                run = self.connection.run
                progress(
                    "%d of %d account-regions listed, %d keys, %d requests, %d retries"
                    % (len(done), len(pairs), sum(done), sum(run.requests.values()), run.retries)
                )
            return records

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_LISTINGS, max(1, len(pairs)))) as pool:
            records = [record for listed in pool.map(one, pairs) for record in listed]
        run = self.connection.run
        summary = dict(
            accounts=len(targets),
            regions=len(regions),
            keys=len(records),
            requests=dict(run.requests),
            retries=run.retries,
            not_read=len(skipped),
        )
        return Result(records, skipped, summary)

    def _targets(self):
        """[(Target or None, connection)] and the accounts skipped before listing; without accounts, the caller's.

        Each member role is assumed here, once per account and in parallel, so that an account whose role cannot
        be assumed fails (or is skipped) as a whole, before any of its regions is listed.
        """
        if not self.accounts.enabled:
            return [(None, self.connection)], []
        caller = self.connection.caller_account()
        directory = _accounts.directory_accounts(self.connection) if self.accounts.all else None
        targets, skipped = self.accounts.targets(caller, directory)

        def assume(target):
            if target.role_arn is None:
                return self.connection, None
            connection = self.connection.for_role(target.role_arn)
            try:
                connection.credentials_now()
            except KmsError as error:
                error.account = target.account_id
                if self.strict or not _skippable(error):
                    raise
                return None, dict(_skip(error, None), region=None)
            return connection, None

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_LISTINGS, max(1, len(targets)))) as pool:
            assumed = list(pool.map(assume, targets))
        skipped += [failure for _connection, failure in assumed if failure]
        return [(t, c) for t, (c, _failure) in zip(targets, assumed) if c is not None], skipped

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


def _is_region(name):
    try:
        return bool(check_region(name))
    except KmsOptionError:
        return False


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
