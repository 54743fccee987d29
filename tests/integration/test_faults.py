"""The fault suite: complete, exact results under injected faults, or a loud failure within the deadline."""

from __future__ import annotations

import time

from conftest import truth
from emulator.ports import refused_port

TWO_REGIONS = ["cn-hangzhou", "cn-shanghai"]


def expected_ids(emulator, regions):
    return [k.key_id for region in regions for k in truth(emulator, region)]


def test_exact_keys_under_5xx_drops_and_a_20_qps_limit_over_two_regions(ansible, emulator):
    emulator.set_faults(error_rate_503=0.1, error_rate_500=0.1, drop_rate=0.05, qps=20, random_seed=11)
    r = ansible.module(
        "key_info", regions=TWO_REGIONS, page_size=1, facets=["key_state"], max_retries=10, read_timeout=2
    )
    assert not r.failed, r.get("msg")
    assert sorted(r["key_ids"]) == sorted(expected_ids(emulator, TWO_REGIONS))
    states = dict((k.key_id, k.key_state) for region in TWO_REGIONS for k in truth(emulator, region))
    assert all(record["key_state"] == states[record["key_id"]] for record in r["keys"])
    outcomes = emulator.stats()["by_outcome"]
    assert outcomes.get("503") and outcomes.get("500") and outcomes.get("dropped"), outcomes


def test_a_throttling_storm_is_ridden_out_honouring_retry_after(ansible, emulator):
    emulator.set_faults(qps=3, retry_after_ms=300)
    r = ansible.module("key_info", region="cn-hangzhou", page_size=1, max_retries=20)
    assert not r.failed, r.get("msg")
    assert r["key_ids"] == expected_ids(emulator, ["cn-hangzhou"])
    requests = emulator.stats()["requests"]
    throttled = [q for q in requests if q["status"] == 429]
    assert throttled and all(q["retry_after_ms"] == 300 for q in throttled)
    # Each page has its own number: the retry of a throttled page is the next request for that page, and it
    # starts no sooner than the service asked (the emulator's clock on both sides).
    for rejected in throttled:
        retry = next(
            q for q in requests if q["page_number"] == rejected["page_number"] and q["started"] > rejected["started"]
        )
        assert retry["started"] - rejected["finished"] >= 0.3 - 0.005, (rejected, retry)


def test_malformed_bodies_are_retried_like_5xx(ansible, emulator):
    emulator.set_faults(malformed_rate=0.3, random_seed=5)
    r = ansible.module("key_info", region="cn-shanghai", page_size=1, max_retries=10)
    assert not r.failed, r.get("msg")
    assert r["key_ids"] == expected_ids(emulator, ["cn-shanghai"])
    served = [q["malformed"] for q in emulator.stats()["requests"] if q.get("malformed")]
    assert "html" in served and "truncated" in served, "both kinds of garbled body were really served"


def test_exhausted_retries_fail_with_the_last_code_request_id_region_and_attempts(ansible, emulator):
    emulator.set_faults(error_rate_503=1.0)
    r = ansible.module("key_info", region="cn-shanghai", max_retries=2)
    assert r.failed
    assert r["error"]["code"] == "ServiceUnavailableTemporary" and r["error"]["attempts"] == 3
    assert r["msg"] == (
        "ListKeys failed in region cn-shanghai: ServiceUnavailableTemporary: %s (RequestId: %s) after 3 attempts"
        % (r["error"]["message"], r["error"]["request_id"])
    )
    assert emulator.stats()["by_action"] == {"ListKeys": 3}


def test_a_denied_region_fails_the_modules_naming_region_code_and_request_id(ansible, emulator):
    emulator.set_faults(deny_regions=["cn-shanghai"])
    r = ansible.module("key_info", regions=TWO_REGIONS)
    assert r.failed and r["error"]["code"] == "Forbidden.NoPermission" and r["error"]["region"] == "cn-shanghai"
    assert "RequestId: %s" % r["error"]["request_id"] in r["msg"]
    assert emulator.stats()["by_outcome"]["403"] == 1, "a permission error is never retried"


def test_an_unreachable_endpoint_fails_cleanly(ansible, emulator):
    with refused_port() as port:
        r = ansible.module(
            "key_info",
            region="cn-hangzhou",
            endpoint="127.0.0.1:%d" % port,
            http_proxy=None,
            max_retries=2,
            deadline=20,
        )
    assert r.failed and r["error"]["code"] == "ConnectionError" and r["error"]["attempts"] == 3
    assert "Traceback" not in r["msg"] and "127.0.0.1:%d" % port in r["msg"].split("ConnectionError")[1]


def test_a_slow_service_fails_within_the_deadline(ansible, emulator):
    emulator.set_faults(latency_ms=3000)
    before = time.time()
    r = ansible.module("key_info", region="cn-hangzhou", read_timeout=1, max_retries=20, deadline=4)
    assert r.failed and r["error"]["code"] in ("ConnectionError", "DeadlineExceeded")
    assert "gave up at the deadline" in r["msg"] or r["error"]["code"] == "DeadlineExceeded"
    # The deadline starts before the first request: none may be sent after it has passed. The emulator records a
    # request when its (3 s late) reply is ready, after the client gave up on it: wait for those still in its hands.
    waited = time.monotonic()
    while emulator.counts.in_flight and time.monotonic() - waited < 10:
        time.sleep(0.1)
    requests = emulator.stats()["requests"]
    first = requests[0]["started_wall"]
    assert before <= first and len(requests) >= 2 and all(q["started_wall"] < first + 4 for q in requests), requests
