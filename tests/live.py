"""A live Ofpra Connect, as `make run` starts it: migrations, sandbox, demo data, gunicorn.

Used by the tests that go through real processes and sockets (the partners quickstart, the
browser journeys). Each server gets a fresh instance directory and SQLite database.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Live:
    url: str
    instance: Path
    env: dict[str, str]

    def flask(self, *args: str) -> str:
        """Run a `flask` command against this server's database; return its output."""
        run = subprocess.run([BIN / "flask", *args], cwd=ROOT, env=self.env, check=True,
                             capture_output=True, text=True)
        return run.stdout

    def demo(self, name: str) -> Any:
        """A file `make run` writes under instance/demo (partners/<kind>.json, people.json)."""
        return json.loads((self.instance / "demo" / name).read_text())


@contextlib.contextmanager
def serve(instance: Path, **settings: str) -> Iterator[Live]:
    port = free_port()
    env = {**os.environ, "OFPRA_INSTANCE": str(instance), "FLASK_APP": "wsgi:app",
           "DATABASE_URL": f"sqlite:///{instance / 'ofpra-connect.db'}",
           "OAUTH_ISSUER": f"http://127.0.0.1:{port}", **settings}
    env.pop("REDIS_URL", None)
    live = Live(f"http://127.0.0.1:{port}", instance, env)
    live.flask("db", "upgrade")
    live.flask("sandbox", "load", "sandbox/people.json")
    live.flask("partners", "demo")
    live.flask("accounts", "demo")  # as `make demo`: connection keys in instance/demo/people.json
    log = (instance / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [BIN / "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start: see "
                                       f"{instance / 'gunicorn.log'}") from None
                time.sleep(0.2)
        yield live
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
