"""The Translation section reads an uploaded `corp.es` as Spanish, as nlp.translation does (a file named name.<lang>):
the pair from that language is preselected once per upload, and the page says which language the name gave, or that
the model has no pair from it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.apps.test_bad_uploads import _preimport, _upload  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"


def _page(monkeypatch, model, state: dict) -> AppTest:
    """The NLP page run once with `model` standing in for every model it loads and `state` preset."""
    from apps import common

    _preimport("nlp", "nlp.translation")
    monkeypatch.setattr(common, "load_model", lambda task, source: model)
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=120)
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


def _ok(app) -> None:
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def translation_records(model, sentences, source_lang=None, target_lang=None) -> list[dict]:
    """A fake's `predict` (what the page calls): its `translate` as records, as nlp.translation's predict gives them."""
    return [{"index": index + 1, "source": sentence, "translation": translation, "source_lang": source_lang,
             "target_lang": target_lang}
            for index, (sentence, translation) in enumerate(zip(sentences, model.translate(sentences, source_lang,
                                                                                          target_lang)))]


class FakeTranslator:
    """Stands in for a translation model with the given pairs: records the pair each translation asks for."""

    predict = translation_records

    card = {"task": "nlp.translation"}
    source_lang, target_lang = "en", "es"

    def __init__(self, pairs):
        self.pairs, self.asked = pairs, []

    def language_pairs(self):
        return list(self.pairs)

    def frame_inputs(self, batch, columns=None):
        raise AssertionError("corp.es is read one sentence per line")

    def translate(self, sentences, source, target):
        self.asked.append((source, target))
        return [f"[{source}->{target}] {s}" for s in sentences]


TRANSLATION = {"nlp-task": "Translation", "translation-input-mode": "Upload a file"}
SPANISH = "Hola.\nBuenos días.\n".encode()


def _plain(markdown: str) -> str:
    """Markdown as it reads on screen: the page escapes the user's file name (`apps.common.escape_markdown`)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _texts(app) -> list[str]:
    return [_plain(str(e.value)) for kind in ("info", "warning", "text", "markdown") for e in getattr(app, kind)]


def test_an_uploaded_corp_es_is_translated_from_spanish_and_the_page_says_so(home, monkeypatch):
    model = FakeTranslator([("en", "es"), ("es", "en")])
    app = _page(monkeypatch, model, TRANSLATION)
    assert app.selectbox(key="translation-pair").value == ("en", "es")
    _upload(app, "translation-file", "corp.es", SPANISH, "text/plain")
    _ok(app)
    assert app.selectbox(key="translation-pair").value == ("es", "en")
    assert "Translating from Spanish (es): the language taken from the file name corp.es." in _texts(app)
    app.button(key="translation-run").click().run()
    _ok(app)
    assert model.asked == [("es", "en")]
    assert "[es->en] Hola." in [t.value for t in app.text]
    app.selectbox(key="translation-pair").set_value(("en", "es")).run()  # preselected once: the user's choice stays
    assert app.selectbox(key="translation-pair").value == ("en", "es")
    assert any("corp.es says its sentences are Spanish (es); they are translated from English (en)" in t
               for t in _texts(app)), _texts(app)


def test_a_language_the_model_cannot_translate_from_is_said(home, monkeypatch):
    model = FakeTranslator([("en", "es"), ("en", "ca")])
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "corp.fr", "Bonjour.\n".encode(), "text/plain")
    _ok(app)
    warnings = [_plain(w.value) for w in app.warning]
    assert any("corp.fr says its sentences are French (fr), but this model has no pair from French" in w
               for w in warnings), warnings
    assert app.selectbox(key="translation-pair").value == ("en", "es")  # nothing preselected


def test_a_file_without_a_language_in_its_name_changes_nothing(home, monkeypatch):
    model = FakeTranslator([("en", "es"), ("es", "en")])
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "corp.txt", b"Hello.\n", "text/plain")
    _ok(app)
    assert app.selectbox(key="translation-pair").value == ("en", "es") and not app.info


def test_a_multilingual_model_gets_the_file_language_as_its_source_code(home, monkeypatch):
    model = FakeTranslator([])
    model.multilingual_ = True
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "corp.es", SPANISH, "text/plain")
    _ok(app)
    assert app.text_input(key="translation-src-code").value == "es"
    assert any("the language taken from the file name corp.es" in text for text in _texts(app))
    app.text_input(key="translation-tgt-code").set_value("en").run()
    assert app.text_input(key="translation-src-code").value == "es"  # set once per upload, not on every rerun
    app.button(key="translation-run").click().run()
    assert model.asked == [("es", "en")]


def test_the_next_input_without_a_language_is_translated_in_the_model_pair(home, monkeypatch):
    """corp.es chose Spanish -> English; the next upload whose name gives no language, and typed text, are translated in
    the model's own pair again (English sentences were 'translated' from Spanish, with nothing said)."""
    model = FakeTranslator([("en", "es"), ("es", "en")])
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "corp.es", SPANISH, "text/plain")
    assert app.selectbox(key="translation-pair").value == ("es", "en")
    _upload(app, "translation-file", "notes.txt", b"The train leaves at eight.\n", "text/plain")
    _ok(app)
    assert app.selectbox(key="translation-pair").value == ("en", "es") and not app.info
    app.button(key="translation-run").click().run()
    assert model.asked == [("en", "es")]
    _upload(app, "translation-file", "corp2.es", SPANISH, "text/plain")
    assert app.selectbox(key="translation-pair").value == ("es", "en")
    app.radio(key="translation-input-mode").set_value("Type text").run()
    _ok(app)
    assert app.selectbox(key="translation-pair").value == ("en", "es")


def test_a_pair_the_user_chose_stays_for_the_next_input(home, monkeypatch):
    model = FakeTranslator([("en", "es"), ("es", "en"), ("en", "ca")])
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "corp.es", SPANISH, "text/plain")
    app.selectbox(key="translation-pair").set_value(("en", "ca")).run()
    _upload(app, "translation-file", "notes.txt", b"The train leaves at eight.\n", "text/plain")
    _ok(app)
    assert app.selectbox(key="translation-pair").value == ("en", "ca")


def test_a_multilingual_model_returns_to_its_source_code_for_a_file_without_a_language(home, monkeypatch):
    model = FakeTranslator([])
    model.multilingual_ = True
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "corp.es", SPANISH, "text/plain")
    assert app.text_input(key="translation-src-code").value == "es"
    _upload(app, "translation-file", "notes.txt", b"The train leaves at eight.\n", "text/plain")
    _ok(app)
    assert app.text_input(key="translation-src-code").value == "en"


@pytest.mark.skipif(shutil.which("apertium") is None, reason="Debian apertium not installed")
def test_the_apertium_default_translates_corp_es_from_spanish(home):
    from nlp import _apertium

    if not {("eng", "spa"), ("spa", "eng")} <= set(_apertium.installed_pairs()):
        pytest.skip("apertium-eng-spa not installed in both directions")
    _preimport("nlp", "nlp.translation")
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=120)
    for key, value in TRANSLATION.items():
        app.session_state[key] = value
    app.run()
    _upload(app, "translation-file", "corp.es", "Hola.\n".encode(), "text/plain")
    _ok(app)
    assert app.selectbox(key="translation-pair").value == ("es", "en")
    app.button(key="translation-run").click().run()
    _ok(app)
    texts = [t.value for t in app.text]
    assert "Hola." in texts and "Hello." in texts, texts


def test_the_uploader_takes_every_suffix_the_package_reads_as_a_language(home, monkeypatch):
    """corp.fi (any ISO 639-1 code), corp.pl and corp.spa are read by nlp.translation: the uploader offers them."""
    from nlp._translation_data import ISO_639_1
    from nlp.translation import _language_in_name

    app = _page(monkeypatch, FakeTranslator([("en", "es")]), TRANSLATION)
    offered = set(next(u for u in app.get("file_uploader") if u.proto.id.endswith("translation-file")).proto.type)
    read = {f".{code}" for code in ISO_639_1 if _language_in_name(Path(f"corp.{code}.txt")) is not None}
    assert read <= offered and {".fi", ".pl", ".cs", ".spa", ".txt", ".csv"} <= offered, read - offered
    assert ".sh" not in offered


def test_a_bare_corp_pl_is_read_and_translated_from_the_chosen_pair(home, monkeypatch):
    """corp.pl is Polish or Perl: the package refuses to guess and asks for --source; the page says to choose the
    language under 'Language pair' and translates from the pair chosen there."""
    model = FakeTranslator([("en", "es"), ("pl", "en")])
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "corp.pl", "Dzień dobry.\nDziękuję.\n".encode(), "text/plain")
    _ok(app)
    said = [text for text in _texts(app) if "corp.pl" in text]
    assert said and "choose Polish (pl) there" in said[0] and "under 'Language pair'" in said[0], said
    assert not [text for text in _texts(app) if "--source" in text or "Python:" in text]
    app.selectbox(key="translation-pair").set_value(("pl", "en")).run()
    app.button(key="translation-run").click().run()
    _ok(app)
    assert model.asked == [("pl", "en")]
    assert "[pl->en] Dzień dobry." in [t.value for t in app.text]


def test_a_file_over_the_page_limit_says_the_rest_is_left_out(home, monkeypatch):
    """Over MAX_SENTENCES: the page says it translates the first ones and the rest are not shown (no CLI command)."""
    from apps.nlp_translation import MAX_SENTENCES

    model = FakeTranslator([("en", "es")])
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "many.txt", b"".join(b"Sentence %d.\n" % i for i in range(MAX_SENTENCES + 1)))
    warnings = [_plain(w.value) for w in app.warning]
    assert any(f"translates the first {MAX_SENTENCES:,} of the {MAX_SENTENCES + 1:,} sentences" in w
               and "the download holds only the first" in w for w in warnings), warnings
    assert not [w for w in warnings if "verticals predict" in w or "--input" in w]


@pytest.mark.parametrize("name", ["corp.pl", "corp.pl.txt"])
def test_a_polish_file_for_a_model_without_polish_is_warned_of(home, monkeypatch, name):
    """corp.pl (Polish or Perl) got only an info naming Polish under 'Language pair', which had none; it is warned of as
    corp.pl.txt is."""
    model = FakeTranslator([("en", "es"), ("es", "en")])
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", name, "Dzień dobry\n".encode(), "text/plain")
    assert not app.exception
    warnings = [_plain(w.value) for w in app.warning]
    assert any(f"The file name {name} says its sentences are Polish (pl), but this model has no pair from Polish" in w
               for w in warnings), warnings
    assert not [i for i in app.info if "Language pair" in i.value]


def test_corp_pl_for_a_model_with_polish_keeps_its_hint(home, monkeypatch):
    model = FakeTranslator([("en", "es"), ("pl", "en")])
    app = _page(monkeypatch, model, TRANSLATION)
    _upload(app, "translation-file", "corp.pl", "Dzień dobry\n".encode(), "text/plain")
    assert not app.exception and not app.warning
    assert any("choose Polish (pl) there" in _plain(i.value) for i in app.info), [i.value for i in app.info]


def test_a_code_without_a_name_reads_as_itself_and_select_box_options_are_not_escaped(home, monkeypatch):
    """'fi (fi)' for a code the package has no name for, and 'pt\\-BR' in the 'Language pair' options (plain text, not
    Markdown): the code alone, as typed; Markdown still escapes it."""
    model = FakeTranslator([("en", "pt-BR"), ("pt-BR", "en"), ("fi", "en")])
    model.target_lang = "pt-BR"
    app = _page(monkeypatch, model, TRANSLATION)
    assert app.selectbox(key="translation-pair").options == ["English (en) → pt-BR", "pt-BR → English (en)",
                                                              "fi → English (en)"]
    _upload(app, "translation-file", "corp.fi", b"Hyvaa huomenta.\n", "text/plain")
    _ok(app)
    assert app.selectbox(key="translation-pair").value == ("fi", "en")
    assert "Translating from fi: the language taken from the file name corp.fi." in _texts(app)
    app.button(key="translation-run").click().run()
    _ok(app)
    assert "**fi**" in [m.value for m in app.markdown]
