"""The texts of alerts: short, plain, in the person's language, and never about what happened.

Phones are often shared and e-mails show on lock screens (vault rule 6): an alert only says that
something waits in the personal space and gives the one link to it, or gives a one-time code. It
never names the person, a document, a decision, a partner or a date. Each template declares the
few parameters it takes and `outbox.enqueue` refuses any other, so no caller can slip a name in.

Texts are English message ids, marked with `N_` for `make i18n` and translated by Flask-Babel when
the message is sent (the catalogues are `app/translations`). A language without a catalogue gets
French, as the pages do. They avoid characters outside the GSM alphabet where French allows it
(straight apostrophes), so that an SMS stays one or two parts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import flask
import flask_babel

from app import i18n


def N_(message: str) -> str:
    """Mark a message id for `make i18n` (pybabel's marker); it is translated when sent."""
    return message


class TemplateError(ValueError):
    """The template is unknown, or its parameters are not the ones it takes."""


@dataclass(frozen=True)
class Param:
    """A template parameter: what a valid value is, and its value when not given."""

    valid: Callable[[object], bool]
    default: str | int | None = None


def _code(value: object) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and 4 <= len(value) <= 10


def _minutes(value: object) -> bool:
    return type(value) is int and 1 <= value <= 24 * 60


_CODE_PARAMS = {"code": Param(_code), "minutes": Param(_minutes, default=15)}


@dataclass(frozen=True)
class Template:
    subject: str
    text: str
    params: Mapping[str, Param] = field(default_factory=dict)
    # A code is useless once expired: the message is not sent after `minutes`.
    expires: bool = False


TEMPLATES: Mapping[str, Template] = {
    "document_deposited": Template(
        subject=N_("Ofpra Connect: you have a new letter"),
        text=N_("A new letter from OFPRA is in your personal space. "
                "Sign in to read it: %(url)s"),
    ),
    "consent_request": Template(
        subject=N_("Ofpra Connect: a request for your consent"),
        text=N_("An administration asks for your consent in your personal space: %(url)s"),
    ),
    "verification_code": Template(
        subject=N_("Ofpra Connect: your code"),
        text=N_("Your Ofpra Connect code: %(code)s. It expires in %(minutes)s minutes. "
                "Never share it."),
        params=_CODE_PARAMS,
        expires=True,
    ),
    "password_reset_code": Template(
        subject=N_("Ofpra Connect: change your password"),
        text=N_("Your code to change your Ofpra Connect password: %(code)s. It expires in "
                "%(minutes)s minutes. Never share it. If you did not ask for it, ignore this "
                "message."),
        params=_CODE_PARAMS,
        expires=True,
    ),
}

# E-mails only: people answer alerts, and nobody reads the answers.
EMAIL_FOOTER = N_("This message was sent automatically: replies are not read.")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


def template(name: str) -> Template:
    """Return the template called `name`; raise TemplateError if there is none."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise TemplateError(f"unknown template {name!r}") from None


def parameters(name: str, context: Mapping[str, Any]) -> dict[str, str | int]:
    """Return the template's parameters from `context`, defaults filled in.

    Raises TemplateError if the template is unknown, a parameter is missing or invalid, or
    `context` holds anything the template does not take.
    """
    params = template(name).params
    unexpected = sorted(set(context) - set(params))
    if unexpected:
        raise TemplateError(f"template {name!r} takes no {', '.join(map(str, unexpected))}")
    values: dict[str, str | int] = {}
    for key, param in params.items():
        value = context.get(key, param.default)
        if value is None:
            raise TemplateError(f"template {name!r} needs {key}")
        if not param.valid(value):
            raise TemplateError(f"template {name!r}: invalid {key}")
        values[key] = value
    return values


def lifetime(name: str, context: Mapping[str, Any]) -> timedelta | None:
    """Return how long after queuing the message is still worth sending; None for ever."""
    if not template(name).expires:
        return None
    return timedelta(minutes=int(parameters(name, context)["minutes"]))


def language_of(language: str) -> str:
    """Return the catalogue for `language` ("en-GB" → "en"), French when there is none."""
    primary = language.replace("_", "-").split("-")[0].lower()
    return i18n.supported(primary) or i18n.DEFAULT


def render(name: str, language: str, context: Mapping[str, Any], *, public_url: str,
           email: bool = False) -> Rendered:
    """Return the subject and text of template `name` in `language`, linking to `public_url`.

    Needs an application context (Flask-Babel). Raises TemplateError as `parameters` does.
    """
    chosen = template(name)
    values: dict[str, str | int] = {**parameters(name, context), "url": public_url}
    if not flask.has_app_context():
        raise RuntimeError("messages are rendered inside an application context")
    with flask_babel.force_locale(language_of(language)):
        subject = flask_babel.gettext(chosen.subject)
        text = flask_babel.gettext(chosen.text, **values)
        if email:
            text = f"{text}\n\n{flask_babel.gettext(EMAIL_FOOTER)}"
    return Rendered(subject=subject, text=text)
