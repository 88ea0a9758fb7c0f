"""Fixtures for the provider tests: simulated SMSCs, killed at the end of each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.sender.delivery.providers.peers import Smsc


@pytest.fixture
def smsc_factory(tmp_path: Path) -> Iterator[list[Smsc]]:
    started: list[Smsc] = []
    yield started
    for smsc in started:
        smsc.kill()


@pytest.fixture
def make_smsc(tmp_path: Path, smsc_factory: list[Smsc]) -> Callable[..., Smsc]:
    def make(*options: str) -> Smsc:
        smsc = Smsc(tmp_path / f"smsc{len(smsc_factory)}.jsonl", *options)
        smsc_factory.append(smsc)
        return smsc.start()

    return make
