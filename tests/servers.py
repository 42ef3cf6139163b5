"""Real servers on 127.0.0.1 for tests: free ports, and processes that are ready before use and always stopped."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running(cmd: list[str], ready_url: str, log: Path, timeout: float = 60.0) -> Iterator[subprocess.Popen[bytes]]:
    """Start `cmd` (output to `log`), wait until `ready_url` answers 200, yield the process, always stop it."""
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    if httpx.get(ready_url, timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{Path(cmd[0]).name} did not become ready: "
                                       + log.read_text(errors="replace")[-2000:])
                time.sleep(0.1)
            yield proc
        finally:
            stop(proc)
