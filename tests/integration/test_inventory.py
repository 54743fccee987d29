"""The keys inventory plugin through the real ansible-inventory and ansible-playbook."""

from __future__ import annotations

import shutil

import yaml
from ansible.release import __version__ as ANSIBLE_VERSION

from conftest import BIN, ROOT, inventory, inventory_env, listing, mentions, truth


def test_one_host_per_key_grouped_by_region_and_keyed_groups(ansible, emulator):
    path = inventory(
        ansible,
        facets=["key_state", "key_spec"],
        keyed_groups=[{"key": "key_state", "prefix": "state"}, {"key": "key_spec", "prefix": "spec"}],
        groups={"signing": "key_spec.startswith('RSA') or key_spec.startswith('EC')"},
        compose={"short_id": "key_id[:8]"},
    )
    proc, inv = listing(ansible, path)
    assert proc.returncode == 0, proc.stderr
    keys = truth(emulator, "cn-hangzhou") + truth(emulator, "cn-shanghai")
    hostvars = inv["_meta"]["hostvars"]
    assert sorted(inv["alicloud_kms_keys"]["hosts"]) == sorted(k.key_id for k in keys)
    assert sorted(inv["region_cn_shanghai"]["hosts"]) == sorted(k.key_id for k in truth(emulator, "cn-shanghai"))
    pending = [k.key_id for k in keys if k.key_state == "PendingDeletion"]
    assert sorted(inv["state_PendingDeletion"]["hosts"]) == sorted(pending)
    assert sorted(inv["signing"]["hosts"]) == sorted(k.key_id for k in keys if k.key_spec.startswith(("RSA", "EC")))
    first = keys[0]
    assert hostvars[first.key_id]["key_arn"] == first.arn
    assert hostvars[first.key_id]["key_state"] == first.key_state
    assert hostvars[first.key_id]["short_id"] == first.key_id[:8]
    assert hostvars[first.key_id]["ansible_connection"] == "local"


def test_graph_and_hostname_by_arn(ansible, emulator):
    path = inventory(ansible, regions=["ap-southeast-1"], hostname="key_arn")
    proc = ansible.run([str(BIN / "ansible-inventory"), "-i", str(path), "--graph"], env=inventory_env(ansible))
    assert proc.returncode == 0, proc.stderr
    assert "@region_ap_southeast_1:" in proc.stdout
    assert all(k.arn in proc.stdout for k in truth(emulator, "ap-southeast-1"))


def test_cached_runs_send_nothing_and_a_flushed_cache_reads_again(ansible, emulator):
    cache = ansible.tmp / "cache"
    path = inventory(ansible, cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(cache))
    first = listing(ansible, path)[1]
    sent = emulator.stats()["total"]
    assert sent > 0
    assert listing(ansible, path)[1] == first
    assert emulator.stats()["total"] == sent
    if tuple(int(part) for part in ANSIBLE_VERSION.split(".")[:2]) >= (2, 19):
        assert listing(ansible, path, "--flush-cache")[1] == first
    else:  # ansible-inventory has no --flush-cache before 2.19
        shutil.rmtree(cache)
        assert listing(ansible, path)[1] == first
    assert emulator.stats()["total"] > sent


def test_a_denied_region_fails_by_default(ansible, emulator):
    emulator.set_faults(deny_regions=["cn-shanghai"])
    proc, _inv = listing(ansible, inventory(ansible))
    assert proc.returncode != 0
    assert mentions(proc.stderr, "Forbidden.NoPermission", "cn-shanghai", "RequestId"), proc.stderr


def test_a_denied_region_is_skipped_with_a_warning_when_not_strict(ansible, emulator):
    emulator.set_faults(deny_regions=["cn-shanghai"])
    proc, inv = listing(ansible, inventory(ansible, strict_permissions=False))
    assert proc.returncode == 0, proc.stderr
    assert sorted(inv["alicloud_kms_keys"]["hosts"]) == sorted(k.key_id for k in truth(emulator, "cn-hangzhou"))
    assert mentions(proc.stderr, "skipped region cn-shanghai", "Forbidden.NoPermission"), proc.stderr


def test_bad_options_name_the_file_and_the_option(ansible, emulator):
    for config, message in [
        ({"key_state": ["Gone"]}, "key_state: unknown value 'Gone'"),
        ({"colour": "blue"}, "unknown option(s) colour"),
        ({"regions": ["cn-hangzhou", "Nowhere"]}, "regions: 'Nowhere' is not a region ID"),
        ({"keyed_groups": ["state"]}, "keyed_groups: every entry must be a dict"),
    ]:
        path = inventory(ansible, **config)
        proc, _inv = listing(ansible, path)
        assert proc.returncode != 0
        assert mentions(proc.stderr, message, path.name), proc.stderr
        assert "Traceback" not in proc.stderr
    assert emulator.stats()["total"] == 0


def test_a_play_runs_over_the_keys(ansible, emulator):
    path = inventory(ansible, regions=["cn-shanghai"], facets=["key_state"])
    book = ansible.tmp / "over_keys.yml"
    book.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "per key",
                    "hosts": "alicloud_kms_keys",
                    "gather_facts": False,
                    "tasks": [
                        {"ansible.builtin.ping": None},
                        {
                            "ansible.builtin.lineinfile": {
                                "path": str(ansible.tmp / "report.txt"),
                                "create": True,
                                "line": "{{ inventory_hostname }} {{ key_state }}",
                            },
                            "throttle": 1,
                        },
                    ],
                }
            ]
        )
    )
    proc = ansible.run([str(BIN / "ansible-playbook"), "-i", str(path), str(book)], env=inventory_env(ansible))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = sorted((ansible.tmp / "report.txt").read_text().split("\n")[:-1])
    assert lines == sorted("%s %s" % (k.key_id, k.key_state) for k in truth(emulator, "cn-shanghai"))


def test_the_example_inventory_file_groups_by_region_and_facet(ansible, emulator):
    config = yaml.safe_load((ROOT / "playbooks" / "inventory" / "demo.kms_keys.yml").read_text())
    path = inventory(ansible, name="demo.kms_keys.yml", **config)
    proc = ansible.run([str(BIN / "ansible-inventory"), "-i", str(path), "--graph"], env=inventory_env(ansible))
    assert proc.returncode == 0, proc.stderr
    for group in (
        "@region_cn_hangzhou:",
        "@region_ap_southeast_1:",
        "@state_PendingDeletion:",
        "@spec_RSA_2048:",
        "@spec_Aliyun_SM4:",
        "@env_prod:",
    ):
        assert group in proc.stdout
    assert "|  |--alias/orders-db" in proc.stdout  # named by its alias


def test_service_text_is_never_rendered_by_the_inventory_nor_by_a_play_over_it(ansible, emulator):
    """Issue 21 item 1: on ansible-core 2.16-2.18 a template in a description or tag value ran when ansible-inventory
    built hosts (hostname, compose, keyed_groups) and again when a play used the hostvar. Item 14: the record's tags
    are the hostvar key_tags (tags is a name Ansible reserves)."""
    canary = ansible.tmp / "canary"
    text = "{{ lookup('pipe', 'touch %s') }}" % canary
    key = truth(emulator, "cn-hangzhou")[0]
    emulator.update_key("cn-hangzhou", key.key_id, description=text, tags={"env": text})
    path = inventory(
        ansible,
        regions=["cn-hangzhou"],
        details=True,
        tags=True,
        hostname="{{ key_id if description ~ key_tags.get('env', '') is string else 'x' }}",
        compose={"desc": "description", "env": "key_tags.env | default('')"},
        keyed_groups=[{"key": "key_tags.env", "prefix": "env"}, {"key": "description", "prefix": "d"}],
        groups={"templated": "'lookup' in description"},
    )
    proc, data = listing(ansible, path)
    assert proc.returncode == 0, proc.stderr
    host = data["_meta"]["hostvars"][key.key_id]
    assert host["description"] == host["desc"] == host["env"] == host["key_tags"]["env"] == text
    assert "tags" not in host and "reserved" not in proc.stderr
    assert key.key_id in data["templated"]["hosts"]
    playbook = ansible.tmp / "over_keys.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Use the hostvars",
                    "hosts": key.key_id,
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Show",
                            "ansible.builtin.debug": {"msg": "{{ description }} {{ desc }} {{ key_tags }}"},
                        },
                        {
                            "name": "Literal",
                            "ansible.builtin.assert": {"that": ["description == desc", "key_tags.env == desc"]},
                        },
                    ],
                }
            ]
        )
    )
    run = ansible.run([str(BIN / "ansible-playbook"), "-i", str(path), str(playbook)], env=inventory_env(ansible))
    assert run.returncode == 0, run.stdout + run.stderr
    assert not canary.exists()


def test_a_host_name_that_ansible_would_template_fails_naming_the_key(ansible, emulator):
    """Issue 21 item 1: a hostname built from service text must not carry template delimiters into inventory_hostname."""
    key = truth(emulator, "cn-hangzhou")[0]
    emulator.update_key("cn-hangzhou", key.key_id, description="{{ 7 * 7 }}")
    proc, _data = listing(ansible, inventory(ansible, regions=["cn-hangzhou"], details=True, hostname="description"))
    assert proc.returncode != 0
    assert mentions(proc.stderr, "hostname", key.key_id, "braces")
