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
    conn = from_vars(ansible)
    lookup = (
        "{{ query('alicloud.kms.keys', region='cn-shanghai', access_key_id=kms_ak, access_key_secret=kms_secret, "
        "security_token=kms_token, protocol='http', http_proxy='%s') }}" % ansible.emu.url
    )
    tasks = [
        {
            "name": "modules",
            "module_defaults": {"group/alicloud.kms.kms": conn},
            "block": [
                {"alicloud.kms.key_info": {"region": "cn-hangzhou"}, "register": "info", "ignore_errors": True},
                {
                    "alicloud.kms.key_facts": {"region": "cn-hangzhou", "details": True},
                    "register": "facts",
                    "ignore_errors": True,
                },
            ],
        },
        {"ansible.builtin.set_fact": {"looked": lookup}, "register": "lookup", "ignore_errors": True},
    ]
    result = ansible.play(
        tasks,
        save=["info", "facts", "lookup"],
        defaults=False,
        args=["-vvvv", "-e", "@%s" % credentials_file(ansible, secret, token)],
        env=ansible.extra_env,
    )
    assert bool(result["info"].get("failed")) is not ok and bool(result["lookup"].get("failed")) is not ok
    if not ok:
        assert result["info"]["error"]["code"] in ("SignatureDoesNotMatch", "InvalidSecurityToken.Mismatch")
        assert result["info"]["error"]["request_id"]
    else:
        assert result["info"]["total_count"] > 0
    assert_nowhere(ansible, result.stdout, result.stderr)


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


def test_assume_role_through_the_emulators_sts(ansible):
    """Item 1: AssumeRole goes through protocol http and the proxy like every request, and reads the role's account."""
    conn = from_vars(ansible, assume_role_arn=ROLE)
    lookup = (
        "{{ query('alicloud.kms.keys', region='cn-beijing', access_key_id=kms_ak, access_key_secret=kms_secret, "
        "security_token=kms_token, protocol='http', http_proxy='%s', assume_role_arn='%s') }}" % (ansible.emu.url, ROLE)
    )
    tasks = [
        {"alicloud.kms.key_info": dict(conn, region="cn-beijing", details=True), "register": "info"},
        {"ansible.builtin.set_fact": {"looked": lookup}},
    ]
    result = ansible.play(
        tasks,
        save=["info", "looked"],
        defaults=False,
        args=["-vvvv", "-e", "@%s" % credentials_file(ansible, SECRET, TOKEN)],
        env=ansible.extra_env,
    )
    assert result.rc == 0, result.stdout + result.stderr
    accounts = set(k["account_id"] for k in result["info"]["keys"] + result["looked"])
    assert accounts == {"9876543210987654"} and result["info"]["total_count"] == 2
    requests = ansible.emu.stats()["requests"]
    assert [r["service"] for r in requests if r["action"] == "AssumeRole"] == [
        "sts",
        "sts",
    ]  # one per run: module, lookup
    tokens = issued(ansible.emu)
    assert tokens
    assert_not_shown(ansible, result, tokens)
    assert_nowhere(ansible, result.stdout, result.stderr)


def test_assume_role_failing_on_the_network_prints_no_token_or_signed_url(ansible):
    """Item 1: the credentials library printed the signed AssumeRole URL (token, signature) 15 times on stderr."""
    with refused_port() as port:
        proxy = "http://127.0.0.1:%d" % port
        conn = from_vars(ansible, http_proxy=proxy, https_proxy=proxy, assume_role_arn=ROLE)
        lookup = (
            "{{ query('alicloud.kms.keys', region='cn-beijing', access_key_id=kms_ak, access_key_secret=kms_secret, "
            "security_token=kms_token, protocol='http', http_proxy='%s', max_retries=0, assume_role_arn='%s') }}"
            % (proxy, ROLE)
        )
        tasks = [
            {"alicloud.kms.key_info": dict(conn, region="cn-beijing"), "register": "info", "ignore_errors": True},
            {"ansible.builtin.set_fact": {"looked": lookup}, "register": "lookup", "ignore_errors": True},
        ]
        result = ansible.play(
            tasks,
            save=["info", "lookup"],
            defaults=False,
            args=["-vvvv", "-e", "@%s" % credentials_file(ansible, SECRET, TOKEN)],
            env=ansible.extra_env,
        )
    for r in (result["info"], result["lookup"]):
        assert r["failed"] and "AssumeRole" in r["msg"] and "ConnectionError" in r["msg"], r
    assert "Signature" not in result.stderr and "SecurityToken=" not in result.stderr
    assert_nowhere(ansible, result.stdout, result.stderr)


def test_a_proxy_password_is_masked_everywhere(ansible):
    """Item 3: http_proxy with user:password@ showed in the invocation at -vvv and in log_path."""
    password = "Pxy-%s" % uuid.uuid4().hex
    proxy = ansible.emu.url.replace("http://", "http://alice:%s@" % password)
    basic = base64.b64encode(("alice:%s" % password).encode()).decode()
    result = ansible.play(
        [{"alicloud.kms.key_info": {"region": "cn-hangzhou", "http_proxy": proxy}, "register": "info"}],
        save=["info"],
        args=["-vvvv"],
        env=ansible.extra_env,
    )
    assert result.rc == 0 and result["info"]["total_count"] > 0, result.stdout + result.stderr
    assert "http://alice:********@" in result.stdout  # the invocation, shown at -vvv
    assert_not_shown(ansible, result, (password, basic), inputs=("playbook.yml",))


def test_an_organisation_wide_run_shows_no_member_credentials(ansible):
    """Issue 13: every member's temporary credentials stay out of every output, at -vvvv, for every face."""
    conn = from_vars(ansible)
    tasks = [
        {
            "alicloud.kms.key_info": dict(conn, accounts=["all"], region="cn-hangzhou", strict_permissions=False),
            "register": "info",
        }
    ]
    result = ansible.play(
        tasks,
        save=["info"],
        defaults=False,
        args=["-vvvv", "-e", "@%s" % credentials_file(ansible, SECRET, TOKEN)],
        env=ansible.extra_env,
    )
    assert result.rc == 0 and result["info"]["summary"]["accounts"] >= 3, result.stdout + result.stderr
    tokens = issued(ansible.emu)
    assert len(tokens) >= 4  # a secret and a token per member read
    assert_not_shown(ansible, result, tokens)
    assert_nowhere(ansible, result.stdout, result.stderr)
