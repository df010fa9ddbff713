"""docs/partners.md's quickstart, for real: the `make run` steps, gunicorn, the example client.

Runs the same commands as the Makefile's `demo` and `run` targets against a fresh SQLite
instance, then the example partner client in a subprocess, for each demo partner.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import live

ROOT = live.ROOT
BIN = live.BIN
EXAMPLE = ROOT / "docs" / "examples" / "ask_ofpra.py"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with live.serve(tmp_path_factory.mktemp("instance")) as server:
        yield server.instance / "demo" / "partners", server.env


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


def test_transport_needs_consent_then_gets_protection_status(served):
    partners, env = served
    credentials = partners / "transport.json"
    code, answer = ask(credentials, "protection-status", "--ofpra-number", "900000000001")
    assert (code, answer["status"], answer["body"]["code"]) == (1, 403, "consent_required")
    record_consent(env, credentials, "900000000001", "protection_status")
    code, answer = ask(credentials, "protection-status", "--ofpra-number", "900000000001")
    assert code == 0
    assert answer["status"] == 200
    assert answer["body"]["protected"] is True
    assert answer["body"]["protection"] == "refugee"


def record_consent(env, credentials: Path, ofpra_number: str, scope: str) -> None:
    """A consent signed at an OFPRA desk, recorded by staff (flask consents record)."""
    client_id = json.loads(credentials.read_text())["client_id"]
    subprocess.run([BIN / "flask", "consents", "record", "--ofpra-number", ofpra_number,
                    "--partner", client_id, "--scope", scope, "--days", "30",
                    "--purpose", "Demande de droits", "--by", "agent-test"],
                   cwd=ROOT, env=env, check=True, capture_output=True)


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
    record_consent(env, credentials, "900000000006", "civil_status")
    code, answer = ask(credentials, "civil-status", "--ofpra-number", "900000000006")
    assert code == 0
    body = answer["body"]
    assert body["identity"]["birth_name"] == "MUKAMANA"
    assert [relative["relation"] for relative in body["family"]] == \
        ["parent", "parent", "spouse", "child", "child"]
