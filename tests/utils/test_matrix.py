"""Run the integration tests under every supported ansible-core minor version (``make test-matrix``).

Each ansible-core minor gets its own virtualenv under build/matrix/venvs/ (created once, reused
while the requirements below stay the same), with the collection's requirements.txt and what
the integration tests need. The tests run on a snapshot of the working tree staged into
build/matrix/src-<version>/ (tests/utils/stage_collection.py), so edits made while the matrix runs do not
mix versions of the code. Results go to build/matrix/results.md (a Markdown table for the
README) and build/matrix/results.json; each run's output to build/matrix/logs/.

A minor version whose Python cannot be found (or does not work) is reported as skipped.

Usage: python tests/utils/test_matrix.py [--only 2.16,2.19] [--jobs N] [--setup-only] [-- PYTEST_ARGS...]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

from docs_tables import rst_table, write_generated  # beside this file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MATRIX_DIR = os.path.join(ROOT, "build", "matrix")

# ansible-core minor -> Pythons to try, in order (each minor's controller Python range allows them)
MATRIX = [
    ("2.16", ("3.11",)),
    ("2.17", ("3.11",)),
    ("2.18", ("3.11",)),
    ("2.19", ("3.11",)),
    ("2.20", ("3.12", "3.13")),
    ("2.21", ("3.13", "3.12")),
]

# What tests/integration needs besides ansible-core and requirements.txt: keep in step with
# requirements-dev.txt (ansible-lint and shellcheck are left out: the matrix runs no lint; antsibull-docs brings antsibull-changelog).
TEST_REQUIREMENTS = [
    "alibabacloud-kms20160120>=3.3,<4",
    "alibabacloud-sts20150401>=1.2,<2",
    "alibabacloud-resourcemanager20200331>=2.6,<3",
    "pytest>=8",
    "pytest-ansible>=25",
    "pytest-timeout>=2.3",
    "pyyaml>=6",
    "hypothesis>=6.100",
    "jsonschema>=4.18",
    "ansible-runner>=2.3",
    "ansible-builder>=3.1",
    "bindep>=2.11",
    "antsibull-docs>=2.16",
]

PIP = ["-m", "pip", "install", "--disable-pip-version-check", "--quiet"]


def python_version(python: str) -> str | None:
    """Return 'X.Y' if python runs and can make virtualenvs with working ssl, else None."""
    try:
        proc = subprocess.run(
            [python, "-c", 'import ssl, sqlite3, venv, sys; print("%d.%d" % sys.version_info[:2])'],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def find_python(version: str) -> str | None:
    """Find a working interpreter for version X.Y: PATH, then pyenv's versions, then /usr/bin."""
    candidates = []
    on_path = shutil.which("python%s" % version)
    if on_path:
        candidates.append(on_path)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates.extend(
        sorted(
            glob.glob(os.path.join(pyenv_root, "versions", "%s.*" % version, "bin", "python%s" % version)), reverse=True
        )
    )
    candidates.append("/usr/bin/python%s" % version)
    candidates.append("/usr/local/bin/python%s" % version)
    for candidate in candidates:
        if os.path.exists(candidate) and python_version(candidate) == version:
            return candidate
    return None


def requirement_lines() -> list[str]:
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
        runtime = [line.split("#")[0].strip() for line in handle]
    return [line for line in runtime if line] + TEST_REQUIREMENTS


def ensure_venv(core: str, python: str, log) -> str:
    """Create or reuse the virtualenv for ansible-core `core`; return its directory."""
    venv = os.path.join(MATRIX_DIR, "venvs", "ansible-core-%s-py%s" % (core, python_version(python)))
    wanted = ["ansible-core==%s.*" % core] + requirement_lines()
    digest = hashlib.sha256(("\n".join([python] + wanted)).encode("utf-8")).hexdigest()
    stamp = os.path.join(venv, ".matrix-stamp")
    vpython = os.path.join(venv, "bin", "python")
    if os.path.exists(stamp) and os.path.exists(vpython):
        with open(stamp, encoding="utf-8") as handle:
            if handle.read() == digest:
                return venv
    commands = [[vpython] + PIP + wanted]
    if python_version(vpython) != python_version(python):
        shutil.rmtree(venv, ignore_errors=True)
        log("creating %s with %s" % (os.path.relpath(venv, ROOT), python))
        commands[:0] = [[python, "-m", "venv", venv], [vpython] + PIP + ["--upgrade", "pip"]]
    else:
        log("updating %s" % os.path.relpath(venv, ROOT))
    os.makedirs(os.path.join(MATRIX_DIR, "logs"), exist_ok=True)
    with open(os.path.join(MATRIX_DIR, "logs", "setup-ansible-core-%s.log" % core), "w", encoding="utf-8") as setup_log:
        for command in commands:
            subprocess.run(command, check=True, stdout=setup_log, stderr=subprocess.STDOUT)
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(digest)
    return venv


def installed_core(venv: str) -> str:
    proc = subprocess.run(
        [os.path.join(venv, "bin", "python"), "-c", "import ansible.release; print(ansible.release.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or "?"


def stage(core: str, log) -> str:
    src = os.path.join(MATRIX_DIR, "src-%s" % core, "ansible_collections", "alicloud", "kms")
    subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests", "utils", "stage_collection.py"), ROOT, src],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    for leftover in (".collections", ".pytest_cache", ".hypothesis"):
        shutil.rmtree(os.path.join(src, leftover), ignore_errors=True)
    log("staged the working tree in %s" % os.path.relpath(src, ROOT))
    return src


def summary(output: str) -> str:
    """pytest's closing line without the '=' rule, e.g. '190 passed, 1 skipped in 512.31s'."""
    for line in reversed(output.splitlines()):
        line = line.strip().strip("=").strip()
        if re.search(r"\d+ (passed|failed|error|errors|skipped)", line) or line.startswith("no tests ran"):
            return line
    return "no pytest summary (see the log)"


def run_one(core: str, venv: str, src: str, pytest_args: list[str]) -> tuple[int, str, float]:
    env = dict(
        (k, v)
        for k, v in os.environ.items()
        if not k.startswith(("ANSIBLE_", "ALICLOUD_", "ALIBABA_CLOUD_", "VIRTUAL_ENV", "PYTHON"))
    )
    env["PATH"] = "%s%s%s" % (os.path.join(venv, "bin"), os.pathsep, env.get("PATH", ""))
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.dirname(
        os.path.dirname(os.path.dirname(src))
    )  # .../src-X holds ansible_collections/
    log_path = os.path.join(MATRIX_DIR, "logs", "ansible-core-%s.log" % core)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log_file:
        proc = subprocess.run(
            [
                os.path.join(venv, "bin", "python"),
                "-m",
                "pytest",
                "tests/integration",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "console_output_style=classic",
                "-rfEs",
            ]
            + pytest_args,
            cwd=src,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            check=False,
        )
    with open(log_path, encoding="utf-8") as log_file:
        output = log_file.read()
    return proc.returncode, summary(output), time.monotonic() - start


def write_results(rows: list[dict]) -> str:
    """Merge rows into build/matrix/results.json (a run of some versions keeps the others' last result); write results.md."""
    path = os.path.join(MATRIX_DIR, "results.json")
    merged = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            merged = dict((row["minor"], row) for row in json.load(handle) if "minor" in row)
    for row in rows:
        merged[row["minor"]] = row
    order = [core for core, _pythons in MATRIX]
    rows = sorted(merged.values(), key=lambda row: order.index(row["minor"]) if row["minor"] in order else len(order))
    lines = ["| ansible-core | Python | integration tests | run on |", "|---|---|---|---|"]
    for row in rows:
        lines.append(
            "| %s | %s | %s %s | %s |"
            % (
                row["ansible_core"],
                row["python"],
                "PASS" if row["status"] == "passed" else row["status"].upper(),
                row["summary"],
                row.get("date", "-"),
            )
        )
    table = "\n".join(lines) + "\n"
    with open(os.path.join(MATRIX_DIR, "results.md"), "w", encoding="utf-8") as handle:
        handle.write(table)
    header = ["ansible-core", "Python", "integration tests", "run on"]
    cells = [
        [
            r["ansible_core"],
            r["python"],
            r["summary"] if r["status"] == "passed" else "**%s**: %s" % (r["status"], r["summary"]),
            r.get("date", "-"),
        ]
        for r in rows
    ]
    write_generated("execution_environments", "matrix", rst_table(header, cells))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(rows, handle, indent=2)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--only", default="", help="comma-separated ansible-core minors, e.g. 2.16,2.21 (default: all)")
    parser.add_argument("--setup-only", action="store_true", help="create the virtualenvs and stop")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="ansible-core versions tested at the same time (default 1: timing-sensitive "
        "tests such as the fault suite are meant for an otherwise idle machine)",
    )
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest (after --)")
    args = parser.parse_args()
    only = set(filter(None, args.only.split(",")))

    def log(message):
        print("test-matrix: %s" % message, flush=True)

    os.makedirs(MATRIX_DIR, exist_ok=True)
    plan = []
    for core, pythons in MATRIX:
        if only and core not in only:
            continue
        python = next(filter(None, (find_python(version) for version in pythons)), None)
        plan.append((core, pythons, python))
    rows, runs = [], []
    for core, pythons, python in plan:
        row = {
            "minor": core,
            "ansible_core": core,
            "python": " or ".join(pythons),
            "status": "skipped",
            "summary": "",
            "seconds": 0,
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
        }
        rows.append(row)
        if python is None:
            row["summary"] = "no working Python %s on this machine" % " or ".join(pythons)
            log("ansible-core %s: skipped, %s" % (core, row["summary"]))
            continue
        row["python"] = python_version(python)
        try:
            venv = ensure_venv(core, python, log)
        except subprocess.CalledProcessError as error:
            row.update(status="error", summary="virtualenv setup failed: %s" % error)
            log("ansible-core %s: %s" % (core, row["summary"]))
            continue
        row["ansible_core"] = installed_core(venv)
        if args.setup_only:
            row["summary"] = "virtualenv ready"
            log("ansible-core %s on Python %s: virtualenv ready" % (row["ansible_core"], row["python"]))
            continue
        runs.append((row, core, venv, stage(core, log)))

    def test(run):
        row, core, venv, src = run
        log("ansible-core %s on Python %s: running tests/integration" % (row["ansible_core"], row["python"]))
        returncode, line, seconds = run_one(core, venv, src, args.pytest_args)
        row.update(status="passed" if returncode == 0 else "failed", summary=line, seconds=round(seconds))
        log("ansible-core %s: %s (%s)" % (row["ansible_core"], row["status"], line))

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(test, runs))
    if not args.setup_only:
        print(write_results(rows))
    return 1 if any(row["status"] in ("failed", "error") for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
