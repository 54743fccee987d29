"""Command line: ``PYTHONPATH=tests python -m emulator [options] [--exec -- CMD ARGS...]``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading

from . import hostile
from .server import Emulator


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m emulator",
        description="Alibaba Cloud KMS (2016-01-20), STS AssumeRole (2015-04-01) and ResourceManager ListAccounts "
        "(2020-03-31) emulator.",
        epilog="--exec -- CMD ARGS... runs CMD against the emulator and exits with its status.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--seed", metavar="FILE", help="YAML or JSON seed file")
    p.add_argument("--generate", metavar="SPEC", help="generated keys per region, e.g. cn-hangzhou=100,cn-shanghai=50")
    p.add_argument(
        "--generate-accounts",
        metavar="N:REGIONS:KEYS",
        help="instead of a seed: a Resource Directory of the demo account and N members with KEYS keys in each of "
        "REGIONS (a count of the default regions, or names separated by commas), e.g. 100:4:10",
    )
    p.add_argument(
        "--generate-tags", type=int, default=0, metavar="N", help="tags on each --generate key (0 to 10; default 0)"
    )
    p.add_argument(
        "--generate-aliases", type=int, default=0, metavar="N", help="aliases of each --generate key (default 0)"
    )
    p.add_argument("--random-seed", type=int, default=0, help="seeds the generator and the fault decisions")
    p.add_argument(
        "--default-region",
        default="cn-hangzhou",
        help="region of requests whose Host is not kms[-vpc].<region>.aliyuncs.com",
    )
    p.add_argument(
        "--access-key",
        action="append",
        default=[],
        metavar="ID:SECRET[:TOKEN]",
        help="extra access key for the default account",
    )
    p.add_argument("--log", metavar="FILE", help="access log file (default: stderr)")
    faults = p.add_argument_group("faults (also settable at runtime: POST /_emulator/faults)")
    faults.add_argument(
        "--flat-keys", action="store_true", help='ListKeys returns "Keys": [...] as in the API reference sample'
    )
    faults.add_argument("--latency-ms", type=float, default=0)
    faults.add_argument("--latency-jitter-ms", type=float, default=0)
    faults.add_argument(
        "--qps",
        type=float,
        default=50,
        help="token bucket per account and region (default 50, as the real service; 0 = unlimited); 429 beyond",
    )
    faults.add_argument(
        "--sts-qps",
        type=float,
        default=None,
        help="AssumeRole token bucket per calling account (the documented STS quota is 100); 400 Throttling.User "
        "beyond (default: unlimited)",
    )
    faults.add_argument(
        "--sts-session-seconds",
        type=int,
        default=None,
        metavar="N",
        help="AssumeRole credentials expire after N seconds whatever DurationSeconds asked for",
    )
    faults.add_argument(
        "--throttle-first",
        type=int,
        default=0,
        metavar="N",
        help="the first N requests of each service (KMS, STS, ResourceManager) are throttled",
    )
    faults.add_argument(
        "--retry-after-ms", type=int, default=None, help="x-acs-retry-after header (milliseconds) on throttling replies"
    )
    for name in ("error-rate-503", "error-rate-500", "drop-rate", "malformed-rate", "throttle-rate"):
        faults.add_argument(f"--{name}", type=float, default=0, metavar="RATE", help="probability 0..1")
    faults.add_argument(
        "--deny-region",
        dest="deny_regions",
        action="append",
        default=[],
        metavar="REGION",
        help="403 Forbidden.NoPermission there",
    )
    # the faults given as JSON
    for name, help_text in (
        (
            "mutate-after-page",
            '{"page": k, "add": n, "delete": m, "region": r, "times": t} (times: listing passes, '
            "default 1, 0 = every pass)",
        ),
        (
            "ignore-filter-values",
            'ListKeys filter values a region ignores, e.g. {"ap-southeast-1": {"KeySpec": ["Aliyun_SM4", "EC_SM2"]}}',
        ),
        (
            "ignore-filter-keys",
            'ListKeys filter keys a region ignores entirely, e.g. {"cn-shanghai": ["TagKey", "TagValue"]}',
        ),
        (
            "deny-actions",
            'KMS actions a region does not offer (404 InvalidAction.NotFound), e.g. {"cn-shanghai": '
            '["ListTagResources"]}',
        ),
    ):
        faults.add_argument(f"--{name}", type=json.loads, default=None, metavar="JSON", help=help_text)
    faults.add_argument(
        "--hostile",
        action="store_true",
        help="every free-text field (descriptions, Creator, tag keys and values, alias names, key policies, account "
        "display names) holds Jinja that would touch the canary file, markup, control characters or 10,000 "
        "characters; each account and region gets an alias outside the documented form",
    )
    faults.add_argument(
        "--hostile-canary",
        default=hostile.DEFAULT_CANARY,
        metavar="PATH",
        help=f"the file the hostile Jinja would create (default {hostile.DEFAULT_CANARY}): it must never appear",
    )
    faults.add_argument(
        "--mismatched-ids",
        choices=hostile.MISMATCHES,
        default=None,
        help="ListKeys entries whose KeyArn names another key, account or region, or whose KeyId is not in the "
        "documented form",
    )
    faults.add_argument(
        "--tag-page-size",
        type=int,
        default=200,
        metavar="N",
        help="rows per ListTagResources page (default 200, as documented)",
    )
    return p


def split_exec(argv: list) -> tuple:
    if "--exec" not in argv:
        return argv, None
    at = argv.index("--exec")
    command = argv[at + 1 :]
    if command[:1] == ["--"]:
        command = command[1:]
    return argv[:at], command


def main(argv=None) -> int:
    own, command = split_exec(list(sys.argv[1:] if argv is None else argv))
    if command == []:
        parser().error("--exec needs a command")
    args = vars(parser().parse_args(own))
    log_file = args.pop("log")
    try:
        emulator = Emulator(log=log_file or sys.stderr, access_keys=args.pop("access_key"), **args)
    except (OSError, ValueError, KeyError, TypeError) as error:  # bad seed, --generate, --access-key or fault value
        parser().error(f"cannot start: {type(error).__name__}: {error}")
    stopping, child = threading.Event(), []

    def stop(signum, _frame):
        stopping.set()
        if signum == signal.SIGTERM:  # SIGINT from a terminal already reached the child's process group
            for process in child:
                process.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with emulator:
        sys.stdout.write(f"KMS emulator listening on {emulator.url}\n")
        sys.stdout.flush()
        if command is None:
            while not stopping.wait(1):
                pass
            return 0
        key_id, secret = emulator.access_key
        env = dict(
            os.environ,
            KMS_EMULATOR_URL=emulator.url,
            KMS_EMULATOR_PORT=str(emulator.port),
            ALICLOUD_ACCESS_KEY=key_id,
            ALICLOUD_SECRET_KEY=secret,
        )
        try:
            child.append(subprocess.Popen(command, env=env))  # pylint: disable=consider-using-with
        except OSError as error:
            sys.stderr.write(f"cannot run {command[0]}: {error.strerror}\n")
            return 127
        status = child[0].wait()
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main())
