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

st.subheader("Chain tasks across domains")
st.caption("Speech → translation → sentiment on one recording: transcribe it (Whisper tiny.en), translate the transcript "
           "to Spanish (Apertium), and score the sentiment of what was said (MiniLM default).")
from apps import common  # noqa: E402

CHAIN_SAMPLE = "I really loved this film, the acting was wonderful."
recording = st.file_uploader("A recording (WAV/FLAC/OGG) — or leave empty to use a synthesised sample", key="chain-audio")
if st.button("Run the chain", key="chain-run"):
    def chain():
        import shutil
        import subprocess

        from core.errors import InputError

        if recording is not None:
            audio = common.save_upload(recording, {".wav", ".flac", ".ogg", ".mp3"})
        else:
            if shutil.which("espeak-ng") is None:
                raise InputError("espeak-ng is not installed; upload a recording instead")
            audio = common.session_dir() / "chain-sample.wav"
            subprocess.run(["espeak-ng", "-w", str(audio), "-s", "150", CHAIN_SAMPLE], check=True, timeout=30)
        transcript = common.load_model("speech.recognition", None).predict([str(audio)])[0]["text"]
        if not transcript.strip():
            raise InputError("no speech was recognised in the recording")
        translation = common.load_model("nlp.translation", None).predict([transcript])[0]["translation"]
        sentiment = common.load_model("nlp.sentiment", None).predict([transcript])[0]
        return transcript, translation, sentiment

    with st.spinner("Running speech → translation → sentiment…"):
        result = common.run_safely(chain)
    if result is not None:
        transcript, translation, sentiment = result
        left, middle, right = st.columns(3)
        left.metric("Transcript", "")
        left.write(transcript)
        middle.metric("Spanish", "")
        middle.write(translation)
        right.metric("Sentiment", sentiment["label"], f"p = {sentiment['score']:.2f}")
