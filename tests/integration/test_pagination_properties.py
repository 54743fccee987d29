"""Property test of pagination through the real core and emulator: any page size, any key count,
any order in which the pages arrive, gives the same keys in the service's order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.alicloud.kms.plugins.module_utils._keys import list_keys
from conftest import DEMO_KEY
from emulator.server import Emulator

COUNTS = (0, 1, 2, 99, 100, 101, 257)
REGIONS = dict(("cn-test-%d" % count, count) for count in COUNTS)


@pytest.fixture(scope="module")
def jittery():
    # jittered latency shuffles the order in which concurrent pages come back
    generate = ",".join("%s=%d" % (region, count) for region, count in REGIONS.items())
    with Emulator(generate=generate, latency_ms=1, latency_jitter_ms=8, qps=0) as emu:
        yield emu


@settings(max_examples=40, deadline=None)
@given(region=st.sampled_from(sorted(REGIONS)), page_size=st.integers(min_value=1, max_value=100))
def test_any_page_size_and_arrival_order_gives_the_same_keys(jittery, region, page_size):
    records = list_keys(
        {
            "region": region,
            "page_size": page_size,
            "access_key_id": DEMO_KEY[0],
            "access_key_secret": DEMO_KEY[1],
            "protocol": "http",
            "http_proxy": jittery.url,
            "rate_limit": 1000,
        },
        environ={},
    ).records
    keys = jittery.backend.default_account.keys.get(region, [])
    assert [r["key_id"] for r in records] == [k.key_id for k in keys]
    assert len(keys) == REGIONS[region]
