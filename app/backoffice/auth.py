"""Who may call the back office: OFPRA's own systems, each call under its scope.

The token endpoint gives the back office's scopes only to clients of kind `ofpra`
(`app.oauth.server.ClientCredentials`); this checks it again at every call, so that a token
issued to anyone else — a partner, or a person-bound token — is refused even if it somehow
carried one. Every refusal is the same 403 `insufficient_scope`, before any body is parsed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn

from flask import current_app, g

from app import errors, ratelimit
from app.oauth import clients, tokens


def require(scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Admit only a valid token of an active OFPRA client carrying `scope`; the caller is then
    in `g.caller`. Outermost on a view: nothing is parsed or looked up before."""
    if scope not in clients.BACKOFFICE_SCOPES:
        raise ValueError(f"{scope} is not a back-office scope")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = tokens.verifier().verify(tokens.bearer_token())
            client = current_app.extensions["ofpra.directory"].get(caller.client_id)
            if scope not in caller.scopes:
                _refuse(scope, f"This needs the '{scope}' scope.")
            if (client is None or client.kind != clients.OFPRA_KIND
                    or caller.consent_id is not None):
                _refuse(scope, "The back office is reserved for OFPRA's own systems.")
            if not client.active:
                _refuse(scope, "This client is suspended.")
            g.caller = caller
            ratelimit.limits().hit(caller.client_id, client.rate_limit)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _refuse(scope: str, detail: str) -> NoReturn:
    raise errors.InsufficientScope(detail, headers={
        "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
