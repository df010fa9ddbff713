"""Support structures' staff accounts, and what a structure sees of the people it follows.

OFPRA creates structures and staff accounts (`flask support …`). A new account has no
password: OFPRA hands the worker a set-password link, valid LINK_HOURS, that works once (it is
bound to the account's current password hash, which setting a password replaces). Sign-in is by
e-mail address and password (argon2id, `app.accounts.passwords`), slowed then locked per address
by `app.accounts.throttle`, with one refusal whether the address exists or not.

A structure follows the people domiciled with it today (Domiciliation): for each, the
convocation dates and places, each document's type and dates (made available, notified, or
when it will count as received if still unopened), and the alerts that could not be sent (date
and channel). Never a document's title, content or decision outcome, never an alert's
recipient: the queries here do not even read those columns.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.accounts import passwords, throttle
from app.accounts.errors import InvalidCredentials, Throttled, WeakPassword
from app.notify import outbox
from app.notify.models import Channel, OutboxMessage
from app.people.models import Person
from app.support.models import Domiciliation, StaffAccount, StructureKind, SupportStructure
from app.vault import notification
from app.vault.models import Delivery, Document, DocumentType, NotificationMethod

log = logging.getLogger(__name__)

STAFF_SIGN_IN = "staff_signin"
LINK_HOURS = 72
LINK_SALT = "ofpra.support.set-password"
# A hash argon2 can never verify: the account exists, but no password opens it yet.
UNUSABLE = "!unusable:"
MAX_PASSWORD_INPUT = 1024
FAILED_ALERTS_SHOWN = 5

__all__ = ["InvalidCredentials", "Throttled", "WeakPassword"]


class SupportError(Exception):
    """Base of the support structures' refusals."""


class InvalidLink(SupportError):
    """The set-password link is wrong, expired, already used, or its account is closed."""


class UnknownStructure(SupportError):
    """No structure has this id."""


class DuplicateEmail(SupportError):
    """A staff account already has this e-mail address."""


class InvalidEmail(SupportError):
    """Not an e-mail address."""


def normalise_email(value: str) -> str:
    return value.strip().lower()


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


class Staff:
    """Staff accounts: created by OFPRA, a set-password link, sign-in."""

    def __init__(self, db_session: Session, secret: str) -> None:
        self.db_session = db_session
        self.secret = secret
        self.links = URLSafeTimedSerializer(secret, salt=LINK_SALT)

    def add_structure(self, name: str, kind: StructureKind, city: str) -> SupportStructure:
        structure = SupportStructure(name=name.strip(), kind=kind, city=city.strip())
        self.db_session.add(structure)
        self.db_session.flush()
        return structure

    def add_staff(self, structure_id: int, email: str, name: str) -> StaffAccount:
        """Create an account without a password (give its `link`).

        Raises UnknownStructure, InvalidEmail, DuplicateEmail.
        """
        if self.db_session.get(SupportStructure, structure_id) is None:
            raise UnknownStructure()
        address = normalise_email(email)
        if not outbox.EMAIL.fullmatch(address) or len(address) > 254:
            raise InvalidEmail()
        if self.db_session.scalars(select(StaffAccount.id)
                                   .where(StaffAccount.email == address)).first() is not None:
            raise DuplicateEmail()
        staff = StaffAccount(structure_id=structure_id, email=address, name=name.strip(),
                             password_hash=UNUSABLE + secrets.token_hex(16), active=True)
        self.db_session.add(staff)
        self.db_session.flush()
        return staff

    def by_email(self, email: str) -> StaffAccount | None:
        return self.db_session.scalars(
            select(StaffAccount).where(StaffAccount.email == normalise_email(email))).first()

    def link_token(self, staff: StaffAccount) -> str:
        """A token for the set-password page: valid LINK_HOURS, until a password is set."""
        return self.links.dumps([staff.id, _fingerprint(staff.password_hash)])

    def staff_for_link(self, token: str) -> StaffAccount:
        """Return the account a set-password token opens. Raises InvalidLink."""
        try:
            staff_id, fingerprint = self.links.loads(token, max_age=LINK_HOURS * 3600)
        except (BadSignature, ValueError, TypeError):
            raise InvalidLink() from None
        staff = self.db_session.get(StaffAccount, staff_id) if isinstance(staff_id, int) \
            else None
        if staff is None or not staff.active \
                or fingerprint != _fingerprint(staff.password_hash):
            raise InvalidLink()
        return staff

    def set_password(self, token: str, password: str) -> StaffAccount:
        """Set the password the link allows; every other session of the account ends.

        Raises InvalidLink, WeakPassword.
        """
        staff = self.staff_for_link(token)
        found = passwords.problems(password, ())
        if found:
            raise WeakPassword(found)
        staff.password_hash = passwords.hash_password(password)
        staff.session_generation += 1
        self.db_session.flush()
        return staff

    def authenticate(self, email: str, password: str, now: datetime) -> StaffAccount:
        """Return the active account of this address if the password is right.

        Raises Throttled, or InvalidCredentials (unknown address, closed account or wrong
        password: one refusal, in the same time).
        """
        address = normalise_email(email)
        row = throttle.acquire(self.db_session,
                               throttle.key(self.secret, STAFF_SIGN_IN, address), now)
        staff = self.by_email(address)
        if len(password) > MAX_PASSWORD_INPUT:
            right = False
        elif staff is None or not staff.active:
            passwords.verify_dummy(password)
            right = False
        else:
            right = passwords.verify(staff.password_hash, password)
        if staff is None or not staff.active or not right:
            throttle.failed(row, now)
            raise InvalidCredentials()
        throttle.succeeded(self.db_session, row)
        if passwords.needs_rehash(staff.password_hash):
            staff.password_hash = passwords.hash_password(password)
            self.db_session.flush()
        return staff

    def deactivate(self, staff: StaffAccount) -> None:
        """Close the account: its sessions end, its links stop working."""
        staff.active = False
        staff.session_generation += 1
        self.db_session.flush()


# --- what a structure sees -------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentDates:
    """A document as a structure sees it: its type and its dates, nothing of its content."""

    type: DocumentType
    delivery: Delivery
    made_available_at: datetime
    notified_at: datetime | None
    method: NotificationMethod | None
    # Online, unopened, not yet notified: when it will count as received. The structure's
    # chance to reach the person before then.
    deemed_at: datetime | None


@dataclass(frozen=True)
class Convocation:
    interview_at: datetime | None
    interview_place: str | None
    made_available_at: datetime


@dataclass(frozen=True)
class FailedAlert:
    failed_at: datetime
    channel: Channel


@dataclass(frozen=True)
class Followed:
    person_id: int
    name: str
    agdref_number: str | None
    ofpra_number: str | None
    since: date
    convocations: list[Convocation]
    documents: list[DocumentDates]
    failed_alerts: list[FailedAlert]

    @property
    def waiting(self) -> list[DocumentDates]:
        """Documents still inside their 15 days, unopened."""
        return [document for document in self.documents if document.deemed_at is not None]

    @property
    def needs_attention(self) -> bool:
        """An alert failed while a document waits unopened inside its 15 days."""
        return bool(self.failed_alerts and self.waiting)


def followed(db_session: Session, structure_id: int, today: date, now: datetime, page: int,
             per_page: int) -> tuple[list[Followed], int]:
    """One page of the people the structure follows today, by name, and how many in all."""
    current = (
        select(Domiciliation.person_id, func.min(Domiciliation.since).label("since"))
        .where(Domiciliation.structure_id == structure_id, Domiciliation.since <= today,
               or_(Domiciliation.until.is_(None), Domiciliation.until >= today))
        .group_by(Domiciliation.person_id)
        .subquery())
    people = db_session.execute(
        select(Person.id, Person.birth_name, Person.usage_name, Person.given_names,
               Person.agdref_number, Person.ofpra_number, current.c.since,
               func.count().over().label("total"))
        .join(current, current.c.person_id == Person.id)
        .order_by(func.coalesce(Person.usage_name, Person.birth_name), Person.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    total = people[0].total if people else 0
    ids = [row.id for row in people]
    documents: dict[int, list[DocumentDates]] = {person_id: [] for person_id in ids}
    convocations: dict[int, list[Convocation]] = {person_id: [] for person_id in ids}
    alerts: dict[int, list[FailedAlert]] = {person_id: [] for person_id in ids}
    if ids:
        # The columns a structure may know: not the title, not the outcome, not the content.
        rows = db_session.execute(
            select(Document.person_id, Document.type, Document.delivery,
                   Document.made_available_at, Document.first_consulted_at,
                   Document.notified_at, Document.notification_method,
                   Document.interview_at, Document.interview_place)
            .where(Document.person_id.in_(ids))
            .order_by(Document.made_available_at.desc(), Document.id.desc())
        ).all()
        for row in rows:
            notified_at, method = notification.status(row, now)
            pending = notified_at is None and row.delivery == Delivery.ONLINE
            documents[row.person_id].append(DocumentDates(
                row.type, row.delivery, row.made_available_at, notified_at, method,
                notification.deemed_at(row.made_available_at) if pending else None))
            if row.type == DocumentType.CONVOCATION:
                convocations[row.person_id].append(Convocation(
                    row.interview_at, row.interview_place, row.made_available_at))
        for person_id, failed_at, channel in db_session.execute(
                select(OutboxMessage.person_id, OutboxMessage.failed_at, OutboxMessage.channel)
                .where(OutboxMessage.person_id.in_(ids), OutboxMessage.failed_at.is_not(None))
                .order_by(OutboxMessage.failed_at.desc())):
            if person_id is None or failed_at is None:  # excluded by the query
                continue
            if len(alerts[person_id]) < FAILED_ALERTS_SHOWN:
                alerts[person_id].append(FailedAlert(failed_at, channel))
    return [Followed(
        row.id, " ".join([*row.given_names, row.usage_name or row.birth_name]),
        row.agdref_number, row.ofpra_number, row.since,
        sorted(convocations[row.id],
               key=lambda item: item.interview_at or item.made_available_at, reverse=True),
        documents[row.id], alerts[row.id]) for row in people], total


def structure_of(db_session: Session, staff: StaffAccount) -> SupportStructure:
    structure = db_session.get(SupportStructure, staff.structure_id)
    assert structure is not None  # noqa: S101 (a foreign key)
    return structure
