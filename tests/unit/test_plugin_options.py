"""The plugin adapter: plugin options in, a validated KeyRequest or a clean AnsibleError out."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import ARGUMENT_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsError
from ansible_collections.alicloud.kms.plugins.plugin_utils._options import (
    DirectoryListing,
    directory_listing,
    key_request,
    plugin_options,
    run_request,
)


class Options(object):
    """Stands in for a plugin's resolved options (what get_option returns after set_options)."""

    def __init__(self, **values):
        self.values = dict((name, spec.get("default")) for name, spec in ARGUMENT_SPEC.items())
        self.values.update(values)

    def get_option(self, name):
        return self.values[name]


def test_every_core_option_is_read_from_the_plugin():
    options = plugin_options(Options(region="cn-hangzhou", key_state=["Enabled"]))
    assert set(options) == set(ARGUMENT_SPEC)
    assert options["region"] == "cn-hangzhou" and options["page_size"] == 100


def test_the_request_carries_the_same_query_as_a_module_would_build():
    request = key_request(
        Options(region="cn-hangzhou", key_state=["Enabled"], filters=[{"key": "KeyState", "values": ["Disabled"]}])
    )
    assert request.query.filters == [("KeyState", ["Enabled", "Disabled"])]
    assert request.connection.region == "cn-hangzhou"


def test_bad_options_become_the_given_error_class_naming_the_option():
    with pytest.raises(AnsibleLookupError) as info:
        key_request(Options(region="cn-hangzhou", protection_level=["hsm"]), AnsibleLookupError)
    assert str(info.value).startswith("protection_level: unknown value 'hsm' (did you mean 'HSM'?)")
    assert info.value.__cause__ is None


def test_service_errors_keep_code_and_request_id():
    def fail():
        raise KmsError("Forbidden.NoPermission", "denied", request_id="R9", region="cn-shanghai", action="ListKeys")

    with pytest.raises(AnsibleLookupError, match=r"Forbidden.NoPermission: denied \(RequestId: R9\)"):
        run_request(fail, AnsibleLookupError)


def test_the_accounts_inventory_hosts_leave_out_excluded_and_set_apart_members_not_usable_yet():
    listing = DirectoryListing(
        dict(access_key_id="AK", access_key_secret="SK", exclude_accounts=["3333333333333333"]), environ={}
    )
    answer = dict(
        caller="9999999999999999",  # a caller the directory does not list: a host of its own, last
        accounts=[
            dict(AccountId="1111111111111111", DisplayName="one", Status="CreateSuccess"),
            dict(AccountId="2222222222222222", DisplayName=None, Status="CreateVerifying"),
            dict(AccountId="3333333333333333", DisplayName="excluded", Status="InviteSuccess"),
            dict(AccountId="4444444444444444", DisplayName="four", Status="PromoteSuccess"),
        ],
    )
    records, not_usable = listing.hosts(answer)
    assert records == [
        dict(account_id="1111111111111111", account_name="one", status="CreateSuccess"),
        dict(account_id="4444444444444444", account_name="four", status="PromoteSuccess"),
        dict(account_id="9999999999999999", account_name=None, status=None),
    ]
    assert [(e["account_id"], e["code"]) for e in not_usable] == [("2222222222222222", "CreateVerifying")]
    records, _not_usable = listing.hosts(answer, include_not_usable=True)
    assert [r["account_id"] for r in records] == [
        "1111111111111111",
        "2222222222222222",
        "4444444444444444",
        "9999999999999999",
    ]
    with pytest.raises(AnsibleLookupError, match=r"^exclude_accounts: '12' is not an account ID"):
        directory_listing(Options(exclude_accounts=["12"]), AnsibleLookupError)
