"""Sealing the journal into signed Merkle batches, and verifying it, without a global lock.

Entries are appended concurrently and never wait for one another (entries.py). A sealer closes
the entries not yet sealed into batches: each seal covers the entries whose id lies in
(previous seal's last_entry_id, last_entry_id], holds the RFC 6962 Merkle root of their hashes,
chains to the previous seal by its hash and is signed with the journal key (a compact JWS).
`verify` recomputes all of it and names the first entry or seal that differs.

    leaf      = SHA-256(0x00 || entry id, 8 bytes big-endian || entry_hash)
    node      = SHA-256(0x01 || left || right)
    seal_hash = SHA-256(canonical(seal)), canonical(seal) being the JSON payload that is signed

Services never commit: the caller (`flask journal seal`) commits once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import errors as jose_errors
from joserfc import jws
from sqlalchemy import exc, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.journal import entries
from app.journal.models import JournalEntry, JournalSeal
from app.oauth import keys as oauth_keys

PURPOSE = "journal"
GENESIS = bytes(32)
# Rows read per query: memory stays flat however long the journal.
CHUNK = 5000
SEALS_CHUNK = 500
# The sealers' own PostgreSQL advisory lock ("journal" in ASCII); it guards no table.
SEALER_LOCK = 0x6A6F75726E616C
_TYPE = "journal-seal"

Progress = Callable[[int, int], None]


class SealingError(Exception):
    """Base of the sealing errors."""


class SealerBusy(SealingError):
    """Another sealer is running, or has just written the seal this one was about to write."""


# --- Merkle tree (RFC 6962, section 2.1) -------------------------------------------------------

def leaf_hash(entry_id: int, entry_hash: bytes) -> bytes:
    """Return the leaf of an entry: its id is bound in, so moving a row changes the root."""
    return hashlib.sha256(b"\x00" + entry_id.to_bytes(8, "big") + entry_hash).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """The RFC 6962 Merkle Tree Hash of leaves given one by one, in O(log n) memory.

    RFC 6962 splits n leaves at the largest power of two smaller than n; the left part is then a
    perfect tree. Keeping the perfect subtrees built so far on a stack (heights strictly
    decreasing) and folding them from the right at the end gives exactly that tree.
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, leaf: bytes) -> None:
        height, node = 0, leaf
        while self._stack and self._stack[-1][0] == height:
            node = node_hash(self._stack.pop()[1], node)
            height += 1
        self._stack.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        """Return the root; that of no leaves is SHA-256 of the empty string, as in RFC 6962."""
        if not self._stack:
            return hashlib.sha256(b"").digest()
        node = self._stack[-1][1]
        for _height, left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    tree = MerkleTree()
    for leaf in leaves:
        tree.add(leaf)
    return tree.root()


# --- Seals -------------------------------------------------------------------------------------

def canonical(seal: JournalSeal) -> bytes:
    """Return the bytes that are hashed into seal_hash and signed: every field but the result."""
    return json.dumps({
        "seal": seal.id,
        "first_entry_id": seal.first_entry_id,
        "last_entry_id": seal.last_entry_id,
        "entry_count": seal.entry_count,
        "merkle_root": seal.merkle_root.hex(),
        "previous_hash": seal.previous_hash.hex(),
        "sealed_at": seal.sealed_at.astimezone(UTC).isoformat(timespec="microseconds"),
    }, sort_keys=True, separators=(",", ":")).encode()


class _Registry(jws.JWSRegistry):
    """Accepts exactly the journal's algorithm, without joserfc's SecurityWarning for EdDSA.

    RFC 9864 deprecates the polymorphic name "EdDSA" for the fully specified "Ed25519", the very
    same signature. The journal keys are designed for "EdDSA" (app.oauth.keys) and the seals
    already signed name it, so verification must keep accepting it; the choice is deliberate,
    and this registry refuses every other algorithm.
    """

    def get_alg(self, name: str) -> jws.JWSAlgModel:
        if not self.allowed or name not in self.allowed or name not in self.algorithms:
            raise jose_errors.UnsupportedAlgorithmError(f"algorithm {name!r} is not allowed")
        return self.algorithms[name]


def sign(keys: oauth_keys.KeyStore, payload: bytes) -> tuple[str, str]:
    """Return the compact JWS of `payload` under the current journal key, and the key's id."""
    key = keys.signing_key(PURPOSE)
    algorithm = keys.algorithm(PURPOSE)
    header = {"alg": algorithm, "kid": key.kid, "typ": _TYPE}
    signature = jws.serialize_compact(header, payload, key,
                                      registry=_Registry(algorithms=[algorithm]))
    return signature, str(key.kid)


def seal(db_session: Session, keys: oauth_keys.KeyStore, now: datetime, grace_seconds: int,
         batch_size: int, progress: Progress | None = None) -> list[JournalSeal]:
    """Seal the entries older than the grace period, in id order; return the new seals (flushed).

    Ids are handed out when a row is inserted, not when its transaction commits: a request that
    took id 100 may commit after one that took id 101. A sealer that sealed 101 while 100 was in
    flight would leave 100 outside every seal for good (and `verify` would then report the seal
    as altered). So only the longest run of entries, in id order, whose `at` is older than
    `now - grace_seconds` is sealed; the first younger entry stops the run and it, with all that
    follows, waits for the next run. This is sound as long as the grace period exceeds the time
    between an entry's `at` and its transaction's commit, plus the clock skew between the
    application servers (the default is 10 s; a request's transaction lasts milliseconds).

    Nothing is locked for the writers: entries are read by plain keyset-paginated SELECTs, CHUNK
    rows at a time. Two sealers must not seal the same range twice: on PostgreSQL a sealer takes
    an advisory lock that only sealers ask for (inserts never wait on it) and the second one
    raises SealerBusy at once; on SQLite the single write transaction serialises them. As a last
    guard each seal's id is the previous one's plus one, so a duplicate breaks the primary key,
    which raises SealerBusy too. Seals are only written (flushed) at the end, so that on SQLite
    the write lock is held for a moment, not for the whole run. The caller commits.
    Raises ValueError on a batch size below 1 or a naive `now`.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    _take_sealer_lock(db_session)
    last = db_session.scalars(select(JournalSeal).order_by(JournalSeal.id.desc()).limit(1)).first()
    after = last.last_entry_id if last else 0
    previous_hash = last.seal_hash if last else GENESIS
    next_id = last.id + 1 if last else 1
    cutoff = now - timedelta(seconds=grace_seconds)
    sealed_at = now.astimezone(UTC)

    made: list[JournalSeal] = []
    sealed_entries = 0
    tree, first_id, last_id = MerkleTree(), 0, 0
    for entry_id, at, entry_hash in _entries(db_session, (JournalEntry.at, JournalEntry.entry_hash),
                                             after=after):
        if at >= cutoff:
            break
        if tree.size == 0:
            first_id = entry_id
        tree.add(leaf_hash(entry_id, entry_hash))
        last_id = entry_id
        if tree.size == batch_size:
            made.append(_close(keys, next_id, first_id, last_id, tree, previous_hash, sealed_at))
            sealed_entries += tree.size
            previous_hash, next_id, tree = made[-1].seal_hash, next_id + 1, MerkleTree()
            if progress:
                progress(len(made), sealed_entries)
    if tree.size:
        made.append(_close(keys, next_id, first_id, last_id, tree, previous_hash, sealed_at))
        if progress:
            progress(len(made), sealed_entries + tree.size)

    db_session.add_all(made)
    try:
        db_session.flush()
    except exc.IntegrityError as error:
        raise SealerBusy(f"seal {made[0].id} was written by another sealer") from error
    return made


def _take_sealer_lock(db_session: Session) -> None:
    if db_session.get_bind().dialect.name != "postgresql":
        return
    # Transaction-scoped: released by the caller's commit or rollback.
    if not db_session.scalar(select(func.pg_try_advisory_xact_lock(SEALER_LOCK))):
        raise SealerBusy("another sealer is running")


def _close(keys: oauth_keys.KeyStore, seal_id: int, first_id: int, last_id: int,
           tree: MerkleTree, previous_hash: bytes, sealed_at: datetime) -> JournalSeal:
    made = JournalSeal(id=seal_id, first_entry_id=first_id, last_entry_id=last_id,
                       entry_count=tree.size, merkle_root=tree.root(),
                       previous_hash=previous_hash, sealed_at=sealed_at)
    payload = canonical(made)
    made.seal_hash = hashlib.sha256(payload).digest()
    made.signature, made.key_id = sign(keys, payload)
    return made


def _entries(db_session: Session, columns: Sequence[Any], after: int,
             upto: int | None = None) -> Iterator[Sequence[Any]]:
    """Yield (id, *columns) of the entries with after < id <= upto, in id order, CHUNK at a time.

    Keyset pagination: each query is short and starts from an index seek on the primary key,
    and no cursor stays open between chunks.
    """
    while True:
        condition: ColumnElement[bool] = JournalEntry.id > after
        if upto is not None:
            condition = condition & (JournalEntry.id <= upto)
        rows = db_session.execute(
            select(JournalEntry.id, *columns).where(condition)
            .order_by(JournalEntry.id).limit(CHUNK)
        ).all()
        yield from rows
        if len(rows) < CHUNK:
            return
        after = rows[-1][0]


def _seals(db_session: Session) -> Iterator[JournalSeal]:
    after = 0
    while True:
        # populate_existing: check the rows as stored, not seals this session holds in memory.
        chunk = db_session.scalars(
            select(JournalSeal).where(JournalSeal.id > after)
            .order_by(JournalSeal.id).limit(SEALS_CHUNK)
            .execution_options(populate_existing=True)
        ).all()
        yield from chunk
        if len(chunk) < SEALS_CHUNK:
            return
        after = chunk[-1].id


# --- Verification ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    """The first entry or seal found not to match, and why."""

    reason: str
    seal_id: int
    entry_id: int | None = None

    def __str__(self) -> str:
        if self.entry_id is not None:
            return f"entry {self.entry_id} (seal {self.seal_id}): {self.reason}"
        return f"seal {self.seal_id}: {self.reason}"


@dataclass(frozen=True)
class Report:
    """What `verify` found: the seals and entries that match, up to the first difference."""

    seals: int
    entries: int
    unsealed: int
    difference: Difference | None = None

    @property
    def ok(self) -> bool:
        return self.difference is None

    def __str__(self) -> str:
        if self.difference is None:
            return (f"journal verified: {self.seals} seals, {self.entries} entries, "
                    f"{self.unsealed} not yet sealed")
        return (f"journal differs at {self.difference} "
                f"(verified before it: {self.seals} seals, {self.entries} entries)")


def verify(db_session: Session, keys: oauth_keys.KeyStore,
           progress: Progress | None = None) -> Report:
    """Recompute every seal in order; return a Report, ok or naming the first difference.

    For each seal, in this order, so that the reason given is the most precise one:
    1. each entry of its range is rebuilt from its columns; a digest that differs from the stored
       entry_hash names that entry (its content was changed);
    2. the signature, with the journal key named by key_id (older, rotated keys included), and
       the signed payload against the seal's columns (names the columns changed after signing);
    3. seal_hash against the seal's fields; 4. previous_hash against the previous seal;
    5. the count and the Merkle root of the range: with every entry consistent and the seal
       authentic, a difference means rows were deleted or inserted, or ids or hashes rewritten.
    Entries are streamed, CHUNK at a time. Nothing is written.
    """
    by_kid = {str(key.kid): key for key in keys.keys(PURPOSE)}
    algorithm = keys.algorithm(PURPOSE)
    seals = entry_total = 0
    previous: JournalSeal | None = None
    difference: Difference | None = None
    for current in _seals(db_session):
        difference = _verify_seal(db_session, current, previous, by_kid, algorithm)
        if difference:
            break
        seals += 1
        entry_total += current.entry_count
        previous = current
        if progress:
            progress(seals, entry_total)
    last_sealed = db_session.scalar(select(func.max(JournalSeal.last_entry_id))) or 0
    unsealed = db_session.scalar(
        select(func.count()).select_from(JournalEntry).where(JournalEntry.id > last_sealed)
    ) or 0
    return Report(seals, entry_total, unsealed, difference)


def _verify_seal(db_session: Session, current: JournalSeal, previous: JournalSeal | None,
                 by_kid: dict[str, Any], algorithm: str) -> Difference | None:
    after = previous.last_entry_id if previous else 0
    tree = MerkleTree()
    first_found: int | None = None
    columns = (JournalEntry.entry_hash, *(getattr(JournalEntry, name) for name in entries.FIELDS))
    for row in _entries(db_session, columns, after=after, upto=current.last_entry_id):
        entry_id, entry_hash, *values = row
        if entries.Entry(**dict(zip(entries.FIELDS, values, strict=True))).digest() != entry_hash:
            return Difference("its content does not match its entry_hash (the row was changed)",
                              current.id, entry_id)
        if first_found is None:
            first_found = entry_id
        tree.add(leaf_hash(entry_id, entry_hash))

    payload = canonical(current)
    problem = _check_signature(current, payload, by_kid, algorithm)
    if problem:
        return Difference(problem, current.id)
    if hashlib.sha256(payload).digest() != current.seal_hash:
        return Difference("seal_hash does not match the seal's fields", current.id)
    expected_previous = previous.seal_hash if previous else GENESIS
    if current.previous_hash != expected_previous:
        before = f"seal {previous.id}" if previous else "the start of the journal"
        return Difference(f"previous_hash does not chain to {before} "
                          "(a seal is missing or was altered)", current.id)
    if current.first_entry_id <= after:
        return Difference(f"its range starts at entry {current.first_entry_id}, within "
                          f"the previous seal's (up to entry {after})", current.id)

    sealed = f"entries {current.first_entry_id}..{current.last_entry_id}"
    if tree.size != current.entry_count:
        gap = current.entry_count - tree.size
        how = f"{gap} deleted" if gap > 0 else f"{-gap} inserted"
        return Difference(f"{tree.size} entries found in {sealed} where {current.entry_count} "
                          f"were sealed: {how}", current.id)
    if first_found != current.first_entry_id:
        return Difference(f"the first entry found is {first_found}, the seal's is "
                          f"{current.first_entry_id}: entries were replaced", current.id)
    if tree.root() != current.merkle_root:
        return Difference(f"the Merkle root of {sealed} differs from the signed one, though "
                          "each entry matches its hash: entry hashes or ids were rewritten, "
                          "or entries replaced", current.id)
    return None


def _check_signature(current: JournalSeal, payload: bytes, by_kid: dict[str, Any],
                     algorithm: str) -> str | None:
    """Return why the seal's signature does not vouch for its columns, or None if it does."""
    key = by_kid.get(current.key_id)
    if key is None:
        return f"signed by key {current.key_id!r}, which is not among the journal keys"
    try:
        signed = jws.deserialize_compact(current.signature, key,
                                         registry=_Registry(algorithms=[algorithm]))
    except (jose_errors.JoseError, ValueError) as error:
        why = getattr(error, "error", "") or str(error)
        return f"the signature does not verify with key {current.key_id!r} ({why})"
    header = signed.headers()
    if header.get("kid") != current.key_id or header.get("typ") != _TYPE:
        return (f"the signature names key {header.get('kid')!r} and type "
                f"{header.get('typ')!r}, not {current.key_id!r} and {_TYPE!r}")
    if signed.payload != payload:
        try:
            was = json.loads(signed.payload)
        except ValueError:
            return "the signed payload is not a seal"
        now = json.loads(payload)
        changed = sorted(name for name in now.keys() | was.keys() if now.get(name) != was.get(name))
        verb = "differs" if len(changed) == 1 else "differ"
        return f"{', '.join(changed)} {verb} from what was signed"
    return None
