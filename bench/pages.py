"""Personalized pages through `GET /{code}`: pages/s in one worker process, the first
(cold) render, and bytes per page.

    python -m bench.pages [--contacts 2000] [--seconds 5]

The page has a Code128 coupon, a QR coupon, a countdown and a scratch card revealing a
third coupon. Each recipient's first view assigns their coupons; the measured pass views
pages whose coupons exist and whose SVGs are cached (the steady state of a campaign). The
app is driven in-process through ASGI (no HTTP parsing: that is the redirect bench's job),
with clicks stored by the real group-commit writer on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from richsms.clock import SystemClock
from richsms.db import make_engine, session_scope
from richsms.migrate import upgrade
from richsms.settings import Settings
from sender.models import Contact

SECRET = "bench-secret-key-0123456789abcdef0123456789"
PHONE_UA = b"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile"


def blocks(now: datetime) -> list[dict[str, Any]]:
    return [
        {"type": "heading", "text": "Bonjour {{ contact.first_name | default('ami') }}"},
        {"type": "text", "text": "Les soldes d'hiver commencent : -20 % avec votre code."},
        {"type": "countdown", "deadline": (now + timedelta(days=3)).isoformat(),
         "expired_text": "Offre terminée"},
        {"id": "cp", "type": "coupon", "source": "generate", "pattern": "NOEL-######",
         "symbology": "code128"},
        {"id": "qr", "type": "coupon", "source": "generate", "pattern": "QR-######",
         "symbology": "qr"},
        {"id": "sc", "type": "scratch", "prize": "coupon", "text": "Gagné !",
         "coupon": {"source": "generate", "pattern": "SCR-######"}},
        {"type": "footer", "text": "Boutique Exemple. STOP au 36180."},
    ]


async def _get(app: Any, code: str, gzip_ok: bool = True) -> tuple[int, bytes]:
    headers = [(b"user-agent", PHONE_UA)]
    if gzip_ok:
        headers.append((b"accept-encoding", b"gzip, br"))
    scope = {"type": "http", "method": "GET", "path": f"/{code}", "raw_path": f"/{code}".encode(),
             "query_string": b"", "headers": headers, "client": ("10.0.0.1", 5555),
             "server": ("127.0.0.1", 80), "scheme": "https", "http_version": "1.1",
             "root_path": ""}
    out: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        else:
            out["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return int(out["status"]), bytes(out["body"])


async def run(contacts: int, seconds: float) -> None:
    from landing_templates.links import issue_page_links
    from landing_templates.pages import create_page, publish_page
    from shortener.codes import CodeMaker
    from web.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    clock = SystemClock()
    now = clock.now()
    with session_scope(engine) as session:
        session.add_all(
            Contact(phone=f"+3361{n:07d}", first_name=f"Client{n}", created_at=now,
                    updated_at=now) for n in range(contacts)
        )
    with session_scope(engine) as session:
        page = create_page(session=session, clock=clock, name="Soldes", language="fr",
                           blocks=blocks(now))
        assert page.page.id is not None
        publish_page(session=session, clock=clock, page_id=page.page.id)
        codes = [i.code for i in issue_page_links(
            session=session, codes=CodeMaker(SECRET), clock=clock,
            base_url="https://pages.ex.co/", page_id=page.page.id,
            contact_ids=list(range(1, contacts + 1)))]
    engine.dispose()
    settings = Settings.from_mapping({"RICHSMS_DATABASE_URL": url, "RICHSMS_SECRET_KEY": SECRET,
                                      "RICHSMS_BASE_URL": "https://pages.ex.co/",
                                      "RICHSMS_SHORT_URL": "https://ex.co/"})
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        started = time.perf_counter()
        status, body = await _get(app, codes[0])
        cold = time.perf_counter() - started
        assert status == 200, body[:200]
        _, plain = await _get(app, codes[0], gzip_ok=False)
        for code in codes:  # first views: coupons assigned, SVGs cached
            await _get(app, code)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            # 32 concurrent taps, as a web worker sees them
            batch = [codes[(done + i) % len(codes)] for i in range(32)]
            results = await asyncio.gather(*(_get(app, c) for c in batch))
            assert all(s == 200 for s, _ in results)
            done += len(batch)
        elapsed = time.perf_counter() - started
    print(f"first (cold) view, compile + coupons + render: {cold * 1000:.1f} ms")
    print(f"pages/s in one process (coupons assigned, SVGs cached): {done / elapsed:,.0f}")
    print(f"bytes per page: {len(plain):,} uncompressed, {len(body):,} gzip "
          f"(level {gzip.compress(b'', 5) and 5})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    asyncio.run(run(args.contacts, args.seconds))


if __name__ == "__main__":
    main()
