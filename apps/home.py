"""Home page: what Verticals is and every task with its embedded default."""

from pathlib import Path

import polars as pl
import streamlit as st

from apps.common import default_caption
from core import list_tasks
from core.artifacts import list_saved_models

st.title("Verticals")
st.write("Vertical machine-learning tasks on one shared core. Every task works offline with an embedded default; "
         "bring a hub model or retrain on your own data from each page.")
rows = [{"task": name, "what": spec.title, "embedded default": default_caption(name), "hub default": spec.hub_default or "—"}
        for name, spec in list_tasks().items()]  # in the page's words: no command-line rebuild notes
st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")
saved = list_saved_models()
st.subheader("Saved models")
if saved:
    st.dataframe(pl.DataFrame([{"name": c["path"].rsplit("/", 1)[-1], "task": c["task"], "created": c.get("created", "")} for c in saved]),
                 hide_index=True, width="stretch")
else:
    st.caption("None yet: retrain a model from any page and it appears here.")

st.subheader("Chain tasks across domains")
st.caption("Speech → translation → sentiment on one recording in any language: transcribe it and identify the language "
           "(multilingual Whisper base), bring it to English (Apertium where the pair is installed, Whisper's own "
           "speech translation otherwise; an English recording is translated to Spanish instead), and score the "
           "sentiment of what was said in English (MiniLM default).")
from apps import common  # noqa: E402

CHAIN_SAMPLES = {"English": ("en", "I really loved this film, the acting was wonderful."),
                 "Spanish": ("es", "Me encantó esta película, los actores son maravillosos.")}
recording = st.file_uploader("A recording (WAV/FLAC/OGG/MP3/OPUS/AIFF, or a phone's M4A/AMR) in any language — or leave empty to use a synthesised sample",
                             key="chain-audio")
sample = st.radio("Sample voice (espeak-ng)", list(CHAIN_SAMPLES), horizontal=True, key="chain-sample")


def speech_model():
    """The multilingual Whisper base when its packages are installed, else the English-only default."""
    from core.errors import MissingDependencyError

    try:
        return common.load_model("speech.recognition", "whisper-base")
    except MissingDependencyError:
        return common.load_model("speech.recognition", None)


def to_english(audio: str, heard: dict) -> tuple[str, str]:
    """(English text, how it was made): Apertium for an installed pair, else Whisper's speech translation."""
    from core import load
    from nlp.translation import Translator

    if (heard["language"], "en") in Translator.language_pairs():
        translator = load("nlp.translation", None, source_lang=heard["language"], target_lang="en")
        return translator.predict([heard["text"]])[0]["translation"], f"Apertium {heard['language']}→en"
    english = speech_model().predict([audio], source=heard["language"], target="en")[0]["text"]
    return english, "Whisper speech translation"


if st.button("Run the chain", key="chain-run"):
    def chain():
        import shutil
        import subprocess

        from core.errors import InputError

        if recording is not None:
            suffix = Path(recording.name or "").suffix.lower()
            if suffix not in common.AUDIO_SUFFIXES:  # the Speech page's formats; a .zip is no recording
                raise InputError(f"{recording.name} is not a recording this page reads; upload one of: "
                                 f"{', '.join(sorted(common.AUDIO_SUFFIXES))}")
            audio = common.kept_upload(recording, common.AUDIO_SUFFIXES)
        else:
            if shutil.which("espeak-ng") is None:
                raise InputError("espeak-ng is not installed; upload a recording instead")
            voice, sentence = CHAIN_SAMPLES[sample]
            audio = common.session_dir() / f"chain-sample-{voice}.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-w", str(audio), "-s", "150", sentence], check=True, timeout=30)
        try:
            heard = speech_model().predict([str(audio)])[0]
        except InputError as error:  # an unreadable upload: named, with the formats the uploader takes
            if recording is None:
                raise
            raise common.uploaded_audio_error(error, recording.name) from error
        if not heard["text"].strip():
            raise InputError("no speech was recognised in the recording")
        heard["language"] = heard.get("language") or "en"
        if heard["language"] == "en":
            english, via = heard["text"], ""
            translation = ("Spanish", common.load_model("nlp.translation", None).predict([english])[0]["translation"], "Apertium en→es")
        else:
            english, via = to_english(str(audio), heard)
            translation = ("English", english, via)
        sentiment = common.load_model("nlp.sentiment", None).predict([english])[0]
        return heard, translation, sentiment

    with st.spinner("Running speech → translation → sentiment…"):
        result = common.run_safely(chain)
    if result is not None:
        heard, (label, translated, via), sentiment = result
        left, middle, right = st.columns(3)
        language = common.escape_markdown(str(heard["language"]))  # what was heard and made of it, shown as it is
        left.metric("Transcript", language)
        left.write(common.escape_markdown(heard["text"]))
        if heard.get("language_probability") is not None:
            left.caption(f"language {language}, p = {heard['language_probability']:.2f}")
        middle.metric(label, "")
        middle.write(common.escape_markdown(translated))
        middle.caption(via)
        right.metric("Sentiment", common.escape_markdown(str(sentiment["label"])), f"p = {sentiment['score']:.2f}")
