"""key_facts and the keys lookup: the same core behind other faces."""

from __future__ import annotations

import json

import pytest

from conftest import truth

LOOKUP_CONN = "access_key_id='{ak}', access_key_secret='{sk}', protocol='http', http_proxy='{url}'"


def lookup_args(ansible):
    c = ansible.connection()
    return LOOKUP_CONN.format(ak=c["access_key_id"], sk=c["access_key_secret"], url=c["http_proxy"])


def test_facts_reach_a_later_task_and_a_later_play(ansible, emulator):
    later_play = {
        "name": "later",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {
                "check_mode": False,
                "ansible.builtin.copy": {
                    "dest": str(ansible.tmp / "later.json"),
                    "content": "{{ hostvars['localhost'].alicloud_kms_key_arns | to_json }}",
                },
            }
        ],
    }
    result = ansible.play(
        [
            {"alicloud.kms.key_facts": {"region": "cn-hangzhou", "key_state": "PendingDeletion"}, "register": "f"},
            {"ansible.builtin.set_fact": {"seen": "{{ alicloud_kms_key_ids }}", "records": "{{ alicloud_kms_keys }}"}},
        ],
        save=["f", "seen", "records"],
        plays_after=[later_play],
        args=["--check"],
    )
    assert result.rc == 0, result.stdout
    expected = truth(emulator, "cn-hangzhou", key_state={"PendingDeletion"})
    assert expected and result["seen"] == [k.key_id for k in expected]
    assert result["f"]["changed"] is False
    assert json.loads((ansible.tmp / "later.json").read_text()) == [k.arn for k in expected]


def test_info_facts_and_lookup_return_identical_records(ansible):
    options = {
        "regions": ["cn-hangzhou", "cn-shanghai"],
        "key_spec": ["Aliyun_AES_256"],
        "facets": ["key_state"],
        "page_size": 3,
    }
    result = ansible.play(
        [
            {"alicloud.kms.key_info": options, "register": "info"},
            {"alicloud.kms.key_facts": options},
            {
                "ansible.builtin.set_fact": {
                    "looked": "{{ query('alicloud.kms.keys', regions=['cn-hangzhou', 'cn-shanghai'], "
                    "key_spec='Aliyun_AES_256', facets=['key_state'], page_size=3, %s) }}" % lookup_args(ansible)
                }
            },
        ],
        save=["info", "alicloud_kms_keys", "looked"],
    )
    assert result.rc == 0, result.stdout
    assert result["info"]["keys"] == result["alicloud_kms_keys"] == result["looked"]
    assert {k["region"] for k in result["looked"]} == {"cn-hangzhou", "cn-shanghai"}
    assert all(k["key_state"] for k in result["looked"])


def test_lookup_in_vars_with_credentials_from_the_environment(ansible, emulator):
    c = ansible.connection()
    play = [
        {
            "ansible.builtin.set_fact": {"n": "{{ enabled | length }}", "first": "{{ enabled[0].key_arn }}"},
            "vars": {
                "enabled": "{{ query('alicloud.kms.keys', region='ap-southeast-1', key_state='Enabled', "
                "protocol='http', http_proxy='%s') }}" % c["http_proxy"]
            },
        }
    ]
    result = ansible.play(
        play,
        save=["n", "first"],
        defaults=False,
        env={"ALICLOUD_ACCESS_KEY": c["access_key_id"], "ALICLOUD_SECRET_KEY": c["access_key_secret"]},
    )
    assert result.rc == 0, result.stdout
    expected = truth(emulator, "ap-southeast-1", key_state={"Enabled"})
    assert int(result["n"]) == len(expected) and result["first"] == expected[0].arn


def test_lookup_terms_resolve_ids_and_arns_with_their_metadata(ansible, emulator):
    hz, sh = truth(emulator, "cn-hangzhou")[0], truth(emulator, "cn-shanghai")[0]
    result = ansible.play(
        [
            {
                "ansible.builtin.set_fact": {
                    "resolved": "{{ query('alicloud.kms.keys', '%s', '%s', region='cn-hangzhou', %s) }}"
                    % (hz.key_id, sh.arn, lookup_args(ansible)),
                    "one": "{{ lookup('alicloud.kms.keys', '%s', region='cn-hangzhou', %s) }}"
                    % (hz.key_id, lookup_args(ansible)),
                }
            }
        ],
        save=["resolved", "one"],
    )
    assert result.rc == 0, result.stdout
    assert [r["key_arn"] for r in result["resolved"]] == [hz.arn, sh.arn]
    assert [r["region"] for r in result["resolved"]] == ["cn-hangzhou", "cn-shanghai"]
    assert result["resolved"][1]["key_state"] == sh.key_state and result["resolved"][1]["description"] == sh.description
    assert result["one"]["key_id"] == hz.key_id
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
    result = ansible.play(
        [{"ansible.builtin.set_fact": {"n": "{{ query('alicloud.kms.keys') | length }}"}}], save=["n"], defaults=False
    )
    assert result.rc == 0, result.stdout
    assert int(result["n"]) == len(truth(emulator, "cn-shanghai"))


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
    result = ansible.play(
        [{"ansible.builtin.debug": {"msg": "{{ %s }}" % call}}],
        defaults=False,
        env={
            "ALICLOUD_ACCESS_KEY": c["access_key_id"],
            "ALICLOUD_SECRET_KEY": c["access_key_secret"],
            "HTTP_PROXY": c["http_proxy"],
        },
        args=["-e", "alicloud_kms_protocol=http"],
    )
    assert result.rc != 0
    assert message in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert emulator.stats()["by_action"].get("ListKeys", 0) == 0


def test_module_defaults_group_sets_connection_for_both_modules(ansible, emulator):
    result = ansible.play(
        [
            {"alicloud.kms.key_info": {"region": "cn-shanghai"}, "register": "info"},
            {"alicloud.kms.key_facts": {"region": "cn-shanghai"}},
        ],
        save=["info", "alicloud_kms_key_ids"],
    )
    assert result.rc == 0, result.stdout
    assert (
        result["info"]["key_ids"]
        == result["alicloud_kms_key_ids"]
        == [k.key_id for k in truth(emulator, "cn-shanghai")]
    )


def test_lookup_resolves_an_alias_to_its_key(ansible, emulator):
    orders = next(k for k in truth(emulator, "cn-hangzhou") if "alias/orders-db" in k.aliases)
    result = ansible.play(
        [
            {
                "ansible.builtin.set_fact": {
                    "arn": "{{ lookup('alicloud.kms.keys', 'alias/orders-db', region='cn-hangzhou', %s).key_arn }}"
                    % lookup_args(ansible)
                }
            }
        ],
        save=["arn"],
    )
    assert result.rc == 0, result.stdout
    assert result["arn"] == orders.arn


@pytest.mark.parametrize("face", ["key_info", "key_facts", "lookup"])
def test_two_regions_are_listed_concurrently(ansible, emulator, face):
    # Each answer takes 300 ms; the emulator counts how many requests it serves at once.
    emulator.set_faults(latency_ms=300)
    if face == "lookup":
        task = {
            "ansible.builtin.set_fact": {
                "n": "{{ query('alicloud.kms.keys', regions=['cn-hangzhou', 'cn-shanghai'], %s) | length }}"
                % lookup_args(ansible)
            }
        }
    else:
        task = {"alicloud.kms." + face: {"regions": ["cn-hangzhou", "cn-shanghai"]}}
    result = ansible.play([task])
    assert result.rc == 0, result.stdout
    stats = emulator.stats()
    assert stats["by_region"] == {"cn-hangzhou": 1, "cn-shanghai": 1}
    assert stats["max_in_flight"] == 2
