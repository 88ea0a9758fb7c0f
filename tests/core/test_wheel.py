"""The wheel an operator installs serves the product, not only the code.

Built as a release is (the sdist, then the wheel from it), installed into a fresh virtualenv
outside the checkout, it migrates a new SQLite file, serves, and answers the UI and the assets
the UI links. Nothing is fetched: the build runs with the backend of the test environment, and
the fresh virtualenv sees the test environment's packages through a `.pth` file, with the
wheel installed alone (`--no-deps`).
"""

from __future__ import annotations

import os
import re
import signal
import site
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# Every file of these folders is read by the service at run time.
DATA_FOLDERS = (
    "static",
    "web/templates",
    "landing_templates/templates",
    "landing_templates/blocks",
    "richsms/migrations",
    "richsms/locale",
)


def build_wheel(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = out.glob("richsms-*.whl")
    return wheel


def data_files() -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for folder in DATA_FOLDERS
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def fresh_venv(where: Path, wheel: Path) -> Path:
    """A virtualenv holding the wheel alone, seeing the test environment's dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # A plain path line: the test environment's own .pth files (the checkout's editable
    # install among them) are not run, so `richsms` can only come from the wheel.
    Path(purelib, "test-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "--disable-pip-version-check",
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return where / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise RuntimeError(log.read_text())
        time.sleep(0.05)
    raise RuntimeError("the installed server never became healthy: " + log.read_text())


def test_the_installed_wheel_migrates_serves_the_ui_and_its_assets(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "dist")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert sorted(data_files() - shipped) == []

    bin_dir = fresh_venv(tmp_path / "venv", wheel)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("RICHSMS_", "PYTHON"))},
        "RICHSMS_DATABASE_URL": f"sqlite:///{tmp_path / 'richsms.db'}",
        "RICHSMS_SECRET_KEY": "wheel-test-secret-0123456789abcdef0123456789",
    }
    env.pop("VIRTUAL_ENV", None)
    where = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            "import richsms, richsms.assets as a; print(richsms.__file__); print(a.STATIC)",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout.split()
    venv = (tmp_path / "venv").resolve()
    assert [Path(p).is_relative_to(venv) for p in where] == [True, True], where

    richsms = str(bin_dir / "richsms")
    upgraded = subprocess.run(
        [richsms, "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert upgraded.returncode == 0, upgraded.stderr

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [richsms, "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        wait_healthy(server, base, log)
        ui = httpx.get(f"{base}/ui/", follow_redirects=True, timeout=10)
        assert ui.status_code == 200, ui.text
        assert "text/html" in ui.headers["content-type"]
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', ui.text)
        assert assets, ui.text
        for asset in assets:
            answer = httpx.get(base + asset, timeout=10)
            assert (asset, answer.status_code) == (asset, 200)
            file = ROOT / asset.partition("?")[0].removeprefix("/")
            assert answer.content == file.read_bytes()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=20)
