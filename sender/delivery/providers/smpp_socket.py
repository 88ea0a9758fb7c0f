"""TCP_NODELAY on the SMPP connection, which smpp34 opens in Rust and leaves with Nagle's
algorithm on.

With Nagle on, a submit_sm written while an earlier one is still unacknowledged waits
for that acknowledgement, and the SMSC's delayed ACK holds it back up to 40 ms: over
loopback, one bind with a window of 10 carried about 1,400 messages/s with it and about
2,000 without it (bench/smpp). smpp34 exposes no socket, so the connection is found
among this process's open descriptors by its peer address, and the option is set on a
duplicate of the descriptor (socket options belong to the socket, not the descriptor).
"""

from __future__ import annotations

import logging
import os
import socket
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("richsms.smpp")

# Where the open descriptors are listed: Linux, then the BSDs and macOS.
DESCRIPTOR_DIRECTORIES = (Path("/proc/self/fd"), Path("/dev/fd"))


def open_descriptors() -> list[int]:
    for directory in DESCRIPTOR_DIRECTORIES:
        try:
            return [int(name) for name in os.listdir(directory)]
        except (OSError, ValueError):
            continue
    return []


def peer_addresses(host: str, port: int) -> set[tuple[str, int]]:
    """The (address, port) pairs `host` may be connected to (numeric hosts need no
    lookup; a name is resolved as smpp34 resolved it, through the system)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return set()
    return {(str(info[4][0]), port) for info in infos}


def set_nodelay_towards(host: str, port: int, descriptors: Iterable[int] | None = None) -> int:
    """Set TCP_NODELAY on every TCP socket of this process connected to host:port;
    returns how many were found."""
    peers = peer_addresses(host, port)
    found = 0
    for fd in open_descriptors() if descriptors is None else descriptors:
        try:
            if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                continue
            duplicate = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue  # closed meanwhile, or not a socket we can read
        with duplicate:
            if duplicate.type != socket.SOCK_STREAM or duplicate.family not in (
                socket.AF_INET,
                socket.AF_INET6,
            ):
                continue
            try:
                peer = duplicate.getpeername()
            except OSError:
                continue  # listening or not connected
            address = str(peer[0]).removeprefix("::ffff:")  # an IPv4 peer on a dual socket
            if (address, int(peer[1])) not in peers:
                continue
            duplicate.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            found += 1
    if not found:
        log.warning("no connection to %s:%d found: TCP_NODELAY not set", host, port)
    return found
