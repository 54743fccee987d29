# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The three ways of getting KMS keys the benchmark compares; each returns what it found, for checking."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_kms20160120.client import Client as OfficialClient
from alibabacloud_resourcemanager20200331 import models as rm_models
from alibabacloud_resourcemanager20200331.client import Client as RmClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import utils_models

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".collections"
BIN = Path(sys.executable).parent

for _path in (str(COLLECTIONS), str(ROOT / "tests")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from ansible_collections.alicloud.kms.plugins.module_utils._keys import list_keys  # noqa: E402
from emulator.seeding import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, DEMO_ACCOUNT_ID  # noqa: E402

DEMO_KEY = (DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)


def connection(url, **options):
    """Module/core options that reach every region through the emulator."""
    return dict(access_key_id=DEMO_KEY[0], access_key_secret=DEMO_KEY[1], protocol="http", http_proxy=url, **options)


def core(url, **options):
    """This collection's core, called directly: a list of key records."""
    return list_keys(connection(url, **options), environ={}).records


def playbook(url, workdir, expected, **options):
    """A whole ansible-playbook run of key_info; fails unless it returns `expected` keys."""
    run_playbook(
        workdir,
        [
            {"name": "List keys", "alicloud.kms.key_info": connection(url, **options), "register": "kms"},
            {
                "name": "Count them",
                "ansible.builtin.assert": {"that": ["kms['keys'] | length == %d" % expected], "quiet": True},
            },
        ],
    )
    return expected


def compliance_playbook(url, workdir, policy, gather_only=False, **options):
    """(g): the compliance role over the keys options name, writing its reports into workdir; or, with gather_only,
    a key_facts task that gathers what the role does for that policy (the same requests: its plan comes from the same
    filter, and the role gathers aliases by default)."""
    defaults = {"module_defaults": {"group/alicloud.kms.kms": connection(url)}}
    if gather_only:
        tasks = [
            {
                "name": "Gather what the policy needs",
                "vars": {"plan": "{{ policy | alicloud.kms.kms_compliance_plan }}", "policy": policy},
                "alicloud.kms.key_facts": dict(
                    options,
                    facets="{{ plan.facets }}",
                    details="{{ plan.details }}",
                    aliases=True,
                    tags="{{ plan.tags }}",
                    key_policy="{{ plan.key_policy }}",
                    strict_permissions=False,
                ),
            }
        ]
    else:
        role_vars = {"kms_compliance_policy": policy, "kms_compliance_report_dir": str(Path(workdir) / "report")}
        role_vars.update(("kms_compliance_" + name, value) for name, value in options.items())
        role_vars["kms_compliance_fail_on_violation"] = False
        tasks = [
            {
                "name": "Check the keys",
                "ansible.builtin.include_role": {"name": "alicloud.kms.compliance"},
                "vars": role_vars,
            }
        ]
    run_playbook(workdir, tasks, **defaults)


def run_playbook(workdir, tasks, **play):
    """ansible-playbook of one play on localhost; raises with its output unless it succeeds."""
    book, hosts = Path(workdir) / "bench.yml", Path(workdir) / "hosts.ini"
    book.write_text(
        yaml.safe_dump(
            [dict(name="bench", hosts="localhost", gather_facts=False, tasks=tasks, **play)], sort_keys=False
        )
    )
    hosts.write_text("localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("ALICLOUD_", "ALIBABA_CLOUD_", "ANSIBLE_")))
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_HOME=str(Path(workdir) / "home"),
        ANSIBLE_LOCAL_TEMP=str(Path(workdir) / "tmp"),
        ANSIBLE_NOCOLOR="1",
        PATH="%s%s%s" % (BIN, os.pathsep, env.get("PATH", "")),
    )
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(hosts), str(book)],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(
            "ansible-playbook failed (rc %d):\n%s%s" % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
        )
    return proc


def new_workdir():
    return tempfile.mkdtemp(prefix="kms-bench-")


class Sequential(object):
    """The loop users write with the official alibabacloud_kms20160120 client: one request after another."""

    def __init__(self, url):
        self.url = url
        self.clients = {}

    def client(self, region):
        if region not in self.clients:
            self.clients[region] = OfficialClient(
                utils_models.Config(
                    access_key_id=DEMO_KEY[0],
                    access_key_secret=DEMO_KEY[1],
                    region_id=region,
                    protocol="http",
                    http_proxy=self.url,
                )
            )
        return self.clients[region]

    def list(self, region, page_size=100):
        """Every key's ARN in a region, page after page."""
        arns, page = [], 1
        while True:
            body = self.client(region).list_keys(kms_models.ListKeysRequest(page_number=page, page_size=page_size)).body
            arns += [k.key_arn for k in body.keys.key]
            if page * page_size >= body.total_count:
                return arns
            page += 1

    def aliases_and_tags(self, region):
        """ListKeys, then ListAliasesByKeyId and ListResourceTags for each key: {key_id: (aliases, tags)}."""
        found = {}
        for arn in self.list(region):
            key_id = arn.rsplit("/", 1)[1]
            client = self.client(region)
            aliases = client.list_aliases_by_key_id(kms_models.ListAliasesByKeyIdRequest(key_id=key_id, page_size=100))
            tags = client.list_resource_tags(kms_models.ListResourceTagsRequest(key_id=key_id)).body.tags.tag
            found[key_id] = (
                [a.alias_name for a in aliases.body.aliases.alias],
                dict((t.tag_key, t.tag_value) for t in tags),
            )
        return found

    def describe_all(self, region):
        """ListKeys, then DescribeKey for each key: {key_id: KeyMetadata as a dict}."""
        found = {}
        for arn in self.list(region):
            metadata = (
                self.client(region)
                .describe_key(kms_models.DescribeKeyRequest(key_id=arn.rsplit("/", 1)[1]))
                .body.key_metadata
            )
            found[metadata.key_id] = metadata.to_map()
        return found


class Organisation(object):
    """The organisation loop with the official clients: ListAccounts, then per member AssumeRole and per region ListKeys."""

    def __init__(self, url):
        self.url = url

    def config(self, endpoint=None, region="cn-hangzhou", **credentials):
        credentials = credentials or dict(access_key_id=DEMO_KEY[0], access_key_secret=DEMO_KEY[1])
        return utils_models.Config(
            region_id=region, protocol="http", http_proxy=self.url, endpoint=endpoint, **credentials
        )

    def list(self, regions):
        directory, members, page = RmClient(self.config("resourcemanager.aliyuncs.com")), [], 1
        while True:
            body = directory.list_accounts(rm_models.ListAccountsRequest(page_number=page, page_size=100)).body
            members += [a.account_id for a in body.accounts.account if a.account_id != DEMO_ACCOUNT_ID]
            if page * 100 >= body.total_count:
                break
            page += 1
        sts = StsClient(self.config("sts.aliyuncs.com"))
        arns = []
        for account in members:
            role = "acs:ram::%s:role/ResourceDirectoryAccountAccessRole" % account
            issued = sts.assume_role(
                sts_models.AssumeRoleRequest(role_arn=role, role_session_name="bench")
            ).body.credentials
            credentials = dict(
                access_key_id=issued.access_key_id,
                access_key_secret=issued.access_key_secret,
                security_token=issued.security_token,
            )
            for region in regions:
                client, page = OfficialClient(self.config(region=region, **credentials)), 1
                while True:
                    body = client.list_keys(kms_models.ListKeysRequest(page_number=page, page_size=100)).body
                    arns += [k.key_arn for k in body.keys.key]
                    if page * 100 >= body.total_count:
                        break
                    page += 1
        return arns
