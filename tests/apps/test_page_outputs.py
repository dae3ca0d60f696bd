"""What pages draw around a prediction: a spinner while slow work runs, model output shown as the plain text it is
(never Markdown), and unreadable audio reported once with nothing to transcribe. Models are stand-ins: no loading."""

from __future__ import annotations

import contextlib
import io
import wave
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.apps.test_bad_uploads import _preimport, _upload  # noqa: E402
from tests.apps.test_translation_file_language import translation_records  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"
TRICKY = "**bold** $x^2$ # not a heading"


@pytest.fixture()
def spinners(monkeypatch):
    """Texts of every st.spinner the page opens."""
    import streamlit

    shown, real = [], streamlit.spinner

    @contextlib.contextmanager
    def spinner(text="In progress...", *args, **kwargs):
        shown.append(text)
        with real(text, *args, **kwargs):
            yield

    monkeypatch.setattr(streamlit, "spinner", spinner)
    return shown


def _use(monkeypatch, model) -> None:
    from apps import common

    monkeypatch.setattr(common, "load_model", lambda task, source: model)


def _page(monkeypatch, model, page: str, state: dict, *modules: str) -> AppTest:
    """`page` run once with `model` standing in for every model it loads and `state` preset."""
    _preimport(*modules)
    _use(monkeypatch, model)
    app = AppTest.from_file(str(APPS / page), default_timeout=60)
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


class FakeSentiment:
    card = {"task": "nlp.sentiment"}

    def predict(self, texts):
        return [{"label": "positive", "score": 0.9} for _ in texts]

    def explain(self, text):
        return [{"label": "positive", "score": 0.9, "tokens": [{"token": "fine", "weight": 0.5}]}]


class FakeQA:
    card = {"task": "nlp.qa"}
    kind = "extractive"

    def predict(self, items):
        return [{"answer": TRICKY, "score": 0.8, "start": 0, "end": 4} for _ in items]


class FakeTranslator:
    card = {"task": "nlp.translation"}
    source_lang, target_lang = "en", "es"
    predict = translation_records

    def language_pairs(self):
        return [("en", "es")]

    def translate(self, sentences, source, target):
        return [TRICKY for _ in sentences]


class FakeSpeech:
    card = {"task": "speech.recognition", "language": "en"}

    def predict(self, audio, **options):
        raise AssertionError("unreadable audio must not reach the model")


def test_sentiment_and_qa_show_a_spinner_and_the_answer_as_typed(home, monkeypatch, spinners):
    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    _use(monkeypatch, FakeSentiment())
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=60).run()
    app.button(key="nlp-sentiment-run").click().run()
    assert not app.exception and app.dataframe and "Analysing…" in spinners
    _use(monkeypatch, FakeQA())
    app.radio(key="nlp-task").set_value("Extractive QA").run()
    app.button(key="nlp-qa-run").click().run()
    assert not app.exception and "Answering…" in spinners
    answers = [m.value for m in app.markdown if m.value.startswith("**Answer:**")]
    assert answers and r"\*\*bold\*\* \$x\^2\$ \# not a heading" in answers[0], answers


class TrickyLabels(FakeSentiment):
    """A model retrained on labels of the user's own: one reads as Markdown."""

    def __init__(self):
        self.predicted = []

    def predict(self, texts):
        self.predicted.append(list(texts))
        return [{"label": TRICKY, "score": 0.9} for _ in texts]

    def explain(self, text):
        return [{"label": TRICKY, "score": 0.9, "tokens": [{"token": "fine", "weight": 0.5}]}]


def test_a_predicted_label_is_shown_as_typed(home, monkeypatch):
    from apps.common import escape_markdown

    app = _page(monkeypatch, TrickyLabels(), "nlp.py", {"nlp-sentiment-explain": True}, "nlp", "nlp.sentiment", "nlp.qa")
    app.button(key="nlp-sentiment-run").click().run()
    assert not app.exception
    captions = [c.value for c in app.caption if c.value.startswith("Word attributions")]
    assert captions and f"predicted {escape_markdown(TRICKY)}," in captions[0], captions


@pytest.mark.parametrize("name, content", [("reviews.txt", b"Great film\n\nAwful plot\n"),
                                           ("reviews.csv", b'text\nGreat film\n""\nAwful plot\n')])
def test_a_blank_line_or_empty_cell_is_an_error_row_and_the_rest_is_scored(home, monkeypatch, name, content):
    """As the command line's predict: the blank text gets an error in its row; it no longer stops the whole table."""
    model = TrickyLabels()
    app = _page(monkeypatch, model, "nlp.py", {}, "nlp", "nlp.sentiment", "nlp.qa")
    _upload(app, "nlp-sentiment-upload", name, content, "text/plain")
    app.button(key="nlp-sentiment-run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert model.predicted == [["Great film", "Awful plot"]]
    table = app.dataframe[0].value
    assert table["text"].tolist() == ["Great film", "", "Awful plot"]
    assert [label is not None for label in table["label"]] == [True, False, True]
    assert [bool(error) for error in table["error"]] == [False, True, False]
    assert any(w.value.startswith("1 of 3 texts could not be scored") for w in app.warning), [w.value for w in app.warning]


def test_translation_output_is_plain_text(home, monkeypatch):
    app = _page(monkeypatch, FakeTranslator(), "nlp.py", {"nlp-task": "Translation"}, "nlp", "nlp.translation")
    app.button(key="translation-run").click().run()
    assert not app.exception
    assert TRICKY in [t.value for t in app.text]
    assert not [m.value for m in app.markdown if "bold" in m.value]


def test_risk_scoring_of_a_table_shows_a_spinner(home, spinners):
    _preimport("finance", "finance.risk")
    from core.artifacts import cache_dir
    from finance.risk import DEFAULT_NAME, RiskScorer
    from tests.finance.contract_cases import synthetic_applicants, tiny_config

    frame = synthetic_applicants(200)
    model = RiskScorer().fit(frame, config=tiny_config())
    model.save(cache_dir("finance.risk") / DEFAULT_NAME)
    app = AppTest.from_file(str(APPS / "finance.py"), default_timeout=120)
    app.session_state["risk-input"] = "Upload a table"
    app.run()
    table = frame.drop(model.card["target"]).write_csv().encode()
    _upload(app, "risk-upload", "applicants.csv", table, "text/csv")
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert any(text.startswith("Scoring 200 applicants") for text in spinners), spinners


def test_unreadable_audio_is_one_error_and_offers_no_transcribe(home, monkeypatch):
    app = _page(monkeypatch, FakeSpeech(), "speech.py", {"speech-input": "Upload"}, "speech", "speech.audio")
    _upload(app, "speech-upload", "talk.wav", b"RIFF\x10\x00\x00\x00WAVEjunk-not-a-wave-file", "audio/wav")
    assert not app.exception and len(app.error) == 1, [e.value for e in app.error]
    assert not [b for b in app.button if b.key == "speech-run"]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as sink:  # readable audio still gets its waveform and the button
        sink.setnchannels(1), sink.setsampwidth(2), sink.setframerate(16000), sink.writeframes(b"\x00\x10" * 16000)
    _upload(app, "speech-upload", "talk.wav", buffer.getvalue(), "audio/wav")
    assert not app.exception and not app.error and [b for b in app.button if b.key == "speech-run"]
