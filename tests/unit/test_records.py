"""Records: ARN parsing, both ListKeys body forms, KeyMetadata in snake_case."""

from __future__ import annotations

import pytest

from ansible_collections.alicloud.kms.plugins.module_utils.records import add_metadata, key_items, make_record, parse_arn, snake_case

ARN = "acs:kms:cn-hangzhou:123456:key/80e9409f-78fa-42ab-84bd-83f40c81b001"


def test_arn_gives_region_account_and_key_id():
    assert parse_arn(ARN) == ("cn-hangzhou", "123456", "80e9409f-78fa-42ab-84bd-83f40c81b001")


@pytest.mark.parametrize("arn", [None, "", "arn:aws:kms:us-east-1:1:key/x", "acs:kms:cn-hangzhou:1:alias/x"])
def test_anything_else_gives_nones(arn):
    assert parse_arn(arn) == (None, None, None)


def test_record_takes_region_from_the_arn_and_falls_back_to_the_listing_region():
    assert make_record({"KeyId": "k", "KeyArn": ARN}, "cn-shanghai") == {
        "key_id": "k", "key_arn": ARN, "region": "cn-hangzhou", "account_id": "123456"}
    assert make_record({"KeyId": "k"}, "cn-shanghai")["region"] == "cn-shanghai"


def test_both_body_forms_are_read():
    item = {"KeyId": "k", "KeyArn": ARN}
    assert key_items({"Keys": {"Key": [item]}}) == [item]
    assert key_items({"Keys": [item]}) == [item]
    assert key_items({"Keys": {}}) == key_items({}) == []


@pytest.mark.parametrize("name, expected", [
    ("KeyId", "key_id"), ("DKMSInstanceId", "dkms_instance_id"), ("CreationDate", "creation_date"),
    ("NextRotationDate", "next_rotation_date"), ("HSMClusterId", "hsm_cluster_id"), ("Arn", "arn"),
])
def test_snake_case(name, expected):
    assert snake_case(name) == expected


def test_metadata_is_merged_without_overwriting_identity():
    record = make_record({"KeyId": "k", "KeyArn": ARN}, "cn-hangzhou")
    add_metadata(record, {"KeyId": "other", "Arn": ARN, "KeyState": "Enabled", "DeletionProtection": "Enabled"})
    assert record["key_id"] == "k"
    assert "arn" not in record
    assert record["key_state"] == "Enabled" and record["deletion_protection"] == "Enabled"
