"""The serving process never imports torch: the app over the demo with the default model answers a search
(MiniLM on ONNX Runtime + USE in numpy), and afterwards neither torch nor transformers is loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SERVE_AND_SEARCH = """
import sys
from pathlib import Path
from fastapi.testclient import TestClient
from api.app import create_app
from matcher.config import DEFAULT_MODEL, Settings
from matcher.demo import load_demo
from matcher.retrieval.embed import load_encoder
from matcher.storage.store import Store

home = Path(sys.argv[1])
settings = Settings(home=home, model=DEFAULT_MODEL, public_search=True)
store = Store(settings.db_url)
load_demo(store, encoder=load_encoder(settings.model))
store.close()
with TestClient(create_app(settings)) as client:
    for text in ("wearable ECG patch for remote cardiology monitoring",
                 "Een slimme pleister die de wondgenezing thuis meet"):
        r = client.post("/v1/search", json={"text": text, "k": 5})
        assert r.status_code == 200 and len(r.json()["data"]) == 5, r.text
loaded = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
print("heavy modules:", loaded)
assert not loaded, loaded
"""


def test_the_service_answers_a_search_without_importing_torch(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SERVE_AND_SEARCH, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "heavy modules: []" in done.stdout
