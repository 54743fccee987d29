"""Fixtures that run the real ansible-playbook against the real KMS emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emulator.seeding import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET
from emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
DEMO_SEED = ROOT / "tests" / "emulator" / "seeds" / "demo.yml"
DEMO_KEY = (DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
BIN = Path(sys.executable).parent
# where alicloud.kms is this tree: the Makefile's .collections, or the matrix's staged copy (pytest.ini's
# pytest-ansible puts it on sys.path); every ansible command the tests run gets the same path
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(ROOT / ".collections")


def unwrapped(text):
    """text without whitespace: ansible-core before 2.19 wraps stderr at 79 columns, at spaces and hyphens alike."""
    return "".join(text.split())


def mentions(stderr, *fragments):
    """True when every fragment appears in stderr, however Ansible wrapped it."""
    return all(unwrapped(fragment) in unwrapped(stderr) for fragment in fragments)


def truth(emu, region, **attributes):
    """The emulator's own keys in a region that match attribute lists (ANDed), in listing order."""
    account = emu.backend.default_account
    return [
        k
        for k in account.keys.get(region, [])
        if all(getattr(k, name) in values for name, values in attributes.items())
    ]


class Result(object):
    def __init__(self, proc, saved):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.saved = saved

    def __getitem__(self, name):
        return self.saved[name]


class Ansible(object):
    """Runs playbooks on localhost with the collection from this tree and the emulator behind a proxy."""

    def __init__(self, emu, tmp_path):
        self.emu = emu
        self.tmp = tmp_path
        self.inventory = tmp_path / "hosts.ini"
        self.inventory.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)

    def connection(self, **overrides):
        settings = {
            "access_key_id": DEMO_KEY[0],
            "access_key_secret": DEMO_KEY[1],
            "protocol": "http",
            "http_proxy": self.emu.url,
            "max_retries": 2,
        }
        settings.update(overrides)
        return dict((k, v) for k, v in settings.items() if v is not None)

    def env(self, extra=None):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("ALICLOUD_", "ALIBABA_CLOUD_")))
        env.update(
            {
                "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
                "ANSIBLE_HOME": str(self.tmp / "ansible-home"),
                "ANSIBLE_LOCAL_TEMP": str(self.tmp / "ansible-tmp"),
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "PATH": "%s%s%s" % (BIN, os.pathsep, env.get("PATH", "")),
            }
        )
        env.update(extra or {})
        return env

    def run(self, args, env=None, cwd=None):
        return subprocess.run(
            args, env=self.env(env), cwd=str(cwd or self.tmp), capture_output=True, text=True, timeout=300, check=False
        )

    def play(self, tasks, save=(), defaults=True, plays_after=(), args=(), env=None, **overrides):
        """One play on localhost running tasks, then saving the registered variables named in save."""
        play = {"name": "test", "hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}
        if defaults:
            play["module_defaults"] = {"group/alicloud.kms.kms": self.connection(**overrides)}
        out = self.tmp / "saved.json"
        if out.exists():
            out.unlink()
        if save:
            play["tasks"].append(
                {
                    "name": "save results",
                    "check_mode": False,
                    "ansible.builtin.copy": {
                        "dest": str(out),
                        "content": "{{ {%s} | to_json }}" % ", ".join("'%s': %s" % (n, n) for n in save),
                    },
                }
            )
        book = self.tmp / "playbook.yml"
        book.write_text(yaml.safe_dump([play] + list(plays_after), sort_keys=False))
        proc = self.run([str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(book)] + list(args), env=env)
        saved = json.loads(out.read_text()) if out.exists() else {}
        return Result(proc, saved)


# --- the inventory plugin through ansible-inventory ---------------------------------------------------------------
INVENTORY_REGIONS = ["cn-hangzhou", "cn-shanghai"]


def inventory(ansible, name="test.kms_keys.yml", **config):
    settings = {
        "plugin": "alicloud.kms.keys",
        "regions": INVENTORY_REGIONS,
        "protocol": "http",
        "http_proxy": ansible.emu.url,
        "max_retries": 1,
    }
    settings.update(config)
    path = ansible.tmp / name
    path.write_text(yaml.safe_dump(settings))
    return path


def inventory_env(ansible):
    c = ansible.connection()
    return {
        "ALICLOUD_ACCESS_KEY": c["access_key_id"],
        "ALICLOUD_SECRET_KEY": c["access_key_secret"],
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        "ANSIBLE_INVENTORY_ENABLED": "alicloud.kms.keys",
    }


def _plain(data):
    """ansible-inventory marks values from plugins as unsafe ({"__ansible_unsafe": value}); unwrap them."""
    if isinstance(data, dict):
        return (
            data["__ansible_unsafe"]
            if set(data) == {"__ansible_unsafe"}
            else dict((k, _plain(v)) for k, v in data.items())
        )
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def listing(ansible, path, *args):
    proc = ansible.run(
        [str(BIN / "ansible-inventory"), "-i", str(path), "--list"] + list(args), env=inventory_env(ansible)
    )
    return proc, (_plain(json.loads(proc.stdout)) if proc.returncode == 0 else None)


@pytest.fixture(scope="module")
def emulator():
    with Emulator(seed=str(DEMO_SEED)) as emu:
        yield emu


@pytest.fixture
def ansible(emulator, tmp_path):
    # reset() restores the seeded keys, roles and fault settings and drops STS credentials and hooks: tests are
    # isolated whatever they add or change; the faults are still spelled out so the baseline reads here.
    emulator.reset()
    emulator.set_faults(
        latency_ms=0,
        qps=50,
        error_rate_503=0,
        error_rate_500=0,
        drop_rate=0,
        malformed_rate=0,
        deny_regions=[],
        flat_keys=False,
        retry_after_ms=0,
        mutate_after_page=None,
        ignore_filter_values={},
    )
    return Ansible(emulator, tmp_path)
