"""docs/partners.md's quickstart, for real: the `make run` steps, gunicorn, the example client.

Runs the same commands as the Makefile's `demo` and `run` targets against a fresh SQLite
instance, then the example partner client in a subprocess, for each demo partner.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "docs" / "examples" / "ask_ofpra.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    port = free_port()
    env = {**os.environ, "OFPRA_INSTANCE": str(instance), "FLASK_APP": "wsgi:app",
           "DATABASE_URL": f"sqlite:///{instance / 'ofpra-connect.db'}",
           "OAUTH_ISSUER": f"http://127.0.0.1:{port}"}
    env.pop("REDIS_URL", None)
    for command in (["db", "upgrade"], ["sandbox", "load", "sandbox/people.json"],
                    ["partners", "demo"]):
        subprocess.run([BIN / "flask", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    log = (instance / "gunicorn.log").open("wb")
    server = subprocess.Popen(
        [BIN / "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start")
        yield instance / "demo" / "partners", env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def ask(credentials: Path, *args: str) -> tuple[int, dict]:
    run = subprocess.run([sys.executable, EXAMPLE, credentials, *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    return run.returncode, json.loads(run.stdout)


def test_demo_partner_files(served):
    partners, _ = served
    transport = json.loads((partners / "transport.json").read_text())
    assert transport["scopes"] == ["protection_status"]
    assert transport["private_jwk"]["d"]  # the partner's own private key, for the demo only
    assert oct((partners / "transport.json").stat().st_mode)[-3:] == "600"
    assert {path.name for path in partners.iterdir()} == {"transport.json", "school.json",
                                                          "caf.json"}


def test_transport_asks_protection_status(served):
    partners, _ = served
    code, answer = ask(partners / "transport.json", "protection-status",
                       "--ofpra-number", "900000000001")
    assert code == 0
    assert answer["status"] == 200
    assert answer["body"]["protected"] is True
    assert answer["body"]["protection"] == "refugee"


def test_school_asks_progress(served):
    partners, _ = served
    code, answer = ask(partners / "school.json", "civil-status-progress",
                       "--agdref-number", "7500000002", "--birth-date", "1992-11-30")
    assert code == 0
    assert answer["body"]["within_delay"] is False


def test_caf_needs_consent_then_gets_civil_status(served):
    partners, env = served
    credentials = partners / "caf.json"
    code, answer = ask(credentials, "civil-status", "--ofpra-number", "900000000006")
    assert (code, answer["status"], answer["body"]["code"]) == (1, 403, "consent_required")
    client_id = json.loads(credentials.read_text())["client_id"]
    subprocess.run([BIN / "flask", "consents", "record", "--ofpra-number", "900000000006",
                    "--partner", client_id, "--scope", "civil_status", "--days", "30",
                    "--purpose", "Ouverture de droits", "--by", "agent-test"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    code, answer = ask(credentials, "civil-status", "--ofpra-number", "900000000006")
    assert code == 0
    body = answer["body"]
    assert body["identity"]["birth_name"] == "MUKAMANA"
    assert [relative["relation"] for relative in body["family"]] == \
        ["parent", "parent", "spouse", "child", "child"]
