"""The consortium builder: a team that covers the aspects of a call and meets the instrument's rules.

``call text -> the roles it names, each with its candidates from the role's own ranking (roles) ->
candidate pool (pool) -> the best team under the rules, the roles filled first (solve: a
mixed-integer programme; greedy as the fallback; select) -> who fills which role, positions,
uncovered aspects, the rule that forced each member in, the rules no team can meet and why
(reasons, build)``. Service firms (project
management, consulting, communication) are recognised from their names and the breadth of their
evidence (firms) and never lead or carry an SME instrument's R&D.
"""

from matcher.consortium.build import (
    Consortium,
    Member,
    build_consortium,
    describe,
    responsibilities,
    swap_member,
)
from matcher.consortium.firms import is_service_firm, name_cue
from matcher.consortium.greedy import choose_team, swap, target_size
from matcher.consortium.pool import (
    COVER,
    MAX_ASPECTS,
    MAX_SIZE,
    MIN_ASPECT_WORDS,
    SCORE_FLOOR,
    Candidate,
    Pool,
    Weights,
    catalogue_of,
    make_pool,
    pool_size,
    rule_filters,
    score_candidates,
    split_aspects,
)
from matcher.consortium.reasons import forced_reasons, unmet_rules
from matcher.consortium.roles import CallRole, assign_roles, call_roles
from matcher.consortium.select import Selection, select_team, swap_team
from matcher.consortium.solve import Problem, solve

__all__ = ["COVER", "MAX_ASPECTS", "MAX_SIZE", "MIN_ASPECT_WORDS", "SCORE_FLOOR", "CallRole", "Candidate",
           "Consortium", "Member", "Pool", "Problem", "Selection", "Weights", "assign_roles", "build_consortium",
           "call_roles", "catalogue_of", "choose_team",
           "describe", "forced_reasons", "is_service_firm", "make_pool", "name_cue", "pool_size", "responsibilities",
           "rule_filters", "score_candidates", "select_team", "solve", "split_aspects", "swap", "swap_member",
           "swap_team", "target_size", "unmet_rules"]
