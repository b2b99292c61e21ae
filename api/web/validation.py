"""A form's validation errors in the page's language: pydantic says them in English, the page says them by
their error ``type`` and ``ctx`` (``string_too_long`` with ``max_length=300`` is "mag hoogstens 300 tekens
bevatten" on a Dutch page).

The English page shows pydantic's own sentence, as before; the JSON API never comes here. Each type the
forms can produce (a ``Form(max_length=...)``, a request model's ``Field`` constraints, its validators'
:class:`~matcher.messages.Message` refusals) has its English sentence here as a catalogue entry, with the
``ctx`` names pydantic fills in; a type not listed keeps pydantic's English.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.schemas import NOT_BLANK
from api.web.i18n import N_, current_language, gettext, translate
from matcher.messages import message_of

# pydantic's sentences, with the names of their ``ctx`` (pydantic_core's error messages)
SENTENCES = {
    "missing": N_("Field required"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "string_type": N_("Input should be a valid string"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "less_than": N_("Input should be less than {lt}"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "int_type": N_("Input should be a valid integer"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "literal_error": N_("Input should be {expected}"),
    "list_too_long": N_("List should have at most {max_length} items after validation, not {actual_length}"),
    "value_error": N_("Value error, {error}"),
}
NOT_BLANK_SENTENCE = N_("must not be empty or whitespace")  # the pattern a text field needs, in words
# the fields of the forms, as a person reads them before the sentence ("title: ...")
FIELDS = {"title": N_("title"), "description": N_("description"), "text": N_("text"), "size": N_("size"),
          "instrument": N_("instrument"), "name": N_("name"), "website": N_("website"), "offers": N_("offers"),
          "seeks": N_("seeks"), "capabilities": N_("capabilities"), "contact": N_("contact"), "notes": N_("notes"),
          "note": N_("note"), "trl_min": N_("TRL from"), "trl_max": N_("TRL to"), "region": N_("region"),
          "wanted_kinds": N_("kinds"), "kinds": N_("kinds"), "country": N_("country"), "city": N_("city"),
          "label": N_("label"), "expires": N_("expires"), "need": N_("need"), "posed_by": N_("posed by"),
          "api_key": N_("API key"), "lead": N_("lead"), "visibility": N_("visibility")}


def _sentence(e: dict[str, Any]) -> str:
    """One error's sentence in the current language (pydantic's own English on an English page)."""
    kind, ctx = e.get("type", ""), dict(e.get("ctx") or {})
    if current_language() == "en" or (kind not in SENTENCES and kind != "rule"):
        return str(e.get("msg", "invalid"))
    if kind == "rule":  # api.contract.rule_error: a Message refusal of the request model
        return translate(ctx.get("reason", e.get("msg", "")))
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == NOT_BLANK:
        return gettext(NOT_BLANK_SENTENCE)
    if kind == "value_error" and isinstance(ctx.get("error"), BaseException):
        ctx["error"] = translate(message_of(ctx["error"]))
    if kind == "list_too_long" and ctx.get("field_type") != "List":
        return str(e.get("msg", "invalid"))
    try:
        return gettext(SENTENCES[kind]).format(**ctx)
    except (KeyError, IndexError, ValueError):
        return str(e.get("msg", "invalid"))


def _field(e: dict[str, Any]) -> str:
    names = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path")]
    if current_language() == "en":
        return ".".join(names).replace("_", " ")
    if not names and e.get("type") == "rule":  # a model's rule names its field in ctx (English leaves it out)
        names = [str((e.get("ctx") or {}).get("field", ""))]
    if len(names) == 1 and names[0] in FIELDS:
        return gettext(FIELDS[names[0]])
    return ".".join(n for n in names if n).replace("_", " ")


def validation_message(exc: ValidationError | RequestValidationError) -> str:
    """Every error of ``exc`` as "field: sentence", joined by "; ", in the page's language."""
    parts = []
    for e in exc.errors():
        field, sentence = _field(e), _sentence(e)
        parts.append(f"{field}: {sentence}" if field else sentence)
    return "; ".join(parts) or gettext("some fields are not valid")
