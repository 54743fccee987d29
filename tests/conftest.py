"""Shared test setup: the emulator package importable (the collection comes from pytest-ansible, see pytest.ini)."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
