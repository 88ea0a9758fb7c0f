"""Several hosts on one machine: each a Linux network namespace with its own address,
joined by veth pairs to one bridge in the root namespace (the test itself sits on the
bridge, as the hosts' network). Needs root and `ip netns`; PostgreSQL is forwarded with
nftables (see `Network.forward`).

Every name carries a random tag (interfaces at most 15 characters), so runs never meet;
`Network.close` kills what runs in the namespaces, deletes them, the bridge and the
nftables table, and runs even when the test failed (the fixture's finalizer).
"""

from __future__ import annotations

import ipaddress
import os
import random
import secrets
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def available() -> str | None:
    """Why namespaces cannot be built here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "`ip` (iproute2) is not installed"
    probe = f"richsms-probe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` fails here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=True)
    return None


def ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"


@dataclass
class Host:
    """One host: a namespace, its address on the bridge, the processes started in it."""

    name: str
    namespace: str
    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def launcher(self) -> list[str]:
        """The command prefix that runs a program on this host."""
        return ["ip", "netns", "exec", self.namespace]

    def start(self, command: Sequence[str], env: Mapping[str, str], log: Path,
              cwd: Path) -> subprocess.Popen[bytes]:
        """`command` on this host in a session of its own (a process group to kill),
        stdout dropped and stderr to `log`. `ip netns exec` execs the command: the pid
        is the program's."""
        with log.open("ab") as sink:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(
                [*self.launcher, *command],
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        self.processes.append(process)
        return process


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process's whole group (it was started in a session of its own)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)


class Network:
    """A bridge on a /24 of 10.0.0.0/8 nobody here uses, and hosts on it (.11 upwards)."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(3)
        self.bridge = f"rsb{self.tag}"
        self.table = f"richsms_{self.tag}"
        self.hosts: list[Host] = []
        self._forwarded = False
        self._bridge_made = False
        used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
        while True:
            self.subnet = ipaddress.ip_network(
                f"10.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24"
            )
            if f" {str(self.subnet.network_address)[:-1]}" not in used:
                break
        self.gateway = str(self.subnet.network_address + 1)  # the bridge: the test's side

    def __enter__(self) -> Network:
        ip("link", "add", self.bridge, "type", "bridge")
        self._bridge_made = True
        ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def address(self, number: int) -> str:
        return str(self.subnet.network_address + number)

    def add_address(self, number: int) -> str:
        """Another address of the test's own on the bridge (a second client)."""
        address = self.address(number)
        ip("addr", "add", f"{address}/24", "dev", self.bridge)
        return address

    def host(self, name: str) -> Host:
        number = 11 + len(self.hosts)
        host = Host(name, f"richsms-{self.tag}-{name}", self.address(number))
        self.hosts.append(host)
        outside, inside = f"rsv{self.tag}{number}", f"rsp{self.tag}{number}"
        ip("netns", "add", host.namespace)
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        ip("link", "set", inside, "netns", host.namespace)
        ip("link", "set", outside, "master", self.bridge, "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", inside)
        ip("-n", host.namespace, "link", "set", inside, "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")
        ip("-n", host.namespace, "route", "add", "default", "via", self.gateway)
        return host

    def forward(self, port: int, to_host: str, to_port: int) -> str:
        """Makes `to_host:to_port`, a service of the root namespace listening on loopback
        only, reachable from the hosts at `gateway:port`; returns that address.

        In the kernel, no process in between: nftables rewrites the destination of what
        the bridge receives for `gateway:port` to `to_host:to_port` (DNAT; loopback is a
        destination the kernel routes from another interface only with the bridge's
        `route_localnet`), and its source to 127.0.0.1 (SNAT on input), so the service
        sees a local client, as its access rules (pg_hba.conf) expect. Replies are
        translated back by connection tracking.
        """
        subprocess.run(
            ["sysctl", "-q", "-w", f"net.ipv4.conf.{self.bridge}.route_localnet=1"], check=True
        )
        rules = (
            f"table ip {self.table} {{\n"
            "  chain prerouting {\n"
            "    type nat hook prerouting priority dstnat;\n"
            f'    iifname "{self.bridge}" ip daddr {self.gateway} tcp dport {port}'
            f" dnat to {to_host}:{to_port}\n"
            "  }\n"
            "  chain input {\n"
            "    type nat hook input priority 100;\n"
            f'    iifname "{self.bridge}" ip daddr {to_host} tcp dport {to_port}'
            " snat to 127.0.0.1\n"
            "  }\n"
            "}\n"
        )
        done = subprocess.run(["nft", "-f", "-"], input=rules, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        self._forwarded = True
        return f"{self.gateway}:{port}"

    def close(self) -> None:
        """Everything this network made, gone; each step runs whatever the others did."""
        for host in self.hosts:
            for process in host.processes:
                try:
                    kill(process)
                except Exception:  # noqa: BLE001 - the rest must still be torn down
                    pass
            # Whatever else still runs there (a child that left its process group).
            pids = subprocess.run(
                ["ip", "netns", "pids", host.namespace], capture_output=True, text=True
            ).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True)
        if self._forwarded:
            subprocess.run(["nft", "delete", "table", "ip", self.table], capture_output=True)
        if self._bridge_made:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
