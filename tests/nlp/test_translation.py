"""nlp.translation: data readers, from-scratch Marian (fit/save/load), language pairs, and Apertium when installed."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from core.errors import InputError, MissingDependencyError, ModelNotFoundError
from nlp import _apertium
from nlp.translation import Translator
from tests.nlp.contract_cases_translation import PAIRS, TINY, corpus, tiny_translator
from core.artifacts import write_card

HAS_APERTIUM = shutil.which("apertium") is not None and ("eng", "spa") in _apertium.installed_pairs()
needs_apertium = pytest.mark.skipif(not HAS_APERTIUM, reason="Debian apertium + apertium-eng-spa not installed")
SHARED = Path(os.environ.get("VERTICALS_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data")) / "nlp.translation"


@pytest.fixture(scope="module")
def tiny():
    return tiny_translator()


def _cap_warning(which: str = "the translation", cap: int = 24) -> str:
    """predict's warning for a translation that ran to the generation cap: the one-step tiny model never ends one
    before it (Marian forces its end-of-sequence token there), so its records carry it."""
    return (f"{which} stopped at the max_length cap of {cap} tokens and may be incomplete; split the line into shorter "
            "sentences, or retrain the model with --set max_length=N for a larger cap (Translator.Config(max_length=N) "
            "in Python)")


def _write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- data -------------------------------------------------------------------------------------------------
def test_line_aligned_twin_found_from_either_side(tmp_path):
    _write(tmp_path, "c.en", ["Hi.", "Bye."])
    _write(tmp_path, "c.es", ["Hola.", "Adiós."])
    _write(tmp_path, "c.images.txt", ["1.jpg", "2.jpg"])  # not a language twin
    from_source = Translator.read_data(tmp_path / "c.en")
    from_target = Translator.read_data(tmp_path / "c.es", source="en", target="es")
    assert from_source.rows() == from_target.rows() == [("Hi.", "Hola.", "en", "es"), ("Bye.", "Adiós.", "en", "es")]
    assert Translator.read_data(tmp_path / "c.es", source="en")["source"].to_list() == ["Hi.", "Bye."]


def test_several_twins_give_one_block_per_pair(tmp_path):
    _write(tmp_path, "m.en", ["A man.", "A dog."])
    _write(tmp_path, "m.de", ["Ein Mann.", "Ein Hund."])
    _write(tmp_path, "m.fr", ["Un homme.", "Un chien."])
    frame = Translator.read_data(tmp_path / "m.en")
    assert frame.height == 4
    assert sorted(set(frame.select("source_lang", "target_lang").rows())) == [("en", "de"), ("en", "fr")]
    assert Translator.read_data(tmp_path / "m.en", target="fr")["target"].to_list() == ["Un homme.", "Un chien."]


def test_misaligned_or_missing_twins_are_input_errors(tmp_path):
    _write(tmp_path, "a.en", ["One.", "Two."])
    with pytest.raises(InputError, match="twin"):
        Translator.read_data(tmp_path / "a.en")
    _write(tmp_path, "a.es", ["Uno."])
    with pytest.raises(InputError, match="lines"):
        Translator.read_data(tmp_path / "a.en")
    _write(tmp_path, "a.es", ["", "Dos."])
    with pytest.raises(InputError, match="empty"):
        Translator.read_data(tmp_path / "a.en")
    with pytest.raises(InputError):
        Translator.read_data(tmp_path / "a.en", target="de")


def test_twin_files_are_named_by_the_rule_predict_reads_a_name_by(tmp_path):
    """Training data used its own rule: `corp.en.txt` + `corp.es.txt` were no twins, `corp.dat` was a language "dat",
    `corp.pl` (Polish or Perl) was Polish without a word, and a `corp.es.gz` twin was "no twin" (or, given, "not a
    table")."""
    pairs = [("Hi.", "Hola.", "en", "es"), ("Bye.", "Adiós.", "en", "es")]
    text = tmp_path / "text"
    text.mkdir()
    _write(text, "corp.en.txt", ["Hi.", "Bye."])
    _write(text, "corp.es.txt", ["Hola.", "Adiós."])
    _write(text, "corp.txt", ["not a side"])  # no language in its name
    assert Translator.read_data(text / "corp.en.txt").rows() == pairs
    assert Translator.read_data(text / "corp.es.txt", source="en").rows() == pairs
    assert Translator.read_data(text, source="en").rows() == pairs  # a folder holding the set
    assert Translator.check_data(text / "corp.en.txt")["pairs"] == [{"source_lang": "en", "target_lang": "es", "n": 2}]
    _write(text, "corp.spa", ["Hola.", "Adiós."])  # ISO 639-3, the same language again
    with pytest.raises(InputError, match=r"corp\.es\.txt and corp\.spa are both the es side of corp; keep one"):
        Translator.read_data(text / "corp.en.txt")

    plain = tmp_path / "plain"
    plain.mkdir()
    _write(plain, "c.en", ["Hi.", "Bye."])
    _write(plain, "c.es", ["Hola.", "Adiós."])
    for name in ("c.dat", "c.fin", "c.log"):  # file types, not languages (three letters count only as known codes)
        _write(plain, name, ["x", "y"])
    assert Translator.read_data(plain / "c.en").rows() == pairs
    _write(plain, "c.pl", ["Cześć.", "Pa."])  # Polish, or a Perl script: the options say which
    with pytest.raises(InputError, match=r"c\.pl: \.pl is the code of Polish.*Perl.*--target pl.*c\.pl\.txt"):
        Translator.read_data(plain / "c.en")
    assert Translator.read_data(plain / "c.en", target="es").rows() == pairs  # c.pl is not wanted
    assert Translator.read_data(plain / "c.en", target="pl")["target"].to_list() == ["Cześć.", "Pa."]
    europarl = tmp_path / "europarl"
    europarl.mkdir()
    _write(europarl, "europarl-v7.pl-en.pl", ["Cześć."])
    _write(europarl, "europarl-v7.pl-en.en", ["Hi."])
    assert Translator.read_data(europarl / "europarl-v7.pl-en.en").rows() == [("Hi.", "Cześć.", "en", "pl")]

    packed = tmp_path / "packed"
    packed.mkdir()
    _write(packed, "c.en", ["Hi."])
    (packed / "c.es.gz").write_bytes(__import__("gzip").compress("Hola.\n".encode()))
    hint = r"c\.es\.gz is compressed.*gunzip -k c\.es\.gz.*pass c\.es, which is read as Spanish"
    for read in (lambda: Translator.read_data(packed / "c.en"), lambda: Translator.read_data(packed / "c.es.gz"),
                 lambda: Translator.read_data(packed / "c.en", source="en", target="es"), lambda: Translator.read_data(packed)):
        with pytest.raises(InputError, match=hint):
            read()
    (packed / "c.en").unlink()
    (packed / "c.en.gz").write_bytes(__import__("gzip").compress(b"Hi.\n"))
    with pytest.raises(InputError, match=r"is compressed.*gunzip -k c\.e[ns]\.gz"):
        Translator.read_data(packed)  # a folder of compressed twins


def test_unicode_line_separator_does_not_break_alignment(tmp_path):
    _write(tmp_path, "u.en", ["a\u2028b", "c"])
    _write(tmp_path, "u.es", ["x", "y"])
    assert Translator.read_data(tmp_path / "u.en").height == 2


def test_tables_with_source_target_or_language_columns(tmp_path):
    (tmp_path / "p.tsv").write_text("source\ttarget\nHi.\tHola.\n", encoding="utf-8")
    assert Translator.read_data(tmp_path / "p.tsv").rows() == [("Hi.", "Hola.", None, None)]
    assert Translator.read_data(tmp_path / "p.tsv", source="en", target="es").row(0)[2:] == ("en", "es")
    (tmp_path / "l.tsv").write_text("en\tes\nHi.\tHola.\n", encoding="utf-8")
    assert Translator.read_data(tmp_path / "l.tsv", source="en", target="es").rows() == [("Hi.", "Hola.", "en", "es")]
    (tmp_path / "j.jsonl").write_text(json.dumps({"source": "Hi.", "target": "Hola."}) + "\n", encoding="utf-8")
    assert Translator.read_data(tmp_path / "j.jsonl").height == 1
    (tmp_path / "bad.csv").write_text("text,label\na,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="source and target"):
        Translator.read_data(tmp_path / "bad.csv")


def test_read_inputs_and_check_data(tmp_path):
    path = _write(tmp_path, "in.en", ["First.", "", "Second."])
    inputs = Translator.read_inputs(path)  # one input per line: the blank one becomes an error record, not a gap
    assert inputs == ["First.", "", "Second."] and inputs.errors == {1: "empty line"}
    _write(tmp_path, "in.es", ["Primero.", "", "Segundo."])
    report = Translator.check_data(path)
    assert report["ok"] and report["n"] == 2 and report["pairs"] == [{"source_lang": "en", "target_lang": "es", "n": 2}]


def test_inputs_with_languages_keep_their_ids_and_blank_error_records(tmp_path):
    """--source/--target wrap each sentence in a dict: the line / row / id column and the blank's error record stay
    (a blank line used to reach the translator and fail the whole call; a blank table cell was dropped)."""
    from core.protocols import predict_records

    class Echo:
        def predict(self, items, batch_size=None):
            texts = [item["source"] if isinstance(item, dict) else item for item in items]
            assert all(texts)  # no blank ever reaches the translator
            return [{"translation": text.upper()} for text in texts]

    lines = Translator.read_inputs(_write(tmp_path, "in.txt", ["First.", "", "Second."]), source="en", target="Spanish")
    assert lines[0] == {"source": "First.", "source_lang": "en", "target_lang": "es"}
    assert list(predict_records(Echo(), lines)) == [
        {"line": 1, "translation": "FIRST."}, {"line": 2, "error": "empty line"}, {"line": 3, "translation": "SECOND."}]
    (tmp_path / "in.csv").write_text("id,source\na7,Hello.\nb2,\nc9,Bye.\n", encoding="utf-8")
    for options in ({}, {"source": "en", "target": "es"}):
        records = list(predict_records(Echo(), Translator.read_inputs(tmp_path / "in.csv", **options)))
        assert records == [{"id": "a7", "translation": "HELLO."}, {"id": "b2", "error": "empty source"},
                           {"id": "c9", "translation": "BYE."}]



def test_the_command_line_keeps_its_ids_when_predict_numbers_its_records(tmp_path, tiny):
    """predict's own `index` (a batch's positions) never reaches the CLI's records: the line or id column wins."""
    import polars as pl

    from core.protocols import predict_records

    (tmp_path / "in.csv").write_text("id,source\na7,I like cats.\nb2,\n", encoding="utf-8")
    records = list(predict_records(tiny, Translator.read_inputs(tmp_path / "in.csv")))
    assert [list(r)[0] for r in records] == ["id", "id"] and all("index" not in r for r in records)
    assert records[0] == {"id": "a7", **{k: v for k, v in tiny.predict(["I like cats."])[0].items() if k != "index"}}
    lines = list(predict_records(tiny, Translator.read_inputs(_write(tmp_path, "in.txt", ["", "I like cats."]))))
    assert [list(r)[0] for r in lines] == ["line", "line"] and "index" not in lines[1]
    scored = tiny.predict_frame(pl.DataFrame({"source": ["I like cats."]}))
    assert scored.columns == ["source", "translation", "source_lang", "target_lang", "warnings"]  # its row is its id


def test_predict_given_read_inputs_with_blank_lines_gives_their_error_records(tmp_path, tiny):
    """`tiny.predict(Translator.read_inputs(path))` raised "input 1 is empty" for a blank line 2; the CLI gave it an
    error record in its place, and so does predict now."""
    alone = {k: v for k, v in tiny.predict(["I like cats."])[0].items() if k != "index"}
    for options in ({}, {"source": "en", "target": "es"}):
        records = tiny.predict(Translator.read_inputs(_write(tmp_path, "notes.txt", ["I like cats.", "", "I like cats."]),
                                                      **options))
        assert records == [{"line": 1, **alone}, {"line": 2, "error": "empty line"}, {"line": 3, **alone}]
    (tmp_path / "in.csv").write_text("id,source\na7,I like cats.\nb2,\n", encoding="utf-8")
    assert tiny.predict(Translator.read_inputs(tmp_path / "in.csv")) == [{"id": "a7", **alone},
                                                                         {"id": "b2", "error": "empty source"}]


def test_predict_frame_leaves_out_the_source_echo_and_gives_an_empty_cell_an_error_beside_its_row(tiny):
    """predict_frame added `pred_source`, a copy of the input column; an empty cell stopped the whole table: it is an
    error value beside its row (as medical's empty path cell is), and the other rows are translated."""
    from nlp._apertium import MAX_CHARACTERS

    scored = tiny.predict_frame(pl.DataFrame({"text": ["I like cats.", "I like dogs."]}).lazy(), rows_per_chunk=1)
    assert scored.columns == ["text", "translation", "source_lang", "target_lang", "warnings"]  # the tiny model's cap
    translations = [r["translation"] for r in tiny.predict(["I like cats.", "I like dogs."])]
    assert scored["translation"].to_list() == translations
    table = pl.DataFrame({"source": ["I like cats.", None, "I like dogs.", " ", "x" * (MAX_CHARACTERS + 1)]})
    for chunk in (4096, 2):
        scored = tiny.predict_frame(table, rows_per_chunk=chunk)
        assert scored.columns == ["source", "translation", "source_lang", "target_lang", "warnings", "error"]  # no id/row
        assert scored["translation"].to_list() == [translations[0], None, translations[1], None, None]
        errors = scored["error"].to_list()
        assert errors[:4] == [None, "the 'source' cell is empty", None, "the 'source' cell is empty"]
        assert errors[4].startswith(f"the 'source' cell has {MAX_CHARACTERS + 1:,} characters, over the")
    assert tiny.predict_frame(pl.DataFrame({"source": [None]}))["error"].to_list() == ["the 'source' cell is empty"]
    import pandas as pd

    assert tiny.predict_frame(pd.DataFrame({"source": ["I like cats."]})).columns == ["source", "translation",
                                                                                      "source_lang", "target_lang",
                                                                                      "warnings"]



def test_large_text_file_streams_in_batches_with_languages_and_line_numbers(tmp_path, monkeypatch):
    from core.data import tables

    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)  # read line by line, as a file over 64 MB is
    path = _write(tmp_path, "in.en", ["First.", "", "Second.", "Third."])
    batches = list(Translator.read_input_batches(path, rows=3, source="en", target="es"))
    assert [b.ids for b in batches] == [[{"line": 1}, {"line": 2}, {"line": 3}], [{"line": 4}]]
    assert batches[0].errors == {1: "empty line"} and batches[1][0] == {"source": "Third.", "source_lang": "en", "target_lang": "es"}
    assert [list(b) for b in Translator.read_input_batches(path, rows=3)] == [["First.", "", "Second."], ["Third."]]
    (tmp_path / "rows.csv").write_text("text\nHello.\n\nBye.\n", encoding="utf-8")
    assert Translator.read_inputs(tmp_path / "rows.csv").ids == [{"row": 1}, {"row": 2}, {"row": 3}]


def test_an_over_long_or_invisible_line_is_an_error_record_naming_it_and_the_rest_translate(tmp_path, monkeypatch):
    """One 200 KB line used to stop the whole file ("a text has 199,999 characters ...", naming no line); a line of
    a zero-width space alone reached the translator as if it were text."""
    from core.data import tables
    from core.protocols import predict_records
    from nlp.translation import MAX_CHARACTERS

    class Echo:
        def predict(self, items, batch_size=None):
            assert all(len(item) <= MAX_CHARACTERS and item.strip("\u200b") for item in items)
            return [{"translation": item.upper()} for item in items]

    long = "a" * (MAX_CHARACTERS + 1)
    path = _write(tmp_path, "in.txt", ["First.", long, "\u200b", "Second."])
    records = list(predict_records(Echo(), Translator.read_inputs(path)))
    assert records[0] == {"line": 1, "translation": "FIRST."} and records[3] == {"line": 4, "translation": "SECOND."}
    assert records[1]["line"] == 2 and records[1]["error"].startswith(f"line 2 has {MAX_CHARACTERS + 1:,} characters, over the")
    assert records[2] == {"line": 3, "error": "empty line"}
    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)  # streamed line by line, as a file over 64 MB is
    batches = list(Translator.read_input_batches(path, rows=2, source="en", target="es"))
    assert set(batches[0].errors) == {1} and "line 2 has" in batches[0].errors[1] and batches[1].errors == {0: "empty line"}
    (tmp_path / "in.csv").write_text(f"id,source\na7,Hello.\nb2,{long}\nc9,\u200b\n", encoding="utf-8")
    table = Translator.read_inputs(tmp_path / "in.csv")
    assert table.errors == {1: table.errors[1], 2: "empty source"} and table.errors[1].startswith("id b2 has")
    with pytest.raises(InputError, match=r"input 1 has 20,001 characters"):  # the API names the input too, from 1
        Translator("en", "es").predict([long])
    with pytest.raises(InputError, match="input 1 is empty"):
        Translator("en", "es").predict(["\u200b\ufeff"])
    with pytest.raises(InputError, match="input 1 is empty"):  # only a list where every input is refused raises
        Translator("en", "es").predict([" ", " "])


def test_a_file_named_for_its_language_is_read_in_that_language(tmp_path, tiny, monkeypatch):
    """`corp.es` with no --source used to be translated as English (the model's own source language)."""
    import copy

    from core.data import tables

    path = _write(tmp_path, "corp.es", ["Hola.", "", "Adiós."])
    items = Translator.read_inputs(path)
    assert items == ["Hola.", "", "Adiós."] and items.errors == {1: "empty line"}  # still text to whoever shows it
    assert [item.source_lang for item in items] == ["es"] * 3
    assert copy.deepcopy(items[0]).source_lang == "es"  # through __reduce_ex__, as dask pickles them to its workers
    assert [item.source_lang for batch in Translator.read_input_batches(path, rows=2) for item in batch] == ["es"] * 3
    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)  # streamed line by line, as a file over 64 MB is
    assert [item.source_lang for batch in Translator.read_input_batches(path, rows=2) for item in batch] == ["es"] * 3
    # --source wins over the name; --target alone keeps the name's language
    chosen = Translator.read_inputs(path, source="en")[0]
    assert chosen == {"source": "Hola.", "source_lang": "en", "target_lang": None}
    assert getattr(chosen["source"], "source_lang", None) is None
    assert Translator.read_inputs(path, target="en")[0]["source"].source_lang == "es"
    assert Translator.read_inputs(_write(tmp_path, "corp.spa", ["Hola."]))[0].source_lang == "es"  # ISO 639-3 too
    for name in ("corp.txt", "corp.dat", "corp.xyz", "corp"):  # no language this module knows: nothing changes
        assert type(Translator.read_inputs(_write(tmp_path, name, ["Hola."]))[0]) is str
    # predict (the tiny en->es network): the name's language is the source; an explicit one wins
    english = tiny.predict(Translator.read_inputs(_write(tmp_path, "c.en", ["I like cats."])))
    assert english == [{"line": 1, **{k: v for k, v in tiny.predict(["I like cats."])[0].items() if k != "index"}}]
    assert english[0]["source_lang"] == "en"
    german = Translator.read_inputs(_write(tmp_path, "c.de", ["Ich mag Katzen."]))
    with pytest.raises(InputError, match=r"en->es only, not de->es.*language de is the one its file's name gives.*--source"):
        tiny.predict(german)
    assert tiny.predict(german, source_lang="en")[0]["source_lang"] == "en"
    assert tiny.predict([{"source": german[0], "source_lang": "en"}])[0]["source_lang"] == "en"



def test_a_language_suffix_before_txt_or_outside_the_known_list_or_shared_with_a_program(tmp_path, tiny):
    """`notes.es.txt` was read as English; `corp.fi` (a real ISO 639-1 code no pair here has) was silently English too;
    `script.pl` / `Program.cs` (Perl, C#) were taken for Polish and Czech."""
    def language(name: str) -> str | None:
        return getattr(Translator.read_inputs(_write(tmp_path, name, ["Hola."]))[0], "source_lang", None)

    assert language("notes.es.txt") == "es" and language("notes.spa.txt") == "es"
    assert [item.source_lang for batch in Translator.read_input_batches(tmp_path / "notes.es.txt", rows=1)
            for item in batch] == ["es"]
    for name in ("notes.v2.txt", "notes.old.txt", "notes.txt", "notes.final.txt", "corp.fin"):  # no language code
        assert language(name) is None
    assert language("corp.fi") == "fi"  # not English: predict says no pair reads it, and how to choose
    with pytest.raises(InputError, match=r"not fi->es.*language fi is the one its file's name gives.*--source"):
        tiny.predict(Translator.read_inputs(tmp_path / "corp.fi"))
    # a code that is also a program's suffix: a language only where the name shows a corpus
    assert language("corp.pl.txt") == "pl" and language("europarl-v7.pl-en.pl") == "pl" and language("c.en-cs.cs") == "cs"
    for name, program in (("script.pl", "Perl"), ("Program.cs", "C#")):
        _write(tmp_path, name, ["print 1;"])
        with pytest.raises(InputError, match=rf"{program}.*does not say.*--source {name[-2:]}.*{name}\.txt.*--source en"):
            Translator.read_inputs(tmp_path / name)
        with pytest.raises(InputError, match=program):
            next(iter(Translator.read_input_batches(tmp_path / name)))
        assert Translator.read_inputs(tmp_path / name, source="en")[0]["source_lang"] == "en"  # --source decides
    # a compressed corpus was read as bytes ("not UTF-8"): refused, saying how to decompress and what its name gives
    (tmp_path / "corp.es.gz").write_bytes(__import__("gzip").compress(b"Hola.\n"))
    for read in (Translator.read_inputs, lambda path: list(Translator.read_input_batches(path))):
        with pytest.raises(InputError, match=r"compressed.*gunzip -k corp\.es\.gz.*corp\.es, which is read as Spanish"):
            read(tmp_path / "corp.es.gz")

# -- the from-scratch Marian --------------------------------------------------------------------------------
def test_saved_model_is_a_plain_transformers_folder(tiny, tmp_path):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    saved = tiny.save(tmp_path / "marian")
    card = json.loads((saved / "card.json").read_text())
    assert card["backend"] == "seq2seq" and card["source_lang"] == "en" and card["target_lang"] == "es"
    assert card["training"]["data_hash"] and card["config"]["d_model"] == 32
    assert (saved / "model.safetensors").is_file()
    network = AutoModelForSeq2SeqLM.from_pretrained(saved)
    tokenizer = AutoTokenizer.from_pretrained(saved)
    assert network.config.model_type == "marian" and network.config.d_model == 32
    assert tokenizer("Hello.")["input_ids"][-1] == tokenizer.eos_token_id
    reloaded = Translator.load(saved)
    assert reloaded.predict(["I like cats."]) == tiny.predict(["I like cats."])
    assert reloaded.language_pairs() == [("en", "es")]


def test_records_and_bad_inputs(tiny):
    records = tiny.predict(["I like cats.", {"source": "The dog runs."}, {"id": "k9", "source": "I like dogs."}])
    keys = {"source", "translation", "source_lang", "target_lang", "warnings"}
    assert [set(r) for r in records] == [{"index", *keys}] * 2 + [{"id", *keys}]
    assert [r["warnings"] for r in records] == [[_cap_warning()]] * 3
    assert [list(r)[0] for r in records] == ["index", "index", "id"]  # its input's id first (DESIGN.md)
    assert (records[0]["index"], records[1]["index"], records[2]["id"]) == (1, 2, "k9")
    assert records[1]["source"] == "The dog runs."
    assert tiny.predict("Hello.")[0]["index"] == 1 and tiny.predict([]) == []
    for bad in ([""], [None], [3], 5):
        with pytest.raises(InputError):
            tiny.predict(bad)


def test_fixed_pair_refuses_other_pairs(tiny):
    with pytest.raises(InputError, match="en->es only"):
        tiny.translate(["Hallo."], source_lang="de", target_lang="en")
    other = corpus().with_columns(pl.lit("de").alias("target_lang"))
    with pytest.raises(InputError, match="en->es"):
        tiny.evaluate(other)


def test_evaluate_card_has_bleu_and_chrf(tiny):
    card = tiny.evaluate(list(PAIRS))
    assert card["n"] == len(PAIRS) and {"bleu", "chrf"} <= set(card["metrics"])
    assert 0 <= card["metrics"]["chrf"]["value"] <= 100
    bars = card["plots"]["chrF per sentence"]
    assert len(bars["labels"]) == len(PAIRS) and bars["values"] == sorted(bars["values"])
    assert len(card["worst_sentences"]) == min(10, len(PAIRS))


def test_fit_needs_one_pair_and_resumes(tmp_path):
    mixed = pl.concat([corpus(), corpus().with_columns(pl.lit("fr").alias("target_lang"))])
    with pytest.raises(InputError, match="several pairs"):
        Translator.for_training(device="cpu").fit(mixed, TINY)
    first = Translator.for_training(device="cpu").fit(corpus(), TINY, run_dir=tmp_path / "run")
    assert (tmp_path / "run" / "tokenizer.json").is_file() and (tmp_path / "run" / "metrics.jsonl").is_file()
    resumed = Translator.for_training(device="cpu").fit(corpus(), TINY, run_dir=tmp_path / "run", resume=True)
    assert resumed.predict(["I like cats."]) == first.predict(["I like cats."])


def test_missing_hub_model_is_a_clear_error():
    with pytest.raises(ModelNotFoundError, match="hub id"):
        Translator.load("no-such-org/no-such-translation-model")


# -- Apertium -------------------------------------------------------------------------------------------------
def test_missing_apertium_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(_apertium.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError, match="apertium-eng-spa"):
        Translator.load()
    assert Translator.language_pairs() == []


def test_a_missing_apertium_pair_names_its_debian_package_by_iso_639_3_codes(monkeypatch):
    """fi (outside the old 24-language table) asked for apertium-fi-spa, an ISO 639-1 name no Debian package has;
    bh (Bihari, a group of languages with no ISO 639-3 code) got apertium-bh-spa: now no name is made up."""
    from nlp import _translation_data, translation
    from nlp._translation_data import ISO3, ISO_639_1, apertium_install_hint

    pairs = [("eng", "spa"), ("spa", "eng")]
    for module in (_apertium, translation, _translation_data):
        monkeypatch.setattr(module, "installed_pairs", lambda: pairs)
    for module in (_apertium, translation):
        monkeypatch.setattr(module, "require_apertium", lambda: "apertium")
    with pytest.raises(InputError, match=r"no fin->spa pair installed.*Install the Debian package apertium-fin-spa or "
                                         r"apertium-spa-fin if it exists"):
        Translator.load(source_lang="fi", target_lang="es")
    model = Translator.load(device="cpu")  # en->es
    with pytest.raises(InputError, match=r"no fi->es pair.*install the Debian package apertium-fin-spa or apertium-spa-fin"):
        model.predict(["Hei."], source_lang="fi")
    for load in (lambda: Translator.load(source_lang="bh", target_lang="es"),
                 lambda: model.predict(["x"], source_lang="bh")):
        with pytest.raises(InputError, match=r"[Nn]o Apertium package is known for bh \(apt-cache search apertium") as raised:
            load()
        assert "apertium-bh" not in str(raised.value) and "apertium-spa-bh" not in str(raised.value)
    assert apertium_install_hint("hr", "en").startswith("install the Debian package apertium-hbs-eng ")  # Apertium's
    assert apertium_install_hint("no", "nb").startswith("install the Debian package apertium-nor-nob ")
    assert set(ISO3) == ISO_639_1 - {"bh"} | {"sh"} and all(len(code) == 3 for code in ISO3.values())
    assert len(set(ISO3.values())) == len(ISO3)  # one code each way: to_iso1 reads them back
    assert [_translation_data.to_iso1(code) for code in ("fin", "deu", "zho")] == ["fi", "de", "zh"]


@needs_apertium
def test_fitting_the_default_on_a_table_without_languages_keeps_its_pair():
    model = Translator.load(device="cpu")  # Apertium en->es
    model.fit(corpus().drop("source_lang", "target_lang"), TINY)  # used to become und->und, refusing en->es after
    assert (model.source_lang, model.target_lang) == ("en", "es")
    assert model.predict(["I like cats."], source_lang="en", target_lang="es")[0]["target_lang"] == "es"


@needs_apertium
def test_apertium_translates_and_keeps_final_period():
    model = Translator.load()
    records = model.predict(["Hello.", "How are you?"])
    assert records[0]["translation"] == "Hola." and records[0]["target_lang"] == "es"
    assert records[1]["translation"].startswith("¿") and records[1]["translation"].endswith("?")
    assert "*" not in model.predict(["The blorfification works."])[0]["translation"]  # -u: no unknown-word marks
    assert ("en", "es") in Translator.language_pairs() and model.card["backend"] == "apertium"


@needs_apertium
def test_apertium_evaluate_names_the_mode_that_translated(tmp_path):
    (tmp_path / "es_en.tsv").write_text("source\ttarget\nHola.\tHello.\nEl gato.\tThe cat.\n")
    model = Translator.load()  # eng-spa by default
    card = model.evaluate(Translator.read_data(tmp_path / "es_en.tsv", source="es", target="en"))
    assert card["model"] == "apertium:spa-eng" and card["source_lang"] == "es"


# "drunk" (adjective or participle) and "I" (numeral or pronoun) have ambiguity classes the eng-spa tagger never saw;
# in one plain stream each changes how later sentences are tagged ("a lot of" after "Not drunk.").
CHANGES_THE_TAGGER = ["Not drunk.", "I was there yesterday.", "He is here."]
SENSITIVE = ["Tom has a lot of free time.", "She has a lot of money.", "We saw a lot of birds."]


@needs_apertium
def test_apertium_sentences_are_isolated():
    model = Translator.load()
    a, b = "He had to let his secretary go because she got married.", "Tom has a lot of free time."
    assert model.translate([a, b])[1] == model.translate([b])[0]
    assert model.translate(["One line.\nTwo lines."])[0].count("\n") == 1  # line alignment kept


@needs_apertium
def test_apertium_stream_gives_each_sentence_its_lone_translation():
    engine = _apertium.ApertiumEngine("eng-spa")
    assert engine.streams  # eng-spa runs as one stream, not one process per sentence
    texts = [t for pair in zip(CHANGES_THE_TAGGER, SENSITIVE) for t in pair] + ["Hello.", "Dr. Smith lives in the U.S."]
    alone = [engine.translate([text])[0] for text in texts]
    assert engine.translate(texts) == alone
    assert engine.translate(texts[::-1]) == alone[::-1]
    assert engine.translate(texts + texts) == alone + alone  # duplicates translated once, returned twice
    # A plain stream does change them: the test above would fail without the tagger restarts.
    stream = subprocess.run(["apertium", "-u", "eng-spa"], input="Not drunk.\nTom has a lot of free time.\n", text=True,
                            capture_output=True, env={**os.environ, "LC_ALL": "C.UTF-8"}, check=True).stdout.split("\n")
    assert stream[1] != alone[1]


@needs_apertium
def test_apertium_stream_equals_one_process_per_sentence(monkeypatch):
    texts = CHANGES_THE_TAGGER + SENSITIVE + ["Is it [really] 50% <off>?", "a \\ b / c ^ d $ e @ f {g}", "Two  spaces\there."]
    streamed = _apertium.ApertiumEngine("eng-spa").translate(texts)
    monkeypatch.setattr(_apertium, "_stream_plan", lambda mode: None)  # the fallback: `apertium -u` per sentence
    assert _apertium.ApertiumEngine("eng-spa").translate(texts) == streamed


@needs_apertium
def test_predict_honours_languages_and_refuses_pairs_not_installed(tmp_path, capsys):
    from core.cli import main

    model = Translator.load()
    assert model.predict(["Hola."], source_lang="es", target_lang="en")[0] == {
        "index": 1, "source": "Hola.", "translation": "Hello.", "source_lang": "es", "target_lang": "en"}
    assert model.predict(["Hola."], source="ES")[0]["target_lang"] == "en"  # one side given: the only pair with it
    assert model.predict(["Hello."], source_lang="eng", target_lang="es-ES")[0]["translation"] == "Hola."
    _write(tmp_path, "in.es", ["La casa es roja."])
    assert main(["predict", "nlp.translation", "--input", str(tmp_path / "in.es"), "--source", "es", "--target", "EN"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["source_lang"], record["target_lang"], record["translation"]) == ("es", "en", "The house is red.")
    for flags in (["--target", "fr"], ["--source", "en", "--target", "en-GB"], ["--target", "x1"]):
        assert main(["predict", "nlp.translation", "--input", str(tmp_path / "in.es"), *flags]) == 2
        error = capsys.readouterr().err
        assert "en->es" in error or "language code" in error, error
    with pytest.raises(InputError, match="installed pairs: en->es, es->en"):
        model.predict(["Hello."], target_lang="fr")


@needs_apertium
def test_cli_translates_a_file_named_name_es_from_spanish(tmp_path, capsys):
    from core.cli import main

    path = _write(tmp_path, "corp.es", ["La casa es roja."])
    assert main(["predict", "nlp.translation", "--input", str(path)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["source_lang"], record["target_lang"], record["translation"]) == ("es", "en", "The house is red.")
    assert main(["predict", "nlp.translation", "--input", str(path), "--source", "en"]) == 0  # an explicit --source wins
    assert json.loads(capsys.readouterr().out)["source_lang"] == "en"
    assert main(["predict", "nlp.translation", "--input", str(_write(tmp_path, "corp.dat", ["The house."]))]) == 0
    assert json.loads(capsys.readouterr().out)["source_lang"] == "en"  # not a language: the model's own pair
    assert main(["predict", "nlp.translation", "--input", str(_write(tmp_path, "corp.de", ["Das Haus."]))]) == 2
    assert "its file's name gives" in capsys.readouterr().err


@needs_apertium
def test_apertium_unknown_pair_and_other_direction(tmp_path):
    with pytest.raises(InputError, match="apertium-eng-deu"):
        Translator.load(source_lang="en", target_lang="de")
    model = Translator.load()
    _write(tmp_path, "d.es", ["Hola."])
    _write(tmp_path, "d.en", ["Hello."])
    card = model.evaluate(Translator.read_data(tmp_path / "d.es"))  # es->en data: Apertium's spa-eng pair
    assert (card["source_lang"], card["target_lang"]) == ("es", "en")
    _write(tmp_path, "d.de", ["Hallo."])
    with pytest.raises(InputError, match="installed"):
        model.evaluate(Translator.read_data(tmp_path / "d.de", target="en"))
    saved = model.save(tmp_path / "apertium")
    assert Translator.load(saved).predict(["Hello."]) == model.predict(["Hello."])


@pytest.mark.slow
@needs_apertium
@pytest.mark.skipif(not (SHARED / "tatoeba_eng_spa_test_b.en").is_file(), reason="shared data absent")
def test_apertium_isolation_on_a_stream_sensitive_block():
    """In one stream, sentence 283 of this file translates differently after 191-282; we must not."""
    lines = (SHARED / "tatoeba_eng_spa_test_b.en").read_text(encoding="utf-8").split("\n")[190:283]
    model = Translator.load()
    assert model.translate(lines)[-1] == model.translate(lines[-1:])[0] == "Tom tiene mucho tiempo libre."


@pytest.mark.slow
@needs_apertium
@pytest.mark.skipif(not (SHARED / "tatoeba_eng_spa_test_b.en").is_file(), reason="shared data absent")
@pytest.mark.parametrize("source", ["en", "es"])
def test_apertium_whole_file_reversed_or_line_by_line(source):
    from concurrent.futures import ThreadPoolExecutor

    lines = (SHARED / f"tatoeba_eng_spa_test_b.{source}").read_text(encoding="utf-8").rstrip("\n").split("\n")
    model = Translator.load(source_lang=source, target_lang="es" if source == "en" else "en")
    whole = model.translate(lines)
    assert model.translate(lines[::-1]) == whole[::-1]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda line: model.translate([line])[0], lines)) == whole


@pytest.mark.slow
@needs_apertium
@pytest.mark.skipif(not (SHARED / "tatoeba_eng_spa_test_b.en").is_file(), reason="shared data absent")
def test_cli_evaluates_shared_files_as_they_are(capsys):
    from core.cli import main

    assert main(["evaluate", "nlp.translation", "--data", str(SHARED / "tatoeba_eng_spa_test_b.es"), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["n"] == 409 and card["metrics"]["chrf"]["value"] > 40
    assert main(["evaluate", "nlp.translation", "--data", str(SHARED / "multi30k_test_2016_flickr_even.en"), "--json"]) == 2


def test_cli_names_a_missing_column_it_was_given(tmp_path, capsys):
    """`--column nope` said "t.csv has no source/text column; pass --column NAME" though --column was passed."""
    from core.cli import main

    (tmp_path / "t.csv").write_text("id,text\nk1,Hola mundo.\n", encoding="utf-8")
    assert main(["predict", "nlp.translation", "--input", str(tmp_path / "t.csv"), "--column", "nope"]) == 2
    error = capsys.readouterr().err
    assert "t.csv has no column 'nope'; it has: id, text" in error and "pass --column" not in error, error
    with pytest.raises(InputError, match="no column 'nope'; it has: id, text"):
        list(Translator.read_input_batches(tmp_path / "t.csv", column="nope"))
    (tmp_path / "u.csv").write_text("id,words\nk1,Hola mundo.\n", encoding="utf-8")
    with pytest.raises(InputError, match="u.csv has no source/text column; pass --column NAME"):  # none given: as before
        Translator.read_inputs(tmp_path / "u.csv")


def test_a_text_file_refuses_column_flags_it_has_no_columns_for(tmp_path):
    """`--id key` / `--column text` on a text file were silently ignored; its records are numbered by line."""
    path = _write(tmp_path, "notes.txt", ["I like cats."])
    with pytest.raises(InputError, match="notes.txt is a text file, one text per line: it has no columns for --id"):
        Translator.read_inputs(path, id="key")
    with pytest.raises(InputError, match="no columns for --column"):
        list(Translator.read_input_batches(path, column="text"))
    (tmp_path / "t.csv").write_text("key,text\nk1,I like cats.\n", encoding="utf-8")
    assert Translator.read_inputs(tmp_path / "t.csv", id="key").ids == [{"id": "k1"}]  # a table's --id still works


def test_an_apertium_card_whose_mode_disagrees_with_its_pair_is_refused(tmp_path):
    """Load picks the Apertium mode from the card's source_lang/target_lang, never from apertium_mode: an edited mode
    (spa-eng on an en->es card) used to load and run eng-spa while the card named another program."""
    from core.errors import UnsafeArtifactError

    model = Translator("en", "es", device="cpu")
    model.engine_, model.name_ = _apertium.ApertiumEngine("eng-spa"), "apertium:eng-spa"  # no Apertium run to save
    folder = model.save(tmp_path / "apertium")
    saved = json.loads((folder / "card.json").read_text())
    assert saved["apertium_mode"] == "eng-spa"

    def edited(**changes) -> Path:
        write_card(folder, {**saved, **changes})
        return folder

    for changes, message in [({"apertium_mode": "spa-eng"}, r"its apertium_mode 'spa-eng' is not the mode its pair "
                                                             r"en->es runs \('eng-spa'\)"),
                             ({"apertium_mode": "eng-spa_US"}, "its apertium_mode 'eng-spa_US' is not the mode"),
                             ({"apertium_mode": None}, "its apertium_mode None is not the mode"),
                             ({"source_lang": "es", "target_lang": "en"}, r"its apertium_mode 'eng-spa' is not the mode its pair es->en"),
                             ({"source_lang": "x1"}, "its source_lang/target_lang 'x1'/'es' are not language codes")]:
        with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights beside it: " + message):
            Translator.load(edited(**changes), device="cpu")
        with pytest.raises(UnsafeArtifactError, match=message):  # asking for another pair does not make the card true
            Translator.load(edited(**changes), device="cpu", source_lang="es", target_lang="en")
    if HAS_APERTIUM:
        assert Translator.load(edited(), device="cpu").name_ == "apertium:eng-spa"
        reversed_pair = Translator.load(edited(source_lang="es", target_lang="en", apertium_mode="spa-eng"), device="cpu")
        assert reversed_pair.card["apertium_mode"] == "spa-eng"
        unrecorded = {k: v for k, v in saved.items() if k != "apertium_mode"}  # a card without the field: not checked
        write_card(folder, unrecorded)
        assert Translator.load(folder, device="cpu").card["apertium_mode"] == "eng-spa"


@needs_apertium
def test_apertium_keeps_html_markup_and_plain_text_as_before():
    engine = _apertium.ApertiumEngine("eng-spa")
    marked, plain = engine.translate(['Click <a href="x">here</a>', "x < y and a & b"])
    assert marked == 'Clic <a href="x">aquí</a>'  # plain-text deformatting made it '<un href="x">aquí</un>'
    assert plain == engine._one_by_one(["x < y and a & b"])[0] and "&amp;" not in plain


# -- an Apertium card's usage: the raw `apertium -u` command, then each step predict adds after it -----------------
_USAGE_TEXTS = ["Did you do it by yourself?", "  All you want is power.  ", "What did you tell him?", "Come here!",
                "Who? Me.", "Why not!", "Line one?\n\n  Line two!", 'Click <a href="x">here</a>', 'He asked: "Are you sure?"',
                "Is it true, e.g. for cats?", 'Why did you write "no?"', "I like vitamin C. Do you?",
                "He left at 5 p.m. Did you see him?", "Is it good... or bad?", "What?! Really?"]
# Apertium's raw output for the lines above (as eng-spa 3.8 prints them: a space before, two where a word dropped)
_RAW = {"Did you do it by yourself?": " Tú  él por tú?", "All you want is power.": "Todo  quieres es poder.",
        "What did you tell him?": "Qué   le dices?", "Come here!": "Venga  aquí!", "Who? Me.": "Quién? Yo.",
        "Why not!": "Por qué no", "Line one?": "Línea \tuno?", "Line two!": "Línea  dos!",
        'Click <a href="x">here</a>': 'Clic <a href="x">aquí</a>', 'He asked: "Are you sure?"': ' Pidió: "Eres seguro?"',
        "Is it true, e.g. for cats?": "Es cierto, p. ej. para gatos?", 'Why did you write "no?"': 'Por qué escribes "no?"',
        "I like vitamin C. Do you?": "Me gusta la vitamina C.  Tú?", "He left at 5 p.m. Did you see him?":
        " Dejó en 5 p.m.   le ves?", "Is it good... or bad?": "Es bien... O malo?", "What?! Really?": "Qué?! Realmente?"}


def _usage_translation(usage: str, folder: Path, text: str) -> str:
    """The translation the card's usage snippet gives for `text` (folder and text are the names it reads)."""
    namespace = {"folder": folder, "text": text}
    exec(usage, namespace)  # noqa: S102 - our own card's snippet, as a user would paste it
    return namespace["prediction"]["translation"]


@pytest.mark.parametrize("mode", ["eng-spa", "spa-eng"])
def test_apertium_usage_names_and_does_each_step_predict_adds_after_apertium(mode, tmp_path, monkeypatch):
    """The usage said `echo text | apertium -u <mode>` ran "the same translation"; predict strips the line, collapses
    the double spaces Apertium leaves and adds the Spanish opening marks, so 4 of 8 Tatoeba lines differed. The usage
    now names each step (from `_apertium`'s own constants) and its snippet gives predict's output for Apertium's."""
    from nlp.translation import _usage

    usage = _usage("apertium")
    for pairs in _apertium.OPENING_MARKS.values():
        for closing, opening in pairs:
            assert f'"{opening}" before a final "{closing}"' in usage
    for step in ("apertium -u", "apertium -f html", "spaces around it stripped", "two or more spaces or tabs in a row"):
        assert step in usage
    assert "the same translation" not in usage

    def raw(line: str) -> str:
        return _RAW[line] + "\n"

    calls = []

    def fake_run(arguments, input, **_):  # noqa: A002 - subprocess.run's own name
        calls.append((tuple(arguments[1:-1]), input))
        return subprocess.CompletedProcess(arguments, 0, stdout=raw(input), stderr="")

    folder = tmp_path / "apertium"
    folder.mkdir()
    (folder / "card.json").write_text(json.dumps({"apertium_mode": mode}), encoding="utf-8")
    monkeypatch.setattr(subprocess, "run", fake_run)
    snippet = [_usage_translation(usage, folder, text) for text in _USAGE_TEXTS]
    monkeypatch.undo()
    # predict's engine on the same raw output: one `apertium -f <format> -u <mode>` process per line
    engine_calls = []

    def fake_engine_run(arguments, data, what, merge_stderr=False):
        engine_calls.append((tuple(arguments[1:-1]), data))
        return raw(data)

    monkeypatch.setattr(_apertium, "_stream_plan", lambda mode: None)
    monkeypatch.setattr(_apertium, "require_apertium", lambda: "apertium")
    monkeypatch.setattr(_apertium, "_run", fake_engine_run)
    assert snippet == _apertium.ApertiumEngine(mode).translate(_USAGE_TEXTS)
    assert sorted(set(calls)) == sorted(set(engine_calls))  # the same flags, on the same stripped lines
    if mode == "eng-spa":
        assert snippet[:4] == ["¿Tú él por tú?", "Todo quieres es poder.", "¿Qué le dices?", "¡Venga aquí!"]
        assert snippet[4:] == ["¿Quién? Yo.", "Por qué no", "¿Línea uno?\n\n¡Línea dos!", 'Clic <a href="x">aquí</a>',
                               'Pidió: "¿Eres seguro?"', "¿Es cierto, p. ej. para gatos?", '¿Por qué escribes "no?"',
                               "Me gusta la vitamina C. ¿Tú?", "Dejó en 5 p.m. ¿le ves?", "¿Es bien... O malo?",
                               "¡¿Qué?! ¿Realmente?"]
    else:
        assert snippet[0] == "Tú él por tú?"


@needs_apertium
def test_apertium_usage_snippet_gives_predicts_translations(tmp_path):
    """Outside the product, the saved card's usage run with the real Apertium gives predict's translations."""
    model = Translator.load()
    folder = model.save(tmp_path / "apertium")
    usage = json.loads((folder / "card.json").read_text(encoding="utf-8"))["usage"]
    texts = [text for text in _USAGE_TEXTS if text.strip()]
    assert [_usage_translation(usage, folder, text) for text in texts] == [
        record["translation"] for record in model.predict(texts)]


# -- a line longer than a seq2seq model reads at once ---------------------------------------------------------
def _inputs_read(model, monkeypatch) -> list[str]:
    """What the network is given to translate (decoded), appended to as `generate` runs."""
    seen, generate = [], model.network_.generate

    def spy(**encoded):
        seen.extend(model.tokenizer_.batch_decode(encoded["input_ids"], skip_special_tokens=True))
        return generate(**encoded)

    monkeypatch.setattr(model.network_, "generate", spy)
    return seen


def test_a_line_over_the_input_limit_is_translated_in_sentences_and_nothing_is_dropped(tiny, monkeypatch):
    """A line over `max_length` tokens (24 for the tiny model) was cut to its first tokens: the model translated its
    first sentence or so, with no word of the rest and nothing in the record to say so."""
    sentences = [source for source, _ in PAIRS] * 3
    line = " ".join(sentences)
    assert len(tiny.tokenizer_(line, verbose=False)["input_ids"]) > 4 * tiny.generation_["max_length"]

    def as_read(text: str) -> str:  # what the tiny vocabulary keeps of a text ("?" is unknown to it)
        return " ".join(tiny.tokenizer_.decode(tiny.tokenizer_(text)["input_ids"], skip_special_tokens=True).split())

    read = _inputs_read(tiny, monkeypatch)
    record = tiny.predict([line, "I like cats."])
    assert [" ".join(text.split()) for text in read] == [as_read(s) for s in sentences + ["I like cats."]]  # all, whole
    assert record[0]["note"] == (f"the line is longer than the 24 tokens the model reads at once: it was translated in "
                                 f"{len(sentences)} pieces (its sentences, a long sentence in parts), joined in order")
    pieces = len(sentences)  # no word was cut; the tiny model ran each piece's translation to its cap
    assert record[0]["warnings"] == [_cap_warning(f"the translation of {pieces} of its {pieces} pieces")]
    assert set(record[1]) == {"index", "source", "translation", "source_lang", "target_lang", "warnings"}
    assert tiny.translate([line]) == [record[0]["translation"]]  # evaluate and the page (translate) split it alike

    read.clear()
    words = "I like cats and dogs and bread , we eat bread".split() * 8  # one sentence, over the limit alone
    record = tiny.predict([" ".join(words)])[0]
    assert " ".join(" ".join(read).split()) == as_read(" ".join(words)) and len(read) > 1
    assert record["warnings"] == [_cap_warning(f"the translation of {len(read)} of its {len(read)} pieces")]
    assert all(len(tiny.tokenizer_(piece)["input_ids"]) <= 24 for piece in read)
    assert f"translated in {len(read)} pieces" in record["note"]


def test_a_single_word_over_the_input_limit_is_cut_with_a_warning(tiny):
    word = "Supercalifragilisticexpialidocious" * 3
    assert len(tiny.tokenizer_(word, verbose=False)["input_ids"]) > 24
    record = tiny.predict([f"I like {word} cats."])[0]
    assert record["warnings"] == ["1 of its 3 pieces had a single word over the 24 tokens the model reads at once: "
                                  "cut to 24 tokens, the rest of it was not translated",
                                  _cap_warning("the translation of 3 of its 3 pieces")]
    assert "in 3 pieces" in record["note"]


# -- a translation that runs to the generation cap ------------------------------------------------------------------
def test_a_translation_that_runs_to_the_generation_cap_is_warned_in_its_record(tiny, monkeypatch):
    """generate stops at max_new_tokens (the generation max_length): a translation that got there was probably cut
    short, and its record said nothing of it."""
    import torch

    assert tiny.predict(["I like cats."])[0]["warnings"] == [_cap_warning()]  # its end-of-sequence forced at the cap
    monkeypatch.setattr(tiny.network_.generation_config, "forced_eos_token_id", None)
    assert tiny.predict(["I like cats."])[0]["warnings"] == [_cap_warning()]  # no end-of-sequence at all
    # the network ends every translation at once, under the cap: its bias changed in place and put back after (a
    # monkeypatched buffer of the module-scoped model was deleted at teardown, breaking later tests that share it)
    kept = tiny.network_.final_logits_bias.clone()
    try:
        with torch.no_grad():
            tiny.network_.final_logits_bias.zero_()
            tiny.network_.final_logits_bias[..., tiny.tokenizer_.eos_token_id] = 1e4
        assert "warnings" not in tiny.predict(["I like cats."])[0]
    finally:
        with torch.no_grad():
            tiny.network_.final_logits_bias.copy_(kept)


def test_a_row_is_capped_when_it_runs_to_the_cap_without_ending(tiny, monkeypatch):
    import torch

    eos, pad = tiny.tokenizer_.eos_token_id, tiny.tokenizer_.pad_token_id
    rows = torch.tensor([[pad, 5, eos, pad, pad],  # ended early: padded after its end
                         [pad, 5, 6, 7, 8],  # ran to the cap without ending
                         [pad, 5, 6, 7, eos]])  # ended at the cap: forced there or its own, they look the same
    assert tiny._capped(rows, 4) == [False, True, True]
    assert tiny._capped(rows[:, :4], 4) == [False, False, False]  # no row reached the cap
    monkeypatch.setattr(tiny.network_.generation_config, "forced_eos_token_id", None)
    assert tiny._capped(rows, 4) == [False, True, False]  # unforced, an end at the cap is the model's own


def _fine_tune(folder: Path, max_length, monkeypatch=None, pairs=PAIRS) -> tuple[Translator, list[dict]]:
    """The saved tiny model (cap 24) fine-tuned one step with `max_length` (None: not given), and the encoded
    training and validation pairs the Trainer got."""
    import core.train

    seen = []
    if monkeypatch is not None:
        trainer = core.train.Trainer

        def recording(network, data, **kwargs):
            seen.extend([*data, *(kwargs.get("val_data") or [])])
            return trainer(network, data, **kwargs)

        monkeypatch.setattr(core.train, "Trainer", recording)
    given = {field.name: getattr(TINY, field.name) for field in dataclasses.fields(TINY) if field.name != "max_length"}
    config = Translator.Config(**given, **({} if max_length is None else {"max_length": max_length}))
    return Translator.load(folder, device="cpu").fit(corpus(pairs), config), seen


def test_fine_tuning_with_a_given_max_length_raises_the_cap_and_the_card_records_it(tiny, tmp_path):
    """`verticals train --model M --set max_length=N` kept the loaded model's cap (24 here, 256 for a hub model): the
    warning's advice had no effect and nothing said so."""
    folder = tiny.save(tmp_path / "tiny")
    tuned, _ = _fine_tune(folder, 40)
    assert tuned.generation_["max_length"] == 40 and tuned._input_limit() == 40  # position table: 64
    assert tuned.predict(["I like cats."])[0]["warnings"] == [_cap_warning(cap=40)]
    card = json.loads((tuned.save(tmp_path / "tuned") / "card.json").read_text())
    assert card["preprocessing"]["generation"]["max_length"] == 40 and card["config"]["max_length"] == 40
    reloaded = Translator.load(tmp_path / "tuned", device="cpu")
    assert reloaded.generation_["max_length"] == 40 and reloaded._input_limit() == 40


def test_fine_tuning_without_max_length_keeps_the_loaded_cap_and_records_it(tiny, tmp_path):
    assert Translator.Config().max_length is None  # unset: the model's own
    tuned, _ = _fine_tune(tiny.save(tmp_path / "tiny"), None)
    assert tuned.generation_["max_length"] == 24
    card = json.loads((tuned.save(tmp_path / "tuned") / "card.json").read_text())
    assert card["preprocessing"]["generation"]["max_length"] == 24 and card["config"]["max_length"] == 24


def test_fine_tuning_honours_a_given_num_beams_and_keeps_the_loaded_one_otherwise(tiny, tmp_path):
    """`--set num_beams=N` was ignored when fine-tuning, as max_length was: the loaded model's beams stayed."""
    folder = tiny.save(tmp_path / "tiny")
    loaded = Translator.load(folder, device="cpu").generation_["num_beams"]
    given = {f.name: getattr(TINY, f.name) for f in dataclasses.fields(TINY) if f.name not in ("max_length", "num_beams")}
    assert Translator.Config().num_beams is None
    kept = Translator.load(folder, device="cpu").fit(corpus(PAIRS), Translator.Config(**given))
    assert kept.generation_["num_beams"] == loaded
    tuned = Translator.load(folder, device="cpu").fit(corpus(PAIRS), Translator.Config(**given, num_beams=loaded + 2))
    assert tuned.generation_["num_beams"] == loaded + 2
    card = json.loads((tuned.save(tmp_path / "tuned") / "card.json").read_text())
    assert card["preprocessing"]["generation"]["num_beams"] == card["config"]["num_beams"] == loaded + 2
    scratch = Translator.for_training(device="cpu").fit(corpus(), Translator.Config(**given))
    assert scratch.generation_["num_beams"] == 4


def test_a_model_trained_from_scratch_without_max_length_gets_128():
    config = Translator.Config(**{f.name: getattr(TINY, f.name) for f in dataclasses.fields(TINY) if f.name != "max_length"})
    model = Translator.for_training(device="cpu").fit(corpus(), config)
    assert model.generation_["max_length"] == 128 == model.tokenizer_.model_max_length == model.trained_config_["max_length"]


def test_a_fine_tuning_max_length_over_the_position_table_is_refused_before_training(tiny, tmp_path):
    folder = tiny.save(tmp_path / "tiny")
    with pytest.raises(InputError, match=r"'max_length' must be <= 64 for .*got 65"):
        _fine_tune(folder, 65)
    assert _fine_tune(folder, 64)[0].generation_["max_length"] == 64


def test_fine_tuning_cuts_training_pairs_where_predict_cuts_its_input(tiny, tmp_path, monkeypatch):
    """A pair longer than max_length is cut to the given value, or, unset, to the loaded model's own input limit."""
    long = (" ".join(["I like cats and dogs."] * 12), " ".join(["Me gustan los gatos y los perros."] * 12))
    folder = tiny.save(tmp_path / "tiny")
    for max_length, cut in ((None, 24), (40, 40)):
        _, seen = _fine_tune(folder, max_length, monkeypatch, pairs=[*PAIRS, long])
        assert max(len(e["input_ids"]) for e in seen) == cut == max(len(e["labels"]) for e in seen)


# -- the card's usage snippet -------------------------------------------------------------------------------------
def test_the_cards_usage_snippet_translates_short_lines_as_predict_does(tiny, tmp_path):
    """The snippet passed the card's generation dict to generate: its max_length (new tokens for predict) meant the
    whole output there, one token fewer; and it did not say that it cuts a long line that predict translates whole."""
    import torch

    model = Translator.load(tiny.save(tmp_path / "tiny"), device="cpu")
    torch.manual_seed(0)
    with torch.no_grad():  # weights far from the one-step model's, so that its translations differ between lines
        for name, parameter in model.network_.named_parameters():
            if "embed_positions" not in name:  # sinusoidal, not saved
                parameter.add_(torch.randn_like(parameter) * 0.5)
    folder = model.save(tmp_path / "varied")
    texts = [source for source, _ in PAIRS]
    expected = [record["translation"] for record in model.predict(texts)]
    assert len(set(expected)) > 1
    usage = json.loads((folder / "card.json").read_text())["usage"]
    assert "max_new_tokens=" in usage and "**card" not in usage
    assert "is cut by this snippet" in usage and "splits such a line into its sentences" in usage
    for folder_given in (folder, str(folder)):
        scope = {"folder": folder_given, "texts": texts}
        exec(usage, scope)
        assert [prediction["translation"] for prediction in scope["predictions"]] == expected


# -- input that does not look like the source language assumed --------------------------------------------------
SPANISH = ["La casa es roja.", "Hola.", "El gato es negro y duerme en la cama.", "Me gustan los perros."]
ENGLISH = ["The house is red.", "Hello.", "Charles de Gaulle was a French general.", "I like dogs.",
           "We ate paella con pollo at a tapas bar in Madrid.", "Los Angeles is big, and so is Buenos Aires.", "OK.",
           "Die Hard is a film about a cop in a tower.", "No, it isn't.", "She sang La Bamba and Despacito."]


def test_looks_like_names_spanish_and_leaves_english_alone():
    from nlp._language import looks_like

    assert looks_like(SPANISH, "en", prefer="es") == ["es"] * 4
    assert looks_like(ENGLISH, "en", prefer="es") == [None] * len(ENGLISH)
    assert looks_like(ENGLISH, "es", prefer="en")[0] == "en" and looks_like(SPANISH, "es", prefer="en") == [None] * 4
    assert looks_like(["Привет, как у тебя дела?"], "en") == ["Cyrillic script"]
    assert looks_like(["Hola."], "en") == [None]  # one word alone says too little


@needs_apertium
def test_text_unlike_the_assumed_source_language_is_warned_in_its_record(tmp_path, capsys):
    """Without --source the default assumes en->es: Spanish came back as itself, the record said source_lang "en"."""
    from core.cli import main

    model = Translator.load()
    warning = ("the text looks like Spanish (es), not English (en) as assumed (no source language was given); pass "
               "--source es --target en (source_lang, target_lang in Python)")
    assert [r["warnings"] for r in model.predict(SPANISH)] == [[warning]] * 4
    assert all("warnings" not in r for r in model.predict(ENGLISH))  # no false alarm on English
    assert all("warnings" not in r for r in Translator.load(source_lang="en").predict(SPANISH))
    # the other direction: --target en makes es the source
    assert all("warnings" not in r for r in model.predict(SPANISH, target_lang="en"))
    assert model.predict(["The house is red and the cat is black."], target_lang="en")[0]["warnings"] == [
        "the text looks like English (en), not Spanish (es) as assumed (no source language was given); pass "
        "--source en --target es (source_lang, target_lang in Python)"]
    assert main(["predict", "nlp.translation", "--input", str(_write(tmp_path, "notes.txt", SPANISH[:1]))]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [warning]
    assert main(["predict", "nlp.translation", "--input", str(tmp_path / "notes.txt"), "--source", "es"]) == 0
    assert "warnings" not in json.loads(capsys.readouterr().out)
    assert main(["predict", "nlp.translation", "--input", str(_write(tmp_path, "english.txt", ENGLISH))]) == 0
    assert "warnings" not in capsys.readouterr().out


@needs_apertium
def test_text_unlike_the_source_language_given_is_warned_but_translated(tmp_path, capsys):
    """--source en on Spanish lines (a swapped corp.en) translated them in silence: Spanish garble, no word of why.
    The user's word holds (translated as en), but most lines clearly saying otherwise get a warning."""
    from core.cli import main

    model = Translator.load()
    warning = ("the text looks like Spanish (es), not English (en) as given (--source en; source_lang in Python); if it "
               "is Spanish, pass --source es --target en (source_lang, target_lang in Python)")
    records = model.predict(SPANISH, source_lang="en")
    assert [r["warnings"] for r in records] == [[warning]] * 4 and {r["source_lang"] for r in records} == {"en"}
    assert all("warnings" not in r for r in model.predict(ENGLISH, source_lang="en"))  # no false alarm on English
    # a stray Spanish line among English ones given as en: the user's word holds
    assert all("warnings" not in r for r in model.predict(ENGLISH + SPANISH[:1], source_lang="en"))
    assert main(["predict", "nlp.translation", "--input", str(_write(tmp_path, "corp.en", SPANISH[:1])),
                 "--source", "en", "--target", "es"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == [warning]


# -- Spanish opening marks: each sentence of a line gets the marks it gets alone ------------------------------------
_SEVERAL = ["Did you do it by yourself?", "What a surprise!", "I came home."]


def test_each_sentence_of_a_line_gets_its_spanish_opening_mark_as_alone():
    """A line of several sentences got no ¿ ¡ at all ("Hola. Tú él por tú?"), while the question alone got "¿Tú él por
    tú?": the marks were only restored for a one-sentence line. Now each sentence gets them, paired with its source
    sentence (Apertium's raw output below, as eng-spa 3.8 prints it)."""
    raw = {"Hello. Did you do it by yourself?": "Hola.  Tú  él por tú?",
           "Did you do it? I did. Wow!": " Tú  él?  Hice. Uau!",
           "Who? Me.": "Quién? Yo.",
           "is it? yes.": "Es? Sí.",
           "Mr. Smith, are you there?": "Señor Herrero, eres allí?"}
    cleaned = {source: _apertium._clean(output, "spa", source) for source, output in raw.items()}
    assert cleaned == {"Hello. Did you do it by yourself?": "Hola. ¿Tú él por tú?",
                       "Did you do it? I did. Wow!": "¿Tú él? Hice. ¡Uau!",
                       "Who? Me.": "¿Quién? Yo.",
                       "is it? yes.": "¿Es? Sí.",
                       "Mr. Smith, are you there?": "¿Señor Herrero, eres allí?"}
    assert _apertium._clean(" Tú  él?  Hice. Uau!", "eng", "Did you do it? I did. Wow!") == "Tú él? Hice. Uau!"
    # where Apertium joined two sentences (the counts differ), a closing mark ending any source sentence is enough
    assert _apertium._clean("Sí venga aquí!", "spa", "Yes. Come here!") == "¡Sí venga aquí!"
    assert _apertium._clean("Sí venga aquí!", "spa", "Yes. Come here.") == "Sí venga aquí!"


@needs_apertium
@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
def test_apertium_sentences_in_one_line_translate_as_they_do_alone(order):
    """Question + exclamation + statement in one line, in several orders (a question first, last, in the middle):
    the line's translation is its sentences' translations alone, opening marks included."""
    engine = _apertium.ApertiumEngine("eng-spa")
    sentences = [_SEVERAL[i] for i in order]
    alone = engine.translate(sentences)
    assert [text[0] for text in alone] == [{0: "¿", 1: "¡", 2: "V"}[i] for i in order]
    assert engine.translate([" ".join(sentences)]) == [" ".join(alone)]
    assert Translator.load().predict([" ".join(sentences)])[0]["translation"] == " ".join(alone)


def test_a_quoted_or_bracketed_question_gets_its_opening_mark_inside_the_quotes():
    """A sentence ending in a quote or bracket ('"Eres seguro?"', '«Venido aquí!»') got no ¿ ¡ at all; now the mark goes
    after the last opening quote or bracket, alone and inside a line alike (Apertium eng-spa 3.8's raw output below)."""
    raw = {'"Are you sure?"': '"Eres seguro?"', 'He asked: "Are you sure?"': ' Pidió: "Eres seguro?"',
           "«Come here!»": "«Venido aquí!»", "(Are you sure?)": "(Eres seguro?)",
           '"Hello. Are you sure?"': '"Hola. Eres seguro?"', "He said 'it's here!'": " Dijo ' es aquí!'",
           'I came home. He asked: "Are you sure?"': ' Vine en casa. Pidió: "Eres seguro?"'}
    cleaned = [_apertium._clean(output, "spa", source) for source, output in raw.items()]
    assert cleaned == ['"¿Eres seguro?"', 'Pidió: "¿Eres seguro?"', "«¡Venido aquí!»", "(¿Eres seguro?)",
                       '"Hola. ¿Eres seguro?"', "Dijo ' ¡es aquí!'", 'Vine en casa. Pidió: "¿Eres seguro?"']
    assert _apertium._clean("Dijo \"Realmente?\" Y dejó.", "spa", 'He said "Really?" and left.') == (
        'Dijo "¿Realmente?" Y dejó.')  # a quoted question inside a sentence gets it too


@needs_apertium
def test_apertium_quoted_sentences_in_one_line_translate_as_they_do_alone():
    engine = _apertium.ApertiumEngine("eng-spa")
    sentences = ['He asked: "Are you sure?"', "«Come here!»", "I came home.", "(Is it true?)"]
    alone = engine.translate(sentences)
    assert alone[0].endswith('"¿Eres seguro?"') and alone[1].startswith("«¡") and alone[3].startswith("(¿")
    for order in (sentences, sentences[::-1]):
        assert engine.translate([" ".join(order)]) == [" ".join(engine.translate(order))]


def test_a_title_or_initial_does_not_end_the_sentence_that_gets_the_opening_mark():
    """With the marks restored per sentence, "Dr. Smith is here!" became "Dr. ¡Herrero es aquí!": the title's period
    was read as a sentence end. Titles, "EE.UU." and initials (not "I") now end no sentence (raw eng-spa 3.8 output)."""
    raw = {"Dr. Smith is here!": "Dr. Herrero es aquí!", "Is the U.S. big?": "Es los EE.UU. grandes?",
           "Prof. Brown, is it you?": "Prof. Brown, es te?", "J. Smith came. Did he?": "J. Smith vino.  Él?",
           "So am I. Are you?": "Así que soy I. Eres?"}
    cleaned = [_apertium._clean(output, "spa", source) for source, output in raw.items()]
    assert cleaned == ["¡Dr. Herrero es aquí!", "¿Es los EE.UU. grandes?", "¿Prof. Brown, es te?",
                       "J. Smith vino. ¿Él?", "Así que soy I. ¿Eres?"]


def test_a_lower_case_abbreviation_or_a_quote_in_american_style_does_not_move_the_opening_mark_mid_sentence():
    """A period before a lower-case word or a number ("p. ej. para", "p.m. ayer", "etc. que", "Núm. 6") was read as a
    sentence end, so the ¿ went mid-sentence ("Es cierto, p. ej. ¿para gatos?"); and a question mark inside a closing
    quote, American style, put the ¿ inside the quote ('Por qué escribes "¿no?"'). Now a period ends a sentence only
    before a capital, and a quote holds the question only when it starts the sentence, follows : , ; or a dash, or
    starts with a capital (raw eng-spa 3.8 output, as the tester's es_repro.sh / es_quotes.sh gave)."""
    raw = {"Is it true, e.g. for cats?": "Es cierto, p. ej. para gatos?",
           "Did he leave at 5 p.m. yesterday?": "Deja en 5 p.m. ayer?",
           "Is it apples, oranges, etc. that you want?": "Es manzanas, naranjas, etc. que quieres?",
           "Is this No. 5 or No. 6?": "Es este Núm. 5 o Núm. 6?",
           'Have you read "Hamlet?"': 'Te tienes Villorio "leído?"',
           'Why did you write "no?"': 'Por qué escribes "no?"',
           "It is 5 p.m. Are you there?": "Es 5 p.m. Eres allí?",
           '"Are you sure?" he asked.': '"Eres seguro?" pidió.',
           "Wait... what?": "Espera... qué?"}
    cleaned = [_apertium._clean(output, "spa", source) for source, output in raw.items()]
    assert cleaned == ["¿Es cierto, p. ej. para gatos?", "¿Deja en 5 p.m. ayer?",
                       "¿Es manzanas, naranjas, etc. que quieres?", "¿Es este Núm. 5 o Núm. 6?",
                       '¿Te tienes Villorio "leído?"', '¿Por qué escribes "no?"', "Es 5 p.m. ¿Eres allí?",
                       '"¿Eres seguro?" pidió.', "¿Espera... qué?"]  # an ellipsis before a lower-case word
    # ends no sentence, as a period there ends none (so "Is it good... or bad?" is one question, "¿Es bien... o malo?")


def test_hugging_face_translation_dicts_read_as_source_target_columns(tmp_path, tiny):
    """`datasets`' translation layout (opus_books, wmt): a `translation` column of {language: sentence} dicts, as JSONL
    or Parquet; --source/--target pick the pair, without them the model's own pair is taken."""
    rows = [{"id": "0", "translation": {"es": "El gato duerme.", "en": "The cat sleeps."}},
            {"id": "1", "translation": {"es": "Me gusta el té.", "en": "I like tea."}}]
    (tmp_path / "hf.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    pl.DataFrame(rows).write_parquet(tmp_path / "hf.parquet")
    expected = [("The cat sleeps.", "El gato duerme.", "en", "es"), ("I like tea.", "Me gusta el té.", "en", "es")]
    for name in ("hf.jsonl", "hf.parquet"):
        assert Translator.read_data(tmp_path / name, source="en", target="es").rows() == expected
        assert Translator.read_data(tmp_path / name, source="eng").rows() == expected  # the other side is the target
        assert Translator.read_data(tmp_path / name, target="en").row(0) == ("El gato duerme.", "The cat sleeps.", "es", "en")
        with pytest.raises(InputError, match="no 'fr' sentences; they hold es, en"):
            Translator.read_data(tmp_path / name, source="en", target="fr")
    report = Translator.check_data(tmp_path / "hf.jsonl", source="en", target="es")
    assert report["n"] == 2 and report["pairs"] == [{"source_lang": "en", "target_lang": "es", "n": 2}]
    card = tiny.evaluate(tmp_path / "hf.jsonl")  # no options: both directions read, the en->es model scores en->es
    assert card["n"] == 2 and (card["source_lang"], card["target_lang"]) == ("en", "es")
    (tmp_path / "blank.jsonl").write_text(json.dumps({"translation": {"en": "Hi.", "es": " "}}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="empty source or target"):
        Translator.read_data(tmp_path / "blank.jsonl", source="en", target="es")


def test_spanish_marks_follow_the_source_sentences_where_apertium_changes_the_case():
    """The tester's lines (raw eng-spa 3.8 output): "vitamin C." / "plan B." read as initials joined the statement to the
    next question ("¿Me gusta la vitamina C. Tú?"); Apertium lower-casing the word after "p.m." / "EE.UU." joined them
    too ("¿Dejó en 5 p.m. le ves?"); it capitalised the word after an ellipsis inside one question, splitting it ("Es
    bien... ¿O malo?"); and "What?!" got only "¡". Now an initial before a word that starts a sentence ("Do", "Is")
    ends the sentence, the translation is split where it pairs one to one with the source's sentences (a source of
    one sentence is one), and "?!" opens "¡¿" (RAE: both marks, mirrored). Initials and titles still end none."""
    raw = {"I like vitamin C. Do you?": "Me gusta la vitamina C.  Tú?",
           "We need a plan B. Is it ready?": " Necesitamos un plan *B. Es a punto?",
           "He left at 5 p.m. Did you see him?": " Dejó en 5 p.m.   le ves?",
           "I live in the U.S. Do you?": " Vivo en los EE.UU.  tú?",
           "Is it good... or bad?": "Es bien... O malo?",
           "What?! Really?": "Qué?! Realmente?",
           "Really!?": "Realmente!?",
           "J. Smith came. Did he?": "*J. Smith vino.  Él?",
           "J. K. Rowling wrote it. Did you read it?": "*J. *K. *Rowling Lo escribió.   Lo leíste?",
           "Did you meet J. Smith yesterday?": "Te encuentras *J. Smith ayer?",
           "Dr. Smith is here!": "Dr. Herrero es aquí!",
           "Is the U.S. Army here?": "Es el EE.UU. Ejército aquí?"}
    cleaned = {source: _apertium._clean(output, "spa", source) for source, output in raw.items()}
    assert cleaned == {"I like vitamin C. Do you?": "Me gusta la vitamina C. ¿Tú?",
                       "We need a plan B. Is it ready?": "Necesitamos un plan *B. ¿Es a punto?",
                       "He left at 5 p.m. Did you see him?": "Dejó en 5 p.m. ¿le ves?",
                       "I live in the U.S. Do you?": "Vivo en los EE.UU. ¿tú?",
                       "Is it good... or bad?": "¿Es bien... O malo?",
                       "What?! Really?": "¡¿Qué?! ¿Realmente?",
                       "Really!?": "¿¡Realmente!?",
                       "J. Smith came. Did he?": "*J. Smith vino. ¿Él?",
                       "J. K. Rowling wrote it. Did you read it?": "*J. *K. *Rowling Lo escribió. ¿Lo leíste?",
                       "Did you meet J. Smith yesterday?": "¿Te encuentras *J. Smith ayer?",
                       "Dr. Smith is here!": "¡Dr. Herrero es aquí!",
                       "Is the U.S. Army here?": "¿Es el EE.UU. Ejército aquí?"}
    assert _apertium._clean("Hola.\tTú?", "spa", "Hello. Do you?") == "Hola.\t¿Tú?"  # the spacing kept
