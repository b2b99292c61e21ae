"""Library messages: English text for the CLI and the JSON API, with the template and parameters kept for
the web UI's translation (api/web/i18n.translate)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from matcher.errors import InvalidInput, NotFound
from matcher.ingest.members import read_members
from matcher.messages import Message, Translated, message_of
from matcher.rules import Partner, check_team, load_instrument


def test_a_message_is_its_english_text_and_keeps_its_parts() -> None:
    m = Message("{name}: {rows:,} rows, more than the {most:,} one file may hold", name="a.csv", rows=20_001,
                most=20_000)
    assert m == "a.csv: 20,001 rows, more than the 20,000 one file may hold"
    assert m.template.startswith("{name}: {rows:,} rows") and m.params == {"name": "a.csv", "rows": 20_001,
                                                                           "most": 20_000}
    assert json.dumps({"reason": m}) == '{"reason": "a.csv: 20,001 rows, more than the 20,000 one file may hold"}'
    again = pickle.loads(pickle.dumps(m))
    assert isinstance(again, Message) and again == m and again.params == m.params
    assert Message("no {braces} filled without parameters") == "no {braces} filled without parameters"


def test_message_of_an_exception_keeps_the_message_and_str_stays_plain_english() -> None:
    exc = NotFound(Message("organisation {id} does not exist", id=7))
    assert str(exc) == "organisation 7 does not exist" and type(str(exc)) is str
    assert isinstance(message_of(exc), Message) and message_of(exc).params == {"id": 7}
    plain = InvalidInput("made without a Message")
    assert message_of(plain) == "made without a Message" and not isinstance(message_of(plain), Message)


def test_bad_member_rows_keep_their_reason_as_a_message(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("name,kind,description,trl_min\nA,sme,x,ten\nB,spaceship,x,\nC,,x,\n", encoding="utf-8")
    rows, errors = read_members(path)
    assert rows == [] and [e.line for e in errors] == [2, 3, 4]
    trl, kind, empty = (e.reason for e in errors)
    assert trl == "trl_min: 'ten' is not a whole number from 1 to 9"
    assert isinstance(trl, Message) and trl.params == {"column": "trl_min", "value": "ten"}
    assert kind.template == "kind: {reason}" and kind.params["reason"].template.startswith("unknown kind {value!r}")
    assert empty == "kind: required, but empty"


def test_a_whole_file_problem_is_a_message(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("naam,kind\nX,sme\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as e:
        read_members(path)
    m = message_of(e.value)
    assert isinstance(m, Message) and m.params["unknown"] == "naam" and str(e.value).startswith("m.csv: unknown")


def test_a_data_files_text_keeps_its_translations_through_pickling_and_json() -> None:
    text = Translated("at least one company", nl="minstens één bedrijf")
    again = pickle.loads(pickle.dumps(text))
    assert again == "at least one company" and isinstance(again, Translated) and again.translations == {
        "nl": "minstens één bedrijf"}
    assert Translated("EIC Pathfinder Open", nl=None).translations == {}  # no Dutch in the file: English shown
    result = check_team(load_instrument("care-pilot"), [Partner("startup", "NL")])[2]
    back = pickle.loads(pickle.dumps(result))  # worker processes hand results back pickled
    assert back.message.template == "has {n} {label}" and back.message.params["label"].translations["nl"] == "bedrijf"
    assert json.loads(json.dumps(result.to_dict())) == {"rule": "company", "passed": True, "message": "has 1 company",
                                                        "requirement": "at least one company"}
