"""Funding-instrument rules: loaded from ``data/instruments/*.yaml``, checked by pure functions.

An instrument file lists rules such as "at least 3 partners from 3 different member
states or associated countries"; :func:`check_team` checks a team rule by rule and
explains every failure in a plain sentence. Country lists are data too
(``countries.yaml``), each associated country with the date its association applies.

Independence of legal entities (no control of one by another) cannot be verified from
our data: distinct organisations are treated as independent, and an organisation listed
twice (same ``id``) counts once.

>>> ria = load_instrument("horizon-ria")
>>> team = [Partner("university", "NL"), Partner("hospital", "DE")]
>>> [r.message for r in check_team(ria, team) if not r.passed]
['needs one more partner from a different EU member state or associated country (has 2 of 3: DE, NL)']
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from matcher.errors import InvalidInput, NotFound

INSTRUMENTS_DIR = Path(__file__).resolve().parent.parent / "data" / "instruments"
INSTRUMENT_IDS = ("horizon-ria", "horizon-ia", "horizon-csa", "eic-pathfinder", "eurostars", "mit-rd", "care-pilot")
SME_KINDS = frozenset({"startup", "sme"})
_WORDS = {1: "one", 2: "two", 3: "three"}


@dataclass(frozen=True)
class Partner:
    """A team member as the rules see it. ``cost_share`` is any non-negative amount (EUR or a share)."""

    kind: str
    country: str
    sme: bool = False
    cost_share: float | None = None
    name: str = ""
    id: int | None = None

    @property
    def is_sme(self) -> bool:
        """An SME by flag, or by kind (every startup is an SME under the EU definition)."""
        return self.sme or self.kind in SME_KINDS

    @property
    def label(self) -> str:
        return self.name or f"the {self.kind.replace('_', ' ')} from {self.country or 'an unknown country'}"


@dataclass(frozen=True)
class CountryGroup:
    """A named set of country codes, e.g. "EU member state"."""

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
    """A funding instrument: its rules, size limits and the document they come from."""

    id: str
    name: str
    source: dict[str, Any]
    min_size: int
    default_size: int
    max_size: int | None
    rules: tuple[Rule, ...]


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


# ---- loading ------------------------------------------------------------------------------
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
        out[key] = CountryGroup(str(group["name"]), frozenset(str(c).upper() for c in codes))
    return out


def load_instrument(instrument_id: str, folder: Path = INSTRUMENTS_DIR, as_of: dt.date | None = None) -> Instrument:
    """The instrument ``instrument_id`` from ``folder``, validated; unknown ids raise :class:`InvalidInput`."""
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
    size = data["size"]
    return Instrument(instrument_id, str(data["name"]), dict(data["source"]), int(size["min"]),
                      int(size.get("default", size["min"])), size.get("max"), rules)


def _rule(file: str, raw: dict[str, Any], countries: dict[str, CountryGroup]) -> Rule:
    rtype = raw.get("type")
    if rtype not in CHECKS or not raw.get("id") or not raw.get("text"):
        raise InvalidInput(f"{file}: rule {raw.get('id')!r} needs an id, a text and a type among {sorted(CHECKS)}")
    params = {k: v for k, v in raw.items() if k not in ("id", "type", "text")}
    if "countries" in params:
        unknown = [g for g in params["countries"] if g not in countries]
        if unknown:
            raise InvalidInput(f"{file}: rule {raw['id']!r} names unknown country groups {unknown}")
        groups = [countries[g] for g in params["countries"]]
        params["countries"] = CountryGroup(" or ".join(g.name for g in groups),
                                           frozenset().union(*(g.codes for g in groups)))
    return Rule(str(raw["id"]), str(rtype), str(raw["text"]), params)


# ---- checking -----------------------------------------------------------------------------
def check_team(instrument: Instrument, team: Sequence[Partner]) -> list[RuleResult]:
    """Every rule of ``instrument`` on ``team`` (the first partner is the lead), in file order."""
    members = _distinct(team)
    return [CHECKS[r.type](r, members) for r in instrument.rules]


def is_eligible(results: Sequence[RuleResult]) -> bool:
    return all(r.passed for r in results)


def total_shortfall(results: Sequence[RuleResult]) -> int:
    return sum(r.shortfall for r in results)


def _distinct(team: Sequence[Partner]) -> list[Partner]:
    seen: set[int] = set()
    out = []
    for p in team:
        if p.id is None or p.id not in seen:
            out.append(p)
            if p.id is not None:
                seen.add(p.id)
    return out


def _more(n: int, what: str, plural: str) -> str:
    return f"one more {what}" if n == 1 else f"{_WORDS.get(n, n)} more {plural}"


def _ok(rule: Rule, message: str) -> RuleResult:
    return RuleResult(rule.id, True, message, rule.text, 0)


def _fail(rule: Rule, message: str, shortfall: int) -> RuleResult:
    return RuleResult(rule.id, False, message, rule.text, max(shortfall, 1))


def check_distinct_countries(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` partners, each from a different country of the group."""
    group: CountryGroup = rule.params["countries"]
    found = sorted({p.country for p in team if p.country in group.codes})
    need = int(rule.params["count"])
    if len(found) >= need:
        return _ok(rule, f"{len(found)} partners, each from a different {group.name}: {', '.join(found)}")
    missing = need - len(found)
    has = f" (has {len(found)} of {need}: {', '.join(found)})" if found else f" (has 0 of {need})"
    return _fail(rule, f"needs {_more(missing, 'partner', 'partners, each')} from a different {group.name}{has}",
                 missing)


def check_members_in(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` partners established in a country of the group."""
    group: CountryGroup = rule.params["countries"]
    n, need = sum(p.country in group.codes for p in team), int(rule.params["count"])
    if n >= need:
        return _ok(rule, f"{n} partner{'s' if n != 1 else ''} established in an {group.name}")
    what = "a partner" if n == 0 and need - n == 1 else _more(need - n, "partner", "partners")
    return _fail(rule, f"needs {what} established in an {group.name}", need - n)


def check_min_kinds(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` partners of the given kinds (``label`` names them in messages)."""
    kinds, label, need = set(rule.params["kinds"]), str(rule.params["label"]), int(rule.params["count"])
    n = sum(p.kind in kinds for p in team)
    if n >= need:
        return _ok(rule, f"has {n} {label}" if n == 1 else f"has {n} partners that are a {label}")
    return _fail(rule, f"needs a {label}" if need - n == 1 else f"needs {need - n} more partners that are a {label}",
                 need - n)


def check_min_smes(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` SMEs (optionally only those in a country group), independent of each other."""
    group: CountryGroup | None = rule.params.get("countries")
    need = int(rule.params["count"])
    n = sum(p.is_sme and (group is None or p.country in group.codes) for p in team)
    where = f" established in {group.name}" if group else ""
    if n >= need:
        return _ok(rule, f"{n} SMEs{where}")
    return _fail(rule, f"needs {_more(need - n, 'SME', 'SMEs')}{where} (has {n} of {need})", need - n)


def check_lead_sme(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """The lead (first) partner is an SME from a country of the group."""
    group: CountryGroup = rule.params["countries"]
    if not team:
        return _fail(rule, f"needs a lead partner: an SME from a {group.name}", 1)
    lead = team[0]
    if not lead.is_sme:
        return RuleResult(rule.id, False, f"the lead partner ({lead.label}) is not an SME; the lead must be an SME "
                          f"from a {group.name}", rule.text, 1)
    if lead.country not in group.codes:
        return RuleResult(rule.id, False, f"the lead partner ({lead.label}) is in {lead.country or 'no country'}, "
                          f"not a {group.name}", rule.text, 1)
    return _ok(rule, f"led by an SME ({lead.label}, {lead.country})")


def cost_shares(team: Sequence[Partner]) -> tuple[list[float], bool]:
    """Each partner's share of the cost (summing to 1) and whether equal shares had to be assumed."""
    if any(p.cost_share is not None and p.cost_share < 0 for p in team):
        raise InvalidInput("cost_share: must not be negative")
    given = [p.cost_share for p in team]
    if not team or any(c is None for c in given) or sum(given) <= 0:  # type: ignore[arg-type]
        return [1.0 / max(len(team), 1)] * len(team), True
    total = float(sum(given))  # type: ignore[arg-type]
    return [float(c) / total for c in given], False  # type: ignore[arg-type]


def check_sme_cost_share(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """SMEs together hold at least ``min_share`` of the cost (equal shares when not all are given)."""
    need = float(rule.params["min_share"])
    shares, assumed = cost_shares(team)
    held = sum(s for p, s in zip(team, shares) if p.is_sme)
    note = " (equal shares assumed)" if assumed else ""
    if team and held >= need - 1e-9:
        return _ok(rule, f"SMEs hold {held:.0%} of the cost{note}")
    n_sme = sum(p.is_sme for p in team)
    extra = math.ceil(max(0.0, need * len(team) - n_sme) / (1 - need)) if assumed and need < 1 else 1
    return _fail(rule, f"SMEs hold {held:.0%} of the cost{note}, below the required {need:.0%}: add an SME or give "
                       f"the SMEs a larger share", extra)


def check_max_cost_share(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """No single organisation (``by: organisation``) or country (``by: country``) above ``max_share``."""
    limit, by = float(rule.params["max_share"]), str(rule.params["by"])
    shares, assumed = cost_shares(team)
    totals: Counter[str] = Counter()
    for i, (p, s) in enumerate(zip(team, shares)):
        totals[(p.country or "?") if by == "country" else f"{p.label}#{i}"] += s
    if not totals:
        return _fail(rule, "needs partners to share the cost", 1)
    name, top = totals.most_common(1)[0]
    note = " (equal shares assumed)" if assumed else ""
    if top <= limit + 1e-9:
        return _ok(rule, f"largest {by} share is {top:.0%}{note}")
    who = name if by == "country" else name.rsplit("#", 1)[0]
    count = round(top * len(team)) if assumed else 1
    extra = max(1, math.ceil(count / limit - len(team))) if assumed else 1
    return _fail(rule, f"{who} holds {top:.0%} of the cost{note}, more than the allowed {limit:.0%}: add partners "
                       f"{'from other countries ' if by == 'country' else ''}or spread the cost", extra)


CHECKS: dict[str, Callable[[Rule, Sequence[Partner]], RuleResult]] = {
    "distinct_countries": check_distinct_countries, "members_in": check_members_in, "min_kinds": check_min_kinds,
    "min_smes": check_min_smes, "lead_sme": check_lead_sme, "sme_cost_share": check_sme_cost_share,
    "max_cost_share": check_max_cost_share,
}
