"""The core rejects every case of the bad-input table on its own, before any request, naming the option."""

from __future__ import annotations

import pytest
from bad_input import CASES, CORE_ONLY, SECRETS

from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError
from ansible_collections.alicloud.kms.plugins.module_utils._keys import KeyRequest


@pytest.mark.parametrize(
    "options, option, text", CASES + CORE_ONLY, ids=["%d-%s" % (i, c[1]) for i, c in enumerate(CASES + CORE_ONLY)]
)
def test_the_core_rejects_it_naming_the_option(options, option, text):
    settings = dict({"access_key_id": "LTAIdemo", "access_key_secret": "demo"}, **options)
    if "region" not in settings and "regions" not in settings:
        settings["region"] = "cn-hangzhou"
    with pytest.raises(KmsOptionError) as info:
        KeyRequest(settings, environ={})  # the run is never reached: nothing can be sent
    assert info.value.option == option and str(info.value).startswith(option + ": ") and text in str(info.value)
    assert not any(secret in str(info.value) for secret in SECRETS)


def test_a_run_without_a_region_fails_before_any_request():
    with pytest.raises(KmsOptionError, match="region: no region given"):
        KeyRequest({"access_key_id": "LTAIdemo", "access_key_secret": "demo"}, environ={}).run()
