"""The checks: one pure function per rule type, each explaining a failure in a plain sentence.

Besides checking a team, each count-type rule says which partners count towards it
(:func:`counts`), so the team builder can state the rules as constraints of its choice, and
what a member added for it is for (:func:`purpose`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

from matcher.errors import InvalidInput
from matcher.rules.instruments import CountryGroup, Instrument, Partner, Rule, RuleResult

_WORDS = {1: "one", 2: "two", 3: "three"}


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


def counts(rule: Rule, p: Partner) -> bool:
    """Whether ``p`` counts towards a count-type rule (and, for a lead rule, whether it may lead).

    ``rd_performing: true`` in a rule leaves service firms out of its count (they do not carry R&D).
    """
    prm = rule.params
    group: CountryGroup | None = prm.get("countries")
    if group is not None and p.country not in group.codes:
        return False
    if prm.get("rd_performing") and p.service:
        return False
    if rule.type in ("min_smes", "sme_cost_share") or prm.get("sme"):
        if not (p.is_enterprise_sme if prm.get("rd_performing") else p.is_sme):
            return False
    return not prm.get("kinds") or p.kind in prm["kinds"]


def _service_note(rule: Rule, team: Sequence[Partner]) -> str:
    left_out = rule.params.get("rd_performing") and any(p.service and p.is_sme for p in team)
    return " (service firms do not count: they do not perform the R&D)" if left_out else ""


def check_members_in(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` partners established in a country of the group."""
    group: CountryGroup = rule.params["countries"]
    n, need = sum(counts(rule, p) for p in team), int(rule.params["count"])
    if n >= need:
        return _ok(rule, f"{n} partner{'s' if n != 1 else ''} established in an {group.name}")
    what = "a partner" if n == 0 and need - n == 1 else _more(need - n, "partner", "partners")
    return _fail(rule, f"needs {what} established in an {group.name}", need - n)


def check_min_kinds(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` partners of the given kinds (``label`` names them in messages)."""
    label, need = str(rule.params["label"]), int(rule.params["count"])
    n = sum(counts(rule, p) for p in team)
    if n >= need:
        return _ok(rule, f"has {n} {label}" if n == 1 else f"has {n} partners that are a {label}")
    return _fail(rule, f"needs a {label}" if need - n == 1 else f"needs {need - n} more partners that are a {label}",
                 need - n)


def check_min_smes(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` SMEs (optionally only those in a country group, or performing R&D), independent."""
    group: CountryGroup | None = rule.params.get("countries")
    need = int(rule.params["count"])
    n = sum(counts(rule, p) for p in team)
    where = f" established in {group.name}" if group else ""
    if n >= need:
        return _ok(rule, f"{n} SMEs{where}")
    return _fail(rule, f"needs {_more(need - n, 'SME', 'SMEs')}{where} (has {n} of {need})"
                       f"{_service_note(rule, team)}", need - n)


def _from(group: CountryGroup) -> str:
    return f"in {group.name}" if group.name.startswith("the ") else f"from a {group.name}"


def lead_requirement(rule: Rule) -> str:
    """Who may lead, in words: "an R&D-performing SME from a Eurostars participating country"."""
    group: CountryGroup | None = rule.params.get("countries")
    who = "SME" if rule.params.get("sme") else "organisation"
    rd = "R&D-performing " if rule.params.get("rd_performing") else ""
    return f"{'an' if rd or who == 'organisation' else 'a'} {rd}{who}{f' {_from(group)}' if group else ''}"


def check_lead(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """The lead (first) partner is allowed by the rule: an SME, from a country group, not a service firm."""
    group: CountryGroup | None = rule.params.get("countries")
    if not team:
        return _fail(rule, f"needs a lead partner: {lead_requirement(rule)}", 1)
    lead, why = team[0], ""
    if rule.params.get("sme") and not lead.is_sme:
        why = f"is not an SME; the lead must be an SME{f' {_from(group)}' if group else ''}"
    elif rule.params.get("sme") and rule.params.get("rd_performing") and not lead.is_enterprise_sme:
        why = (f"is a {lead.kind.replace('_', ' ')}, not an enterprise; the lead must be an R&D-performing "
               f"SME{f' {_from(group)}' if group else ''}")
    elif group is not None and lead.country not in group.codes:
        article = "" if group.name.startswith("the ") else "a "
        why = f"is in {lead.country or 'no country'}, not {article}{group.name}"
    elif rule.params.get("rd_performing") and lead.service:
        why = ("is a service firm (project management, consulting or communication), not an organisation that "
               "performs the R&D")
    if why:
        return RuleResult(rule.id, False, f"the lead partner ({lead.label}) {why}", rule.text, 1)
    sme = "an SME" if rule.params.get("sme") else "an R&D-performing organisation"
    return _ok(rule, f"led by {sme} ({lead.label}{f', {lead.country}' if group else ''})")


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
    held = sum(s for p, s in zip(team, shares) if counts(rule, p))
    note = " (equal shares assumed)" if assumed else ""
    if team and held >= need - 1e-9:
        return _ok(rule, f"SMEs hold {held:.0%} of the cost{note}")
    n_sme = sum(counts(rule, p) for p in team)
    extra = math.ceil(max(0.0, need * len(team) - n_sme) / (1 - need)) if assumed and need < 1 else 1
    return _fail(rule, f"SMEs hold {held:.0%} of the cost{note}, below the required {need:.0%}: add an SME or give "
                       f"the SMEs a larger share{_service_note(rule, team)}", extra)


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
    "min_smes": check_min_smes, "lead": check_lead, "lead_sme": check_lead, "sme_cost_share": check_sme_cost_share,
    "max_cost_share": check_max_cost_share,
}


def purpose(rule: Rule) -> str:
    """Why a member was added for ``rule``, in a few words: "added to reach 50% SME cost".

    A rule may say it in its own words with ``purpose:`` in the instrument file.
    """
    prm = rule.params
    group: CountryGroup | None = prm.get("countries")
    rd = "R&D-performing " if prm.get("rd_performing") else ""
    text = {
        "distinct_countries": lambda: f"added to reach {prm.get('count')} different countries"
                                      f" ({group.name if group else ''})",
        "members_in": lambda: f"added to have a partner established in an {group.name if group else ''}",
        "min_kinds": lambda: f"added to have a {prm.get('label')}",
        "min_smes": lambda: f"added to reach {prm.get('count')} {rd}SMEs"
                            f"{f' established in {group.name}' if group else ''}",
        "sme_cost_share": lambda: f"added to reach {float(prm.get('min_share', 0)):.0%} {rd}SME cost",
        "max_cost_share": lambda: f"added to keep each {prm.get('by')} at or below "
                                  f"{float(prm.get('max_share', 1)):.0%} of the cost",
    }.get(rule.type, lambda: f"leads: the lead must be {lead_requirement(rule)}")
    return str(prm.get("purpose") or text())
