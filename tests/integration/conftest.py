"""Fixtures that run the real ansible CLIs against the real KMS emulator, and the official SDK's clients of it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from alibabacloud_kms20160120.client import Client
from alibabacloud_tea_openapi.models import Config, OpenApiRequest, Params
from darabonba.runtime import RuntimeOptions

from emulator.seeding import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET
from emulator.server import Emulator

ROOT = Path(__file__).resolve().parents[2]
DEMO_SEED = ROOT / "tests" / "emulator" / "seeds" / "demo.yml"
DEMO_KEY = (DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
BIN = Path(sys.executable).parent
# where alicloud.kms is this tree: the Makefile's .collections, or the matrix's staged copy (pytest.ini's
# pytest-ansible puts it on sys.path); every ansible command the tests run gets the same path
COLLECTIONS = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or str(ROOT / ".collections")
# the compliance role's JSON report schema
SCHEMA = json.loads((ROOT / "roles" / "compliance" / "files" / "kms-compliance.schema.json").read_text())
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"


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


class Run(object):
    """One ansible run: its exit code and output, and for an ad-hoc module its result as the tree callback wrote it.

    The tree file holds the module's own return values (on failure too: msg, error, ...); whether it failed is the
    CLI's exit code, as ansible-core 2.19 leaves the failed flag out of that file.
    """

    def __init__(self, proc, result=None):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.result = result or {}
        self.failed = proc.returncode != 0

    def __getitem__(self, name):
        return self.result[name]

    def get(self, name, default=None):
        return self.result.get(name, default)

    def __repr__(self):
        return "Run(rc=%d, result=%r, stderr=%r)" % (self.rc, self.result, self.stderr[-2000:])


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

    def extra_vars(self, variables):
        """-e @file for variables (JSON keeps their types: a number stays a number)."""
        path = self.tmp / "vars.json"
        path.write_text(json.dumps(variables))
        return ["-e", "@%s" % path]

    def module(self, name, check=False, env=None, flags=(), extra_vars=None, **args):
        """name (alicloud.kms's when bare, with the emulator's connection under args) run by the ad-hoc ansible CLI on
        localhost, its result read from the tree callback's file; flags: more command-line arguments."""
        if "." not in name:
            name, args = "alicloud.kms." + name, self.connection(**args)
        tree = self.tmp / "tree"
        shutil.rmtree(str(tree), ignore_errors=True)
        command = [str(BIN / "ansible"), "localhost", "-i", str(self.inventory), "-m", name, "-a", json.dumps(args)]
        command += (["--check"] if check else []) + (self.extra_vars(extra_vars) if extra_vars else []) + list(flags)
        # the tree callback through configuration: the --tree flag is deprecated, and ad-hoc runs load no callbacks
        # unless told to
        settings = {
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.tree",
            "ANSIBLE_CALLBACK_TREE_DIR": str(tree),
        }
        proc = self.run(command, env=dict(settings, **(env or {})))
        written = tree / "localhost"
        return Run(proc, json.loads(written.read_text()) if written.exists() else None)

    def playbook(self, name, extra_vars=None, args=(), env=None):
        """tests/integration/playbooks/<name> run by ansible-playbook; the playbook asserts its own expectations."""
        command = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(PLAYBOOKS / name)]
        command += (self.extra_vars(extra_vars) if extra_vars else []) + list(args)
        return Run(self.run(command, env=env))

    def role(
        self, policy, exempt=(), fail=False, report_dir=None, role=None, connection=None, args=(), env=None, **variables
    ):
        """The compliance role (compliance_role.yml) with kms_compliance_<name> for each of variables that is not None;
        returns (the run, the JSON report or None). Without report_dir, a fresh tmp/report; with one, it as it is.
        connection: overrides of the emulator's (a None drops a setting), or False for none (the environment's)."""
        if report_dir is None:
            report_dir = self.tmp / "report"
            shutil.rmtree(report_dir, ignore_errors=True)
        extra = dict(("kms_compliance_" + name, value) for name, value in variables.items() if value is not None)
        extra.update(
            kms_compliance_policy=policy,
            kms_compliance_report_dir=str(report_dir),
            kms_compliance_fail_on_violation=fail,
            kms_compliance_exempt_keys=list(exempt),
        )
        if connection is not False:
            extra["kms_connection"] = self.connection(**(connection or {}))
        if role:
            extra["role_name"] = role
        run = self.playbook("compliance_role.yml", extra, args=args, env=env)
        path = Path(report_dir) / "kms-compliance.json"
        return run, (json.loads(path.read_text()) if str(report_dir).strip() and path.exists() else None)


def checks_of(report):
    """Every check of a role's run, key by key and rule by rule: the public filter over its JSON report's keys, policy
    and time (the same input gives the same output), since the role's fact leaves the checks to the reports."""
    # imported here: pytest-ansible puts the collection on sys.path after conftest files are loaded
    from ansible_collections.alicloud.kms.plugins.filter.compliance import kms_compliance_report

    return kms_compliance_report(
        report["keys"],
        report["policy"],
        now=report["generated_at"],
        secrets=report.get("secrets"),
        instances=report.get("instances"),
    )["checks"]


def run_ids(report_dir):
    """The run_id each of the three reports carries (every JUnit testsuite must carry the same)."""
    report = json.loads((report_dir / "kms-compliance.json").read_text())
    root = ElementTree.parse(report_dir / "kms-compliance.xml").getroot()
    junit = {p.get("value") for p in root.iter("property") if p.get("name") == "run_id"}
    assert len(junit) == 1 and len(root.findall("testsuite")) == len(list(root.iter("properties")))
    html = (report_dir / "kms-compliance.html").read_text()
    header = re.findall(r'data-run-id="([^"]*)"', html)
    assert len(header) == 1 and header[0] in html.split('id="run-id">', 1)[1][:40]
    return report["run_id"], junit.pop(), header[0]


# --- the HTML report in a real browser ------------------------------------------------------------------------
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail(
            "Chromium is not installed: .ci/run installs Debian's chromium package, so CI tests the HTML report in a browser"
        )
    if not shutil.which("apt-get"):
        pytest.skip(
            "Chromium is not installed and apt-get is unavailable here, so the HTML report cannot be opened in a "
            "browser; install Debian's chromium package to run this test"
        )
    pytest.skip(
        "Chromium is not installed: run `apt-get install -y chromium` (.ci/run does) to test the HTML report in a browser"
    )


def browse(page, tmp, *args):
    proc = subprocess.run(
        [chromium()]
        + CHROMIUM_FLAGS
        + ["--user-data-dir=%s" % (tmp / "chromium-profile")]
        + list(args)
        + [page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], "the page logged to the console: %s" % console
    return proc


# --- the official SDK's clients of the emulator ------------------------------------------------------------------
def sdk_config(emu, region=None, key=None, via="proxy", v1=False, **config):
    """An official client's Config for emu: key is (id, secret) or (id, secret, security token), by default the
    emulator's first; via "proxy" keeps the service's own endpoint behind the emulator as HTTP proxy, else the emulator
    is the endpoint; v1: the V1 (HMAC-SHA1) signature."""
    key_id, secret, token = (tuple(key or emu.access_key) + (None,))[:3]
    settings = {
        "access_key_id": key_id,
        "access_key_secret": secret,
        "security_token": token,
        "region_id": region,
        "protocol": "http",
        "signature_algorithm": "v2" if v1 else None,
    }
    settings.update({"http_proxy": emu.url} if via == "proxy" else {"endpoint": "127.0.0.1:%d" % emu.port})
    settings.update(config)
    return Config(**settings)


def kms_client(emu, region="cn-hangzhou", **options):
    """The official KMS client of emu in region (options: sdk_config's)."""
    return Client(sdk_config(emu, region, **options))


def rpc(sdk, action, query, version="2016-01-20", protocol="HTTPS"):
    """action through the generic call_api path, as the collection sends it, with query as given (the typed models
    would not let tests send some values); returns the reply's body."""
    params = Params(
        action=action,
        version=version,
        protocol=protocol,
        pathname="/",
        method="POST",
        auth_type="AK",
        style="RPC",
        req_body_type="formData",
        body_type="json",
    )
    return sdk.call_api(params, OpenApiRequest(query=query), RuntimeOptions())["body"]


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
        "ANSIBLE_INVENTORY_ENABLED": "alicloud.kms.keys,alicloud.kms.accounts",  # each takes its own file names
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
