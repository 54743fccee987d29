# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make bench: this collection (core and ansible-playbook) against a sequential loop over the official SDK.

python bench/run.py [--quick]    (or BENCH_QUICK=1) a tenth of the sizes, about a minute; the full run takes about 8.
python bench/run.py --only-g     scenario (g) alone: the compliance role at 20,000 keys.
python bench/run.py --only-i     scenario (i) alone: the role remediating rotation on 1,000 keys.
python bench/run.py --only-h     scenario (h) alone: 1,000 members x 4 regions under the STS quota, and its profile.

The emulator runs in its own process with 100 ms latency per request and the service's quota of 50 requests
per second per account and region (HTTP 429 beyond). Request counts come from the emulator. The quota-bound
limit of a row is the busiest region's successful requests / 50 per second, plus one latency. Timings are
printed and compared with the targets of issue 6; nothing here is a test.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.request
from importlib import metadata
from pathlib import Path

import yaml
from contestants import (
    DEMO_KEY,
    ROOT,
    Organisation,
    Sequential,
    compliance_playbook,
    core,
    new_workdir,
    playbook,
    run_playbook,
)

from ansible_collections.alicloud.kms.plugins.module_utils._argspec import ARGUMENT_SPEC
from ansible_collections.alicloud.kms.plugins.module_utils._records import METADATA_FIELDS
from utils.docs_tables import rst_table, write_generated  # tests/ is on sys.path through contestants

LATENCY, QPS = 0.1, 50
# each scenario's size: (full, quick)
SIZES = {
    "one": (10000, 1000),
    "each": (2500, 250),
    "attrs": (1000, 100),
    "memory": (100000, 10000),
    "org": ((100, 4, 10), (10, 4, 10)),
    "tagged": (1000, 100),
    "compliance": ((50, 400), (10, 200)),
    "remediate": (1000, 100),
    "scale": ((1000, 4, 1), (100, 4, 1)),
}
# (h): the STS quota (AssumeRole per calling account, Alibaba Cloud notice of 2022-08-29) and the latency of a nearby
# region; the emulator throttles AssumeRole beyond it as STS does
STS_QPS, SCALE_LATENCY = 100, 0.05
ORG_REGIONS = ["cn-hangzhou", "cn-shanghai", "cn-beijing", "cn-shenzhen"]  # the emulator's first four
ONE, FOUR, ATTRS, MEMORY, EMPTY = (
    "cn-hangzhou",
    ["cn-hongkong", "ap-southeast-1", "eu-central-1", "us-west-1"],
    "cn-shanghai",
    "cn-beijing",
    "cn-shenzhen",
)
SDK = "official SDK, sequential"
LOAD_AT_START = [0.0]


class EmulatorProcess(object):
    def __init__(self, size=None, accounts=None, world=None, latency=LATENCY, extra=()):
        if world:
            pass
        elif accounts:  # scenario (e): an organisation of MEMBERS:REGIONS:KEYS, each account-region with its quota
            world = ["--generate-accounts", accounts]
        else:
            world = [
                "--generate",
                ",".join(
                    ["%s=%d" % (ONE, size["one"]), "%s=%d" % (ATTRS, size["attrs"]), "%s=%d" % (MEMORY, size["memory"])]
                    + ["%s=%d" % (r, size["each"]) for r in FOUR]
                ),
            ]
        # its own process, as the real service is: no interpreter lock shared with the client
        self.command = (
            [sys.executable, "-m", "emulator"]
            + world
            + [
                "--latency-ms",
                str(latency * 1000),
                "--qps",
                str(QPS),
                "--log",
                os.devnull,
            ]
            + list(extra)
        )
        self.proc = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            text=True,  # pylint: disable=consider-using-with
            env=dict(os.environ, PYTHONPATH=str(ROOT / "tests")),
        )
        self.url = self.proc.stdout.readline().strip().rpartition(" ")[2]
        if not self.url.startswith("http"):
            raise RuntimeError("the emulator did not start: %s" % " ".join(self.command))

    def control(self, name, data=None):
        request = urllib.request.Request(
            self.url + "/_emulator/" + name, data=None if data is None else json.dumps(data).encode()
        )
        with urllib.request.urlopen(request) as reply:
            return json.loads(reply.read())

    def measure(self, scenario, who, func, bound=None):
        """Run func once from a clean slate (counters reset, token buckets full); one table row. bound: the
        least time the quota allows, when the busiest region's count does not give it (several accounts); 0: none
        that means anything (shown as -)."""
        self.control("reset", {})
        cpu = client_cpu()
        started = time.monotonic()
        result = func()
        wall = time.monotonic() - started
        cpu = client_cpu() - cpu
        stats = self.control("stats")
        per_region = {}
        for entry in stats["requests"]:
            if entry["status"] == 200:
                per_region[entry["region"]] = per_region.get(entry["region"], 0) + 1
        if bound is None:
            bound = max(per_region.values() or [0]) / float(QPS) + LATENCY
        row = {
            "scenario": scenario,
            "who": who,
            "requests": stats["total"],
            "throttled": stats["by_outcome"].get("429", 0),
            "wall": wall,
            "bound": bound,
            "in_flight": stats["max_in_flight"],
            "cpu_ms": 1000.0 * cpu / max(1, stats["total"]),
            "result": result,
            "by_action": stats["by_action"],
        }
        sys.stderr.write("  %-34s %-30s %6.2f s, %d requests\n" % (scenario, who, wall, row["requests"]))
        return row

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def client_cpu():
    """CPU seconds of this process (the core runs here) and of its finished children (ansible-playbook, the memory
    child), not of the emulator, which runs on until the scenario ends."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def check(ok, what):
    if not ok:
        raise SystemExit("wrong result: %s" % what)


def run_all(emu, size):
    rows, seq, work = [], Sequential(emu.url), new_workdir()
    # Start-up: what a playbook costs before the first key (one ListKeys of an empty region)
    rows.append(emu.measure("0 keys (start-up)", "core", lambda: core(emu.url, region=EMPTY)))
    rows.append(emu.measure("0 keys (start-up)", "ansible-playbook", lambda: playbook(emu.url, work, 0, region=EMPTY)))

    name = "(a) %d keys, 1 region" % size["one"]
    a_core = emu.measure(name, "core", lambda: core(emu.url, region=ONE))
    a_48 = emu.measure(name, "core, rate_limit 48", lambda: core(emu.url, region=ONE, rate_limit=48))
    a_play = emu.measure(name, "ansible-playbook", lambda: playbook(emu.url, work, size["one"], region=ONE))
    a_sdk = emu.measure(name, SDK, lambda: seq.list(ONE))
    check(
        sorted(r["key_arn"] for r in a_core["result"]) == sorted(a_sdk["result"])
        and len(a_sdk["result"]) == size["one"],
        name,
    )
    rows += [a_core, a_48, a_play, a_sdk]

    name = "(b0) %d keys, 1 region" % size["each"]
    b_one = emu.measure(name, "core", lambda: core(emu.url, region=FOUR[0]))
    check(len(b_one["result"]) == size["each"], name)
    name = "(b) 4 regions x %d keys" % size["each"]
    b_core = emu.measure(name, "core", lambda: core(emu.url, regions=FOUR))
    b_play = emu.measure(name, "ansible-playbook", lambda: playbook(emu.url, work, 4 * size["each"], regions=FOUR))
    b_sdk = emu.measure(name, SDK, lambda: [arn for region in FOUR for arn in seq.list(region)])
    check(
        sorted(r["key_arn"] for r in b_core["result"]) == sorted(b_sdk["result"])
        and len(b_sdk["result"]) == 4 * size["each"],
        name,
    )
    rows += [b_one, b_core, b_play, b_sdk]

    name = "(c) state+spec of %d keys" % size["attrs"]
    facets = ["key_state", "key_spec"]
    c_core = emu.measure(name, "core, facets", lambda: core(emu.url, region=ATTRS, facets=facets))
    c_play = emu.measure(
        name, "ansible-playbook, facets", lambda: playbook(emu.url, work, size["attrs"], region=ATTRS, facets=facets)
    )
    c_sdk = emu.measure(name, SDK + " + DescribeKey", lambda: seq.describe_all(ATTRS))
    truth = c_sdk["result"]
    check(
        len(truth) == size["attrs"]
        and all(
            (r["key_state"], r["key_spec"]) == (truth[r["key_id"]]["KeyState"], truth[r["key_id"]]["KeySpec"])
            for r in c_core["result"]
        )
        and len(c_core["result"]) == len(truth),
        name,
    )
    rows += [c_core, c_play, c_sdk]

    name = "(d) details of %d keys" % size["attrs"]
    d_core = emu.measure(name, "core, details", lambda: core(emu.url, region=ATTRS, details=True))
    d_play = emu.measure(
        name, "ansible-playbook, details", lambda: playbook(emu.url, work, size["attrs"], region=ATTRS, details=True)
    )
    check(
        len(d_core["result"]) == len(truth)
        and all(
            r[METADATA_FIELDS[k]] == v
            for r in d_core["result"]
            for k, v in truth[r["key_id"]].items()
            if k in METADATA_FIELDS
        ),
        name,
    )
    d_sdk = dict(c_sdk, scenario=name, who=SDK + " (= c: same requests)")
    rows += [d_core, d_play, d_sdk]
    return rows, {"a": (a_core, a_48, a_sdk), "b": (b_one, b_core), "c": (c_core, c_sdk)}


def organisation(size):
    """(e): every member of a Resource Directory, in its own emulator; rows and the targets' rows."""
    members, regions, keys = size["org"]
    emu = EmulatorProcess(accounts="%d:%d:%d" % (members, len(ORG_REGIONS[:regions]), keys))
    try:
        expected = members * regions * keys
        name = "(e) %d accounts x %d regions x %d keys" % (members, regions, keys)
        # the least a run can take: ListAccounts, GetCallerIdentity, AssumeRole, ListKeys one after another
        bound = 4 * LATENCY
        options = dict(accounts=["all"], regions=ORG_REGIONS[:regions])
        e_core = emu.measure(name, "core, accounts: [all]", lambda: core(emu.url, **options), bound)
        e_play = emu.measure(
            name,
            "ansible-playbook, accounts: [all]",
            lambda: playbook(emu.url, new_workdir(), expected, **options),
            bound,
        )
        e_sdk = emu.measure(
            name, SDK + " (ListAccounts, AssumeRole)", lambda: Organisation(emu.url).list(ORG_REGIONS[:regions]), bound
        )
        check(
            sorted(r["key_arn"] for r in e_core["result"]) == sorted(e_sdk["result"])
            and len(e_sdk["result"]) == expected,
            name,
        )
        e_memory = emu.measure(
            name, "core, own process (memory)", lambda: memory_child(emu, json.dumps(options)), bound
        )
        e_memory["wall"] = e_memory["result"]["seconds"]
        return [e_core, e_play, e_sdk, e_memory], (e_core, e_sdk, e_memory)
    finally:
        emu.stop()


def aliases_and_tags(size):
    """(f): aliases and tags of keys (one alias, three tags each), bulk against the per-key official loop."""
    count = size["tagged"]
    emu = EmulatorProcess(
        world=["--generate", "%s=%d" % (ONE, count), "--generate-tags", "3", "--generate-aliases", "1"]
    )
    try:
        name = "(f) aliases and tags of %d keys" % count
        options = dict(region=ONE, aliases=True, tags=True)
        f_core = emu.measure(name, "core, aliases + tags", lambda: core(emu.url, **options))
        f_play = emu.measure(
            name, "ansible-playbook, aliases + tags", lambda: playbook(emu.url, new_workdir(), count, **options)
        )
        f_sdk = emu.measure(
            name, SDK + " (ListAliasesByKeyId, ListResourceTags)", lambda: Sequential(emu.url).aliases_and_tags(ONE)
        )
        truth = f_sdk["result"]
        check(
            len(truth) == count
            and all(
                (sorted(r["aliases"]), r["tags"]) == (sorted(truth[r["key_id"]][0]), truth[r["key_id"]][1])
                for r in f_core["result"]
            )
            and len(f_core["result"]) == count,
            name,
        )
        return [f_core, f_play, f_sdk], (f_core, f_sdk)
    finally:
        emu.stop()


# (g): the policy the collection ships (two facet rules and two that need DescribeKey), and four facet rules, whose
# gathering is the least a policy of four rules can cost
EXAMPLE_POLICY = yaml.safe_load((ROOT / "playbooks" / "vars" / "policy.example.yml").read_text())[
    "kms_compliance_policy"
]
FACET_POLICY = {
    "forbidden_states": ["PendingDeletion"],
    "allowed_specs": ["Aliyun_AES_256", "Aliyun_SM4", "RSA_2048", "EC_P256", "EC_SM2"],
    "allowed_usages": ["ENCRYPT/DECRYPT", "SIGN/VERIFY"],
    "required_protection_level": "SOFTWARE",
}


def compliance_at_scale(size):
    """(g): the compliance role over an organisation at zero latency against a playbook of a key_facts task that
    gathers the same: the role's playbook within 1.3x of that one's."""
    members, keys = size["compliance"]
    emu = EmulatorProcess(accounts="%d:1:%d" % (members, keys), latency=0)
    rows, found = [], []
    try:
        options = dict(accounts=["all"], regions=[ONE])
        for label, policy in (("the example policy", EXAMPLE_POLICY), ("four facet rules", FACET_POLICY)):
            name = "(g) role, %d keys, %d accounts, %s" % (members * keys, members, label)
            empty = emu.measure(name, "ansible-playbook, no task", lambda: run_playbook(new_workdir(), []), 0)
            gather = emu.measure(
                name,
                "ansible-playbook, the role's key_facts",
                lambda: compliance_playbook(emu.url, new_workdir(), policy, gather_only=True, **options),
                0,
            )
            work = new_workdir()
            role = emu.measure(
                name, "ansible-playbook, the role", lambda: compliance_playbook(emu.url, work, policy, **options), 0
            )
            report = json.loads((Path(work) / "report" / "kms-compliance.json").read_text())
            check(report["summary"]["key_count"] == members * keys, name)
            ratio = role["wall"] / gather["wall"]
            found.append(
                (
                    "(g) %s: the role within 1.3x of gathering alone: %.2f s vs %.2f s (%.2fx); HTML %.1f MB%s"
                    % (label, role["wall"], gather["wall"], ratio, html_size(work), browser_time(work)),
                    ratio <= 1.3,
                )
            )
            rows += [empty, gather, role]
        return rows, found
    finally:
        emu.stop()


def remediation_at_scale(size):
    """(i): the role fixing require_rotation on every key of a region at the quota: its time beyond the same role
    without remediation against the quota bound of the writes it sent plus as many re-reads (DescribeKey)."""
    count = size["remediate"]
    # every key symmetric, created by the account with KMS material, rotation off: every one is fixed
    seed = Path(new_workdir()) / "seed.json"
    keys = [{"description": "key %d" % n} for n in range(count)]
    account = {"account_id": "1234567890123456", "access_keys": [{"id": DEMO_KEY[0], "secret": DEMO_KEY[1]}]}
    seed.write_text(json.dumps({"accounts": [dict(account, regions={ONE: {"keys": keys}})]}))
    emu = EmulatorProcess(world=["--seed", str(seed)])
    try:
        name = "(i) remediate rotation, %d keys" % count
        policy, options = {"require_rotation": True}, dict(regions=[ONE])
        judged = emu.measure(
            name, "ansible-playbook, the role", lambda: compliance_playbook(emu.url, new_workdir(), policy, **options)
        )
        work = new_workdir()
        fixed = emu.measure(
            name,
            "ansible-playbook, the role remediating",
            lambda: compliance_playbook(emu.url, work, policy, remediate=["require_rotation"], **options),
        )
        report = json.loads((Path(work) / "report" / "kms-compliance.json").read_text())
        writes = fixed["by_action"].get("UpdateRotationPolicy", 0)
        applied = [e for e in report["remediation"] if e["status"] == "applied"]
        check(writes == len(applied) == count, name)
        bound = 2.0 * writes / QPS  # the writes and one re-read each, at the quota
        beyond = fixed["wall"] - judged["wall"]
        found = [
            (
                "(i) remediation within 1.3x of the quota bound (%d writes + %d re-reads at %d/s = %.1f s): %.1f s beyond"
                " the role without it (%.2fx); %d requests {%s}"
                % (
                    writes,
                    writes,
                    QPS,
                    bound,
                    beyond,
                    beyond / bound,
                    fixed["requests"] - judged["requests"],
                    ", ".join(
                        "%s: %d" % (a, n - judged["by_action"].get(a, 0))
                        for a, n in sorted(fixed["by_action"].items())
                        if n != judged["by_action"].get(a, 0)
                    ),
                ),
                beyond <= 1.3 * bound,
            )
        ]
        return [judged, fixed], found
    finally:
        emu.stop()


def organisation_at_scale(size):
    """(h): accounts: [all] over MEMBERS x REGIONS x 1 key at 50 ms with the STS quota on: exact keys, within 1.3x of
    the bound (the AssumeRoles at the quota, then the listings at max_in_flight), CPU per request and where it goes."""
    members, regions, keys = size["scale"]
    emu = EmulatorProcess(
        accounts="%d:%d:%d" % (members, regions, keys),
        latency=SCALE_LATENCY,
        extra=["--sts-qps", str(STS_QPS)],
    )
    try:
        name = "(h) %d members x %d regions x %d key, STS quota" % (members, regions, keys)
        options = dict(accounts=["all"], regions=ORG_REGIONS[:regions])
        truth = organisation_truth(members, regions, keys)
        row = emu.measure(name, "core, accounts: [all]", lambda: core(emu.url, **options), 0)
        found = sorted(r["key_arn"] for r in row["result"])
        check(found == truth and len(truth) == members * regions * keys, name + ": the exact keys")
        by_action = row["by_action"]
        in_flight = ARGUMENT_SPEC["max_in_flight"]["default"]
        listings = by_action.get("ListKeys", 0) * SCALE_LATENCY / in_flight
        # GetCallerIdentity, ListAccounts page 1 and the other pages one after another; the roles at the quota; the
        # listings at max_in_flight requests of SCALE_LATENCY each
        row["bound"] = 3 * SCALE_LATENCY + by_action.get("AssumeRole", 0) / float(STS_QPS) + listings
        shares = cpu_profile(lambda: core(emu.url, **options))
        text = (
            "(h) %d members x %d regions: exact keys, within 1.3x of the bound (%d AssumeRole at %d/s = %.1f s, %d "
            "ListKeys at %d in flight = %.1f s): %.2f s (%.2fx), %d throttled; client CPU %.2f ms per request (%s)"
            % (
                members,
                regions,
                by_action.get("AssumeRole", 0),
                STS_QPS,
                by_action.get("AssumeRole", 0) / float(STS_QPS),
                by_action.get("ListKeys", 0),
                in_flight,
                listings,
                row["wall"],
                row["wall"] / row["bound"],
                row["throttled"],
                row["cpu_ms"],
                ", ".join("%s %d%%" % (what, round(100 * share)) for what, share in shares),
            )
        )
        return [row], [(text, row["wall"] <= 1.3 * row["bound"])]
    finally:
        emu.stop()


def organisation_truth(members, regions, keys):
    """Every key ARN of the generated organisation, from the emulator's own generator (the same seed)."""
    from emulator.seeding import build_backend  # pylint: disable=import-outside-toplevel

    backend = build_backend(None, None, 0, (), "%d:%d:%d" % (members, regions, keys))
    return sorted(k.arn for account in backend.accounts.values() for listed in account.keys.values() for k in listed)


# where the client's CPU goes, by the file a function is in (its own time, every thread)
# (built-in functions have no file: their names say where they belong)
CPU_PARTS = (
    ("signing", ("alibabacloud_tea_openapi/utils.py", "darabonba_signature", "hmac", "hashlib", "_sha", "openssl_")),
    (
        "HTTP",
        (
            "requests/",
            "urllib3/",
            "http/client.py",
            "email/",
            "socket",
            "darabonba/",
            "ssl",
            "select",
            "urllib/parse",
            "idna",
        ),
    ),
    ("JSON", ("json/", "scanner", "_json")),
    ("threads", ("threading.py", "concurrent/futures", "queue", "_thread", "lock", "sleep")),
    ("SDK request building", ("alibabacloud_tea_openapi/", "alibabacloud_credentials", "Tea/")),
    ("the collection", ("ansible_collections/",)),
)


def cpu_profile(func):
    """Run func with every thread under cProfile counting CPU time (time.thread_time); [(part, share of CPU)]."""
    import cProfile  # pylint: disable=import-outside-toplevel
    import pstats  # pylint: disable=import-outside-toplevel
    import threading  # pylint: disable=import-outside-toplevel

    profiles, original = [], threading.Thread.run

    def run(thread):
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()
        try:
            original(thread)
        finally:
            profile.disable()

    threading.Thread.run = run
    main = cProfile.Profile(time.thread_time)
    try:
        main.enable()
        func()
    finally:
        main.disable()
        threading.Thread.run = original
    stats = pstats.Stats(main)
    for profile in profiles:
        stats.add(profile)
    parts = dict((what, 0.0) for what, _files in CPU_PARTS)
    parts["other"] = 0.0
    for (filename, _line, function), entry in stats.stats.items():
        where = filename + " " + function
        what = next((w for w, files in CPU_PARTS if any(f in where for f in files)), "other")
        parts[what] += entry[2]  # tottime
    total = sum(parts.values()) or 1.0
    return sorted(((w, t / total) for w, t in parts.items()), key=lambda p: -p[1])


def html_size(work):
    return (Path(work) / "report" / "kms-compliance.html").stat().st_size / 1e6


def browser_time(work):
    """How long headless Chromium takes to open the HTML report and run its script, when Chromium is here."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        return ""
    page = Path(work) / "report" / "kms-compliance.html"
    started = time.monotonic()
    proc = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--user-data-dir=%s" % Path(work, "chromium"),
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    ready = 'data-sortable="ready"' in proc.stdout
    return ", opened in headless Chromium in %.1f s%s" % (
        time.monotonic() - started,
        "" if ready else " (script not run!)",
    )


def memory_child(emu, where):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "peak_memory.py"), emu.url, where, DEMO_KEY[0]],
        input=DEMO_KEY[1] + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def peak_memory(emu, size):
    row = emu.measure(
        "%d keys, 1 region (memory)" % size["memory"], "core, own process", lambda: memory_child(emu, MEMORY)
    )
    check(row["result"]["keys"] == size["memory"], "memory listing")
    row["wall"] = row["result"]["seconds"]  # the listing, without the child's start-up
    return row


HEADER = [
    "scenario",
    "who",
    "requests",
    "429s",
    "max in flight",
    "wall s",
    "quota bound s",
    "wall / bound",
    "SDK loop / this",
    "client CPU ms / request",
]


def cells(rows):
    """One list of strings per row, in HEADER's order."""
    by_scenario = {}
    for row in rows:
        by_scenario.setdefault(row["scenario"], {})[row["who"].split(",")[0].split(" (")[0]] = row
    table = []
    for row in rows:
        sdk = by_scenario[row["scenario"]].get("official SDK")
        table.append(
            [row["scenario"], row["who"], "%d" % row["requests"], "%d" % row["throttled"], "%d" % row["in_flight"]]
            + ["%.2f" % row["wall"]]
            + (["%.2f" % row["bound"], "%.2f" % (row["wall"] / row["bound"])] if row["bound"] else ["-", "-"])
            + ["%.1fx" % (sdk["wall"] / row["wall"]) if sdk else "-"]
            + ["%.2f" % row["cpu_ms"] if row.get("cpu_ms") is not None else "-"]
        )
    return table


def table(rows):
    """A Markdown table for the terminal."""
    lines = ["| %s |" % " | ".join(HEADER), "|---|---|" + "--:|" * (len(HEADER) - 2)]
    return "\n".join(lines + ["| %s |" % " | ".join(row) for row in cells(rows)])


def targets(key, memory):
    a_core, a_48, a_sdk = key["a"]
    e_core, e_sdk, e_memory = key["e"]
    f_core, f_sdk = key["f"]
    b_one, b_core = key["b"]
    c_core, c_sdk = key["c"]
    found = []
    for label, row in (("", a_core), (" (rate_limit 48)", a_48)):
        found.append(
            (
                "(a) core%s within 1.3x of the quota bound and >= 3x faster than the SDK loop: %.2fx, %.1fx"
                % (label, row["wall"] / row["bound"], a_sdk["wall"] / row["wall"]),
                row["wall"] <= 1.3 * row["bound"] and a_sdk["wall"] >= 3 * row["wall"],
            )
        )
    found.append(
        (
            "(b) 4 regions no slower than 1 region + 20%%: %.2f s vs %.2f s (%.2fx)"
            % (b_core["wall"], b_one["wall"], b_core["wall"] / b_one["wall"]),
            b_core["wall"] <= 1.2 * b_one["wall"],
        )
    )
    found.append(
        (
            "(c) facets >= 15x faster than DescribeKey per key: %.1fx" % (c_sdk["wall"] / c_core["wall"]),
            c_sdk["wall"] >= 15 * c_core["wall"],
        )
    )
    found.append(
        (
            "(e) accounts: [all] >= 15x faster than the SDK loop and within 3 s: %.1fx, %.2f s; requests %s; %.0f MB peak RSS"
            % (
                e_sdk["wall"] / e_core["wall"],
                e_core["wall"],
                json.dumps(e_core["by_action"], sort_keys=True),
                e_memory["result"]["peak_mb"],
            ),
            e_sdk["wall"] >= 15 * e_core["wall"] and e_core["wall"] <= 3,
        )
    )
    found.append(
        (
            "(f) aliases and tags in at most 50 requests and >= 20x faster than per key: %d requests %s, %.1fx"
            % (f_core["requests"], json.dumps(f_core["by_action"], sort_keys=True), f_sdk["wall"] / f_core["wall"]),
            f_core["requests"] <= 50 and f_sdk["wall"] >= 20 * f_core["wall"],
        )
    )
    found.append(
        (
            "%d keys listed in under 250 MB peak memory: %.0f MB peak RSS (%.0f MB after imports, before listing)"
            % (memory["result"]["keys"], memory["result"]["peak_mb"], memory["result"]["import_mb"]),
            memory["result"]["peak_mb"] < 250,
        )
    )
    return found + key["g"] + key["h"] + key["i"]


def machine():
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        model = next(
            (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown CPU"
        )
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024.0**3
    versions = ", ".join(
        "%s %s" % (p, metadata.version(p))
        for p in ("ansible-core", "alibabacloud-tea-openapi", "alibabacloud-kms20160120")
    )
    return "%s, %d cores (%s), %.0f GB RAM, Python %s, %s; load average %.1f at the start" % (
        platform.platform(terse=True),
        os.cpu_count(),
        model,
        mem_gb,
        platform.python_version(),
        versions,
        LOAD_AT_START[0],
    )


def main():
    quick = "--quick" in sys.argv[1:] or os.environ.get("BENCH_QUICK", "") not in ("", "0")
    size = dict((name, sizes[1 if quick else 0]) for name, sizes in SIZES.items())
    LOAD_AT_START[0] = os.getloadavg()[0]
    if LOAD_AT_START[0] > 0.5:
        sys.stderr.write("note: load average %.1f: other work on this machine skews the timings\n" % LOAD_AT_START[0])
    only = [f for f in ("--only-g", "--only-h", "--only-i") if f in sys.argv[1:]]
    if only:  # one scenario alone, while working on it
        rows, found = {
            "--only-g": compliance_at_scale,
            "--only-h": organisation_at_scale,
            "--only-i": remediation_at_scale,
        }[only[0]](size)
        print(table(rows) + "\n\n" + "\n".join("  %s  %s" % ("PASS" if ok else "FAIL", text) for text, ok in found))
        return
    sys.stderr.write("starting the emulator (%s sizes) ...\n" % ("quick" if quick else "full"))
    emu = EmulatorProcess(size)
    try:
        rows, key = run_all(emu, size)
        memory = peak_memory(emu, size)
    finally:
        emu.stop()
    org_rows, key["e"] = organisation(size)
    tag_rows, key["f"] = aliases_and_tags(size)
    compliance_rows, key["g"] = compliance_at_scale(size)
    scale_rows, key["h"] = organisation_at_scale(size)
    remediation_rows, key["i"] = remediation_at_scale(size)
    rows += org_rows + tag_rows + compliance_rows + scale_rows + remediation_rows
    print(
        "\nalicloud.kms benchmark%s: emulator with %d ms latency, quota %d requests/s per region; rate_limit default %g/s"
        % (
            " (QUICK sizes: indicative only)" if quick else "",
            LATENCY * 1000,
            QPS,
            ARGUMENT_SPEC["rate_limit"]["default"],
        )
    )
    print("machine: %s\n" % machine())
    print(table(rows + [memory]))
    print("\ntargets%s:" % (" (set for the full sizes; at quick sizes latency dominates)" if quick else ""))
    verdicts = ["  %s  %s" % ("PASS" if passed else "FAIL", text) for text, passed in targets(key, memory)]
    print("\n".join(verdicts))
    if not quick:  # the docs page shows full runs only
        page = write_generated(
            "performance",
            "results",
            "Machine: %s; run %s.\n\n%s\n\n.. code-block:: text\n\n   targets:\n%s\n"
            % (
                machine(),
                time.strftime("%Y-%m-%d"),
                rst_table(HEADER, cells(rows + [memory])),
                "\n".join("   " + v for v in verdicts),
            ),
        )
        print("\nwritten to %s" % page)


if __name__ == "__main__":
    main()
