"""Who is signed in: a signed cookie session, short-lived for shared phones.

The cookie holds the account id, its session generation, the time of the last request and the
time of signing in. A session idle for SESSION_IDLE_MINUTES, signed in more than
SESSION_MAX_HOURS ago (even if busy all along), or older than the account's last password
change or "sign out everywhere" (the generation), is no session. The cookie's flags (Secure,
HttpOnly, SameSite=Lax, the `__Host-` prefix in production) are set by `app.site.csrf`.
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
from app.site import pages

IDLE_MINUTES = 15
MAX_HOURS = 12
SIGNIN_PATH = "/signin"


def idle_seconds() -> int:
    """Return how long a session may stay without a request (SESSION_IDLE_MINUTES)."""
    return int(current_app.config.get("SESSION_IDLE_MINUTES", IDLE_MINUTES)) * 60


def max_seconds() -> int:
    """Return how long a session may last in all (SESSION_MAX_HOURS), however busy."""
    return int(current_app.config.get("SESSION_MAX_HOURS", MAX_HOURS)) * 3600


def sign_in(account: Account) -> None:
    """Start a fresh session for `account` (a new cookie: no fixation of an older one)."""
    session.clear()
    session.permanent = True
    session["account_id"] = account.id
    session["generation"] = account.session_generation
    session["seen"] = session["since"] = int(time.time())
    g.account = account
    g.account_language = account.language


def sign_out() -> None:
    """End this session: the cookie no longer names anyone (nor carries a form token)."""
    session.clear()
    g.pop("account", None)
    g.pop("account_language", None)


def live_id(id_key: str, seen_key: str, since_key: str) -> int | None:
    """The id this session names under `id_key`, if it is neither idle too long nor too old;
    the last-request time is then renewed. Shared by people's and support staff's sessions."""
    signed_id = session.get(id_key)
    seen = session.get(seen_key)
    since = session.get(since_key, seen)
    now = time.time()
    if isinstance(signed_id, int) and isinstance(seen, int) and isinstance(since, int) \
            and 0 <= now - seen <= idle_seconds() and now - since <= max_seconds():
        return signed_id
    return None


def current_account() -> Account | None:
    """Return the signed-in account, or None if none, idle too long, or superseded."""
    if "account" in g:
        return g.account  # type: ignore[no-any-return]
    account = None
    account_id = live_id("account_id", "seen", "since")
    if account_id is not None:
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
    return pages.safe_next(target, default)


def required(current: Callable[[], object | None],
             signin_path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator sending visitors for whom `current()` is None to `signin_path`, then back."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current() is None:
                # After signing in, only a page can be returned to (a form would have to be
                # sent again, with a token of the new session).
                if request.method == "GET":
                    return redirect(signin_path + "?" + urlencode(
                        {"next": request.full_path.rstrip("?")}))
                return redirect(signin_path, code=303)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send visitors without a session to the sign-in page, then back here."""
    return required(current_account, SIGNIN_PATH)(view)
