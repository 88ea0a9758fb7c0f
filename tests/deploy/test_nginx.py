"""The shipped nginx configuration (deploy/nginx/richsms.conf), run by Debian's nginx in
front of a served richsms: TLS, the redirect from plain HTTP, a dead web host skipped, the
client's address passed on and believed (RICHSMS_TRUSTED_PROXIES), static files from
disk, /metrics never reachable through it."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
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
from tests.sender.delivery.providers.peers import free_port

SHIPPED = Path(__file__).parents[2] / "deploy" / "nginx" / "richsms.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass
class Front:
    https: str
    http: str
    live: LiveServer


def render(conf: str, *, upstreams: list[str], http: int, https: int, cert: Path, key: Path) -> str:
    """The shipped file with this machine's addresses, ports, certificate and static path:
    every other directive as shipped."""
    servers = "".join(f"    server {u} max_fails=1 fail_timeout=10s;\n" for u in upstreams)
    conf, found = re.subn(r"^    server \d.*\n", "", conf, flags=re.M)
    assert found == 2  # the shipped example's two web hosts, replaced by ours
    conf = conf.replace("    keepalive 64;", servers + "    keepalive 64;")
    conf = re.sub(r"^\s*listen \[::\].*\n", "", conf, flags=re.M)
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{http};")
    conf = conf.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;")
    conf = re.sub(r"ssl_certificate .*;", f"ssl_certificate {cert};", conf)
    conf = re.sub(r"ssl_certificate_key .*;", f"ssl_certificate_key {key};", conf)
    return conf.replace("/opt/richsms/static/", f"{STATIC}/")


@pytest.fixture
def front(database_url: str, tmp_path: Path) -> Iterator[Front]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    http, https = free_port(), free_port()
    with serve(database_url, RICHSMS_TRUSTED_PROXIES="127.0.0.1") as live:
        web = live.url.removeprefix("http://").rstrip("/")
        dead = f"127.0.0.1:{free_port()}"  # a web host that is down
        site = render(
            SHIPPED.read_text(), upstreams=[dead, web], http=http, https=https, cert=cert, key=key
        )
        (tmp_path / "richsms.conf").write_text(site)
        (tmp_path / "nginx.conf").write_text(
            f"user root;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
            "events {}\n"
            f"http {{\n include /etc/nginx/mime.types;\n access_log off;\n"
            f" client_body_temp_path {tmp_path}/body;\n proxy_temp_path {tmp_path}/proxy;\n"
            f" include {tmp_path}/richsms.conf;\n}}\n"
        )
        checked = subprocess.run(
            [NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            capture_output=True,
            text=True,
        )
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen(
            [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{http}/", timeout=1)
                    break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline and nginx.poll() is None, (
                        "nginx did not start"
                    )
                    time.sleep(0.05)
            yield Front(f"https://127.0.0.1:{https}", f"http://127.0.0.1:{http}", live)
        finally:
            nginx.terminate()
            nginx.wait(timeout=20)


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
