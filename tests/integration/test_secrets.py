"""No secret or token appears in output, results, errors, logs or files, at -vvvv, in any face."""

from __future__ import annotations

import uuid

import pytest
import yaml

from conftest import BIN, DEMO_SEED, Ansible
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
    runner.extra_env = {"ANSIBLE_LOG_PATH": str(tmp_path / "ansible.log"), "ANSIBLE_REMOTE_TMP": str(tmp_path / "remote-tmp"),
                        "DEBUG": "sdk"}
    return runner


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


@pytest.mark.parametrize("secret, token, ok", [(SECRET, TOKEN, True), (WRONG_SECRET, TOKEN, False), (SECRET, WRONG_TOKEN, False)],
                         ids=["right", "wrong-secret", "wrong-token"])
def test_modules_and_lookup(ansible, secret, token, ok):
    conn = {"access_key_id": "{{ kms_ak }}", "access_key_secret": "{{ kms_secret }}", "security_token": "{{ kms_token }}",
            "protocol": "http", "http_proxy": ansible.emu.url, "max_retries": 0}
    lookup = ("{{ query('alicloud.kms.keys', region='cn-shanghai', access_key_id=kms_ak, access_key_secret=kms_secret, "
              "security_token=kms_token, protocol='http', http_proxy='%s') }}" % ansible.emu.url)
    tasks = [{"name": "modules", "module_defaults": {"group/alicloud.kms.kms": conn}, "block": [
        {"alicloud.kms.key_info": {"region": "cn-hangzhou"}, "register": "info", "ignore_errors": True},
        {"alicloud.kms.key_facts": {"region": "cn-hangzhou", "details": True}, "register": "facts", "ignore_errors": True},
    ]}, {"ansible.builtin.set_fact": {"looked": lookup}, "register": "lookup", "ignore_errors": True}]
    result = ansible.play(tasks, save=["info", "facts", "lookup"], defaults=False,
                          args=["-vvvv", "-e", "@%s" % credentials_file(ansible, secret, token)], env=ansible.extra_env)
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
    path.write_text(yaml.safe_dump({"plugin": "alicloud.kms.keys", "region": "cn-hangzhou", "protocol": "http",
                                    "http_proxy": ansible.emu.url, "max_retries": 0, "cache": True,
                                    "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(ansible.tmp / "cache")}))
    env = dict(ansible.extra_env, ALICLOUD_ACCESS_KEY=ACCESS_KEY, ALICLOUD_SECRET_KEY=secret, ALICLOUD_SECURITY_TOKEN=TOKEN,
               ANSIBLE_INVENTORY_ENABLED="alicloud.kms.keys", ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    proc = ansible.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list", "-vvvv"], env=env)
    assert (proc.returncode == 0) is ok, proc.stderr
    if not ok:
        assert "SignatureDoesNotMatch" in proc.stderr and "RequestId" in proc.stderr
    assert "x-acs-signature-nonce" not in proc.stderr, "the SDK's header dump never reaches stderr"
    assert_nowhere(ansible, proc.stdout, proc.stderr)
