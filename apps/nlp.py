"""NLP page: sentiment (batch table + per-word attributions), extractive QA (answer highlighted in its context) and
translation (drawn by apps/nlp_translation.py), each with Evaluate and Retrain tabs."""

import html
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # streamlit runs this file as a script
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from apps import common
from core.errors import InputError  # noqa: E402

SENTIMENT, QA = "nlp.sentiment", "nlp.qa"
TABLE_SUFFIXES = {".csv", ".tsv", ".jsonl", ".json", ".ndjson", ".parquet", ".txt", ".xlsx", ".xls", ".ods"}
SAMPLE_TEXTS = ["A warm, funny and beautifully acted film.", "The plot is a mess and the jokes fall flat.",
                "Delivery was quick and the coffee tastes great.", "I want my money back."]
SAMPLE_CONTEXT = ("The Amazon rainforest covers much of the Amazon basin of South America. The basin covers "
                  "7,000,000 square kilometres, of which 5,500,000 square kilometres are covered by the rainforest. "
                  "The region includes territory belonging to nine nations; the majority of the forest is in Brazil.")
SAMPLE_QUESTION = "How many nations does the region include?"


def attribution_html(tokens: list[dict]) -> str:
    """Words shaded by their attribution: green pushes toward the predicted label, red away from it."""
    peak = max((abs(t["weight"]) for t in tokens), default=0.0) or 1.0
    spans = []
    for token in tokens:
        alpha = round(min(1.0, abs(token["weight"]) / peak) * 0.7, 3)
        colour = "22, 163, 74" if token["weight"] >= 0 else "220, 38, 38"
        spans.append(f"<span title='{token['weight']:+.3f}' style='background: rgba({colour}, {alpha}); padding: 1px 3px; "
                     f"border-radius: 3px'>{html.escape(token['token'])}</span>")
    return "<div style='line-height: 2; font-size: 1.1rem'>" + " ".join(spans) + "</div>"


def highlight_html(context: str, start: int, end: int) -> str:
    """The context with the answer span marked."""
    if start < 0 or end <= start:
        return f"<div style='line-height: 1.7'>{html.escape(context)}</div>"
    return (f"<div style='line-height: 1.7'>{html.escape(context[:start])}<mark style='background: #fde047; padding: 1px 2px'>"
            f"{html.escape(context[start:end])}</mark>{html.escape(context[end:])}</div>")


def load_with_progress(task: str, source: str | None, estimate: str = ""):
    """`common.load_model` with an st.progress bar driven by what the loading code reports (shown only when it
    reports, i.e. not when the model is already cached); None after an error (shown)."""
    from core import progress

    bar = None

    def show(fraction: float | None, text: str) -> None:
        # Runs inside the cached loader, so Streamlit records these calls and replays them on every later cache
        # hit: the bar must be emptied here, at the load's closing report, or each rerun would show it stuck.
        nonlocal bar
        if fraction is not None and fraction >= 1.0:
            if bar is not None:
                bar.empty()
            return
        if bar is None:
            bar = st.progress(0.0, text=text)
        bar.progress(fraction or 0.0, text=f"{text}{estimate}")

    with progress.reporting(show):
        model = common.run_safely(common.load_model, task, source)
    if bar is not None:
        bar.empty()
    return model


def _sentiment_estimate(model_class, source: str | None) -> str:
    """How long the sentiment default takes to be ready here, in words (shipped: seconds; a build: minutes)."""
    from nlp._sentiment_default import SHIPPED

    folder, quick = model_class.default_cache()
    if source is not None or (folder / "card.json").is_file() or (not quick and (SHIPPED / "card.json").is_file()):
        return " (a few seconds)"
    return " (quick build, about 3 minutes on 2 CPU cores)" if quick else " (about 13 minutes on 2 CPU cores)"


def _text_of(probe):
    """The text column nlp.sentiment reads by itself (for `common.picked_column`)."""
    from nlp._textdata import as_text_frame

    return as_text_frame(probe, require_label=False)["text"][0]


def _label_of(probe):
    """The label column nlp.sentiment reads by itself (for `common.picked_column`)."""
    import polars as pl

    from nlp._textdata import as_text_frame

    try:
        return as_text_frame(probe)["label"][0]
    except InputError:  # no text column found by its name: the label column is still found by its own
        texts = [name for name, dtype in probe.schema.items() if dtype == pl.String]
        if not texts:
            raise
        return as_text_frame(probe, text_column=texts[0])["label"][0]


def sentiment_text_column(upload) -> dict:
    """The 'Text column' picker for a table to score; the reader option it gives (none for a text file, read one text
    per line)."""
    if upload is None or Path(upload.name).suffix.lower() == ".txt":
        return {}
    path, head = common.uploaded_table(upload, TABLE_SUFFIXES, one_file="table")
    if head is None:  # not a table: the run says what is wrong with it
        return {}
    return common.column_pickers(head, {"column": ("Text column", _text_of)}, "nlp-sentiment", upload=path)


def sentiment_labelled_columns(path: Path, head, key: str) -> dict:
    """The 'Text column' and 'Label column' pickers for labelled data (Evaluate and Retrain tabs); none for a
    label-first text file (`1 a fine film .`), which has no columns. The reader's own checks run on the table's `head`
    with the chosen columns (InputError: e.g. no text column found), so the table is not read whole to find out."""
    from nlp._textdata import as_text_frame, label_first_lines

    try:
        if label_first_lines(path) is not None:
            return {}
    except InputError:  # a broken label-first file: reading it says where
        return {}
    options = common.column_pickers(head, {"column": ("Text column", _text_of), "target": ("Label column", _label_of)},
                                    key, upload=path)
    as_text_frame(head, options.get("column"), options.get("target"), where=path.name)  # as SentimentModel.read_data
    if options.get("target") is not None and _header_looks_like_data(head, options["target"]):
        st.warning(f"The first row of {common.escape_markdown(path.name)} is read as its column names "
                   f"({common.escape_markdown(', '.join(repr(str(name)) for name in head.columns))}), not as an example: "
                   "it is left out of the data. If the file has no header line, add one (such as text,label) and upload "
                   "it again.")
    return options


def _header_looks_like_data(head, label_column: str) -> bool:
    """Whether the chosen label column's name reads as one of its labels (a number, or a value the column holds): the
    first row of a file without a header line (`1<TAB>Great phone`) taken for column names."""
    name = str(label_column).strip().lower()
    try:
        float(name)
        return True
    except ValueError:
        pass
    return name in {str(value).strip().lower() for value in head[label_column].to_list() if value is not None}


def sentiment_labels(path, **options) -> list:
    """The label values of labelled texts, as nlp.sentiment reads them (for `common.data_labels`)."""
    from nlp.sentiment import SentimentModel

    return SentimentModel.read_data(path, **options)["label"].unique(maintain_order=True).to_list()


def sentiment_evaluate_columns(model) -> common.ColumnChoice:
    """The Evaluate tab's pickers (`sentiment_labelled_columns`) and, for a model labelled negative/positive, a 'Value
    that means positive' box offering the data's two label values (yes/no, 1/2) after 'automatic'; the chosen one is
    passed as positive_label."""
    names = [str(name) for name in (model.card.get("labels") or [])]

    def columns(path: Path, head, key: str) -> dict:
        options = sentiment_labelled_columns(path, head, key)
        if sorted(name.lower() for name in names) != ["negative", "positive"]:  # positive_label reads into those two
            return options
        values = common.data_labels(path, options, sentiment_labels)
        automatic = f"automatic (the model's labels: {', '.join(names)}, or 0/1)"
        return {**options, **common.positive_label_choice(values, "Value that means positive", automatic, key,
                                                                same=lambda value: str(value).strip().lower(),
                                                                model_labels=names)}

    return columns


def sentiment_section() -> None:
    import polars as pl

    from nlp.sentiment import SentimentModel

    def predict(model) -> None:
        text = st.text_area("Texts, one per line", value="\n".join(SAMPLE_TEXTS), key="nlp-sentiment-text", height=140)
        upload = st.file_uploader("…or a table of texts (CSV/TSV/JSONL/Parquet/Excel) or a TXT file with one text per line",
                                  key="nlp-sentiment-upload")
        options = sentiment_text_column(upload)
        attribute = st.checkbox("Word attributions for the first text (slower: the model reruns once per word it "
                                "reads, up to about a minute for a long review)", key="nlp-sentiment-explain")
        if st.button("Analyse", key="nlp-sentiment-run"):
            def run():
                from nlp._encoder import is_blank

                # a typed line of only spaces or invisible characters (a zero-width space pasted from a web page) is
                # blank, as the model's own check reads it: skipped, not sent to fail the whole batch
                texts = (SentimentModel.read_inputs(common.kept_upload(upload, TABLE_SUFFIXES, "table"), **options)
                         if upload is not None else [line for line in text.splitlines() if not is_blank(line)])
                if not texts:
                    raise InputError("no text to analyse: type at least one line, or upload a table with a text column")
                errors = getattr(texts, "errors", {})  # a blank line or cell: an error record in its place (as the CLI)
                scored = [text for index, text in enumerate(texts) if index not in errors]
                if not scored:
                    raise InputError(f"no text to analyse: none of the {len(texts)} can be scored "
                                     f"({next(iter(errors.values()))})")
                predicted = iter(model.predict(scored))
                records = [{"error": errors[index]} if index in errors else next(predicted) for index in range(len(texts))]
                return list(texts), records, model.explain(scored[0])[0] if attribute else None

            with st.spinner("Analysing…"):
                result = common.run_safely(run)
            if result is not None:
                texts, records, explanation = result
                table = pl.DataFrame({"text": texts, "label": [r.get("label") for r in records],
                                      "score": [r.get("score") for r in records]}, schema_overrides={"score": pl.Float64})
                failed = [r.get("error") for r in records]
                if any(failed):
                    table = table.with_columns(pl.Series("error", [common.page_message(error or "") for error in failed]))
                    st.warning(f"{sum(map(bool, failed)):,} of {len(texts):,} texts could not be scored (their 'error' "
                               "column says why, e.g. an empty line); the others were.")
                common.prediction_table(table, "texts", records=records)  # e.g. "!!!": its score is a guess
                if explanation is None:
                    return
                st.caption(f"Word attributions for the first scored text (predicted "
                           f"{common.escape_markdown(str(explanation['label']))}, {explanation['score']:.2f}); shading = "
                           "drop in the label's log-odds without the word")
                if len(records) > 1:  # a one-text table shows its warnings above it already
                    common.record_warnings(explanation)
                if explanation.get("note"):  # a text longer than the model reads: the words after carry no weight
                    st.caption(common.escape_markdown(common.page_message(explanation["note"])))
                st.markdown(attribution_html(explanation["tokens"]), unsafe_allow_html=True)

    def retrain() -> None:
        st.caption("CSV/TSV/Parquet/JSONL/Excel with a column of texts and one of labels (0/1 or names), chosen under "
                   "'Text column' and 'Label column' once the file is uploaded.")
        common.retrain_tab(SENTIMENT, suffixes=TABLE_SUFFIXES, columns=sentiment_labelled_columns, one_file="table")

    common.task_page(SENTIMENT, "nlp-sentiment", predict,
                     evaluate=lambda model: common.evaluate_tab(SENTIMENT, model, suffixes=TABLE_SUFFIXES, one_file="table",
                                                                columns=sentiment_evaluate_columns(model)), retrain=retrain,
                     load=lambda source: load_with_progress(SENTIMENT, source,
                                                            estimate=_sentiment_estimate(SentimentModel, source)))


def qa_section() -> None:
    import polars as pl

    from nlp.qa import RETRIEVAL_NULL_THRESHOLD, QAModel

    def about(model) -> None:
        if getattr(model, "kind", "") == "retrieval":
            st.info("The offline default picks the most relevant sentence and a span by simple rules: no QA-trained "
                    "model ships offline, so answers are often imprecise. Retrain, or use a hub model when online.")
        with st.expander("About this model"):
            st.json(model.card)

    def predict(model) -> None:
        context = st.text_area("Context", value=SAMPLE_CONTEXT, key="nlp-qa-context", height=140)
        question = st.text_input("Question", value=SAMPLE_QUESTION, key="nlp-qa-question")
        upload = st.file_uploader("…or many questions: SQuAD JSON, or a table with question and context columns",
                                  key="nlp-qa-upload")
        abstain = st.checkbox("Say \"no answer\" when the best span scores below a threshold (SQuAD 2.0)",
                              key="nlp-qa-abstain")
        threshold = st.slider("No-answer threshold", 0.0, 1.0, RETRIEVAL_NULL_THRESHOLD, 0.05, key="nlp-qa-threshold",
                              disabled=not abstain, help="0.6 was best for the offline default on a small set of "
                              "answerable and unanswerable questions; off, the model's own setting applies")
        if st.button("Answer", key="nlp-qa-run"):
            def run():
                if upload is not None:
                    items = QAModel.read_inputs(common.kept_upload(upload, {".json", *TABLE_SUFFIXES},
                                                                      "SQuAD JSON file or table"))
                else:
                    items = [{"question": question, "context": context}]
                return items, model.predict(items, **({"null_threshold": threshold} if abstain else {}))

            with st.spinner("Answering…"):
                result = common.run_safely(run)
            if result is not None:
                items, records = result
                # an empty question or context is an error record in its place (nlp.qa errors_in_place), as the
                # Sentiment section shows them: the highlighted answer is the first answered item's
                answered = [(item, record) for item, record in zip(items, records) if "error" not in record]
                failed = [record.get("error") for record in records]
                if not answered:
                    st.error(f"None of the {len(records):,} questions could be answered "
                             f"({common.page_message(next(error for error in failed if error))}).")
                else:
                    item, first = answered[0]
                    answer = common.escape_markdown(first["answer"]) or "(no answer)"
                    st.markdown(f"**Answer:** {answer} · score {first['score']:.2f}")
                    if len(items) > 1:
                        st.caption(f"The highlighted answer is question {records.index(first) + 1}'s: "
                                   f"{common.escape_markdown(str(item.get('question', '')))}")
                    common.record_warnings(first)
                    st.markdown(highlight_html(item["context"], first["start"], first["end"]), unsafe_allow_html=True)
                if len(items) > 1:
                    table = pl.DataFrame({"question": [str(i.get("question") or "") for i in items],
                                          "answer": [r.get("answer") for r in records],
                                          "score": [r.get("score") for r in records]},
                                         schema_overrides={"answer": pl.String, "score": pl.Float64})
                    if any(failed):
                        table = table.with_columns(pl.Series("error", [common.page_message(error or "")
                                                                       for error in failed]))
                        st.warning(f"{sum(map(bool, failed)):,} of {len(items):,} questions could not be answered "
                                   "(their 'error' column says why, e.g. an empty question); the others were.")
                    common.prediction_table(table, "questions", records=records)

    def retrain() -> None:
        st.caption("SQuAD v1.1 / v2.0 JSON, or a Hugging Face datasets SQuAD export (JSON lines or Parquet). Training "
                   "starts from a QA head on the packaged MiniLM encoder.")
        common.retrain_tab(QA, suffixes=QA_SUFFIXES, one_file="SQuAD JSON file")

    common.task_page(QA, "nlp-qa", predict, about=about, retrain=retrain,
                     evaluate=lambda model: common.evaluate_tab(QA, model, suffixes=QA_SUFFIXES,
                                                                 one_file="SQuAD JSON file"))


# SQuAD's nested JSON, or Hugging Face datasets' SQuAD export as JSON lines or Parquet (nlp.qa.read_squad reads each)
QA_SUFFIXES = {".json", ".jsonl", ".ndjson", ".parquet", ".pq"}


def translation_section() -> None:
    try:
        from apps import nlp_translation
    except Exception as error:  # the rest of the page must work without it
        st.info(f"Translation is not available in this installation ({type(error).__name__}).")
        return
    nlp_translation.render()


common.page_header("Language")
choice = st.radio("Task", ["Sentiment", "Extractive QA", "Translation"], horizontal=True, key="nlp-task")
if choice == "Sentiment":
    sentiment_section()
elif choice == "Extractive QA":
    qa_section()
else:
    translation_section()
