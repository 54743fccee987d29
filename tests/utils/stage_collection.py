#!/usr/bin/env python
"""Lay out a copy of the collection at DEST (e.g. build/ansible_collections/alicloud/kms).

ansible-test only runs when the collection sits at ``.../ansible_collections/<ns>/<name>``.
This copies the files git would commit (tracked plus untracked-but-not-ignored, so new files
are tested before they are added) into DEST and removes from DEST whatever is no longer in
the working tree. DEST/tests/output (ansible-test's results) is left alone. Outside a git
work tree every file is copied except the usual development folders.

DEST gets an empty git repository of its own: ansible-test lists a collection's files with
``git ls-files`` of the nearest enclosing repository, and DEST usually lies in an ignored
folder (build/) of this one, where git would list nothing. In its own repository every
staged file is "untracked, not ignored", so ansible-test sees exactly the staged files.

Usage: python tests/utils/stage_collection.py SRC DEST
"""

from __future__ import annotations

import filecmp
import os
import shutil
import stat
import subprocess
import sys

# used only when SRC is not a git work tree
SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "build",
    ".collections",
    "collections",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    ".tox",
    "kms-compliance-report",
}
# left alone in DEST: ansible-test's results and DEST's own git repository
KEEP_IN_DEST = ("tests/output", ".git")


def source_files(src: str) -> list[str]:
    """Return the relative paths of the files to copy."""
    try:
        output = subprocess.run(
            ["git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return walk_files(src)
    paths = sorted({path for path in output.decode("utf-8").split("\0") if path})
    # tracked files deleted from the work tree are not copied
    return [path for path in paths if os.path.lexists(os.path.join(src, path))]


def walk_files(src: str) -> list[str]:
    """Return every file below src, skipping development folders."""
    found = []
    for root, dirs, files in os.walk(src):
        rel_root = os.path.relpath(root, src)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not d.startswith(".venv")
            and os.path.normpath(os.path.join(rel_root, d)) != os.path.normpath("tests/output")
        )
        for name in files:
            if name.endswith((".pyc", ".tar.gz")):
                continue
            found.append(os.path.normpath(os.path.join(rel_root, name)))
    return sorted(found)


def same(src_path: str, dest_path: str) -> bool:
    """Return True if dest_path already is an identical copy of src_path."""
    if os.path.islink(src_path) or os.path.islink(dest_path):
        return (
            os.path.islink(src_path) and os.path.islink(dest_path) and os.readlink(src_path) == os.readlink(dest_path)
        )
    if not os.path.isfile(dest_path):
        return False
    if stat.S_IMODE(os.stat(src_path).st_mode) != stat.S_IMODE(os.stat(dest_path).st_mode):
        return False
    return filecmp.cmp(src_path, dest_path, shallow=False)


def kept(rel: str) -> bool:
    """Return True if rel (relative to DEST) belongs to ansible-test and must be left alone."""
    return any(rel == keep or rel.startswith(keep + os.sep) for keep in KEEP_IN_DEST)


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, dest = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if dest == src or dest.startswith(src + os.sep + "plugins"):
        print(f"refusing to stage into {dest}", file=sys.stderr)
        return 2

    wanted = source_files(src)
    wanted_set = set(wanted)
    copied = removed = 0

    # remove what is no longer in the source (but keep ansible-test's output)
    if os.path.isdir(dest):
        for root, dirs, files in os.walk(dest, topdown=False):
            for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, dest)
                if not kept(rel) and rel not in wanted_set:
                    os.unlink(path)
                    removed += 1
            rel_root = os.path.relpath(root, dest)
            if root != dest and not kept(rel_root) and not os.path.islink(root) and not os.listdir(root):
                os.rmdir(root)

    for rel in wanted:
        src_path, dest_path = os.path.join(src, rel), os.path.join(dest, rel)
        if same(src_path, dest_path):
            continue
        os.makedirs(os.path.dirname(dest_path), exist_ok=True)
        if os.path.lexists(dest_path) or os.path.islink(dest_path):
            if os.path.isdir(dest_path) and not os.path.islink(dest_path):
                shutil.rmtree(dest_path)
            else:
                os.unlink(dest_path)
        if os.path.islink(src_path):
            os.symlink(os.readlink(src_path), dest_path)
        else:
            shutil.copy2(src_path, dest_path)
        copied += 1

    if not os.path.exists(os.path.join(dest, ".git")) and shutil.which("git"):
        subprocess.run(["git", "init", "--quiet", dest], check=True)

    print(f"staged {len(wanted)} files in {dest} ({copied} copied, {removed} removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
