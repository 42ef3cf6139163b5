from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import find_tool
from tests.detect.servers import Capture, Exporter, SmtpSink, start_alertmanager, start_prometheus


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    """Secrets a test registers (opsctl.secrets) are redacted for the rest of the process: forget them."""
    yield
    from opsctl import secrets

    secrets.forget_all()


@pytest.fixture
def capture() -> Iterator[Capture]:
    cap = Capture()
    yield cap
    cap.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def exporter() -> Iterator[Exporter]:
    exp = Exporter()
    yield exp
    exp.stop()


@pytest.fixture(scope="session")
def prometheus(exporter: Exporter, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = find_tool("prometheus")
    proc, url = start_prometheus(binary, tmp_path_factory.mktemp("prom"), exporter.port)
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def am_webhook() -> Iterator[Capture]:
    cap = Capture()
    yield cap
    cap.stop()


@pytest.fixture(scope="session")
def alertmanager(am_webhook: Capture, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = find_tool("prometheus-alertmanager")
    proc, url = start_alertmanager(binary, tmp_path_factory.mktemp("am"), am_webhook.url + "/am")
    yield url
    proc.stop()


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
