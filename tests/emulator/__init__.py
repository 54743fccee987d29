"""A KMS (2016-01-20) and STS AssumeRole (2015-04-01) emulator that speaks the real wire protocol; see server.Emulator
and ``python -m emulator``."""

from __future__ import annotations
