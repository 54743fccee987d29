"""A port that refuses connections, for tests of unreachable endpoints and proxies (never a fixed "closed" port)."""

from __future__ import annotations

import contextlib
import socket


@contextlib.contextmanager
def refused_port(host: str = "127.0.0.1"):
    """Yields a port on host where every connection is refused while the block runs.

    The socket is bound but never listens: the kernel answers SYNs with RST, and no other process can bind the
    port meanwhile, which a port merely believed to be closed (9, 1, a freed ephemeral one) does not guarantee.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
        yield sock.getsockname()[1]
    finally:
        sock.close()
