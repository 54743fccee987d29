"""No secret or token appears in output, results, errors, logs or files, at -vvvv, in any face."""

from __future__ import annotations

import base64
import uuid

import pytest
import yaml

from conftest import BIN, DEMO_SEED, Ansible
from emulator.ports import refused_port
from emulator.server import Emulator

SECRET = "Sec-%s" % uuid.uuid4().hex
TOKEN = "Tok-%s" % uuid.uuid4().hex
WRONG_SECRET = "Wrong-%s" % uuid.uuid4().hex
WRONG_TOKEN = "WrongTok-%s" % uuid.uuid4().hex
ACCESS_KEY = "STS.NUSecretsSuite01"
SECRETS = (SECRET, TOKEN, WRONG_SECRET, WRONG_TOKEN)


@pytest.fixture(scope="module")
def sts_emulator(tmp_path_factory):
    log = tmp_path_factory.mktemp("emulator") / "access.log"
    with Emulator(seed=str(DEMO_SEED), access_keys=["%s:%s:%s" % (ACCESS_KEY, SECRET, TOKEN)], log=str(log)) as emu:
        emu.log_path = log
        yield emu


@pytest.fixture
def ansible(sts_emulator, tmp_path):
    sts_emulator.reset()
    runner = Ansible(sts_emulator, tmp_path)
    # DEBUG=sdk makes the SDK dump request headers (Authorization, token) to stderr: prove they still go nowhere.
    runner.extra_env = {
        "ANSIBLE_LOG_PATH": str(tmp_path / "ansible.log"),
        "ANSIBLE_REMOTE_TMP": str(tmp_path / "remote-tmp"),
        "DEBUG": "sdk",
    }
    return runner


def from_vars(ansible, **extra):
    """Module options that take the credentials from the play's variables, through the emulator."""
    conn = {
        "access_key_id": "{{ kms_ak }}",
        "access_key_secret": "{{ kms_secret }}",
        "security_token": "{{ kms_token }}",
        "protocol": "http",
        "http_proxy": ansible.emu.url,
        "max_retries": 0,
    }
    return dict(conn, **extra)


def assert_not_shown(ansible, result, values, inputs=()):
    """None of values in the run's output or in any file it wrote (inputs: file names that are the test's input)."""
    written = [p.read_text(errors="replace") for p in ansible.tmp.rglob("*") if p.is_file() and p.name not in inputs]
    for text in [result.stdout, result.stderr] + written:
        assert not any(value in text for value in values)


def credentials_file(ansible, secret, token):
    path = ansible.tmp / "credentials.input.yml"  # the one file that may hold them: the input
    path.write_text(yaml.safe_dump({"kms_ak": ACCESS_KEY, "kms_secret": secret, "kms_token": token}))
    return path


def verbose(ansible, secret=SECRET, token=TOKEN):
    """-vvvv and the credentials from a vars file: the most a run may show, and credentials only in the input."""
    return ["-vvvv", "-e", "@%s" % credentials_file(ansible, secret, token)]


def assert_nowhere(ansible, *outputs):
    for text in outputs:
        for secret in SECRETS:
            assert secret not in text
    for path in ansible.tmp.rglob("*"):
        if path.is_file() and path.name != "credentials.input.yml":
            content = path.read_bytes()
            for secret in SECRETS:
                assert secret.encode() not in content, path
    log = ansible.emu.log_path.read_text()
    assert log and not any(secret in log for secret in SECRETS)


@pytest.mark.parametrize(
    "secret, token, ok",
    [(SECRET, TOKEN, True), (WRONG_SECRET, TOKEN, False), (SECRET, WRONG_TOKEN, False)],
    ids=["right", "wrong-secret", "wrong-token"],
)
def test_modules_and_lookup(ansible, secret, token, ok):
    run = ansible.playbook(
        "secrets_modules_and_lookup.yml",
        extra_vars={"kms_proxy": ansible.emu.url, "expect_ok": ok},
        args=verbose(ansible, secret, token),
        env=ansible.extra_env,
    )
    assert run.rc == 0, run.stdout + run.stderr
    assert_nowhere(ansible, run.stdout, run.stderr)


@pytest.mark.parametrize("secret, ok", [(SECRET, True), (WRONG_SECRET, False)], ids=["right", "wrong-secret"])
def test_inventory_and_its_cache(ansible, secret, ok):
    path = ansible.tmp / "secrets.kms_keys.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "plugin": "alicloud.kms.keys",
                "region": "cn-hangzhou",
                "protocol": "http",
                "http_proxy": ansible.emu.url,
                "max_retries": 0,
                "cache": True,
                "cache_plugin": "ansible.builtin.jsonfile",
                "cache_connection": str(ansible.tmp / "cache"),
            }
        )
    )
    env = dict(
        ansible.extra_env,
        ALICLOUD_ACCESS_KEY=ACCESS_KEY,
        ALICLOUD_SECRET_KEY=secret,
        ALICLOUD_SECURITY_TOKEN=TOKEN,
        ANSIBLE_INVENTORY_ENABLED="alicloud.kms.keys",
        ANSIBLE_INVENTORY_UNPARSED_FAILED="1",
    )
    proc = ansible.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list", "-vvvv"], env=env)
    assert (proc.returncode == 0) is ok, proc.stderr
    if not ok:
        assert "SignatureDoesNotMatch" in proc.stderr and "RequestId" in proc.stderr
    assert "x-acs-signature-nonce" not in proc.stderr, "the SDK's header dump never reaches stderr"
    assert_nowhere(ansible, proc.stdout, proc.stderr)


ROLE = "acs:ram::9876543210987654:role/kms-audit"  # the demo seed's role that account 1234567890123456 may assume


def issued(emu):
    """The secrets and tokens of every STS credential the emulator issued: none may show anywhere either."""
    return [
        s
        for k in emu.backend.access_keys.values()
        if k.id.startswith("STS.") and k.id != ACCESS_KEY
        for s in (k.secret, k.security_token)
        if s
    ]


def as_role(ansible, proxy, lookup_retries=None, **options):
    """key_info (with options) and the lookup, in cn-beijing as ROLE through proxy, at -vvvv with the credentials from
    the input file: the two runs."""
    info = ansible.module(
        "alicloud.kms.key_info",
        flags=verbose(ansible),
        env=ansible.extra_env,
        **from_vars(ansible, http_proxy=proxy, assume_role_arn=ROLE, region="cn-beijing", **options),
    )
    looked = ansible.module(
        "ansible.builtin.debug",
        flags=verbose(ansible),
        env=ansible.extra_env,
        msg="{{ query('alicloud.kms.keys', region='cn-beijing', access_key_id=kms_ak, access_key_secret=kms_secret, "
        "security_token=kms_token, protocol='http', http_proxy='%s',%s assume_role_arn='%s') }}"
        % (proxy, "" if lookup_retries is None else " max_retries=%d," % lookup_retries, ROLE),
    )
    return info, looked


def test_assume_role_through_the_emulators_sts(ansible):
    """Item 1: AssumeRole goes through protocol http and the proxy like every request, and reads the role's account."""
    info, looked = as_role(ansible, ansible.emu.url, details=True)
    assert info.rc == looked.rc == 0, (info, looked)
    accounts = set(k["account_id"] for k in info["keys"] + looked["msg"])
    assert accounts == {"9876543210987654"} and info["total_count"] == 2
    requests = ansible.emu.stats()["requests"]
    # one per run: the module, the lookup
    assert [r["service"] for r in requests if r["action"] == "AssumeRole"] == ["sts", "sts"]
    tokens = issued(ansible.emu)
    assert tokens
    for run in (info, looked):
        assert_not_shown(ansible, run, tokens)
        assert_nowhere(ansible, run.stdout, run.stderr)


def test_assume_role_failing_on_the_network_prints_no_token_or_signed_url(ansible):
    """Item 1: the credentials library printed the signed AssumeRole URL (token, signature) 15 times on stderr."""
    with refused_port() as port:
        proxy = "http://127.0.0.1:%d" % port
        info, looked = as_role(ansible, proxy, lookup_retries=0, https_proxy=proxy)
    for run in (info, looked):
        assert run.failed and "AssumeRole" in run["msg"] and "ConnectionError" in run["msg"], run
        assert "Signature" not in run.stderr and "SecurityToken=" not in run.stderr
        assert_nowhere(ansible, run.stdout, run.stderr)


def test_a_proxy_password_is_masked_everywhere(ansible):
    """Item 3: http_proxy with user:password@ showed in the invocation at -vvv and in log_path."""
    password = "Pxy-%s" % uuid.uuid4().hex
    proxy = ansible.emu.url.replace("http://", "http://alice:%s@" % password)
    basic = base64.b64encode(("alice:%s" % password).encode()).decode()
    result = ansible.module("key_info", flags=["-vvvv"], env=ansible.extra_env, region="cn-hangzhou", http_proxy=proxy)
    assert result.rc == 0 and result["total_count"] > 0, result
    # the invocation, shown at -vvv before ansible-core 2.21 (whose ad-hoc output leaves it out): masked there
    assert "http://alice:********@" in result.stdout or '"module_args"' not in result.stdout
    assert_not_shown(ansible, result, (password, basic))


def test_an_organisation_wide_run_shows_no_member_credentials(ansible):
    """Issue 13: every member's temporary credentials stay out of every output, at -vvvv, for every face."""
    # a playbook: the modules and the lookup in one -vvvv run
    result = ansible.playbook(
        "secrets_organisation.yml",
        extra_vars={"kms_proxy": ansible.emu.url},
        args=verbose(ansible),
        env=ansible.extra_env,
    )
    assert result.rc == 0, result.stdout + result.stderr
    tokens = issued(ansible.emu)
    assert len(tokens) >= 4  # a secret and a token per member read
    assert_not_shown(ansible, result, tokens)
    assert_nowhere(ansible, result.stdout, result.stderr)


@pytest.mark.parametrize("shape", ["http://alice:{pw}@proxy.example.com:port/a path", "alice:{pw}@proxy.example.com"])
def test_the_password_of_a_malformed_proxy_url_is_masked_too(ansible, shape):
    """Issue 21 item 8: a proxy URL that fails validation was printed, password and all, in the -vvvv invocation."""
    password = "Pxy-%s" % uuid.uuid4().hex
    result = ansible.module(
        "key_info", flags=["-vvvv"], env=ansible.extra_env, region="cn-hangzhou", http_proxy=shape.format(pw=password)
    )
    assert result.failed and "http_proxy" in result["msg"] and "****@" in result["msg"], result
    assert_not_shown(ansible, result, (password,))
