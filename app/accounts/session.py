"""Who is signed in: a signed cookie session, short-lived for shared phones.

The cookie holds the account id, its session generation and the time of the last request.
A session idle for SESSION_IDLE_MINUTES, or older than the account's last password change or
"sign out everywhere" (the generation), is no session.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import current_app, g, redirect, request, session

from app import web
from app.accounts.models import Account


def sign_in(account: Account) -> None:
    """Start a fresh session for `account` (a new cookie: no fixation of an older one)."""
    session.clear()
    session.permanent = True
    session["account_id"] = account.id
    session["generation"] = account.session_generation
    session["seen"] = int(time.time())
    g.account = account
    g.account_language = account.language


def sign_out() -> None:
    session.clear()
    g.pop("account", None)


def current_account() -> Account | None:
    """Return the signed-in account, or None if none, idle too long, or superseded."""
    if "account" in g:
        return g.account  # type: ignore[no-any-return]
    account = None
    account_id = session.get("account_id")
    idle = current_app.config.get("SESSION_IDLE_MINUTES", 15) * 60
    if account_id is not None and time.time() - session.get("seen", 0) <= idle:
        found = web.session().get(Account, account_id)
        if found is not None and found.session_generation == session.get("generation"):
            account = found
            session["seen"] = int(time.time())
            g.account_language = found.language
    if account is None and "account_id" in session:
        session.clear()
    g.account = account
    return account


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site path to return to after signing in; anything else gives `default`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send visitors without a session to the sign-in page, then back here."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_account() is None:
            return redirect("/signin?" + urlencode({"next": request.full_path.rstrip("?")}))
        return view(*args, **kwargs)

    return wrapper
