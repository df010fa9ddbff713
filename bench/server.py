"""gunicorn on loopback, with the settings `make run` uses: 2 sync workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not listen on {port} within {timeout} s")


@contextmanager
def gunicorn(target: str, *, port: int, workers: int, env: dict[str, str] | None = None,
             chdir: Path = ROOT, log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Serve `target` (module:app) on 127.0.0.1:port until the block ends."""
    command = [str(GUNICORN), "--workers", str(workers), "--worker-class", "sync",
               "--bind", f"127.0.0.1:{port}", "--chdir", str(chdir),
               # The load generator holds connections open; never time out a busy worker here.
               "--timeout", "120", "--log-level", "warning", target]
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, env={**os.environ, **(env or {})}, stdout=output,
                               stderr=output, start_new_session=True)
    try:
        _wait_until_listening(port, process, timeout=60)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if log and output is not subprocess.DEVNULL:
            output.close()  # type: ignore[union-attr]
