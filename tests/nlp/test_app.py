"""The NLP page runs with tiny models placed where the embedded defaults are cached (no MiniLM build)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("streamlit")

PAGE = str(Path(__file__).resolve().parents[2] / "apps" / "nlp.py")


@pytest.fixture()
def tiny_defaults(tmp_path, monkeypatch):
    from core.artifacts import cache_dir
    from nlp import _sentiment_default, qa, sentiment
    from tests.nlp.tiny import tiny_encoder_dir

    monkeypatch.setattr(_sentiment_default, "SHIPPED", tmp_path / "no-shipped-default")  # the cached tiny one instead
    monkeypatch.setattr(sentiment, "DEFAULT_NAME", f"test-{tmp_path.name}-sentiment")
    monkeypatch.setattr(qa, "DEFAULT_NAME", f"test-{tmp_path.name}-qa")
    encoder = tiny_encoder_dir(tmp_path / "enc")
    sentiment.SentimentModel.from_encoder(encoder, device="cpu", name="tiny").save(cache_dir(sentiment.DEFAULT_NAME))
    qa.QAModel.from_encoder(encoder, device="cpu", name="tiny").save(cache_dir(qa.DEFAULT_NAME))


def test_nlp_page_sentiment_and_qa(tiny_defaults):
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(PAGE, default_timeout=120)
    app.run()
    assert not app.exception
    next(b for b in app.button if b.key == "nlp-sentiment-run").click().run()
    assert not app.exception and not app.error
    assert app.dataframe
    app.radio(key="nlp-task").set_value("Extractive QA").run()
    assert not app.exception
    next(b for b in app.button if b.key == "nlp-qa-run").click().run()
    assert not app.exception and not app.error
    assert any("Answer" in m.value for m in app.markdown)
    assert not any("(no answer)" in m.value for m in app.markdown)  # abstention is off unless asked for
    app.checkbox(key="nlp-qa-abstain").check().run()
    app.slider(key="nlp-qa-threshold").set_value(1.0).run()
    next(b for b in app.button if b.key == "nlp-qa-run").click().run()
    assert not app.exception and any("**Answer:** (no answer)" in m.value for m in app.markdown)
    app.radio(key="nlp-task").set_value("Translation").run()
    assert not app.exception


def test_the_loading_bar_is_gone_after_the_load_and_on_every_rerun(tiny_defaults, monkeypatch):
    """The bar is drawn inside Streamlit's cached loader, whose calls are replayed on each cache hit: a load that
    reported progress must not leave a bar stuck on the page when Analyse reruns it."""
    from streamlit.testing.v1 import AppTest

    from core.progress import report
    from nlp.sentiment import SentimentModel

    load_default = SentimentModel.load_default.__func__

    def reporting_load(cls, device="auto", **options):
        report(0.7, "applying the tuned weights")  # as the shipped default's loader does
        return load_default(cls, device, **options)

    monkeypatch.setattr(SentimentModel, "load_default", classmethod(reporting_load))
    app = AppTest.from_file(PAGE, default_timeout=120)
    app.run()
    assert not app.exception and not app.get("progress")
    next(b for b in app.button if b.key == "nlp-sentiment-run").click().run()
    assert not app.exception and app.dataframe
    assert not app.get("progress")  # the replayed load empties its bar again
