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


def _shown(name: str) -> str:
    """A model's folder name in Markdown (errors, warnings, buttons): as it is on disk, e.g. **x** or [a](b) made by the
    CLI, never bold or a link."""
    return common.escape_markdown(name)


def _remember_choice() -> None:
    """The user picked a model under Manage: that name is what Promote and Delete act on."""
    st.session_state["manage-target"] = st.session_state.get("manage")


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
        # "A: name" and "B: name" never clash with "metric" nor with each other, whatever the models are called
        st.dataframe(pl.DataFrame({"metric": names, f"A: {first}": [a.get(n) for n in names],
                                   f"B: {second}": [b.get(n) for n in names]}), hide_index=True, width="stretch")
    st.subheader("Manage")
    fresh = "manage" not in st.session_state  # first run of the page (or back from another page): nothing chosen yet
    chosen = st.selectbox("Model", list(by_name), key="manage", on_change=_remember_choice)
    # Promote and Delete act on the name the user chose, even when the list changed under it meanwhile (another tab,
    # the CLI or a finished training): the selectbox would otherwise fall back to another model on its own.
    target = chosen if fresh else st.session_state.get("manage-target") or chosen
    vanished = target not in by_name
    if vanished:
        st.error(f"{_shown(target)} no longer exists (deleted in another tab, by the CLI or on disk); nothing was done "
                 f"with it. The list shows the models there are now; {_shown(chosen)} is selected.")
    card = by_name[chosen]
    col1, col2, col3 = st.columns(3)
    if col1.button("Promote to dashboard default", key="promote") and not vanished:
        if common.run_safely(promote_model, by_name[target]["task"], by_name[target]["path"]) is not None:
            st.success(f"{_shown(target)} is now the default for {by_name[target]['task']}")
    data = common.run_safely(zip_model, card["path"])
    if data is not None:
        col2.download_button("Download (.zip)", data, file_name=f"{chosen}.zip", mime="application/zip", key="download")
    if col3.button("Delete", key="delete") and not vanished:
        st.session_state["delete-pending"] = target  # asked first: deleting cannot be undone
    pending = st.session_state.get("delete-pending")
    if pending is not None and (pending != target or vanished):  # another model chosen, or this one gone meanwhile
        st.session_state.pop("delete-pending", None)
    elif pending is not None:
        default = promoted.get(by_name[pending]["task"]) == by_name[pending]["path"]
        st.warning(f"Delete {_shown(pending)} for good? Its folder is removed from the registry and cannot be restored"
                   f"{' (it is the dashboard default for ' + by_name[pending]['task'] + ')' if default else ''}.")
        yes, no = st.columns(2)
        if yes.button(f"Yes, delete {_shown(pending)}", key="delete-confirm", type="primary"):
            st.session_state.pop("delete-pending", None)
            if common.run_safely(lambda: delete_model(by_name[pending]["path"]) or True):
                st.session_state.pop("manage-target", None)
                st.rerun()
        elif no.button("Keep it", key="delete-cancel"):
            st.session_state.pop("delete-pending", None)
            st.rerun()
    st.session_state["manage-target"] = chosen
    with st.expander("Model card"):
        st.json({k: v for k, v in card.items() if k not in {"path", "files"}})

st.subheader("Training jobs")
# a job's error names the controls of its task's Retrain tab: the message says where that tab is
job_rows = [{"id": j.id, "task": j.task, "status": j.status, "step": (j.progress or {}).get("step"),
             "of": (j.progress or {}).get("total_steps"),
             "error": common.page_message(j.error or "", place=common.retrain_place(j.task))} for j in jobs.list_jobs()[:50]]
if job_rows:
    st.dataframe(pl.DataFrame(job_rows), hide_index=True, width="stretch")
else:
    st.caption("No jobs yet.")
