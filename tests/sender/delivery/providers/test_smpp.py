"""The smpp provider against a real SMPP server (smpp34's) on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from richsms.settings import Secret, Settings
from sender.delivery.providers.base import OutgoingMessage, SubmitResult
from sender.delivery.providers.smpp import SmppConfig, SmppProvider
from sender.delivery.providers.smpp_socket import open_descriptors
from tests.clock import FrozenClock
from tests.sender.delivery.providers.peers import RecordingEvents, Smsc

CLOCK = FrozenClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
MakeSmsc = Callable[..., Smsc]


def config(smsc: Smsc, **changes: object) -> SmppConfig:
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": smsc.port,
        "system_id": "richsms",
        "password": "secret",
        "window": 10,
        "connect_timeout": 2.0,
        "backoff_initial": 0.05,
        "backoff_max": 0.2,
        "bind_wait": 10.0,
        "throttle_pause": 0.01,
        "throttle_pause_max": 0.05,
    }
    options.update(changes)
    return SmppConfig(**options)  # type: ignore[arg-type]


def message(id: int, text: str = "", **changes: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "id": id,
        "phone": "+33612345678",
        "sender": "Boutique",
        "sender_kind": "alphanumeric",
        "text": text or f"Bonjour, message {id}",
        "type": "promotional",
        "encoding": "GSM-7",
        "segments": 1,
    }
    fields.update(changes)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


async def submit_all(
    provider: SmppProvider, messages: list[OutgoingMessage]
) -> list[SubmitResult]:
    results: list[SubmitResult] = []
    await provider.submit(messages, results.append)
    return results


@pytest.mark.parametrize("receipts", ["hex", "decimal", "tlv"])
def test_messages_are_accepted_and_every_part_gets_its_receipt(
    make_smsc: MakeSmsc, receipts: str
) -> None:
    smsc = make_smsc("--receipts", receipts)
    long_gsm = "Soldes d'hiver: -50% sur tout le magasin {jusqu'à dimanche} € " * 5
    long_ucs2 = "Привет 😀 " * 25
    messages = [message(i) for i in range(1, 21)]
    messages.append(message(21, long_gsm, segments=3))
    messages.append(message(22, long_ucs2, encoding="UCS-2", segments=4, sender="36180",
                            sender_kind="short_code"))
    messages.append(message(23, sender="+33700000000", sender_kind="long_code"))

    async def scenario() -> None:
        events = RecordingEvents()
        provider = SmppProvider(config(smsc), clock=CLOCK)
        await provider.start(events)
        assert provider.health().ok
        results = await submit_all(provider, messages)
        by_id = {r.message_id: r for r in results}
        assert sorted(by_id) == [m.id for m in messages] and len(results) == len(messages)
        assert all(r.state == "accepted" for r in results)
        assert len(by_id[21].provider_ids) == 3
        assert len(by_id[22].provider_ids) == 4
        all_ids = [pid for r in results for pid in r.provider_ids]
        await eventually(lambda: len(events.receipts) == len(all_ids))
        assert sorted(r.provider_id for r in events.receipts) == sorted(all_ids)
        assert {r.state for r in events.receipts} == {"delivered"}
        assert {r.at for r in events.receipts} == {CLOCK.now()}
        await provider.close()

    run(scenario)
    wire = smsc.accepted()
    assert len(wire) == 20 + 3 + 4 + 1
    plain = [w for w in wire if w["esm_class"] == 0]
    assert all(w["registered_delivery"] == 1 and w["to"] == "33612345678" for w in wire)
    assert {(w["from"], w["source_ton"], w["source_npi"]) for w in wire} == {
        ("Boutique", 5, 0),
        ("36180", 3, 0),
        ("33700000000", 1, 1),
    }
    assert len(plain) == 21
    parts = [bytes.fromhex(str(w["short_message"])) for w in wire if w["esm_class"] == 0x40]
    gsm_parts = [p for p in parts if p[4] == 3]
    ucs2_parts = [p for p in parts if p[4] == 4]
    assert sorted(p[5] for p in gsm_parts) == [1, 2, 3]
    assert len({p[3] for p in gsm_parts}) == 1  # one reference for the three parts
    assert all(p[:3] == b"\x05\x00\x03" for p in parts)
    ucs2_text = "".join(p[6:].decode("utf-16-be") for p in sorted(ucs2_parts, key=lambda p: p[5]))
    assert ucs2_text == long_ucs2


@pytest.mark.parametrize("status", ["ESME_RTHROTTLED", "ESME_RMSGQFUL"])
def test_throttling_slows_the_client_and_loses_nothing(make_smsc: MakeSmsc, status: str) -> None:
    smsc = make_smsc("--throttle-every", "4", *(["--queue-full"] if "QFUL" in status else []))
    long_text = "Nouveautés de la semaine, à découvrir en boutique et en ligne. " * 4
    messages = [message(i) for i in range(1, 41)]
    messages += [message(i, f"{i}: {long_text}", segments=2) for i in range(41, 45)]

    async def scenario() -> None:
        provider = SmppProvider(config(smsc), clock=CLOCK)
        await provider.start(RecordingEvents())
        pending = messages
        accepted: dict[int, SubmitResult] = {}
        retried = 0
        while pending:
            results = await submit_all(provider, pending)
            assert sorted(r.message_id for r in results) == sorted(m.id for m in pending)
            for result in results:
                if result.state == "accepted":
                    accepted[result.message_id] = result
                else:
                    assert result.state == "retry"
                    assert result.error is not None and status in result.error
                    assert result.retry_after is not None and result.retry_after > 0
                    retried += 1
            pending = [m for m in pending if m.id not in accepted]
        assert retried >= 10
        assert sorted(accepted) == [m.id for m in messages]
        await provider.close()

    run(scenario)
    wire = Counter(str(w["short_message"]) for w in smsc.accepted())
    assert max(wire.values()) == 1  # no part twice: a throttled later part alone is resent
    assert sum(wire.values()) == 40 + 4 * 2
    singles = Counter(bytes.fromhex(str(w["short_message"])).decode()
                      for w in smsc.accepted() if w["esm_class"] == 0)
    assert singles == Counter(m.text for m in messages[:40])  # each exactly once


def test_a_killed_smsc_leaves_each_message_sent_once_or_unknown(make_smsc: MakeSmsc) -> None:
    smsc = make_smsc("--hold-after", "15")
    messages = [message(i, f"message {i}") for i in range(1, 61)]

    async def scenario() -> None:
        provider = SmppProvider(config(smsc), clock=CLOCK)
        await provider.start(RecordingEvents())
        results: list[SubmitResult] = []
        sending = asyncio.create_task(provider.submit(messages, results.append))
        # 15 accepted, then the SMSC holds 10 submits unanswered (the window) and dies.
        await eventually(lambda: len(smsc.accepted()) == 15 and len(results) == 15)
        await asyncio.sleep(0.2)
        smsc.kill()
        await eventually(lambda: len(results) >= 25)
        smsc.options = []  # restarted as a healthy SMSC on the same port
        smsc.start()
        await sending
        counts = Counter(r.state for r in results)
        assert sorted(r.message_id for r in results) == [m.id for m in messages]
        assert counts == {"accepted": 50, "unknown": 10}
        unknown = [r for r in results if r.state == "unknown"]
        assert all("unanswered" in (r.error or "") for r in unknown)
        assert provider.binds == 2
        await provider.close()
        sent = Counter(bytes.fromhex(str(w["short_message"])).decode() for w in smsc.accepted())
        assert max(sent.values()) == 1  # none twice
        by_id = {m.id: m.text for m in messages}
        assert {by_id[r.message_id] for r in results if r.state == "accepted"} == set(sent)
        assert not {by_id[r.message_id] for r in unknown} & set(sent)

    run(scenario)


def nodelay_of_connections_to(port: int) -> list[bool]:
    """TCP_NODELAY of each of this process's TCP connections to `port` (on loopback)."""
    found = []
    for fd in open_descriptors():
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        with sock:
            try:
                tcp = sock.family in (socket.AF_INET, socket.AF_INET6)
                if tcp and sock.type == socket.SOCK_STREAM and sock.getpeername()[1] == port:
                    found.append(bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)))
            except OSError:
                continue
    return found


def test_closing_stores_every_receipt_it_acknowledged(make_smsc: MakeSmsc) -> None:
    # Receipts keep coming while the provider closes: each one smpp34 has acknowledged
    # (the SMSC will never send it again) must reach the sink before close() returns.
    smsc = make_smsc("--receipts", "hex", "--receipt-delay", "0.05")
    messages = [message(i) for i in range(1, 301)]

    async def scenario() -> set[str]:
        events = RecordingEvents()
        provider = SmppProvider(config(smsc), clock=CLOCK)
        await provider.start(events)
        results = await submit_all(provider, messages)
        assert {r.state for r in results} == {"accepted"}
        await provider.close()
        return {r.provider_id for r in events.receipts}

    stored = asyncio.run(scenario())
    acknowledged = set(smsc.acknowledged_receipts())
    assert acknowledged, "no receipt came before the unbind: the scenario proved nothing"
    assert acknowledged - stored == set()


def test_closing_against_a_frozen_smsc_does_not_hang(make_smsc: MakeSmsc) -> None:
    # smpp34 alone waits 30 s for the unbind's answer: longer than a stopping worker is
    # given before it is killed (and its acknowledged receipts lost with it).
    smsc = make_smsc()

    async def scenario() -> None:
        provider = SmppProvider(config(smsc, connect_timeout=0.5), clock=CLOCK)
        await provider.start(RecordingEvents())
        assert provider.health().ok and smsc.process is not None
        os.kill(smsc.process.pid, signal.SIGSTOP)  # alive, connected, answering nothing
        try:
            await asyncio.wait_for(provider.close(), timeout=10)
        finally:
            os.kill(smsc.process.pid, signal.SIGCONT)
        assert provider.health().detail == "closed"

    run(scenario)


def test_each_bind_writes_submits_at_once_without_nagle(make_smsc: MakeSmsc) -> None:
    """smpp34 leaves Nagle's algorithm on, which holds a submit back until the previous
    one is acknowledged (up to 40 ms): every bind, the first and after a reconnection,
    has TCP_NODELAY."""
    smsc = make_smsc()

    async def scenario() -> None:
        provider = SmppProvider(config(smsc), clock=CLOCK)
        await provider.start(RecordingEvents())
        assert nodelay_of_connections_to(smsc.port) == [True]
        smsc.kill()
        await eventually(lambda: not provider.health().ok)
        smsc.start()
        await eventually(lambda: provider.binds == 2 and provider.health().ok)
        assert nodelay_of_connections_to(smsc.port) == [True]
        results = await submit_all(provider, [message(1)])
        assert [r.state for r in results] == ["accepted"]
        await provider.close()

    run(scenario)


def test_inbound_messages_reach_the_sink_with_parts_joined(make_smsc: MakeSmsc) -> None:
    smsc = make_smsc()

    async def scenario() -> None:
        events = RecordingEvents()
        provider = SmppProvider(config(smsc), clock=CLOCK)
        await provider.start(events)
        smsc.push("mo 33612345678 36180 ARRET")
        smsc.push("mo-parts 33698765432 36180 Bonjour, je voudrais savoir si la promo tient")
        await eventually(lambda: len(events.messages) == 2)
        arret, joined = events.messages
        assert (arret.phone, arret.to, arret.text) == ("+33612345678", "36180", "ARRET")
        assert joined.phone == "+33698765432"
        assert joined.text == "Bonjour, je voudrais savoir si la promo tient"
        assert events.receipts == []
        await provider.close()

    run(scenario)


def test_a_refused_bind_is_a_clear_error_in_health(make_smsc: MakeSmsc) -> None:
    smsc = make_smsc("--refuse-bind")

    async def scenario() -> None:
        provider = SmppProvider(config(smsc, connect_timeout=0.5, bind_wait=0.2), clock=CLOCK)
        await provider.start(RecordingEvents())
        health = provider.health()
        assert not health.ok
        assert "refused" in health.detail and "invalid password" in health.detail
        results = await submit_all(provider, [message(1)])
        assert [r.state for r in results] == ["retry"]  # handed back, never lost
        await provider.close()

    run(scenario)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # nothing to store
def test_healthz_names_a_refused_bind(
    make_smsc: MakeSmsc, settings: Settings, clock: FrozenClock
) -> None:
    from web.app import create_app

    smsc = make_smsc("--refuse-bind")
    settings = settings.replace(
        provider="smpp", smpp_port=smsc.port, smpp_system_id="richsms",
        smpp_password=Secret("wrong"),
    )
    with TestClient(create_app(settings, clock=clock, run_worker=True)) as client:
        deadline = time.monotonic() + 20
        while (health := client.get("/healthz").json())["provider"]["detail"] == "not started":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert health["status"] == "degraded"
    assert health["provider"]["name"] == "smpp" and health["provider"]["ok"] is False
    assert "ESME_RINVPASWD (invalid password)" in health["provider"]["detail"]
