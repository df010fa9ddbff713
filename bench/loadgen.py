"""wrk, driven on loopback with post.lua; its `done()` summary is parsed into a `Result`."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "post.lua"
PATH = "/v1/protection-status"


@dataclass(frozen=True)
class Result:
    duration_s: float
    requests: int  # completed responses, whatever their status
    sent: int  # requests written; those in flight when wrk stopped may still be answered
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx


def ensure_wrk() -> str:
    """Return wrk's path, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get install -y wrk", flush=True)
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"],
                      stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], stdout=subprocess.DEVNULL,
                       check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def run(port: int, *, token: str, first_number: int, people: int, recipient: str,
        duration: float, connections: int, threads: int) -> Result:
    """Load 127.0.0.1:port for `duration` seconds; return what wrk measured."""
    command = [
        ensure_wrk(), f"--threads={threads}", f"--connections={connections}",
        f"--duration={max(1, round(duration))}s", "--timeout=10s", f"--script={SCRIPT}",
        f"http://127.0.0.1:{port}{PATH}", "--",
        token, str(first_number), str(people), recipient,
    ]
    completed = subprocess.run(command, capture_output=True, text=True,
                               timeout=duration + 60, check=False)
    line = next((line for line in completed.stdout.splitlines()
                 if line.startswith("BENCH-RESULT ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stdout}"
                           f"{completed.stderr}")
    data = json.loads(line.removeprefix("BENCH-RESULT "))
    return Result(
        duration_s=data["duration_us"] / 1e6, requests=data["requests"], sent=data["sent"],
        non_2xx=data["non_2xx"],
        socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"]
        + data["timeouts"],
        p50_ms=data["p50_us"] / 1000, p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000, max_ms=data["max_us"] / 1000,
    )
