"""A KMS (2016-01-20) emulator that speaks the real wire protocol; see server.Emulator and ``python -m emulator``."""
from __future__ import annotations
