"""Lint extensions/eda/plugins with the commands galaxy-importer runs on Event-Driven Ansible plugins.

In its ansible-test container, galaxy-importer runs ruff (--select ALL) and pylint on a collection's
event sources, with the commands of its eda/tox.ini, and only prints what they find; the partner
certification (Automation Hub) holds those findings against the collection all the same. `make
publish-check` runs the importer without that container, so this script runs the same commands, read
from the installed importer (run it with the importer venv's python), and fails on any finding:

    python tests/utils/eda_lint.py COLLECTION_ROOT

ruff and pylint come from PATH. The tarball Galaxy lints has no ruff.toml (galaxy.yml leaves it out),
so ruff runs with --isolated here; the commands run in a scratch folder, as the importer's run in its
own, so no pylint configuration applies either.
"""

import configparser
import glob
import importlib.util
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

TESTENVS = ("ruff", "pylint-event-source")  # the testenvs whose names start with these


def commands(root):
    """The commands of the importer's eda/tox.ini testenvs in TESTENVS, for the collection at root."""
    spec = importlib.util.find_spec("galaxy_importer")
    if spec is None:
        sys.exit("eda_lint: galaxy_importer is not installed for %s" % sys.executable)
    tox_ini = Path(spec.submodule_search_locations[0], "ansible_test", "container", "eda", "tox.ini")
    config = configparser.ConfigParser(interpolation=None)
    config.read(tox_ini, encoding="utf-8")
    found = []
    for section in config.sections():
        name = section.partition("testenv:")[2]
        if not name.startswith(TESTENVS):
            continue
        for line in config[section].get("commands", "").splitlines():
            line = line.strip()
            if line.startswith("-"):  # tox: ignore the exit code; here every command must pass
                line = line[1:].lstrip()
            if not line:
                continue
            words = []
            for word in shlex.split(line):
                word = word.replace("{posargs}", root)
                # no shell here: expand event_source/*.py as it would (a pattern matching nothing stays)
                words += (sorted(glob.glob(word)) or [word]) if glob.has_magic(word) else [word]
            if words[:2] == ["ruff", "check"]:
                words[2:2] = ["--isolated"]
            found.append(words)
    if not found:
        sys.exit("eda_lint: no %s testenv in %s" % (" or ".join(TESTENVS), tox_ini))
    return found


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: eda_lint.py COLLECTION_ROOT")
    root = str(Path(sys.argv[1]).resolve())
    failed = False
    with tempfile.TemporaryDirectory(prefix="eda-lint-") as scratch:
        for command in commands(root):
            print("$ " + shlex.join(command), flush=True)
            done = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=False)
            output = (done.stdout + done.stderr).strip()
            if output:
                print(output)
            if done.returncode or output:
                failed = True
                print("eda_lint: the command above found problems (exit code %d)" % done.returncode)
    if failed:
        sys.exit("eda_lint: galaxy-importer's EDA linters report findings; fix them (see above)")
    print("eda_lint: no findings")


if __name__ == "__main__":
    main()
