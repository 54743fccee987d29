"""Aliases, tags and key policies through the real faces, and the requests they cost (the emulator's counters)."""

from __future__ import annotations

from conftest import truth
from emulator.backend import default_policy

BIG = "ap-southeast-5"  # a region of our own, for many tagged keys


def by_action(emulator):
    return emulator.stats()["by_action"]


def policy_of(key):
    if not key.dkms_instance_id:
        return None
    return key.policy or default_policy(key.account_id)


def test_aliases_tags_and_policies_of_a_region_for_a_few_requests(ansible, emulator):
    r = ansible.module("key_info", region="cn-hangzhou", aliases=True, tags=True, key_policy=True)
    assert not r.failed, r
    keys = dict((k.key_id, k) for k in truth(emulator, "cn-hangzhou"))
    assert len(r["keys"]) == len(keys)
    for record in r["keys"]:
        key = keys[record["key_id"]]
        assert record["aliases"] == sorted(key.aliases)
        assert record["tags"] == key.tags
        assert record["key_policy"] == policy_of(key)
    assert any(len(record["aliases"]) > 1 for record in r["keys"]) and any(
        not record["aliases"] for record in r["keys"]
    )
    assert any(len(record["tags"]) == 3 for record in r["keys"]) and any(not record["tags"] for record in r["keys"])
    instance_keys = sum(1 for key in keys.values() if key.dkms_instance_id)
    instances = len(set(key.dkms_instance_id for key in keys.values() if key.dkms_instance_id))
    # one listing, one alias page, one tag batch, the instances and one listing of each (membership: issue 21 item
    # 6), one policy per key in an instance; nothing per key otherwise
    assert by_action(emulator) == {
        "ListKeys": 1 + instances,
        "ListKmsInstances": 1,
        "ListAliases": 1,
        "ListTagResources": 1,
        "GetKeyPolicy": instance_keys,
    }


def test_many_keys_take_batches_of_50_and_follow_next_token(ansible, emulator):
    emulator.add_keys(
        BIG, [{"tags": {"env": "prod" if i % 2 else "dev", "team": "t%d" % (i % 5), "n": str(i)}} for i in range(120)]
    )
    emulator.set_faults(tag_page_size=40)
    r = ansible.module("key_info", region=BIG, tags=True)
    assert not r.failed, r
    assert dict((k["key_id"], k["tags"]) for k in r["keys"]) == dict((k.key_id, k.tags) for k in truth(emulator, BIG))
    # 50 + 50 + 20 keys with 3 tags each: 150, 150 and 60 rows at 40 a page
    assert by_action(emulator)["ListTagResources"] == 4 + 4 + 2


def test_tag_filters_are_exact_even_where_the_service_ignores_them(ansible, emulator):
    emulator.add_keys(
        BIG, [{"tags": {"env": ["prod", "dev", "test"][i % 3], "app": "orders" if i < 4 else "web"}} for i in range(12)]
    )
    for ignore in ({}, {BIG: ["TagKey", "TagValue"]}):
        emulator.set_faults(ignore_filter_keys=ignore)
        for wanted in ({"env": "prod"}, {"env": ["prod", "dev"], "app": "orders"}, {"app": None}):
            r = ansible.module("key_info", region=BIG, tag_filters=wanted)
            expected = [
                k.key_id
                for k in truth(emulator, BIG)
                if all(
                    t in k.tags and (v is None or k.tags[t] in ([v] if isinstance(v, str) else v))
                    for t, v in wanted.items()
                )
            ]
            assert sorted(r["key_ids"]) == sorted(expected), (ignore, wanted)
            assert all("tags" not in k for k in r["keys"])  # filtered on, not asked for


def test_a_region_without_list_tag_resources_falls_back_to_list_resource_tags(ansible, emulator):
    emulator.set_faults(deny_actions={"cn-shanghai": ["ListTagResources"]})
    r = ansible.module("key_info", region="cn-shanghai", tags=True)
    assert not r.failed, r
    assert dict((k["key_id"], k["tags"]) for k in r["keys"]) == dict(
        (k.key_id, k.tags) for k in truth(emulator, "cn-shanghai")
    )
    assert by_action(emulator)["ListResourceTags"] == len(truth(emulator, "cn-shanghai"))


def test_the_lookup_finds_the_arn_of_the_key_tagged_for_an_app(ansible, emulator):
    tagged = [k for k in truth(emulator, "cn-hangzhou") if k.tags.get("team") == "orders"]
    c = ansible.connection()
    looked = ansible.module(
        "ansible.builtin.debug",
        extra_vars={"ak": c["access_key_id"], "sk": c["access_key_secret"], "proxy": ansible.emu.url},
        msg="{{ query('alicloud.kms.keys', region='cn-hangzhou', tag_filters={'team': 'orders'}, aliases=true, "
        "access_key_id=ak, access_key_secret=sk, protocol='http', http_proxy=proxy) }}",
    )
    assert looked.rc == 0, looked
    assert [(k["key_arn"], k["aliases"]) for k in looked["msg"]] == [
        (k.arn, sorted(k.aliases)) for k in tagged
    ] and tagged
