"""The shipped nginx configuration (deploy/nginx/richsms.conf), run by Debian's nginx in
front of a served richsms: TLS, the redirect from plain HTTP, a dead web host skipped, the
client's address passed on and believed (RICHSMS_TRUSTED_PROXIES), static files from
disk, /metrics never reachable through it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from richsms.assets import STATIC
from richsms.db import session_scope
from shortener.codes import CodeMaker
from shortener.links import LinkSpec, create_link
from shortener.models import Click
from tests.browser.conftest import LiveServer, serve
from tests.conftest import TEST_SECRET
from tests.deploy.nginx import running_nginx
from tests.sender.delivery.providers.peers import free_port


@dataclass
class Front:
    https: str
    http: str
    live: LiveServer


@pytest.fixture
def front(database_url: str, tmp_path: Path) -> Iterator[Front]:
    with serve(database_url, RICHSMS_TRUSTED_PROXIES="127.0.0.1") as live:
        web = live.url.removeprefix("http://").rstrip("/")
        dead = f"127.0.0.1:{free_port()}"  # a web host that is down
        with running_nginx(
            tmp_path,
            upstreams=[dead, web],
            address="127.0.0.1",
            http=free_port(),
            https=free_port(),
        ) as nginx:
            yield Front(nginx.https, nginx.http, live)


def test_pages_and_links_through_the_shipped_nginx(front: Front) -> None:
    with session_scope(front.live.engine) as session:
        link = create_link(
            session=session,
            codes=CodeMaker(TEST_SECRET),
            clock=front.live.clock,
            spec=LinkSpec(url="https://shop.example/soldes"),
        )
        code, link_id = link.code, link.id
    with httpx.Client(base_url=front.https, verify=False, follow_redirects=False) as phone:
        # Every request answered, though the first web host listed is down.
        for _ in range(6):
            health = phone.get("/healthz")
            assert health.status_code == 200, (health.status_code, health.text[:300])
            assert health.json()["status"] == "ok"
        tap = phone.get(f"/{code}", headers={"X-Forwarded-For": "203.0.113.9"})
        assert tap.status_code == 302
        assert tap.headers["location"] == "https://shop.example/soldes"
        assert tap.headers["strict-transport-security"] == "max-age=31536000"
        css = phone.get("/static/blocks/page.css")
        assert css.status_code == 200
        assert css.content == (STATIC / "blocks" / "page.css").read_bytes()
        assert "expires" in css.headers  # from disk: nginx's own caching headers
        assert phone.get("/metrics").status_code == 404
    plain = httpx.get(f"{front.http}/{code}?x=1", follow_redirects=False)
    assert plain.status_code == 308
    assert plain.headers["location"].endswith(f"/{code}?x=1")
    assert plain.headers["location"].startswith("https://")
    with Session(front.live.engine) as session:
        ips = session.execute(select(Click.ip).where(Click.link_id == link_id)).scalars().all()
    assert ips == ["203.0.113.0/24"]  # the phone's address as nginx passed it on, truncated
