import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, func, select, update

from app.journal import entries, sealing
from app.journal.models import JournalEntry, JournalSeal
from app.oauth import keys as oauth_keys
from tests.journal import builders
from tests.journal.builders import BASE, NOW

GRACE = 10


def sha256(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


def b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


@pytest.fixture()
def keys(app):
    return app.extensions["ofpra.keys"]


def seal(db_session, keys, now=NOW, batch_size=100, **options):
    return sealing.seal(db_session, keys, now=now, grace_seconds=GRACE, batch_size=batch_size,
                        **options)


def entry_hashes(db_session, ids):
    rows = db_session.execute(select(JournalEntry.id, JournalEntry.entry_hash)
                              .where(JournalEntry.id.in_(ids)).order_by(JournalEntry.id))
    return [entry_hash for _id, entry_hash in rows]


# --- Merkle tree -------------------------------------------------------------------------------

def test_leaf_binds_the_id_in_eight_big_endian_bytes():
    entry_hash = bytes(range(32))
    expected = sha256(b"\x00", b"\x00\x00\x00\x00\x00\x00\x01\x2c", entry_hash)
    assert sealing.leaf_hash(300, entry_hash) == expected
    assert sealing.leaf_hash(301, entry_hash) != expected


def test_merkle_root_of_1_2_3_and_5_leaves_by_hand():
    leaves = [sealing.leaf_hash(n + 1, sha256(bytes([n]))) for n in range(5)]
    a, b, c, d, e = leaves

    def node(left, right):
        return sha256(b"\x01", left, right)

    assert sealing.merkle_root([a]) == a
    assert sealing.merkle_root([a, b]) == node(a, b)
    # Three leaves: split at 2, the largest power of two below 3.
    assert sealing.merkle_root([a, b, c]) == node(node(a, b), c)
    # Five leaves: split at 4; the fifth leaf is promoted, not paired with a copy of itself.
    assert sealing.merkle_root(leaves) == node(node(node(a, b), node(c, d)), e)


# Certificate Transparency's reference vectors (RFC 6962 trees of leaf data D[0..n)).
CT_DATA = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
           "606162636465666768696a6b6c6d6e6f"]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_merkle_root_matches_the_certificate_transparency_vectors(size):
    leaves = [sha256(b"\x00", bytes.fromhex(data)) for data in CT_DATA[:size]]
    assert sealing.merkle_root(leaves).hex() == CT_ROOTS[size - 1]


def rfc6962(leaves):
    """RFC 6962 section 2.1, word for word: split at the largest power of two below n."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return sha256(b"\x01", rfc6962(leaves[:k]), rfc6962(leaves[k:]))


def test_streamed_root_equals_the_recursive_definition_for_every_size_up_to_70():
    leaves = [sha256(n.to_bytes(2, "big")) for n in range(70)]
    for size in range(1, 71):
        assert sealing.merkle_root(leaves[:size]) == rfc6962(leaves[:size]), size
    assert sealing.merkle_root([]) == sha256(b"")


# --- Sealing -----------------------------------------------------------------------------------

def test_a_seal_covers_the_entries_and_is_signed(db_session, keys):
    made_entries = [builders.entry(BASE + timedelta(seconds=n), n) for n in range(5)]
    ids = [builders.add(db_session, e.at, n) for n, e in enumerate(made_entries)]

    [made] = seal(db_session, keys)

    assert (made.id, made.first_entry_id, made.last_entry_id, made.entry_count) == \
        (1, ids[0], ids[-1], 5)
    assert entry_hashes(db_session, ids) == [e.digest() for e in made_entries]
    leaves = [sealing.leaf_hash(i, e.digest()) for i, e in zip(ids, made_entries, strict=True)]
    assert made.merkle_root == rfc6962(leaves)
    assert made.previous_hash == bytes(32)
    assert made.sealed_at == NOW
    signed_fields = {
        "seal": 1, "first_entry_id": ids[0], "last_entry_id": ids[-1], "entry_count": 5,
        "merkle_root": made.merkle_root.hex(), "previous_hash": "00" * 32,
        "sealed_at": "2026-03-02T10:00:00.000000+00:00",
    }
    assert made.seal_hash == sha256(
        json.dumps(signed_fields, sort_keys=True, separators=(",", ":")).encode())

    # The signature checks out with nothing but the published JWKS and Ed25519.
    assert made.key_id == keys.signing_key("journal").kid
    header, payload, signature = made.signature.split(".")
    assert json.loads(b64(header)) == {"alg": "EdDSA", "kid": made.key_id, "typ": "journal-seal"}
    assert json.loads(b64(payload)) == signed_fields
    [jwk] = [k for k in keys.public_jwks("journal")["keys"] if k["kid"] == made.key_id]
    Ed25519PublicKey.from_public_bytes(b64(jwk["x"])).verify(
        b64(signature), f"{header}.{payload}".encode())

    db_session.expire_all()
    stored = db_session.get(JournalSeal, 1)
    assert (stored.sealed_at, stored.merkle_root, stored.seal_hash) == \
        (NOW, made.merkle_root, made.seal_hash)
    assert sealing.verify(db_session, keys) == sealing.Report(seals=1, entries=5, unsealed=0)


def test_nothing_to_seal(db_session, keys):
    assert seal(db_session, keys) == []
    assert db_session.scalar(select(func.count()).select_from(JournalSeal)) == 0
    assert str(sealing.verify(db_session, keys)) == \
        "journal verified: 0 seals, 0 entries, 0 not yet sealed"


def test_the_next_seal_chains_to_the_previous_one(db_session, keys):
    first_ids = builders.add_many(db_session, 3)
    [first] = seal(db_session, keys)
    later_ids = builders.add_many(db_session, 2, start=NOW)
    assert seal(db_session, keys) == []  # the new entries are within the grace period

    [second] = seal(db_session, keys, now=NOW + timedelta(minutes=1))

    assert (first.first_entry_id, first.last_entry_id) == (first_ids[0], first_ids[-1])
    assert (second.id, second.first_entry_id, second.last_entry_id, second.entry_count) == \
        (2, later_ids[0], later_ids[-1], 2)
    assert second.previous_hash == first.seal_hash
    assert second.seal_hash != first.seal_hash
    assert sealing.verify(db_session, keys) == sealing.Report(seals=2, entries=5, unsealed=0)


def test_entries_younger_than_the_grace_period_wait_for_the_next_run(db_session, keys):
    old = builders.add(db_session, NOW - timedelta(seconds=30), 1)
    also_old = builders.add(db_session, NOW - timedelta(seconds=GRACE, microseconds=1), 2)
    at_cutoff = builders.add(db_session, NOW - timedelta(seconds=GRACE), 3)
    # Older than the cutoff, but after a younger entry: sealing it would skip `at_cutoff`.
    older_after_it = builders.add(db_session, NOW - timedelta(seconds=50), 4)

    [made] = seal(db_session, keys)

    assert (made.first_entry_id, made.last_entry_id, made.entry_count) == (old, also_old, 2)
    assert sealing.verify(db_session, keys) == sealing.Report(seals=1, entries=2, unsealed=2)

    [later] = seal(db_session, keys, now=NOW + timedelta(seconds=1))
    assert (later.first_entry_id, later.last_entry_id, later.entry_count) == \
        (at_cutoff, older_after_it, 2)
    assert sealing.verify(db_session, keys) == sealing.Report(seals=2, entries=4, unsealed=0)


def test_batches_of_at_most_batch_size(db_session, keys):
    ids = builders.add_many(db_session, 7)
    progress = []

    made = seal(db_session, keys, batch_size=3,
                progress=lambda seals, count: progress.append((seals, count)))

    assert [(s.id, s.first_entry_id, s.last_entry_id, s.entry_count) for s in made] == [
        (1, ids[0], ids[2], 3), (2, ids[3], ids[5], 3), (3, ids[6], ids[6], 1)]
    assert [s.previous_hash for s in made] == [bytes(32), made[0].seal_hash, made[1].seal_hash]
    assert made[1].merkle_root == rfc6962(
        [sealing.leaf_hash(i, h) for i, h in zip(ids[3:6], entry_hashes(db_session, ids[3:6]),
                                                  strict=True)])
    assert progress == [(1, 3), (2, 6), (3, 7)]
    assert sealing.verify(db_session, keys) == sealing.Report(seals=3, entries=7, unsealed=0)


def test_entries_are_read_in_chunks(db_session, keys, monkeypatch):
    monkeypatch.setattr(sealing, "CHUNK", 2)
    monkeypatch.setattr(sealing, "SEALS_CHUNK", 2)
    ids = builders.add_many(db_session, 9)

    made = seal(db_session, keys, batch_size=4)

    assert [(s.first_entry_id, s.last_entry_id) for s in made] == \
        [(ids[0], ids[3]), (ids[4], ids[7]), (ids[8], ids[8])]
    assert sealing.verify(db_session, keys) == sealing.Report(seals=3, entries=9, unsealed=0)


def test_seal_refuses_a_naive_clock_or_an_empty_batch(db_session, keys):
    with pytest.raises(ValueError, match="aware"):
        seal(db_session, keys, now=datetime(2026, 3, 2, 10, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="batch_size"):
        seal(db_session, keys, batch_size=0)


def test_a_second_sealer_stops_while_the_first_runs(app, db_session, keys):
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("on SQLite the single write transaction serialises sealers")
    builders.add_many(db_session, 2)
    other = app.extensions["ofpra.db"].engine.connect()
    try:
        assert other.scalar(select(func.pg_try_advisory_xact_lock(sealing.SEALER_LOCK)))
        with pytest.raises(sealing.SealerBusy, match="another sealer is running"):
            seal(db_session, keys)
    finally:
        other.rollback()
        other.close()
    assert db_session.scalar(select(func.count()).select_from(JournalSeal)) == 0
    # The lock is the sealers' only: inserting entries never waited on it, and now it is free.
    [made] = seal(db_session, keys)
    assert made.entry_count == 2


# --- Verification: what was changed is named ---------------------------------------------------

def sealed_journal(db_session, keys, count=4, batch_size=100):
    ids = builders.add_many(db_session, count)
    made = seal(db_session, keys, batch_size=batch_size)
    builders.allow_changes(db_session)
    return ids, made


def change_entry(db_session, entry_id, **values):
    db_session.execute(update(JournalEntry).where(JournalEntry.id == entry_id).values(**values)
                       .execution_options(synchronize_session=False))


def change_seal(db_session, seal_id, **values):
    db_session.execute(update(JournalSeal).where(JournalSeal.id == seal_id).values(**values)
                       .execution_options(synchronize_session=False))


def with_root(made, root):
    return JournalSeal(id=made.id, first_entry_id=made.first_entry_id,
                       last_entry_id=made.last_entry_id, entry_count=made.entry_count,
                       merkle_root=root, previous_hash=made.previous_hash,
                       sealed_at=made.sealed_at)


def test_a_changed_entry_is_named(db_session, keys):
    ids, _ = sealed_journal(db_session, keys, count=6, batch_size=3)
    change_entry(db_session, ids[4], outcome="not_found")
    change_entry(db_session, ids[5], person_id=None, scope="family_status")

    report = sealing.verify(db_session, keys)

    assert not report.ok
    assert report.difference == sealing.Difference(
        "its content does not match its entry_hash (the row was changed)", seal_id=2,
        entry_id=ids[4])
    assert (report.seals, report.entries) == (1, 3)
    assert str(report).startswith(f"journal differs at entry {ids[4]} (seal 2): its content")


def test_a_changed_entry_with_a_rewritten_hash_is_caught_by_its_seal(db_session, keys):
    ids, _ = sealed_journal(db_session, keys)
    forged = builders.entry(BASE + timedelta(seconds=1), 1, outcome="not_found")
    change_entry(db_session, ids[1], outcome="not_found", entry_hash=forged.digest())

    report = sealing.verify(db_session, keys)

    assert report.difference == sealing.Difference(
        f"the Merkle root of entries {ids[0]}..{ids[3]} differs from the signed one, though "
        "each entry matches its hash: entry hashes or ids were rewritten, or entries replaced",
        seal_id=1)


def test_a_deleted_entry_is_caught_by_its_seal(db_session, keys):
    ids, _ = sealed_journal(db_session, keys)
    db_session.execute(delete(JournalEntry).where(JournalEntry.id == ids[2]))

    report = sealing.verify(db_session, keys)

    assert str(report.difference) == (
        f"seal 1: 3 entries found in entries {ids[0]}..{ids[3]} where 4 were sealed: 1 deleted")


def test_an_entry_slipped_into_a_sealed_range_is_caught(db_session, keys):
    first = builders.add(db_session, BASE, 0)
    last = first + 10
    builders.add_with_id(db_session, last, builders.entry(BASE + timedelta(seconds=2), 2))
    [made] = seal(db_session, keys)
    assert (made.first_entry_id, made.last_entry_id, made.entry_count) == (first, last, 2)

    # Inserting is allowed (the journal is append-only), so no trigger needs lifting.
    builders.add_with_id(db_session, first + 5, builders.entry(BASE + timedelta(seconds=1), 1))

    assert str(sealing.verify(db_session, keys).difference) == (
        f"seal 1: 3 entries found in entries {first}..{last} where 2 were sealed: 1 inserted")


def test_a_changed_seal_root_is_named(db_session, keys):
    _, made = sealed_journal(db_session, keys, count=6, batch_size=2)
    change_seal(db_session, 2, merkle_root=sha256(b"forged"))

    report = sealing.verify(db_session, keys)

    assert report.difference == sealing.Difference("merkle_root differs from what was signed",
                                                   seal_id=2)
    assert (report.seals, report.entries, report.unsealed) == (1, 2, 0)


def test_a_root_resigned_with_another_key_is_named(db_session, keys, tmp_path):
    _, [made] = sealed_journal(db_session, keys)
    forger = oauth_keys.KeyStore(tmp_path, generate=True)
    forged = with_root(made, sha256(b"forged"))
    payload = sealing.canonical(forged)
    signature, forged_kid = sealing.sign(forger, payload)
    change_seal(db_session, 1, merkle_root=forged.merkle_root,
                seal_hash=sha256(payload), signature=signature)

    assert str(sealing.verify(db_session, keys).difference) == (
        f"seal 1: the signature does not verify with key {made.key_id!r} (bad_signature)")

    change_seal(db_session, 1, key_id=forged_kid)
    assert str(sealing.verify(db_session, keys).difference) == (
        f"seal 1: signed by key {forged_kid!r}, which is not among the journal keys")


def test_a_damaged_signature_is_named(db_session, keys):
    _, [made] = sealed_journal(db_session, keys)
    header, payload, signature = made.signature.split(".")
    flipped = signature[:10] + ("B" if signature[10] == "A" else "A") + signature[11:]
    change_seal(db_session, 1, signature=f"{header}.{payload}.{flipped}")

    assert str(sealing.verify(db_session, keys).difference) == (
        f"seal 1: the signature does not verify with key {made.key_id!r} (bad_signature)")


def test_a_changed_seal_hash_is_named(db_session, keys):
    sealed_journal(db_session, keys)
    change_seal(db_session, 1, seal_hash=sha256(b"other"))

    assert str(sealing.verify(db_session, keys).difference) == \
        "seal 1: seal_hash does not match the seal's fields"


def test_a_deleted_seal_breaks_the_chain(db_session, keys):
    ids, _ = sealed_journal(db_session, keys, count=6, batch_size=2)
    db_session.execute(delete(JournalSeal).where(JournalSeal.id == 2))

    report = sealing.verify(db_session, keys)

    assert str(report.difference) == \
        "seal 3: previous_hash does not chain to seal 1 (a seal is missing or was altered)"
    assert (report.seals, report.entries) == (1, 2)


def test_a_seal_signed_by_a_rotated_key_still_verifies(db_session, tmp_path):
    store = oauth_keys.KeyStore(tmp_path, generate=True)
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC)):
        old_kid = store.rotate("journal")
    builders.add_many(db_session, 3)
    [first] = seal(db_session, store)
    with time_machine.travel(datetime(2026, 2, 1, tzinfo=UTC)):
        new_kid = store.rotate("journal")
    builders.add_many(db_session, 2, start=BASE + timedelta(minutes=5))

    [second] = seal(db_session, store)

    assert (first.key_id, second.key_id) == (old_kid, new_kid)
    assert store.signing_key("journal").kid == new_kid
    assert sealing.verify(db_session, store) == sealing.Report(seals=2, entries=5, unsealed=0)

    # Retiring the old key too early would leave its seals unverifiable: verify says so.
    (tmp_path / "journal" / f"{old_kid}.json").unlink()
    report = sealing.verify(db_session, oauth_keys.KeyStore(tmp_path, generate=False))
    assert str(report.difference) == \
        f"seal 1: signed by key {old_kid!r}, which is not among the journal keys"


def test_verify_reads_the_rows_not_the_session(db_session, keys):
    """Seals still held by the session that wrote them are re-read from the database."""
    _, [made] = sealed_journal(db_session, keys)
    change_seal(db_session, 1, entry_count=5)

    assert made.entry_count == 4
    assert str(sealing.verify(db_session, keys).difference) == \
        "seal 1: entry_count differs from what was signed"


def test_verify_counts_the_entries_not_yet_sealed(db_session, keys):
    builders.add_many(db_session, 2)
    seal(db_session, keys)
    builders.add_many(db_session, 3, start=NOW)

    assert sealing.verify(db_session, keys) == sealing.Report(seals=1, entries=2, unsealed=3)


def test_a_changed_entry_timestamp_is_named(db_session, keys):
    ids, _ = sealed_journal(db_session, keys)
    change_entry(db_session, ids[0], at=BASE + timedelta(microseconds=1))

    assert str(sealing.verify(db_session, keys).difference).startswith(
        f"entry {ids[0]} (seal 1): its content does not match")


def test_entry_rebuilt_from_its_row_has_the_digest_it_was_appended_with(db_session):
    made = builders.entry(BASE, 7, recipient=None, basis=None)
    entry_id = builders.add(db_session, made.at, 7, recipient=None, basis=None)
    row = db_session.execute(select(*(getattr(JournalEntry, name) for name in entries.FIELDS))
                             .where(JournalEntry.id == entry_id)).one()

    assert entries.Entry(**dict(zip(entries.FIELDS, row, strict=True))) == made
    assert replace(made, outcome="not_found").digest() != made.digest()
