"""Funding-instrument rules: loaded from ``data/instruments/*.yaml``, checked by pure functions.

An instrument file lists rules such as "at least 3 partners from 3 different member
states or associated countries" and, explicitly, who may lead (a ``lead`` rule: an SME, from
a country group, performing the R&D rather than a service firm); :func:`check_team` checks a
team rule by rule and explains every failure in a plain sentence. Country lists are data too
(``countries.yaml``), each associated country with the date its association applies.

Independence of legal entities (no control of one by another) cannot be verified from
our data: distinct organisations are treated as independent, and an organisation listed
twice (same ``id``) counts once.

>>> ria = load_instrument("horizon-ria")
>>> team = [Partner("university", "NL"), Partner("hospital", "DE")]
>>> [r.message for r in check_team(ria, team) if not r.passed]
['needs one more partner from a different EU member state or associated country (has 2 of 3: DE, NL)']
"""

from matcher.rules.checks import (
    CHECKS,
    check_team,
    cost_shares,
    counts,
    is_eligible,
    lead_requirement,
    purpose,
    total_shortfall,
)
from matcher.rules.instruments import (
    INSTRUMENT_IDS,
    INSTRUMENTS_DIR,
    LEAD_TYPES,
    RULE_TYPES,
    SME_KINDS,
    CountryGroup,
    Instrument,
    Partner,
    Rule,
    RuleResult,
    load_countries,
    load_instrument,
)

__all__ = ["CHECKS", "INSTRUMENTS_DIR", "INSTRUMENT_IDS", "LEAD_TYPES", "RULE_TYPES", "SME_KINDS", "CountryGroup",
           "Instrument", "Partner", "Rule", "RuleResult", "check_team", "cost_shares", "counts", "is_eligible",
           "lead_requirement", "load_countries", "load_instrument", "purpose", "total_shortfall"]
