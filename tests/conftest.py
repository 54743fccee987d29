"""Shared test setup: the collection on sys.path, the emulator package importable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS = ROOT / ".collections"
_LINK = COLLECTIONS / "ansible_collections" / "alicloud" / "kms"

if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    os.symlink("../../..", _LINK)
for path in (str(COLLECTIONS), str(ROOT / "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)
