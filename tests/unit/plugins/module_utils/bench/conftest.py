"""Shared fixtures for the benchmark engine tests: a synthetic server per test, in a thread."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures"
if str(FIXTURES) not in sys.path:
    sys.path.insert(0, str(FIXTURES))

from synthetic_llm_server import ServerConfig, ServerThread  # noqa: E402


@pytest.fixture
def llm_server() -> Iterator[ServerThread]:
    with ServerThread(ServerConfig(ttft_s=0.05, itl_s=0.01)) as server:
        yield server


@pytest.fixture
def make_server() -> Iterator:
    started: list[ServerThread] = []

    def start(**options: object) -> ServerThread:
        server = ServerThread(ServerConfig(**options))  # type: ignore[arg-type]
        server.__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)
