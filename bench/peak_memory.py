# Copyright (c) alicloud.kms contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Peak memory of the core listing one region, in a fresh process: its peak resident set size (VmHWM).

VmHWM (/proc/self/status) is this process's own high-water mark. getrusage's ru_maxrss is not: Linux carries it
over from the parent across fork and exec, so a child of the benchmark would report the benchmark's size.

python bench/peak_memory.py URL REGION   prints one JSON line: keys, seconds, peak RSS before and after listing (MB)
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".collections"))

from ansible_collections.alicloud.kms.plugins.module_utils._keys import list_keys  # noqa: E402


def peak_rss_mb():
    with open("/proc/self/status", encoding="utf-8") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024.0  # kB


def main():
    # WHERE: a region, or a JSON object of options (accounts, regions); the secret comes on stdin, never in argv
    url, where, access_key_id = sys.argv[1:4]
    secret = sys.stdin.readline().strip()
    before = peak_rss_mb()  # the interpreter and the core with its SDK imported; nothing else
    started = time.monotonic()
    records = list_keys(
        dict(
            json.loads(where) if where.startswith("{") else {"region": where},
            access_key_id=access_key_id,
            access_key_secret=secret,
            protocol="http",
            http_proxy=url,
        ),
        environ={},
    ).records
    seconds = time.monotonic() - started
    print(json.dumps({"keys": len(records), "seconds": seconds, "import_mb": before, "peak_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main()
