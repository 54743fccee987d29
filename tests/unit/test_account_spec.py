"""Which accounts a run reads, with which role; bad accounts options fail before any request."""

from __future__ import annotations

import pytest

from ansible_collections.alicloud.kms.plugins.module_utils._accounts import AccountSpec, Target
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError

CALLER, MEMBER, OTHER = "1234567890123456", "9876543210987654", "1111222233334444"
ROLE = "acs:ram::%s:role/kms-audit" % OTHER


def directory(*accounts):
    return [dict(AccountId=a, DisplayName="name-%s" % a[-4:], Status=s) for a, s in accounts]


def test_unset_reads_the_callers_account_as_today():
    assert AccountSpec({}).enabled is False


def test_ids_get_the_directory_role_arns_are_assumed_as_given_and_the_caller_reads_itself():
    spec = AccountSpec({"accounts": [CALLER, MEMBER, ROLE]})
    targets, skipped = spec.targets(CALLER)
    assert targets == [
        Target(CALLER, None, None),
        Target(MEMBER, "acs:ram::%s:role/ResourceDirectoryAccountAccessRole" % MEMBER, None),
        Target(OTHER, ROLE, None),
    ]
    assert skipped == []


def test_all_reads_usable_members_reports_the_others_and_honours_exclusions():
    spec = AccountSpec({"accounts": ["all"], "exclude_accounts": [OTHER], "account_role_name": "auditor"})
    members = directory(
        (CALLER, "CreateSuccess"),
        (MEMBER, "InviteSuccess"),
        (OTHER, "CreateSuccess"),
        ("5555666677778888", "CreateVerifying"),
    )
    targets, skipped = spec.targets(CALLER, members)
    assert targets == [
        Target(CALLER, None, "name-3456"),
        Target(MEMBER, "acs:ram::%s:role/auditor" % MEMBER, "name-7654"),
    ]
    assert [(s["account_id"], s["region"], s["code"]) for s in skipped] == [
        ("5555666677778888", None, "CreateVerifying")
    ]


@pytest.mark.parametrize(
    "options, option, text",
    [
        ({"accounts": []}, "accounts", "leave it unset"),
        ({"accounts": ["all", MEMBER]}, "accounts", "'all' cannot be combined"),
        ({"accounts": ["12345"]}, "accounts", "not an account ID (16 digits) or a RAM role ARN"),
        ({"accounts": ["acs:ram::123:role/x"]}, "accounts", "not an account ID"),
        ({"exclude_accounts": ["acs:ram::%s:role/x" % MEMBER]}, "exclude_accounts", "not an account ID (16 digits)"),
        ({"accounts": [MEMBER], "account_role_name": "bad role"}, "account_role_name", "not a RAM role name"),
    ],
)
def test_bad_accounts_options_name_the_option(options, option, text):
    with pytest.raises(KmsOptionError) as info:
        AccountSpec(options)
    assert info.value.option == option and text in str(info.value)
