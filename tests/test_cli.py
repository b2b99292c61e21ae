"""The command line: help text everywhere, JSON shapes, one-line errors, import to search end to end."""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from matcher.cli import app
from matcher.config import get_settings
from matcher.errors import MatcherError
from matcher.ingest.cordis import CordisData
from tests.conftest import TEST_MODEL

runner = CliRunner()


def write_cordis(data: CordisData, folder: Path) -> Path:
    """Write ``data`` as a CORDIS folder (projects.csv.gz, participants.csv.gz)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("projects", list(data.projects.values())), ("participants", data.participants)):
        with gzip.open(folder / f"{name}.csv.gz", "wt", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    return folder


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MATCHER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MATCHER_MODEL", TEST_MODEL)
    monkeypatch.delenv("MATCHER_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(*args: str) -> tuple[int, str, str]:
    res = runner.invoke(app, list(args))
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    return res.exit_code, res.stdout, res.stderr


def test_import_search_partners_end_to_end(cli_env: Path, small_cordis: CordisData) -> None:
    folder = write_cordis(small_cordis, cli_env / "cordis")
    code, out, _ = run("import", "cordis", str(folder), "--json")
    assert code == 0 and json.loads(out)["organisations_new"] > 100
    code, out, _ = run("import", "cordis", str(folder), "--json")
    assert json.loads(out)["organisations_new"] == 0 and json.loads(out)["evidence_new"] == 0

    code, out, _ = run("search", "cancer immunotherapy trial", "-k", "5", "--kind", "university", "--json")
    assert code == 0
    body = json.loads(out)
    assert body["count"] == 5 == len(body["data"])
    first = body["data"][0]
    assert set(first) >= {"organisation", "score", "components", "explanation"}
    assert set(first["organisation"]) >= {"id", "name"} and first["organisation"]["kind"] == "university"
    assert first["explanation"]["evidence"][0]["sentence"]

    code, out, _ = run("partners", str(first["organisation"]["id"]), "-k", "3", "--exclude-past-partners", "--json")
    partners = json.loads(out)["data"]
    assert code == 0 and len(partners) == 3
    assert first["organisation"]["id"] not in [p["organisation"]["id"] for p in partners]

    code, out, _ = run("search", "cancer immunotherapy trial", "-k", "3")
    assert code == 0 and "organisation" in out  # a human table


@pytest.mark.parametrize("args,message", [
    (("search", "   "), "text: must not be empty"),
    (("suggest", "424242"), "challenge 424242 does not exist"),
    (("partners", "424242"), "organisation 424242 does not exist"),
    (("search", "x", "--kind", "hospitaal"), "unknown kind 'hospitaal'"),
    (("import", "cordis", "/nonexistent/folder"), "does not exist"),
    (("keys", "revoke", "424242"), "key 424242 does not exist"),
    (("keys", "create", "--role", "member"), "a member key needs --org"),
    (("audit", "--since", "yesterday"), "--since: expected a date like 2025-03-01"),
    # choice flags are refused before any import or embedding (a catalogue that does not exist is never read)
    (("eval", "--catalogue", "/nonexistent/folder", "--task", "rol"), "--task: expected one of cold, seeded, role"),
    (("eval", "--catalogue", "/nonexistent/folder", "--task", "role", "--methods", "hybrid"), "--methods: unknown"),
    (("eval", "--catalogue", "/nonexistent/folder", "--splits", "2024-01-01"), "at least two dates"),
    (("eval", "--catalogue", "/nonexistent/folder", "--splits", "2024-01-01,soon"), "'soon' is not a date"),
    (("eval", "--catalogue", "/nonexistent/folder", "--splits", "2024-01-01,2024-04-01", "--split-date",
      "2024-01-01"), "either --splits or --split-date"),
])
def test_errors_are_one_line_and_exit_non_zero(cli_env: Path, args: tuple[str, ...], message: str) -> None:
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "matcher", *args], capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "MATCHER_HOME": str(cli_env / "home"),
                              "MATCHER_MODEL": TEST_MODEL})
    assert res.returncode != 0
    assert message in res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_eval_prints_the_documented_json_and_writes_reports(cli_env: Path, health: CordisData,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    window = health.subset(lambda p: "2022-01-01" <= p["start_date"] < "2022-08-01" and int(p["n_partners"] or 0) >= 3)
    folder = write_cordis(window, cli_env / "window")
    args = ("eval", "--catalogue", str(folder), "--split-date", "2022-06-01", "--methods", "bm25,popularity,matcher")
    from matcher.errors import InvalidInput
    from matcher.ranking.rank import DEFAULT_DIR

    if (DEFAULT_DIR / "card.json").exists():  # a ranker trained on these months is refused, never silently used
        monkeypatch.setenv("MATCHER_RANKER", str(DEFAULT_DIR))
        get_settings.cache_clear()
        with pytest.raises(InvalidInput, match="trained on projects up to"):
            run(*args, "--json")
    monkeypatch.setenv("MATCHER_RANKER", "off")
    get_settings.cache_clear()
    code, out, _ = run(*args, "--task", "seeded", "--json", "--out", str(cli_env / "report"))
    body = json.loads(out)
    assert code == 0 and body["task"] == "seeded" and body["queries"] > 0 and body["catalogue_organisations"] > 0
    assert set(body["methods"]) == {"bm25", "popularity", "matcher"}
    for m in body["methods"].values():
        assert {"recall@10", "recall@50", "ndcg@10", "mrr"} <= set(m) and 0 <= m["recall@50"] <= 1
    assert {p.name for p in (cli_env / "report").iterdir()} == {"eval-seeded.json", "eval-seeded.md",
                                                                "recall-seeded.png"}
    code, out, _ = run(*args[:-2], "--task", "role", "--methods", "bm25,popularity,matcher", "--json",
                       "--out", str(cli_env / "role"))
    body = json.loads(out)
    assert code == 0 and body["task"] == "role" and body["queries"] > 0 and body["groups"]
    assert set(body["groups"]) <= {"company", "university", "research_institute", "hospital"}
    for g in body["groups"].values():
        assert g["queries"] > 0 and set(g["methods"]) == {"bm25", "popularity", "matcher"}
        for m in g["methods"].values():
            assert {"recall@10", "recall@20", "ndcg@10", "mrr"} <= set(m) and 0 <= m["recall@20"] <= 1
    assert {p.name for p in (cli_env / "role").iterdir()} == {"eval-role.json", "eval-role.md"}


def test_eval_over_several_splits_reports_mean_range_and_noise(cli_env: Path, health: CordisData,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    window = health.subset(lambda p: "2022-01-01" <= p["start_date"] < "2022-08-01" and int(p["n_partners"] or 0) >= 3)
    folder = write_cordis(window, cli_env / "window-splits")
    monkeypatch.setenv("MATCHER_RANKER", "off")
    get_settings.cache_clear()
    dates = ["2022-05-01", "2022-06-01"]
    code, out, _ = run("eval", "--catalogue", str(folder), "--splits", ",".join(dates), "--methods",
                       "bm25,popularity,matcher", "--json", "--out", str(cli_env / "splits"))
    body = json.loads(out)
    assert code == 0 and body["splits"] == dates and len(body["per_split"]) == 2
    assert body["queries"] == [r["queries"] for r in body["per_split"]] and body["queries"][0] > body["queries"][1]
    for name, m in body["methods"].items():
        for metric in ("recall@10", "recall@50", "ndcg@10", "mrr"):
            values = [r["methods"][name][metric] for r in body["per_split"]]
            s = m[metric]
            assert s["min"] == pytest.approx(min(values), abs=1e-6) and s["max"] == pytest.approx(max(values), abs=1e-6)
            assert s["mean"] == pytest.approx(sum(values) / 2, abs=1e-6)
            assert s["spread"] == pytest.approx(s["max"] - s["min"], abs=1e-6)
            if name != "bm25" and all(r["methods"]["bm25"][metric] > 0 for r in body["per_split"]):
                ratio = m["x_bm25"][metric]
                each = [r["methods"][name][metric] / r["methods"]["bm25"][metric] for r in body["per_split"]]
                assert ratio["mean"] == pytest.approx(sum(each) / 2, abs=1e-5)
                gain = ratio["mean"] - 1
                assert ratio["verdict"] == ("gain" if gain > ratio["spread"] else "loss" if -gain > ratio["spread"]
                                            else "noise")
    assert "x_bm25" not in body["methods"]["bm25"]
    assert {p.name for p in (cli_env / "splits").iterdir()} == {"eval-cold-splits.json", "eval-cold-splits.md"}
    assert "mean [lowest–highest]" in (cli_env / "splits" / "eval-cold-splits.md").read_text()


def test_keys_create_list_revoke_and_the_audit_log(cli_env: Path) -> None:
    from matcher.service import open_store
    from matcher.storage.keys import authenticate

    code, out, err = run("keys", "create", "--role", "staff", "--label", "Anne (cluster office)", "--expires", "30")
    key = out.strip().splitlines()[-1]
    assert code == 0 and key.startswith("mk_") and "valid until" in err
    run("keys", "create", "--role", "viewer")
    code, out, _ = run("keys", "list", "--json")
    listed = json.loads(out)
    assert code == 0 and listed["count"] == 2 and key not in out
    viewer, staff = listed["data"]  # newest first
    assert (staff["role"], staff["label"], staff["status"], viewer["expires_at"]) == (
        "staff", "Anne (cluster office)", "active", None)
    assert staff["expires_at"] > staff["created_at"] and key.startswith(staff["prefix"])
    code, out, _ = run("keys", "list")
    assert code == 0 and "Anne" in out and key not in out
    store = open_store(get_settings())
    assert authenticate(store, key).role == "staff"

    code, out, _ = run("keys", "revoke", str(staff["id"]))
    assert code == 0 and f"key #{staff['id']}" in out and "revoked" in out
    with pytest.raises(MatcherError, match="revoked"):
        authenticate(store, key)
    assert json.loads(run("keys", "list", "--json")[1])["data"][1]["status"] == "revoked"

    code, out, _ = run("audit", "--json", "--since", "2020-01-01")
    entries = json.loads(out)["data"]
    assert [(e["action"], e["target"], e["key_id"], e["role"]) for e in entries] == [
        ("key.revoke", f"key:{staff['id']}", None, "admin"), ("key.create", f"key:{viewer['id']}", None, "admin"),
        ("key.create", f"key:{staff['id']}", None, "admin")]
    assert json.loads(run("audit", "--json", "--since", "2999-01-01")[1])["count"] == 0
    assert json.loads(run("audit", "--json", "--limit", "1")[1])["data"][0]["action"] == "key.revoke"
    code, out, _ = run("audit")
    assert code == 0 and "local admin (CLI)" in out and "key.revoke" in out
    store.close()


def test_first_start_prints_the_admin_key_and_a_one_time_sign_in_link(cli_env: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from urllib.parse import parse_qs, urlsplit

    from matcher.cli_admin import ensure_admin_key, signin_link
    from matcher.service import open_store
    from matcher.storage import sessions
    from matcher.storage.keys import authenticate, revoke_key

    settings = get_settings()
    assert signin_link(settings, "127.0.0.1", 8000) is None  # no local admin key yet
    ensure_admin_key(settings)
    key = (settings.home / "admin.key").read_text().strip()
    assert key in capsys.readouterr().err
    link = signin_link(settings, "127.0.0.1", 8000)
    assert link is not None and link.startswith("http://127.0.0.1:8000/signin/once?token=")
    assert signin_link(settings, "0.0.0.0", 8000) is None  # a public bind never prints a way in
    store = open_store(settings)
    token = parse_qs(urlsplit(link).query)["token"][0]
    session = sessions.lookup(store, sessions.redeem_link(store, token))
    assert session is not None and session.principal == authenticate(store, key)
    with pytest.raises(MatcherError, match="already used"):
        sessions.redeem_link(store, token)
    revoke_key(store, session.principal.key_id)  # type: ignore[arg-type]
    assert signin_link(settings, "127.0.0.1", 8000) is None
    store.close()


def test_a_member_list_import_is_in_the_audit_log(cli_env: Path) -> None:
    members = cli_env / "members.csv"
    members.write_text("name,kind,country,description\nIsala,hospital,NL,Teaching hospital in Zwolle.\n"
                       "Twente Sensors BV,startup,NL,Wearable ECG patches.\n,sme,NL,No name.\n", encoding="utf-8")
    code, out, _ = run("import", "csv", str(members), "--json")
    assert code == 3 and json.loads(out)["imported"] == 2  # one bad row: reported, and a non-zero exit
    [entry] = json.loads(run("audit", "--json")[1])["data"]
    assert (entry["action"], entry["target"], entry["role"]) == ("organisations.import", "organisations", "admin")
    assert entry["detail"] == {"file": "members.csv", "imported": 2, "rejected": 1, "ids": json.loads(out)["ids"]}
