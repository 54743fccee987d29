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
    tasks = []
    for index, (options, _option, _text) in enumerate(CASES):
        module = "alicloud.kms.key_info" if index % 2 else "alicloud.kms.key_facts"
        tasks.append({module: with_region(options), "register": "r%d" % index, "ignore_errors": True})
    result = ansible.play(tasks, save=["r%d" % i for i in range(len(CASES))])
    for index, (_options, option, text) in enumerate(CASES):
        r = result["r%d" % index]
        assert r["failed"] and r["msg"].startswith(option + ": ") and text in r["msg"], (index, r["msg"])
        assert not any(secret in json.dumps(r) for secret in SECRETS), r  # the invocation included
    assert not any(secret in result.stdout + result.stderr for secret in SECRETS)
    assert emulator.stats()["total"] == 0


def test_the_lookup_rejects_every_case_before_any_request(ansible, emulator):
    tasks = []
    for index, (options, _option, _text) in enumerate(CASES):
        settings = dict(ansible.connection(), **with_region(options))
        tasks.append(
            {
                "ansible.builtin.set_fact": {"keys": "{{ query('alicloud.kms.keys', **opts) }}"},
                "vars": {"opts": dict((k, v) for k, v in settings.items() if v is not None)},
                "register": "r%d" % index,
                "ignore_errors": True,
            }
        )
    result = ansible.play(tasks, save=["r%d" % i for i in range(len(CASES))], defaults=False)
    for index, (_options, option, text) in enumerate(CASES):
        r = result["r%d" % index]
        assert r["failed"] and (option + ": ") in r["msg"] and text in r["msg"], (index, r["msg"])
        assert not any(secret in json.dumps(r) for secret in SECRETS), r
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
