"""Column pickers for uploaded tables: the Sentiment section (Predict, Evaluate, Retrain) and the Translation section
let the user choose the table's text (and label) column. Each picker lists the table's columns, preselected with the
column the package reads by itself; left so, the package reads the table exactly as it did without a picker."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.apps.test_bad_uploads import _preimport, _upload  # noqa: E402
from tests.apps.test_translation_file_language import translation_records  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"
EXPORT = b"Review Text,Rating,Date\nGreat phone,5,2024-01-01\nBroke in a week,1,2024-01-02\nFine for the price,4,2024-01-03\n"
REVIEWS = ["Great phone", "Broke in a week", "Fine for the price"]


class FakeSentiment:
    """Stands in for the sentiment model: records what the page hands it."""

    card = {"task": "nlp.sentiment"}

    def __init__(self):
        self.predicted, self.evaluated = [], []

    def predict(self, texts):
        self.predicted.append(list(texts))
        return [{"label": "positive", "score": 0.9} for _ in texts]

    def explain(self, text):
        return [{"label": "positive", "score": 0.9, "tokens": [{"token": "fine", "weight": 0.5}]}]

    def evaluate(self, data):
        self.evaluated.append(data)
        return {"task": "nlp.sentiment", "model": "fake", "n": data.height, "metrics": {}}


class FakeTranslator:
    card = {"task": "nlp.translation"}
    source_lang, target_lang = "en", "es"
    predict = translation_records

    def __init__(self):
        from nlp.translation import Translator

        self.translated = []
        self.frame_inputs = Translator.frame_inputs.__get__(self)  # the package's own rule for a table's column

    def language_pairs(self):
        return [("en", "es")]

    def translate(self, sentences, source, target):
        self.translated.append(list(sentences))
        return [f"[{source}->{target}] {s}" for s in sentences]


def _recording(monkeypatch, cls, name: str) -> list[dict]:
    """Record the options the page passes to the reader `cls.name` (which still reads)."""
    calls, real = [], getattr(cls, name).__func__

    def reader(klass, path, **options):
        calls.append(options)
        return real(klass, path, **options)

    monkeypatch.setattr(cls, name, classmethod(reader))
    return calls


def _page(monkeypatch, model, state: dict | None = None) -> AppTest:
    from apps import common

    _preimport("nlp", "nlp.sentiment", "nlp.qa", "nlp.translation")
    monkeypatch.setattr(common, "load_model", lambda task, source: model)
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=60)
    for key, value in (state or {}).items():
        app.session_state[key] = value
    return app.run()


def _picker(app, prefix: str):
    """The column select box whose key starts with `prefix` (its key ends with a digest of the table's columns)."""
    boxes = [box for box in app.selectbox if box.key and box.key.startswith(prefix)]
    assert len(boxes) == 1, [(box.label, box.key) for box in app.selectbox]
    return boxes[0]


def _ok(app) -> None:
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]


# --- Sentiment: Predict --------------------------------------------------------------------------------------------


def test_sentiment_scores_the_column_chosen_in_the_picker(home, monkeypatch):
    """A spreadsheet export whose texts are in 'Review Text': nothing is preselected, running says to choose it under
    'Text column', and choosing it there scores those texts."""
    from nlp.sentiment import SentimentModel

    model = FakeSentiment()
    calls = _recording(monkeypatch, SentimentModel, "read_inputs")
    app = _page(monkeypatch, model)
    _upload(app, "nlp-sentiment-upload", "export.csv", EXPORT, "text/csv")
    picker = _picker(app, "nlp-sentiment-column-")
    assert picker.label == "Text column" and picker.options == ["Review Text", "Rating", "Date"] and picker.value is None
    app.button(key="nlp-sentiment-run").click().run()
    errors = [e.value for e in app.error]
    assert errors and "Choose it under 'Text column'" in errors[0] and "--column" not in errors[0], errors
    _picker(app, "nlp-sentiment-column-").set_value("Review Text").run()
    app.button(key="nlp-sentiment-run").click().run()
    _ok(app)
    assert calls[-1] == {"column": "Review Text"}
    assert model.predicted[-1] == REVIEWS
    assert app.dataframe[0].value["text"].tolist() == REVIEWS and app.dataframe[0].value["label"].tolist() == ["positive"] * 3


TABLES = {  # (file name, content, the column nlp.sentiment reads by itself)
    "text column": ("reviews.csv", b"id,text,Date\n1,Great phone,2024-01-01\n2,Broke in a week,2024-01-02\n", "text"),
    "named in capitals": ("reviews.csv", b"Review,stars\nGreat phone,5\nBroke in a week,1\n", "Review"),
    "text before sentence": ("reviews.csv", b"sentence,text\nnot this,Great phone\nnor this,Broke in a week\n", "text"),
    "headerless": ("sst.tsv", b"A truly fine film with a very good cast.\t1\nDull and far too long for what it is.\t0\n", "0"),
    "headerless, label first": ("sst.tsv", b"1\tA truly fine film with a very good cast.\n0\tDull and far too long for what it is.\n",
                                "1"),
}


@pytest.mark.parametrize("case", sorted(TABLES))
def test_sentiment_picker_default_reads_the_table_as_before(home, monkeypatch, tmp_path, case):
    """Preselected: the column the package reads by itself (names matched case-insensitively and in its order; headerless
    files by their columns' types). Left so, the reader gets no option and reads what it read without the picker."""
    from nlp.sentiment import SentimentModel

    name, content, column = TABLES[case]
    expected = list(SentimentModel.read_inputs(_file(tmp_path, name, content)))
    model = FakeSentiment()
    calls = _recording(monkeypatch, SentimentModel, "read_inputs")
    app = _page(monkeypatch, model)
    _upload(app, "nlp-sentiment-upload", name, content)
    assert _picker(app, "nlp-sentiment-column-").value == column
    app.button(key="nlp-sentiment-run").click().run()
    _ok(app)
    assert calls[-1] == {}, calls
    assert model.predicted[-1] == expected


def test_a_text_file_is_read_line_by_line_without_a_picker(home, monkeypatch):
    model = FakeSentiment()
    app = _page(monkeypatch, model)
    _upload(app, "nlp-sentiment-upload", "texts.txt", b"Great phone\nBroke in a week\n", "text/plain")
    assert not [box for box in app.selectbox if box.label == "Text column"]
    app.button(key="nlp-sentiment-run").click().run()
    _ok(app)
    assert model.predicted[-1] == ["Great phone", "Broke in a week"]


# --- Sentiment: Evaluate and Retrain -------------------------------------------------------------------------------


def test_sentiment_evaluates_the_chosen_text_and_label_columns(home, monkeypatch):
    from nlp.sentiment import SentimentModel

    model = FakeSentiment()
    calls = _recording(monkeypatch, SentimentModel, "read_data")
    app = _page(monkeypatch, model)
    _upload(app, "nlp.sentiment-evaluate-upload", "export.csv", EXPORT, "text/csv")
    text, label = _picker(app, "nlp.sentiment-evaluate-column-"), _picker(app, "nlp.sentiment-evaluate-target-")
    assert (text.label, text.value, label.label, label.value) == ("Text column", None, "Label column", None)
    text.set_value("Review Text")
    _picker(app, "nlp.sentiment-evaluate-target-").set_value("Rating").run()
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    _ok(app)
    assert calls[-1] == {"column": "Review Text", "target": "Rating"}
    data = model.evaluated[-1]
    assert data["text"].to_list() == REVIEWS and data["label"].to_list() == [5, 1, 4]


def test_sentiment_evaluate_defaults_read_the_table_as_before(home, monkeypatch, tmp_path):
    from nlp.sentiment import SentimentModel

    content = b"id,text,label\n1,Great phone,1\n2,Broke in a week,0\n"
    expected = SentimentModel.read_data(_file(tmp_path, "labelled.csv", content))
    model = FakeSentiment()
    calls = _recording(monkeypatch, SentimentModel, "read_data")
    app = _page(monkeypatch, model)
    _upload(app, "nlp.sentiment-evaluate-upload", "labelled.csv", content, "text/csv")
    assert _picker(app, "nlp.sentiment-evaluate-column-").value == "text"
    assert _picker(app, "nlp.sentiment-evaluate-target-").value == "label"
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    _ok(app)
    assert calls[-1] == {}
    assert model.evaluated[-1].equals(expected)


def test_the_label_column_is_preselected_by_its_name_when_the_text_column_is_not(home, monkeypatch):
    """'label' is found by itself even though the texts' column needs choosing; choosing only the text column reads it."""
    from nlp.sentiment import SentimentModel

    model = FakeSentiment()
    calls = _recording(monkeypatch, SentimentModel, "read_data")
    app = _page(monkeypatch, model)
    _upload(app, "nlp.sentiment-evaluate-upload", "export.csv", b"Review Text,label\nGreat phone,1\nBroke in a week,0\n")
    assert _picker(app, "nlp.sentiment-evaluate-target-").value == "label"
    _picker(app, "nlp.sentiment-evaluate-column-").set_value("Review Text").run()
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    _ok(app)
    assert calls[-1] == {"column": "Review Text", "target": "label"}
    assert model.evaluated[-1]["label"].to_list() == [1, 0]


@pytest.fixture()
def started(monkeypatch):
    """start_job records what it was asked instead of training."""
    from core import jobs

    calls = []

    def start_job(task, data, out=None, base=None, overrides=None, options=None, name=None, replace=False):
        calls.append({"task": task, "data": Path(data), "options": options})
        return jobs.Job(id=f"job-{len(calls)}", task=task, status="queued", spec={}, created="")

    monkeypatch.setattr(jobs, "start_job", start_job)
    return calls


def test_sentiment_retrain_passes_the_chosen_columns_to_the_job(home, monkeypatch, started):
    from nlp.sentiment import SentimentModel

    app = _page(monkeypatch, FakeSentiment())
    _upload(app, "nlp.sentiment-train-upload", "export.csv", EXPORT, "text/csv")
    _picker(app, "nlp.sentiment-train-column-").set_value("Review Text")
    _picker(app, "nlp.sentiment-train-target-").set_value("Rating").run()
    app.button(key="nlp.sentiment-train-start").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    options = started[-1]["options"]
    assert options == {"column": "Review Text", "target": "Rating"}
    assert SentimentModel.read_data(started[-1]["data"], **options)["text"].to_list() == REVIEWS  # what the job reads


def test_sentiment_retrain_reads_the_uploaded_table_once(home, monkeypatch, started):
    """The pickers' head is the one read on the page (a small CSV is read whole for it): choosing the columns and
    starting the job read it no more; the job reads it itself."""
    from core.data import tables

    reads, real = [], tables.read_table

    def read_table(path, *args, **kwargs):
        reads.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(tables, "read_table", read_table)  # iter_table's (the head) and the package readers'
    monkeypatch.setattr("core.data.read_table", read_table)
    app = _page(monkeypatch, FakeSentiment())
    _upload(app, "nlp.sentiment-train-upload", "export.csv", EXPORT, "text/csv")
    _picker(app, "nlp.sentiment-train-column-").set_value("Review Text")
    _picker(app, "nlp.sentiment-train-target-").set_value("Rating").run()
    app.button(key="nlp.sentiment-train-start").click().run()
    assert not app.exception and not app.error and started, [e.value for e in app.error]
    assert reads == ["export.csv"], reads


def test_sentiment_evaluate_says_a_column_the_reader_refuses_before_it_is_clicked(home, monkeypatch):
    """A text column of numbers, chosen: the reader's reason is on the page at once, and Evaluate waits for a fix."""
    model = FakeSentiment()
    app = _page(monkeypatch, model)
    _upload(app, "nlp.sentiment-evaluate-upload", "export.csv", EXPORT, "text/csv")
    _picker(app, "nlp.sentiment-evaluate-column-").set_value("Rating")
    _picker(app, "nlp.sentiment-evaluate-target-").set_value("Date").run()
    errors = [e.value for e in app.error]
    assert errors and "holds Int64" in errors[0], errors
    assert app.button(key="nlp.sentiment-evaluate-run").disabled and not model.evaluated


def test_sentiment_retrain_defaults_pass_no_column_options(home, monkeypatch, started):
    app = _page(monkeypatch, FakeSentiment())
    _upload(app, "nlp.sentiment-train-upload", "train.csv", b"text,label\nGreat phone,1\nBroke in a week,0\n", "text/csv")
    assert _picker(app, "nlp.sentiment-train-column-").value == "text"
    assert _picker(app, "nlp.sentiment-train-target-").value == "label"
    app.button(key="nlp.sentiment-train-start").click().run()
    assert not app.exception and started and not started[-1]["options"], started


def test_a_label_first_text_file_has_no_columns_to_choose(home, monkeypatch):
    model = FakeSentiment()
    app = _page(monkeypatch, model)
    _upload(app, "nlp.sentiment-evaluate-upload", "sst.test", b"1 a fine film .\n0 dull , dull .\n")
    assert not [box for box in app.selectbox if box.label in {"Text column", "Label column"}]


# --- Translation -----------------------------------------------------------------------------------------------------


TRANSLATION = {"nlp-task": "Translation", "translation-input-mode": "Upload a file"}


def test_translation_translates_the_column_chosen_in_the_picker(home, monkeypatch):
    from nlp.translation import Translator

    model = FakeTranslator()
    calls = _recording(monkeypatch, Translator, "read_inputs")
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "phrases.csv", b"English,Notes\nHello.,greeting\nThank you.,thanks\n", "text/csv")
    picker = _picker(app, "translation-column-")
    assert picker.label == "Text column" and picker.options == ["English", "Notes"] and picker.value is None
    errors = [e.value for e in app.error]
    assert errors and "choose it under 'Text column'" in errors[0] and "--column" not in errors[0], errors
    _picker(app, "translation-column-").set_value("English").run()
    app.button(key="translation-run").click().run()
    _ok(app)
    assert calls[-1] == {"column": "English"}
    assert model.translated[-1] == ["Hello.", "Thank you."]
    assert "[en->es] Thank you." in [t.value for t in app.text]


def test_translation_picker_default_reads_the_table_as_before(home, monkeypatch):
    from nlp.translation import Translator

    model = FakeTranslator()
    calls = _recording(monkeypatch, Translator, "read_inputs")
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "phrases.csv", b"id,text,source\n1,not this,Hello.\n2,nor this,Thank you.\n", "text/csv")
    assert _picker(app, "translation-column-").value == "source"
    app.button(key="translation-run").click().run()
    _ok(app)
    assert calls[-1] == {}
    assert model.translated[-1] == ["Hello.", "Thank you."]


def _file(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.write_bytes(content)
    return path


# --- One column for two purposes, a retrain that cannot read its table ----------------------------------------------


def test_one_column_for_text_and_label_is_refused_before_evaluating(home, monkeypatch):
    model = FakeSentiment()
    app = _page(monkeypatch, model)
    _upload(app, "nlp.sentiment-evaluate-upload", "export.csv", EXPORT, "text/csv")
    _picker(app, "nlp.sentiment-evaluate-column-").set_value("Review Text")
    _picker(app, "nlp.sentiment-evaluate-target-").set_value("Review Text").run()
    errors = [e.value for e in app.error]
    assert errors and "choose different columns for text and label" in errors[0], errors
    assert app.button(key="nlp.sentiment-evaluate-run").disabled and not model.evaluated
    _picker(app, "nlp.sentiment-evaluate-target-").set_value("Rating").run()
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    _ok(app)
    assert model.evaluated[-1]["label"].to_list() == [5, 1, 4]


def test_one_column_for_text_and_label_starts_no_training(home, monkeypatch, started):
    app = _page(monkeypatch, FakeSentiment())
    _upload(app, "nlp.sentiment-train-upload", "export.csv", EXPORT, "text/csv")
    _picker(app, "nlp.sentiment-train-column-").set_value("Review Text")
    _picker(app, "nlp.sentiment-train-target-").set_value("Review Text").run()
    assert any("choose different columns for text and label" in e.value for e in app.error)
    assert app.button(key="nlp.sentiment-train-start").disabled and not started


def test_a_retrain_without_a_text_column_is_refused_on_the_spot(home, monkeypatch, started):
    """Left empty, 'Text column' means the reader finds none: the Retrain tab says so now, not a failed job later."""
    app = _page(monkeypatch, FakeSentiment())
    _upload(app, "nlp.sentiment-train-upload", "export.csv", EXPORT, "text/csv")
    assert _picker(app, "nlp.sentiment-train-column-").value is None
    assert app.button(key="nlp.sentiment-train-start").disabled  # said before any click
    assert not app.exception and not started and not app.success
    errors = [e.value for e in app.error]
    assert errors and "needs a text column" in errors[0] and "Choose it under 'Text column'" in errors[0], errors


# --- Another upload: fresh boxes, no card of the last one -----------------------------------------------------------


def test_a_new_upload_with_the_same_columns_gets_its_own_preselection(home, monkeypatch):
    """Two headerless TSVs (columns 0 and 1), the second label-first: its box preselects what the reader picks for it,
    not the first file's choice."""
    model = FakeSentiment()
    app = _page(monkeypatch, model)
    _upload(app, "nlp-sentiment-upload", "a.tsv", TABLES["headerless"][1])
    assert _picker(app, "nlp-sentiment-column-").value == "0"
    _upload(app, "nlp-sentiment-upload", "b.tsv", TABLES["headerless, label first"][1])
    assert _picker(app, "nlp-sentiment-column-").value == "1"
    app.button(key="nlp-sentiment-run").click().run()
    _ok(app)
    assert model.predicted[-1] == ["A truly fine film with a very good cast.", "Dull and far too long for what it is."]


def test_an_evaluation_card_goes_with_its_upload_and_columns(home, monkeypatch):
    model = FakeSentiment()
    app = _page(monkeypatch, model)
    _upload(app, "nlp.sentiment-evaluate-upload", "a.csv", b"text,label\nGreat,1\nBad,0\nFine,1\n", "text/csv")
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    assert [c.value for c in app.caption if "n = " in c.value] == ["nlp.sentiment · fake · n = 3"]
    app.run()  # another rerun (any click elsewhere): the card stays
    assert [c.value for c in app.caption if "n = " in c.value] == ["nlp.sentiment · fake · n = 3"]
    _upload(app, "nlp.sentiment-evaluate-upload", "b.csv", EXPORT, "text/csv")
    assert not [c.value for c in app.caption if "n = " in c.value]  # a.csv's card is not b.csv's
    _picker(app, "nlp.sentiment-evaluate-column-").set_value("Review Text")
    _picker(app, "nlp.sentiment-evaluate-target-").set_value("Rating").run()
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    assert [c.value for c in app.caption if "n = " in c.value] == ["nlp.sentiment · fake · n = 3"]
    _picker(app, "nlp.sentiment-evaluate-column-").set_value("Date").run()
    assert not [c.value for c in app.caption if "n = " in c.value]  # made with other columns


# --- Smaller -------------------------------------------------------------------------------------------------------


def test_a_text_column_of_numbers_is_preselected_and_read_as_written(home, monkeypatch):
    """The reader picks 'text' by its name and reads it as text, as written: "5" and "3.50" are the texts scored
    (they used to be refused as Int64, or read as the number 3.5)."""
    model = FakeSentiment()
    app = _page(monkeypatch, model)
    _upload(app, "nlp-sentiment-upload", "numbers.csv", b"text,label\n5,1\n3.50,0\n", "text/csv")
    assert _picker(app, "nlp-sentiment-column-").value == "text"
    app.button(key="nlp-sentiment-run").click().run()
    assert not app.error and not app.exception
    assert app.dataframe[0].value["text"].to_list() == ["5", "3.50"]


def test_translation_reads_a_workbook_as_its_package_does(home, monkeypatch, tmp_path):
    import polars as pl

    from nlp.translation import TABLE_INPUTS

    model = FakeTranslator()
    app = _page(monkeypatch, model, TRANSLATION)
    offered = app.get("file_uploader")[0].proto.type
    assert TABLE_INPUTS <= set(offered) and ".txt" in offered, offered  # .xlsx and .ods among them
    book = tmp_path / "phrases.xlsx"
    pl.DataFrame({"id": [1, 2], "source": ["Hello.", "Thank you."]}).write_excel(book)
    _upload(app, "translation-file", "phrases.xlsx", book.read_bytes())
    assert _picker(app, "translation-column-").value == "source"
    app.button(key="translation-run").click().run()
    _ok(app)
    assert model.translated[-1] == ["Hello.", "Thank you."]


@pytest.mark.parametrize("content, text, label", [(b"1\tGreat phone\n0\tAwful\n1\tLovely\n", "Great phone", "1"),
                                                  (b"Great phone\t1\nAwful\t0\nLovely\t1\n", "Great phone", "1")])
def test_a_headerless_file_s_first_row_chosen_as_column_names_is_said(home, monkeypatch, content, text, label):
    """A TSV without a header line: choosing its first row's values as columns evaluated n = 2 without a word; the page
    says the first row is read as column names and left out of the data."""
    model = FakeSentiment()
    app = _page(monkeypatch, model)
    _upload(app, "nlp.sentiment-evaluate-upload", "headerless.tsv", content)
    assert not [w for w in app.warning if "first row" in w.value]
    _picker(app, "nlp.sentiment-evaluate-column-").set_value(text).run()
    _picker(app, "nlp.sentiment-evaluate-target-").set_value(label).run()
    warnings = [w.value.replace("\\", "") for w in app.warning]
    assert any("The first row of headerless.tsv is read as its column names" in w and "add one (such as text,label)" in w
               for w in warnings), warnings
    app.button(key="nlp.sentiment-evaluate-run").click().run()
    assert not app.exception and any("first row" in w.value for w in app.warning)


def test_a_table_with_a_header_line_gets_no_first_row_warning(home, monkeypatch):
    app = _page(monkeypatch, FakeSentiment())
    _upload(app, "nlp.sentiment-evaluate-upload", "export.csv", EXPORT, "text/csv")
    _picker(app, "nlp.sentiment-evaluate-column-").set_value("Review Text").run()
    _picker(app, "nlp.sentiment-evaluate-target-").set_value("Rating").run()
    assert not [w for w in app.warning if "first row" in w.value]
