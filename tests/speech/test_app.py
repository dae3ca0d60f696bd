"""The Speech page runs end to end with a tiny saved model (no Whisper load)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.artifacts import models_dir
from speech.recognition import SpeechRecognizer
from tests.speech.helpers import write_manifest

pytest.importorskip("streamlit")


@pytest.fixture()
def tiny_saved_model(tmp_path):
    manifest = write_manifest(tmp_path / "data", ["yes", "no", "up", "down"])
    model = SpeechRecognizer.for_training(device="cpu")
    config = SpeechRecognizer.Config(max_steps=1, batch_size=4, n_mels=32, d_model=32, num_layers=1, num_heads=2,
                                     ffn_dim=64, kernel_size=7, freq_mask_width=4, time_mask_width=5,
                                     validation_fraction=0.0)
    model.fit(manifest, config)
    name = f"speech-tiny-{os.getpid()}"
    model.save(models_dir() / name)
    return name


def test_speech_page_transcribes_a_sample(tiny_saved_model):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "apps" / "speech.py"), default_timeout=120)
    app.run()
    assert not app.exception
    app.selectbox(key="speech-model").select(f"Saved: {tiny_saved_model}").run()
    assert not app.exception
    buttons = [b for b in app.button if b.key == "speech-run"]
    if not buttons:  # no espeak-ng here: the page says so and offers upload/record instead
        assert app.error
        return
    buttons[0].click().run()
    assert not app.exception
    assert any("Transcript" in h.value for h in app.subheader)
    app.radio(key="speech-input").set_value("Record").run()
    assert not app.exception


def test_speech_evaluate_tab_lists_worst_utterances(tiny_saved_model, monkeypatch):
    """The Evaluate tab shows the card's worst utterances as a table (the upload is stubbed: AppTest cannot upload)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from apps import common

    card = {"task": "speech.recognition", "model": "tiny", "n": 2, "metrics": {"wer": {"value": 0.5, "ci95": None}},
            "worst_utterances": [{"audio": "0.wav", "reference": "yes", "hypothesis": "yet", "wer": 1.0}]}

    def fake_evaluate_tab(task, model, read_options=None, suffixes=None):
        st.session_state[f"{task}-evaluate-model"] = id(model)
        common.metric_card_view(card, f"{task}-evaluate")
        return card

    monkeypatch.setattr(common, "evaluate_tab", fake_evaluate_tab)
    app = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "apps" / "speech.py"), default_timeout=120)
    app.session_state["speech-model"] = f"Saved: {tiny_saved_model}"
    app.run()
    assert not app.exception
    assert any(h.value == "Worst utterances" for h in app.subheader)
    tables = [d.value for d in app.dataframe]
    assert any("hypothesis" in t.columns and list(t["hypothesis"]) == ["yet"] for t in tables)


class _Fake:
    """A page-level stand-in for a loaded model: `predict` answers from `answer(inputs, options)`."""

    def __init__(self, answer):
        self.answer, self.calls, self.inputs = answer, [], []

    def predict(self, inputs, batch_size=None, **options):
        self.calls.append(options)
        self.inputs.extend(inputs)
        return [self.answer(item, options) for item in inputs]


@pytest.mark.parametrize("pairs, via", [([], "Whisper speech translation"), ([("es", "en")], "Apertium es→en")])
def test_home_chain_brings_a_spanish_recording_to_english(monkeypatch, pairs, via):
    """Spanish sample -> transcript (es) -> English (Apertium when the pair is installed, else Whisper) -> sentiment.
    The models are fakes (the chain's wiring is under test, not their quality)."""
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from streamlit.testing.v1 import AppTest

    import core
    from apps import common
    from nlp.translation import Translator

    speech = _Fake(lambda item, o: {"text": "the boy reads" if o.get("target") == "en" else "el niño lee",
                                    "language": "es", "language_probability": 0.9})
    apertium = _Fake(lambda item, o: {"translation": "the child reads"})
    sentiment = _Fake(lambda item, o: {"label": "positive", "score": 0.8, "text": item})
    models = {"speech.recognition": speech, "nlp.sentiment": sentiment}
    monkeypatch.setattr(common, "load_model", lambda task, source: models[task])
    monkeypatch.setattr(Translator, "language_pairs", classmethod(lambda cls: pairs))
    monkeypatch.setattr(core, "load", lambda task, model=None, **options: apertium)
    app = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "apps" / "home.py"), default_timeout=120)
    app.run()
    app.radio(key="chain-sample").set_value("Spanish").run()
    next(b for b in app.button if b.key == "chain-run").click().run()
    assert not app.exception and not app.error
    english = "the child reads" if pairs else "the boy reads"
    assert sentiment.inputs == [english]  # sentiment is scored on the English text
    assert [m.label for m in app.metric] == ["Transcript", "English", "Sentiment"]
    assert any(english in m.value for m in app.markdown) and any(via in c.value for c in app.caption)
    assert speech.calls[-1] == ({"source": "es", "target": "en"} if not pairs else {})
