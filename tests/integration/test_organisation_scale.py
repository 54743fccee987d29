"""A Resource Directory of 300 members in one run under the STS quota, through the real ansible CLI.

The emulator throttles AssumeRole beyond 100 requests per second per calling account (sts_qps: the documented quota,
Alibaba Cloud notice of 2022-08-29), answering 400 Throttling.User as the OpenAPI gateway does, and KMS beyond 50 per
account and region; throttle_rate throttles any request of any service on top. The run must come back complete and
exact, with max_retries 0: throttling slows a run down, it never spends the retries nor fails it before the deadline.
"""

from __future__ import annotations

import pytest

from conftest import Ansible
from emulator.seeding import DEMO_ACCOUNT_ID
from emulator.server import Emulator

MEMBERS, REGIONS = 300, ["cn-hangzhou", "cn-shanghai"]


@pytest.fixture(scope="module")
def organisation():
    # the demo account manages MEMBERS members with 2 keys in each of the first two regions
    with Emulator(generate_accounts="%d:2:2" % MEMBERS, qps=50, sts_qps=100) as emu:
        yield emu


@pytest.fixture
def ansible(organisation, tmp_path):
    organisation.reset()
    return Ansible(organisation, tmp_path)


def every_key(emu):
    return sorted(
        (account_id, key.key_id)
        for account_id, account in emu.backend.accounts.items()
        for region in REGIONS
        for key in account.keys.get(region, [])
    )


def throttled(emu):
    """{(service, action): throttled replies} of the run."""
    found = {}
    for request in emu.stats()["requests"]:
        if request["status"] in (400, 429):
            found[(request["service"], request["action"])] = found.get((request["service"], request["action"]), 0) + 1
    return found


def listed(run):
    return sorted((record["account_id"], record["key_id"]) for record in run["keys"])


def test_300_members_complete_exactly_under_the_sts_quota_with_throttling_injected(ansible, organisation):
    # throttled: 5% of all requests at random, and the first two of each service (ListAccounts' first page among them)
    organisation.set_faults(throttle_rate=0.05, throttle_first=2, random_seed=3)
    r = ansible.module("key_info", accounts=["all"], regions=REGIONS, max_retries=0)
    assert not r.failed, r.get("msg")
    assert listed(r) == every_key(organisation) and len(listed(r)) == MEMBERS * 2 * 2
    assert r["summary"]["accounts"] == MEMBERS + 1 and r["not_read"] == []
    stats = organisation.stats()
    successes = [q for q in stats["requests"] if q["action"] == "AssumeRole" and q["status"] == 200]
    assert len(successes) == MEMBERS, "each member's role assumed once"
    # every service was throttled and the run rode it out; the throttled requests were not counted as retries spent
    services = set(service for service, _action in throttled(organisation))
    assert services == {"kms", "sts", "resourcemanager"}, throttled(organisation)
    # paced at the quota: no second holds more than 100 AssumeRole (the emulator's bucket holds one second's worth)
    starts = sorted(q["started"] for q in stats["requests"] if q["action"] == "AssumeRole")
    busiest = max(sum(1 for t in starts[i:] if t < start + 1.0) for i, start in enumerate(starts))
    assert busiest <= 110, "%d AssumeRole in one second" % busiest  # arrival times jitter a little


def test_a_client_allowed_past_the_quota_is_throttled_by_sts_and_slows_down_instead_of_failing(ansible, organisation):
    # sts_rate_limit above the quota (as if another client shared the account's): STS answers Throttling.User, and
    # the run slows down until it completes
    r = ansible.module("key_info", accounts=["all"], regions=REGIONS, max_retries=0, sts_rate_limit=1000)
    assert not r.failed, r.get("msg")
    assert listed(r) == every_key(organisation)
    rejected = [q for q in organisation.stats()["requests"] if q["action"] == "AssumeRole" and q["status"] == 400]
    assert rejected, "the quota throttled AssumeRole"
    assert r["summary"]["retries"] >= len(rejected)


def test_the_caller_account_is_read_with_its_own_credentials_among_300(ansible, organisation):
    r = ansible.module("key_info", accounts=["all"], regions=["cn-hangzhou"], max_retries=0)
    assert not r.failed, r.get("msg")
    assert DEMO_ACCOUNT_ID in set(record["account_id"] for record in r["keys"]) or not organisation.backend.accounts[
        DEMO_ACCOUNT_ID
    ].keys.get("cn-hangzhou")
    assert len([q for q in organisation.stats()["requests"] if q["action"] == "AssumeRole"]) == MEMBERS


@pytest.mark.parametrize("value", [0, 5000, "fast"])
def test_a_bad_sts_rate_limit_fails_naming_it_before_any_request(ansible, organisation, value):
    r = ansible.module("key_info", accounts=["all"], regions=REGIONS, sts_rate_limit=value)
    assert r.failed and "sts_rate_limit" in r["msg"], r
    assert organisation.stats()["total"] == 0
