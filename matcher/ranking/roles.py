"""Roles: the partners a question asks for, each a kind group and the part of the text it must meet.

"We look for a company with a hybrid closed-loop system, and a technical university to
validate the algorithm" asks for two partners. :func:`derive_roles` finds the clauses that name
a partner (English and Dutch cue words), gives each the kind group its cue names, and keeps the
clause as the role's need. A question without such clauses falls back to its wanted kinds, one
role per kind group, each with the whole text. Pure functions; no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from matcher.errors import InvalidInput
from matcher.ranking.pipeline import Pipeline
from matcher.retrieval.retrieve import RankingConfig
from matcher.text import tokens

KIND_GROUPS: dict[str, tuple[str, ...]] = {
    "company": ("startup", "sme", "large_company"),
    "university": ("university",),
    "research_institute": ("research_institute",),
    "hospital": ("hospital", "care_institution"),
}
GROUP_OF_KIND = {k: g for g, kinds in KIND_GROUPS.items() for k in kinds}
RESEARCH = ("university", "research_institute")  # a lab or research group: either kind
ANY = ("company", "university", "research_institute")  # "a partner with ...": whoever is wanted

# Cue words (lower case, whole words) naming a partner, by the groups they stand for.
CUES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("company",): (
        "company", "companies", "firm", "firms", "supplier", "suppliers", "vendor", "vendors", "manufacturer",
        "manufacturers", "developer", "developers", "startup", "start-up", "startups", "sme", "smes",
        "industry partner", "industrial partner", "provider", "providers", "producer", "software",
        "bedrijf", "bedrijven", "leverancier", "leveranciers", "ontwikkelaar", "ontwikkelaars", "fabrikant",
        "producent", "mkb", "onderneming", "partij die", "partijen die"),
    ("university",): ("university", "universities", "technical university", "universiteit", "universiteiten",
                      "hogeschool", "academic partner", "academische partner"),
    ("research_institute",): ("research institute", "research institutes", "institute", "research centre",
                              "research center", "research organisation", "onderzoeksinstituut", "instituut",
                              "kennisinstituut"),
    RESEARCH: ("lab", "labs", "laboratory", "laboratories", "research group", "research groups", "group",
               "groups", "engineers", "researchers", "kennisinstelling", "kennisinstellingen", "onderzoeksgroep",
               "onderzoeksgroepen", "onderzoekers", "onderzoek naar", "research on", "research into"),
    ("hospital",): ("hospital", "hospitals", "clinic", "clinics", "clinical partner", "clinical partners",
                    "medical centre", "medical center", "care institution", "care institutions", "nursing home",
                    "rehabilitation centre", "ziekenhuis", "ziekenhuizen", "zorginstelling", "zorginstellingen",
                    "kliniek", "umc", "verpleeghuis", "revalidatiecentrum", "partners for a clinical",
                    "klinische partner", "klinische partners"),
    ANY: ("partner", "partners", "partij", "partijen", "expert", "experts", "consortium partner"),
}
# what a question says before it names partners: "we look for", "wij zoeken", "and need"
_REQUEST = re.compile(r"\b(?:looking for|look for|search(?:ing)? for|seek(?:ing)?|need(?:s|ed)?|require[sd]?|"
                      r"would like|op zoek naar|zoeken|zoek|nodig|vragen om)\b", re.I)
_SPLIT = re.compile(r",\s*(?:and|en|or|of)\s+|;\s*|,\s+|\s+(?:and|en|as well as|alsmede)\s+(?=(?:a|an|the|een|de|"
                    r"het|other|andere|partners?|experts?)\b)", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Role:
    """One partner a question asks for.

    Attributes:
        name: the kind group: ``company``, ``university``, ``research_institute`` or ``hospital``.
        kinds: organisation kinds that may fill it (the group's, limited to the wanted ones).
        need: what the partner should bring, in the question's words (the whole text when unknown).
        derived: True when found in the text (or written by a person), False when it stands for a
            wanted kind group.
        edited: True when a person wrote or changed it (stored with the challenge).
    """

    name: str
    kinds: list[str]
    need: str
    derived: bool = True
    edited: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "kinds": list(self.kinds), "need": self.need, "from_text": self.derived,
                "edited": self.edited}

    def stored(self) -> dict[str, object]:
        """The form kept with a challenge."""
        return {"name": self.name, "kinds": list(self.kinds), "need": self.need}


MAX_ROLES = 8  # a question asks for a handful of partners
# a role asks for this many times the suggestions it shows (or the candidates a consortium role keeps), so
# those off topic for its need can be dropped afterwards (matcher.queries, matcher.consortium.roles)
ROLE_ROOM = 3


def check_roles(items: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """Roles written by a person, checked and normalised for storing: a known group, kinds of that
    group (its own kinds when none are given), a need of at most 2,000 characters that is not blank.

    Raises :class:`~matcher.errors.InvalidInput` naming the role (1-based) and what is wrong.

    >>> check_roles([{"name": "hospital", "need": " a clinic to pilot in "}])
    [{'name': 'hospital', 'kinds': ['hospital', 'care_institution'], 'need': 'a clinic to pilot in'}]
    """
    if len(items) > MAX_ROLES:
        raise InvalidInput(f"roles: at most {MAX_ROLES}, got {len(items)}")
    out: list[dict[str, object]] = []
    for i, item in enumerate(items, 1):
        name, need = str(item.get("name", "")), str(item.get("need", "")).strip()
        if name not in KIND_GROUPS:
            raise InvalidInput(f"role {i}: name must be one of {', '.join(KIND_GROUPS)}, not {name!r}")
        if not need or len(need) > 2000:
            raise InvalidInput(f"role {i}: need must say what the partner should bring (1 to 2,000 characters)")
        kinds = list(dict.fromkeys(item.get("kinds") or KIND_GROUPS[name]))  # type: ignore[call-overload]
        wrong = [k for k in kinds if k not in KIND_GROUPS[name]]
        if wrong:
            raise InvalidInput(f"role {i}: kinds {wrong} are not of the group {name!r} "
                               f"({', '.join(KIND_GROUPS[name])})")
        out.append({"name": name, "kinds": kinds, "need": need})
    return out


def to_store(items: Sequence[dict[str, object]] | None) -> list[dict[str, object]] | None:
    """Roles as a challenge keeps them: checked (:func:`check_roles`), or None (derive from the text)
    when there are none."""
    return check_roles(items) if items else None


def roles_of(text: str, wanted_kinds: Sequence[str], stored: Sequence[dict[str, object]] | None) -> list[Role]:
    """A question's roles: the stored ones when a person edited them, else derived from the text."""
    if stored:
        return [Role(str(r["name"]), list(r["kinds"]), str(r["need"]), True, True)  # type: ignore[call-overload]
                for r in check_roles(stored)]
    return derive_roles(text, wanted_kinds)


def derive_roles(text: str, wanted_kinds: Sequence[str] = ()) -> list[Role]:
    """Roles from the clauses of ``text`` that name a partner, then one per wanted kind group not yet
    covered (with the whole text as need).

    A clause that names a group the wanted kinds leave out still yields its role (the text asks for
    it); a lab or research group yields a university and a research-institute role (those wanted),
    a plain "partner with ..." one per wanted group.

    >>> [(r.name, r.need) for r in derive_roles("We look for a sensor company, and a university to test it.")]
    [('company', 'a sensor company'), ('university', 'a university to test it')]
    >>> [(r.name, r.derived) for r in derive_roles("Better sleep in care homes.", ["sme", "hospital"])]
    [('company', False), ('hospital', False)]
    """
    wanted = list(dict.fromkeys(wanted_kinds))
    wanted_groups = [g for g, kinds in KIND_GROUPS.items() if set(kinds) & set(wanted)]
    needs: dict[str, list[str]] = {}
    for clause, groups in _partner_clauses(text):
        chosen = [g for g in groups if g in wanted_groups] or (list(groups) if not wanted or len(groups) == 1
                                                                else [])
        for g in chosen:
            needs.setdefault(g, []).append(clause)
    roles = [Role(g, _kinds(g, wanted), "; ".join(dict.fromkeys(n))) for g, n in needs.items()]
    roles += [Role(g, _kinds(g, wanted), text.strip(), False) for g in wanted_groups if g not in needs]
    return roles


def _kinds(group: str, wanted: Sequence[str]) -> list[str]:
    mine = [k for k in KIND_GROUPS[group] if k in wanted]
    return mine or list(KIND_GROUPS[group])


def _partner_clauses(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """(clause, groups) for every clause that names a partner, after a request ("we look for") only."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for sentence in _SENTENCE.split(text):
        asked = _REQUEST.search(sentence)
        if asked is None:
            continue
        first = len(out)
        for part in (p.strip(" .") for p in _SPLIT.split(sentence[asked.end():])):
            if not tokens(part):  # "... voordat een opname nodig is": no content after the request word
                continue
            groups = _cue_groups(part)
            if groups:
                out.append((part, groups))
            elif part and len(out) > first:  # "a pump and control algorithm": the tail belongs to the last partner
                out[-1] = (f"{out[-1][0]}, {part}", out[-1][1])
            elif part:  # "we look for a wearable ECG sensor": a thing, from whoever can provide it
                out.append((part, ANY))
    return out


def _cue_groups(part: str) -> tuple[str, ...]:
    """The groups of the first cue in ``part`` (the longest at that place); empty when none."""
    low = part.lower()
    best: tuple[int, int, tuple[str, ...]] | None = None
    for groups, words in CUES.items():
        for w in words:
            m = re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", low)
            if m and (best is None or (m.start(), -len(w)) < (best[0], best[1])):
                best = (m.start(), -len(w), groups)
    return best[2] if best else ()


def group_of(kind: str) -> str:
    """The kind group of an organisation kind (``other`` for public bodies and the rest)."""
    return GROUP_OF_KIND.get(kind, "other")


# How a role is ranked: by how well an organisation's evidence fits, with no learned ranker (it was
# trained on whole consortia, where size and activity weigh most); chosen with `matcher eval --task
# role` on the mean over three time splits (docs/EVALUATION.md). The whole question counts as much as
# the role's need (context_weight), so a short need ("a sensor company") stays on the question's topic.
# Size (matcher.ranking.prior) only where it measured a gain inside the group: hospitals (large university
# hospitals join many consortia whatever the topic; weight 1.0: Recall@10 1.12x bm25 against 0.98x without)
# and research institutes (0.2: 1.06x against 1.00x); it lowered companies and universities.
ROLE_CONFIGS = {
    "company": RankingConfig(top_evidence=3, decay=0.5, rerank=False, context_weight=1.0),
    "hospital": RankingConfig(rerank=False, context_weight=1.0, activity_weight=1.0),
    "research_institute": RankingConfig(rerank=False, context_weight=1.0, activity_weight=0.2),
    "default": RankingConfig(rerank=False, context_weight=1.0),
}


def role_pipeline(group: str = "default") -> Pipeline:
    """The pipeline that ranks inside one role of ``group``."""
    return Pipeline(ROLE_CONFIGS.get(group, ROLE_CONFIGS["default"]))


def need_text(need: str) -> str:
    """A role's need as a query: the cue words that name the partner taken out (they say who, not what).

    >>> need_text("a company with a hybrid closed-loop system; een partij die glucagon levert")
    'a with a hybrid closed-loop system; een glucagon levert'
    """
    out = need
    for words in CUES.values():
        for w in sorted(words, key=len, reverse=True):
            out = re.sub(rf"(?<![\w-]){re.escape(w)}(?![\w-])", "", out, flags=re.I)
    return re.sub(r"\s+", " ", out).strip(" ,;")
