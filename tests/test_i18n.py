"""The web UI's catalogues: every text of api/web (code and templates) is in the Dutch catalogue with a
translation whose placeholders match; and the language a request gets."""

from __future__ import annotations

import string
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from api.web import i18n
from matcher.errors import NotFound
from matcher.messages import Message

ROOT = Path(__file__).resolve().parents[1]


def _catalog(path: Path, locale: str | None = None):  # noqa: ANN202 - babel's Catalog
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _key(m) -> str:  # noqa: ANN001
    return m.id if isinstance(m.id, str) else m.id[0]


def test_every_text_of_the_web_ui_has_its_dutch_translation(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "-q", "extract", "-F", "api/web/babel.cfg", "-k", "Message", "--no-location",
                    "-o", str(pot), "api/web", "api/schemas.py", "api/routers", "matcher"], cwd=ROOT, check=True)
    texts = {_key(m) for m in _catalog(pot) if m.id}
    assert len(texts) > 300
    nl = _catalog(i18n.LOCALE_DIR / "nl" / "LC_MESSAGES" / "messages.po", "nl")
    translated = {_key(m) for m in nl if m.id and not m.fuzzy
                  and (all(m.string) if isinstance(m.string, (list, tuple)) else m.string)}
    assert not texts - translated, f"untranslated (run scripts/i18n.sh, then translate): {sorted(texts - translated)}"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in nl.check()]
    assert not problems  # placeholders such as %(name)s the same in both languages


@pytest.mark.parametrize("header,expected", [("nl-NL,nl;q=0.9,en;q=0.8", "nl"), ("en-US,en;q=0.9", "en"),
                                             ("de-DE,de;q=0.9", None), ("", None), ("en;q=0.2,nl-BE;q=0.5", "nl"),
                                             ("nl;q=0", None)])
def test_accept_language(header: str, expected: str | None) -> None:
    assert i18n.parse_accept_language(header) == expected


def test_translations_in_both_languages() -> None:
    assert i18n.translations("nl").gettext("Search") == "Zoeken"
    assert i18n.translations("en").gettext("Search") == "Search"
    assert i18n.translations("nl").ngettext("%(count)s project", "%(count)s projects", 3) == "%(count)s projecten"
    assert i18n.translations("xx").gettext("Search") == "Search"  # unknown: the English text itself


def _fields(text: str) -> dict[str, tuple[str | None, str | None]]:
    """``{name!conversion:spec}`` fields of a str.format text: name -> (spec, conversion)."""
    return {name: (spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None}


def test_brace_placeholders_are_the_same_in_both_languages() -> None:
    """The library's messages and the web's ``{name}`` texts are filled with str.format: a translation that
    names another field would fail (translate() would fall back to English)."""
    nl = _catalog(i18n.LOCALE_DIR / "nl" / "LC_MESSAGES" / "messages.po", "nl")
    braces = [m for m in nl if isinstance(m.id, str) and "{" in m.id and m.string]
    assert len(braces) > 40
    wrong = [m.id for m in braces if _fields(m.id) != _fields(m.string)]
    assert not wrong


def test_library_messages_are_said_in_the_page_language() -> None:
    reason = Message("kind: {reason}", reason=Message("unknown kind {value!r}; expected one of: {expected}",
                                                      value="ruimteschip", expected="startup, sme"))
    rows = Message("{name}: {rows:,} rows, more than the {most:,} one file may hold; split it into several files",
                   name="leden.csv", rows=20_001, most=20_000)
    token = i18n._current.set("nl")
    try:
        assert i18n.translate(reason) == "kind: onbekende soort 'ruimteschip'; verwacht een van: startup, sme"
        assert i18n.translate(rows) == ("leden.csv: 20.001 rijen, meer dan de 20.000 die één bestand mag bevatten; "
                                        "verdeel het over meerdere bestanden")
        assert i18n.error_text(NotFound(Message("organisation {id} does not exist", id=12))) == \
            "organisatie 12 bestaat niet"
        assert i18n.translate("Twente Sensors BV") == "Twente Sensors BV"  # not a Message: data, left alone
    finally:
        i18n._current.reset(token)
    assert i18n.translate(rows) == str(rows)  # English: the library's own text


def test_rule_results_reasons_and_the_rule_files_names_are_said_in_dutch() -> None:
    from matcher.consortium.reasons import SUPPORT
    from matcher.rules import Partner, check_team, load_instrument, purpose

    startup = Partner("startup", "NL", name="Twente Needle-Free BV")
    care, eurostars = load_instrument("care-pilot"), load_instrument("eurostars")
    results = {r.rule: r for r in check_team(care, [startup])}
    lead = check_team(eurostars, [Partner("university", "DE"), startup])[0]
    english = [results["care-provider"].message, results["company"].message, lead.message,
               purpose(eurostars.rules[3]), purpose(eurostars.rules[1])]
    assert english == ["needs a hospital or care institution", "has 1 company",
                       "the lead partner (the university from DE) is not an SME; the lead must be an SME from a "
                       "Eurostars participating country",
                       "added to reach 50% R&D-performing SME cost",
                       "added to reach 2 different countries (Eurostars participating country)"]
    token = i18n._current.set("nl")
    try:
        dutch = [i18n.translate(t) for t in english]
        assert dutch[:2] == ["heeft een ziekenhuis of zorginstelling nodig", "heeft 1 bedrijf"]
        assert dutch[2] == ("de penvoerder (een universiteit uit DE) is geen mkb-bedrijf; de penvoerder moet een "
                            "mkb-bedrijf uit een deelnemend Eurostars-land zijn")
        assert dutch[3:] == ["toegevoegd om 50% van de kosten bij R&D-uitvoerende mkb-bedrijven te halen",
                             "toegevoegd om 2 verschillende landen te halen (deelnemend Eurostars-land)"]
        assert i18n.translate(results["company"].requirement) == "minstens één bedrijf"
        assert i18n.translate(care.name).startswith("Zorgpilot")
        assert i18n.translate(SUPPORT).startswith("projectondersteuning (gevraagd)")
    finally:
        i18n._current.reset(token)
    assert i18n.translate(lead.message) == lead.message  # English: the CLI's and the JSON API's text


def test_form_validation_errors_are_said_in_the_page_language() -> None:
    """pydantic's English by error type and ctx: the English page keeps pydantic's sentence word for word."""
    from pydantic import ValidationError

    from api.schemas import ChallengeCreate, OrganisationCreate
    from api.web.validation import validation_message

    def errors(model: type, **values: object) -> ValidationError:
        with pytest.raises(ValidationError) as caught:
            model(**values)
        return caught.value

    long_title = errors(ChallengeCreate, title="x" * 301, description="Hartfalen thuis")
    blank = errors(ChallengeCreate, title="   ", description="Hartfalen thuis", posed_by="twelve")
    missing = errors(ChallengeCreate, description="Hartfalen thuis", confidentiality="owner")
    capability = errors(OrganisationCreate, name="Twente Sensors BV", kind="startup", capabilities=["x" * 201])
    trl = errors(OrganisationCreate, name="Twente Sensors BV", kind="startup", trl_min=7, trl_max=3)
    english = [validation_message(e) for e in (long_title, blank, missing, capability, trl)]
    assert english[0] == "title: String should have at most 300 characters"
    assert english[1].startswith("title: String should match pattern")
    assert english[1].endswith("; posed by: Input should be a valid integer")  # a strict model: int_type
    assert english[2].startswith("title: Field required")
    token = i18n._current.set("nl")
    try:
        dutch = [validation_message(e) for e in (long_title, blank, missing, capability, trl)]
    finally:
        i18n._current.reset(token)
    assert dutch[0] == "titel: mag hoogstens 300 tekens bevatten"
    assert dutch[1] == ("titel: mag niet leeg zijn of alleen uit spaties bestaan; "
                        "ingebracht door: moet een geheel getal zijn")
    assert dutch[2].startswith("titel: verplicht veld")
    assert dutch[3] == "expertises: ongeldige waarde: elke expertise mag hoogstens 200 tekens bevatten"
    assert dutch[4] == "TRL van: mag niet hoger zijn dan TRL tot"
