"""Records: ARN parsing, both ListKeys body forms, the documented KeyMetadata fields only."""

from __future__ import annotations

import inspect
import re

import pytest
from alibabacloud_kms20160120 import models

from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    DERIVED,
    METADATA_FIELDS,
    add_metadata,
    key_items,
    make_record,
    parse_arn,
)

ARN = "acs:kms:cn-hangzhou:123456:key/80e9409f-78fa-42ab-84bd-83f40c81b001"


def test_arn_gives_region_account_and_key_id():
    assert parse_arn(ARN) == ("cn-hangzhou", "123456", "80e9409f-78fa-42ab-84bd-83f40c81b001")


@pytest.mark.parametrize("arn", [None, "", "arn:aws:kms:us-east-1:1:key/x", "acs:kms:cn-hangzhou:1:alias/x", 42])
def test_anything_else_gives_nones(arn):
    assert parse_arn(arn) == (None, None, None)


def test_record_region_is_the_listing_region_and_an_arn_of_another_key_or_region_is_not_trusted():
    assert make_record({"KeyId": "80e9409f-78fa-42ab-84bd-83f40c81b001", "KeyArn": ARN}, "cn-hangzhou") == {
        "key_id": "80e9409f-78fa-42ab-84bd-83f40c81b001",
        "key_arn": ARN,
        "region": "cn-hangzhou",
        "account_id": "123456",
    }
    assert make_record({"KeyId": "k"}, "cn-shanghai")["region"] == "cn-shanghai"
    elsewhere = make_record({"KeyId": "80e9409f-78fa-42ab-84bd-83f40c81b001", "KeyArn": ARN}, "cn-shanghai")
    assert elsewhere["region"] == "cn-shanghai" and elsewhere["account_id"] is None


def test_both_body_forms_are_read():
    item = {"KeyId": "k", "KeyArn": ARN}
    assert key_items({"Keys": {"Key": [item]}}) == [item]
    assert key_items({"Keys": [item]}) == [item]
    assert key_items({"Keys": {}}) == key_items({}) == []
    assert key_items({"Keys": [{"KeyId": 7}, {"KeyId": ""}, "x"]}) == []


def test_metadata_fields_are_the_official_models_in_ansibles_snake_case():
    documented = set(
        re.findall(r"result\['(\w+)'\]", inspect.getsource(models.DescribeKeyResponseBodyKeyMetadata.to_map))
    )
    assert set(METADATA_FIELDS) == documented - {"KeyId", "Arn"}
    assert (METADATA_FIELDS["DKMSInstanceId"], METADATA_FIELDS["DeletionProtectionDescription"]) == (
        "dkms_instance_id",
        "deletion_protection_description",
    )


def test_only_documented_metadata_reaches_a_record_and_never_a_derived_field():
    record = make_record({"KeyId": "k", "KeyArn": ARN}, "cn-hangzhou")
    add_metadata(
        record,
        {
            "KeyId": "other",
            "Arn": "acs:kms:x:1:key/other",
            "KeyState": "Enabled",
            "DeletionProtection": "Enabled",
            "Region": "evil-1",
            "AccountId": "666",
            "AnsibleShellExecutable": "/tmp/pwn",
            "CreatorType": "User",
        },
    )
    assert (record["key_id"], record["key_arn"], record["region"]) == ("k", ARN, "cn-hangzhou")
    assert record["key_state"] == "Enabled" and record["deletion_protection"] == "Enabled"
    assert not any(name.startswith("ansible") for name in record)
    assert "creator_type" not in record and set(record) <= set(DERIVED) | set(METADATA_FIELDS.values())


def test_absent_optional_fields_stay_absent():
    record = add_metadata(make_record({"KeyId": "k"}, "cn-hangzhou"), {"KeyId": "k", "AutomaticRotation": "Disabled"})
    assert "rotation_interval" not in record and record["automatic_rotation"] == "Disabled"
