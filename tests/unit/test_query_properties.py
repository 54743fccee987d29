"""Property tests of filter merging: what is sent is the union per key, within the API's limits."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._query import FILTER_OPTIONS, KeyQuery

STATES = FILTER_OPTIONS["key_state"][1]
SPECS = st.sampled_from(
    [
        "Aliyun_AES_256",
        "Aliyun_SM4",
        "RSA_2048",
        "RSA_3072",
        "EC_P256",
        "EC_P256K",
        "EC_SM2",
        "X1",
        "X2",
        "X3",
        "X4",
        "X5",
    ]
)
RAW = st.lists(
    st.one_of(
        st.builds(lambda v: {"key": "KeyState", "values": v}, st.lists(st.sampled_from(STATES), max_size=4)),
        st.builds(lambda v: {"key": "KeySpec", "values": v}, st.lists(SPECS, max_size=6)),
    ),
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(states=st.lists(st.sampled_from(STATES), max_size=4), specs=st.lists(SPECS, max_size=6), raw=RAW)
def test_merge_is_the_union_per_key_or_a_clear_error(states, specs, raw):
    wanted = {}
    for key, values in [("KeyState", states), ("KeySpec", specs)] + [(p["key"], p["values"]) for p in raw]:
        wanted.setdefault(key, set()).update(values)
    wanted = dict((k, v) for k, v in wanted.items() if v)
    try:
        text = KeyQuery.from_options({"key_state": states, "key_spec": specs, "filters": raw}).filters_json()
    except KmsOptionError as error:
        assert any(len(v) > 10 for v in wanted.values())
        assert "at most 10 values" in str(error)
        return
    sent = json.loads(text) if text else []
    assert dict((p["Key"], set(p["Values"])) for p in sent) == wanted
    assert len(sent) == len({p["Key"] for p in sent}), "one pair per key"
    assert all(len(p["Values"]) == len(set(p["Values"])) <= 10 for p in sent)
