"""Speech page: upload or record audio (or a synthesised sample), see the waveform and the transcript with
per-word confidence shading and timestamps, the language heard and, with the multilingual Whisper base, an English
translation; Evaluate and Retrain tabs."""

import html
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # streamlit runs this file as a script
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from apps import common  # noqa: E402
from core.errors import InputError  # noqa: E402

TASK = "speech.recognition"
SUFFIXES = common.AUDIO_SUFFIXES
DATA_SUFFIXES = {".csv", ".tsv", ".jsonl", ".json", ".ndjson", ".parquet", ".txt"}
SAMPLES = ["The quick brown fox jumps over the lazy dog.", "Please call Stella and ask her to bring these things.",
           "Seven eight nine zero one two three.", "El niño lee un libro en la escuela.",
           "Le train arrive à la gare le matin."]
SAMPLE_VOICES = {"El niño lee un libro en la escuela.": "es", "Le train arrive à la gare le matin.": "fr"}
BUILTINS = {"Whisper tiny.en (English)": None, "Whisper base (99 languages, translation to English)": "whisper-base"}


@st.cache_data(show_spinner=False, max_entries=8)
def synthesise(sentence: str) -> bytes:
    """A bundled sample: the sentence spoken by espeak-ng (Debian package), as WAV bytes."""
    if shutil.which("espeak-ng") is None:
        raise InputError("espeak-ng is not installed, so no sample can be synthesised; upload or record audio instead")
    voice = SAMPLE_VOICES.get(sentence, "en")
    result = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", "150", sentence], capture_output=True, timeout=30,
                            check=False)
    if result.returncode != 0 or not result.stdout:
        raise InputError("espeak-ng could not synthesise the sample")
    return result.stdout


def confidence_html(words: list[dict]) -> str:
    """Words shaded by confidence (low = red background), timestamps in the tooltip."""
    spans = []
    for word in words:
        confidence = word.get("confidence")
        alpha = 0.0 if confidence is None else round(max(0.0, min(1.0, 1.0 - confidence)) * 0.8, 3)
        timing = "" if word.get("start_s") is None else f"{word['start_s']:.2f}–{word['end_s']:.2f} s, "
        title = f"{timing}confidence {confidence:.2f}" if confidence is not None else timing
        spans.append(f"<span title='{html.escape(title)}' style='background: rgba(220, 38, 38, {alpha}); "
                     f"padding: 1px 3px; border-radius: 3px'>{html.escape(word['word'])}</span>")
    return "<div style='line-height: 2; font-size: 1.1rem'>" + " ".join(spans) + "</div>"


def draw_waveform(samples) -> None:
    """The waveform's envelope (about 2,000 points) of decoded mono samples."""
    import numpy as np
    import polars as pl

    from speech.audio import SAMPLE_RATE_HZ

    step = max(1, len(samples) // 2000)
    envelope = np.abs(samples[: len(samples) // step * step].reshape(-1, step)).max(axis=1) if step > 1 else samples
    frame = pl.DataFrame({"time_s": np.arange(len(envelope)) * step / SAMPLE_RATE_HZ, "amplitude": envelope})
    st.line_chart(frame, x="time_s", y="amplitude", height=160)


def draw_transcript(record: dict) -> None:
    common.record_warnings(record)  # e.g. low confidence: what to change on this page
    st.subheader("Transcript")
    if record["words"] and any(w.get("confidence") is not None for w in record["words"]):
        st.markdown(confidence_html(record["words"]), unsafe_allow_html=True)
        st.caption("Shading: the redder a word, the less sure the model is. Hover for times and confidence.")
    else:
        st.text(record["text"] or "(no speech recognised)")  # plain text: no Markdown in what was heard
    if record["words"]:
        with st.expander("Words with timestamps"):
            st.dataframe(record["words"], hide_index=True)
    if record.get("transcript") is not None and record.get("translated_by", "").startswith("apertium"):
        st.subheader("Translation")  # the words above are the spoken ones; the text is their translation
        st.text(record["text"])
        st.caption(f"Translated by {record['translated_by']} from the transcript")
    language = ""
    if record.get("language"):
        language = f" · language {common.escape_markdown(str(record['language']))}"
        if record.get("language_probability") is not None:
            language += f" (p = {record['language_probability']:.2f})"
        if record.get("text_language") and record["text_language"] != record["language"]:
            language += f" · text translated to {common.escape_markdown(str(record['text_language']))}"
    st.caption(f"{record['duration_s']:.1f} s of audio{language}")


def language_options(model) -> dict:
    """Spoken language (detected unless chosen) and output (transcript or English), for multilingual models."""
    if model is None or model.card.get("language") != "multilingual":
        return {}
    left, right = st.columns(2)
    spoken = left.text_input("Spoken language (code, e.g. es; empty = detect)", value="", key="speech-source")
    output = right.radio("Text", ["Transcript", "English translation"], horizontal=True, key="speech-target")
    return {"source": spoken.strip() or None, "target": "en" if output == "English translation" else None}


common.page_header("Speech recognition")
def load(source: str | None):
    if source is None:  # the embedded default, or the named built-in multilingual model
        builtin = st.radio("Built-in", list(BUILTINS), horizontal=True, key="speech-builtin")
        source = BUILTINS[builtin]
    return common.run_safely(common.load_model, TASK, source)


def predict(model) -> None:
    mode = st.radio("Audio", ["Sample", "Upload", "Record"], horizontal=True, key="speech-input")
    audio_bytes, uploaded_name = None, None
    if mode == "Sample":
        sentence = st.selectbox("Sample sentence (synthesised with espeak-ng)", SAMPLES, key="speech-sample")
        audio_bytes = common.run_safely(synthesise, sentence)
    elif mode == "Upload":
        upload = st.file_uploader("Audio file", type=sorted(s.lstrip(".") for s in SUFFIXES), key="speech-upload")
        if upload is not None:
            path = common.run_safely(common.kept_upload, upload, SUFFIXES)
            audio_bytes, uploaded_name = (path.read_bytes() if path is not None else None), upload.name
    else:
        recording = st.audio_input("Record from the microphone", key="speech-record")
        audio_bytes = recording.getvalue() if recording is not None else None
    options = language_options(model)
    if audio_bytes:
        from speech.audio import load_audio

        st.audio(audio_bytes)
        def decode():
            try:
                return load_audio(audio_bytes)
            except InputError as error:  # an upload's refusal names the file and the uploader's formats
                raise (common.uploaded_audio_error(error, uploaded_name) if uploaded_name else error) from error

        samples = common.run_safely(decode)  # decoded once: unreadable audio is one error, no button
        if samples is None:
            return
        draw_waveform(samples)
        if model is not None and st.button("Transcribe", type="primary", key="speech-run"):
            with st.spinner("Transcribing…"):  # a silent recording points at the microphone, a silent file at the file
                records = common.run_safely(model.predict, [audio_bytes], from_microphone=mode == "Record", **options)
            if records:
                st.session_state["speech-result"] = (hash((audio_bytes, str(options))), records[0])
        shown = st.session_state.get("speech-result")
        if shown is not None and shown[0] == hash((audio_bytes, str(options))):
            draw_transcript(shown[1])


def evaluate(model) -> None:
    st.caption("Upload a manifest (CSV/JSONL with audio,text) inside a .zip with its audio, or a zipped "
               "LibriSpeech / LJSpeech folder. WER and CER use Whisper's English text normalisation.")
    card = common.evaluate_tab(TASK, model, suffixes=DATA_SUFFIXES)
    if card is not None and card.get("worst_utterances"):
        st.subheader("Worst utterances")
        st.dataframe(card["worst_utterances"], hide_index=True, width="stretch",
                     key="speech-worst-utterances")
        st.caption("Reference and hypothesis after normalisation; WER per utterance (jiwer), worst first.")


def retrain() -> None:
    st.caption("Trains the compact Conformer-CTC model from scratch on your data (characters of your transcripts). "
               "Config overrides, e.g. epochs=40, batch_size=16, validation_speakers=[\"theo\"].")
    common.retrain_tab(TASK, suffixes=DATA_SUFFIXES)


common.task_page(TASK, "speech", predict, evaluate=evaluate, retrain=retrain, load=load, inputs_without_model=True)
