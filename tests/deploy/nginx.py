"""Debian's nginx running the shipped configuration (deploy/nginx/richsms.conf) in front
of web hosts, with the test's addresses, ports, certificate and static path: every other
directive as shipped. Used by tests/deploy/test_nginx.py (one machine, loopback) and
tests/deploy/test_several_hosts.py (nginx in its own network namespace)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from richsms.assets import STATIC

SHIPPED = Path(__file__).parents[2] / "deploy" / "nginx" / "richsms.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass(frozen=True)
class Front:
    """Where the running nginx answers."""

    https: str
    http: str


def render(
    conf: str,
    *,
    upstreams: Sequence[str],
    address: str,
    http: int,
    https: int,
    cert: Path,
    key: Path,
) -> str:
    """The shipped file listening on `address`, with `upstreams` as the web hosts."""
    servers = "".join(f"    server {u} max_fails=1 fail_timeout=10s;\n" for u in upstreams)
    conf, found = re.subn(r"^    server \d.*\n", "", conf, flags=re.M)
    assert found == 2  # the shipped example's two web hosts, replaced by ours
    conf = conf.replace("    keepalive 64;", servers + "    keepalive 64;")
    conf = re.sub(r"^\s*listen \[::\].*\n", "", conf, flags=re.M)
    conf = conf.replace("listen 80;", f"listen {address}:{http};")
    conf = conf.replace("listen 443 ssl http2;", f"listen {address}:{https} ssl http2;")
    conf = re.sub(r"ssl_certificate .*;", f"ssl_certificate {cert};", conf)
    conf = re.sub(r"ssl_certificate_key .*;", f"ssl_certificate_key {key};", conf)
    return conf.replace("/opt/richsms/static/", f"{STATIC}/")


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for a day: (cert, key)."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextmanager
def running_nginx(
    folder: Path,
    *,
    upstreams: Sequence[str],
    address: str,
    http: int,
    https: int,
    launcher: Sequence[str] = (),
) -> Iterator[Front]:
    """nginx with the shipped site, checked with `nginx -t`, started (through `launcher`,
    say `ip netns exec NAME`) and answering on `address`; stopped on exit."""
    cert, key = certificate(folder)
    site = render(
        SHIPPED.read_text(),
        upstreams=upstreams,
        address=address,
        http=http,
        https=https,
        cert=cert,
        key=key,
    )
    (folder / "richsms.conf").write_text(site)
    (folder / "nginx.conf").write_text(
        f"user root;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        "events {}\n"
        f"http {{\n include /etc/nginx/mime.types;\n access_log off;\n"
        f" client_body_temp_path {folder}/body;\n proxy_temp_path {folder}/proxy;\n"
        f" include {folder}/richsms.conf;\n}}\n"
    )
    command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")]
    checked = subprocess.run([*launcher, *command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen([*launcher, *command, "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://{address}:{http}/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and nginx.poll() is None, "nginx did not start"
                time.sleep(0.05)
        yield Front(f"https://{address}:{https}", f"http://{address}:{http}")
    finally:
        nginx.terminate()
        nginx.wait(timeout=20)
