"""The three questions on a small hand-made ecosystem: partners are complementary, not look-alikes."""

from __future__ import annotations

from pathlib import Path

from matcher.domain import Organisation
from matcher.engine import Matcher
from matcher.queries import partners_for, partners_query
from matcher.retrieval.embed import Encoder
from matcher.storage.store import Store

STARTUP = Organisation(
    "HeartPatch BV", kind="startup", sme=True, country="NL",
    offers="A wearable ECG patch for remote cardiac monitoring and arrhythmia detection at home.",
    seeks="A hospital cardiology department to pilot our remote monitoring with heart failure patients, "
          "and a lab to validate the arrhythmia detection.")
OTHERS = [
    Organisation("CardioStick GmbH", kind="sme", sme=True, country="DE",
                 description="We make a wearable ECG patch for remote cardiac monitoring and arrhythmia detection.",
                 offers="Wearable ECG patches and remote cardiac monitoring software."),
    Organisation("Oost Hospital", kind="hospital", country="NL",
                 description="Our cardiology department runs clinical pilots of remote monitoring for heart failure "
                             "patients at home."),
    Organisation("Signal Lab, University of Twente", kind="university", country="NL",
                 description="Validation of arrhythmia detection algorithms on clinical ECG recordings."),
    Organisation("Knee Implants SA", kind="large_company", country="FR",
                 description="Orthopaedic knee implants and surgical instruments."),
    Organisation("Dairy Research", kind="research_institute", country="NL",
                 description="Milk proteins and cheese ripening."),
]


def test_a_startup_gets_a_hospital_and_a_lab_before_a_competitor(tmp_path: Path, encoder: Encoder) -> None:
    store = Store(f"sqlite:///{tmp_path / 'eco.db'}")
    [startup, competitor, hospital, lab, *_] = store.upsert_organisations([STARTUP, *OTHERS])
    m = Matcher(store, encoder, None)
    assert competitor in partners_query(m, startup).demote
    got = partners_for(m, startup, k=5)
    ids = [s.organisation.id for s in got]
    assert set(ids[:2]) == {hospital, lab}
    assert ids[-1] == competitor  # shown, flagged, but only after everything else
    flagged = next(s for s in got if s.organisation.id == competitor)
    assert "competitor" in flagged.explanation["flags"][0]
    # a company that says only what it offers (no seeks) gets no demotion: there is nothing to complement
    store.upsert_organisations([Organisation("HeartPatch BV", kind="startup", id=startup, offers=STARTUP.offers)])
    assert partners_query(m, startup).demote == []
