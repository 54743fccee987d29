"""Exact or loud (issue 12): every face returns every key with true attributes, or fails naming the problem.

Each test reproduces one defect a review found in 1.0, through the real face it concerns.
"""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import BIN, inventory, inventory_env, listing, mentions, truth
from emulator.backend import Backend, make_key

RSA_REGION = "ap-southeast-5"  # a region of our own: every key RSA_2048, and SM specs unsupported there


def lookup(ansible, call, **variables):
    """ansible.builtin.debug showing call (a lookup or query expression), with the emulator's connection in the
    variables ak, sk and proxy: what the lookup gave is r["msg"], or its error."""
    c = ansible.connection()
    return ansible.module(
        "ansible.builtin.debug",
        extra_vars=dict(variables, ak=c["access_key_id"], sk=c["access_key_secret"], proxy=ansible.emu.url),
        msg="{{ %s }}" % call,
    )


CONNECTION = "access_key_id=ak, access_key_secret=sk, protocol='http', http_proxy=proxy"


def test_a_key_changing_state_between_two_partitions_is_not_lost(ansible, emulator):
    """Item 4: the key leaves Disabled after that partition was read, and enters Enabled after that one was."""
    moving = truth(emulator, "cn-hangzhou", key_state=["Disabled"])[0]
    done = []

    def move(emu, entry):
        if not done and "KeyState" in (entry["filters"] or "") and '"Enabled"' in entry["filters"]:
            done.append(entry)
            emu.update_key("cn-hangzhou", moving.key_id, key_state="Enabled")

    emulator.on_request(move, times=0)
    # Requests one after another (5/s, no latency): the partitions are read in their order, Enabled first.
    r = ansible.module("key_info", region="cn-hangzhou", facets=["key_state"], rate_limit=5)
    assert not r.failed, r
    keys = dict((k["key_id"], k["key_state"]) for k in r["keys"])
    assert done and len(keys) == len(truth(emulator, "cn-hangzhou"))
    assert keys[moving.key_id] == "Enabled"
    assert keys == dict((k.key_id, k.key_state) for k in truth(emulator, "cn-hangzhou"))


def test_a_listing_that_never_settles_fails_loudly(ansible, emulator):
    """Item 22: the keys change on every pass; after the last re-read the run fails, it never answers short."""
    moving = truth(emulator, "cn-hangzhou", key_state=["Disabled"])[0]

    # flipped after both the Enabled and the Disabled listing: between the two it has moved once, so it is in both
    # or in neither, whichever the core asks first (Python 3.13 orders the partitions' threads differently)
    def flip(emu, entry):
        filters = entry["filters"] or ""
        if "KeyState" in filters and ('"Enabled"' in filters or '"Disabled"' in filters):
            key = [k for k in truth(emu, "cn-hangzhou") if k.key_id == moving.key_id][0]
            emu.update_key(
                "cn-hangzhou", moving.key_id, key_state="Disabled" if key.key_state == "Enabled" else "Enabled"
            )

    emulator.on_request(flip, times=0)
    r = ansible.module("key_info", region="cn-hangzhou", facets=["key_state"], rate_limit=5)
    assert r.failed and r["error"]["code"] == "ListingChanged" and "3 attempts" in r["msg"], r


def test_a_key_read_twice_with_the_same_total_is_caught_by_the_distinct_count(ansible, emulator):
    """Item 22: after page 1 a key is created at the front and the last one deleted, on every pass: TotalCount
    stays, the pages shift and one key is read twice; the distinct keys read give it away."""
    account = emulator.backend.default_account

    def shift(emu, entry):
        if entry["page_number"] == "1":
            with emu.backend.lock:
                keys = account.keys["cn-hangzhou"]
                keys.insert(0, make_key(account.account_id, "cn-hangzhou", account.created, {}))
                account.created += 1
                keys.pop()

    emulator.on_request(shift, times=0)
    r = ansible.module("key_info", region="cn-hangzhou", page_size=5)
    total = len(truth(emulator, "cn-hangzhou"))
    assert r.failed and r["error"]["code"] == "ListingChanged", r
    assert "TotalCount %d, %d distinct keys read" % (total, total - 1) in r["msg"], r


def test_a_spec_the_region_ignores_labels_no_key(ansible, emulator):
    """Items 10 and 20: there, KeySpec=Aliyun_SM4 answers with every key; those RSA keys must stay RSA_2048."""
    emulator.add_keys(RSA_REGION, [{"key_spec": "RSA_2048", "key_usage": "SIGN/VERIFY"}] * 4)
    emulator.set_faults(
        ignore_filter_values={RSA_REGION: {"KeySpec": ["Aliyun_SM4", "EC_SM2"], "ProtectionLevel": ["HSM"]}}
    )
    r = ansible.module("key_info", region=RSA_REGION, facets=["key_spec", "protection_level"])
    assert not r.failed, r
    assert [(k["key_spec"], k["protection_level"]) for k in r["keys"]] == [("RSA_2048", "SOFTWARE")] * 4


def test_service_fields_never_become_ansible_variables_or_replace_derived_ones(ansible, emulator, monkeypatch):
    """Item 5: a hostile DescribeKey adds fields; the inventory's hostvars hold only documented ones."""
    original = Backend.ACTIONS["DescribeKey"]

    def hostile(backend, account_id, region, params):
        body = original(backend, account_id, region, params)
        body["KeyMetadata"].update(
            {
                "AnsibleShellExecutable": "/bin/false",
                "AnsibleConnection": "ssh",
                "Region": "evil-1",
                "AccountId": "6666666666666666",
                "KeyArn": "acs:kms:evil-1:6:key/x",
                "CreatorType": "User",
            }
        )
        return body

    monkeypatch.setitem(Backend.ACTIONS, "DescribeKey", hostile)
    proc, data = listing(ansible, inventory(ansible, regions=["cn-shanghai"], details=True))
    assert proc.returncode == 0, proc.stderr
    hostvars = data["_meta"]["hostvars"]
    assert len(hostvars) == len(truth(emulator, "cn-shanghai"))
    for host in hostvars.values():
        assert host["ansible_connection"] == "local" and "ansible_shell_executable" not in host
        assert host["region"] == "cn-shanghai" and host["account_id"] == "1234567890123456"
        assert host["key_arn"].startswith("acs:kms:cn-shanghai:1234567890123456:key/")
        assert "creator_type" not in host and "key_state" in host


@pytest.mark.parametrize(
    "term",
    [
        "acs:kms:attacker.example/:1234567890123456:key/x",
        "acs:kms:cn-hangzhou:1234567890123456:key/",
        "acs:kms:cn-hangzhou:12ab:key/x",
        "acs:kms:cn-hangzhou:1234567890123456:key/a/../b",
        "",
        42,
    ],
)
def test_a_bad_lookup_term_fails_naming_it_with_no_request(ansible, emulator, term):
    """Item 6: the region of an ARN picks the endpoint a signed request goes to."""
    r = lookup(ansible, "lookup('alicloud.kms.keys', term, region='cn-hangzhou', %s)" % CONNECTION, term=term)
    assert r.failed and "_terms: " in r["msg"] and repr(term) in r["msg"], r
    assert emulator.stats()["total"] == 0


def test_an_arn_term_sends_describekey_the_key_id_in_the_arns_region(ansible, emulator, monkeypatch):
    """Item 26: DescribeKey documents KeyId as a key ID or alias, not an ARN."""
    key = truth(emulator, "cn-shanghai")[0]
    sent = []
    original = Backend.ACTIONS["DescribeKey"]
    monkeypatch.setitem(
        Backend.ACTIONS,
        "DescribeKey",
        lambda backend, account, region, params: (
            sent.append((region, params.get("KeyId"))) or original(backend, account, region, params)
        ),
    )
    r = lookup(ansible, "lookup('alicloud.kms.keys', arn, %s)" % CONNECTION, arn=key.arn)
    assert not r.failed, r
    assert sent == [("cn-shanghai", key.key_id)] and r["msg"]["key_arn"] == key.arn


def test_two_keys_with_one_hostname_fail_the_inventory_naming_both(ansible, emulator):
    """Item 7: hostname: key_state turned 14 keys into 4 hosts."""
    proc, _data = listing(
        ansible, inventory(ansible, regions=["cn-hangzhou"], facets=["key_state"], hostname="key_state")
    )
    assert proc.returncode != 0
    assert mentions(proc.stderr, "hostname: 'key_state' gives two keys the host name 'Enabled'", "acs:kms:cn-hangzhou:")


def test_regions_all_with_an_empty_describeregions_fails(ansible, emulator, monkeypatch):
    """Item 9: `all` meaning no region is a malformed reply, not an empty success."""
    monkeypatch.setattr(emulator.backend, "regions", [])
    r = ansible.module("key_info", regions=["all"])
    assert r.failed and r["error"]["code"] == "MalformedResponse" and "DescribeRegions" in r["msg"], r


def test_a_lookup_keyword_typo_fails_with_a_suggestion(ansible, emulator):
    """Item 12: key_stat='PendingDeletion' returned every key."""
    r = lookup(ansible, "query('alicloud.kms.keys', region='cn-hangzhou', key_stat='PendingDeletion', %s)" % CONNECTION)
    assert r.failed and "key_stat (did you mean key_state?)" in r["msg"], r
    assert emulator.stats()["total"] == 0


def test_the_inventory_cache_is_per_filter_and_per_identity(ansible, emulator):
    """Item 13: other filters, or another account's credentials, are never answered from the cache."""
    cache = {
        "cache": True,
        "cache_plugin": "ansible.builtin.jsonfile",
        "cache_connection": str(ansible.tmp / "cache"),
        "regions": ["cn-hangzhou"],
    }
    path = inventory(ansible, key_state=["Enabled"], **cache)
    _proc, enabled = listing(ansible, path)
    path = inventory(ansible, key_state=["Disabled"], **cache)
    _proc, disabled = listing(ansible, path)
    assert set(enabled["_meta"]["hostvars"]) == set(
        k.key_id for k in truth(emulator, "cn-hangzhou", key_state=["Enabled"])
    )
    assert set(disabled["_meta"]["hostvars"]) == set(
        k.key_id for k in truth(emulator, "cn-hangzhou", key_state=["Disabled"])
    )
    other = dict(
        inventory_env(ansible),
        ALICLOUD_ACCESS_KEY="LTAI5tKmsEmulatorDemo02",
        ALICLOUD_SECRET_KEY="kms-emulator-demo-secret-2",
    )
    proc = ansible.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list"], env=other)
    hosts = json.loads(proc.stdout)["_meta"]["hostvars"]
    assert not set(hosts) & set(disabled["_meta"]["hostvars"])
    assert not any(
        secret in p.read_text()
        for p in (ansible.tmp / "cache").iterdir()
        for secret in ("kms-emulator-demo-secret", "kms-emulator-demo-secret-2")
    )


def test_a_denied_region_fails_the_lookup_naming_code_and_request_id(ansible, emulator):
    """Item 22: the lookup, not only the modules, fails on a denied region."""
    emulator.set_faults(deny_regions=["cn-shanghai"])
    r = lookup(ansible, "query('alicloud.kms.keys', regions=['cn-hangzhou', 'cn-shanghai'], %s)" % CONNECTION)
    assert (
        r.failed and "cn-shanghai" in r["msg"] and "Forbidden.NoPermission" in r["msg"] and "RequestId: " in r["msg"]
    ), r


def test_http_to_a_public_endpoint_warns(ansible, emulator):
    """Item 18: clear text to aliyuncs.com through a proxy that is not local."""
    r = ansible.module(
        "key_info", region="cn-hangzhou", http_proxy="http://proxy.invalid:3128", max_retries=0, deadline=5
    )
    # the module's warnings are shown, not kept in the tree file (ansible-core 2.19)
    assert r.failed and mentions(r.stderr, "[WARNING]: protocol is http: requests to Alibaba Cloud endpoints"), r
    assert mentions(r.stderr, "the STS token included, travel unencrypted"), r
    assert "proxy.invalid" not in json.dumps(r.get("error", {})) or r["error"]["code"] == "ConnectionError"


def test_yaml_block_scalar_token_fails_naming_the_option_not_the_token(ansible, emulator):
    """Item 2: a trailing newline made requests quote the token in the error."""
    token = "CAIS-kms-emulator-demo-sts-token"
    vars_file = ansible.tmp / "vars.yml"
    vars_file.write_text("token: |\n  %s\n" % token)
    info = ansible.module(
        "key_info",
        flags=["-e", "@%s" % vars_file],
        region="cn-hangzhou",
        access_key_id="STS.NUKmsEmulatorDemoSts01",
        access_key_secret="kms-emulator-sts-secret",
        security_token="{{ token }}",
    )
    looked = ansible.module(
        "ansible.builtin.debug",
        flags=["-e", "@%s" % vars_file],
        msg="{{ query('alicloud.kms.keys', region='cn-hangzhou', access_key_id='STS.NUKmsEmulatorDemoSts01', "
        "access_key_secret='kms-emulator-sts-secret', security_token=token, protocol='http', http_proxy='%s') }}"
        % ansible.emu.url,
    )
    for r in (info, looked):
        assert r.failed and "security_token: contains whitespace" in r["msg"], r
        assert token not in r.stdout + r.stderr + json.dumps(r.result)
    assert emulator.stats()["total"] == 0
    assert yaml.safe_load(vars_file.read_text())["token"].endswith("\n")


# --- issue 21: service data is data -----------------------------------------------------------------------------------
OTHER_ACCOUNT = "6543210987654321"


def rewrite_listing(monkeypatch, action, change):
    """Backend.ACTIONS[action] answering change(body, account_id) instead of its body."""
    original = Backend.ACTIONS[action]

    def hostile(backend, account_id, region, params, *more):
        return change(original(backend, account_id, region, params, *more), account_id)

    monkeypatch.setitem(Backend.ACTIONS, action, hostile)


@pytest.mark.parametrize(
    "arn",
    [
        "acs:kms:cn-hangzhou:1234567890123456:key/{other}",  # item 3: another key
        "acs:kms:cn-shanghai:1234567890123456:key/{key}",  # another region
        "acs:kms:cn-hangzhou:{{{{ lookup('pipe', 'id') }}}}:key/{key}",  # item 2: a template as the account
    ],
)
def test_a_key_arn_that_names_another_key_region_or_a_template_is_malformed(ansible, emulator, monkeypatch, arn):
    """Issue 21 items 2 and 3: the record kept a foreign ARN (or an ARN's template account reached events)."""
    keys = truth(emulator, "cn-hangzhou")

    def change(body, _account_id):
        first = body["Keys"]["Key"][0]
        first["KeyArn"] = arn.format(key=first["KeyId"], other=keys[-1].key_id)
        return body

    rewrite_listing(monkeypatch, "ListKeys", change)
    r = ansible.module("key_info", region="cn-hangzhou")
    assert r.failed and "MalformedResponse" in r["msg"] and "KeyArn for key" in r["msg"], r
    assert "lookup" not in r["msg"]


def test_a_member_listing_whose_arns_name_another_account_is_malformed(ansible, emulator, monkeypatch):
    """Issue 21 item 4: a member's keys were returned as the management account's when their ARNs said so."""

    def change(body, account_id):
        for item in body["Keys"]["Key"]:
            if account_id == "9876543210987654":
                item["KeyArn"] = item["KeyArn"].replace(account_id, "1234567890123456")
        return body

    rewrite_listing(monkeypatch, "ListKeys", change)
    r = ansible.module("key_info", accounts=["9876543210987654"], region="cn-hangzhou")
    assert r.failed and "MalformedResponse" in r["msg"], r
    assert mentions(r["msg"], "9876543210987654", "KeyArn")


@pytest.mark.parametrize("action", ["ListKeys", "ListAliases"])
def test_a_huge_total_count_is_malformed_not_a_million_pages(ansible, emulator, monkeypatch, action):
    """Issue 21 item 5: TotalCount 10**9 made the client schedule every page at once (6 GB in 60 s)."""
    rewrite_listing(monkeypatch, action, lambda body, _account: dict(body, TotalCount=10**9))
    r = ansible.module("key_info", region="cn-hangzhou", aliases=True, deadline=60)
    assert r.failed and "MalformedResponse" in r["msg"] and "TotalCount" in r["msg"] and action in r["msg"], r
    assert emulator.stats()["by_action"].get(action, 0) < 10


def test_an_endless_next_token_is_malformed(ansible, emulator, monkeypatch):
    """Issue 21 item 5: ListTagResources answering a new NextToken for ever ended in a connect timeout."""
    original, counter = Backend.ACTIONS["ListTagResources"], iter(range(10**6))

    def endless(backend, account_id, region, params, *more):
        first = dict((k, v) for k, v in params.items() if k != "NextToken")  # page 1 again, with a new token
        return dict(original(backend, account_id, region, first, *more), NextToken="t%d" % next(counter))

    monkeypatch.setitem(Backend.ACTIONS, "ListTagResources", endless)
    emulator.set_faults(qps=0)  # no throttling: every request counted is a page
    r = ansible.module("key_info", region="cn-hangzhou", tags=True, rate_limit=1000, deadline=120)
    assert r.failed and "MalformedResponse" in r["msg"] and "NextToken" in r["msg"], r
    batches = -(-len(truth(emulator, "cn-hangzhou")) // 50)  # each stops after 1,000 pages (50 keys x 20 tags)
    assert emulator.stats()["by_action"]["ListTagResources"] <= 1001 * batches


def test_key_policies_are_read_for_keys_in_a_kms_instance_only_whatever_their_id_looks_like(ansible, emulator):
    """Issue 21 item 6: GetKeyPolicy went to every key- ID and the run failed on keys in no instance."""
    lookalikes = emulator.add_keys("cn-hangzhou", [{"key_id": "key-hzz%016d" % n} for n in range(3)])
    r = ansible.module("key_info", region="cn-hangzhou", key_policy=True)
    assert not r.failed, r
    in_instance = [k for k in truth(emulator, "cn-hangzhou") if k.dkms_instance_id]
    keys = dict((k.key_id, k.dkms_instance_id) for k in truth(emulator, "cn-hangzhou"))
    policies = dict((k["key_id"], k["key_policy"]) for k in r["keys"])
    assert all(policies[k.key_id] is None for k in lookalikes)
    assert in_instance and all(isinstance(policies[k.key_id], dict) for k in in_instance)
    assert emulator.stats()["by_action"]["GetKeyPolicy"] == len(in_instance)
    assert "DescribeKey" not in emulator.stats()["by_action"]  # membership from listings, not a request per key
    assert all(k["dkms_instance_id"] == (keys[k["key_id"]] or None) for k in r["keys"])


def test_a_misspelt_region_is_an_option_error_with_a_suggestion(ansible, emulator):
    """Issue 21 item 7: region: cn-hangzou answered ok with no keys (a connection error from the real service)."""
    for face in ("module", "lookup"):
        if face == "module":
            r = ansible.module("key_info", region="cn-hangzou")
        else:
            r = lookup(ansible, "query('alicloud.kms.keys', region='cn-hangzou', %s)" % CONNECTION)
        assert r.failed and mentions(r["msg"], "region", "cn-hangzou", "did you mean cn-hangzhou"), r
    proc, _data = listing(ansible, inventory(ansible, regions=None, region="cn-hangzou"))
    assert proc.returncode != 0 and mentions(proc.stderr, "did you mean cn-hangzhou")


def test_the_lookup_returns_service_text_literally_even_with_unsafe_lookups_allowed(ansible, emulator):
    """Issue 21 item 1: the lookup's records are data on every core, even where allow_unsafe_lookups is set."""
    key = truth(emulator, "cn-hangzhou")[0]
    emulator.update_key("cn-hangzhou", key.key_id, description="{{ 6 * 7 }}")
    c = ansible.connection()
    r = ansible.module(
        "ansible.builtin.debug",
        env=dict(ANSIBLE_ALLOW_UNSAFE_LOOKUPS="true"),
        extra_vars=dict(ak=c["access_key_id"], sk=c["access_key_secret"], proxy=ansible.emu.url),
        msg="{{ query('alicloud.kms.keys', %r, region='cn-hangzhou', %s) | map(attribute='description') | first }}"
        % (key.key_id, CONNECTION),
    )
    assert not r.failed and r["msg"] == "{{ 6 * 7 }}", r


@pytest.mark.parametrize("change", ["duplicate", "number"])
def test_a_tag_given_twice_or_not_as_a_string_is_malformed(ansible, emulator, monkeypatch, change):
    """Issue 21 item 15: a TagKey given twice kept the last value silently; a non-string value was accepted."""

    def rewrite(body, _account_id):
        rows = body["TagResources"]["TagResource"]
        if change == "duplicate":
            rows.append(dict(rows[0], TagValue="other"))
        else:
            rows[0]["TagValue"] = 42
        return body

    rewrite_listing(monkeypatch, "ListTagResources", rewrite)
    r = ansible.module("key_info", region="cn-hangzhou", tags=True)
    assert r.failed and "MalformedResponse" in r["msg"] and "ListTagResources" in r["msg"], r
    assert ("TagKey twice" if change == "duplicate" else "string TagKey and TagValue") in r["msg"]
