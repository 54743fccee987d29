"""What ships: the built tarball, installed and run from a collections path; the execution environment; the docs.

The tarball is what ``make build`` (``ansible-galaxy collection build``) makes; installed with
``ansible-galaxy collection install`` into an empty collections path it must run on its own,
with nothing from this working tree. The execution environment definition
(execution-environment.yml, meta/execution-environment.yml, bindep.txt) is checked by running
``ansible-builder create`` and then, outside a container, the two steps of the build that
concern the collection: the galaxy stage's install and the builder stage's introspection.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from conftest import BIN, COLLECTIONS, ROOT, truth

GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
LOOKUP_CONN = "access_key_id='{ak}', access_key_secret='{sk}', protocol='http', http_proxy='{url}'"
# what a lean tarball never holds (first path component, or a pattern anywhere in the path)
NOT_SHIPPED_TOP = {
    ".venv",
    "venv",
    ".git",
    ".github",
    ".ci",
    ".collections",
    "collections",
    "build",
    "bench",
    ".pytest_cache",
    ".hypothesis",
    ".mypy_cache",
    ".ansible",
    "kms-compliance-report",
    "kms-inventory-report",
    "Makefile",
    "requirements-dev.txt",
    "execution-environment.yml",
}
NOT_SHIPPED_ANYWHERE = ("__pycache__", ".pyc", "tests/output", ".tar.gz", ".pytest_cache", ".hypothesis", ".retry")


def tool(name):
    path = BIN / name
    if not path.exists():
        pytest.skip("%s is not installed in %s (pip install -r requirements-dev.txt)" % (name, BIN))
    return str(path)


def run(args, cwd=None, env=None, timeout=180):
    # Without an env of its own a tool must not see `make integration`'s ANSIBLE_COLLECTIONS_PATH: ansible-galaxy
    # would find the working tree installed there and skip the install under test.
    if env is None:
        env = dict((k, v) for k, v in os.environ.items() if k != "ANSIBLE_COLLECTIONS_PATH")
    return subprocess.run(
        [str(a) for a in args],
        cwd=str(cwd or ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    proc = run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, ROOT])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = out / ("%s-%s-%s.tar.gz" % (GALAXY["namespace"], GALAXY["name"], GALAXY["version"]))
    assert built.exists(), proc.stdout
    return built


def test_the_tarball_is_lean_and_complete(tarball):
    with tarfile.open(str(tarball)) as archive:
        names = [member.name for member in archive.getmembers()]
        manifest = json.load(archive.extractfile("MANIFEST.json"))
    unwanted = [n for n in names if n.split("/")[0] in NOT_SHIPPED_TOP or any(p in n for p in NOT_SHIPPED_ANYWHERE)]
    assert unwanted == []
    for wanted in (
        "MANIFEST.json",
        "FILES.json",
        "README.md",
        "LICENSE",
        "CHANGELOG.rst",
        "changelogs/changelog.yaml",
        "meta/runtime.yml",
        "meta/execution-environment.yml",
        "bindep.txt",
        "requirements.txt",
        "plugins/modules/key_info.py",
        "plugins/modules/key_facts.py",
        "plugins/lookup/keys.py",
        "plugins/inventory/keys.py",
        "plugins/module_utils/_lister.py",
        "plugins/doc_fragments/connection.py",
    ):
        assert wanted in names
    assert manifest["collection_info"]["namespace"] == "alicloud" and manifest["collection_info"]["name"] == "kms"
    # no symlink escapes the collection and nothing large slipped in
    assert tarball.stat().st_size < 1024 * 1024


def test_the_installed_tarball_runs_a_module_and_the_lookup(ansible, emulator, tarball):
    installed = ansible.tmp / "installed"
    # only the new path: with this tree on the collections path, ansible-galaxy would find 'alicloud.kms' installed already
    env = {"ANSIBLE_COLLECTIONS_PATH": str(installed), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False"}
    proc = run(
        [BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", installed, tarball],
        cwd=ansible.tmp,
        env=ansible.env(env),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "alicloud.kms:%s was installed successfully" % GALAXY["version"] in proc.stdout
    # the modules and plugins are found in the installed copy, not in this tree
    proc = ansible.run([str(BIN / "ansible-doc"), "--json", "alicloud.kms.key_info"], env=env)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["alicloud.kms.key_info"]["doc"]["filename"].startswith(str(installed))
    info = ansible.module("key_info", env=env, region="cn-shanghai", facets=["key_state"])
    assert info.rc == 0, info
    c = ansible.connection()
    looked = ansible.module(
        "ansible.builtin.debug",
        env=env,
        msg="{{ query('alicloud.kms.keys', region='cn-shanghai', key_state='Enabled', %s) }}"
        % LOOKUP_CONN.format(ak=c["access_key_id"], sk=c["access_key_secret"], url=c["http_proxy"]),
    )
    assert looked.rc == 0, looked
    expected = truth(emulator, "cn-shanghai")
    assert sorted((k["key_id"], k["key_state"]) for k in info["keys"]) == sorted(
        (k.key_id, k.key_state) for k in expected
    )
    assert sorted(k["key_arn"] for k in looked["msg"]) == sorted(k.arn for k in expected if k.key_state == "Enabled")


def test_ansible_builder_creates_a_build_context_that_installs_and_introspects(tarball, tmp_path):
    builder = tool("ansible-builder")
    # the definition as committed, beside the tarball where `make ee` puts it
    shutil.copy(str(ROOT / "execution-environment.yml"), str(tmp_path))
    (tmp_path / "build" / "ee").mkdir(parents=True)
    shutil.copy(str(tarball), str(tmp_path / "build" / "ee" / "alicloud-kms.tar.gz"))
    proc = run(
        [
            builder,
            "create",
            "--file",
            "execution-environment.yml",
            "--context",
            "context",
            "--output-filename",
            "Containerfile",
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    for step in (
        "FROM $EE_BASE_IMAGE AS base",
        "FROM base AS galaxy",
        "ansible-galaxy collection install",
        "introspect.py introspect",
        "/output/scripts/assemble",
        "install-from-bindep",
        "check_ansible",
        "LABEL ansible-execution-environment=true",
    ):
        assert step in containerfile
    assert (context / "_build" / "collections" / "alicloud-kms.tar.gz").exists()

    # galaxy stage: `ansible-galaxy collection install -r requirements.yml` in _build/ (WORKDIR /build)
    collections = tmp_path / "usr-share-ansible" / "collections"
    proc = run(
        [
            BIN / "ansible-galaxy",
            "collection",
            "install",
            "--offline",
            "-r",
            "requirements.yml",
            "--collections-path",
            collections,
        ],
        cwd=context / "_build",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (collections / "ansible_collections" / "alicloud" / "kms" / "meta" / "execution-environment.yml").exists()

    # builder stage: introspection finds the collection's Python and system requirements
    out = tmp_path / "src"
    proc = run(
        [
            BIN / "python",
            context / "_build" / "scripts" / "introspect.py",
            "introspect",
            collections,
            "--write-pip",
            out / "requirements.txt",
            "--write-bindep",
            out / "bindep.txt",
        ]
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip_lines = (out / "requirements.txt").read_text().splitlines()
    assert [line.split("#")[0].strip() for line in pip_lines] == [
        line.split("#")[0].strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    assert all(line.endswith("# from collection alicloud.kms") for line in pip_lines)
    bindep_lines = (out / "bindep.txt").read_text().splitlines()
    assert any(line.startswith("ca-certificates ") for line in bindep_lines), bindep_lines


def test_bindep_txt_parses(tmp_path):
    bindep = tool("bindep")
    # exit status 0 (nothing missing) or 1 (packages missing on this machine); 2 means unparsable
    for profile in ([], ["-b", "compile"]):
        proc = run([bindep, "-f", ROOT / "bindep.txt"] + profile, cwd=tmp_path)
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr


def test_the_collection_docs_lint_clean(tmp_path):
    antsibull_docs = tool("antsibull-docs")
    # antsibull-docs runs ansible-doc: give it this tree, as alicloud.kms, and nothing else
    env = dict(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOME=str(tmp_path), PATH="%s:/usr/bin:/bin" % BIN)
    proc = run(
        [
            antsibull_docs,
            "lint-collection-docs",
            "--plugin-docs",
            "--validate-collection-refs",
            "all",
            Path(COLLECTIONS) / "ansible_collections" / "alicloud" / "kms",
        ],
        env=env,
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def first_release(path):
    """Whether a module or filter (its documentation) came with 1.0.0."""
    text = path.read_text()
    return re.search(r"^\s*version_added: 1\.0\.0$", text, re.M) is not None


def test_the_release_notes_are_antsibull_changelogs_and_list_every_plugin(tmp_path):
    """CHANGELOG.rst is what antsibull-changelog generates from changelogs/changelog.yaml; the first release has a
    summary and its features, nothing fixed or broken against itself, and names every plugin, module and role."""
    changelog = tool("antsibull-changelog")
    staged = tmp_path / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    proc = run([BIN / "python", ROOT / "tests" / "utils" / "stage_collection.py", ROOT, staged])
    assert proc.returncode == 0, proc.stderr
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path), PATH="%s:%s" % (BIN, os.environ["PATH"]))
    proc = run([changelog, "generate"], cwd=staged, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (staged / "CHANGELOG.rst").read_text() == (ROOT / "CHANGELOG.rst").read_text()
    releases = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())["releases"]
    first = releases["1.0.0"]["changes"]
    assert first["release_summary"] and first["minor_changes"]
    assert not set(first) & {"breaking_changes", "security_fixes", "bugfixes", "deprecated_features"}
    notes = " ".join((ROOT / "CHANGELOG.rst").read_text().split())
    new = notes[notes.index("New Plugins") :]
    # every plugin of the first release (a later one's are listed by its own release)
    names = ["alicloud.kms.%s" % p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if first_release(p)]
    names += ["alicloud.kms.%s" % p.stem for p in (ROOT / "plugins" / "filter").glob("*.yml") if first_release(p)]
    names += [
        "alicloud.kms.keys - Alibaba Cloud KMS keys as inventory hosts",  # the inventory plugin
        "alicloud.kms.keys - Alibaba Cloud KMS keys, inline",  # the lookup
        "alicloud.kms.compliance - Check",
    ]  # the role
    for name in names:
        assert name in new, name
