"""The secret lookup against the emulator's demo secrets: values exact, a template returned literally, on_missing and
on_denied each way, and no value in the output at -vvvv unless the task itself prints it."""

from __future__ import annotations

import json

import pytest

from conftest import DEMO_KEY


def env(ansible):
    """Credentials from the environment and the emulator as the proxy (inventory variable through extra vars)."""
    return {"ALICLOUD_ACCESS_KEY": DEMO_KEY[0], "ALICLOUD_SECRET_KEY": DEMO_KEY[1], "ALICLOUD_REGION": "cn-hangzhou"}


def show(ansible, expression, flags=()):
    extra = {"alicloud_kms_http_proxy": ansible.emu.url, "alicloud_kms_protocol": "http"}
    return ansible.module(
        "ansible.builtin.debug", env=env(ansible), flags=flags, extra_vars=extra, msg="{{ %s }}" % expression
    )


def test_values_by_stage_version_and_json_key(ansible, emulator):
    assert show(ansible, "lookup('alicloud.kms.secret', 'payments/api-token')").result["msg"] == "tok_live_4f2a9c"
    current = show(ansible, "lookup('alicloud.kms.secret', 'orders/db-app')").result["msg"]
    assert json.loads(current) == {"username": "orders_app", "password": "n3w-Pa55"}
    previous = "lookup('alicloud.kms.secret', 'orders/db-app', version_stage='ACSPrevious', json_key='password')"
    assert show(ansible, previous).result["msg"] == "old-Pa55"
    by_id = "lookup('alicloud.kms.secret', 'orders/db-app', version_id='v1', json_key='username')"
    assert show(ansible, by_id).result["msg"] == "orders_app"
    account = emulator.backend.default_account.account_id
    arn = "acs:kms:cn-shanghai:%s:secret/datalake/warehouse-dsn" % account
    assert show(ansible, "query('alicloud.kms.secret', '%s') | length" % arn).result["msg"] == 1


def test_a_value_that_holds_a_template_is_returned_literally(ansible, emulator, tmp_path):
    r = show(ansible, "lookup('alicloud.kms.secret', 'ops/motd-template')")
    assert r.rc == 0 and r.result["msg"] == "{{ lookup('pipe', 'id') }}", r.result


@pytest.mark.parametrize(
    "term, option, choice, outcome",
    [
        ("no/such-secret", "on_missing", "error", "Forbidden.ResourceNotFound"),
        ("no/such-secret", "on_missing", "warn", []),
        ("no/such-secret", "on_missing", "skip", []),
        ("ledger/hsm-pin", "on_denied", "error", "Forbidden.NoPermission"),
        ("ledger/hsm-pin", "on_denied", "warn", []),
        ("ledger/hsm-pin", "on_denied", "skip", []),
    ],
)
def test_missing_and_denied_secrets_each_way(ansible, emulator, term, option, choice, outcome):
    r = show(ansible, "query('alicloud.kms.secret', '%s', %s='%s')" % (term, option, choice))
    if isinstance(outcome, str):
        assert r.rc != 0 and outcome in r.result["msg"], r.result
    else:
        assert r.rc == 0 and r.result["msg"] == outcome, r.result
        warned = "alicloud.kms.secret: %s" % term in r.stdout + r.stderr
        assert warned == (choice == "warn"), r.stdout + r.stderr


def test_bad_terms_and_options_fail_before_any_request(ansible, emulator):
    for expression, message in (
        ("lookup('alicloud.kms.secret', 'bad name with spaces')", "not a secret name"),
        ("lookup('alicloud.kms.secret', 'x', on_missing='ignore')", "on_missing must be one of error, warn, skip"),
    ):
        r = show(ansible, expression)
        assert r.rc != 0 and message in r.result["msg"], r.result
    assert emulator.stats()["total"] == 0
    r = show(ansible, "lookup('alicloud.kms.secret', 'payments/api-token', json_key='x')")
    assert r.rc != 0 and "json_key: the value of payments/api-token is not JSON" in r.result["msg"]
    assert "tok_live" not in r.stdout + r.stderr


def test_no_value_in_the_output_at_any_verbosity(ansible, emulator):
    extra = {"alicloud_kms_http_proxy": ansible.emu.url, "alicloud_kms_protocol": "http"}
    r = ansible.module(
        "ansible.builtin.assert",
        env=env(ansible),
        flags=["-vvvv"],
        extra_vars=extra,
        that=["lookup('alicloud.kms.secret', 'orders/db-app', json_key='password') | length == 8"],
        quiet=True,
    )
    assert r.rc == 0, r.stdout + r.stderr
    for value in ("n3w-Pa55", DEMO_KEY[1]):
        assert value not in r.stdout + r.stderr
