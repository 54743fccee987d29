"""KeyQuery: validation and merging of the filter options."""

from __future__ import annotations

import json

import pytest

from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._query import KeyQuery


def sent(options):
    text = KeyQuery.from_options(options).filters_json()
    return json.loads(text) if text else None


def test_no_filters_sends_none_and_page_size_defaults_to_100():
    query = KeyQuery.from_options({})
    assert query.filters_json() is None
    assert query.page_size == 100


def test_typed_options_map_to_api_keys_in_a_fixed_order():
    assert sent({"key_spec": ["RSA_2048"], "key_state": ["Enabled", "Disabled"]}) == [
        {"Key": "KeyState", "Values": ["Enabled", "Disabled"]},
        {"Key": "KeySpec", "Values": ["RSA_2048"]},
    ]


def test_a_single_string_is_one_value():
    assert sent({"key_state": "Enabled"}) == [{"Key": "KeyState", "Values": ["Enabled"]}]


def test_repeated_keys_merge_into_the_union_as_the_api_does():
    # The reference's own example: KeyState twice, KeySpec once.
    options = {
        "filters": [
            {"key": "KeyState", "values": ["Enabled", "Disabled"]},
            {"key": "KeyState", "values": ["PendingDeletion"]},
            {"key": "KeySpec", "values": ["Aliyun_AES_256"]},
        ],
        "key_state": ["Enabled"],
    }
    assert sent(options) == [
        {"Key": "KeyState", "Values": ["Enabled", "Disabled", "PendingDeletion"]},
        {"Key": "KeySpec", "Values": ["Aliyun_AES_256"]},
    ]


def test_raw_keys_are_the_documented_ones_only():
    assert sent({"filters": [{"key": "TagKey", "values": ["env"]}]}) == [{"Key": "TagKey", "Values": ["env"]}]
    with pytest.raises(KmsOptionError, match=r"filters\[0\]: unknown filter key 'tagkey' \(did you mean 'TagKey'\?\)"):
        KeyQuery.from_options({"filters": [{"key": "tagkey", "values": ["env"]}]})


def test_empty_value_lists_add_no_constraint():
    assert sent({"key_state": [], "filters": [{"key": "KeySpec", "values": []}]}) is None


def test_unsupported_region_values_are_passed_on():
    assert sent({"key_spec": ["EC_SM2"], "protection_level": ["HSM"]})[1] == {
        "Key": "ProtectionLevel",
        "Values": ["HSM"],
    }


# The shared bad-input table (tests/bad_input.py) holds the filter cases every face rejects alike.
@pytest.mark.parametrize(
    "options, option, text",
    [  # a module parses and converts these itself, with its own words
        ({"filters": "KeyState=Enabled"}, "filters", "list of {key, values}"),
        ({"page_size": "ten"}, "page_size", "from 1 to 100"),
    ],
)
def test_bad_input_names_the_option_and_what_is_allowed(options, option, text):
    with pytest.raises(KmsOptionError) as info:
        KeyQuery.from_options(options)
    assert info.value.option == option
    assert str(info.value).startswith(option + ": ")
    assert text in str(info.value)


def test_ten_values_merged_across_options_are_allowed_eleven_are_not():
    ten = {
        "key_spec": ["S%d" % i for i in range(5)],
        "filters": [{"key": "KeySpec", "values": ["T%d" % i for i in range(5)]}],
    }
    assert len(sent(ten)[0]["Values"]) == 10
    ten["filters"][0]["values"].append("T5")
    with pytest.raises(KmsOptionError, match="key_spec: at most 10 values"):
        KeyQuery.from_options(ten)


def test_narrowed_replaces_the_users_pair_instead_of_oring_it():
    query = KeyQuery.from_options({"key_state": ["Enabled", "Disabled"], "key_spec": ["RSA_2048"]})
    narrowed = query.narrowed("KeyState", "Disabled")
    assert json.loads(narrowed.filters_json()) == [
        {"Key": "KeySpec", "Values": ["RSA_2048"]},
        {"Key": "KeyState", "Values": ["Disabled"]},
    ]
    assert query.narrowed("KeyState", "PendingDeletion") is None
    assert json.loads(query.narrowed("KeyUsage", "SIGN/VERIFY").filters_json())[-1] == {
        "Key": "KeyUsage",
        "Values": ["SIGN/VERIFY"],
    }
