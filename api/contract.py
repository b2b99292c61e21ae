"""What the OpenAPI document promises beyond field types: rules that span fields, and the few it cannot state.

A rule that spans fields is stated in the request model's JSON schema (:func:`add_rule`: an ``allOf``
entry whose ``anyOf`` branches say which combinations are valid) and checked by a validator that answers
like a field error (:func:`rule_error`). A rule that depends on values JSON Schema cannot compare (two
lists, a stored record, a file's content) is listed in :data:`RULES_NOT_IN_SCHEMA`: its route documents
it in the 422 answer's description and examples, docs/API.md lists it, and the contract test tolerates
exactly these refusals of schema-valid input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticCustomError


class FieldError(BaseModel):
    field: str
    reason: str


class ErrorOut(BaseModel):
    """An error: one sentence saying what is wrong."""

    detail: str


class ValidationErrorOut(BaseModel):
    """Refused input: the fields and reasons, or one sentence for a rule that spans fields."""

    detail: list[FieldError] | str


# The error answers every route may give, so that the OpenAPI schema describes them (a 500 is a bug).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A body that cannot be parsed (not UTF-8, broken multipart)"},
    401: {"model": ErrorOut, "description": "No key, or an unknown or revoked key"},
    403: {"model": ErrorOut, "description": "The key's role may not do this"},
    404: {"model": ErrorOut, "description": "Not found, or not visible to this key"},
    409: {"model": ErrorOut, "description": "Clashes with stored data"},
    413: {"model": ErrorOut, "description": "Request body too large"},
    422: {"model": ValidationErrorOut, "description": "Invalid input: field and reason"},
}


def rule_error(field: str, reason: str) -> PydanticCustomError:
    """A refusal by a rule that spans fields, answered like a field error: ``{"field", "reason"}``."""
    return PydanticCustomError("rule", "{reason}", {"field": field, "reason": reason})


def add_rule(schema: dict[str, Any], description: str, branches: list[dict[str, Any]]) -> None:
    """State a rule that spans fields in a model's JSON schema: the object must match one of ``branches``."""
    schema.setdefault("allOf", []).append({"description": description, "anyOf": branches})


@dataclass(frozen=True)
class Unstated:
    """A rule the server enforces that JSON Schema cannot state; refusals say ``example`` (422)."""

    rule: str
    example: str
    pattern: str  # the refusal's words (``detail``), as a regular expression

    def matches(self, detail: object) -> bool:
        return isinstance(detail, str) and re.search(self.pattern, detail) is not None


_BOTH = Unstated("no organisation is both in `fixed` and in `exclude`",
                 "organisation 12 is both fixed and excluded", r"^organisation \d+ is both fixed and excluded$")
_INDEXED = Unstated("every `fixed` (or `members`) organisation has evidence to match on (a profile text or a project)",
                    "some fixed organisations are not in the catalogue", r"^some fixed organisations are not in the")
_FILE = Unstated("the file name ends in `.csv`, `.json` or `.xlsx`", "file: expected a .csv, .json or .xlsx file",
                 r"^file: expected a \.csv, \.json or \.xlsx file$")

RULES_NOT_IN_SCHEMA: dict[tuple[str, str], tuple[Unstated, ...]] = {
    ("POST", "/v1/consortium"): (
        _BOTH, _INDEXED,
        Unstated("`size` is at least the number of distinct `fixed` organisations",
                 "size: must be between the number of fixed members (4) and 60", r"^size: must be between the"),
    ),
    ("POST", "/v1/consortium/swap"): (
        _BOTH, _INDEXED,
        Unstated("`remove` is one of `members` and not one of `fixed`",
                 "organisation 7 is not a member of this team",
                 r"^organisation \d+ (is not a member of this team|is a fixed member and cannot be swapped)$"),
        Unstated("every `fixed` organisation is one of `members`",
                 "every fixed organisation must be among the members",
                 r"^every fixed organisation must be among the members$"),
    ),
    ("POST", "/v1/organisations/import"): (
        _FILE,
        Unstated("the file holds a member list in its format: a header row with at least `name` and `kind` "
                 "(CSV in UTF-8 or Windows-1252), a JSON list of objects, or an .xlsx workbook; at most 20 MB "
                 "and 20,000 rows",
                 "upload.csv: required columns missing: kind", r"^(upload\.(csv|json|xlsx)|file): "),
    ),
}


def rule_responses(method: str, path: str, *stated: tuple[str, str]) -> dict[int | str, dict[str, Any]]:
    """The 422 answer of a route, with an example for each rule it enforces beyond field types.

    ``stated`` are (field, reason) of rules the schema states (:func:`add_rule`); the route's
    :data:`RULES_NOT_IN_SCHEMA` are added with their words.
    """
    unstated = RULES_NOT_IN_SCHEMA.get((method, path), ())
    examples: dict[str, Any] = {"field": {"summary": "A field out of its range",
                                          "value": {"detail": [{"field": "k", "reason": "Input should be less "
                                                                "than or equal to 100"}]}}}
    for field, reason in stated:
        examples[f"rule-{field}"] = {"summary": f"{field}: {reason}", "value": {"detail": [
            {"field": field, "reason": reason}]}}
    for i, rule in enumerate(unstated, 1):
        examples[f"unstated-{i}"] = {"summary": rule.rule, "value": {"detail": rule.example}}
    description = "Invalid input: field and reason"
    if unstated:
        description += ". Also refused, by rules the schema cannot state: " + "; ".join(r.rule for r in unstated)
    return {422: {"model": ValidationErrorOut, "description": description,
                  "content": {"application/json": {"examples": examples}}}}
