"""What can go wrong with an account, as feature exceptions: the pages word them for people.

None of them carries a person's data. Refusals that must not say whether an identifier exists
(`InvalidCredentials`, `Throttled`, `InvalidResetCode`) are the same whatever the case.
"""

from __future__ import annotations

from app.accounts import passwords
from app.people.models import Enrolment


class AccountError(Exception):
    """Base of the accounts' refusals."""


class InvalidIdentifier(AccountError):
    """The text typed cannot be an AGDREF number (10 digits) or an OFPRA number."""


class InvalidCredentials(AccountError):
    """Unknown identifier, wrong connection key or wrong password: deliberately one refusal."""


class Throttled(AccountError):
    """Too many failures for this identifier: the next attempt waits `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"try again in {retry_after} s")
        self.retry_after = retry_after


class KeyUsed(AccountError):
    """The connection key matched, but it has already served to activate a space."""


class KeyExpired(AccountError):
    """The connection key matched, but its notice has expired."""


class PersonExcluded(AccountError):
    """The key matched, but this person's letters go by post (Dublin, minor, overseas...)."""

    def __init__(self, enrolment: Enrolment) -> None:
        super().__init__(enrolment.value)
        self.enrolment = enrolment


class AlreadyActivated(AccountError):
    """The person already has an account: sign in, or reset the password."""


class ActivationExpired(AccountError):
    """The steps of the activation took too long, or never started: start again."""


class WeakPassword(AccountError):
    """The new password breaks one or more rules."""

    def __init__(self, problems: list[passwords.Problem]) -> None:
        super().__init__(", ".join(problems))
        self.problems = problems


class WrongPassword(AccountError):
    """The current password, asked again before a sensitive change, is not right."""


class InvalidEmail(AccountError):
    """Not an e-mail address we can write to."""


class InvalidPhone(AccountError):
    """Not a mobile number we can send an SMS to."""


class UnsupportedLanguage(AccountError):
    """The pages are not translated into this language."""


class TooManyCodes(AccountError):
    """Too many codes asked for within the hour: wait before asking again."""


class WrongCode(AccountError):
    """The code is not the one sent; `remaining` tries are left."""

    def __init__(self, remaining: int) -> None:
        super().__init__(f"{remaining} tries left")
        self.remaining = remaining


class CodeExpired(AccountError):
    """No code waits for this contact: never sent, expired, used, replaced or tried 5 times."""


class InvalidResetCode(AccountError):
    """Wrong, expired or unknown reset code, or unknown identifier: deliberately one refusal."""


class NoContact(AccountError):
    """There is no such contact on the account to verify or remove."""
