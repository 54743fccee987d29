"""Records: ARN parsing, both ListKeys body forms, the documented KeyMetadata fields only."""

from __future__ import annotations

import inspect
import re

import pytest
from alibabacloud_kms20160120 import models

from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError
from ansible_collections.alicloud.kms.plugins.module_utils._records import (
    DERIVED,
    METADATA_FIELDS,
    add_metadata,
    alias_pairs,
    key_items,
    make_record,
    parse_arn,
    tag_dict,
)

KEY = "80e9409f-78fa-42ab-84bd-83f40c81b001"
ACCOUNT = "1234567890123456"
ARN = "acs:kms:cn-hangzhou:%s:key/%s" % (ACCOUNT, KEY)


def malformed(call, *args, **kwargs):
    """The text of the MalformedResponse that call raises."""
    with pytest.raises(KmsError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == "MalformedResponse"
    return str(caught.value)


def test_arn_gives_region_account_and_key_id():
    assert parse_arn(ARN) == ("cn-hangzhou", ACCOUNT, KEY)


@pytest.mark.parametrize("arn", [None, "", "arn:aws:kms:us-east-1:1:key/x", "acs:kms:cn-hangzhou:1:alias/x", 42])
def test_anything_else_gives_nones(arn):
    assert parse_arn(arn) == (None, None, None)


def test_record_region_and_account_are_the_ones_read_and_the_arn_must_agree():
    assert make_record({"KeyId": KEY, "KeyArn": ARN}, "cn-hangzhou") == {
        "key_id": KEY,
        "key_arn": ARN,
        "region": "cn-hangzhou",
        "account_id": ACCOUNT,
    }
    assert make_record({"KeyId": KEY, "KeyArn": ARN}, "cn-hangzhou", ACCOUNT)["account_id"] == ACCOUNT
    assert make_record({"KeyId": "k"}, "cn-shanghai", ACCOUNT) == {
        "key_id": "k",
        "key_arn": None,
        "region": "cn-shanghai",
        "account_id": ACCOUNT,
    }


@pytest.mark.parametrize(
    "arn",
    [
        ARN.replace("cn-hangzhou", "cn-shanghai"),  # another region
        ARN.replace(KEY, "0" + KEY[1:]),  # another key
        ARN.replace(ACCOUNT, "6543210987654321"),  # another account than the one read
        ARN.replace(ACCOUNT, "{{ lookup('pipe', 'id') }}"),  # not an account ID
        ARN.replace(ACCOUNT, "123456"),
        ARN + "\n",  # $ would match before a final newline: every form ends in \Z
        "acs:kms:cn-hangzhou:%s:alias/x" % ACCOUNT,
        42,
        "",
    ],
)
def test_an_arn_that_names_another_key_region_or_account_is_malformed(arn):
    text = malformed(make_record, {"KeyId": KEY, "KeyArn": arn}, "cn-hangzhou", ACCOUNT)
    assert "KeyArn for key %s" % KEY in text and "pipe" not in text


@pytest.mark.parametrize("key_id", [None, 7, "", "-x", "a b", "{{ x }}", "k" * 129, "../etc", "k\n"])
def test_a_key_id_of_another_form_is_malformed(key_id):
    assert "KeyId that is not a KMS key ID" in malformed(make_record, {"KeyId": key_id}, "cn-hangzhou")


def test_both_body_forms_are_read_and_an_entry_that_is_not_an_object_is_malformed():
    item = {"KeyId": "k", "KeyArn": ARN}
    assert key_items({"Keys": {"Key": [item]}}, "cn-hangzhou") == [item]
    assert key_items({"Keys": [item]}, "cn-hangzhou") == [item]
    assert key_items({"Keys": {"Key": []}}, "cn-hangzhou") == []
    assert "no Keys.Key list" in malformed(key_items, {"Keys": {}}, "cn-hangzhou")
    assert "no Keys.Key list" in malformed(key_items, {}, "cn-hangzhou")
    assert "not an object" in malformed(key_items, {"Keys": [item, "x"]}, "cn-hangzhou")


def test_tags_are_strings_and_each_tag_key_comes_once():
    rows = [{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "team", "TagValue": ""}]
    assert tag_dict(rows, {}, "cn-hangzhou", "ListTagResources") == {"env": "prod", "team": ""}
    twice = rows + [{"TagKey": "env", "TagValue": "dev"}]
    assert "one TagKey twice" in malformed(tag_dict, twice, {}, "cn-hangzhou", "ListTagResources")
    for row in ({"TagKey": "env", "TagValue": 1}, {"TagKey": "env"}, {"TagKey": ["env"], "TagValue": "x"}):
        assert "string TagKey and TagValue" in malformed(tag_dict, [row], {}, "cn-hangzhou", "ListTagResources")


def test_alias_names_and_their_key_ids_have_their_documented_form():
    good = [{"AliasName": "alias/a:b/c_d-e", "KeyId": KEY}]
    assert alias_pairs(good, {}, "cn-hangzhou") == [("alias/a:b/c_d-e", KEY)]
    for name in ("alias/{{ x }}", "alias/", "x/y", "alias/" + "a" * 250, None):
        assert "AliasName" in malformed(alias_pairs, [{"AliasName": name, "KeyId": KEY}], {}, "cn-hangzhou")
    assert "KeyId" in malformed(alias_pairs, [{"AliasName": "alias/a", "KeyId": "{{ x }}"}], {}, "cn-hangzhou")


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
    record = make_record({"KeyId": KEY, "KeyArn": ARN}, "cn-hangzhou")
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
    assert (record["key_id"], record["key_arn"], record["region"]) == (KEY, ARN, "cn-hangzhou")
    assert record["key_state"] == "Enabled" and record["deletion_protection"] == "Enabled"
    assert not any(name.startswith("ansible") for name in record)
    assert "creator_type" not in record and set(record) <= set(DERIVED) | set(METADATA_FIELDS.values())


def test_absent_optional_fields_stay_absent():
    record = add_metadata(make_record({"KeyId": "k"}, "cn-hangzhou"), {"KeyId": "k", "AutomaticRotation": "Disabled"})
    assert "rotation_interval" not in record and record["automatic_rotation"] == "Disabled"


def test_metadata_values_are_strings_and_an_instance_id_has_its_form():
    record = make_record({"KeyId": "k"}, "cn-hangzhou")
    assert "KeyMetadata.Description" in malformed(add_metadata, record, {"Description": {"a": 1}})
    assert "KeyMetadata.DKMSInstanceId" in malformed(add_metadata, record, {"DKMSInstanceId": "{{ x }}"})
    assert add_metadata(record, {"DKMSInstanceId": "kst-hzz1", "Description": None})["dkms_instance_id"] == "kst-hzz1"
