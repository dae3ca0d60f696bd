"""The Translation section of the NLP page: model and language pair, text or file in, source/target side by side."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import streamlit as st

from apps import common

TASK = "nlp.translation"
MAX_SENTENCES = 500  # per request on the page; the rest of a larger file is left out (the page says so)
SAMPLE = "Hello, how are you?\nThe train leaves at eight in the morning.\nI would like a cup of coffee, please.\nWhere is the library?"
TEXT_SUFFIXES = {".txt"}  # read one sentence per line; tables are what `Translator.read_inputs` reads as tables


def _language(code: str, markdown: bool = True) -> str:
    """A language as the page names it: `Spanish (es)`, or the bare code where the package has no name for it (`fi`);
    `markdown=False` for plain-text widgets (select-box options), which show the code unescaped."""
    from nlp.translation import LANGUAGE_NAMES

    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else _code(code) if markdown else code


def _language_name(code: str) -> str:
    from nlp.translation import LANGUAGE_NAMES

    return LANGUAGE_NAMES.get(code) or _code(code)


def _code(code: str) -> str:
    """A language code as Markdown shows it: a code the package does not know (typed for a multilingual model) escaped."""
    from nlp.translation import LANGUAGE_NAMES

    return code if code in LANGUAGE_NAMES else common.escape_markdown(code)


@functools.lru_cache(maxsize=1)
def _language_suffixes() -> list[str]:
    """File suffixes that name a language by the package's own rule (`_language_in_name`), offered by the uploader:
    every ISO 639-1 code (`corp.fi`, also `.pl` and `.cs`, which the package reads as Polish or Czech only where the
    name shows a corpus, `europarl-v7.pl-en.pl`, and otherwise says how to choose) and the ISO 639-3 codes it knows
    (`corp.spa`); not `.sh`, a script."""
    from nlp._apertium import installed_pairs
    from nlp._translation_data import ISO_639_1, to_iso3
    from nlp.translation import _language_in_name

    codes = {*ISO_639_1, *(to_iso3(code) for code in ISO_639_1), *(code for pair in installed_pairs() for code in pair)}
    return sorted(code for code in codes if _language_in_name(Path(f"name.{code}.txt")) is not None)


def _choose_pair(model, key: str, named: str | None = None, upload=None) -> tuple[str, str]:
    """Language pair widgets: the model's pairs in a select box; free codes for multilingual models. A file whose name
    gives its language (`named`, from `corp.es`) preselects a pair from that language, once per upload and model."""
    multilingual = getattr(model, "multilingual_", False)
    pairs = [] if multilingual else model.language_pairs() or [(model.source_lang, model.target_lang)]
    default = (model.source_lang, model.target_lang)
    marker = None if named is None else (upload.file_id, named, multilingual, tuple(pairs))
    if marker is not None and st.session_state.get(f"{key}-named-for") != marker:  # then the user may choose another
        st.session_state[f"{key}-named-for"] = marker
        preselected = None
        if multilingual:
            preselected = f"{key}-src-code", named
        elif len(pairs) > 1 and (match := _pair_from(named, pairs, st.session_state.get(f"{key}-pair", default), model)):
            preselected = f"{key}-pair", match
        if preselected is not None:
            st.session_state[preselected[0]] = preselected[1]
            st.session_state[f"{key}-named-choice"] = preselected
    elif marker is None:  # this input names no language: what the last file's name chose goes, unless the user chose it
        st.session_state.pop(f"{key}-named-for", None)
        preselected = st.session_state.pop(f"{key}-named-choice", None)
        if preselected is not None and st.session_state.get(preselected[0]) == preselected[1]:
            st.session_state[preselected[0]] = (model.source_lang if preselected[0].endswith("-src-code") else
                                                default if default in pairs else pairs[0])
    if multilingual:
        left, right = st.columns(2)
        source = left.text_input("Source language code", value=model.source_lang, key=f"{key}-src-code")
        target = right.text_input("Target language code", value=model.target_lang, key=f"{key}-tgt-code")
        pair = source.strip() or model.source_lang, target.strip() or model.target_lang
    elif len(pairs) == 1:
        st.caption(f"Language pair: {_language(pairs[0][0])} → {_language(pairs[0][1])}")
        pair = pairs[0]
    else:
        index = pairs.index(default) if default in pairs else 0
        pair = st.selectbox("Language pair", pairs, index=index, key=f"{key}-pair",
                            format_func=lambda pair: f"{_language(pair[0], False)} → {_language(pair[1], False)}")
    if named is not None:
        _say_named_language(named, upload.name, pair, pairs)
    return pair


def _chosen_pair(model, key: str) -> tuple[str, str]:
    """The language pair the Predict tab's widgets hold (`_choose_pair`), for Evaluate to score the same direction as
    the CLI's --source/--target: the model's own pair until one is chosen."""
    if getattr(model, "multilingual_", False):
        return ((st.session_state.get(f"{key}-src-code") or "").strip() or model.source_lang,
                (st.session_state.get(f"{key}-tgt-code") or "").strip() or model.target_lang)
    pairs = _pairs(model)
    chosen = st.session_state.get(f"{key}-pair")
    if chosen is not None and tuple(chosen) in pairs:
        return tuple(chosen)
    return pairs[0] if len(pairs) == 1 else (model.source_lang, model.target_lang)


def _pairs(model) -> list[tuple[str, str]]:
    """The pairs of a model that is not multilingual: its own, else its one source and target."""
    return model.language_pairs() or [(model.source_lang, model.target_lang)]


def _pair_from(source: str, pairs: list[tuple[str, str]], current: tuple[str, str], model) -> tuple[str, str] | None:
    """The pair to preselect for sentences in `source`: from it into the current target, the model's own target or
    English, else its first pair from that language; None when no pair starts from it."""
    starting = [pair for pair in pairs if pair[0] == source]
    for target in (current[1], model.target_lang, "en"):
        if (source, target) in starting:
            return source, target
    return starting[0] if starting else None


def _say_named_language(named: str, name: str, pair: tuple[str, str], pairs: list[tuple[str, str]]) -> None:
    """Say which source language the file name `name` gave, and whether the pair translates from it (`pairs`: the
    model's, none for a multilingual model)."""
    name = common.escape_markdown(name)  # the user's file name, shown as it is
    if pair[0] == named:
        st.info(f"Translating from {_language(named)}: the language taken from the file name {name}.")
    elif pairs and all(source != named for source, _ in pairs):
        sources = ", ".join(dict.fromkeys(_language(source) for source, _ in pairs))
        st.warning(f"The file name {name} says its sentences are {_language(named)}, but this model has no pair from "
                   f"{_language_name(named)} (it translates from {sources}). Translate reads them as "
                   f"{_language(pair[0])}; for {_language_name(named)}, choose another model under 'Model'.")
    else:
        st.info(f"The file name {name} says its sentences are {_language(named)}; they are translated from "
                f"{_language(pair[0])}, as chosen.")


def _inputs(model, key: str) -> tuple[list[str] | None, object | None, str | None]:
    """Sentences from the text box (one per line) or an uploaded file, the upload (None for typed text) and the language
    an ambiguous file name may give (`corp.pl`: pl) when the model has no pair from it, else None; a table's column is
    chosen in 'Text column'. Sentences of a file named `name.<lang>` carry that language (`source_lang`)."""
    from nlp.translation import TABLE_INPUTS, Translator, _language_in_name

    mode = st.radio("Input", ["Type text", "Upload a file"], horizontal=True, key=f"{key}-input-mode")
    if mode == "Type text":
        text = st.text_area("One sentence per line", value=SAMPLE, height=150, key=f"{key}-text")
        return [line.strip() for line in text.split("\n") if line.strip()], None, None
    upload = st.file_uploader("Text file (one sentence per line; a name such as corpus.es says its language) or a table "
                              "with a column of sentences (CSV/TSV/JSONL/Parquet/Excel)",
                              type=sorted(s.lstrip(".") for s in TEXT_SUFFIXES | TABLE_INPUTS) + _language_suffixes(),
                              key=f"{key}-file")
    if upload is None:
        return None, None, None
    path = common.run_safely(common.kept_upload, upload)
    if path is None:
        return None, upload, None
    options = {}
    if path.suffix.lower() in TABLE_INPUTS:  # other files are read one sentence per line
        _, head = common.uploaded_table(upload)
        if head is not None:
            options = common.column_pickers(head, {"column": ("Text column", lambda probe: model.frame_inputs(probe)[0])},
                                            key, upload=path)
    elif (ambiguous := _ambiguous_name(path)) is not None:  # corp.pl: Polish or Perl; the pair chosen here says which
        maybe = _language_in_name(Path(f"{upload.name}.txt"))  # as corp.pl.txt: pl
        pairs = [] if getattr(model, "multilingual_", False) else _pairs(model)
        untranslatable = maybe is not None and bool(pairs) and all(source != maybe for source, _ in pairs)
        if not untranslatable:  # else no pair to choose for it: said as for corp.pl.txt, once the pair is drawn
            st.info(common.escape_markdown(common.page_message(ambiguous)))
        items = common.run_safely(Translator.read_inputs, path, source=model.source_lang)  # the name read as no language
        sentences = None if items is None else [item["source"] if isinstance(item, dict) else item for item in items]
        return sentences, upload, maybe if untranslatable else None
    return common.run_safely(Translator.read_inputs, path, **options), upload, None


def _ambiguous_name(path: Path) -> str | None:
    """The package's message for a text file whose name may or may not give its language (`corp.pl`: Polish, or a Perl
    file; `_language_in_name`), None for any other name. The page then reads it as naming none: the language is the one
    chosen under 'Language pair', which the message names (PAGE_HINTS)."""
    from core.errors import InputError
    from nlp.translation import _language_in_name

    try:
        _language_in_name(path)
    except InputError as error:
        return str(error)
    return None


def _predict(model, key: str) -> None:
    pair_place = st.container()  # the pair is drawn above the input, once the input says its language
    sentences, upload, untranslatable = _inputs(model, key)
    named = next((s.source_lang for s in sentences or [] if getattr(s, "source_lang", None)), None)
    with pair_place:
        pair = _choose_pair(model, key, named, upload)
        if untranslatable is not None:  # corp.pl for a model without Polish: warned as corp.pl.txt is
            _say_named_language(untranslatable, upload.name, pair, _pairs(model))
    if not sentences:
        st.info("Give at least one sentence to translate.")
        return
    if len(sentences) > MAX_SENTENCES:
        st.warning(f"This page translates the first {MAX_SENTENCES:,} of the {len(sentences):,} sentences; the other "
                   f"{len(sentences) - MAX_SENTENCES:,} are not translated or shown, and the download holds only the first "
                   f"{MAX_SENTENCES:,}.")
        sentences = _first(sentences, MAX_SENTENCES)
    if st.button("Translate", type="primary", key=f"{key}-run"):
        with st.spinner(f"Translating {len(sentences)} sentence(s)…"):
            # predict's records, as the CLI writes them: an empty cell or line is an error record in its place
            records = common.run_safely(model.predict, sentences, source_lang=pair[0], target_lang=pair[1])
        st.session_state[f"{key}-result"] = (list(sentences), records, pair) if records is not None else None
    result = st.session_state.get(f"{key}-result")
    if not result:
        return
    sentences, records, pair = result  # kept so the download button's rerun still shows the output
    failed = sum("error" in record for record in records)
    if failed:
        st.warning(f"{failed:,} of {len(records):,} sentences could not be translated (each says why in its place, "
                   "e.g. an empty cell); the others were.")
    left, right = st.columns(2)
    left.markdown(f"**{_language(pair[0])}**")
    right.markdown(f"**{_language(pair[1])}**")
    for source, record in zip(sentences, records):
        left, right = st.columns(2)
        left.text(str(source))  # plain text: a sentence with **, $ or # is not Markdown
        if "error" in record:
            right.caption(f"Not translated: {common.escape_markdown(common.page_message(str(record['error'])))}")
        else:
            right.text(record.get("translation", ""))
            for warning in record.get("warnings") or []:
                right.caption(common.warning_message(str(warning), markdown=True))
    st.download_button("Download JSONL", "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in records),
                       file_name="translations.jsonl", mime="application/json", key=f"{key}-download")


def _first(sentences, count: int):
    """The first `count` sentences, keeping what a file's `Inputs` say of them (their lines or rows, the empty ones)."""
    from core.protocols import Inputs

    if not isinstance(sentences, Inputs):
        return sentences[:count]
    return Inputs(sentences[:count], ids=sentences.ids[:count],
                  errors={index: said for index, said in sentences.errors.items() if index < count})


def render(key: str = "translation") -> None:
    """Draw the Translation section: model choice, then Predict / Evaluate / Retrain tabs."""
    def evaluate(model) -> None:
        pair = _chosen_pair(model, key)
        st.caption("Upload a TSV/CSV/JSONL with source,target columns, or a .zip of two line-aligned files "
                   "(name.en + name.es). Scores: sacreBLEU and chrF with 95% bootstrap intervals, of "
                   f"{_language(pair[0])} → {_language(pair[1])} (the language pair chosen on the Predict tab).")
        common.evaluate_tab(TASK, model, read_options={"source": pair[0], "target": pair[1]})

    def retrain() -> None:
        st.caption("Trains a small Marian model from scratch on your parallel corpus, with a BPE vocabulary learned "
                   "from it (same data formats as Evaluate). Overrides, e.g.: epochs=20, d_model=128, layers=2. "
                   "Corpora of tens of thousands of pairs give usable models; a few hundred do not.")
        common.retrain_tab(TASK)

    common.task_page(TASK, key, lambda model: _predict(model, key), evaluate=evaluate, retrain=retrain)

if __name__ == "__main__":  # run on its own: streamlit run apps/nlp_translation.py
    common.page_header("Translation")
    render()
