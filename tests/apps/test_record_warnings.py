"""Warnings a prediction record carries are on the page next to it (one text: each as a warning; a table: a readable
'warnings' column and a count above it), and CSV downloads join list columns into text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.apps.test_bad_uploads import _preimport, _upload  # noqa: E402
from tests.apps.test_translation_file_language import _ok  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"


@pytest.fixture()
def downloads(monkeypatch):
    """The data of every st.download_button the page draws, by key."""
    import streamlit

    offered, real = {}, streamlit.download_button

    def download_button(label, data, *args, **kwargs):
        offered[kwargs.get("key")] = data
        return real(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", download_button)
    return offered


def _page(monkeypatch, model, page: str, state: dict, *modules: str) -> AppTest:
    """`page` run once with `model` standing in for every model it loads and `state` preset."""
    from apps import common

    _preimport(*modules)
    monkeypatch.setattr(common, "load_model", lambda task, source: model)
    app = AppTest.from_file(str(APPS / page), default_timeout=120)
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


# --- Sentiment: a text with no word the model reads ---------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_sentiment(tmp_path_factory):
    """A real (tiny, untrained) sentiment model: its records carry the package's own warnings."""
    from nlp.sentiment import SentimentModel
    from tests.nlp.tiny import tiny_encoder_dir

    return SentimentModel.from_encoder(tiny_encoder_dir(tmp_path_factory.mktemp("encoder") / "enc"), device="cpu",
                                       name="tiny")


def _analyse(monkeypatch, model, text: str) -> AppTest:
    app = _page(monkeypatch, model, "nlp.py", {"nlp-sentiment-text": text}, "nlp", "nlp.sentiment", "nlp.qa")
    app.button(key="nlp-sentiment-run").click().run()
    _ok(app)
    return app


def test_a_sentiment_text_with_no_words_shows_its_warning(home, monkeypatch, tiny_sentiment):
    from apps.common import escape_markdown
    from nlp._emoji import NO_WORDS

    app = _analyse(monkeypatch, tiny_sentiment, "!!!")
    assert [w.value for w in app.warning] == [escape_markdown(NO_WORDS)]  # one text: its warning whole, once
    assert app.dataframe[0].value["warnings"].tolist() == [NO_WORDS]


def test_a_sentiment_table_counts_its_warnings_and_names_them_in_a_column(home, monkeypatch, tiny_sentiment):
    from nlp._emoji import NO_WORDS

    app = _analyse(monkeypatch, tiny_sentiment, "A fine film.\n!!!\n😡 awful\n...")
    table = app.dataframe[0].value
    assert table.columns.tolist() == ["text", "label", "score", "warnings"]
    assert table["warnings"].tolist() == ["", NO_WORDS, "", NO_WORDS]  # text, not lists
    warnings = [w.value for w in app.warning]
    assert any(w.startswith("2 of 4 texts have a warning") for w in warnings), warnings


# --- Risk: a category not seen in training --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def risk():
    """A tiny credit-risk model and the applicants it was fitted on."""
    _preimport("finance", "finance.risk")
    from finance.risk import RiskScorer
    from tests.finance.contract_cases import synthetic_applicants, tiny_config

    frame = synthetic_applicants(200)
    return RiskScorer().fit(frame, config=tiny_config()), frame


def _score(monkeypatch, model, applicants, name: str = "applicants.csv") -> AppTest:
    app = _page(monkeypatch, model, "finance.py", {"risk-input": "Upload a table"}, "finance", "finance.risk")
    _upload(app, "risk-upload", name, applicants.write_csv().encode(), "text/csv")
    _ok(app)
    return app


def test_risk_table_with_an_unseen_category_shows_the_warnings_and_downloads_as_csv(home, monkeypatch, downloads, risk):
    import polars as pl

    model, frame = risk
    applicants = frame.drop("default").head(5).with_columns(
        pl.Series("housing", ["own", "houseboat", "rent", "houseboat", "mortgage"]))
    app = _score(monkeypatch, model, applicants)
    shown = app.dataframe[0].value
    flagged = [text for text in shown["warnings"].tolist() if text]
    assert len(flagged) == 2 and all("housing: 'houseboat' was not in the training data" in t for t in flagged), flagged
    assert shown["warnings"].tolist()[0] == ""
    warnings = [w.value for w in app.warning]
    assert any(w.startswith("2 of 5 applicants have a warning") for w in warnings), warnings
    downloaded = pl.read_csv(io.BytesIO(downloads["risk-download"]))
    assert downloaded.columns[-4:] == ["pd", "score", "risk_band", "warnings"]
    assert downloaded["warnings"].fill_null("").to_list() == shown["warnings"].tolist()
    # the download scored again: its own text column stays as it was; the new warnings are pred_warnings
    _upload(app, "risk-upload", "scored.csv", downloads["risk-download"], "text/csv")
    _ok(app)
    shown = app.dataframe[0].value
    assert [bool(text) for text in shown["pred_warnings"]] == [False, True, False, True, False]
    assert any(w.startswith("2 of 5 applicants have a warning (shown in their 'pred_warnings' column)")
               for w in [w.value for w in app.warning])


CELLS = ["pass --set family=gbm", "/tmp/x/y", f"{Path.home()}/notes", "it's --option sheet=NAME ('Data') 'x'"]


def test_risk_warnings_quote_each_cell_as_the_file_has_it(home, monkeypatch, downloads, risk):
    """A warning's value is the user's: never reworded as a command-line hint nor scrubbed as a server path, on screen
    and in the CSV download."""
    import polars as pl

    model, frame = risk
    applicants = frame.drop("default").head(len(CELLS)).with_columns(pl.Series("housing", CELLS))
    app = _score(monkeypatch, model, applicants)
    shown = app.dataframe[0].value["warnings"].tolist()
    for cell, warning in zip(CELLS, shown):
        assert warning.startswith(f"housing: '{cell}' was not in the training data; scored "), (cell, warning)
    downloaded = pl.read_csv(io.BytesIO(downloads["risk-download"]))
    assert downloaded["warnings"].to_list() == shown
    assert downloaded["housing"].to_list() == CELLS


def test_a_one_row_risk_warning_shows_markdown_in_a_cell_as_typed(home, monkeypatch, risk):
    """One row: its warning is an st.warning, whose Markdown would make a cell a live link, bold text or LaTeX."""
    import polars as pl

    from apps.common import escape_markdown

    model, frame = risk
    cell = "[click me](http://evil.example) **x** $y$"
    app = _score(monkeypatch, model, frame.drop("default").head(1).with_columns(pl.Series("housing", [cell])), "one.csv")
    warnings = [w.value for w in app.warning if "population stability" not in w.value]  # one row: too few for PSI
    assert len(warnings) == 1 and escape_markdown(f"housing: '{cell}' was not in the training data") in warnings[0]
    assert "[click me](" not in warnings[0] and "**x**" not in warnings[0] and "$y$" not in warnings[0], warnings


def test_a_warning_keeps_the_value_it_quotes_and_rewords_the_rest():
    from apps.common import warning_message

    shown = warning_message("job: 'a --set b=c' is new; retrain with --set family=gbm")
    assert shown == "job: 'a --set b=c' is new; retrain with family=gbm in 'Config overrides' on the Retrain tab", shown


def test_csv_bytes_joins_list_columns_and_keeps_the_rest(home):
    import polars as pl

    from apps import common

    table = pl.DataFrame({"id": [1, 2], "warnings": [["a", "b"], []], "scores": [[0.5, 1.0], None],
                          "box": [{"x": 1}, {"x": 2}]})
    read = pl.read_csv(io.BytesIO(common.csv_bytes(table)))
    assert read["warnings"].fill_null("").to_list() == ["a | b", ""]
    assert read["scores"].to_list() == ["0.5 | 1.0", None]
    assert read["box"].to_list() == ['{"x": 1}', '{"x": 2}']
    assert table["warnings"].dtype == pl.List(pl.String)  # the table itself (and a Parquet of it) keeps its lists


def test_the_newest_warnings_column_of_a_table_scored_again_is_the_one_shown(home):
    import polars as pl

    from apps import common

    # a download scored twice more: its earlier warnings are text, the newest (appended last) is pred2_warnings
    table = pl.DataFrame({"warnings": ["old"], "pred_warnings": ["older"], "pred2_warnings": [["new"]]})
    assert common._warnings_column(table) == "pred2_warnings"


def test_a_table_without_any_warning_is_drawn_without_the_column():
    def page():
        import polars as pl

        from apps import common

        clean = pl.DataFrame({"text": ["a", "b"], "warnings": [[], []]}, schema={"text": pl.String,
                                                                             "warnings": pl.List(pl.String)})
        common.prediction_table(clean, "texts")

    app = AppTest.from_function(page).run()
    assert not app.exception and list(app.dataframe[0].value.columns) == ["text"] and not app.warning


# --- Speech: a silent recording points at the microphone, a silent upload at the file ------------------------------


def _silent_wav(folder: Path) -> bytes:
    import numpy as np

    from tests.speech.helpers import write_wav

    return write_wav(folder / "silent.wav", np.zeros(16_000, dtype=np.float32)).read_bytes()


@pytest.mark.parametrize("mode, said, not_said", [("Record", "check the microphone", "check the file"),
                                                  ("Upload", "check the file", "microphone")])
def test_a_silent_speech_input_is_worded_by_where_it_came_from(home, tmp_path, monkeypatch, mode, said, not_said):
    """The page passes from_microphone=True for its recorder only: a silent upload was not told to check the mic,
    and a silent recording was told to check the file."""
    from speech.recognition import SpeechRecognizer
    from tests.speech.test_predict_inputs import FakeBackend

    app = _page(monkeypatch, SpeechRecognizer(FakeBackend(), "fake"), "speech.py", {"speech-input": mode}, "speech",
                "speech.audio")
    if mode == "Record":
        app.audio_input(key="speech-record").set_value(("recording.wav", _silent_wav(tmp_path), "audio/wav")).run()
    else:
        _upload(app, "speech-upload", "talk.wav", _silent_wav(tmp_path), "audio/wav")
    app.button(key="speech-run").click().run()
    _ok(app)
    warnings = [w.value for w in app.warning]
    assert any(said in w for w in warnings) and not any(not_said in w for w in warnings), warnings


def test_csv_download_neutralises_formulas_and_the_card_caption_is_not_markdown(home):
    """The page's CSV download gives a formula-looking cell a leading apostrophe (numbers and joined number lists
    stay as they are), and the Evaluate caption shows a model name holding class names as typed, not as Markdown."""
    import polars as pl

    from apps import common

    table = pl.DataFrame({"id": ["=1+1", "-5", "ok"], "scores": [[-0.5, 1.0], [1.0], [2.0]],
                          "labels": [["@x", "y"], ["a"], ["b"]]})
    read = pl.read_csv(io.BytesIO(common.csv_bytes(table)), infer_schema=False)
    assert read["id"].to_list() == ["'=1+1", "-5", "ok"]
    assert read["scores"].to_list() == ["-0.5 | 1.0", "1.0", "2.0"]
    assert read["labels"].to_list() == ["'@x | y", "a", "b"]
    from streamlit.testing.v1 import AppTest

    def page(card):
        from apps.common import metric_card_view

        metric_card_view(card, "test")

    card = {"task": "vision.classification", "model": "head over ![x](http://evil/beacon.png) [a](javascript:alert(1))",
            "n": 3, "metrics": {"accuracy": {"value": 1.0, "ci95": None}}}
    at = AppTest.from_function(page, kwargs={"card": card}, default_timeout=60).run()
    assert not at.exception
    caption = at.caption[0].value
    assert "\\[a\\]" in caption and "!\\[x\\]" in caption
