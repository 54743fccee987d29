"""Fault injection: settings, reproducible random decisions and per account/region throttling."""

from __future__ import annotations

import dataclasses
import random
import threading
import time

from .backend import FILTER_KEYS, SECRET_FILTER_KEYS, Backend
from .hostile import DEFAULT_CANARY, MISMATCHES, check_canary

RATES = ("error_rate_503", "error_rate_500", "drop_rate", "malformed_rate", "throttle_rate")


@dataclasses.dataclass
class FaultSettings:
    latency_ms: float = 0
    latency_jitter_ms: float = 0
    qps: float | None = 50  # per account and region, as the real service; None or 0 = unlimited
    # STS AssumeRole per calling account: 100/s is the documented quota ("Notification of Request Limit Upgrade of
    # STS AssumeRole API", Alibaba Cloud notice of 2022-08-29: "100 requests per second ... per Alibaba Cloud account.
    # API requests that are sent by using RAM users and RAM roles within the Alibaba Cloud account are also counted";
    # beyond it "Throttling errors will be returned"). Default None: unlimited, so that tests without it are unchanged.
    sts_qps: float | None = None
    # Every request of any service (KMS, STS, ResourceManager) is throttled with this probability, on top of the
    # quotas: each service's own throttling reply (server.throttled). 0: never.
    throttle_rate: float = 0
    # The first N requests of each service (KMS, STS, ResourceManager) from the moment it is set are throttled the same
    # way: a throttled reply on every service, whatever the random draws. 0: none.
    throttle_first: int = 0
    # AssumeRole issues credentials that expire after this many seconds whatever DurationSeconds asked for (a role
    # session cut short, or a clock far ahead): lets a test see a client re-assume near expiry. None: as asked.
    sts_session_seconds: int | None = None
    retry_after_ms: int | None = None  # sent as x-acs-retry-after on throttling replies (the SDK reads milliseconds)
    error_rate_503: float = 0
    error_rate_500: float = 0
    drop_rate: float = 0
    malformed_rate: float = 0
    deny_regions: list = dataclasses.field(default_factory=list)
    flat_keys: bool = False
    # {"page": k, "add": n, "delete": m, "region": r, "times": t}: after serving page k of a ListKeys, delete the m
    # oldest keys and add n new ones; add == delete changes the keys but not TotalCount. Fires on t listing passes
    # (default 1; 0 = every pass), then the setting clears itself.
    mutate_after_page: dict | None = None
    # {region: {filter key: [values]}}: ListKeys there ignores these filter values, as a region without SM or HSM
    # support does (ListKeysRequest docs): a pair left without values constrains nothing. Default: none.
    ignore_filter_values: dict = dataclasses.field(default_factory=dict)
    # {region: [filter keys]}: ListKeys (and ListSecrets, for its keys) there ignores these filter keys entirely (say
    # TagKey, TagValue, AliasName, SecretType): the pairs are still validated, then constrain nothing. Default: none.
    ignore_filter_keys: dict = dataclasses.field(default_factory=dict)
    # {region: [KMS actions]}: the region does not offer them and answers 404 InvalidAction.NotFound, as for an
    # action that does not exist (e.g. ListTagResources, to exercise a client's fallback to ListResourceTags).
    deny_actions: dict = dataclasses.field(default_factory=dict)
    # Rows per ListTagResources page; default 200 (ListTagResourcesRequest.next_token: "By default, 200 rows are
    # returned per page"); lower it to make NextToken paging happen with few keys.
    tag_page_size: int = 200
    # The hostile profile (hostile.py): every free-text field the emulator returns holds Jinja that would run
    # `touch <hostile_canary>`, markup, control characters or 10,000 characters. It rewrites the state when it turns
    # on, so it turns off only by reset() of an emulator started without it; set hostile_canary with it or before.
    hostile: bool = False
    hostile_canary: str = DEFAULT_CANARY
    # "key", "account", "region" or "key_id": each ListKeys entry's KeyArn names another key, account or region, or
    # its KeyId is not in the documented form (hostile.mismatch). Default None: identifiers agree.
    mismatched_ids: str | None = None
    random_seed: int = 0


FAULT_NAMES = tuple(f.name for f in dataclasses.fields(FaultSettings))


@dataclasses.dataclass
class Decision:
    """Everything random about one request, drawn up front so runs replay given the seed."""

    latency_s: float
    drop: bool
    error_503: bool
    error_500: bool
    malformed: bool
    malformed_html: bool
    throttle: bool = False


class TokenBucket:
    """Holds up to one second of requests and refills continuously at `rate` per second."""

    def __init__(self, rate: float, clock=time.monotonic):
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _check(name: str, value):
    """Validate and normalise one setting; raise ValueError with a readable reason."""
    if name in RATES:
        value = float(value or 0)
        if not 0 <= value <= 1:
            raise ValueError(f"{name} must be between 0 and 1")
    elif name in ("latency_ms", "latency_jitter_ms"):
        value = float(value or 0)
        if value < 0:
            raise ValueError(f"{name} must not be negative")
    elif name in ("qps", "sts_qps"):
        value = float(value) if value else None
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative")
    elif name == "sts_session_seconds":
        value = int(value) if value else None
        if value is not None and value < 1:
            raise ValueError("sts_session_seconds must be at least 1 (or null)")
    elif name == "retry_after_ms":
        value = int(value) if value else None
    elif name == "deny_regions":
        value = [value] if isinstance(value, str) else list(value or [])
    elif name in ("flat_keys", "hostile"):
        value = value.strip().lower() in ("1", "true", "yes", "on") if isinstance(value, str) else bool(value)
    elif name == "mutate_after_page":
        if value:
            unknown = set(value) - {"page", "add", "delete", "region", "times"}
            if unknown or "page" not in value:
                raise ValueError("mutate_after_page takes page (required), add, delete, region, times")
            value = {
                "page": int(value["page"]),
                "add": int(value.get("add", 0)),
                "delete": int(value.get("delete", 0)),
                "region": value.get("region"),
                "times": int(value.get("times", 1)),
            }
            if value["times"] < 0:
                raise ValueError("mutate_after_page times must be >= 0 (0 = every listing pass)")
        else:
            value = None
    elif name == "ignore_filter_values":
        value = {
            str(region): {key: list(values) for key, values in (pairs or {}).items()}
            for region, pairs in (value or {}).items()
        }
        for pairs in value.values():
            for key, values in pairs.items():
                if key not in FILTER_KEYS or not all(isinstance(v, str) for v in values):
                    raise ValueError(
                        f"ignore_filter_values: {key!r} must be a ListKeys filter key with a list of strings"
                    )
    elif name in ("ignore_filter_keys", "deny_actions"):
        known = set(FILTER_KEYS) | set(SECRET_FILTER_KEYS) if name == "ignore_filter_keys" else Backend.ACTIONS
        value = {
            str(region): [names] if isinstance(names, str) else list(names or [])
            for region, names in (value or {}).items()
        }
        for names in value.values():
            if not all(n in known for n in names):
                raise ValueError(f"{name}: each region takes a list of {sorted(known)}")
    elif name == "throttle_first":
        value = int(value or 0)
        if value < 0:
            raise ValueError("throttle_first must not be negative")
    elif name == "tag_page_size":
        value = int(value)
        if value < 1:
            raise ValueError("tag_page_size must be at least 1")
    elif name == "hostile_canary":
        value = check_canary(value)
    elif name == "mismatched_ids":
        value = value or None
        if value is not None and value not in MISMATCHES:
            raise ValueError(f"mismatched_ids must be one of {', '.join(MISMATCHES)} (or null)")
    elif name == "random_seed":
        value = int(value or 0)
    else:
        raise ValueError(f"unknown fault setting {name!r}; known: {', '.join(FAULT_NAMES)}")
    return value


class Faults:
    """Current fault settings plus the state they need (random generator, token buckets)."""

    def __init__(self, **settings):
        self.lock = threading.Lock()
        self.settings = FaultSettings()
        self.rng = random.Random(0)
        self.buckets: dict[tuple, TokenBucket] = {}
        self.throttled_first: dict[str, int] = {}  # service -> requests throttled by throttle_first so far
        self.update(**settings)
        self.initial = self.settings  # what reset() returns to

    def preview(self, **settings) -> FaultSettings:
        """The settings update() would give, checked, without applying them."""
        checked = {name: _check(name, value) for name, value in settings.items()}
        with self.lock:
            return dataclasses.replace(self.settings, **checked)

    def update(self, **settings) -> dict:
        with self.lock:
            checked = {name: _check(name, value) for name, value in settings.items()}
            self.settings = dataclasses.replace(self.settings, **checked)
            if "qps" in checked or "sts_qps" in checked:
                self.buckets.clear()
            if "throttle_first" in checked:
                self.throttled_first.clear()
            if "random_seed" in checked:
                self.rng.seed(self.settings.random_seed)
            return self.as_dict()

    def reset(self) -> None:
        """Back to the settings given at construction, random generator reseeded, buckets full."""
        with self.lock:
            self.settings = self.initial
            self.rng.seed(self.settings.random_seed)
            self.buckets.clear()
            self.throttled_first.clear()

    def as_dict(self) -> dict:
        return dataclasses.asdict(self.settings)

    def decide(self) -> Decision:
        with self.lock:
            s, draw = self.settings, [self.rng.random() for dummy in range(6)]
            # drawn only when asked for, so that the seeded sequences of the other faults stay as they were
            throttle = bool(s.throttle_rate) and self.rng.random() < s.throttle_rate
        return Decision(
            latency_s=max(0.0, s.latency_ms + (2 * draw[0] - 1) * s.latency_jitter_ms) / 1000,
            drop=draw[1] < s.drop_rate,
            error_503=draw[2] < s.error_rate_503,
            error_500=draw[3] < s.error_rate_500,
            malformed=draw[4] < s.malformed_rate,
            malformed_html=draw[5] < 0.5,
            throttle=throttle,
        )

    def allow(self, account_id: str, region: str) -> bool:
        """False when the account's token bucket for this region is empty."""
        with self.lock:
            if not self.settings.qps:
                return True
            bucket = self.buckets.get((account_id, region))
            if bucket is None:
                bucket = self.buckets[(account_id, region)] = TokenBucket(self.settings.qps)
            return bucket.take()

    def throttle_now(self, service: str) -> bool:
        """True for the first throttle_first requests of the service."""
        with self.lock:
            done = self.throttled_first.get(service, 0)
            if done >= self.settings.throttle_first:
                return False
            self.throttled_first[service] = done + 1
            return True

    def allow_sts(self, account_id: str) -> bool:
        """False when the calling account's AssumeRole bucket (sts_qps) is empty."""
        with self.lock:
            if not self.settings.sts_qps:
                return True
            bucket = self.buckets.get(("sts", account_id))
            if bucket is None:
                bucket = self.buckets[("sts", account_id)] = TokenBucket(self.settings.sts_qps)
            return bucket.take()

    def take_mutation(self, page_number: int) -> dict | None:
        """The pending mutation if this page triggers it; it fires `times` times (0 = always), then clears."""
        with self.lock:
            mutation = self.settings.mutate_after_page
            if mutation and mutation["page"] == page_number:
                if mutation["times"] > 0:  # replace, never edit: self.initial may be the same object
                    remaining = dict(mutation, times=mutation["times"] - 1) if mutation["times"] > 1 else None
                    self.settings = dataclasses.replace(self.settings, mutate_after_page=remaining)
                return mutation
            return None
