"""docs/examples/verify_attestation.py: with only the published keys and revocation list."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from joserfc import jwk
from sqlalchemy import select

from app.attestations import payload, revocation, signing
from app.people.models import Protection
from tests.attestations.conftest import issue

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "verify_attestation.py"


@pytest.fixture()
def published(client, tmp_path):  # type: ignore[no-untyped-def]
    """Fetch the two public files, as a verifier does when online; return their paths."""

    def fetch() -> tuple[Path, Path]:
        keys, listing = tmp_path / "jwks.json", tmp_path / "revoked.json"
        keys.write_bytes(client.get("/attestations/jwks.json").data)
        listing.write_bytes(client.get("/attestations/revoked.json").data)
        return keys, listing

    return fetch


def run(token: str, keys: Path, listing: Path, *extra: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, str(SCRIPT), "--keys", str(keys), "--revoked",
                           str(listing), *extra, "-"], input=token, capture_output=True,
                          text=True, timeout=60, check=False)
    return done.returncode, done.stdout + done.stderr


def test_it_verifies_a_valid_attestation_and_prints_its_facts(app, db_session, refugee,
                                                              published) -> None:
    issued = issue(app, db_session, refugee, "protection_status")
    db_session.commit()
    code, out = run(issued.token, *published())
    assert code == 0, out
    assert "verdict: valid" in out
    assert f"attestation: {issued.terms.id}" in out
    assert '"birth name": "NOORI"' in out and '"given names": ["Amina", "Zahra"]' in out
    assert 'facts: {"date": "2021-03-02", "kind": "refugee", "protected": true}' in out


def test_it_refuses_a_changed_byte_a_stranger_and_garbage(app, db_session, refugee,
                                                          published) -> None:
    issued = issue(app, db_session, refugee, "protection_status")
    db_session.commit()
    keys, listing = published()
    position = len(issued.token) // 3
    tampered = issued.token[:position] + ("A" if issued.token[position] != "A" else "B") \
        + issued.token[position + 1:]
    stranger = jwk.ECKey.generate_key("P-256", parameters={"kid": issued.key_id})
    claims = payload.claims(issued.terms, issued.scope, issued.holder, issued.record)
    for token in (tampered, signing.sign(claims, stranger), "not an attestation"):
        code, out = run(token, keys, listing)
        assert (code, out.splitlines()[0][:15]) == (1, "verdict: forged"), out
        assert "NOORI" not in out


def test_it_refuses_a_revoked_one_once_the_list_is_fetched_again(app, db_session, refugee,
                                                                 published) -> None:
    issued = issue(app, db_session, refugee, "protection_status")
    db_session.commit()
    keys, old_listing = published()
    old_listing = old_listing.rename(old_listing.with_name("old.json"))
    protection = db_session.scalars(
        select(Protection).where(Protection.person_id == refugee.id)).one()
    protection.ended_on = date.today() - timedelta(days=1)
    revocation.revoke_stale(db_session, refugee.id, datetime.now(UTC))
    db_session.commit()
    assert run(issued.token, keys, old_listing)[0] == 0  # offline, it cannot know yet
    code, out = run(issued.token, *published())
    assert code == 1 and "verdict: revoked" in out


def test_expiry_and_an_out_of_date_list(app, db_session, refugee, published) -> None:
    issued = issue(app, db_session, refugee, "civil_status_progress")
    db_session.commit()
    keys, listing = published()
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    code, out = run(issued.token, keys, listing, "--at", later)
    assert code == 3 and "verdict: valid" in out and "fetch a new one" in out
    after = datetime.combine(issued.terms.valid_until + timedelta(days=1),
                             datetime.min.time(), tzinfo=UTC).isoformat()
    code, out = run(issued.token, keys, listing, "--at", after)
    assert code == 1 and "verdict: expired" in out


def test_a_rotated_key_still_verifies_offline(app, db_session, refugee, own_keys,
                                              published) -> None:
    old = issue(app, db_session, refugee, "protection_status")
    own_keys.rotate("attestation")
    db_session.commit()
    assert run(old.token, *published())[0] == 0


def test_unusable_files_are_said_so(app, db_session, refugee, published, tmp_path) -> None:
    issued = issue(app, db_session, refugee, "protection_status")
    db_session.commit()
    keys, listing = published()
    forged_list = tmp_path / "forged.json"
    forged_list.write_text(listing.read_text().replace('"signature": "', '"signature": "AA'))
    for files in ((keys, forged_list), (tmp_path / "missing.json", listing)):
        code, out = run(issued.token, *files)
        assert code == 2 and "unusable keys or revocation list" in out
