"""A simulated SMSC for the SMPP tests and bench: smpp34's own server, run as a process.

    python tests/sender/delivery/providers/smsc.py PORT LOG [--throttle-every N [--queue-full]]
                                           [--receipts hex|decimal|tlv]
                                           [--receipt-delay SECONDS]
                                           [--hold-after N] [--refuse-bind] [--uvloop]
                                           [--host ADDRESS]

Every submit_sm it accepts is appended to LOG as one JSON line (flushed at once, so that
a test that kills this process still sees what it had accepted); the id of each receipt
the client acknowledged goes to LOG.receipts the same way. Lines on stdin push
mobile-originated messages to every bound session: `mo FROM TO TEXT` (one deliver_sm) or
`mo-parts FROM TO TEXT` (three concatenated parts). `--refuse-bind` answers every bind
with ESME_RINVPASWD instead, as an SMSC does for a wrong password: smpp34's server binds
anyone, so that one answer is written here, framed and checked with smpp34's codec.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import sys
import time
from typing import Any

import smpp34

BIND_TRANSCEIVER = 0x00000009
ESME_RINVPASWD = 0x0000000E


async def refuse_binds(host: str, port: int) -> None:
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            header = await reader.readexactly(16)
            (length,) = struct.unpack(">I", header[:4])
            pdu = smpp34.decode(header + await reader.readexactly(length - 16))
            assert isinstance(pdu, smpp34.RawPdu)
            body = b"SIM\x00"
            writer.write(
                struct.pack(
                    ">IIII",
                    16 + len(body),
                    pdu.command_id | 0x80000000,
                    ESME_RINVPASWD,
                    pdu.sequence_number,
                )
                + body
            )
            await writer.drain()
            await reader.read()  # the client hangs up
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(session, host, port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


class Smsc:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.log = open(args.log, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        self.receipts_log = open(f"{args.log}.receipts", "a", buffering=1)  # noqa: SIM115
        self.sessions: dict[str, smpp34.Esme] = {}
        self.count = 0
        self.held: list[smpp34.SubmitSmEvent] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self.mo_reference = 0

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self) -> None:
        server = smpp34.Server(self.args.host, self.args.port, system_id="SIM")
        await server.start()
        print("ready", flush=True)
        self.spawn(self.read_commands())
        while True:
            event = await server.next()
            if isinstance(event, smpp34.Esme):
                self.sessions[event.session_id] = event
            elif isinstance(event, smpp34.Unbound):
                self.sessions.pop(event.session_id, None)
            else:
                self.on_submit(event)

    def on_submit(self, event: smpp34.SubmitSmEvent) -> None:
        self.count += 1
        every = self.args.throttle_every
        if every and self.count % every == 0:
            event.reject(
                smpp34.ESME_RMSGQFUL if self.args.queue_full else smpp34.ESME_RTHROTTLED
            )
            return
        if self.args.hold_after and self.count > self.args.hold_after:
            self.held.append(event)  # never answered, never dropped (a drop NAKs it)
            # Seen though never answered: a test tells what reached the SMSC from this.
            with open(f"{self.args.log}.held", "a", buffering=1) as held:
                held.write(json.dumps({"to": event.destination_addr}) + "\n")
            return
        message_id = f"{self.count + 0x1000:X}"
        self.log.write(
            json.dumps(
                {
                    "id": message_id,
                    "at": time.time(),
                    "to": event.destination_addr,
                    "from": event.source_addr,
                    "source_ton": event.source_addr_ton,
                    "source_npi": event.source_addr_npi,
                    "esm_class": event.esm_class,
                    "data_coding": event.data_coding,
                    "registered_delivery": event.registered_delivery,
                    "short_message": event.short_message.hex(),
                }
            )
            + "\n"
        )
        event.accept(message_id)
        if self.args.receipts and event.registered_delivery & 0x01:
            self.spawn(self.receipt(event.session_id, event, message_id))

    async def receipt(self, session_id: str, event: smpp34.SubmitSmEvent, message_id: str) -> None:
        esme = self.sessions.get(session_id)
        if esme is None:
            return
        style = self.args.receipts
        text_id = str(int(message_id, 16)) if style == "decimal" else message_id
        text = (
            f"id:{text_id} sub:001 dlvrd:001 submit date:2612011200 done date:2612011201 "
            "stat:DELIVRD err:000 text:"
        ).encode()
        tlvs = []
        if style == "tlv":
            tlvs = [
                smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\x00"),
                smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([2])),
            ]
        if self.args.receipt_delay:
            await asyncio.sleep(self.args.receipt_delay)
        try:
            await esme.deliver_sm(
                event.source_addr,
                text,
                source_addr=event.destination_addr,
                source_addr_ton=1,
                source_addr_npi=1,
                esm_class=0x04,
                tlvs=tlvs,
            )
        except smpp34.SmppError:
            return  # the session went away: the receipt is lost, as on a real SMSC
        self.receipts_log.write(message_id + "\n")

    async def read_commands(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            command, sender, to, text = line.rstrip("\n").split(" ", 3)
            if command == "mo":
                await self.push(sender, to, [(text.encode(), 0)])
            elif command == "mo-parts":
                self.mo_reference = (self.mo_reference + 1) % 256
                third = -(-len(text) // 3)
                pieces = [text[i : i + third] for i in range(0, len(text), third)]
                bodies = [
                    (
                        bytes((5, 0, 3, self.mo_reference, len(pieces), n)) + piece.encode(),
                        0x40,
                    )
                    for n, piece in enumerate(pieces, start=1)
                ]
                await self.push(sender, to, list(reversed(bodies)))  # out of order on purpose
            print("pushed", flush=True)

    async def push(self, sender: str, to: str, bodies: list[tuple[bytes, int]]) -> None:
        # A client's connect() may return before this loop has seen its session.
        for _ in range(500):
            if self.sessions:
                break
            await asyncio.sleep(0.01)
        for esme in list(self.sessions.values()):
            for body, esm_class in bodies:
                await esme.deliver_sm(
                    to, body, source_addr=sender, source_addr_ton=1, source_addr_npi=1,
                    esm_class=esm_class,
                )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("log")
    parser.add_argument("--throttle-every", type=int, default=0)
    parser.add_argument("--queue-full", action="store_true", help="ESME_RMSGQFUL instead")
    parser.add_argument("--receipts", choices=("hex", "decimal", "tlv"), default=None)
    parser.add_argument("--receipt-delay", type=float, default=0.0)
    parser.add_argument("--hold-after", type=int, default=0)
    parser.add_argument("--refuse-bind", action="store_true")
    parser.add_argument("--uvloop", action="store_true", help="a faster event loop (bench)")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    args = parser.parse_args()
    run = asyncio.run
    if args.uvloop:
        import uvloop

        run = uvloop.run
    if args.refuse_bind:
        run(refuse_binds(args.host, args.port))
    else:
        run(Smsc(args).run())


if __name__ == "__main__":
    main()
