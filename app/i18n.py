"""Languages of the pages people read: Flask-Babel, with French and English complete.

The language is, in order: the signed-in account's (`g.account_language`, set by
`app.accounts.session`), the `lang` cookie the language switcher sets, the browser's best
match, else French. Message ids are English; `app/translations/*/LC_MESSAGES/messages.po` are
committed, the `.mo` files are built by `make translations` (and by `make install`).
`make i18n` extracts and updates.
"""

from __future__ import annotations

from flask import Flask, g, request, session
from flask_babel import Babel, get_locale

DEFAULT = "fr"
# Each language is named in itself, so a person finds theirs without reading the page.
LANGUAGES = {"fr": "Français", "en": "English"}
COOKIE = "lang"


def supported(language: str | None) -> str | None:
    """Return the language if the pages are translated into it, else None."""
    return language if language in LANGUAGES else None


def select_locale() -> str:
    """Return the language of this request's pages (never fails: French by default)."""
    if "account" not in g and "account_language" not in g and "account_id" in session:
        # The signed-in account's language; this also ends an idle or superseded session.
        from app.accounts import session as accounts_session

        accounts_session.current_account()
    chosen = supported(g.get("account_language")) or supported(request.cookies.get(COOKIE))
    return chosen or request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT


def current_language() -> str:
    """Return the language code of this request's pages, for `<html lang>`."""
    locale = get_locale()
    return str(locale) if locale is not None else DEFAULT


def text_direction() -> str:
    """Return "rtl" for languages written right to left (Arabic, Dari, Pashto…), else "ltr"."""
    locale = get_locale()
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


def init_app(app: Flask) -> None:
    Babel(app, default_locale=DEFAULT, locale_selector=select_locale)
    # `{% trans %}` blocks are extracted and looked up with their whitespace collapsed, so
    # templates can wrap long sentences (babel.cfg says the same to the extractor).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, current_language=current_language,
                                 text_direction=text_direction)
