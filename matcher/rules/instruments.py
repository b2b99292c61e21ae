"""Funding instruments as data: the partners, rules and instruments the checks read, loaded from YAML."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from matcher.errors import InvalidInput, NotFound
from matcher.messages import Message, Translated

INSTRUMENTS_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "instruments"
INSTRUMENT_IDS = ("horizon-ria", "horizon-ia", "horizon-csa", "eic-pathfinder", "eurostars", "mit-rd", "care-pilot")
SME_KINDS = frozenset({"startup", "sme"})
# Not enterprises, whatever their size: an SME flag on them (CORDIS sets it for small foundations and
# institutes) does not make them the R&D-performing SME that Eurostars and MIT ask for.
NOT_ENTERPRISES = frozenset({"university", "research_institute", "hospital", "care_institution", "public_body"})
RULE_TYPES = ("distinct_countries", "members_in", "min_kinds", "min_smes", "lead", "lead_sme", "sme_cost_share",
              "max_cost_share")
LEAD_TYPES = ("lead", "lead_sme")
# A rule's texts in other languages sit beside the English one in the file: text_nl, label_nl, purpose_nl
TRANSLATABLE = ("text", "label", "purpose")
LANGS = ("nl",)
KIND_WORDS = {"startup": Message("startup"), "sme": Message("sme"), "large_company": Message("large company"),
              "university": Message("university"), "research_institute": Message("research institute"),
              "hospital": Message("hospital"), "care_institution": Message("care institution"),
              "public_body": Message("public body"), "other": Message("other")}


def kind_word(kind: str) -> str:
    """An organisation kind in words, for a sentence: "research institute"."""
    return KIND_WORDS.get(kind) or kind.replace("_", " ")


def translated(raw: dict[str, Any], key: str) -> Translated:
    """``raw[key]`` with its translations from the same mapping (``name`` with ``name_nl``)."""
    return Translated(str(raw[key]), **{lang: raw.get(f"{key}_{lang}") for lang in LANGS})


@dataclass(frozen=True)
class Partner:
    """A team member as the rules see it. ``cost_share`` is any non-negative amount (EUR or a share);
    ``service`` marks a service firm (project management, consulting, communication), which does not
    perform the project's R&D (:mod:`matcher.consortium.firms` recognises them)."""

    kind: str
    country: str
    sme: bool = False
    cost_share: float | None = None
    name: str = ""
    id: int | None = None
    service: bool = False

    @property
    def is_sme(self) -> bool:
        """An SME by flag, or by kind (every startup is an SME under the EU definition)."""
        return self.sme or self.kind in SME_KINDS

    @property
    def is_enterprise_sme(self) -> bool:
        """An SME that is an enterprise (a company), not a small research organisation or foundation."""
        return self.is_sme and self.kind not in NOT_ENTERPRISES

    @property
    def label(self) -> str:
        return self.name or Message("the {kind} from {country}", kind=kind_word(self.kind),
                                    country=self.country or Message("an unknown country"))


@dataclass(frozen=True)
class CountryGroup:
    """A named set of country codes, e.g. "EU member state" (a :class:`Translated` name from the file)."""

    name: str
    codes: frozenset[str]


@dataclass(frozen=True)
class Rule:
    """One rule of an instrument; ``params`` holds the type's parameters, countries resolved."""

    id: str
    type: str
    text: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Instrument:
    """A funding instrument: its rules (exactly one of them about the lead), size limits and source."""

    id: str
    name: str
    source: dict[str, Any]
    min_size: int
    default_size: int
    max_size: int | None
    rules: tuple[Rule, ...]

    @property
    def lead_rule(self) -> Rule | None:
        """The rule that says who may lead (None only for instrument files written before lead rules)."""
        return next((r for r in self.rules if r.type in LEAD_TYPES), None)


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule; ``shortfall`` is how many more suitable partners would fix it (0 if passed)."""

    rule: str
    passed: bool
    message: str
    requirement: str = ""
    shortfall: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "message": self.message, "requirement": self.requirement}


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise NotFound(f"{path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{path.name}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{path.name}: expected a mapping at the top")
    return data


def load_countries(folder: Path = INSTRUMENTS_DIR, as_of: dt.date | None = None) -> dict[str, CountryGroup]:
    """Country groups from ``countries.yaml``; associated countries count from their ``from`` date.

    Args:
        folder: the instruments folder.
        as_of: the date of the call (default: today).
    """
    as_of = as_of or dt.date.today()
    out = {}
    for key, group in _read_yaml(folder / "countries.yaml").items():
        codes = set(group.get("codes") or [])
        for c in group.get("countries") or []:
            if dt.date.fromisoformat(str(c["from"])) <= as_of:
                codes.add(c["code"])
        out[key] = CountryGroup(translated(group, "name"), frozenset(str(c).upper() for c in codes))
    return out


def load_instrument(instrument_id: str, folder: Path = INSTRUMENTS_DIR, as_of: dt.date | None = None) -> Instrument:
    """The instrument ``instrument_id`` from ``folder``, validated; unknown ids raise :class:`InvalidInput`.

    A file holds at most one lead rule (type ``lead``); the files we ship each hold exactly one,
    which ``tests/test_rules.py`` checks.
    """
    known = sorted(p.stem for p in Path(folder).glob("*.yaml") if p.stem != "countries")
    if instrument_id not in known:
        raise InvalidInput(f"unknown instrument {instrument_id!r}; expected one of: {', '.join(known)}")
    path = Path(folder) / f"{instrument_id}.yaml"
    data = _read_yaml(path)
    missing = [k for k in ("id", "name", "source", "size", "rules") if k not in data]
    if missing or data["id"] != instrument_id or not (data["source"] or {}).get("document"):
        raise InvalidInput(f"{path.name}: needs id (= file name), name, source.document, size and rules")
    countries = load_countries(Path(folder), as_of)
    rules = tuple(_rule(path.name, r, countries) for r in data["rules"])
    if sum(r.type in LEAD_TYPES for r in rules) > 1:
        raise InvalidInput(f"{path.name}: at most one lead rule")
    size = data["size"]
    return Instrument(instrument_id, translated(data, "name"), dict(data["source"]), int(size["min"]),
                      int(size.get("default", size["min"])), size.get("max"), rules)


def _rule(file: str, raw: dict[str, Any], countries: dict[str, CountryGroup]) -> Rule:
    rtype = raw.get("type")
    if rtype not in RULE_TYPES or not raw.get("id") or not raw.get("text"):
        raise InvalidInput(f"{file}: rule {raw.get('id')!r} needs an id, a text and a type among {sorted(RULE_TYPES)}")
    own = {"id", "type", "text", *(f"{t}_{lang}" for t in TRANSLATABLE for lang in LANGS)}
    params = {k: v for k, v in raw.items() if k not in own}
    params.update({k: translated(raw, k) for k in TRANSLATABLE[1:] if k in raw})
    if "countries" in params:
        unknown = [g for g in params["countries"] if g not in countries]
        if unknown:
            raise InvalidInput(f"{file}: rule {raw['id']!r} names unknown country groups {unknown}")
        groups = [countries[g] for g in params["countries"]]
        params["countries"] = CountryGroup(_either([g.name for g in groups]),
                                           frozenset().union(*(g.codes for g in groups)))
    if rtype == "lead_sme":  # the older spelling of a lead rule that asks for an SME
        params.setdefault("sme", True)
    return Rule(str(raw["id"]), str(rtype), translated(raw, "text"), params)


def _either(names: list[str]) -> str:
    """"EU member state or associated country"."""
    return names[0] if len(names) == 1 else Message("{first} or {second}", first=_either(names[:-1]), second=names[-1])
