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
from matcher.messages import Message
from matcher.rules.instruments import CountryGroup, Instrument, Partner, Rule, RuleResult, kind_word

_WORDS = {2: Message("two"), 3: Message("three")}
# Every sentence is a Message (English, with its template kept for the web UI's Dutch); names from the
# instrument files are Translated. Where English grammar needs an article or a plural, each variant is a
# template of its own, so a translation can use its own grammar.


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


def _more(n: int, what: str) -> Message:
    """"one more partner", "two more partners, each" (``what`` "each"), "three more SMEs"."""
    count = _WORDS.get(n, n)
    if what == "SME":
        return Message("one more SME") if n == 1 else Message("{count} more SMEs", count=count)
    if n == 1:
        return Message("one more partner")
    return Message("{count} more partners, each", count=count) if what == "each" else Message(
        "{count} more partners", count=count)


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
        return _ok(rule, Message("{n} partners, each from a different {group}: {found}", n=len(found),
                                 group=group.name, found=", ".join(found)))
    missing = need - len(found)
    more = _more(missing, "each")
    if found:
        return _fail(rule, Message("needs {more} from a different {group} (has {n} of {need}: {found})", more=more,
                                   group=group.name, n=len(found), need=need, found=", ".join(found)), missing)
    return _fail(rule, Message("needs {more} from a different {group} (has 0 of {need})", more=more,
                               group=group.name, need=need), missing)


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
    return Message(" (service firms do not count: they do not perform the R&D)") if left_out else ""


def check_members_in(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` partners established in a country of the group."""
    group: CountryGroup = rule.params["countries"]
    n, need = sum(counts(rule, p) for p in team), int(rule.params["count"])
    if n >= need:
        return _ok(rule, Message("{n} partner established in an {group}", n=n, group=group.name) if n == 1 else
                   Message("{n} partners established in an {group}", n=n, group=group.name))
    if n == 0 and need - n == 1:
        return _fail(rule, Message("needs a partner established in an {group}", group=group.name), 1)
    return _fail(rule, Message("needs {more} established in an {group}", more=_more(need - n, "partner"),
                               group=group.name), need - n)


def check_min_kinds(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` partners of the given kinds (``label`` names them in messages)."""
    label, need = rule.params["label"], int(rule.params["count"])
    n = sum(counts(rule, p) for p in team)
    if n >= need:
        return _ok(rule, Message("has {n} {label}", n=n, label=label) if n == 1 else
                   Message("has {n} partners that are a {label}", n=n, label=label))
    return _fail(rule, Message("needs a {label}", label=label) if need - n == 1 else
                 Message("needs {n} more partners that are a {label}", n=need - n, label=label), need - n)


def check_min_smes(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """At least ``count`` SMEs (optionally only those in a country group, or performing R&D), independent."""
    group: CountryGroup | None = rule.params.get("countries")
    need = int(rule.params["count"])
    n = sum(counts(rule, p) for p in team)
    if n >= need:
        return _ok(rule, Message("{n} SMEs established in {group}", n=n, group=group.name) if group else
                   Message("{n} SMEs", n=n))
    more, note = _more(need - n, "SME"), _service_note(rule, team)
    if group:
        return _fail(rule, Message("needs {more} established in {group} (has {n} of {need}){note}", more=more,
                                   group=group.name, n=n, need=need, note=note), need - n)
    return _fail(rule, Message("needs {more} (has {n} of {need}){note}", more=more, n=n, need=need, note=note),
                 need - n)


def _from(group: CountryGroup) -> Message:
    if group.name.startswith("the "):
        return Message("in {group}", group=group.name)
    return Message("from a {group}", group=group.name)


_LEADERS = {  # (sme, rd_performing, with an article)
    (True, True, True): Message("an R&D-performing SME"), (True, False, True): Message("a SME"),
    (False, True, True): Message("an R&D-performing organisation"), (False, False, True): Message("an organisation"),
    (True, True, False): Message("R&D-performing SME"), (True, False, False): Message("SME"),
    (False, True, False): Message("R&D-performing organisation"), (False, False, False): Message("organisation"),
}


def lead_requirement(rule: Rule, article: bool = True) -> str:
    """Who may lead, in words: "an R&D-performing SME from a Eurostars participating country" (without
    ``article``: "R&D-performing SME from a Eurostars participating country")."""
    group: CountryGroup | None = rule.params.get("countries")
    who = _LEADERS[bool(rule.params.get("sme")), bool(rule.params.get("rd_performing")), article]
    return Message("{who} {where}", who=who, where=_from(group)) if group else who


def _lead_problem(rule: Rule, lead: Partner) -> str:
    """Why ``lead`` may not lead under ``rule`` ("is not an SME; ..."), or "" when it may."""
    group: CountryGroup | None = rule.params.get("countries")
    if rule.params.get("sme") and not lead.is_sme:
        return (Message("is not an SME; the lead must be an SME {where}", where=_from(group)) if group else
                Message("is not an SME; the lead must be an SME"))
    if rule.params.get("sme") and rule.params.get("rd_performing") and not lead.is_enterprise_sme:
        kind = kind_word(lead.kind)
        return (Message("is a {kind}, not an enterprise; the lead must be an R&D-performing SME {where}", kind=kind,
                        where=_from(group)) if group else
                Message("is a {kind}, not an enterprise; the lead must be an R&D-performing SME", kind=kind))
    if group is not None and lead.country not in group.codes:
        country = lead.country or Message("no country")
        return (Message("is in {country}, not {group}", country=country, group=group.name)
                if group.name.startswith("the ") else
                Message("is in {country}, not a {group}", country=country, group=group.name))
    if rule.params.get("rd_performing") and lead.service:
        return Message("is a service firm (project management, consulting or communication), not an organisation "
                       "that performs the R&D")
    return ""


def check_lead(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """The lead (first) partner is allowed by the rule: an SME, from a country group, not a service firm."""
    group: CountryGroup | None = rule.params.get("countries")
    if not team:
        return _fail(rule, Message("needs a lead partner: {who}", who=lead_requirement(rule)), 1)
    lead = team[0]
    why = _lead_problem(rule, lead)
    if why:
        return RuleResult(rule.id, False, Message("the lead partner ({lead}) {why}", lead=lead.label, why=why),
                          rule.text, 1)
    if rule.params.get("sme"):
        led = (Message("led by an SME ({lead}, {country})", lead=lead.label, country=lead.country) if group else
               Message("led by an SME ({lead})", lead=lead.label))
    else:
        led = (Message("led by an R&D-performing organisation ({lead}, {country})", lead=lead.label,
                       country=lead.country) if group else
               Message("led by an R&D-performing organisation ({lead})", lead=lead.label))
    return _ok(rule, led)


def cost_shares(team: Sequence[Partner]) -> tuple[list[float], bool]:
    """Each partner's share of the cost (summing to 1) and whether equal shares had to be assumed."""
    if any(p.cost_share is not None and p.cost_share < 0 for p in team):
        raise InvalidInput("cost_share: must not be negative")
    given = [p.cost_share for p in team]
    if not team or any(c is None for c in given) or sum(given) <= 0:  # type: ignore[arg-type]
        return [1.0 / max(len(team), 1)] * len(team), True
    total = float(sum(given))  # type: ignore[arg-type]
    return [float(c) / total for c in given], False  # type: ignore[arg-type]


def _equal_note(assumed: bool) -> str:
    return Message(" (equal shares assumed)") if assumed else ""


def check_sme_cost_share(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """SMEs together hold at least ``min_share`` of the cost (equal shares when not all are given)."""
    need = float(rule.params["min_share"])
    shares, assumed = cost_shares(team)
    held = sum(s for p, s in zip(team, shares) if counts(rule, p))
    note = _equal_note(assumed)
    if team and held >= need - 1e-9:
        return _ok(rule, Message("SMEs hold {held:.0%} of the cost{note}", held=held, note=note))
    n_sme = sum(counts(rule, p) for p in team)
    extra = math.ceil(max(0.0, need * len(team) - n_sme) / (1 - need)) if assumed and need < 1 else 1
    return _fail(rule, Message("SMEs hold {held:.0%} of the cost{note}, below the required {need:.0%}: add an SME or "
                               "give the SMEs a larger share{service}", held=held, note=note, need=need,
                               service=_service_note(rule, team)), extra)


BY_WORDS = {"organisation": Message("organisation"), "country": Message("country")}


def check_max_cost_share(rule: Rule, team: Sequence[Partner]) -> RuleResult:
    """No single organisation (``by: organisation``) or country (``by: country``) above ``max_share``."""
    limit, by = float(rule.params["max_share"]), str(rule.params["by"])
    shares, assumed = cost_shares(team)
    totals: Counter[str] = Counter()
    labels: dict[str, str] = {}
    for i, (p, s) in enumerate(zip(team, shares)):
        key = (p.country or "?") if by == "country" else f"{p.label}#{i}"
        labels[key] = key if by == "country" else p.label
        totals[key] += s
    if not totals:
        return _fail(rule, Message("needs partners to share the cost"), 1)
    name, top = totals.most_common(1)[0]
    note = _equal_note(assumed)
    if top <= limit + 1e-9:
        return _ok(rule, Message("largest {by} share is {top:.0%}{note}", by=BY_WORDS.get(by, by), top=top, note=note))
    count = round(top * len(team)) if assumed else 1
    extra = max(1, math.ceil(count / limit - len(team))) if assumed else 1
    if by == "country":
        return _fail(rule, Message("{who} holds {top:.0%} of the cost{note}, more than the allowed {limit:.0%}: add "
                                   "partners from other countries or spread the cost", who=labels[name], top=top,
                                   note=note, limit=limit), extra)
    return _fail(rule, Message("{who} holds {top:.0%} of the cost{note}, more than the allowed {limit:.0%}: add "
                               "partners or spread the cost", who=labels[name], top=top, note=note, limit=limit), extra)


CHECKS: dict[str, Callable[[Rule, Sequence[Partner]], RuleResult]] = {
    "distinct_countries": check_distinct_countries, "members_in": check_members_in, "min_kinds": check_min_kinds,
    "min_smes": check_min_smes, "lead": check_lead, "lead_sme": check_lead, "sme_cost_share": check_sme_cost_share,
    "max_cost_share": check_max_cost_share,
}


def purpose(rule: Rule) -> str:
    """Why a member was added for ``rule``, in a few words: "added to reach 50% SME cost".

    A rule may say it in its own words with ``purpose:`` (and ``purpose_nl:``) in the instrument file.
    """
    prm = rule.params
    if prm.get("purpose"):
        return prm["purpose"]  # type: ignore[no-any-return]
    group: CountryGroup | None = prm.get("countries")
    name = group.name if group else ""
    rd = bool(prm.get("rd_performing"))
    count, share = prm.get("count"), float(prm.get("min_share", 0))
    if rule.type == "distinct_countries":
        return Message("added to reach {count} different countries ({group})", count=count, group=name)
    if rule.type == "members_in":
        return Message("added to have a partner established in an {group}", group=name)
    if rule.type == "min_kinds":
        return Message("added to have a {label}", label=prm.get("label"))
    if rule.type == "min_smes" and group:
        return (Message("added to reach {count} R&D-performing SMEs established in {group}", count=count, group=name)
                if rd else Message("added to reach {count} SMEs established in {group}", count=count, group=name))
    if rule.type == "min_smes":
        return (Message("added to reach {count} R&D-performing SMEs", count=count) if rd else
                Message("added to reach {count} SMEs", count=count))
    if rule.type == "sme_cost_share":
        return (Message("added to reach {share:.0%} R&D-performing SME cost", share=share) if rd else
                Message("added to reach {share:.0%} SME cost", share=share))
    if rule.type == "max_cost_share":
        by = str(prm.get("by"))
        return Message("added to keep each {by} at or below {share:.0%} of the cost", by=BY_WORDS.get(by, by),
                       share=float(prm.get("max_share", 1)))
    return Message("leads: the lead must be {who}", who=lead_requirement(rule))
