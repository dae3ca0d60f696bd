"""The packages' errors tell CLI users which flag to pass (`--column NAME`, `--option encoding=...`); a page says which
of its own controls does it, or what to change in the data (apps.common.page_message). Errors come from real bad
input; the packages' messages keep their flags for the command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from core.errors import InputError  # noqa: E402
from tests.apps.test_bad_uploads import _assert_friendly_error, _preimport, _upload  # noqa: E402
from tests.apps.test_page_outputs import FakeSentiment  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"
FLAG = re.compile(r"(?<![\w-])--[a-z]")  # a command-line flag such as --column or --option
SHIFT_JIS_TABLE = "text,label\n".encode() + "とても良い映画でした,1\n".encode("shift_jis")  # not UTF-8, not Western


def _use(monkeypatch, model) -> None:
    from apps import common

    monkeypatch.setattr(common, "load_model", lambda task, source: model)


def _flagless_error(app, *fragments: str) -> str:
    message = _assert_friendly_error(app, *fragments)
    assert not FLAG.search(message), f"a command-line flag on the page: {message!r}"
    return message


# --- on the pages ----------------------------------------------------------------------------------------------------


def test_sentiment_upload_errors_name_the_text_column_picker(home, monkeypatch):
    """No usual text column: the page names its 'Text column' picker, and choosing the column there reads the file. The
    Sentiment section has no encoding choice: the page says what to change in the file."""
    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    _use(monkeypatch, FakeSentiment())
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=60).run()
    _upload(app, "nlp-sentiment-upload", "reviews.csv", b"body,stars\nA fine film,5\n", "text/csv")
    app.button(key="nlp-sentiment-run").click().run()
    message = _flagless_error(app, "needs a text column", "Choose it under 'Text column'")
    assert "add one, such as text,label" in message, message
    next(box for box in app.selectbox if box.label == "Text column").set_value("body").run()
    app.button(key="nlp-sentiment-run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.dataframe[0].value["text"].tolist() == ["A fine film"]
    _upload(app, "nlp-sentiment-upload", "reviews.csv", SHIFT_JIS_TABLE, "text/csv")
    app.button(key="nlp-sentiment-run").click().run()
    _flagless_error(app, "is not UTF-8 text", "re-save it as UTF-8", "other encodings only through the command line")


class FakeForecaster:
    """What the forecasting section reads from a model before and after it draws the series."""

    card = {"task": "finance.forecast", "model": "fake", "weights": {}, "info": {}}

    class config:  # noqa: N801 - read as model.config.<field>
        test_size, horizon = 5, 2

    def predict(self, series):
        return []  # nothing to draw: the test is about reading the upload


def _forecast_page(monkeypatch) -> AppTest:
    _preimport("finance", "finance.forecast", "finance.risk")
    _use(monkeypatch, FakeForecaster())
    app = AppTest.from_file(str(APPS / "finance.py"), default_timeout=60)
    app.session_state["finance-section"] = "Forecasting"
    app.session_state["forecast-mode"] = "Upload a file"
    return app.run()


def test_forecast_upload_errors_name_the_page_controls(home, monkeypatch):
    """No date column found: the page names its 'Date column' box, and typing the name there reads the file."""
    app = _forecast_page(monkeypatch)
    assert not app.exception, [e.message for e in app.exception]
    _upload(app, "forecast-upload", "prices.csv", b"when,price\n2024-01-01,10\n2024-01-02,11\n2024-01-03,12\n", "text/csv")
    _flagless_error(app, "no time column found", "type its name in 'Date column'")
    app.text_input(key="forecast-time").set_value("when").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    app.text_input(key="forecast-time").set_value("")
    _upload(app, "forecast-upload", "prices.csv", b"date,price\n01/02/2024,10\n03/04/2024,11\n05/06/2024,12\n", "text/csv")
    _flagless_error(app, "ambiguous", "write them as ISO dates (2024-01-31)")


def test_a_failed_retrain_names_the_target_column_box(home, monkeypatch, tmp_path):
    """A credit-risk training on a table with no usual target name fails in the job; its error on the Retrain tab and
    on the Models page points at 'Target column', not at --target."""
    _preimport("finance", "finance.risk")
    from core import jobs

    table = tmp_path / "applicants.csv"
    table.write_text("income,age,outcome\n" + "".join(f"{1000 + i},{20 + i % 40},{i % 2}\n" for i in range(40)))
    with pytest.raises(InputError, match="--target") as raised:  # the CLI's wording, unchanged
        jobs.run_training("finance.risk", table, tmp_path / "out")
    failed = jobs.Job(id="failed-job", task="finance.risk", status="failed", spec={}, created="", error=str(raised.value))
    monkeypatch.setattr(jobs, "list_jobs", lambda: [failed])

    def retrain_tab():
        from apps import common

        common.retrain_tab("finance.risk")

    app = AppTest.from_function(retrain_tab, default_timeout=60).run()
    message = _flagless_error(app, "type its name or number in 'Target column'")
    assert "page's" not in message, message  # the tab itself has the box
    app = AppTest.from_file(str(APPS / "registry.py"), default_timeout=60).run()
    shown = app.dataframe[0].value["error"].tolist()
    assert shown and not FLAG.search(shown[0]), shown
    assert "on the Finance page's Retrain tab (Risk scoring), type its name or number in 'Target column'" in shown[0]


# --- the mapping itself ----------------------------------------------------------------------------------------------


def _raised(fn) -> str:
    with pytest.raises(InputError) as raised:
        fn()
    return str(raised.value)


def _table(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _package_messages(tmp_path: Path) -> dict[str, str]:
    """Errors the packages raise on bad uploads, each carrying a CLI hint."""
    import polars as pl

    from core.data import read_table
    from finance.forecast import Forecaster
    from finance.risk import encode_target
    from nlp._textdata import label_indices
    from nlp.sentiment import SentimentModel
    from nlp.translation import Translator

    return {
        "encoding": _raised(lambda: read_table(_table(tmp_path, "a.csv", SHIFT_JIS_TABLE))),
        "separator": _raised(lambda: read_table(_table(tmp_path, "b.csv", "a,b,c\n1,2,3\n1,2,3,4\n"))),
        "text column": _raised(lambda: SentimentModel.read_inputs(_table(tmp_path, "c.csv", "body,stars\nfine,1\n"))),
        "label column": _raised(lambda: SentimentModel.read_data(_table(tmp_path, "d.csv", "text,stars\nfine,1\n"))),
        "date column": _raised(lambda: Forecaster.read_data(_table(tmp_path, "e.csv", "when,price\n2024-01-01,1\n"))),
        "value column": _raised(lambda: Forecaster.read_data(_table(tmp_path, "f.csv", "date,amount\n2024-01-01,1\n"))),
        "ambiguous dates": _raised(lambda: Forecaster.read_data(_table(tmp_path, "g.csv", "date,value\n01/02/2024,1\n"))),
        "unknown dates": _raised(lambda: Forecaster.read_data(_table(tmp_path, "h.csv", "date,value\nJan 1st,1\n"))),
        "translation column": _raised(lambda: Translator.read_inputs(_table(tmp_path, "i.csv", "english\nhi\n"))),
        "parallel columns": _raised(lambda: Translator.read_data(_table(tmp_path, "j.csv", "english,spanish\nhi,hola\n"))),
        "ambiguous file name": _raised(lambda: Translator.read_inputs(_table(tmp_path, "corp.pl", "Dzień dobry.\n"))),
        "default value": _raised(lambda: encode_target(pl.Series("default", [0, 1]), {"positive": "bad", "negative": "good"})),
        "positive value": _raised(lambda: label_indices(["yes", "no"], ["negative", "positive"])),
    }


# Messages that need a fitted model or a whole evaluation to reach, as the packages word them.
WORDED = {
    "translation cap": ("the translation stopped at the max_length cap of 24 tokens and may be incomplete; split the "
                        "line into shorter sentences, or retrain the model with --set max_length=N for a larger cap "
                        "(Translator.Config(max_length=N) in Python)",
                        "retrain the model with max_length=N in 'Config overrides' on the Retrain tab for a larger cap"),
    "set before a semicolon": ("values <= 0; retrain with --set transform=none; or pass positive prices",
                               "retrain with transform=none in 'Config overrides' on the Retrain tab; or pass"),
    "log transform": ("prices.csv holds values <= 0, but this model forecasts log prices; pass positive prices or "
                      "retrain with --set transform=none",
                      "retrain with transform=none in 'Config overrides' on the Retrain tab"),
    "several pairs": ("the data holds several pairs (en->es, en->fr); choose one with --set source_lang=xx --set "
                      "target_lang=yy", "choose one with source_lang=xx, target_lang=yy in 'Config overrides'"),
    "unknown labels": ("the model does not know any of the data's labels (ants, bees); it predicts only its own (tench, "
                       "goldfish), so accuracy and macro-F1 are 0 by construction. Retrain it on this data: verticals train "
                       "vision.classification --data DIR --out OUT, then evaluate with --model OUT",
                       "Retrain it on this data on the Retrain tab, then choose the new model under 'Model'"),
    "detector classes": ("none in common, so every AP is 0 by construction. Fine-tune a detector on this data: verticals "
                         "train vision.detection --data DATA --out DIR, then evaluate with --model DIR",
                         "Fine-tune a detector on this data on the Retrain tab"),
    "low confidence": ("low confidence (mean word probability 0.41): the text may be wrong; check the language "
                       "(--source) and the recording",  # 'Built-in' is drawn only while 'Model' is the embedded default
                       "choose the embedded default under 'Model', then Whisper base under 'Built-in' and set "
                       "'Spoken language'"),
    "loose translation": ("low confidence (mean word probability 0.41): the translation is likely loose; transcribe "
                          "without --target and translate the transcript with nlp.translation",
                          "choose Transcript under 'Text'"),
    "no pair": ("the data holds de->en but this model translates en->es; pass --source/--target to pick a pair, or use a "
                "model for it", "choose a model for the data's pair under 'Model'"),
    "apertium pair": ("the data holds de->en; Apertium has en->es installed. Evaluate a model trained for that pair "
                      "(--model DIR or a hub id), or install the Apertium pair", "(choose it under 'Model')"),
    "sheet": ("book.xlsx, sheet 'Notes' is empty; pick another with --option sheet=NAME ('Data')",
              "the dashboard reads the first sheet: move the data there (the other sheets: 'Data')"),
    "ambiguous corpus file": ("corp.pl: .pl is the code of Polish (pl) and the suffix of a Perl script, so the name does "
                              "not say that the file holds Polish sentences. Pass --source pl or --target pl (Python: "
                              "source='pl') to read it as Polish, or name it corp.pl.txt",
                              "Name it corp.pl.txt to have it read as Polish"),
    "named language": ("this model has no pair from fi. The source language fi is the one its file's name gives "
                       "(name.<language>); pass --source to say otherwise",
                       "choose another pair under 'Language pair' to say otherwise"),
    "risk target": ("target column 'default' is not in the data; pass --target",
                    "type the right one in 'Target column'"),
    "time split": ("a time-based split needs a time column: pass --time COLUMN or set time_column",
                   "type it in 'Time column for a time-based split' on the Retrain tab"),
}


def test_every_cli_hint_from_a_bad_upload_is_reworded(tmp_path):
    from apps.common import page_message

    for name, message in _package_messages(tmp_path).items():
        assert FLAG.search(message), f"{name}: the package's message lost its CLI hint: {message!r}"
        shown = page_message(message)
        assert not FLAG.search(shown), f"{name}: {shown!r}"
        assert shown.split(";")[0].split(".")[0] == message.split(";")[0].split(".")[0], (name, shown)  # what went wrong stays


def test_missing_column_hints_name_the_column_pickers(tmp_path):
    """A table whose texts or labels are not under a usual name: the page names the picker that chooses them."""
    from apps.common import page_message

    messages = _package_messages(tmp_path)
    for name, picker in (("text column", "Text column"), ("label column", "Label column"), ("translation column", "Text column")):
        shown = page_message(messages[name])
        assert f"under '{picker}'" in shown and "it has:" in shown, (name, shown)


def test_label_value_and_language_hints_name_their_boxes(tmp_path):
    """0/1 against bad/good, yes/no against negative/positive, corp.pl (Polish or Perl): the Evaluate tabs' value boxes
    and the Translation section's 'Language pair' say it, with the values or the language the message gave."""
    from apps.common import page_message

    messages = _package_messages(tmp_path)
    for name, expected in (("default value", "choose it under 'Value that means default' on the Evaluate tab, one of 0, 1"),
                           ("positive value", "choose yes or no under 'Value that means positive' on the Evaluate tab"),
                           ("ambiguous file name", "under 'Language pair'")):
        shown = page_message(messages[name])
        assert expected in shown and not FLAG.search(shown) and "Python" not in shown, (name, shown)
    import polars as pl

    from finance.risk import encode_target

    contradiction = _raised(lambda: encode_target(pl.Series("default", ["yes", "no"]), {"positive": "yes", "negative": "no"},
                                                  positive_label="no"))  # yes/no data, the model's default is yes
    shown = page_message(contradiction)
    assert shown.startswith("'Value that means default' 'no' contradicts the model") and "positive_label" not in shown, shown
    assert "choose 'automatic' (or yes) there" in shown
    from nlp._textdata import with_positive_label

    flipped = _raised(lambda: with_positive_label(pl.DataFrame({"text": ["a", "b"], "label": ["positive", "negative"]}),
                                                  "negative", "reviews.csv"))  # the model's own labels, read flipped
    shown = page_message(flipped)
    assert shown.startswith("'Value that means positive' 'negative' contradicts the model") and "positive_label" not in shown
    assert "choose 'automatic' (or positive) there" in shown, shown


def test_label_value_hints_say_which_tab_holds_their_box(tmp_path):
    """The 'Value that means …' boxes are on the Evaluate tabs, and on the risk Predict tab for a table with its target:
    the page names the tab it shows the message on (value_box_tab), with no rewriting of the page's wording after."""
    import polars as pl

    from apps.common import page_message
    from finance.risk import encode_target

    messages = _package_messages(tmp_path)
    three = _raised(lambda: encode_target(pl.Series("default", [0, 1, 2]), {"positive": "bad", "negative": "good"}))
    for message, box in ((messages["default value"], "under 'Value that means default' {}, one of 0, 1"),
                         (messages["positive value"], "under 'Value that means positive' {};"),
                         (three, "recode it as two, one meaning default and one not, then choose which under "
                                 "'Value that means default' {}")):
        assert box.format("on the Evaluate tab") in page_message(message), page_message(message)
        here = page_message(message, value_box_tab="this tab")
        assert box.format("on this tab") in here and "Evaluate tab" not in here, here
    quoted = "target column 'VALUE_BOX_TAB' holds x; --option positive_label=VALUE on the command line, or " \
             "positive_label=VALUE to evaluate() or read_data() in Python; VALUE one of x, y"
    assert page_message(quoted, value_box_tab="this tab").startswith("target column 'VALUE_BOX_TAB' holds x; choose it")


@pytest.mark.parametrize("name", sorted(WORDED))
def test_hints_that_need_a_model_are_reworded(name):
    from apps.common import page_message

    message, expected = WORDED[name]
    shown = page_message(message)
    assert expected in shown and not FLAG.search(shown) and ".Config(" not in shown, shown


def test_a_message_shown_away_from_its_controls_says_where_they_are(tmp_path):
    """The Models page shows a job's error: the controls its fix names are on the job's page, on the Retrain tab."""
    from apps.common import page_message, retrain_place

    text_column = _package_messages(tmp_path)["text column"]
    shown = page_message(text_column, place=retrain_place("nlp.sentiment"))
    assert "On the NLP page's Retrain tab (Sentiment), choose it under 'Text column'" in shown, shown
    shown = page_message("unknown value for epochs; retrain with --set epochs=3", place=retrain_place("speech.recognition"))
    assert shown.endswith("retrain with epochs=3 in 'Config overrides' on the Speech page's Retrain tab"), shown
    encoding = _package_messages(tmp_path)["encoding"]  # a change to make in the file: no control, no place
    assert page_message(encoding, place=retrain_place("nlp.sentiment")) == page_message(encoding)


def test_the_controls_named_exist_on_the_pages():
    """Every control a page message points at ("in 'Date column'", "under 'Model'") is a widget label in apps/."""
    from apps import common

    lines = [line for path in APPS.glob("*.py") for line in path.read_text().splitlines()]
    sources = "\n".join(line for line in lines if "_FORECAST_COLUMNS =" not in line)  # the labels, not the mapping
    wordings = [w for _, w in common.PAGE_HINTS if isinstance(w, str)]
    named = {name for wording in wordings for name in re.findall(r"(?:in|under|set) '([^']+)'", wording)}
    named |= set(common._FORECAST_COLUMNS.values())
    assert named, wordings
    for name in named:
        assert re.search(rf"[(\s]\"{re.escape(name)}[\" (]", sources), f"no widget labelled {name!r} in apps/"
