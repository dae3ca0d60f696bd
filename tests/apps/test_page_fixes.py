"""Page fixes after the dashboard test of the day's changes: error records in place on the QA and translation pages,
training warnings on the page, and CLI syntax in forecast messages put into the page's words."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.apps.test_bad_uploads import _preimport, _upload  # noqa: E402
from tests.apps.test_translation_file_language import _ok  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"
CONTEXT = "The Amazon rainforest covers much of the Amazon basin. The region includes nine nations."


# --- Extractive QA: an empty question is an error record in its place ------------------------------------------------


class FakeQA:
    """Answers every question with 'nine' (CONTEXT[76:80]); an empty question gets an error record in its place, as
    nlp.qa's predict gives it (errors_in_place)."""

    card = {"task": "nlp.qa"}
    kind = "trained"

    def predict(self, items, **options):
        return [{"index": i + 1, "error": f"QA input {i + 1} has an empty or missing 'question'"}
                if not item["question"].strip() else
                {"index": i + 1, "answer": "nine", "score": 0.9, "start": 76, "end": 80}
                for i, item in enumerate(items)]


def _ask(monkeypatch, questions: list[str]) -> AppTest:
    from apps import common

    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    monkeypatch.setattr(common, "load_model", lambda task, source: FakeQA())
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=120)
    app.session_state["nlp-task"] = "Extractive QA"
    app.run()
    table = "question,context\n" + "\n".join(f'"{q}","{CONTEXT}"' for q in questions)
    _upload(app, "nlp-qa-upload", "q.csv", table.encode(), "text/csv")
    app.button(key="nlp-qa-run").click().run()
    _ok(app)
    return app


@pytest.mark.parametrize("questions", [["", "How many nations?", "What covers the basin?"],
                                       ["How many nations?", "", "What covers the basin?"]], ids=["first", "middle"])
def test_a_qa_upload_with_an_empty_question_shows_it_in_place(home, monkeypatch, questions):
    """The page raised KeyError: 'answer' (first["answer"], r["answer"]) on the error record nlp.qa now gives."""
    app = _ask(monkeypatch, questions)
    assert any(m.value.startswith("**Answer:** nine") for m in app.markdown)  # the first answered item's
    assert [w.value for w in app.warning] == ["1 of 3 questions could not be answered (their 'error' column says why, "
                                              "e.g. an empty question); the others were."]
    table = app.dataframe[0].value
    empty = questions.index("")
    assert table["answer"].tolist()[empty] is None
    assert "empty or missing 'question'" in table["error"].tolist()[empty]
    assert [a for i, a in enumerate(table["answer"].tolist()) if i != empty] == ["nine", "nine"]
