"""A KMS (2016-01-20), STS AssumeRole (2015-04-01) and ResourceManager ListAccounts (2020-03-31) emulator that speaks
the real wire protocol; see server.Emulator and ``python -m emulator``."""

from __future__ import annotations
