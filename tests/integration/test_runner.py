"""The collection under ansible-runner, laid out the way AWX lays out a job's private data dir.

AWX (and Ansible Automation Platform) never calls ansible-playbook itself: it writes a private
data dir (env/envvars with the credentials it injects, env/extravars, env/settings, inventory/,
project/ with the project's checkout, requirements_collections/ with the project's collections)
and runs ``ansible-runner run``; what it shows comes from the job events in artifacts/. These
tests do the same against the KMS emulator and read the same events.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from conftest import BIN, DEMO_KEY, ROOT, listing

RUNNER = BIN / "ansible-runner"

pytestmark = pytest.mark.skipif(
    not RUNNER.exists(), reason="ansible-runner is not installed in %s (pip install -r requirements-dev.txt)" % BIN
)


def report_playbook():
    """playbooks/inventory_report.yml, or playbooks/demo.yml in a tree that does not have it yet."""
    for name in ("inventory_report.yml", "demo.yml"):
        if (ROOT / "playbooks" / name).exists():
            return name
    raise AssertionError("neither playbooks/inventory_report.yml nor playbooks/demo.yml exists")


def private_data_dir(ansible, inventory, extravars=None, name="pdd"):
    """A private data dir as AWX writes one; returns its path."""
    pdd = ansible.tmp / name
    (pdd / "env").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    # the project checkout (AWX copies the SCM project here and runs the playbook from it)
    shutil.copytree(str(ROOT / "playbooks"), str(pdd / "project"))
    # the collections the project needs (AWX installs collections/requirements.yml here)
    link = pdd / "requirements_collections" / "ansible_collections" / "alicloud" / "kms"
    link.parent.mkdir(parents=True)
    os.symlink(str(ROOT), str(link))
    envvars = {
        # the credential AWX injects, and where the project's collections are
        "ALICLOUD_ACCESS_KEY": DEMO_KEY[0],
        "ALICLOUD_SECRET_KEY": DEMO_KEY[1],
        "ANSIBLE_COLLECTIONS_PATH": str(pdd / "requirements_collections"),
        "KMS_EMULATOR_URL": ansible.emu.url,
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    }
    (pdd / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars or {}))
    (pdd / "env" / "settings").write_text(
        yaml.safe_dump({"job_timeout": 240, "idle_timeout": 120, "suppress_ansible_output": False})
    )
    for name, content in inventory.items():
        (pdd / "inventory" / name).write_text(content)
    return pdd


def run(ansible, pdd, playbook, ident):
    """ansible-runner run PDD -p PLAYBOOK; returns (process, status, rc, events in order)."""
    env = ansible.env()
    # nothing from this process: the job gets its collections and credentials from env/envvars only
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    proc = subprocess.run(
        [str(RUNNER), "run", str(pdd), "-p", playbook, "--ident", ident],
        env=env,
        cwd=str(ansible.tmp),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    artifacts = pdd / "artifacts" / ident
    status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else None
    rc = (artifacts / "rc").read_text().strip() if (artifacts / "rc").exists() else None
    events = [json.loads(path.read_text()) for path in (artifacts / "job_events").glob("*.json")]
    events.sort(key=lambda event: event["counter"])
    return proc, status, rc, events


def stats(events):
    final = [event for event in events if event["event"] == "playbook_on_stats"]
    assert len(final) == 1, [event["event"] for event in events]
    return final[0]["event_data"]


def key_ids_listed(events):
    """key IDs from the first alicloud.kms.key_info/key_facts result among the job events, or the keys of the JSON
    report an alicloud.kms.compliance_check result names (the compliance role's step)."""
    for event in events:
        data = event.get("event_data", {})
        if event["event"] != "runner_on_ok":
            continue
        res = data.get("res", {})
        if data.get("task_action") in ("alicloud.kms.key_info", "alicloud.kms.key_facts"):
            return res.get("key_ids") or res.get("ansible_facts", {}).get("alicloud_kms_key_ids")
        if data.get("task_action") == "alicloud.kms.compliance_check":
            report = json.loads(Path(res["reports"]["kms-compliance.json"]).read_text())
            return [key["key_id"] for key in report["keys"]]
    raise AssertionError("no alicloud.kms.key_info, key_facts or compliance_check result among the job events")


def all_keys(emulator, regions=None):
    account = emulator.backend.default_account
    return [key for region, keys in account.keys.items() if regions is None or region in regions for key in keys]


def test_the_report_playbook_runs_under_ansible_runner_like_an_awx_job(ansible, emulator):
    playbook = report_playbook()
    host = "localhost ansible_connection=local ansible_python_interpreter=%s\n" % BIN.joinpath("python")
    # AWX passes the job template's extra variables in env/extravars
    reports = ansible.tmp / "reports"
    pdd = private_data_dir(ansible, {"hosts": host}, extravars={"kms_compliance_report_dir": str(reports)})
    proc, status, rc, events = run(ansible, pdd, playbook, "report")
    assert (status, rc) == ("successful", "0"), proc.stdout[-4000:] + proc.stderr[-2000:]

    summary = stats(events)
    assert summary["failures"] == {} and summary["dark"] == {}
    assert summary["ok"].get("localhost", 0) >= 2
    assert {event["event"] for event in events} >= {
        "playbook_on_start",
        "playbook_on_play_start",
        "playbook_on_task_start",
        "runner_on_ok",
    }
    if playbook == "inventory_report.yml":
        # regions: all -> every region DescribeRegions returns; one summary line per region with keys
        expected = all_keys(emulator)
        lines = [
            event["event_data"]["res"]["msg"]
            for event in events
            if event["event"] == "runner_item_on_ok" and "msg" in event["event_data"].get("res", {})
        ]
        for region in sorted({key.region for key in expected}):
            count = len([key for key in expected if key.region == region])
            assert any(line.startswith("%s: %d key(s)" % (region, count)) for line in lines), (region, count, lines)
        # the report the play wrote where the extra variable said
        assert json.loads((reports / "kms-compliance.json").read_text())["summary"]["key_count"] == len(expected)
    else:
        expected = all_keys(emulator, ["cn-hangzhou", "cn-shanghai", "ap-southeast-1"])
    assert sorted(key_ids_listed(events)) == sorted(key.key_id for key in expected)
    # the job's stdout (what AWX shows) is in the artifacts, and carries no secret
    stdout = (pdd / "artifacts" / "report" / "stdout").read_text()
    assert "PLAY RECAP" in stdout and DEMO_KEY[1] not in stdout
    assert DEMO_KEY[1] not in json.dumps(events)


def test_the_inventory_plugin_feeds_a_job_under_ansible_runner(ansible, emulator):
    regions = ["cn-hangzhou", "cn-shanghai"]
    config = {
        "plugin": "alicloud.kms.keys",
        "regions": regions,
        "protocol": "http",
        "http_proxy": ansible.emu.url,
        "facets": ["key_state"],
        "keyed_groups": [{"key": "key_state", "prefix": "state"}],
    }
    pdd = private_data_dir(ansible, {"kms.kms_keys.yml": yaml.safe_dump(config)})
    (pdd / "project" / "over_keys.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "every key",
                    "hosts": "alicloud_kms_keys",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "state",
                            "ansible.builtin.debug": {
                                "msg": "{{ region }} {{ key_state }} {{ group_names | sort | join(',') }}"
                            },
                        }
                    ],
                }
            ]
        )
    )
    proc, status, rc, events = run(ansible, pdd, "over_keys.yml", "inventory")
    assert (status, rc) == ("successful", "0"), proc.stdout[-4000:] + proc.stderr[-2000:]

    expected = dict((key.key_id, key) for key in all_keys(emulator, regions))
    results = dict(
        (event["event_data"]["host"], event["event_data"]["res"]["msg"])
        for event in events
        if event["event"] == "runner_on_ok"
    )
    assert sorted(results) == sorted(expected)
    for key_id, msg in results.items():
        key = expected[key_id]
        groups = ["alicloud_kms_keys", "region_%s" % key.region.replace("-", "_"), "state_%s" % key.key_state]
        groups = sorted(groups + ["account_%s" % key.account_id])
        assert msg == "%s %s %s" % (key.region, key.key_state, ",".join(groups))
    summary = stats(events)
    assert summary["failures"] == {} and sorted(summary["ok"]) == sorted(expected)


# --- past one controller (issue 25): AWX job slicing over the accounts inventory, then the merge ----------------------

SLICE_POLICY = {
    "forbidden_states": ["PendingDeletion"],
    "require_rotation": True,
    "secret_require_rotation": True,
    "instance_require_multi_zone": True,
}
SLICE_REGIONS = ["cn-hangzhou", "cn-shanghai", "ap-southeast-1"]
SLICE_EXEMPT = [
    {"key_id": "56a09368-9b33-553e-9f7d-b19a138a5083", "reason": "SEC-2211: deletion approved"},
    {"secret_name": "payments/replica-polardb", "reason": "DB-3: rotation function pending"},
    {"instance_id": "kst-nowhere0000000000000000", "reason": "OPS-9: an instance no slice has"},
]


def _sorted(entries):
    return sorted(entries, key=lambda e: json.dumps(e, sort_keys=True))


def _same_run(report):
    """The report less what differs between two runs that read the same: the service's request IDs."""
    text = json.dumps(report)
    return json.loads(re.sub(r'"request_id": "[^"]*"', '"request_id": "-"', text))


def test_slices_run_in_parallel_as_awx_job_slicing_and_merge_into_the_report_of_one_run(ansible, emulator):
    # AWX syncs the inventory source into its database, then job slicing gives slice k of n the hosts k, k+n, ...
    source = ansible.tmp / "org.kms_accounts.yml"
    source.write_text(
        yaml.safe_dump({"plugin": "alicloud.kms.accounts", "protocol": "http", "http_proxy": ansible.emu.url})
    )
    proc, synced = listing(ansible, source)
    assert proc.returncode == 0, proc.stderr
    hosts = synced["kms_accounts"]["hosts"]
    assert len(hosts) >= 4, synced
    vars_file = ansible.tmp / "policy.yml"
    vars_file.write_text(
        yaml.safe_dump(
            {
                "kms_compliance_policy": SLICE_POLICY,
                "kms_compliance_regions": SLICE_REGIONS,
                "kms_compliance_exempt_keys": SLICE_EXEMPT,
            }
        )
    )
    slices_dir, count = ansible.tmp / "slices", 3
    pdds = []
    for index in range(count):
        part = dict(
            (h, dict(synced["_meta"]["hostvars"][h], ansible_python_interpreter=str(BIN / "python")))
            for h in hosts[index::count]
        )
        inventory = {"hosts.yml": yaml.safe_dump({"all": {"children": {"kms_accounts": {"hosts": part}}}})}
        extravars = {"kms_compliance_vars_file": str(vars_file), "kms_compliance_slices_dir": str(slices_dir)}
        pdds.append(private_data_dir(ansible, inventory, extravars, name="slice%d" % index))
    with ThreadPoolExecutor(max_workers=count) as pool:  # separate processes, at once, as AWX's execution nodes
        jobs = list(pool.map(lambda i: run(ansible, pdds[i], "compliance_accounts.yml", "slice%d" % i), range(count)))
    for proc, status, rc, _events in jobs:
        assert (status, rc) == ("successful", "0"), proc.stdout[-4000:] + proc.stderr[-2000:]
    accounts = sorted(synced["_meta"]["hostvars"][h]["account_id"] for h in hosts)
    assert sorted(p.name for p in slices_dir.iterdir()) == accounts

    # the workflow's next node: the merge, under ansible-runner too
    merged_dir = ansible.tmp / "merged"
    pdd = private_data_dir(
        ansible,
        {"hosts": "localhost ansible_connection=local ansible_python_interpreter=%s\n" % BIN.joinpath("python")},
        {"kms_compliance_merge_dirs": [str(slices_dir / "*")], "kms_compliance_report_dir": str(merged_dir)},
        name="merge",
    )
    requests = emulator.stats()["total"]
    proc, status, rc, _events = run(ansible, pdd, "compliance_merge.yml", "merge")
    merged = json.loads((merged_dir / "kms-compliance.json").read_text())
    assert merged["verdict"] != "compliant" and (status, rc) == ("failed", "2"), proc.stdout[-3000:]
    assert emulator.stats()["total"] == requests  # the merge reads files, not the service

    # one run over the same accounts
    result, single = ansible.role(SLICE_POLICY, SLICE_EXEMPT, regions=SLICE_REGIONS, accounts=accounts)
    assert result.rc == 0, result.stdout + result.stderr
    merged, single = _same_run(merged), _same_run(single)
    assert merged["not_assessed"], "the seed's members that cannot be read are part of the comparison"
    assert merged["verdict"] == single["verdict"]
    assert merged["summary"] == single["summary"]
    assert merged["policy"] == single["policy"] and merged["accounts"] == single["accounts"]
    for part in ("keys", "secrets", "instances", "violations", "exempted", "not_assessed"):
        assert _sorted(merged[part]) == _sorted(single[part]), part
    assert merged["unused_exemptions"] == single["unused_exemptions"] == ["kst-nowhere0000000000000000"]
    assert merged["accounts_requested"] == accounts and merged["regions_requested"] == SLICE_REGIONS
    assert merged["generated_at"] == min(
        json.loads((slices_dir / a / "kms-compliance.json").read_text())["generated_at"] for a in accounts
    )
