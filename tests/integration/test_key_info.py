"""key_info end to end: the module run by the ansible CLI against the emulator, as a user runs it."""

from __future__ import annotations

import json
import math
import subprocess

from alibabacloud_kms20160120 import models as kms_models

from conftest import BIN, COLLECTIONS, kms_client, truth


def test_lists_exactly_the_keys_the_filters_select_over_many_pages(ansible, emulator):
    r = ansible.module(
        "key_info",
        region="cn-hangzhou",
        key_state=["Enabled", "Disabled"],
        key_spec=["Aliyun_AES_256", "RSA_2048"],
        page_size=2,
    )
    expected = truth(
        emulator, "cn-hangzhou", key_state={"Enabled", "Disabled"}, key_spec={"Aliyun_AES_256", "RSA_2048"}
    )
    assert len(expected) > 4, "the seed must need several pages"
    assert r["key_ids"] == [k.key_id for k in expected]
    assert r["key_arns"] == [k.arn for k in expected]
    assert r["total_count"] == len(expected) and r["changed"] is False
    assert r["keys"][0] == {
        "key_id": expected[0].key_id,
        "key_arn": expected[0].arn,
        "region": "cn-hangzhou",
        "account_id": expected[0].account_id,
    }
    listed = [q for q in emulator.stats()["requests"] if q["action"] == "ListKeys"]
    assert len(listed) == math.ceil(len(expected) / 2)
    assert sorted(int(q["page_number"]) for q in listed) == list(range(1, len(listed) + 1))


def test_check_mode_lists_the_same_keys(ansible, emulator):
    result = ansible.module("key_info", check=True, region="cn-shanghai", key_state="Enabled")
    assert result["key_ids"] == [k.key_id for k in truth(emulator, "cn-shanghai", key_state={"Enabled"})]


def test_the_official_client_and_key_info_list_the_same_keys(ansible, emulator):
    filters = [
        {"Key": "KeyUsage", "Values": ["SIGN/VERIFY"]},
        {"Key": "KeyState", "Values": ["Enabled"]},
        {"Key": "KeyState", "Values": ["Disabled", "PendingDeletion"]},
    ]
    client = kms_client(emulator, "cn-hangzhou")
    official, page = [], 1
    while True:
        body = client.list_keys(
            kms_models.ListKeysRequest(filters=json.dumps(filters), page_number=page, page_size=3)
        ).body
        official += [k.key_arn for k in body.keys.key]
        if page * 3 >= body.total_count:
            break
        page += 1
    result = ansible.module(
        "key_info",
        region="cn-hangzhou",
        key_usage=["SIGN/VERIFY"],
        key_state=["Enabled"],
        filters=[{"key": "KeyState", "values": ["Disabled", "PendingDeletion"]}],
    )
    assert official and result["key_arns"] == official


def test_regions_are_listed_together_and_every_record_names_its_region(ansible, emulator):
    result = ansible.module("key_info", regions=["cn-hangzhou", "ap-southeast-1"], key_state="Enabled")
    expected = truth(emulator, "cn-hangzhou", key_state={"Enabled"}) + truth(
        emulator, "ap-southeast-1", key_state={"Enabled"}
    )
    assert result["key_ids"] == [k.key_id for k in expected]
    assert {k["region"] for k in result["keys"]} == {"cn-hangzhou", "ap-southeast-1"}
    assert "DescribeRegions" not in emulator.stats()["by_action"], "well-known regions need no lookup"


def test_all_regions_come_from_describe_regions(ansible, emulator):
    result = ansible.module("key_info", regions="all")
    account = emulator.backend.default_account
    assert result["total_count"] == sum(len(keys) for keys in account.keys.values())


def test_an_unknown_region_fails_with_the_valid_ones(ansible, emulator):
    result = ansible.module("key_info", regions=["cn-hangzhou", "mars-north-1"])
    assert result.failed
    assert "regions: mars-north-1 not offered by KMS; valid regions are " in result["msg"]
    assert "cn-shanghai" in result["msg"]
    assert emulator.stats()["by_action"] == {"DescribeRegions": 1}


def test_the_flattened_reference_body_reads_the_same(ansible, emulator):
    emulator.set_faults(flat_keys=True)
    result = ansible.module("key_info", region="cn-hangzhou", page_size=5)
    assert result["key_ids"] == [k.key_id for k in truth(emulator, "cn-hangzhou")]


def test_a_direct_endpoint_reaches_the_default_region(ansible, emulator):
    result = ansible.module("key_info", region="cn-hangzhou", endpoint="127.0.0.1:%d" % emulator.port, http_proxy=None)
    assert result["total_count"] == len(truth(emulator, "cn-hangzhou"))


def test_transient_faults_and_throttling_still_give_the_complete_list(ansible, emulator):
    emulator.set_faults(error_rate_503=0.3, error_rate_500=0.1, qps=10, random_seed=7)
    result = ansible.module("key_info", region="cn-hangzhou", page_size=1, max_retries=10)
    assert result.rc == 0, result.stdout
    assert result["key_ids"] == [k.key_id for k in truth(emulator, "cn-hangzhou")]
    outcomes = emulator.stats()["by_outcome"]
    assert set(outcomes) - {"200"}, "faults were injected"


def test_a_wrong_secret_fails_with_the_service_code_and_request_id_and_never_shows_the_secret(ansible, emulator):
    secret = "Wr0ng-S3cret-Value-4a7f9e"
    r = ansible.module("key_info", flags=["-vvvv"], region="cn-hangzhou", access_key_secret=secret)
    assert r.failed and r["error"]["code"] == "SignatureDoesNotMatch"
    assert r["error"]["request_id"] and "(RequestId: %s)" % r["error"]["request_id"] in r["msg"]
    assert secret not in r.stdout + r.stderr + json.dumps(r.result)


def test_ansible_doc_renders_every_option(ansible):
    from ansible_collections.alicloud.kms.plugins.module_utils._argspec import ARGUMENT_SPEC

    for module in ("alicloud.kms.key_info", "alicloud.kms.key_facts"):
        proc = ansible.run([str(BIN / "ansible-doc"), "--json", module])
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)[module]["doc"]
        assert set(doc["options"]) == set(ARGUMENT_SPEC)
        assert all(option["description"] for option in doc["options"].values())
    text = ansible.run([str(BIN / "ansible-doc"), "alicloud.kms.key_info"]).stdout
    assert "key_state" in text and "ALICLOUD_ACCESS_KEY" in text


def test_the_official_client_sees_what_the_emulator_verifies(emulator):
    # Sanity of the harness itself: a real signed request from the official SDK is accepted.
    client = kms_client(emulator, "cn-shanghai")
    body = client.list_keys(kms_models.ListKeysRequest(page_size=100)).body
    assert body.total_count == len(truth(emulator, "cn-shanghai"))
    assert (
        subprocess.run(
            [str(BIN / "python"), "-c", "import ansible_collections"], cwd=COLLECTIONS, check=False
        ).returncode
        == 0
    )


def test_facets_label_every_key_with_its_true_attributes(ansible, emulator):
    facets = ["key_state", "key_spec", "key_usage", "protection_level", "creator_type"]
    result = ansible.module("key_info", region="cn-hangzhou", facets=facets, page_size=3)
    expected = dict((k.key_id, k) for k in truth(emulator, "cn-hangzhou"))
    assert sorted(result["key_ids"]) == sorted(expected)
    for record in result["keys"]:
        assert dict((f, record[f]) for f in facets) == dict((f, getattr(expected[record["key_id"]], f)) for f in facets)
    # partitioned listings, never one DescribeKey per key
    assert "DescribeKey" not in emulator.stats()["by_action"]


def test_facets_respect_the_users_filters(ansible, emulator):
    result = ansible.module("key_info", region="cn-hangzhou", key_state=["Enabled", "Disabled"], facets=["key_state"])
    expected = truth(emulator, "cn-hangzhou", key_state={"Enabled", "Disabled"})
    assert sorted(result["key_ids"]) == sorted(k.key_id for k in expected)
    listings = sorted((json.loads(q["filters"])[0]["Values"], q["page_size"]) for q in emulator.stats()["requests"])
    # one listing per state the filter keeps, none for the others, and the plain listing's TotalCount (page size 1)
    # that the partitions must add up to
    assert listings == [(["Disabled"], "100"), (["Enabled"], "100"), (["Enabled", "Disabled"], "1")]


def test_details_add_the_key_metadata_in_snake_case(ansible, emulator):
    result = ansible.module("key_info", region="ap-southeast-1", details=True)
    keys = truth(emulator, "ap-southeast-1")
    assert [r["key_id"] for r in result["keys"]] == [k.key_id for k in keys]
    for record, key in zip(result["keys"], keys):
        for field in (
            "key_state",
            "key_spec",
            "creation_date",
            "description",
            "automatic_rotation",
            "deletion_protection",
        ):
            assert record[field] == getattr(key, field), field
    assert emulator.stats()["by_action"] == {"ListKeys": 1, "DescribeKey": len(keys)}


def test_a_listing_that_changes_under_pagination_is_read_again(ansible, emulator):
    # Keys added between page 1 and the others: TotalCount moves, so the listing is read again.
    emulator.set_faults(mutate_after_page={"page": 1, "add": 2, "delete": 0, "region": "cn-shanghai"})
    result = ansible.module("key_info", region="cn-shanghai", page_size=3)
    assert result["key_ids"] == [k.key_id for k in truth(emulator, "cn-shanghai")]
    pages = [int(q["page_number"]) for q in emulator.stats()["requests"]]
    assert pages.count(1) == 2, "page 1 was read again after the keys moved"
