"""Several hosts, proven (issue 22): richsms as `deploy/` installs it, on one machine.

Each host is a network namespace with its own address on a bridge (tests/deploy/netns.py):
two web hosts (`richsms serve --no-worker`), two worker hosts (`richsms worker`), a Redis
host (a `redis-server` of its own), an SMSC host (the simulated SMSC,
tests/sender/delivery/providers/smsc.py) and a load balancer host running nginx with the
shipped deploy/nginx/richsms.conf (tests/deploy/nginx.py). The test stands on the bridge
as the phones and the marketer do, and speaks to nginx only, but where it must name a
web host (a session opened on one, used on the other).

PostgreSQL is the machine's own, which listens on 127.0.0.1 only and is left as it is
configured (CI runs on it): the hosts reach it at the bridge's address, forwarded in the
kernel by nftables (DNAT to 127.0.0.1:5432, allowed by the bridge's `route_localnet`, and
SNAT to 127.0.0.1 so that pg_hba.conf sees a local client). That keeps every byte between
the hosts and the database on the namespaces' network with no process of ours in
between, as a userspace forwarder would be (one more thing to crash, and to slow).

Through nginx a marketer imports 5,000 contacts and sends them a campaign with a link,
to the SMSC; phones tap the links they received all along. Mid-campaign one worker host
is killed (SIGKILL) with messages claimed, and one web host is stopped (SIGTERM, as
`systemctl stop`). It holds when:

- no recipient got the message twice: the SMSC saw each number at most once;
- every message ends in a final state (the dead worker's claims taken over by the other:
  those it may have handed to the SMSC `unknown`, never resent; the rest sent);
- every redirect a phone received has its click stored;
- a UI session signed in on one web host works on the other;
- the short links' miss limit and the sign-in limit, spent half on each web host, are
  in force on both (one Redis).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlmodel import col

from richsms.settings import Settings
from sender.delivery.models import FINAL_STATES, SENDING, SENT, UNKNOWN, Message
from shortener.models import Click, Link
from tests.clock import FrozenClock
from tests.deploy import netns
from tests.deploy.nginx import Front, running_nginx
from tests.sender.delivery.providers.peers import Smsc
from tests.web.test_ui import PASSWORD, csrf, make_user

pytestmark = pytest.mark.postgres_only  # several hosts share PostgreSQL and Redis by nature

RICHSMS = str(Path(sys.executable).with_name("richsms"))
DEADLINE = 120.0  # seconds: no wait is unbounded, and none is near this on a busy machine
RECIPIENTS = 5_000
BATCH = 50  # messages a worker claims at once
PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/126.0 Mobile Safari/537.36"


def wait_for(what: str, condition: Callable[[], object], *processes: subprocess.Popen[bytes],
             logs: Path | None = None) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        for process in processes:
            if process.poll() is not None:
                found = sorted(logs.glob("*.log")) if logs else []
                told = "".join(f"{p.name}: {p.read_text()[-3000:]}\n" for p in found)
                raise AssertionError(f"{process.args} exited while waiting for {what}:\n{told}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@dataclass
class Cluster:
    front: Front
    web: list[netns.Host]
    web_processes: list[subprocess.Popen[bytes]]
    workers: list[subprocess.Popen[bytes]]
    smsc: Smsc
    network: netns.Network
    logs: Path


@pytest.fixture
def cluster(settings: Settings, tmp_path: Path) -> Iterator[Cluster]:
    unavailable = netns.available()
    if unavailable is not None:
        pytest.skip(unavailable)
    with netns.Network() as network:
        web = [network.host("web1"), network.host("web2")]
        workers = [network.host("worker1"), network.host("worker2")]
        redis_host, smsc_host, balancer = (
            network.host("redis"), network.host("smsc"), network.host("lb")
        )
        url = make_url(settings.database_url)
        network.forward(5432, socket.gethostbyname(url.host or "127.0.0.1"), url.port or 5432)
        shared = {
            **os.environ,
            "RICHSMS_ENV": "production",  # as deploy/richsms.env.example: Secure cookies
            "RICHSMS_DATABASE_URL": url.set(host=network.gateway, port=5432).render_as_string(
                hide_password=False
            ),
            "RICHSMS_SECRET_KEY": settings.secret_key.reveal(),
            "RICHSMS_REDIS_URL": f"redis://{redis_host.address}:6379/0",
            "RICHSMS_SHORT_URL": f"https://{balancer.address}/",
            "RICHSMS_BASE_URL": f"https://{balancer.address}/",
            "RICHSMS_FREQUENCY_CAP": "off",
            "RICHSMS_FREQUENCY_GAP_HOURS": "0",
        }
        logs = tmp_path / "logs"
        logs.mkdir()
        redis = redis_host.start(
            ["redis-server", "--bind", redis_host.address, "--port", "6379", "--save", "",
             "--appendonly", "no", "--protected-mode", "no"],
            shared, logs / "redis.log", tmp_path,
        )
        smsc = Smsc(tmp_path / "smsc.jsonl", host=smsc_host.address, launcher=smsc_host.launcher)
        smsc.start()
        try:
            web_processes = [
                host.start(
                    [RICHSMS, "serve", "--host", host.address, "--port", "8000", "--no-worker"],
                    # Only nginx's X-Forwarded-For is believed (deploy/nginx/richsms.conf).
                    {**shared, "RICHSMS_TRUSTED_PROXIES": balancer.address},
                    logs / f"{host.name}.log",
                    tmp_path,
                )
                for host in web
            ]
            worker_processes = [
                host.start(
                    [RICHSMS, "worker"],
                    {
                        **shared,
                        "RICHSMS_PROVIDER": "smpp",
                        "RICHSMS_SMPP_HOST": smsc_host.address,
                        "RICHSMS_SMPP_PORT": str(smsc.port),
                        "RICHSMS_SMPP_WINDOW": "10",
                        "RICHSMS_WORKER_BATCH": str(BATCH),
                        "RICHSMS_DEFAULT_RATE": "1000000",
                        # A dead worker's claims are taken over within seconds (20 s by default).
                        "RICHSMS_WORKER_ALIVE_SECONDS": "4",
                    },
                    logs / f"{host.name}.log",
                    tmp_path,
                )
                for host in workers
            ]
            everyone = (redis, *web_processes, *worker_processes)
            for host in web:
                wait_for(f"{host.name} to answer", lambda h=host: healthy(h.address), *everyone,
                         logs=logs)
            for host in workers:
                wait_for(f"{host.name} to start",
                         lambda h=host: "started" in (logs / f"{h.name}.log").read_text(),
                         *everyone, logs=logs)
            (tmp_path / "nginx").mkdir()
            with running_nginx(
                tmp_path / "nginx",
                upstreams=[f"{host.address}:8000" for host in web],
                address=balancer.address,
                http=80,
                https=443,
                launcher=balancer.launcher,
            ) as front:
                yield Cluster(front, web, web_processes, worker_processes, smsc, network, logs)
        finally:
            smsc.kill()


def healthy(address: str) -> bool:
    try:
        return httpx.get(f"http://{address}:8000/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Phones:
    """Phones tapping the links the SMSC delivered, through nginx, from threads, until
    stopped: every answer kept as (code, status), a failed request as status 0."""

    def __init__(self, front: Front, smsc: Smsc, short_host: str) -> None:
        self.front = front
        self.smsc = smsc
        self.pattern = re.compile(re.escape(short_host) + r"/([0-9A-Za-z]+)")
        self.answers: list[tuple[str, int]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.tap, args=(n,)) for n in range(3)]

    def codes(self) -> list[str]:
        found = []
        for message in self.smsc.accepted():
            text = bytes.fromhex(str(message["short_message"])).decode("latin-1")
            match = self.pattern.search(text)
            assert match is not None, text
            found.append(match.group(1))
        return found

    def tap(self, n: int) -> None:
        with httpx.Client(base_url=self.front.https, verify=False, timeout=30,
                          headers={"User-Agent": PHONE_UA}) as phone:
            seen: list[str] = []
            i = n
            while not self.stop.is_set():
                if i >= len(seen):
                    seen = self.codes()
                    if i >= len(seen):
                        time.sleep(0.2)
                        continue
                code = seen[i]
                try:
                    status = phone.get(f"/{code}", follow_redirects=False).status_code
                except httpx.HTTPError:
                    status = 0
                self.answers.append((code, status))
                i += 2  # every link tapped, most by two phones

    def __enter__(self) -> Phones:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=DEADLINE)


def state_counts(engine: Engine) -> Counter[str]:
    with engine.begin() as conn:
        rows = conn.execute(select(col(Message.state), func.count()).group_by(col(Message.state)))
        return Counter({state: int(n) for state, n in rows})


def claims_of(engine: Engine, pid: int) -> int:
    with engine.begin() as conn:
        return int(conn.execute(
            select(func.count()).select_from(Message).where(
                col(Message.state) == SENDING, col(Message.claimed_by).contains(f":{pid}:")
            )
        ).scalar_one())


def client_from(source: str | None, **options: object) -> httpx.Client:
    """An HTTP client whose requests leave from our address `source` on the bridge."""
    transport = httpx.HTTPTransport(local_address=source, verify=False)
    return httpx.Client(transport=transport, timeout=30, **options)  # type: ignore[arg-type]


def sign_in(base: str, email: str, password: str, source: str | None = None) -> httpx.Response:
    """The sign-in form then its POST, on one host (`base`), cookies carried by hand
    (they are Secure: a plain-HTTP client would not send them back)."""
    with client_from(source, base_url=base) as browser:
        form = browser.get("/ui/signin")
        return browser.post(
            "/ui/signin",
            data={"csrf": csrf(form.text), "email": email, "password": password},
            headers={"Cookie": cookie_header(form)},
        )


def cookie_header(response: httpx.Response) -> str:
    return "; ".join(f"{name}={value}" for name, value in response.cookies.items())


@pytest.fixture
def marketer(cluster: Cluster, token: str) -> Iterator[httpx.Client]:
    """The API through nginx, with an administrator's token."""
    with client_from(
        None, base_url=cluster.front.https, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def test_a_campaign_through_nginx_survives_a_killed_worker_and_a_stopped_web_host(
    cluster: Cluster, marketer: httpx.Client, engine: Engine, clock: FrozenClock
) -> None:
    front, smsc = cluster.front, cluster.smsc
    host_a, host_b = (f"http://{h.address}:8000" for h in cluster.web)
    make_user(engine, clock, "anne@shop.example")
    # A second client address of ours on the bridge: the guesser, whose limits are spent.
    guesser = cluster.network.add_address(2)

    # A UI session opened on web host A is one on web host B (sessions are rows).
    signed = sign_in(host_a, "anne@shop.example", PASSWORD)
    assert signed.status_code == 303, signed.text[:300]
    session_cookie = cookie_header(signed)
    with httpx.Client(base_url=host_b, timeout=30) as browser:
        assert browser.get("/ui/").status_code == 303  # signed out: to the sign-in form
        on_b = browser.get("/ui/", headers={"Cookie": session_cookie})
    assert on_b.status_code == 200 and 'action="/ui/signout"' in on_b.text  # signed in

    # The sign-in limit (30 attempts per address per 10 min), spent half on each host.
    for n in range(15):
        for host in (host_a, host_b):
            assert sign_in(host, f"u{n}@shop.example", "guess", guesser).status_code == 401
    for host in (host_a, host_b):
        assert sign_in(host, "anne@shop.example", PASSWORD, guesser).status_code == 429
    assert sign_in(host_a, "anne@shop.example", PASSWORD).status_code == 303  # others may

    # The short links' miss limit (20 per address), spent half on each host.
    link = marketer.post("/api/links", json={"url": "https://shop.example/"})
    assert link.status_code == 201, link.text
    code = link.json()["code"]
    with client_from(guesser) as phone:
        for n in range(10):
            for name, host in (("A", host_a), ("B", host_b)):
                assert phone.get(f"{host}/Guess{name}{n:04d}").status_code == 404
        for host in (host_a, host_b, front.https):
            wait_for(f"the block at {host}",
                     lambda h=host: phone.get(f"{h}/{code}").status_code == 429)
    with client_from(None, base_url=front.https) as phone:
        assert phone.get(f"/{code}").status_code == 302  # another phone is not blocked

    # The campaign, as a marketer sends it through nginx.
    phones = [f"+3361{n:07d}" for n in range(RECIPIENTS)]
    csv = "phone;first_name;consent_type;consent_source\n" + "".join(
        f"{p};Client {n};express;web form\n" for n, p in enumerate(phones)
    )
    imported = marketer.post("/api/contacts/import", content=csv.encode(),
                             headers={"Content-Type": "text/csv"})
    assert imported.status_code == 200 and imported.json()["imported"] == RECIPIENTS, imported.text
    group = marketer.post("/api/groups", json={"name": "Everyone"}).json()["id"]
    added = marketer.post(f"/api/groups/{group}/members", json={"phones": phones})
    assert added.status_code == 200, added.text
    created = marketer.post("/api/campaigns", json={
        "name": "Suivi de commande",
        "type": "informational",
        "template": "Votre commande est en route: {{ link }}",
        "target_url": "https://shop.example/suivi",
        "group_ids": [group],
        "window_start": "00:00",
        "window_end": "23:59",
        "rate": 250,  # about 20 s of sending: time to kill and stop hosts in the middle
    })
    assert created.status_code == 201, created.text
    campaign = created.json()["id"]
    assert marketer.post(f"/api/campaigns/{campaign}/send").status_code == 202

    short_host = front.https.removeprefix("https://").removesuffix(":443")
    dead_worker, web_a = cluster.workers[0], cluster.web_processes[0]
    living = (cluster.workers[1], cluster.web_processes[1])
    with Phones(front, smsc, short_host) as tapping:
        # Mid-campaign: worker host 1 killed with messages claimed, web host A stopped.
        wait_for("a thousand messages at the SMSC and worker 1 holding claims",
                 lambda: len(smsc.accepted()) >= 1000 and claims_of(engine, dead_worker.pid) > 0,
                 *cluster.workers, logs=cluster.logs)
        netns.kill(dead_worker)
        web_a.send_signal(signal.SIGTERM)
        assert web_a.wait(timeout=DEADLINE) == 0
        taps_before = len(tapping.answers)
        wait_for("every message in a final state",
                 lambda: set(state_counts(engine)) <= set(FINAL_STATES), *living,
                 logs=cluster.logs)
        wait_for("the campaign done",
                 lambda: marketer.get(f"/api/campaigns/{campaign}").json()["status"] == "done",
                 *living, logs=cluster.logs)
        wait_for("phones tapping through web host B alone",
                 lambda: len(tapping.answers) >= taps_before + 200, *living, logs=cluster.logs)

    # Nobody got the message twice, and nobody was forgotten: what the SMSC never saw from
    # the dead worker was sent by the living one.
    seen = Counter(str(m["to"]) for m in smsc.accepted())
    assert max(seen.values()) == 1, seen.most_common(3)
    with engine.begin() as conn:
        rows = conn.execute(select(col(Message.phone), col(Message.state))).all()
    state_of = {str(phone).lstrip("+"): state for phone, state in rows}
    assert len(rows) == len(state_of) == RECIPIENTS
    assert set(state_of.values()) <= {SENT, UNKNOWN}, Counter(state_of.values())
    sent = {to for to, state in state_of.items() if state == SENT}
    unknown = set(state_of) - sent
    assert sent <= set(seen)  # sent: the SMSC accepted it, once
    assert set(seen) | unknown == set(state_of)
    # Unknown: only the dead worker's, what it may have handed to the SMSC without recording
    # the answer: the two batches it was handing over, never one it had only claimed
    # (tests/sender/delivery/test_worker_processes.py). Never resent: seen at most once.
    with engine.begin() as conn:
        holders = set(conn.execute(
            select(col(Message.claimed_by)).where(col(Message.state) == UNKNOWN)
        ).scalars())
    assert all(f":{dead_worker.pid}:" in str(holder) for holder in holders), holders
    assert len(unknown) <= 2 * BATCH, len(unknown)

    # Every redirect a phone received has its click, whichever host answered it.
    answered = Counter(code for code, status in tapping.answers if status == 302)
    assert sum(answered.values()) >= 200
    assert {status for _, status in tapping.answers} == {302}, Counter(
        status for _, status in tapping.answers
    )  # nginx sent every tap to a living host
    with engine.begin() as conn:
        stored = Counter({
            str(code): int(n)
            for code, n in conn.execute(
                select(col(Link.code), func.count())
                .join(Click, col(Click.link_id) == col(Link.id))
                .group_by(col(Link.code))
            )
        })
    missing = {c: (n, stored[c]) for c, n in answered.items() if stored[c] < n}
    assert not missing, missing
