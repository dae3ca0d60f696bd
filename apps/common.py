"""Shared widgets for the dashboard pages: model choice, cached loading, safe uploads, Evaluate and Retrain tabs."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import logging
import re
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from core import load as core_load
from core.artifacts import is_model_dir, list_saved_models, models_dir, promoted_defaults
from core.data import sniff_kind
from core.errors import InputError, MissingDependencyError, VerticalsError
from core.protocols import POSITION_KEYS
from core.registry import TASKS, task_class
from core.stream import spreadsheet_safe

__all__ = ["page_header", "task_page", "model_selector", "load_model", "save_upload", "show_error", "run_safely", "evaluate_tab",
           "retrain_tab", "metric_card_view", "session_dir", "scrub_paths", "page_message", "display_image", "split_overrides",
           "escape_markdown", "kept_upload", "record_warnings", "warning_message", "prediction_table",
           "readable_warnings", "without_record_ids", "csv_bytes", "retrain_place", "uploaded_table", "picked_column", "column_pickers",
           "data_labels", "positive_label_choice", "saved_card_warning", "model_warning", "show_training_warning",
           "MAX_UPLOAD_MB", "PAGE_HINTS", "AUDIO_SUFFIXES"]

log = logging.getLogger("verticals.apps")
MAX_UPLOAD_MB = 200
# recordings the Speech page's uploader takes (speech.recognition reads them with ffmpeg); the Home page's chain too
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus", ".m4a", ".aac", ".3gp", ".amr", ".webm"}
MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_UNCOMPRESSED_MB = 2_000
MAX_ZIP_RATIO = 100  # expanded / compressed, per entry (over 16 MB) and for the archive (over 64 MB): zip bombs
EMBEDDED = "Embedded default (offline)"
HUB = "Hub id (needs cache or internet)"
SAVED = "Saved: "
MAX_DISPLAY_WIDTH = 1460  # Streamlit shrinks wider images to this width (streamlit.elements.lib.image_utils)
# An upload's folder: <tempdir>/verticals-session-<random>/<12 hex>/ (see session_dir and save_upload)
SESSION_PATH = re.compile(r"(?:[^\s'\"`(]*/)?verticals-session-[^/\s'\"`]+(?:/[0-9a-f]{12})?(/)?")
MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|~$<>^=:&]")
NAMED_CONTROL = re.compile(r"\b(?:in|under|set) '")  # how PAGE_HINTS name a control: under 'Text column'
# The user's value a record warning quotes (`housing: 'castle' was not in the training data`): from the first quote that
# opens a value to the last that closes one, so a value holding quotes itself is still one value
QUOTED_VALUE = re.compile(r"(?<![^\s(\[:=,])'(.*)'(?![^\s)\]:;,.!?])", re.S)
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
MAX_HUB_NAME = 96  # the hub's limit on an organisation's or a model's name


def page_header(title: str, notice: str | None = None) -> None:
    """Title plus an optional notice (e.g. research-use warnings)."""
    st.title(title)
    if notice:
        st.warning(notice)


def session_dir() -> Path:
    """This browser session's private temp folder: the only place uploads are written."""
    if "_verticals_session_dir" not in st.session_state:
        st.session_state["_verticals_session_dir"] = tempfile.mkdtemp(prefix="verticals-session-")
    return Path(st.session_state["_verticals_session_dir"])


def task_page(task: str, key: str, predict: Callable[[Any], None], *, evaluate: Callable[[Any], Any] | None = None,
              retrain: Callable[[], None] | None = None, load: Callable[[str | None], Any] | None = None,
              about: Callable[[Any], None] | None = None, inputs_without_model: bool = False) -> Any:
    """The one page scaffold every task page uses: model selector -> About -> Predict / Evaluate / Retrain tabs.

    A page passes what is its own: `predict(model)` draws the Predict tab; `evaluate(model)` the Evaluate tab
    (default: `evaluate_tab`); `retrain()` the Retrain tab (default: `retrain_tab`); `load(source)` loads the model
    (default: cached `core.load`, errors shown); `about(model)` the "About this model" part (default: its card).
    Without a model (its load error is on the page) Evaluate stays empty, Retrain still works, and Predict is drawn
    only for pages whose inputs are useful alone (`inputs_without_model`: `predict(None)` shows and checks them).
    Returns the loaded model or None."""
    try:
        source = model_selector(task, key=key)
    except InputError as error:  # e.g. a server path typed as a hub id: nothing is loaded
        show_error(error)
        source, load = None, (lambda _source: None)
    model = load(source) if load is not None else run_safely(load_model, task, source)
    if model is not None:
        if about is not None:
            about(model)
        else:
            with st.expander("About this model"):
                st.json({k: v for k, v in model.card.items() if k not in {"files", "library_versions"}})
        show_training_warning(model_warning(model, source))
    predict_tab, evaluate_tab_, retrain_tab_ = st.tabs(["Predict", "Evaluate", "Retrain"])
    with predict_tab:
        if model is not None or inputs_without_model:  # the load error is on the page already
            predict(model)
    with evaluate_tab_:
        if model is not None:
            (evaluate or (lambda m: evaluate_tab(task, m)))(model)
    with retrain_tab_:  # retraining needs no loaded model
        (retrain or (lambda: retrain_tab(task)))()
    return model


def model_selector(task: str, key: str) -> str | None:
    """Let the user pick the embedded default, a saved model of this task, or a hub id; returns the `core.load` source.

    Raises InputError for a hub id that is blank or a server path (only saved models and hub ids are offered)."""
    saved = [c for c in list_saved_models() if c.get("task") == task]
    labels = {f"{SAVED}{Path(c['path']).name}": c["path"] for c in saved}
    promoted = promoted_defaults().get(task)
    options = [EMBEDDED, *labels, HUB]
    index = next((i for i, label in enumerate(options) if labels.get(label) and Path(labels[label]).resolve() == Path(promoted or "/").resolve()), 0)
    choice = st.selectbox("Model", options, index=index, key=f"{key}-model")
    previous = st.session_state.get(f"{key}-model-shown")
    st.session_state[f"{key}-model-shown"] = choice
    if previous and previous.startswith(SAVED) and previous not in options:  # the selectbox fell back on its own
        st.warning(f"The saved model {escape_markdown(previous[len(SAVED):])} no longer exists (deleted or moved); "
                   f"now using: {escape_markdown(choice.removeprefix(SAVED))}.")
    if choice == EMBEDDED:
        st.caption(f"Embedded default: {default_caption(task)}")
        return None
    if choice == HUB:
        hub = st.text_input("Hub id", value=TASKS[task].hub_default or "", key=f"{key}-hub")
        return _hub_source(task, hub.strip())
    return labels[choice]


def _hub_source(task: str, text: str) -> str:
    """A hub id typed on the page, checked: the dashboard loads saved models and hub ids, never other server paths.
    A text too long for a hub id is refused before any filesystem call (a name over 255 bytes is an OSError there)."""
    example = f" such as {TASKS[task].hub_default}" if TASKS[task].hub_default else " (organisation/name)"
    if not text:
        raise InputError(f"no hub id given: type one{example}, or choose another model above")
    shown = repr(text) if len(text) <= 60 else f"{text[:57]!r}… ({len(text):,} characters)"
    looks_like_path = text.startswith((".", "/", "~", "\\")) or "\\" in text or ".." in text.split("/")
    if not looks_like_path and any(len(part) > MAX_HUB_NAME for part in text.split("/")):
        raise InputError(f"{shown} is not a hub id: a hub id is organisation/name{example}, each part at most "
                         f"{MAX_HUB_NAME} characters")
    path = Path(text).expanduser()
    if looks_like_path or _exists(path):
        with contextlib.suppress(OSError):
            inside = models_dir().resolve() in path.resolve().parents
            if inside and is_model_dir(path) and not path.is_symlink():
                return str(path.resolve())
        raise InputError(f"{shown} is a path, not a hub id: the dashboard loads saved models (choose one under Model) "
                         f"or a hub id{example}")
    if not HUB_ID.fullmatch(text):
        raise InputError(f"{shown} is not a hub id: a hub id is organisation/name{example} (letters, digits, - _ .)")
    return text


def _exists(path: Path) -> bool:
    """Whether `path` exists (or is a link); False where the system cannot even look it up (a name too long)."""
    try:
        return path.exists() or path.is_symlink()
    except (OSError, ValueError):  # ENAMETOOLONG; ValueError: a NUL character
        return False


def default_caption(task: str) -> str:
    """The task's embedded default as a page names it (`TASKS[task].default` without its command-line rebuild note)."""
    return page_message(TASKS[task].default)


@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def _cached_model(task: str, source: str | None, stamp: float):
    return core_load(task, source)


def load_model(task: str, source: str | None):
    """`core.load` cached across sessions (one copy per task+source); reloads when a saved folder changes."""
    stamp = 0.0
    if source and Path(source).is_dir():
        card = Path(source) / "card.json"
        stamp = card.stat().st_mtime if card.exists() else 0.0
    return _cached_model(task, source, stamp)


def saved_card_warning(folder: str | Path | None) -> str | None:
    """The `warning` a saved model's card.json carries (what training said on stderr: a guessed yes/no target, too few
    backtest errors for the intervals), or None (no folder, no card, no warning)."""
    import json

    from core.artifacts import CARD_NAME

    if not folder:
        return None
    try:
        warning = json.loads((Path(folder) / CARD_NAME).read_text(encoding="utf-8")).get("warning")
    except (OSError, ValueError, AttributeError):
        return None
    return str(warning) if warning else None


def model_warning(model, source: str | None = None) -> str | None:
    """A loaded model's training warning: its card's `warning`; else its card's `info` `warnings` joined with "; " (where
    finance.forecast keeps them; its `card` carries them as `warning` too), else the one its saved folder's card.json
    carries."""
    card = getattr(model, "card", None) or {}
    warning = card.get("warning") or "; ".join(map(str, (card.get("info") or {}).get("warnings") or []))
    if warning:
        return str(warning)
    return saved_card_warning(source) if source and Path(source).is_dir() else None


def show_training_warning(warning: str | None) -> None:
    """A model's training warning as an st.warning in the page's words (nothing without one)."""
    if warning:
        st.warning(f"Training warning: {escape_markdown(page_message(warning))}")


def show_error(error: Exception) -> None:
    """Show a friendly one-line error; never a traceback, a server path or a command-line flag. The message is escaped
    for Markdown (`escape_markdown`): the user's values it quotes (a hub id, a file or column name) show as typed."""
    if isinstance(error, (InputError, MissingDependencyError, VerticalsError)):
        message = str(error)
    else:
        log.exception("unexpected error in page")
        message = f"Something went wrong ({type(error).__name__}). Check the input and try again."
    st.error(escape_markdown(page_message(message)))


def _overrides(match: re.Match) -> str:
    """`--set a=1 --set b=2;` -> `a=1, b=2 in 'Config overrides' on the Retrain tab;`: punctuation the sentence puts
    after the last value stays the sentence's.

    >>> import re; re.sub(r"--set \S+=\S+(?: --set \S+=\S+)*", _overrides, "retrain with --set max_length=N; or")
    "retrain with max_length=N in 'Config overrides' on the Retrain tab; or"
    """
    text = match[0].rstrip(";:,.)")
    return (", ".join(re.findall(r"--set (\S+=\S+)", text)) + " in 'Config overrides' on the Retrain tab"
            + match[0][len(text):])


def _set_values(flags: str) -> str:
    """` --set a=1 --set b=2` -> `a=1, b=2` (the values a Retrain tab's 'Config overrides' box takes).

    >>> _set_values(" --set season_length=12 --set horizon=3")
    'season_length=12, horizon=3'
    """
    return ", ".join(re.findall(r"--set (\S+=\S+)", flags))


_FORECAST_COLUMNS = {"time": "Date column", "value": "Value column", "id": "Id column (long format)"}
_WHISPER_BASE = "the embedded default under 'Model', then Whisper base under 'Built-in'"
_ENCODINGS = ("re-save it as UTF-8 (the dashboard reads UTF-8, UTF-16 and Windows-1252 text; other encodings only "
              "through the command line)")
# The packages' messages give command-line fixes ("pass --column NAME", "--option encoding=..."), which the CLI needs.
# A page says instead which of its controls does it, or what to change in the data where it has no control:
# (pattern of the CLI clause, the page's wording: a re.sub replacement or a function of the match), tried in order.
# VALUE_BOX_TAB in a wording stands for the tab holding the 'Value that means …' box (page_message's value_box_tab).
PAGE_HINTS: tuple[tuple[re.Pattern, Any], ...] = tuple((re.compile(pattern), wording) for pattern, wording in (
    # core.registry.missing_model_message (a hub id not cached, offline): the CLI's three ways to give a model, an
    # environment variable and the hub library's exception; the page offers its 'Model' choices instead
    (r"(?s)^model (.+?) for ([\w.]+) was not found\. Pass one of: .*?; or a local directory written by save\(\)\.(.*)$",
     lambda match: _model_not_found(match)),
    # a default's rebuild command (TaskSpec.default, in the 'Embedded default' caption): not done from a page
    (r" \(rebuild: verticals prepare [^()]*\)", ""),
    # --option encoding= (every upload): the readers guess UTF-8 / UTF-16 / cp1252; the page has no encoding choice
    (r"(?:re-save it as UTF-8 or )?pass (?:its|the file's(?: real)?) encoding(?:,| with)(?: e\.g\.)? --option encoding=\S+"
     r"(?: \(Excel on Windows\), latin-1, shift_jis or gbk)?", _ENCODINGS),
    (r"use e\.g\. --option encoding=\S+ or encoding=\S+", _ENCODINGS.replace(" it ", " the file ")),
    # --option separator= / decimal= / sheet= / header= (tables): no such controls; the page reads what the file says
    (r"pass --option separator=NAME \(comma, semicolon, tab or pipe\)",
     "save it as a comma-separated CSV (the dashboard detects the separator from the file)"),
    (r" \(or pass --option decimal=, for decimal commas\)", " (or write decimal points: 1.5, not 1,5)"),
    (r"; pick another with --option sheet=NAME \(([^)]*)\)",
     r"; the dashboard reads the first sheet: move the data there (the other sheets: \1)"),
    (r" \(--option sheet=NAME(?: or its number from 1)?\)", " (the dashboard reads the first sheet: move the data there)"),
    # --option date_format= (forecast series): no date format control; the data says its dates
    (r"; pass --option date_format=\S+ or --option date_format=\S+",
     "; write them as ISO dates (2024-01-31), which cannot be misread"),
    (r" or pass --option date_format=\.\.\.(?: \(e\.g\. [^)]*\))?", ""),
    # --time / --value / --id: the Finance page's forecasting section has a text box for each
    (r"name it with --(time|value|id) COLUMN", lambda match: f"type its name in '{_FORECAST_COLUMNS[match[1]]}'"),
    # --target / --time (credit risk): the Evaluate and Retrain tabs' text boxes
    (r"pass --target NAME or a column number", "type its name or number in 'Target column'"),
    (r"pass --target$", "type the right one in 'Target column'"),
    (r"pass --time COLUMN or set time_column", "type it in 'Time column for a time-based split' on the Retrain tab"),
    # --option positive_label= (evaluating labels coded another way): the Evaluate tabs' select boxes, offered for
    # data of two values only (positive_label reads two): three or more are recoded in the data
    (r"If the data codes default another way, say which value means default: --option positive_label=VALUE on the "
     r"command line, or positive_label=VALUE to evaluate\(\) or read_data\(\) in Python; VALUE one of ([^,]*, [^,]*, .*)$",
     r"It holds more than two values (\1): recode it as two, one meaning default and one not, then choose which under "
     r"'Value that means default' on VALUE_BOX_TAB"),
    (r"--option positive_label=VALUE on the command line, or positive_label=VALUE to evaluate\(\) or read_data\(\) in "
     r"Python; VALUE one of ", "choose it under 'Value that means default' on VALUE_BOX_TAB, one of "),
    (r"^positive_label (.*?) contradicts the model: (.*?); drop positive_label \(or pass positive_label=(.*?)\), or recode",
     r"'Value that means default' \1 contradicts the model: \2; choose 'automatic' (or \3) there, or recode"),
    (r"^positive_label (.*?) contradicts the model: (.*?); drop positive_label \(or pass positive_label=(.*?)\), or "
     r"relabel the data if its labels mean the opposite here \(.*\)$",
     r"'Value that means positive' \1 contradicts the model: \2; choose 'automatic' (or \3) there, or relabel the "
     r"data if its labels mean the opposite here"),
    # ... a yes/no target guessed in training (the card's warning): Config has positive_label, so the Retrain tab's box
    (r"pass --option positive_label=(\S+), else --option positive_label=(\S+) to say so",
     r"retrain with positive_label=\1 in 'Config overrides' on the Retrain tab (else positive_label=\2) to say so"),
    (r"Say it: --option positive_label=(.*?) \(or =(.*?)\) on the command line, or positive_label=.*? in read_data\(\) "
     r"or evaluate\(\);", r"Say it: choose \1 or \2 under 'Value that means positive' on VALUE_BOX_TAB;"),
    # fit() (sentiment labels the model lacks): the page's Retrain tab trains on them
    (r", or retrain with fit\(\) on your labels", ", or retrain on your labels on the Retrain tab"),
    # --column / --target (sentiment and translation tables): the sections' 'Text column' and 'Label column' pickers
    (r"Rename it or pass --column NAME \(a file without a header line: --option header=false --column 0 --target 1\)",
     "Choose it under 'Text column' (a file without a header line: add one, such as text,label)"),
    (r"Rename it or pass --target NAME \(a file without a header line: --option header=false --column 0 --target 1\)",
     "Choose it under 'Label column' (a file without a header line: add one, such as text,label)"),
    (r"; pass --column NAME \(it has:", "; choose it under 'Text column' (it has:"),
    # --column (image lists): no column choice on the page; the data names its column
    (r", or pass --column$", "; rename the column to one of those"),
    # --source / --target / --model (translation)
    (r" \(or pass --source/--target naming them\)", " (rename its two columns so)"),
    (r"; pass --source/--target to pick a pair, or use a model for it",
     "; evaluate data in the model's own pair, or choose a model for the data's pair under 'Model'"),
    (r"pass --source/--target from those", "choose one of those under 'Language pair'"),
    # a file name that may or may not give its language (corp.pl: Polish or Perl): Predict reads it as naming none
    (r"To translate it from ([^,]+?), pass --source (\w+) \(Python: source='\w+'\) or name it (\S+); for another "
     r"language pass its code, e\.g\. --source en",
     r"It is translated from the language chosen under 'Language pair' (for a multilingual model, typed in 'Source "
     r"language code'): choose \1 (\2) there, or another language; or name the file \3 to have it read as \1"),
    # ... Evaluate and Retrain have no language control: the file's name says it
    (r"Pass --source (\w+) or --target \1 \(Python: source='\1'\) to read it as ([^,]+), or name it (\S+)",
     r"Name it \3 to have it read as \2"),
    (r"; pass --source to say otherwise", "; choose another pair under 'Language pair' to say otherwise"),
    (r"\((?:--model DIR or a hub id|--model)\)", "(choose it under 'Model')"),
    # --set key=value (any fit): the Retrain tab's 'Config overrides' box takes the same key=value
    (r" \(\w+\.Config\([^()]*\) in Python\)", ""),  # the Python spelling of a --set, said after it
    # a whole `verticals train TASK --data FILE --out DIR --set k=v` (forecast's frequency mismatch): the Retrain tab
    (r"\(verticals train [\w.]+ --data \w+ --out \w+((?: --set \S+=[^\s)]+)+)\)",
     lambda match: f"(on the Retrain tab, with {_set_values(match[1])} in 'Config overrides')"),
    (r"verticals train [\w.]+ --data \w+ --out \w+((?: --set \S+=\S+)+)",
     lambda match: f"on the Retrain tab, with {_set_values(match[1])} in 'Config overrides'"),
    # `--set key=` with no value, a key to change (forecast's history needs): "leave nbeats out of --set candidates= or
    # lower --set window=" names both keys before the place
    (r"--set (\w+)= or (\w+) --set (\w+)=(?!\S)", r"\1= or \2 \3= in 'Config overrides' on the Retrain tab"),
    (r"--set (\w+)=(?!\S)", r"\1= in 'Config overrides' on the Retrain tab"),
    (r"--set \S+=\S+(?: --set \S+=\S+)*", _overrides),
    # `verticals train ... --out DIR, then evaluate with --model DIR` (vision metric cards): the Retrain tab and 'Model'
    (r": verticals train [\w.]+ --data \w+ --out (\w+), then evaluate with --model \1",
     " on the Retrain tab, then choose the new model under 'Model' and evaluate again"),
    (r"\(verticals train [\w.]+ --data \w+ --out \w+\)", "(the Retrain tab)"),
    (r" \(or pass --option names=\.\.\.\)", ""),
    (r"; pass --option names=\.\.\. to override", "; add data.yaml with 'names' to override"),
    (r"train from scratch \(no --model\)", "train a new model on the Retrain tab"),
    # speech: --model whisper-base is the 'Built-in' choice, drawn only while 'Model' is the embedded default;
    # --source / --target are 'Spoken language' and 'Text'
    (r"(?:use|pass) --model whisper-base", f"choose {_WHISPER_BASE}"),
    (r" \(or drop --source/--target\)", ""),
    (r"check the language \(--source\)", f"check the language (for speech other than English, choose {_WHISPER_BASE} "
     "and set 'Spoken language')"),
    (r"transcribe without --target and translate the transcript with nlp\.translation",
     "choose Transcript under 'Text' and translate the transcript in the NLP page's Translation section"),
))


def _model_not_found(match: re.Match) -> str:
    """`missing_model_message` (with whatever its caller added) in the page's words: what to choose under Model."""
    import os

    model, task, tail = match[1], match[2], match[3]
    choose = "choose Embedded default or a saved model under Model"
    if "No hub models exist for this task" in tail:
        return f"{task} has no hub models, so {model} cannot be loaded: {choose}"
    if not HUB_ID.fullmatch(model.strip("'\"")):  # a saved model's folder that is gone (deleted or moved)
        return f"the model {model} no longer exists (deleted or moved): {choose}"
    offline = os.environ.get("HF_HUB_OFFLINE", "0").strip().lower() not in {"0", "", "false", "no"}
    if offline:
        return f"the hub model {model} is not cached on this machine, and this machine is offline: {choose}"
    return (f"the hub model {model} is not cached on this machine and could not be downloaded (no such model on the "
            f"hub, or no internet): check the id, or {choose}")


def page_message(message: str, place: str | None = None, value_box_tab: str = "the Evaluate tab") -> str:
    """A package's message as a page shows it: command-line fixes become the page's controls (or the change to make in
    the data, where the page has no control), and server paths are scrubbed (`scrub_paths`).

    `place`: where those controls are, for a message shown on a page without them (the Models page shows a job's
    error: `retrain_place(job.task)`); each fix that names a control then says where it is.

    `value_box_tab`: the tab holding the 'Value that means default/positive' box a label-value fix names; "this tab"
    where the message is shown beside such a box of its own (the risk Predict tab).

    >>> page_message("no time column found (looked for date); name it with --time COLUMN. The table has: when, price")
    "no time column found (looked for date); type its name in 'Date column'. The table has: when, price"
    >>> page_message("the file has no column 'text'; pass --column NAME (it has: body)", place="the NLP page's Retrain tab")
    "the file has no column 'text'; on the NLP page's Retrain tab, choose it under 'Text column' (it has: body)"
    """
    for pattern, wording in PAGE_HINTS:
        message = pattern.sub(lambda match, wording=wording: _placed(_worded(wording, match, value_box_tab), place),
                              message)
    return scrub_paths(message)


def uploaded_audio_error(error: InputError, name: str | None) -> InputError:
    """The speech package's refusal of a recording the page's uploader took (`name`: the uploaded file's name, said
    for the package's 'audio'), with the formats that uploader accepts (AUDIO_SUFFIXES) in place of the command line's
    'pass a WAV, FLAC, OGG, MP3 or M4A file'.

    >>> str(uploaded_audio_error(InputError("audio is not readable audio (bad); pass a WAV, FLAC, OGG, MP3 or M4A file"), "a.wav"))
    'a.wav is not readable audio (bad); upload a recording as one of: .3gp, .aac, .aif, .aiff, .amr, .flac, .m4a, .mp3, .ogg, .opus, .wav, .webm'
    """
    message = str(error)
    if name:
        message = re.sub(r"^(?:the )?audio (?=is |could )", lambda match: f"{name} ", message)
    message = re.sub(r"; pass an? (?:WAV|audio)\b[^;]*? file$",
                     f"; upload a recording as one of: {', '.join(sorted(AUDIO_SUFFIXES))}", message)
    return InputError(message)


def _worded(wording: Any, match: re.Match, value_box_tab: str = "the Evaluate tab") -> str:
    """A PAGE_HINTS wording for one match: a function of it, or a replacement template (backreferences expanded,
    VALUE_BOX_TAB filled in first so that a user's value the match quotes is never read as the placeholder)."""
    if callable(wording):
        return wording(match)
    return match.expand(wording.replace("VALUE_BOX_TAB", value_box_tab.replace("\\", "\\\\")))


def _placed(worded: str, place: str | None) -> str:
    """A fix in the page's words, with the `place` of the controls it names (unchanged where `place` is None)."""
    if place is None or not NAMED_CONTROL.search(worded):  # no control named: a change to make in the data
        return worded
    if "the Retrain tab" in worded:
        return worded.replace("the Retrain tab", place)
    lead, rest = re.fullmatch(r"([\W_]*)(.*)", worded, re.S).groups()  # "; choose it under ...": after the "; "
    return f"{lead}{'On' if rest[:1].isupper() else 'on'} {place}, {rest[:1].lower()}{rest[1:]}"


# Each task's page (apps/main.py's navigation) and its section there, for messages shown on another page
TASK_PLACES = {"nlp.sentiment": ("NLP", "Sentiment"), "nlp.qa": ("NLP", "Extractive QA"),
               "nlp.translation": ("NLP", "Translation"), "vision.classification": ("Vision", "Classification"),
               "vision.detection": ("Vision", "Detection"), "speech.recognition": ("Speech", None),
               "finance.risk": ("Finance", "Risk scoring"), "finance.forecast": ("Finance", "Forecasting"),
               "medical.segmentation": ("Medical", "Segmentation"), "medical.classification": ("Medical", "Classification")}


def retrain_place(task: str) -> str:
    """Where the Retrain tab of `task` is, for `page_message(place=...)`.

    >>> retrain_place("nlp.sentiment")
    "the NLP page's Retrain tab (Sentiment)"
    """
    page, section = TASK_PLACES.get(task, (None, None))
    if page is None:
        return f"the Retrain tab of the {task} page"
    return f"the {page} page's Retrain tab" + (f" ({section})" if section else "")


def scrub_paths(message: str) -> str:
    """`message` without server paths: an upload's session path becomes the file's own name, other temp and home
    folders become "…"."""
    message = SESSION_PATH.sub(lambda match: "" if match.group(1) else "the upload", message)
    for folder in sorted({str(session_dir()), tempfile.gettempdir(), str(Path.home())}, key=len, reverse=True):
        if len(folder) > 1:
            message = message.replace(folder, "…")
    return message


_OURS = str(Path(__file__).resolve().parents[1])  # the repository: warnings raised by its packages are the user's to read


def run_safely(fn, *args: Any, **kwargs: Any):
    """Call `fn`; on error show it with `show_error` and return None. The warnings the packages raise meanwhile (what
    the CLI prints as `warning:` lines, e.g. forecast's non-seasonal ETS on monthly data) are shown as st.warning in
    the page's words; other libraries' warnings go to the server's log as before."""
    import warnings

    result = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            result = fn(*args, **kwargs)
            return result
        except Exception as error:  # the page must never show a traceback
            show_error(error)
            return None
        finally:  # a metric card's own `warning` is drawn with the card (metric_card_view): not said twice
            on_card = str(result.get("warning") or "") if isinstance(result, dict) else ""
            said = set()
            for warning in caught:
                ours = issubclass(warning.category, UserWarning) and str(Path(warning.filename).resolve()).startswith(_OURS)
                if ours and str(warning.message) not in said and str(warning.message) not in on_card:
                    said.add(str(warning.message))
                    st.warning(escape_markdown(page_message(str(warning.message))))
                elif not ours:
                    warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def record_warnings(record: dict[str, Any] | None) -> None:
    """A prediction record's `warnings` (e.g. a text with no word the model reads, a category unseen in training), each
    as an st.warning in the page's words (`warning_message`, escaped for Markdown): for views of one prediction, drawn
    next to it."""
    for warning in (record or {}).get("warnings") or []:
        st.warning(warning_message(str(warning), markdown=True))


def warning_message(warning: str, markdown: bool = False) -> str:
    r"""A record's warning in the page's words: the package's wording through `page_message`, the user's value it
    quotes (`QUOTED_VALUE`) exactly as the data holds it. `markdown`: the whole text escaped (`escape_markdown`) for
    st.warning and other Markdown, so a cell such as [a](http://b) or $x$ shows as typed.

    >>> warning_message("housing: 'pass --set family=gbm' was not in the training data; scored as missing")
    "housing: 'pass --set family=gbm' was not in the training data; scored as missing"
    >>> print(warning_message("housing: '**x**' was not in the training data", markdown=True))
    housing\: '\*\*x\*\*' was not in the training data
    """
    quoted = QUOTED_VALUE.search(warning)
    if quoted is None:
        shown = page_message(warning)
    else:
        shown = page_message(warning[:quoted.start(1)]) + quoted[1] + page_message(warning[quoted.end(1):])
    return escape_markdown(shown) if markdown else shown


def prediction_table(table, what: str = "rows", shown: int | None = None, records: list[dict] | None = None) -> None:
    """Draw a polars table of many predictions with its `warnings` column (lists of messages; or the warnings of
    `records`, one per row, added as that column) as readable text in the page's words, joined with " | ". Above it,
    when any row has a warning, how many rows do (a one-row table: its warnings whole, as `record_warnings` draws them);
    a table without any warning is drawn without the column.
    `what` names the rows ("texts"); `shown` caps the rows drawn."""
    import polars as pl

    if records is not None and any("warnings" in record for record in records):
        table = table.with_columns(pl.Series("warnings", [record.get("warnings") or [] for record in records],
                                             dtype=pl.List(pl.String)))
    rows = table.head(shown) if shown is not None else table
    name = _warnings_column(table)
    if name is not None:
        lists = _warning_lists(table[name])
        flagged = int((lists.list.len() > 0).sum())
        if flagged and table.height == 1:
            record_warnings({"warnings": lists.to_list()[0]})
        elif flagged:
            st.warning(f"{flagged:,} of {table.height:,} {what} have a warning (shown in their '{name}' column): "
                       "their results are less reliable.")
        # a column that is empty in every row is noise on screen (the download keeps it)
        rows = rows.with_columns(readable_warnings(rows[name])) if flagged else rows.drop(name)
    st.dataframe(rows, hide_index=True, width="stretch")


# The ids `core.protocols.with_ids` puts first in a record, as predict_frame names their columns (`pred_row` beside a
# `row` of the input): a place among the inputs (POSITION_KEYS), or the input's id column value or file path
RECORD_POSITION = re.compile(rf"(?:pred\d*_)?(?:{'|'.join(POSITION_KEYS)})")
RECORD_ID = re.compile(r"(?:pred\d*_)?(?:id|path)")


def without_record_ids(scored, inputs: list[str]):
    """A table scored by `predict_frame` without the ids its records carry first (`core.protocols.with_ids`), which the
    table shows already: a position (`index`, `row`: the table's own order, numbered afresh in each chunk) and an `id`
    or `path` equal to one of the input's columns (`pred_id` beside `id`). `inputs`: the input table's columns, kept
    whatever their names.

    >>> import polars as pl
    >>> without_record_ids(pl.DataFrame({"row": [9], "id": ["a7"], "pd": [0.1], "pred_row": [1], "pred_id": ["a7"]}),
    ...                    ["row", "id"]).columns
    ['row', 'id', 'pd']
    """
    def shown(name: str) -> bool:
        if RECORD_POSITION.fullmatch(name):
            return True
        values = scored[name].to_list() if RECORD_ID.fullmatch(name) else None
        return values is not None and any(scored[other].to_list() == values for other in inputs if other in scored.columns)

    added = [name for name in scored.columns if name not in set(inputs)]
    return scored.drop([name for name in added if shown(name)])


def _warnings_column(table) -> str | None:
    """The name of the predictions' warnings column: `warnings`, or `pred_warnings`, `pred2_warnings`... where the input
    table had its own (`predict_frame` renames a clashing name and appends its columns last); a column of lists, the
    last such one, else None."""
    import polars as pl

    found = [name for name, dtype in table.schema.items() if re.fullmatch(r"(pred\d*_)?warnings", name)
             and isinstance(dtype, (pl.List, pl.Array)) and not dtype.inner.is_nested()]
    return found[-1] if found else None


def _warning_lists(column):
    """A warnings column (lists, or fixed-size arrays, of messages) as lists of strings, [] for a row without one."""
    import polars as pl

    if isinstance(column.dtype, pl.Array):
        column = column.arr.to_list()
    return column.cast(pl.List(pl.String)).fill_null([])


def readable_warnings(column):
    """A warnings column (a polars Series of lists of messages) as text: each message in the page's words
    (`warning_message`: the values it quotes from the data unchanged), a row's messages joined with " | ", "" for a
    row without one."""
    import polars as pl

    lists = _warning_lists(column)
    messages = lists.explode().drop_nulls().unique().to_list()  # each distinct message reworded once
    reworded = lists.list.eval(pl.element().replace({message: warning_message(message) for message in messages}))
    return reworded.list.join(" | ").alias(column.name)


def csv_bytes(table) -> bytes:
    """A polars table as CSV for a download: list columns joined into text with " | " (the warnings column in the page's
    words, as on screen), other nested values as JSON. Parquet and JSON downloads keep the real lists."""
    import json

    import polars as pl

    warnings = _warnings_column(table)
    columns = []
    for name, dtype in table.schema.items():
        column = table[name]
        if name == warnings:
            column = readable_warnings(column)
        elif isinstance(dtype, (pl.List, pl.Array)) and not dtype.inner.is_nested():
            column = (column.arr.to_list() if isinstance(dtype, pl.Array) else column).cast(pl.List(pl.String))
            column = column.list.join(" | ")
        elif dtype.is_nested():
            column = pl.Series(name, [None if value is None else json.dumps(value, ensure_ascii=False, default=str)
                                      for value in column.to_list()], dtype=pl.String)
        if column.dtype == pl.String:  # a cell a spreadsheet would run as a formula is shown as text (OWASP); a
            # joined list of numbers ("-0.5 | 1.0") cannot call anything and is left as it reads
            column = column.map_elements(_csv_safe, return_dtype=pl.String)
        columns.append(column)
    return pl.DataFrame(columns).write_csv().encode()


def _csv_safe(text: str) -> str:
    first = text.split(" | ", 1)[0]  # a cell starts as its first item does: a number, plain text or a formula
    return text if spreadsheet_safe(first) == first else "'" + text


def escape_markdown(text: str) -> str:
    r"""`text` escaped for st.markdown, so model output such as **x** or $x^2$ is shown as typed.

    >>> print(escape_markdown("**bold** $x^2$"))
    \*\*bold\*\* \$x\^2\$
    """
    return MARKDOWN_SPECIAL.sub(r"\\\g<0>", text)


def display_image(image, width: int | None = None):
    """A copy of a PIL image Streamlit can draw at `width` (default: the widest it draws): shrunk here so that both
    sides stay >= 1 px, since Streamlit's own shrinking fails on a very wide, thin image."""
    target = width or MAX_DISPLAY_WIDTH
    if image.width <= target:
        return image
    return image.resize((target, max(1, round(image.height * target / image.width))))


def _extract_zip(data: bytes, target: Path) -> Path:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise InputError("the upload is not a valid zip archive") from error
    members = archive.infolist()
    if not any(not m.is_dir() for m in members):
        raise InputError("the zip archive is empty (it holds no files); zip the folder with its files and upload that")
    if len(members) > MAX_ZIP_MEMBERS:
        raise InputError(f"the zip holds {len(members):,} files; the limit is {MAX_ZIP_MEMBERS:,}")
    expanded = sum(m.file_size for m in members)
    if expanded > MAX_ZIP_UNCOMPRESSED_MB * 2**20:
        raise InputError(f"the zip unpacks to more than {MAX_ZIP_UNCOMPRESSED_MB} MB (possible zip bomb)")
    for member in members:
        if member.file_size > 16 * 2**20 and member.file_size > MAX_ZIP_RATIO * max(member.compress_size, 1):
            raise InputError(f"the zip entry {member.filename!r} expands {member.file_size / max(member.compress_size, 1):,.0f}x "
                             f"(limit {MAX_ZIP_RATIO}x; possible zip bomb); zip the files without such padding")
    packed = sum(m.compress_size for m in members)
    if expanded > 64 * 2**20 and expanded > MAX_ZIP_RATIO * max(packed, 1):
        raise InputError(f"the zip expands {expanded / max(packed, 1):,.0f}x (limit {MAX_ZIP_RATIO}x; possible zip bomb)")
    root = target.resolve()
    for member in members:
        name = member.filename
        destination = (root / name).resolve()
        if name.startswith(("/", "\\")) or (destination != root and root not in destination.parents):
            raise InputError(f"the zip entry {name!r} would be written outside its folder; refusing the archive")
        if (member.external_attr >> 16) & 0o170000 == 0o120000:
            raise InputError(f"the zip entry {name!r} is a symlink; refusing the archive")
    for member in members:
        destination = (root / member.filename).resolve()
        if member.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as source, open(destination, "wb") as sink:
            written = 0
            while block := source.read(1 << 20):
                written += len(block)
                if written > member.file_size + 1024:
                    raise InputError("a zip entry is larger than it claims; refusing the archive")
                sink.write(block)
    children = [p for p in root.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    return children[0] if len(children) == 1 and children[0].is_dir() else root


WORKBOOKS = {".xlsx", ".xlsm", ".xlsb", ".ods"}  # zip containers read as tables, never extracted


def save_upload(uploaded_file, suffixes: set[str] | None = None) -> Path:
    """Write an uploaded file into the session folder (size-capped, type-sniffed); zips are extracted safely."""
    if uploaded_file is None:
        raise InputError("no file uploaded")
    data = uploaded_file.getvalue()
    if not data:
        raise InputError("the uploaded file is empty (0 bytes)")
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise InputError(f"the upload is {len(data) / 2**20:.0f} MB; the limit is {MAX_UPLOAD_MB} MB")
    original = Path(uploaded_file.name or "upload").name
    suffix = "".join(Path(original).suffixes[-2:]).lower() if original.lower().endswith(".nii.gz") else Path(original).suffix.lower()
    kind = sniff_kind(data[:512])
    if kind is None and data.startswith(b"PK\x05\x06"):  # a zip with no entries is only its end record
        kind = "zip"
    if (kind == "zip" and suffix not in WORKBOOKS) or suffix == ".zip":  # a workbook is a zip too: kept whole
        if kind != "zip":
            raise InputError("the file is named .zip but is not a zip archive")
        return _written(lambda target: _extract_zip(data, target))
    if suffixes is not None and suffix not in suffixes:
        zipped = "" if ".zip" in suffixes else " (or a .zip)"  # said once where the list names it
        raise InputError(f"unsupported file type {suffix or '(none)'}; upload one of: {', '.join(sorted(suffixes))}{zipped}")
    image_suffixes = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".bmp": "bmp", ".wav": "wav", ".flac": "flac"}
    if suffix in image_suffixes and kind is not None and kind != image_suffixes[suffix]:
        raise InputError(f"the file is named {suffix} but its content is {kind}; rename or re-export it")
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in original).lstrip(".") or f"upload{suffix}"

    def write(target: Path) -> Path:
        (target / safe_name).write_bytes(data)
        return target / safe_name

    return _written(write)


def _written(write: Callable[[Path], Path]) -> Path:
    """`write(folder)` into a new <12 hex> folder of the session folder; a write that fails (a refused zip, a full
    disk) leaves no folder behind, since nothing will read or delete it."""
    import shutil

    target = session_dir() / uuid.uuid4().hex[:12]
    target.mkdir(parents=True)
    try:
        return write(target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


MAX_KEPT_UPLOADS = 16  # uploads whose saved copy (and table head) a session keeps for its reruns


def _kept(upload, suffixes: set[str] | None) -> dict[str, Any]:
    """The session's entry for an upload ({"path": its saved copy, "head": ...}): one per name and bytes (and accepted
    suffixes), so each rerun, each click and a second upload of the same file reuse the copy `save_upload` made."""
    uploads = st.session_state.setdefault("_verticals_uploads", {})
    data = upload.getvalue()
    key = (upload.name, len(data), hashlib.sha256(data).hexdigest(), None if suffixes is None else tuple(sorted(suffixes)))
    entry = uploads.pop(key, None)  # put back last: the upload used longest ago is the one dropped
    if entry is None or not entry["path"].exists():
        entry = {"path": save_upload(upload, suffixes)}
    uploads[key] = entry
    while len(uploads) > MAX_KEPT_UPLOADS:
        _drop_upload(uploads.pop(next(iter(uploads)))["path"])
    return entry


def _drop_upload(path: Path) -> None:
    """Delete the folder `save_upload` wrote `path` into (<session folder>/<12 hex>/), unless a training that has not
    finished reads it; nothing outside this session's folder is touched."""
    import shutil

    from core import jobs

    root = session_dir().resolve()
    try:
        parts = Path(path).resolve().relative_to(root).parts
    except (OSError, ValueError):  # not in this session's folder: not the app's to delete
        return
    folder = root / parts[0] if parts else None
    if folder is None or not re.fullmatch(r"[0-9a-f]{12}", folder.name) or folder.is_symlink() or not folder.is_dir():
        return
    try:
        reading = [Path(job.spec["data"]).resolve() for job in jobs.list_jobs() if not job.done and (job.spec or {}).get("data")]
    except OSError:  # the jobs cannot be listed: kept, as one of them may read it
        return
    if not any(folder == data or folder in data.parents for data in reading):
        shutil.rmtree(folder, ignore_errors=True)


def kept_upload(uploaded_file, suffixes: set[str] | None = None, one_file: str | None = None) -> Path:
    """`save_upload`, once per upload (same name and bytes): the page's reruns (each click, each choice) reuse the
    saved copy, and the session keeps at most MAX_KEPT_UPLOADS of them. Pages save every upload through this.

    `one_file`: what a tab that reads one file takes ("table", "SQuAD JSON file"); a .zip is then the one file of
    `suffixes` in it (`the_one_file`)."""
    if uploaded_file is None:
        raise InputError("no file uploaded")
    path = _kept(uploaded_file, suffixes)["path"]
    return path if one_file is None else the_one_file(path, suffixes, one_file)


def the_one_file(path: Path, suffixes: set[str] | None, what: str) -> Path:
    """For a tab that reads one file (`what`: "table"): a saved upload's file, or for a .zip's folder the one file of
    `suffixes` in it at any depth; InputError saying to upload the `what` itself where it holds none or several."""
    if not path.is_dir():
        return path
    readable = (suffixes or set()) - {".zip"}
    found = sorted(file for file in path.rglob("*") if file.is_file() and file.suffix.lower() in readable
                   and not any(part.startswith((".", "__MACOSX")) for part in file.relative_to(path).parts))
    if len(found) == 1:
        return found[0]
    kinds = ", ".join(sorted(readable))
    upload_it = f"upload the {what} itself, " + (f"one of: {kinds}" if len(readable) > 1 else f"a {kinds} file")
    if found:
        shown = ", ".join(file.relative_to(path).as_posix() for file in found[:5]) + (", ..." if len(found) > 5 else "")
        raise InputError(f"the .zip holds {len(found)} files this tab could read ({shown}); {upload_it}")
    raise InputError(f"the .zip holds no {what} this tab reads; {upload_it}")


def uploaded_table(uploaded_file, suffixes: set[str] | None = None, rows: int = 50,
                   one_file: str | None = None) -> tuple[Path | None, Any]:
    """An upload kept with `kept_upload` and the first `rows` of the table in it, read by `core.data.iter_table` as the
    packages read tables: (path, polars head). The head is None when the upload is no table (a zip's folder, an
    unreadable file) and the path None when it cannot be saved; the page's run then says why. `one_file`: as for
    `kept_upload`, a .zip holding one table is that table."""
    if uploaded_file is None:
        return None, None
    try:
        entry = _kept(uploaded_file, suffixes)
        path = entry["path"] if one_file is None else the_one_file(entry["path"], suffixes, one_file)
    except VerticalsError:
        return None, None
    heads = entry.setdefault("heads", {})
    if path not in heads:
        heads[path] = _table_head(path, rows)
    return path, heads[path]


def _table_head(path: Path, rows: int):
    from core.data.tables import iter_table

    if not path.is_file():
        return None
    batches = iter_table(path, rows=rows)
    try:
        return next(batches, None)
    except VerticalsError:
        return None
    except Exception:  # the run reads the file again and reports it
        log.exception("could not read the head of an uploaded table")
        return None
    finally:
        batches.close()


def picked_column(head, pick: Callable[[Any], Any]) -> str | None:
    """The column a package reader picks by itself in a table like `head` (None when it finds none): `pick` applies the
    reader's rule to a one-row probe where every column holds its own name (a numeric column holds its position, so a
    rule that looks at types sees the same types) and returns the cell it read. A rule that refuses that probe is asked
    again with every column as text: the column it picks by its name is preselected, and its run says what is wrong.

    >>> import polars as pl
    >>> picked_column(pl.DataFrame({"id": [7], "Text": ["fine"]}), lambda probe: probe["Text"][0])
    'Text'
    >>> picked_column(pl.DataFrame({"id": [7], "Text": ["fine"]}), lambda probe: probe["id"][0])
    'id'
    """
    import polars as pl

    columns = list(head.columns)
    cells = []
    for position, (name, dtype) in enumerate(head.schema.items()):
        cell = pl.Series(name, [name], dtype=pl.String)
        if dtype.is_numeric():
            with contextlib.suppress(pl.exceptions.PolarsError):  # a position too large for the type: its name
                cell = pl.Series(name, [position]).cast(dtype)
        cells.append(cell)
    as_text = pl.DataFrame([pl.Series(name, [name], dtype=pl.String) for name in columns])
    value = None
    for probe in (pl.DataFrame(cells), as_text):
        try:
            value = pick(probe)
            break
        except VerticalsError:  # e.g. it found 'text' by its name and refused its numbers: asked again of text columns
            continue
    if isinstance(value, str):
        return value if value in columns else None
    is_position = isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
    return columns[int(value)] if is_position and 0 <= value < len(columns) else None


def column_pickers(head, controls: dict[str, tuple[str, Callable[[Any], Any]]], key: str,
                   upload: Path | str | None = None) -> dict[str, str]:
    """One select box per reader option of `controls` (option -> (label, pick)) for an uploaded table `head`: its
    columns, preselected with the column the package picks by itself (`picked_column`). `upload`: the saved upload the
    table is (`kept_upload`), so that another upload gets fresh boxes, preselected for it. Returns the options to pass
    to the reader: none while every box shows the package's own choice (the table reads exactly as it would alone),
    else every chosen column. Raises InputError when two boxes hold the same column."""
    columns = list(head.columns)
    picked = {option: picked_column(head, pick) for option, (_, pick) in controls.items()}
    digest = hashlib.sha1("\x00".join([str(upload), *columns]).encode()).hexdigest()[:10]  # another upload: fresh boxes
    chosen = {}
    for place, (option, (label, _)) in zip(st.columns(len(controls)), controls.items()):
        default = picked[option]
        chosen[option] = place.selectbox(
            label, columns, index=columns.index(default) if default in columns else None, placeholder="Choose a column",
            key=f"{key}-{option}-{digest}", help="Preselected: the column read when none is chosen (found by its name)")
    labels = {option: label for option, (label, _) in controls.items()}
    for first, second in itertools.combinations(controls, 2):
        if chosen[first] is not None and chosen[first] == chosen[second]:
            what = [labels[option].removesuffix(" column").lower() for option in (first, second)]
            raise InputError(f"{chosen[first]!r} is chosen under both {labels[first]!r} and {labels[second]!r}: choose "
                             f"different columns for {what[0]} and {what[1]}")
    if chosen == picked:
        return {}
    return {option: column for option, column in chosen.items() if column is not None}


MAX_LABEL_CHOICES = 20  # label values data_labels keeps (a 'Value that means ...' box is offered for two only)


def data_labels(path: Path, options: dict, read: Callable[..., list]) -> list:
    """The distinct label values of the labelled data in an upload, as `read(path, **options)` (the package's reader,
    without positive_label) lists them; [] when it cannot read them (the run says why). Read once per upload and
    options: the page's reruns reuse the values."""
    cache = st.session_state.setdefault("_verticals_label_values", {})
    key = (str(path), repr(sorted(options.items())))
    if key not in cache:
        try:
            values = list(dict.fromkeys(value for value in read(path, **options) if value is not None))
        except VerticalsError:
            values = []
        except Exception:  # the run reads the file again and reports it
            log.exception("could not read the labels of an uploaded table")
            values = []
        cache[key] = values[:MAX_LABEL_CHOICES + 1]
        while len(cache) > MAX_KEPT_UPLOADS:
            cache.pop(next(iter(cache)))
    return cache[key]


def positive_label_choice(values: list, label: str, automatic: str, key: str,
                          same: Callable[[Any], Any] = lambda value: value, model_labels: Sequence[Any] = ()) -> dict:
    """A select box for the reader option `positive_label` (which label value is the positive class: default, positive
    sentiment), offering the data's label `values` after `automatic` (nothing passed: the package reads the labels
    by itself, as the model names them); only for data of exactly two values as `same` tells them apart (e.g.
    case-insensitively: Yes/yes/no is two), since positive_label reads two values into the model's two and refuses
    any other number whichever is chosen; not for data labelled with the `model_labels` themselves, which say which is
    which (choosing the model's negative one is refused as a contradiction). Returns {"positive_label": value} for a
    chosen value, else {}."""
    firsts: dict = {}
    for value in values:  # the first spelling of each value
        firsts.setdefault(same(value), value)
    values = list(firsts.values())
    if len(values) != 2 or (model_labels and set(firsts) <= {same(label) for label in model_labels}):
        return {}
    digest = hashlib.sha1(repr(values).encode()).hexdigest()[:10]  # other labels (another upload): a fresh box
    choice = st.selectbox(label, [None, *values], format_func=lambda value: automatic if value is None else str(value),
                          key=f"{key}-positive-{digest}", help="Which of the data's label values is the positive class; "
                          "the other is read as the negative one")
    return {} if choice is None else {"positive_label": choice}


def metric_card_view(card: dict[str, Any], key: str) -> None:
    """Draw a metric card: scalar metrics with 95% CIs in a table, other entries as JSON.

    `key` names the caller (e.g. f"{task}-evaluate"), prefixing the plots' widget keys (see `render_plots`)."""
    import polars as pl

    st.caption(f"{card.get('task')} · {escape_markdown(str(card.get('model')))} · n = {card.get('n')}")  # a model's
    # name holds its class names, which are the user's
    if card.get("warning"):  # e.g. the model does not know the data's labels (named as the data has them)
        st.warning(escape_markdown(page_message(card["warning"])))
    from apps.plots import render_plots

    rows, extras = [], {}
    for name, entry in card.get("metrics", {}).items():
        value, ci = entry.get("value"), entry.get("ci95")
        if isinstance(value, (int, float)) or value is None:
            cases = entry.get("cases")  # a metric over fewer cases than the data hold (HD95 without missed structures)
            rows.append({"metric": name, "value": value, "unit": str(entry.get("unit") or ""),
                         "ci95 low": ci[0] if ci else None, "ci95 high": ci[1] if ci else None,
                         "better": entry.get("better") or "",
                         "cases": f"{cases} of {card.get('n')}" if isinstance(cases, int) and not isinstance(cases, bool)
                         and cases != card.get("n") else ""})
        else:
            extras[name] = value
    if rows:
        st.dataframe(pl.DataFrame(rows), hide_index=True, width="stretch")
    render_plots(card, key)
    for name, value in extras.items():
        if name.endswith("notes") and isinstance(value, list):  # notes on the data, worded for the command line
            value = [page_message(note) if isinstance(note, str) else note for note in value]
        with st.expander(name):
            st.json(value)


# (saved upload, head of its table, widget key) -> reader options; InputError (said on the page, the tab's button
# disabled) when the reader cannot read the head with them, e.g. no text column found: checked on the head the pickers
# read already, not on a second read of the whole table
ColumnChoice = Callable[[Path, Any, str], dict]


def evaluate_tab(task: str, model, read_options: dict | None = None, suffixes: set[str] | None = None,
                 columns: ColumnChoice | None = None, one_file: str | None = None):
    """Upload labelled data and show the model's metric card; returns the card on screen (or None).

    `columns` draws the page's column pickers for an uploaded table and returns their reader options. `one_file`: what
    the tab reads where it reads one file, not a folder ("table"): a .zip is the one such file in it (`kept_upload`).
    The last card stays on screen across reruns, but only for the model, upload and reader options that made it."""
    upload = st.file_uploader("Labelled data (file or .zip of a folder)", key=f"{task}-evaluate-upload")
    allowed = None if suffixes is None else suffixes | {".zip"}
    chosen = _column_options(columns, upload, allowed, f"{task}-evaluate", one_file)
    options = {**(read_options or {}), **(chosen or {})}
    made_by = (id(model), _upload_identity(upload), repr(sorted(options.items())))
    clicked = upload is not None and st.button("Evaluate", key=f"{task}-evaluate-run", disabled=chosen is None)
    if not clicked or chosen is None:
        card = st.session_state.get(f"{task}-evaluate-card")
        if card is None or st.session_state.get(f"{task}-evaluate-for") != made_by:  # another file, column or model
            st.session_state.pop(f"{task}-evaluate-card", None)
            return None
        metric_card_view(card, f"{task}-evaluate")
        return card

    def run():
        data = task_class(task).read_data(kept_upload(upload, allowed, one_file), **options)
        return model.evaluate(data)

    with st.spinner("Evaluating…"):
        card = run_safely(run)
    if card is not None:
        st.session_state[f"{task}-evaluate-card"] = card
        st.session_state[f"{task}-evaluate-for"] = made_by
        metric_card_view(card, f"{task}-evaluate")
    return card


def retrain_tab(task: str, options: dict | None = None, suffixes: set[str] | None = None,
                columns: ColumnChoice | None = None, one_file: str | None = None) -> None:
    """Upload training data and start a background job; shows live progress, cancel, and the queue.

    `columns` draws the page's column pickers for an uploaded table and returns their reader options, checked on the
    table's head (`ColumnChoice`): a column the reader cannot find is said at once, not by a failed job, and the job is
    the one reading the whole table. A saved model is only replaced when the user ticks the box that names it; a blank name is a new unique one."""
    from core import jobs

    upload = st.file_uploader("Training data (file or .zip of a folder)", key=f"{task}-train-upload")
    allowed = None if suffixes is None else suffixes | {".zip"}
    chosen = _column_options(columns, upload, allowed, f"{task}-train", one_file)
    options = {**(options or {}), **(chosen or {})}
    typed = st.text_input("Name of the new model (blank: a new name with the date and time)", key=f"{task}-train-name",
                          placeholder=f"{task.replace('.', '-')}-YYYYMMDD-HHMMSS-xxxx").strip()
    replace = _replace_choice(task, typed)
    overrides_text = st.text_input("Config overrides (key=value, separated by commas; lists in brackets, e.g. "
                                   'drop=["Age", "Job"])', key=f"{task}-train-overrides")
    clicked = upload is not None and st.button("Start training", key=f"{task}-train-start", disabled=chosen is None)
    # what a click starts: a second click for the same upload and settings while its job is queued or running (a
    # double click) says so instead of queueing a twin that competes with it for the machine
    asked = (_upload_identity(upload), repr(sorted(options.items())), typed, replace, overrides_text)
    if clicked and chosen is not None and (running := _running_job(task, asked)) is not None:
        st.info(f"A training of {escape_markdown(upload.name)} with these settings is already {running.status} "
                f"(job {escape_markdown(running.id)}, below): wait for it, or cancel it to start again.")
    elif clicked and chosen is not None:
        def start():
            from core.config import parse_assignments

            name = _checked_name(task, typed, replace) if typed else _unique_model_name(task)
            overrides = parse_assignments(split_overrides(overrides_text), flag="Config overrides")
            return name, jobs.start_job(task, kept_upload(upload, allowed, one_file), base=None, overrides=overrides,
                                        options=options or None, name=name, replace=replace)

        started = run_safely(start)
        if started is not None:
            name, job = started
            st.session_state[f"{task}-job"] = job.id
            st.session_state[f"{task}-job-for"] = asked
            st.success(f"Training started; the model will be saved as {escape_markdown(name)}.")
    _job_panel(task)


def _running_job(task: str, asked: Any):
    """This session's last job of `task` when it was started for the same upload and settings (`asked`) and is still
    queued or running; else None."""
    from core import jobs

    job_id = st.session_state.get(f"{task}-job")
    if job_id is None or st.session_state.get(f"{task}-job-for") != asked:
        return None
    try:
        job = jobs.get_job(job_id)
    except (InputError, OSError, ValueError):  # gone (its folder removed): nothing runs
        return None
    return None if job.done else job


def _column_options(columns: ColumnChoice | None, upload, suffixes: set[str] | None, key: str,
                    one_file: str | None = None) -> dict | None:
    """The reader options a page's column pickers give for an uploaded table (none for other uploads); None, with the
    reason on the page, when the choice cannot be read (one column chosen for two purposes)."""
    if columns is None or upload is None:
        return {}
    path, head = uploaded_table(upload, suffixes, one_file=one_file)
    if head is None:
        return {}
    try:
        return columns(path, head, key)
    except InputError as error:
        show_error(error)
        return None


def _upload_identity(upload) -> Any:
    """What tells one upload from another (a new upload of the same file too)."""
    return None if upload is None else (getattr(upload, "file_id", None), upload.name, upload.size)


def _model_name(typed: str) -> str:
    """The registry folder name `core.jobs.start_job` makes of a typed name."""
    from core.jobs import model_name

    return model_name(typed)


def _unique_model_name(task: str) -> str:
    """A registry name nobody holds: the task, the time to the second and a short random suffix."""
    while True:
        name = f"{task.replace('.', '-')}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
        if not (models_dir() / name).exists() and not _training_into(name):
            return name


def _training_into(name: str) -> bool:
    """True while a queued or running job will save its model under `name` in the registry."""
    from core.jobs import job_writing

    return job_writing(models_dir() / name)


def _held_task(name: str) -> str | None:
    """The task of the saved model called `name` ("" when the folder is not a model, None when there is none)."""
    folder = models_dir() / name
    if not (folder.exists() or folder.is_symlink()):
        return None
    card = next((c for c in list_saved_models() if Path(c["path"]).name == name), None)
    return (card or {}).get("task") or ""


def _replace_choice(task: str, typed: str) -> bool:
    """When the typed name is taken by a saved model of this task, say so and let the user tick to replace it."""
    name = _model_name(typed)
    if not typed or _held_task(name) != task:
        return False
    default = Path(promoted_defaults().get(task) or "/").name == name
    st.warning(f"A saved model named {escape_markdown(name)} already exists{' (the dashboard default for ' + task + ')' if default else ''}. "
               "Choose another name, or tick the box to replace it.")
    return st.checkbox(f"Replace the existing model {escape_markdown(name)}", key=f"{task}-train-replace-{name}")


def _checked_name(task: str, typed: str, replace: bool) -> str:
    """The registry name for a typed one; refuses names that would replace a model the user has not agreed to lose."""
    name = _model_name(typed)
    if not name:
        raise InputError(f"the model name {typed!r} has no letters or digits; type a name such as {task.replace('.', '-')}-v2")
    held = _held_task(name)
    if held is not None and held != task:
        what = f"a {held} model" if held else "a folder that is not a model"
        raise InputError(f"the name {name} is taken by {what}; choose another name (nothing was changed)")
    if held == task and not replace:
        raise InputError(f"a saved model named {name} already exists; choose another name, or tick "
                         f"'Replace the existing model {name}' (nothing was started)")
    if _training_into(name):
        raise InputError(f"a training that is still running will save as {name}; wait for it or choose another name")
    return name


def split_overrides(text: str) -> list[str]:
    """`key=value` overrides typed in one box, split at commas and new lines outside brackets and quotes.

    >>> split_overrides('family=logistic, drop=["Age", "Job"]')
    ['family=logistic', 'drop=["Age", "Job"]']
    """
    parts, current, closing, quote = [], [], [], None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'" and (not current or "".join(current).rstrip()[-1:] in {"", "=", "[", "(", "{", ",", ":"}):
            quote = char  # a quote opens a value or list item; an apostrophe inside a word does not
        elif char in "[({":
            closing.append({"[": "]", "(": ")", "{": "}"}[char])
        elif char in "])}":
            if not closing or closing.pop() != char:
                raise InputError(f"config overrides: unmatched {char!r} in {text.strip()!r}; lists look like "
                                 'drop=["Age", "Job"]')
        elif char in ",\n" and not closing:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quote or closing:
        missing = quote or closing[-1]
        raise InputError(f"config overrides: a {missing!r} is missing in {text.strip()!r}; lists look like "
                         'drop=["Age", "Job"]')
    parts.append("".join(current))
    overrides = [part.strip() for part in parts if part.strip()]
    for part in overrides:
        if "=" not in part:
            raise InputError(f"config override {part!r} is not key=value; separate overrides with commas and put "
                             'lists in brackets, e.g. epochs=20, drop=["Age", "Job"]')
    return overrides


@st.fragment(run_every=2.0)
def _job_panel(task: str) -> None:
    from core import jobs

    task_jobs = [j for j in jobs.list_jobs() if j.task == task]
    if not task_jobs:
        st.caption("No training jobs yet.")
        return
    for job in task_jobs[:5]:
        progress = job.progress or {}
        label = f"{job.id} · {job.status}"
        if "step" in progress and progress.get("total_steps"):
            label += f" · step {progress['step']}/{progress['total_steps']}"
        with st.container(border=True):
            st.write(label)
            if job.status == "running" and progress.get("fraction") is not None:
                eta = progress.get("eta_seconds")
                st.progress(progress["fraction"], text=f"loss {progress.get('loss', float('nan')):.4g} · ETA {eta:.0f}s" if eta is not None and "loss" in progress else None)
            if job.error:  # the job's message in the page's words, without the server folders its upload was in
                st.error(escape_markdown(page_message(job.error)))
            if job.status == "succeeded":
                st.success(f"Saved to the model registry as {escape_markdown(Path(job.out).name)}")
                show_training_warning(saved_card_warning(job.out))  # e.g. a guessed yes/no target: said with it
            if job.note:  # a cancel: said by what is on disk, without the server folder the job's note names
                st.info("The cancel came after the model was saved: the new model is kept." if job.status == "succeeded"
                        else "Cancelled before the model was saved: the registry is as it was.")
            if not job.done and st.button("Cancel", key=f"cancel-{job.id}"):
                jobs.cancel_job(job.id)
