"""Dates as people read them, in their language and in Paris time: filters for the pages.

`site/records.html` (shared by the consent pages, the access log and the attestations) and the
pages use them: `long_date` (2 mars 2021), `paris_time` (23 novembre 2026, 14:05, Paris time),
`partial_date` (a birth date only as far as it is known: 1990, mai 1990, 17 mai 1990).
"""

from __future__ import annotations

from datetime import date, datetime

from babel import Locale
from babel import dates as babel_dates
from flask import Flask
from flask_babel import get_locale

from app import i18n
from app.partners.services import PARIS


def _locale() -> str:
    return str(get_locale() or i18n.DEFAULT)


def long_date(value: date | datetime | None) -> str:
    """A date in words (a time is read in Paris first); empty for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(PARIS).date()
    return babel_dates.format_date(value, "long", locale=_locale())


def paris_time(value: datetime | None) -> str:
    """A moment in Paris time: the long date and the hour, as the language writes them."""
    if value is None:
        return ""
    locale = Locale.parse(_locale())
    # The language's own way to join a long date and a short time ("{1}, {0}", "{1} 'à' {0}").
    pattern = str(babel_dates.get_datetime_format("long", locale=locale)) \
        .replace("{1}", locale.date_formats["long"].pattern) \
        .replace("{0}", locale.time_formats["short"].pattern)
    return babel_dates.format_datetime(value, pattern, tzinfo=PARIS, locale=locale)


def partial_date(value: str | None, precision: str | None) -> str:
    """A date known to the year, the month or the day ("1990", "1990-05", "1990-05-17")."""
    if not value:
        return ""
    locale = _locale()
    if precision == "year" or len(value) == 4:
        return value[:4]
    if precision == "month" or len(value) == 7:
        month = date(int(value[:4]), int(value[5:7]), 1)
        return babel_dates.format_skeleton("yMMMM", month, locale=locale)
    return babel_dates.format_date(date.fromisoformat(value[:10]), "long", locale=locale)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(long_date=long_date, paris_time=paris_time,
                                 partial_date=partial_date)
