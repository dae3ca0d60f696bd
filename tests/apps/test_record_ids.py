"""Predict records carry their input's id first (`core.protocols.with_ids`: `index` in a list, `row` in a table, or the
table's `id`). A page's table shows each result beside its input already: no second row number or id column appears,
on screen or in the CSV download."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("streamlit")

from core.protocols import TaskModel, with_ids  # noqa: E402
from tests.apps.test_bad_uploads import _upload  # noqa: E402
from tests.apps.test_record_warnings import _page, downloads  # noqa: E402, F401 - a fixture
from tests.apps.test_translation_file_language import _ok  # noqa: E402

APPLICANTS = b"income,housing\n120,own\n80,rent\n95,own\n"


class FakeRisk:
    """A risk model scored through the generic `TaskModel.predict_frame`: records flattened beside each chunk, ids
    included."""

    card = {"task": "finance.risk", "family": "fake", "target": "default", "features": []}
    predict_frame = TaskModel.predict_frame

    def frame_inputs(self, batch, columns=None):
        return batch

    def predict(self, inputs, batch_size=None):
        return with_ids(inputs, [{"pd": 0.1, "score": 600, "risk_band": "B", "warnings": []}
                                 for _ in range(inputs.height)])

    def drift(self, frame):
        return {"psi_table": [], "psi_score": None}


def _scored(monkeypatch, downloads, content: bytes):
    import polars as pl

    app = _page(monkeypatch, FakeRisk(), "finance.py", {"risk-input": "Upload a table"}, "finance", "finance.risk")
    _upload(app, "risk-upload", "applicants.csv", content, "text/csv")
    _ok(app)
    return list(app.dataframe[0].value.columns), pl.read_csv(io.BytesIO(downloads["risk-download"]))


def test_scored_rows_get_no_second_row_number(home, monkeypatch, downloads):
    shown, downloaded = _scored(monkeypatch, downloads, APPLICANTS)
    assert shown == ["income", "housing", "pd", "score", "risk_band"], shown
    assert downloaded.columns == ["income", "housing", "pd", "score", "risk_band", "warnings"]
    assert downloaded["income"].to_list() == [120, 80, 95]


def test_the_table_s_own_id_and_row_columns_stay_and_are_not_repeated(home, monkeypatch, downloads):
    """The records' `id` repeats the table's `id` column (predict_frame names it pred_id): dropped; the table's own
    `row` column is data and stays."""
    content = b"id,row,income\na7,3,120\nb2,1,80\n"
    shown, downloaded = _scored(monkeypatch, downloads, content)
    assert shown == ["id", "row", "income", "pd", "score", "risk_band"], shown
    assert downloaded.columns == ["id", "row", "income", "pd", "score", "risk_band", "warnings"]
    assert downloaded["id"].to_list() == ["a7", "b2"] and downloaded["row"].to_list() == [3, 1]


def test_an_id_that_is_not_the_table_s_own_is_kept(home):
    """A `pred_id` the input has no copy of is a result, not a repeat."""
    import polars as pl

    from apps.common import without_record_ids

    scored = pl.DataFrame({"id": ["a7"], "pred_id": ["x"], "pred_index": [1], "pd": [0.1]})
    assert without_record_ids(scored, ["id"]).columns == ["id", "pred_id", "pd"]


class IndexedSentiment:
    card = {"task": "nlp.sentiment"}

    def predict(self, texts):
        return with_ids(list(texts), [{"label": "positive", "score": 0.9, "warnings": []} for _ in texts])

    def explain(self, text):
        return [{"index": 1, "label": "positive", "score": 0.9, "tokens": [{"token": "fine", "weight": 0.5}]}]


class IndexedQA:
    card = {"task": "nlp.qa"}
    kind = "extractive"

    def predict(self, items):
        return with_ids(list(items), [{"answer": "nine", "score": 0.8, "start": 0, "end": 4} for _ in items])


def test_text_tables_show_each_text_once_without_the_records_index(home, monkeypatch):
    """Sentiment's table (a blank line among the texts: the records' `index` counts only the scored ones) and QA's
    table show their inputs in order, with no `index` column."""
    app = _page(monkeypatch, IndexedSentiment(), "nlp.py", {}, "nlp", "nlp.sentiment", "nlp.qa")
    _upload(app, "nlp-sentiment-upload", "reviews.txt", b"Great film\n\nAwful plot\n", "text/plain")
    app.button(key="nlp-sentiment-run").click().run()
    _ok(app)
    table = app.dataframe[0].value
    assert list(table.columns) == ["text", "label", "score", "error"], list(table.columns)
    assert table["text"].tolist() == ["Great film", "", "Awful plot"]
    squad = (b'{"data": [{"paragraphs": [{"context": "Nine nations.", "qas": ['
             b'{"id": "q1", "question": "How many?", "answers": []}, {"id": "q2", "question": "What?", "answers": []}]}]}]}')
    app = _page(monkeypatch, IndexedQA(), "nlp.py", {"nlp-task": "Extractive QA"}, "nlp", "nlp.sentiment", "nlp.qa")
    _upload(app, "nlp-qa-upload", "squad.json", squad, "application/json")
    app.button(key="nlp-qa-run").click().run()
    _ok(app)
    assert list(app.dataframe[0].value.columns) == ["question", "answer", "score"]
