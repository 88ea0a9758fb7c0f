"""Why did a bind fail? One bind_transceiver written by hand, to read the SMSC's answer.

smpp34's `Client.connect()` reports a bind the SMSC refused (a wrong password, an
unknown system_id) only as "bind timed out", after the whole connect timeout: the
status is logged on the Rust side and never reaches Python. An operator looking at
/healthz needs to read "invalid password", so after a failed connect we bind once more
ourselves, read the bind_transceiver_resp's command_status, and unbind if it was
accepted after all. This is diagnosis only: every message goes through smpp34.
"""

from __future__ import annotations

import asyncio
import ssl
import struct
from typing import Final

BIND_TRANSCEIVER: Final = 0x00000009
UNBIND: Final = 0x00000006
INTERFACE_VERSION: Final = 0x34

BIND_ERRORS: Final = {
    0x05: "ESME_RALYBND (already bound)",
    0x08: "ESME_RSYSERR (system error)",
    0x0D: "ESME_RBINDFAIL (bind failed)",
    0x0E: "ESME_RINVPASWD (invalid password)",
    0x0F: "ESME_RINVSYSID (invalid system_id)",
    0x53: "ESME_RINVSYSTYP (invalid system_type)",
    0x58: "ESME_RTHROTTLED (throttled)",
}


def _c_string(value: str) -> bytes:
    return value.encode("ascii", "replace") + b"\x00"


def bind_pdu(system_id: str, password: str, system_type: str, sequence: int = 1) -> bytes:
    body = (
        _c_string(system_id)
        + _c_string(password)
        + _c_string(system_type)
        + bytes((INTERFACE_VERSION, 0, 0))
        + _c_string("")
    )
    return struct.pack(">IIII", 16 + len(body), BIND_TRANSCEIVER, 0, sequence) + body


async def bind_refusal(
    host: str,
    port: int,
    system_id: str,
    password: str,
    system_type: str,
    *,
    tls: bool = False,
    timeout: float = 5.0,
) -> str | None:
    """The SMSC's reason for refusing our bind, or None when it accepts it (or says
    nothing we can read: the connect error then stands on its own)."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=ssl.create_default_context() if tls else None
            )
            try:
                writer.write(bind_pdu(system_id, password, system_type))
                await writer.drain()
                header = await reader.readexactly(16)
                _length, command_id, status, _sequence = struct.unpack(">IIII", header)
                if command_id != BIND_TRANSCEIVER | 0x80000000:
                    return None
                if status == 0:
                    writer.write(struct.pack(">IIII", 16, UNBIND, 0, 2))
                    await writer.drain()
                    return None
                return BIND_ERRORS.get(status, f"command_status 0x{status:08X}")
            finally:
                writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return None
