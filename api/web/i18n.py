"""The web UI in Dutch and English: gettext catalogues compiled from the committed .po files, and the
language of each request.

The catalogues live in ``api/web/locale/{nl,en}/LC_MESSAGES/messages.po`` and are compiled in memory
the first time a language is used, so a fresh clone needs no build step (and no .mo file can go stale).
Messages made by the library (:class:`matcher.messages.Message`: a bad row's reason, why a page is
refused) are English with their template kept; :func:`translate` says them in the page's language, with
the same parameters. The JSON API sends their English text as it is.

The language is the ``matcher_lang`` cookie set by the header's NL | EN switch, else the best match in
``Accept-Language``, else English. A page handler sets it once per request (:func:`use_language`); the
templates and the messages made in Python read it through :func:`gettext`. The JSON API never does.

Update the catalogues after changing a text (``scripts/i18n.sh`` extracts, merges and checks).
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from starlette.requests import Request

from matcher.messages import Message, Translated
from matcher.messages import message_of as raised_message

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = {"en": "English", "nl": "Nederlands"}
DEFAULT = "en"
COOKIE = "matcher_lang"
_current: ContextVar[str] = ContextVar("matcher_lang", default=DEFAULT)


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English falls back to the message ids themselves)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang not in LANGUAGES or not po.is_file():
        return _gettext.NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def parse_accept_language(header: str) -> str | None:
    """The first supported language of an ``Accept-Language`` header, by its q-values.

    >>> parse_accept_language("de-DE,nl;q=0.8,en;q=0.5")
    'nl'
    >>> parse_accept_language("en-US,en;q=0.9,nl;q=0.8")
    'en'
    >>> parse_accept_language("fr") is None
    True
    """
    ranked = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else None


def language_of(request: Request) -> str:
    """The language a page for ``request`` is in: the switch's cookie, else Accept-Language, else English."""
    chosen = request.cookies.get(COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return parse_accept_language(request.headers.get("accept-language", "")) or DEFAULT


def use_language(request: Request) -> str:
    """Make ``request``'s language the current one (for this request's context) and return it."""
    lang = language_of(request)
    _current.set(lang)
    return lang


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def message_of(table: dict[str, str], key: str) -> str:
    """``table[key]`` in the current language, or "" for a key not in ``table`` (a page's ``done=...``)."""
    return gettext(table[key]) if key in table else ""


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark ``message`` for the catalogue where it is defined; it is translated where it is shown."""
    return message


def number(n: int | float) -> str:
    """``n`` written the way the current language writes numbers (10,000 or 10.000)."""
    return format_decimal(n, locale=_current.get())


class _LocalNumber(int):
    """A message's whole number: ``{n:,}`` writes it the current language's way (20.001 in Dutch)."""

    def __format__(self, spec: str) -> str:
        return number(int(self)) if spec == "," else format(int(self), spec)


def _local(value: object) -> object:
    if isinstance(value, Message):
        return translate(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _LocalNumber(value)
    return value


def translate(text: str) -> str:
    """A library :class:`~matcher.messages.Message` in the current language (its parameters too); any
    other text as it is (it is already in the page's language, or it is data such as a name). A
    :class:`~matcher.messages.Translated` text from a data file brings its own translation.

    A translation whose placeholders do not match its message (which ``tests/test_i18n.py`` prevents)
    falls back to the English text rather than failing the page.
    """
    if not isinstance(text, Message):
        return text
    if isinstance(text, Translated):  # a data file's text: its own translation, not the catalogue's
        return text.translations.get(_current.get(), str(text))
    params = {name: _local(value) for name, value in text.params.items()}
    try:
        return gettext(text.template).format(**params) if params else gettext(text.template)
    except (KeyError, IndexError, ValueError):
        return str(text)


def error_text(exc: BaseException) -> str:
    """The message ``exc`` was raised with, in the current language (see :func:`translate`)."""
    return translate(raised_message(exc))


class CurrentTranslations:
    """What jinja2's i18n extension calls: the catalogue of the current request's language."""

    def gettext(self, message: str) -> str:
        return gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return translations(_current.get()).pgettext(context, message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return translations(_current.get()).npgettext(context, singular, plural, n)
