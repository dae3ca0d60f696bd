"""The Translation section of the NLP page: model and language pair, text or file in, source/target side by side."""

from __future__ import annotations

import json

import streamlit as st

from apps import common

TASK = "nlp.translation"
MAX_SENTENCES = 500  # per request on the page; larger files go through `verticals predict`
SAMPLE = "Hello, how are you?\nThe train leaves at eight in the morning.\nI would like a cup of coffee, please.\nWhere is the library?"
FILE_SUFFIXES = {".txt", ".tsv", ".csv", ".jsonl", ".parquet"}


def _language(code: str) -> str:
    from nlp.translation import LANGUAGE_NAMES

    return f"{LANGUAGE_NAMES.get(code, code)} ({code})"


def _choose_pair(model, key: str) -> tuple[str, str]:
    """Language pair widgets: the model's pairs in a select box; free codes for multilingual models."""
    if getattr(model, "multilingual_", False):
        left, right = st.columns(2)
        source = left.text_input("Source language code", value=model.source_lang, key=f"{key}-src-code")
        target = right.text_input("Target language code", value=model.target_lang, key=f"{key}-tgt-code")
        return source.strip() or model.source_lang, target.strip() or model.target_lang
    pairs = model.language_pairs() or [(model.source_lang, model.target_lang)]
    default = (model.source_lang, model.target_lang)
    index = pairs.index(default) if default in pairs else 0
    if len(pairs) == 1:
        st.caption(f"Language pair: {_language(pairs[0][0])} → {_language(pairs[0][1])}")
        return pairs[0]
    return st.selectbox("Language pair", pairs, index=index, key=f"{key}-pair",
                        format_func=lambda pair: f"{_language(pair[0])} → {_language(pair[1])}")


def _inputs(model, key: str) -> list[str] | None:
    """Sentences from the text box (one per line) or an uploaded file; a table's column is chosen in 'Text column'."""
    from nlp.translation import TABLE_INPUTS, Translator

    mode = st.radio("Input", ["Type text", "Upload a file"], horizontal=True, key=f"{key}-input-mode")
    if mode == "Type text":
        text = st.text_area("One sentence per line", value=SAMPLE, height=150, key=f"{key}-text")
        return [line.strip() for line in text.split("\n") if line.strip()]
    upload = st.file_uploader("Text file (one sentence per line) or a table with a column of sentences",
                              type=[s.lstrip(".") for s in FILE_SUFFIXES] + ["en", "es", "de", "fr"], key=f"{key}-file")
    if upload is None:
        return None
    path = common.run_safely(common.kept_upload, upload)
    if path is None:
        return None
    options = {}
    if path.suffix.lower() in TABLE_INPUTS:  # other files are read one sentence per line
        _, head = common.uploaded_table(upload)
        if head is not None:
            options = common.column_pickers(head, {"column": ("Text column", lambda probe: model.frame_inputs(probe)[0])},
                                            key)
    return common.run_safely(Translator.read_inputs, path, **options)


def _predict(model, key: str) -> None:
    pair = _choose_pair(model, key)
    sentences = _inputs(model, key)
    if not sentences:
        st.info("Give at least one sentence to translate.")
        return
    if len(sentences) > MAX_SENTENCES:
        st.warning(f"Only the first {MAX_SENTENCES} of {len(sentences)} sentences are translated here; "
                   "use `verticals predict nlp.translation --input FILE` for the rest.")
        sentences = sentences[:MAX_SENTENCES]
    if st.button("Translate", type="primary", key=f"{key}-run"):
        with st.spinner(f"Translating {len(sentences)} sentence(s)…"):
            translations = common.run_safely(model.translate, sentences, pair[0], pair[1])
        st.session_state[f"{key}-result"] = (sentences, translations, pair) if translations is not None else None
    result = st.session_state.get(f"{key}-result")
    if not result:
        return
    sentences, translations, pair = result  # kept so the download button's rerun still shows the output
    left, right = st.columns(2)
    left.markdown(f"**{_language(pair[0])}**")
    right.markdown(f"**{_language(pair[1])}**")
    for source, translation in zip(sentences, translations):
        left, right = st.columns(2)
        left.text(source)  # plain text: a sentence with **, $ or # is not Markdown
        right.text(translation)
    records = [{"source": s, "translation": t, "source_lang": pair[0], "target_lang": pair[1]}
               for s, t in zip(sentences, translations)]
    st.download_button("Download JSONL", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                       file_name="translations.jsonl", mime="application/json", key=f"{key}-download")


def render(key: str = "translation") -> None:
    """Draw the Translation section: model choice, then Predict / Evaluate / Retrain tabs."""
    def evaluate(model) -> None:
        st.caption("Upload a TSV/CSV/JSONL with source,target columns, or a .zip of two line-aligned files "
                   "(name.en + name.es). Scores: sacreBLEU and chrF with 95% bootstrap intervals.")
        common.evaluate_tab(TASK, model)

    def retrain() -> None:
        st.caption("Trains a small Marian model from scratch on your parallel corpus, with a BPE vocabulary learned "
                   "from it (same data formats as Evaluate). Overrides, e.g.: epochs=20, d_model=128, layers=2. "
                   "Corpora of tens of thousands of pairs give usable models; a few hundred do not.")
        common.retrain_tab(TASK)

    common.task_page(TASK, key, lambda model: _predict(model, key), evaluate=evaluate, retrain=retrain)

if __name__ == "__main__":  # run on its own: streamlit run apps/nlp_translation.py
    common.page_header("Translation")
    render()
