"""Connection: option validation, environment precedence, endpoints, SDK error mapping."""

from __future__ import annotations

import json

import pytest
from alibabacloud_tea_openapi import exceptions as sdk
from darabonba.exceptions import RetryError, UnretryableException
from darabonba.policy.retry import RetryPolicyContext

from ansible_collections.alicloud.kms.plugins.module_utils._connection import _to_kms_error
from ansible_collections.alicloud.kms.plugins.module_utils._connection_options import ConnectionOptions, proxy_password
from ansible_collections.alicloud.kms.plugins.module_utils._errors import KmsOptionError


def conn(environ=None, **options):
    return ConnectionOptions(options, environ=environ or {})


def test_endpoints_follow_region_network_and_override():
    assert conn(region="cn-hangzhou").endpoint_for("cn-shanghai") == "kms.cn-shanghai.aliyuncs.com"
    assert conn(network="vpc").endpoint_for("cn-shanghai") == "kms-vpc.cn-shanghai.aliyuncs.com"
    assert conn(endpoint="kms.{region}.internal:8443").endpoint_for("eu-central-1") == "kms.eu-central-1.internal:8443"


def test_explicit_options_win_over_alicloud_names_which_win_over_sdk_names():
    env = {
        "ALICLOUD_REGION": "cn-beijing",
        "ALIBABA_CLOUD_REGION_ID": "cn-shenzhen",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "sdk-id",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sdk-secret",
    }
    assert conn(env).region == "cn-beijing"
    assert conn(env, region="cn-hangzhou").region == "cn-hangzhou"
    assert conn({"ALIBABA_CLOUD_REGION_ID": "cn-shenzhen"}).region == "cn-shenzhen"
    assert conn(env).credentials["access_key_id"] == "sdk-id"
    env["ALICLOUD_ACCESS_KEY"], env["ALICLOUD_SECRET_KEY"] = "ali-id", "ali-secret"
    assert conn(env).credentials["access_key_id"] == "ali-id"


def test_an_explicit_key_pair_is_never_completed_from_the_environment():
    env = {"ALICLOUD_ACCESS_KEY": "env-id", "ALICLOUD_SECRET_KEY": "env-secret", "ALICLOUD_SECURITY_TOKEN": "env-token"}
    explicit = conn(env, access_key_id="mine", access_key_secret="my-secret").credentials
    assert (explicit["access_key_id"], explicit["access_key_secret"], explicit["security_token"]) == (
        "mine",
        "my-secret",
        None,
    )
    with pytest.raises(KmsOptionError) as info:
        conn(env, access_key_id="mine")
    assert info.value.option == "access_key_secret" and "env-secret" not in str(info.value)


def test_sts_endpoint_follows_network_and_override():
    assert conn().sts_endpoint_for("cn-shanghai") == "sts.aliyuncs.com"
    assert conn(network="vpc").sts_endpoint_for("cn-shanghai") == "sts-vpc.cn-shanghai.aliyuncs.com"
    assert (
        conn(sts_endpoint="sts.{region}.internal:8443").sts_endpoint_for("eu-central-1")
        == "sts.eu-central-1.internal:8443"
    )


@pytest.mark.parametrize("option", ["access_key_id", "access_key_secret", "security_token"])
@pytest.mark.parametrize("bad", ["Tok3n-s3cr3t\n", " Tok3n-s3cr3t", "Tok3n s3cr3t", "Tok3n-s3cr3t\x01"])
def test_credentials_with_whitespace_fail_naming_the_option_not_the_value(option, bad):
    options = {"access_key_id": "id", "access_key_secret": "secret", "security_token": "token"}
    options[option] = bad
    with pytest.raises(KmsOptionError) as info:
        conn(**options)
    assert info.value.option == option and "whitespace" in str(info.value) and "s3cr3t" not in str(info.value)


def test_credentials_from_the_environment_name_the_variable():
    with pytest.raises(KmsOptionError) as info:
        conn({"ALICLOUD_ACCESS_KEY": "id", "ALICLOUD_SECRET_KEY": "s3cr3t\n"})
    assert "access_key_secret (from ALICLOUD_SECRET_KEY)" in str(info.value) and "s3cr3t" not in str(info.value)


def test_proxy_passwords_are_never_echoed_and_are_known_for_masking():
    with pytest.raises(KmsOptionError) as info:
        conn(http_proxy="http://alice:pr0xy-pw@proxy example:3128")
    assert "pr0xy-pw" not in str(info.value) and "alice" not in str(info.value)
    assert proxy_password("http://user:pr0xy-pw@proxy.example.com:3128") == "pr0xy-pw"
    assert proxy_password("http://proxy.example.com:3128") is None
    assert conn(https_proxy="https://user:pr0xy-pw@proxy.example.com:3128").https_proxy.endswith(":3128")


def test_http_to_alibaba_cloud_warns_once_but_not_through_a_local_emulator():
    warnings = []
    ConnectionOptions({"protocol": "http"}, {}, warn=warnings.append)
    ConnectionOptions({"protocol": "http", "http_proxy": "http://127.0.0.1:8080"}, {}, warn=warnings.append)
    ConnectionOptions(
        {"protocol": "http", "endpoint": "127.0.0.1:8080", "sts_endpoint": "127.0.0.1:8080"}, {}, warn=warnings.append
    )
    ConnectionOptions({}, {}, warn=warnings.append)
    assert len(warnings) == 1 and "unencrypted" in warnings[0]


# The shared bad-input table (tests/bad_input.py) holds the rest; these differ by face (AnsibleModule checks choices
# and types itself, with its own words), so only the core's own message is checked here.
@pytest.mark.parametrize(
    "options, option, text",
    [
        ({"network": "private"}, "network", "public, vpc"),
        ({"protocol": "ftp"}, "protocol", "https, http"),
        ({"read_timeout": "soon"}, "read_timeout", "a number"),
    ],
)
def test_bad_connection_options(options, option, text):
    with pytest.raises(KmsOptionError) as info:
        ConnectionOptions(options, environ={})
    assert info.value.option == option and text in str(info.value)
    assert "s3cr3t" not in str(info.value)


def test_service_errors_keep_code_message_request_id_and_status():
    exc = sdk.ClientException(
        status_code=400,
        code="InvalidParameter",
        message="code: 400, bad request id: R1",
        request_id="R1",
        data={
            "Code": "InvalidParameter",
            "Message": "The specified parameter is not valid.",
            "RequestId": "R1",
            "HostId": "kms.cn-hangzhou.aliyuncs.com",
        },
    )
    error = _to_kms_error(exc, "cn-hangzhou", "ListKeys")
    assert (error.code, error.request_id, error.status, error.region) == ("InvalidParameter", "R1", 400, "cn-hangzhou")
    assert str(error) == (
        "ListKeys failed in region cn-hangzhou: InvalidParameter: The specified parameter is not valid. (RequestId: R1)"
    )


def test_throttling_carries_retry_after_in_seconds():
    exc = sdk.ThrottlingException(
        status_code=429,
        code="Rejected.Throttling",
        message="m",
        request_id="R2",
        retry_after=1500,
        data={"Code": "Rejected.Throttling", "Message": "slow", "RequestId": "R2"},
    )
    error = _to_kms_error(exc, "cn-hangzhou", "ListKeys")
    assert error.retry_after == 1.5 and error.status == 429


def test_transport_errors_never_quote_the_signed_url():
    leak = (
        "HTTPConnectionPool(host='kms.cn-hangzhou.aliyuncs.com', port=80): Max retries exceeded with url: "
        "/?AccessKeyId=LTAIid&Signature=c2lnbmF0dXJl&SecurityToken=TOKEN123 (Caused by ...)"
    )
    error = _to_kms_error(
        UnretryableException(RetryPolicyContext(exception=RetryError(leak))), "cn-hangzhou", "ListKeys"
    )
    assert error.code == "ConnectionError"
    for secret in ("Signature", "c2lnbmF0dXJl", "TOKEN123", "LTAIid"):
        assert secret not in str(error)


def test_a_garbled_body_is_a_malformed_response():
    with pytest.raises(json.JSONDecodeError) as info:
        json.loads('{"Keys": [')
    error = _to_kms_error(UnretryableException(RetryPolicyContext(exception=info.value)), "cn-hangzhou", "ListKeys")
    assert error.code == "MalformedResponse"


def test_the_sdks_wrapped_json_error_is_a_malformed_response_without_the_body():
    # What darabonba raises: a RuntimeError quoting the body, in the context of the JSON error.
    exc = RuntimeError('Failed to parse the value as json format, Value: "<html>502 Bad Gateway</html>".')
    exc.__context__ = json.JSONDecodeError("Expecting value", "<html>502 Bad Gateway</html>", 0)
    error = _to_kms_error(UnretryableException(RetryPolicyContext(exception=exc)), "cn-hangzhou", "ListKeys")
    assert error.code == "MalformedResponse" and "<html>" not in str(error)
