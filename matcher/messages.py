"""Messages a person reads (a bad row's reason, why a profile may not be edited), in a form an edge can
translate without the library knowing any language but English.

A :class:`Message` is the English sentence itself (a ``str``: the CLI prints it, the JSON API sends it,
tests compare it) that also keeps its template and parameters. The web UI looks the template up in its
Dutch catalogue and fills in the same parameters (``api/web/i18n.py``, :func:`translate`); the library
never imports a catalogue. ``scripts/i18n.sh`` extracts every ``Message("...")`` template from
``matcher/`` into the web UI's catalogue, so a template must be a string literal (no f-string).

Parameters are filled in with :meth:`str.format`: ``{n:,}`` writes 20,001 (an edge may write 20.001),
``{value!r}`` quotes a value as typed. A parameter may itself be a :class:`Message`; it is translated too.

>>> m = Message("{column}: {value!r} is not a whole number from 1 to 9", column="trl_min", value="ten")
>>> m
"trl_min: 'ten' is not a whole number from 1 to 9"
>>> m.template, m.params["column"]
('{column}: {value!r} is not a whole number from 1 to 9', 'trl_min')
"""

from __future__ import annotations

from typing import Any

__all__ = ["Message", "Translated", "message_of"]


class Message(str):
    """An English sentence made from ``template`` and ``params`` (both kept for translation)."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, /, **params: Any) -> Message:
        self = super().__new__(cls, template.format(**params) if params else template)
        self.template = template
        self.params = params
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickling (worker processes) keeps the parts, not only the text
        return (_rebuild, (self.template, self.params))


def _rebuild(template: str, params: dict[str, Any]) -> Message:
    return Message(template, **params)


class Translated(Message):
    """A text from a data file (a rule's text, a country group's name) that brings its own translations, as
    the file gives them: an edge says it in its language, or in English when the file has none for it.

    >>> t = Translated("EU member state", nl="EU-lidstaat")
    >>> t, t.translations["nl"]
    ('EU member state', 'EU-lidstaat')
    """

    translations: dict[str, str]

    def __new__(cls, text: str, /, **translations: str | None) -> Translated:
        self = super().__new__(cls, text)
        self.translations = {lang: str(t) for lang, t in translations.items() if t}
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_translated, (self.template, self.translations))


def _rebuild_translated(text: str, translations: dict[str, str]) -> Translated:
    return Translated(text, **translations)


def message_of(exc: BaseException) -> str:
    """The message an exception was raised with: the :class:`Message` itself when it was one (``str(exc)``
    would give a plain copy of its English text), else ``str(exc)``."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Message) else str(exc)
