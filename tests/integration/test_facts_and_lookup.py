"""key_facts and the keys lookup: the same core behind other faces."""

from __future__ import annotations

import pytest

from conftest import truth

LOOKUP_CONN = "access_key_id='{ak}', access_key_secret='{sk}', protocol='http', http_proxy='{url}'"


def lookup_args(ansible):
    c = ansible.connection()
    return LOOKUP_CONN.format(ak=c["access_key_id"], sk=c["access_key_secret"], url=c["http_proxy"])


def show(ansible, expression, env=None, flags=()):
    """What ansible.builtin.debug shows of a Jinja expression (a lookup): r["msg"], or the error."""
    return ansible.module("ansible.builtin.debug", env=env, flags=flags, msg="{{ %s }}" % expression)


def test_facts_reach_a_later_task_and_a_later_play(ansible, emulator):
    expected = truth(emulator, "cn-hangzhou", key_state={"PendingDeletion"})
    run = ansible.playbook(
        "facts_across_plays.yml",
        extra_vars={
            "kms_connection": ansible.connection(),
            "expected_ids": [k.key_id for k in expected],
            "expected_arns": [k.arn for k in expected],
        },
        args=["--check"],
    )
    assert run.rc == 0, run.stdout


def test_info_facts_and_lookup_return_identical_records(ansible):
    options = {
        "regions": ["cn-hangzhou", "cn-shanghai"],
        "key_spec": ["Aliyun_AES_256"],
        "facets": ["key_state"],
        "page_size": 3,
    }
    info = ansible.module("key_info", **options)
    facts = ansible.module("key_facts", **options)
    looked = show(
        ansible,
        "query('alicloud.kms.keys', regions=['cn-hangzhou', 'cn-shanghai'], key_spec='Aliyun_AES_256', "
        "facets=['key_state'], page_size=3, %s)" % lookup_args(ansible),
    )
    assert info.rc == facts.rc == looked.rc == 0, (info, facts, looked)
    assert info["keys"] == facts["ansible_facts"]["alicloud_kms_keys"] == looked["msg"]
    assert {k["region"] for k in looked["msg"]} == {"cn-hangzhou", "cn-shanghai"}
    assert all(k["key_state"] for k in looked["msg"])


def test_lookup_in_vars_with_credentials_from_the_environment(ansible, emulator):
    c = ansible.connection()
    expected = truth(emulator, "ap-southeast-1", key_state={"Enabled"})
    run = ansible.playbook(
        "lookup_in_vars.yml",
        extra_vars={"kms_proxy": c["http_proxy"], "expected_count": len(expected), "expected_first": expected[0].arn},
        env={"ALICLOUD_ACCESS_KEY": c["access_key_id"], "ALICLOUD_SECRET_KEY": c["access_key_secret"]},
    )
    assert run.rc == 0, run.stdout


def test_lookup_terms_resolve_ids_and_arns_with_their_metadata(ansible, emulator):
    hz, sh = truth(emulator, "cn-hangzhou")[0], truth(emulator, "cn-shanghai")[0]
    resolved = show(
        ansible,
        "query('alicloud.kms.keys', '%s', '%s', region='cn-hangzhou', %s)" % (hz.key_id, sh.arn, lookup_args(ansible)),
    )
    one = show(
        ansible, "lookup('alicloud.kms.keys', '%s', region='cn-hangzhou', %s)" % (hz.key_id, lookup_args(ansible))
    )
    assert resolved.rc == one.rc == 0, (resolved, one)
    assert [r["key_arn"] for r in resolved["msg"]] == [hz.arn, sh.arn]
    assert [r["region"] for r in resolved["msg"]] == ["cn-hangzhou", "cn-shanghai"]
    assert resolved["msg"][1]["key_state"] == sh.key_state and resolved["msg"][1]["description"] == sh.description
    assert one["msg"]["key_id"] == hz.key_id
    assert emulator.stats()["by_action"] == {"DescribeKey": 3}


def test_lookup_connection_from_inventory_variables(ansible, emulator):
    c = ansible.connection()
    ansible.inventory.write_text(
        ansible.inventory.read_text().strip()
        + (
            " alicloud_access_key=%s alicloud_secret_key=%s alicloud_region=cn-shanghai alicloud_kms_protocol=http "
            "alicloud_kms_http_proxy=%s\n" % (c["access_key_id"], c["access_key_secret"], c["http_proxy"])
        )
    )
    r = show(ansible, "query('alicloud.kms.keys') | length")
    assert r.rc == 0, r
    assert int(r["msg"]) == len(truth(emulator, "cn-shanghai"))


@pytest.mark.parametrize(
    "call, message",
    [
        ("query('alicloud.kms.keys', region='cn-hangzhou', key_state='on')", "key_state: unknown value 'on'"),
        (
            "query('alicloud.kms.keys', region='cn-hangzhou', page_size=1000)",
            "page_size: must be an integer from 1 to 100",
        ),
        (
            "query('alicloud.kms.keys', regions=['cn-hangzhou', 'atlantis-1'])",
            "regions: atlantis-1 not offered by KMS; valid regions are",
        ),
        (
            "query('alicloud.kms.keys', 'some-key-id')",
            "region: some-key-id: a key ID or alias is resolved in one region",
        ),
    ],
)
def test_lookup_errors_read_like_the_modules(ansible, emulator, call, message):
    c = ansible.connection()
    r = show(
        ansible,
        call,
        env={
            "ALICLOUD_ACCESS_KEY": c["access_key_id"],
            "ALICLOUD_SECRET_KEY": c["access_key_secret"],
            "HTTP_PROXY": c["http_proxy"],
        },
        flags=["-e", "alicloud_kms_protocol=http"],
    )
    assert r.failed
    assert message in r["msg"] and message in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    assert emulator.stats()["by_action"].get("ListKeys", 0) == 0


def test_module_defaults_group_sets_connection_for_both_modules(ansible, emulator):
    run = ansible.playbook(
        "module_defaults.yml",
        extra_vars={
            "kms_connection": ansible.connection(),
            "expected_ids": [k.key_id for k in truth(emulator, "cn-shanghai")],
        },
    )
    assert run.rc == 0, run.stdout


def test_lookup_resolves_an_alias_to_its_key(ansible, emulator):
    orders = next(k for k in truth(emulator, "cn-hangzhou") if "alias/orders-db" in k.aliases)
    r = show(
        ansible,
        "lookup('alicloud.kms.keys', 'alias/orders-db', region='cn-hangzhou', %s).key_arn" % lookup_args(ansible),
    )
    assert r.rc == 0, r
    assert r["msg"] == orders.arn


@pytest.mark.parametrize("face", ["key_info", "key_facts", "lookup"])
def test_two_regions_are_listed_concurrently(ansible, emulator, face):
    # Each answer takes 300 ms; the emulator counts how many requests it serves at once.
    emulator.set_faults(latency_ms=300)
    if face == "lookup":
        r = show(
            ansible,
            "query('alicloud.kms.keys', regions=['cn-hangzhou', 'cn-shanghai'], %s) | length" % lookup_args(ansible),
        )
    else:
        r = ansible.module(face, regions=["cn-hangzhou", "cn-shanghai"])
    assert r.rc == 0, r
    stats = emulator.stats()
    assert stats["by_region"] == {"cn-hangzhou": 1, "cn-shanghai": 1}
    assert stats["max_in_flight"] == 2
