"""Home page: what Verticals is and every task with its embedded default."""

import polars as pl
import streamlit as st

from core import list_tasks
from core.artifacts import list_saved_models

st.title("Verticals")
st.write("Vertical machine-learning tasks on one shared core. Every task works offline with an embedded default; "
         "bring a hub model or retrain on your own data from each page.")
rows = [{"task": name, "what": spec.title, "embedded default": spec.default, "hub default": spec.hub_default or "—"}
        for name, spec in list_tasks().items()]
st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")
saved = list_saved_models()
st.subheader("Saved models")
if saved:
    st.dataframe(pl.DataFrame([{"name": c["path"].rsplit("/", 1)[-1], "task": c["task"], "created": c.get("created", "")} for c in saved]),
                 hide_index=True, width="stretch")
else:
    st.caption("None yet: retrain a model from any page and it appears here.")
