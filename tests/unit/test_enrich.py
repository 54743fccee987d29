"""Tag filters: validated before any request, narrowed on the service where that is safe, decided locally."""

from __future__ import annotations

import pytest

from ansible_collections.alicloud.kms.plugins.module_utils._enrich import check_tag_filters, matches, narrowing_filters
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._query import KeyQuery


def test_a_value_is_a_string_a_list_or_any():
    assert check_tag_filters({"env": "prod", "team": ["a", "b"], "owner": None}) == {
        "env": ["prod"],
        "team": ["a", "b"],
        "owner": None,
    }
    tags = {"env": "prod", "team": "b", "owner": "x"}
    assert matches(tags, check_tag_filters({"env": "prod", "team": ["a", "b"], "owner": None}))
    assert not matches(tags, check_tag_filters({"env": "dev"}))
    assert not matches({"env": "prod"}, check_tag_filters({"owner": None}))


@pytest.mark.parametrize(
    "value, text",
    [
        ("env=prod", "must be a dict"),
        ({" ": "x"}, "non-empty strings"),
        ({"env": [1]}, "a string, a list of strings or null"),
        (dict(("t%d" % i, None) for i in range(21)), "at most 20 tags"),
    ],
)
def test_bad_tag_filters_name_the_option(value, text):
    with pytest.raises(KmsOptionError) as info:
        check_tag_filters(value)
    assert info.value.option == "tag_filters" and text in str(info.value)


def test_the_service_narrows_with_tag_keys_and_with_values_only_when_every_tag_names_some():
    assert narrowing_filters(check_tag_filters({"env": "prod", "team": ["a", "b"]})) == [
        ("TagKey", ["env", "team"]),
        ("TagValue", ["a", "b", "prod"]),
    ]
    assert narrowing_filters(check_tag_filters({"env": "prod", "owner": None})) == [("TagKey", ["env", "owner"])]
    assert narrowing_filters(check_tag_filters(dict(("t%d" % i, None) for i in range(11)))) == []


def test_narrowing_pairs_never_override_the_users_filters_or_break_the_limits():
    query = KeyQuery.from_options({"filters": [{"key": "TagKey", "values": ["env"]}]})
    assert query.with_pairs([("TagKey", ["team"]), ("TagValue", ["x"])]).filters == [
        ("TagKey", ["env"]),
        ("TagValue", ["x"]),
    ]
    full = KeyQuery([("K%d" % i, ["v"]) for i in range(10)])
    assert full.with_pairs([("TagKey", ["env"])]) is full
