"""Every face rejects bad input before any request, with a message that names the option."""

from __future__ import annotations

import json

import pytest
import yaml
from bad_input import CASES, SECRETS

from conftest import BIN, inventory, inventory_env, mentions


def with_region(options):
    return options if "region" in options or "regions" in options else dict(options, region="cn-hangzhou")


def test_the_table_is_big_enough():
    assert len(CASES) >= 25


def test_modules_reject_every_case_before_any_request(ansible, emulator):
    for index, (options, option, text) in enumerate(CASES):
        settings = ansible.connection(**with_region(options))
        # each value from a vars file, as secrets are kept off a command line (ansible-core's ad-hoc error echoes the
        # task's arguments): what the run shows is then what the module shows
        r = ansible.module(
            "alicloud.kms.key_info" if index % 2 else "alicloud.kms.key_facts",
            extra_vars={"case": settings},
            **dict((name, "{{ case[%r] }}" % name) for name in settings),
        )
        assert r.failed and r["msg"].startswith(option + ": ") and text in r["msg"], (index, r)
        # the result (the invocation included) and what the run showed
        assert not any(secret in json.dumps(r.result) + r.stdout + r.stderr for secret in SECRETS), r
    assert emulator.stats()["total"] == 0


def test_the_lookup_rejects_every_case_before_any_request(ansible, emulator):
    for index, (options, option, text) in enumerate(CASES):
        settings = dict(ansible.connection(), **with_region(options))
        r = ansible.module(
            "ansible.builtin.debug",
            extra_vars={"opts": dict((k, v) for k, v in settings.items() if v is not None)},
            msg="{{ query('alicloud.kms.keys', **opts) }}",
        )
        assert r.failed and (option + ": ") in r["msg"] and text in r["msg"], (index, r)
        assert not any(secret in json.dumps(r.result) for secret in SECRETS), r
    assert emulator.stats()["total"] == 0


@pytest.mark.parametrize("index", range(len(CASES)))
def test_the_inventory_rejects_every_case_before_any_request(ansible, emulator, index):
    options, option, text = CASES[index]
    settings = with_region(options)
    if "region" in settings and "regions" not in settings:
        settings = dict(settings, regions=None)
    path = inventory(ansible, **dict((k, v) for k, v in settings.items()))
    config = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(dict((k, v) for k, v in config.items() if v is not None)))
    environment = inventory_env(ansible)
    if "access_key_id" in options:  # the case is about the pair: take both halves from the file only
        del environment["ALICLOUD_ACCESS_KEY"], environment["ALICLOUD_SECRET_KEY"]
    proc = ansible.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list"], env=environment)
    assert proc.returncode != 0
    assert mentions(proc.stderr, option + ":", text, path.name), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not any(secret in proc.stdout + proc.stderr for secret in SECRETS)
    assert emulator.stats()["total"] == 0
