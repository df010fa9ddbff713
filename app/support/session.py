"""Who is signed in as support staff: keys of their own in the signed cookie session.

A staff session never reads or writes the keys of a person's session (`account_id`, …) and a
person's session never those of a staff session (`staff_id`, …): one cannot be taken for the
other. Signing in as either starts a fresh session, so on a shared computer a structure's
worker and the person they help are never signed in at once. Same timeouts as people's:
SESSION_IDLE_MINUTES idle, SESSION_MAX_HOURS in all; a deactivated account, a new password or
a new generation ends every session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import g, session

from app import web
from app.accounts import session as people_session
from app.support.models import StaffAccount

SIGNIN_PATH = "/accompagnement/connexion"
KEYS = ("staff_id", "staff_generation", "staff_seen", "staff_since")


def sign_in(staff: StaffAccount) -> None:
    """Start a fresh session for `staff` (a new cookie: no person's session survives it)."""
    session.clear()
    session.permanent = True
    session["staff_id"] = staff.id
    session["staff_generation"] = staff.session_generation
    session["staff_seen"] = session["staff_since"] = int(time.time())
    g.staff = staff


def sign_out() -> None:
    session.clear()
    g.pop("staff", None)


def current_staff() -> StaffAccount | None:
    """Return the signed-in staff account, or None if none, idle too long, or superseded."""
    if "staff" in g:
        return g.staff  # type: ignore[no-any-return]
    staff = None
    staff_id = people_session.live_id("staff_id", "staff_seen", "staff_since")
    if staff_id is not None:
        found = web.session().get(StaffAccount, staff_id)
        if found is not None and found.active \
                and found.session_generation == session.get("staff_generation"):
            staff = found
            session["staff_seen"] = int(time.time())
    if staff is None and any(key in session for key in KEYS):
        for key in KEYS:
            session.pop(key, None)
    g.staff = staff
    return staff


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send visitors without a staff session to the staff sign-in page, then back here."""
    return people_session.required(current_staff, SIGNIN_PATH)(view)
