"""Accounts of the personal space: notices, activation, sign-in, contacts, codes, reset.

As on OFPRA's own portal: the person types the AGDREF number (or OFPRA number) and the one-time
connection key of the paper notice, creates a password, may give an e-mail address and a
mobile number (each proved by a 6-digit code), and chooses a language. People whose letters go
by post (Dublin procedure, unaccompanied minors, overseas, taken out by OFPRA) cannot activate;
they are told so only once their key has matched, so nobody learns it from a number alone.

Nothing here knows of HTTP or commits: each method adds and flushes; the caller commits once,
also after a refusal, so that failures are counted. Refusals are the feature exceptions of
`app.accounts.errors`.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app import i18n
from app.accounts import keys, passwords, throttle
from app.accounts.errors import (
    ActivationExpired,
    AlreadyActivated,
    CodeExpired,
    InvalidCredentials,
    InvalidEmail,
    InvalidIdentifier,
    InvalidPhone,
    InvalidResetCode,
    KeyExpired,
    KeyUsed,
    NoContact,
    PersonExcluded,
    TooManyCodes,
    UnsupportedLanguage,
    WeakPassword,
    WrongCode,
    WrongPassword,
)
from app.accounts.models import Account, ActivationNotice, CodePurpose, OneTimeCode
from app.notify import outbox
from app.people.models import Person

log = logging.getLogger(__name__)

NOTICE_DAYS = 90
MAX_NOTICE_DAYS = 365
CODE_MINUTES = 15
CODE_ATTEMPTS = 5
# Codes one account may be sent per purpose and hour: no SMS bombing, few guesses in all.
CODES_PER_HOUR = 5
# Right after activation, contacts are given without typing the new password again.
ACTIVATION_GRACE = timedelta(minutes=30)
# Longer inputs are refused before any hashing: no one types that much.
MAX_PASSWORD_INPUT = 1024

# AGDREF numbers have 10 digits; OFPRA numbers, as the sandbox and the partner API know them,
# are digits too (12 today; up to 16 stored).
_IDENTIFIER = re.compile(r"[0-9]{8,16}")
_SEPARATORS = re.compile(r"[\s.\-/\u00a0\u202f]")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()/\u00a0\u202f]")
_FRENCH_MOBILE_NATIONAL = re.compile(r"0[67][0-9]{8}")
_FRENCH_MOBILE = re.compile(r"\+33[67][0-9]{8}")


class Contact(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"

    @property
    def purpose(self) -> CodePurpose:
        return CodePurpose.VERIFY_EMAIL if self is Contact.EMAIL else CodePurpose.VERIFY_PHONE

    @property
    def channel(self) -> str:
        return "email" if self is Contact.EMAIL else "sms"


def normalise_identifier(typed: str) -> str:
    """Return an AGDREF number (10 digits) or OFPRA number as stored: digits, no spaces.

    Raises InvalidIdentifier if the text cannot be one (this says nothing of whether it exists).
    """
    value = _SEPARATORS.sub("", typed or "")
    if not _IDENTIFIER.fullmatch(value):
        raise InvalidIdentifier()
    return value


def normalise_email(typed: str) -> str:
    """Return the address in lower case; raise InvalidEmail if we cannot write to it."""
    value = (typed or "").strip().lower()
    match = outbox.EMAIL.fullmatch(value)
    if match is None or len(value) > 254 or len(match["local"]) > 64:
        raise InvalidEmail()
    return value


def normalise_phone(typed: str) -> str:
    """Return a mobile number in E.164 form: "06 12 34 56 78" → "+33612345678".

    French numbers must be mobiles (06, 07): a landline gets no SMS. Numbers of other
    countries are taken in international form (+… or 00…). Raises InvalidPhone.
    """
    value = _PHONE_SEPARATORS.sub("", (typed or "").replace("(0)", ""))
    if value.startswith("00"):
        value = "+" + value[2:]
    if _FRENCH_MOBILE_NATIONAL.fullmatch(value):
        value = "+33" + value[1:]
    if not outbox.E164.fullmatch(value):
        raise InvalidPhone()
    if value.startswith("+33") and not _FRENCH_MOBILE.fullmatch(value):
        raise InvalidPhone()
    return value


def identifiers(person: Person) -> list[str]:
    """Return the numbers a person may sign in with: AGDREF and OFPRA numbers."""
    return [number for number in (person.agdref_number, person.ofpra_number) if number]


@dataclass
class Accounts:
    """The accounts' operations, in one database session, keyed by the application's secret."""

    db_session: Session
    secret: str

    # --- notices and activation ---------------------------------------------------------

    def issue_notice(self, person: Person, issued_by: str, now: datetime,
                     valid_days: int = NOTICE_DAYS, *,
                     allow_excluded: bool = False) -> tuple[ActivationNotice, str]:
        """Issue a notice for `person`; return it and its connection key (shown once, never kept).

        Earlier notices of the person not yet used stop working. Raises PersonExcluded if the
        person's letters go by post (unless `allow_excluded`: the sandbox shows that page),
        AlreadyActivated if the person has an account, ValueError for a validity out of
        1..MAX_NOTICE_DAYS days.
        """
        if not 1 <= valid_days <= MAX_NOTICE_DAYS:
            raise ValueError(f"a notice is valid 1 to {MAX_NOTICE_DAYS} days")
        if person.enrolment.excluded and not allow_excluded:
            raise PersonExcluded(person.enrolment)
        if self._account_of(person.id) is not None:
            raise AlreadyActivated()
        self.db_session.execute(
            update(ActivationNotice)
            .where(ActivationNotice.person_id == person.id, ActivationNotice.used_at.is_(None),
                   ActivationNotice.expires_at > now)
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )
        key = keys.new_key()
        notice = ActivationNotice(person_id=person.id, key_digest=self._key_digest(key),
                                  issued_at=now, expires_at=now + timedelta(days=valid_days),
                                  issued_by=issued_by)
        self.db_session.add(notice)
        self.db_session.flush()
        return notice, key

    def notice_for_key(self, key: str) -> ActivationNotice | None:
        """Return the notice whose connection key is `key` (as typed), or None."""
        normalised = keys.normalise_key(key)
        if normalised is None:
            return None
        return self.db_session.scalars(select(ActivationNotice).where(
            ActivationNotice.key_digest == self._key_digest(normalised))).one_or_none()

    def check_key(self, identifier: str, key: str, now: datetime) -> ActivationNotice:
        """Return the notice of this identifier and connection key, if it can still be used.

        Raises InvalidIdentifier (not a number), Throttled, InvalidCredentials (unknown number
        or wrong key: one refusal), then, only once the key matched: PersonExcluded, KeyUsed,
        KeyExpired, AlreadyActivated.
        """
        number = normalise_identifier(identifier)
        row = throttle.acquire(self.db_session,
                               throttle.key(self.secret, throttle.ACTIVATE, number), now)
        notice = self.notice_for_key(key)
        person = self.db_session.get(Person, notice.person_id) if notice else None
        if notice is None or person is None or number not in identifiers(person):
            throttle.failed(row, now)
            raise InvalidCredentials()
        throttle.succeeded(self.db_session, row)
        self._usable(notice, person, now)
        return notice

    def activate_notice(self, notice_id: int, password: str, now: datetime,
                        language: str = i18n.DEFAULT) -> Account:
        """Create the account of a notice checked by `check_key`, with its password.

        The notice is used from then on. Raises ActivationExpired (no such notice),
        PersonExcluded, KeyUsed, KeyExpired, AlreadyActivated (things may change between two
        steps), WeakPassword.
        """
        notice = self.db_session.scalars(select(ActivationNotice).where(
            ActivationNotice.id == notice_id).with_for_update()).one_or_none()
        person = self.db_session.get(Person, notice.person_id) if notice else None
        if notice is None or person is None:
            raise ActivationExpired()
        self._usable(notice, person, now)
        self._check_new_password(password, person)
        account = Account(person_id=person.id, password_hash=passwords.hash_password(password),
                          language=i18n.supported(language) or i18n.DEFAULT, activated_at=now,
                          session_generation=0)
        notice.used_at = now
        self.db_session.add(account)
        self.db_session.flush()
        return account

    def activate(self, identifier: str, key: str, password: str, now: datetime,
                 language: str = i18n.DEFAULT) -> Account:
        """Check the key and create the account in one go (`check_key` + `activate_notice`)."""
        notice = self.check_key(identifier, key, now)
        return self.activate_notice(notice.id, password, now, language)

    def _usable(self, notice: ActivationNotice, person: Person, now: datetime) -> None:
        if person.enrolment.excluded:
            raise PersonExcluded(person.enrolment)
        if notice.used_at is not None:
            raise KeyUsed()
        if notice.expires_at <= now:
            raise KeyExpired()
        if self._account_of(person.id) is not None:
            raise AlreadyActivated()

    # --- signing in and passwords -------------------------------------------------------

    def authenticate(self, identifier: str, password: str, now: datetime) -> Account:
        """Return the account of this identifier if the password is right.

        Raises InvalidIdentifier (not a number), Throttled, or InvalidCredentials (unknown
        number or wrong password: one refusal, in the same time).
        """
        number = normalise_identifier(identifier)
        row = throttle.acquire(self.db_session,
                               throttle.key(self.secret, throttle.SIGN_IN, number), now)
        account = self.account_for(number)
        if len(password) > MAX_PASSWORD_INPUT:
            right = False
        elif account is None:
            passwords.verify_dummy(password)
            right = False
        else:
            right = passwords.verify(account.password_hash, password)
        if account is None or not right:
            throttle.failed(row, now)
            raise InvalidCredentials()
        throttle.succeeded(self.db_session, row)
        if passwords.needs_rehash(account.password_hash):
            account.password_hash = passwords.hash_password(password)
            self.db_session.flush()
        return account

    def account_for(self, number: str) -> Account | None:
        """Return the account of a normalised AGDREF or OFPRA number; None if none or several.

        Several: duplicate files sharing an AGDREF number, both activated. Signing in with that
        number is refused (the OFPRA number still works) rather than guessed.
        """
        found = self.db_session.scalars(
            select(Account).join(Person, Person.id == Account.person_id)
            .where(or_(Person.agdref_number == number, Person.ofpra_number == number))
            .limit(2)
        ).all()
        if len(found) > 1:
            log.warning("sign-in refused: one number names several accounts (duplicate files)")
            return None
        return found[0] if found else None

    def confirm_password(self, account: Account, password: str, now: datetime) -> None:
        """Check the current password again before a sensitive change.

        Raises Throttled or WrongPassword.
        """
        row = throttle.acquire(self.db_session,
                               throttle.key(self.secret, throttle.PASSWORD, str(account.id)), now)
        if len(password) > MAX_PASSWORD_INPUT or not passwords.verify(account.password_hash,
                                                                      password):
            throttle.failed(row, now)
            raise WrongPassword()
        throttle.succeeded(self.db_session, row)

    def change_password(self, account: Account, current: str, new: str, now: datetime) -> None:
        """Replace the password; every other session ends (the caller signs this one in again).

        Raises Throttled, WrongPassword, WeakPassword.
        """
        self.confirm_password(account, current, now)
        self._set_password(account, new)

    def sign_out_everywhere(self, account: Account) -> None:
        """End every session of the account, on every phone and computer."""
        account.session_generation += 1
        self.db_session.flush()

    def _set_password(self, account: Account, password: str) -> None:
        person = self.db_session.get(Person, account.person_id)
        assert person is not None  # noqa: S101 (a foreign key)
        self._check_new_password(password, person)
        account.password_hash = passwords.hash_password(password)
        account.session_generation += 1
        self.db_session.flush()

    @staticmethod
    def _check_new_password(password: str, person: Person) -> None:
        problems = passwords.problems(password, identifiers(person))
        if problems:
            raise WeakPassword(problems)

    # --- language -----------------------------------------------------------------------

    def set_language(self, account: Account, language: str) -> None:
        """Set the language of the pages and messages; raise UnsupportedLanguage."""
        chosen = i18n.supported(language)
        if chosen is None:
            raise UnsupportedLanguage()
        account.language = chosen
        self.db_session.flush()

    # --- contacts -----------------------------------------------------------------------

    def set_contact(self, account: Account, kind: Contact, typed: str, now: datetime,
                    current_password: str | None = None) -> bool:
        """Set the e-mail address or mobile number and send it a code; True if one was sent.

        A new contact is unverified until its code is typed. The password is asked again,
        except during the activation (ACTIVATION_GRACE). Raises InvalidEmail or InvalidPhone,
        WrongPassword, Throttled, TooManyCodes.
        """
        value = normalise_email(typed) if kind is Contact.EMAIL else normalise_phone(typed)
        if current_password is not None:
            self.confirm_password(account, current_password, now)
        elif now - account.activated_at > ACTIVATION_GRACE:
            raise WrongPassword()
        current, verified = contact_of(account, kind)
        if value == current and verified is not None:
            return False
        if value != current:
            self._store_contact(account, kind, value)
            self._void_codes(account, kind.purpose, now)
        self._send_codes(account, kind.purpose, [(kind, value)], now)
        return True

    def send_code(self, account: Account, kind: Contact, now: datetime) -> None:
        """Send a new code to the unverified contact (the earlier one stops working).

        Raises NoContact (none, or already verified), TooManyCodes.
        """
        value, verified = contact_of(account, kind)
        if value is None or verified is not None:
            raise NoContact()
        self._send_codes(account, kind.purpose, [(kind, value)], now)

    def verify_contact(self, account: Account, kind: Contact, typed: str, now: datetime) -> None:
        """Mark the contact verified if `typed` is its latest code.

        Raises NoContact, CodeExpired (none waiting, or the last try failed), WrongCode.
        """
        value, verified = contact_of(account, kind)
        if value is None:
            raise NoContact()
        if verified is not None:
            return
        code = self._active_code(account, kind.purpose, value, now)
        if code is None:
            raise CodeExpired()
        self._try_code(code, typed, account, value, now)
        if kind is Contact.EMAIL:
            account.email_verified_at = now
        else:
            account.phone_verified_at = now
        self.db_session.flush()

    def remove_contact(self, account: Account, kind: Contact, now: datetime) -> None:
        """Forget the e-mail address or mobile number; raise NoContact if there is none."""
        if contact_of(account, kind)[0] is None:
            raise NoContact()
        self._store_contact(account, kind, None)
        self._void_codes(account, kind.purpose, now)
        self.db_session.flush()

    def _store_contact(self, account: Account, kind: Contact, value: str | None) -> None:
        if kind is Contact.EMAIL:
            account.email, account.email_verified_at = value, None
        else:
            account.phone, account.phone_verified_at = value, None

    # --- password reset -----------------------------------------------------------------

    def request_reset(self, identifier: str, now: datetime) -> None:
        """Send a reset code to each verified contact of the account, if there is one.

        Says nothing of whether it did: the page reads the same either way. Raises
        InvalidIdentifier only (the text cannot be a number).
        """
        number = normalise_identifier(identifier)
        account = self.account_for(number)
        if account is None:
            return
        recipients = verified_contacts(account)
        if not recipients:
            return
        try:
            self._send_codes(account, CodePurpose.RESET_PASSWORD, recipients, now)
        except TooManyCodes:
            return  # the codes already sent still work

    def check_reset_code(self, identifier: str, typed: str, now: datetime) -> int:
        """Return the id of the account whose reset code this is; the code is then used.

        Raises InvalidIdentifier, Throttled, InvalidResetCode (wrong, expired, none, or
        unknown number: one refusal).
        """
        number = normalise_identifier(identifier)
        row = throttle.acquire(self.db_session,
                               throttle.key(self.secret, throttle.RESET, number), now)
        account = self.account_for(number)
        code = keys.normalise_code(typed)
        if account is not None and code is not None:
            verified = {value for _kind, value in verified_contacts(account)}
            for candidate in self._active_codes(account, CodePurpose.RESET_PASSWORD, now):
                candidate.attempts += 1
                if candidate.sent_to in verified and keys.same(
                        candidate.code_digest,
                        self._code_digest(account, candidate.purpose, candidate.sent_to, code)):
                    self._void_codes(account, CodePurpose.RESET_PASSWORD, now)
                    candidate.used_at = now
                    throttle.succeeded(self.db_session, row)
                    return account.id
        throttle.failed(row, now)
        raise InvalidResetCode()

    def reset_password(self, account_id: int, password: str, now: datetime) -> Account:
        """Set a new password after `check_reset_code`; every session ends, failures are forgotten.

        Raises WeakPassword.
        """
        account = self.db_session.get(Account, account_id)
        if account is None:
            raise InvalidResetCode()
        self._set_password(account, password)
        person = self.db_session.get(Person, account.person_id)
        assert person is not None  # noqa: S101 (a foreign key)
        throttle.clear(self.db_session, [
            throttle.key(self.secret, purpose, number)
            for number in identifiers(person) for purpose in (throttle.SIGN_IN, throttle.RESET)
        ] + [throttle.key(self.secret, throttle.PASSWORD, str(account.id))])
        return account

    # --- codes --------------------------------------------------------------------------

    def _send_codes(self, account: Account, purpose: CodePurpose,
                    recipients: list[tuple[Contact, str]], now: datetime) -> None:
        """Replace the codes waiting for `purpose` by a new code for each recipient.

        Each is queued in the outbox, sent after the commit. Raises TooManyCodes (nothing is
        replaced then: the codes already sent still work).
        """
        if self._codes_within_hour(account, purpose, now) >= CODES_PER_HOUR:
            raise TooManyCodes()
        self._void_codes(account, purpose, now)
        template = ("password_reset_code" if purpose is CodePurpose.RESET_PASSWORD
                    else "verification_code")
        for kind, sent_to in recipients:
            code = keys.new_code()
            self.db_session.add(OneTimeCode(
                account_id=account.id, purpose=purpose, sent_to=sent_to,
                code_digest=self._code_digest(account, purpose, sent_to, code), created_at=now,
                expires_at=now + timedelta(minutes=CODE_MINUTES), attempts=0))
            outbox.enqueue(self.db_session, channel=kind.channel, recipient=sent_to,
                           template=template, language=account.language,
                           context={"code": code, "minutes": CODE_MINUTES},
                           person_id=account.person_id)

    def _try_code(self, code: OneTimeCode, typed: str, account: Account, sent_to: str,
                  now: datetime) -> None:
        normalised = keys.normalise_code(typed)
        if normalised is None:  # a typo of length: not counted as a try
            raise WrongCode(CODE_ATTEMPTS - code.attempts)
        code.attempts += 1
        if not keys.same(code.code_digest,
                         self._code_digest(account, code.purpose, sent_to, normalised)):
            self.db_session.flush()
            remaining = CODE_ATTEMPTS - code.attempts
            if remaining <= 0:
                raise CodeExpired()
            raise WrongCode(remaining)
        code.used_at = now

    def _active_codes(self, account: Account, purpose: CodePurpose,
                      now: datetime) -> list[OneTimeCode]:
        return list(self.db_session.scalars(
            select(OneTimeCode)
            .where(OneTimeCode.account_id == account.id, OneTimeCode.purpose == purpose,
                   OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > now,
                   OneTimeCode.attempts < CODE_ATTEMPTS)
            .order_by(OneTimeCode.created_at.desc(), OneTimeCode.id.desc())
            .with_for_update()
        ))

    def _active_code(self, account: Account, purpose: CodePurpose, sent_to: str,
                     now: datetime) -> OneTimeCode | None:
        for code in self._active_codes(account, purpose, now):
            return code if code.sent_to == sent_to else None
        return None

    def _void_codes(self, account: Account, purpose: CodePurpose, now: datetime) -> None:
        self.db_session.execute(
            update(OneTimeCode)
            .where(OneTimeCode.account_id == account.id, OneTimeCode.purpose == purpose,
                   OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > now)
            .values(expires_at=now)
            .execution_options(synchronize_session=False)
        )

    def _codes_within_hour(self, account: Account, purpose: CodePurpose, now: datetime) -> int:
        return int(self.db_session.scalar(
            select(func.count()).select_from(OneTimeCode)
            .where(OneTimeCode.account_id == account.id, OneTimeCode.purpose == purpose,
                   OneTimeCode.created_at > now - timedelta(hours=1))
        ) or 0)

    # --- digests and lookups ------------------------------------------------------------

    def _key_digest(self, key: str) -> str:
        return keys.digest(self.secret, "activation-key", key)

    def _code_digest(self, account: Account, purpose: CodePurpose, sent_to: str,
                     code: str) -> str:
        return keys.digest(self.secret, "one-time-code", account.id, purpose.value, sent_to,
                           code)

    def _account_of(self, person_id: int) -> Account | None:
        return self.db_session.scalars(
            select(Account).where(Account.person_id == person_id)).one_or_none()


def contact_of(account: Account, kind: Contact) -> tuple[str | None, datetime | None]:
    """Return the contact of that kind and when it was verified (None: not verified)."""
    if kind is Contact.EMAIL:
        return account.email, account.email_verified_at
    return account.phone, account.phone_verified_at


def verified_contacts(account: Account) -> list[tuple[Contact, str]]:
    """Return the verified contacts of the account: where a reset code may be sent."""
    found = []
    for kind in Contact:
        value, verified = contact_of(account, kind)
        if value is not None and verified is not None:
            found.append((kind, value))
    return found
