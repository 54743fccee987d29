"""Retry policy: what is retried, how long it waits, how the final error reads."""

from __future__ import annotations

import pytest

from ansible_collections.alicloud.kms.plugins.module_utils._connection import timeouts_ms
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import ConnectionOptions
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError
from ansible_collections.alicloud.kms.plugins.module_utils._ratelimit import RateLimiter
from ansible_collections.alicloud.kms.plugins.module_utils._retry import (
    backoff,
    call_with_retries,
    is_retryable,
    is_throttling,
)


@pytest.mark.parametrize(
    "code, status, retryable",
    [
        ("Rejected.Throttling", 429, True),
        ("Throttling.User", 400, True),
        ("ServiceUnavailableTemporary", 503, True),
        ("InternalFailure", 500, True),
        ("ConnectionError", None, True),
        ("MalformedResponse", None, True),
        ("SomethingNew", 502, True),
        ("InvalidParameter", 400, False),
        ("SignatureDoesNotMatch", 400, False),
        ("InvalidAccessKeyId.NotFound", 404, False),
        ("Forbidden.NoPermission", 403, False),
    ],
)
def test_only_throttling_5xx_and_transport_errors_are_retried(code, status, retryable):
    assert is_retryable(KmsError(code, "m", status=status)) is retryable


def test_backoff_is_jittered_exponential_and_capped():
    assert backoff(0, rand=lambda: 1.0) == pytest.approx(0.2)
    assert backoff(3, rand=lambda: 1.0) == pytest.approx(1.6)
    assert backoff(30, rand=lambda: 1.0) == 10.0
    assert backoff(3, rand=lambda: 0.0) == 0.0


def test_retry_after_from_the_service_wins():
    assert backoff(0, retry_after=2.5, rand=lambda: 0.0) == 2.5


def test_gives_up_after_max_retries_and_says_how_many_attempts():
    calls, sleeps = [], []

    def fail():
        calls.append(1)
        raise KmsError(
            "Rejected.Throttling", "slow down", request_id="R1", region="cn-hangzhou", action="ListKeys", status=429
        )

    with pytest.raises(KmsError) as info:
        call_with_retries(fail, 3, sleep=sleeps.append)
    assert len(calls) == 4 and len(sleeps) == 3
    assert str(info.value) == (
        "ListKeys failed in region cn-hangzhou: Rejected.Throttling: slow down (RequestId: R1) after 4 attempts"
    )


def test_client_errors_fail_at_once():
    calls = []

    def fail():
        calls.append(1)
        raise KmsError("InvalidParameter", "bad", status=400)

    with pytest.raises(KmsError):
        call_with_retries(fail, 5, sleep=lambda s: None)
    assert len(calls) == 1


def test_success_after_transient_failures():
    outcomes = iter([KmsError("InternalFailure", "x", status=500), KmsError("ConnectionError", "reset"), "ok"])

    def flaky():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert call_with_retries(flaky, 5, sleep=lambda s: None) == "ok"


def test_no_retry_starts_that_would_end_past_the_deadline():
    now = [100.0]
    calls = []

    def fail():
        calls.append(now[0])
        raise KmsError("InternalFailure", "boom", request_id="R3", region="cn-hangzhou", action="ListKeys", status=500)

    def sleep(seconds):
        now[0] += seconds

    with pytest.raises(KmsError) as info:
        call_with_retries(fail, 20, sleep=sleep, deadline=101.0, clock=lambda: now[0])
    assert now[0] <= 101.0 and 1 < len(calls) < 21
    assert str(info.value).endswith("after %d attempts (gave up at the deadline)" % len(calls))
    assert "InternalFailure" in str(info.value) and "R3" in str(info.value)


class FakeClock(object):
    """time.monotonic and time.sleep for one thread: sleeping advances the clock."""

    def __init__(self):
        self.now = 100.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_the_rate_limiter_spaces_requests_evenly():
    fake = FakeClock()
    limiter = RateLimiter(10, clock=fake.clock, sleep=fake.sleep)
    starts = []
    for _attempt in range(5):
        limiter.wait()
        starts.append(fake.now)
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:])] == [0.1] * 4


def test_the_rate_limiter_slows_down_after_throttling_but_not_below_its_floor():
    fake = FakeClock()
    limiter = RateLimiter(10, clock=fake.clock, sleep=fake.sleep)
    limiter.slow_down()
    assert limiter.interval == pytest.approx(0.15)
    for _attempt in range(20):
        limiter.slow_down()
    assert limiter.interval == 1.0
    limiter.wait()
    before = fake.now
    limiter.wait()
    assert fake.now - before == pytest.approx(1.0)


def test_request_timeouts_are_clamped_to_the_time_left_before_the_deadline():
    options = ConnectionOptions({"connect_timeout": 5, "read_timeout": 30}, environ={})
    assert timeouts_ms(options, 300) == (5000, 30000)
    assert timeouts_ms(options, 2.5) == (2500, 2500)
    assert timeouts_ms(options, 0.0001) == (1, 1)


def test_no_retry_starts_that_would_end_after_the_deadline():
    fake = FakeClock()
    calls = []

    def fail():
        calls.append(fake.now)
        raise KmsError("Rejected.Throttling", "slow down", status=429, retry_after=2.0)

    with pytest.raises(KmsError) as info:
        call_with_retries(fail, 20, sleep=fake.sleep, deadline=fake.now + 5, clock=fake.clock)
    assert calls == [100.0, 102.0, 104.0] and fake.slept == [2.0, 2.0]
    assert info.value.attempts == 3 and "gave up at the deadline" in str(info.value)


def test_throttling_does_not_spend_max_retries_but_stops_at_the_deadline():
    fake = FakeClock()
    outcomes = [KmsError("Rejected.Throttling", "slow down", status=429)] * 12 + [
        KmsError("Throttling.User", "flow control", status=400)
    ] * 3
    outcomes = iter(outcomes + ["ok"])

    def throttled():
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    result = call_with_retries(
        throttled, 0, sleep=fake.sleep, deadline=fake.now + 60, clock=fake.clock, unbounded=is_throttling
    )
    assert result == "ok" and len(fake.slept) == 15
    assert max(fake.slept) <= 0.8, "a throttled retry waits a short jittered time: the pace slows instead"

    def always():
        raise KmsError("Rejected.Throttling", "slow down", status=429)

    with pytest.raises(KmsError) as info:
        call_with_retries(always, 0, sleep=fake.sleep, deadline=fake.now + 5, clock=fake.clock, unbounded=is_throttling)
    assert info.value.attempts > 1 and "gave up at the deadline" in str(info.value)


def test_other_failures_still_spend_max_retries_between_throttled_attempts():
    outcomes = iter(
        [
            KmsError("Rejected.Throttling", "slow down", status=429),
            KmsError("InternalFailure", "x", status=500),
            KmsError("Rejected.Throttling", "slow down", status=429),
            KmsError("InternalFailure", "x", status=500),
        ]
    )

    def flaky():
        raise next(outcomes)

    with pytest.raises(KmsError) as info:
        call_with_retries(flaky, 1, sleep=lambda s: None, deadline=1e12, unbounded=is_throttling)
    assert info.value.code == "InternalFailure" and info.value.attempts == 4


def test_a_burst_of_throttled_replies_slows_the_pace_once_and_successes_recover_it():
    fake = FakeClock()
    limiter = RateLimiter(100, clock=fake.clock, sleep=fake.sleep)
    tickets = [limiter.wait() for _request in range(10)]  # ten requests in flight, all throttled
    for ticket in tickets:
        limiter.slow_down(ticket=ticket)
    assert limiter.interval == pytest.approx(0.015)
    limiter.slow_down(ticket=limiter.wait())  # a request sent after the slow-down: slows again
    assert limiter.interval == pytest.approx(0.0225)
    for _success in range(200):
        limiter.succeeded()
    assert limiter.interval == pytest.approx(0.01)


def test_a_slow_down_never_speeds_up_a_rate_below_its_floor():
    limiter = RateLimiter(0.5)
    limiter.slow_down()
    assert limiter.interval == pytest.approx(2.0)
