"""Model registry page: every saved model, compare two metric cards, promote, delete, download."""

import polars as pl
import streamlit as st

from apps import common
from core import jobs
from core.artifacts import delete_model, list_saved_models, promote_model, promoted_defaults, zip_model

common.page_header("Models")
cards = list_saved_models()
promoted = promoted_defaults()


def _scalar_metrics(card):
    return {name: entry.get("value") for name, entry in card.get("metrics", {}).items()
            if isinstance(entry, dict) and isinstance(entry.get("value"), (int, float))}


if not cards:
    st.info("No saved models yet. Start a retrain from any page; finished models appear here.")
else:
    rows = [{"name": c["path"].rsplit("/", 1)[-1], "task": c["task"], "base model": str(c.get("base_model") or c.get("model") or "—"),
             "data hash": ((c.get("training") or {}).get("data_hash") or "—")[:12], "created": c.get("created", ""),
             "default": "★" if promoted.get(c["task"]) == c["path"] else "",
             "metrics": ", ".join(f"{k}={v:.3g}" for k, v in list(_scalar_metrics(c).items())[:4])} for c in cards]
    st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")
    by_name = {c["path"].rsplit("/", 1)[-1]: c for c in cards}
    st.subheader("Compare")
    left, right = st.columns(2)
    first = left.selectbox("Model A", list(by_name), key="cmp-a")
    second = right.selectbox("Model B", list(by_name), index=min(1, len(by_name) - 1), key="cmp-b")
    a, b = _scalar_metrics(by_name[first]), _scalar_metrics(by_name[second])
    names = sorted(set(a) | set(b))
    if names:
        st.dataframe(pl.DataFrame({"metric": names, first: [a.get(n) for n in names], f"{second} ": [b.get(n) for n in names]}),
                     hide_index=True, width="stretch")
    st.subheader("Manage")
    chosen = st.selectbox("Model", list(by_name), key="manage")
    card = by_name[chosen]
    col1, col2, col3 = st.columns(3)
    if col1.button("Promote to dashboard default", key="promote"):
        common.run_safely(promote_model, card["task"], card["path"])
        st.success(f"{chosen} is now the default for {card['task']}")
    data = common.run_safely(zip_model, card["path"])
    if data is not None:
        col2.download_button("Download (.zip)", data, file_name=f"{chosen}.zip", mime="application/zip", key="download")
    if col3.button("Delete", key="delete"):
        common.run_safely(delete_model, card["path"])
        st.rerun()
    with st.expander("Model card"):
        st.json({k: v for k, v in card.items() if k not in {"path", "files"}})

st.subheader("Training jobs")
job_rows = [{"id": j.id, "task": j.task, "status": j.status, "step": (j.progress or {}).get("step"),
             "of": (j.progress or {}).get("total_steps"), "error": j.error or ""} for j in jobs.list_jobs()[:50]]
if job_rows:
    st.dataframe(pl.DataFrame(job_rows), hide_index=True, width="stretch")
else:
    st.caption("No jobs yet.")
