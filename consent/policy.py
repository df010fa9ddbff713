"""May this partner learn this scope about this person now? The one place that decides.

Allowed by legal basis, allowed by consent C, or refused with the reason. The consent is read
on every call, so a withdrawal or an expiry bites on the very next call, whatever tokens live.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date


class Basis(enum.StrEnum):
    LEGAL_BASIS = "legal_basis"
    CONSENT = "consent"


class Reason(enum.StrEnum):
    SCOPE_NOT_GRANTED = "scope_not_granted"
    HABILITATION_NOT_IN_FORCE = "habilitation_not_in_force"
    CONSENT_REQUIRED = "consent_required"


@dataclass(frozen=True)
class Grant:
    """One scope of one habilitation, as the policy needs it."""

    habilitation_id: int
    scope: str
    consent_required: bool
    valid_from: date
    valid_until: date | None

    def in_force(self, today: date) -> bool:
        return self.valid_from <= today and (self.valid_until is None or today <= self.valid_until)


@dataclass(frozen=True)
class Decision:
    basis: Basis | None
    habilitation_id: int | None = None
    consent_id: str | None = None
    reason: Reason | None = None

    @property
    def allowed(self) -> bool:
        return self.basis is not None


def decide(grants: Sequence[Grant], scope: str, today: date,
           find_consent: Callable[[], str | None]) -> Decision:
    """Decide for one scope; `find_consent` is asked only when a consent is what would allow."""
    granting = [grant for grant in grants if grant.scope == scope]
    if not granting:
        return Decision(None, reason=Reason.SCOPE_NOT_GRANTED)
    in_force = [grant for grant in granting if grant.in_force(today)]
    if not in_force:
        return Decision(None, granting[0].habilitation_id, reason=Reason.HABILITATION_NOT_IN_FORCE)
    for grant in in_force:
        if not grant.consent_required:
            return Decision(Basis.LEGAL_BASIS, grant.habilitation_id)
    grant = in_force[0]
    consent_id = find_consent()
    if consent_id is None:
        return Decision(None, grant.habilitation_id, reason=Reason.CONSENT_REQUIRED)
    return Decision(Basis.CONSENT, grant.habilitation_id, consent_id)
