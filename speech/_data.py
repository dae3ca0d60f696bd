"""Labelled speech data readers: CSV/JSONL/Parquet manifests (audio,text), LibriSpeech `*.trans.txt`,
LJSpeech `metadata.csv`, and FSDD-style folders of `{digit}_{speaker}_{index}.wav` recordings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.data import read_table, require_columns, resolve_inside
from core.data.paths import is_hidden, require_path
from core.errors import InputError
from speech.audio import AUDIO_SUFFIXES

MANIFEST_SUFFIXES = {".csv", ".tsv", ".jsonl", ".parquet"}
AUDIO_COLUMNS = ("audio", "path")  # a manifest's or table's audio paths: the first of these it has (predict and evaluate)
TEXT_COLUMNS = ("text", "sentence")  # a manifest's transcripts unless named: `text`, else Common Voice's `sentence`
LANGUAGE_COLUMNS = ("language", "locale")  # each row's spoken language, when the manifest says it (Common Voice: locale)
CLIPS_FOLDER = "clips"  # Common Voice: the TSVs' audio paths lie in clips/ beside them
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)$")
FORMATS = ("a CSV/TSV/JSONL/Parquet manifest with columns audio,text[,speaker,language] (paths relative to the manifest); "
           "a Common Voice TSV (path, sentence, locale; clips in clips/ beside it); "
           "a LibriSpeech folder (*.trans.txt beside the .flac files); an LJSpeech folder (metadata.csv + wavs/); "
           "or a folder of spoken-digit recordings named {digit}_{speaker}_{index}.wav")


def _frame(rows: list[dict[str, Any]], where: str):
    import polars as pl

    if not rows:
        raise InputError(f"{where} holds no labelled utterances; expected {FORMATS}")
    return pl.DataFrame(rows, schema={"audio": pl.String, "text": pl.String, "speaker": pl.String})


def manifest_audio(manifest: Path, relative: str) -> Path:
    """A manifest's audio path, resolved inside the manifest's folder; a Common Voice TSV (validated.tsv, test.tsv)
    names clips that lie in its sibling `clips/` folder, where the file is looked for when it is not beside the TSV."""
    resolved = resolve_inside(manifest.parent, relative)
    clips = manifest.parent / CLIPS_FOLDER
    if not resolved.exists() and clips.is_dir():
        in_clips = resolve_inside(clips, relative)
        if in_clips.exists():
            return in_clips
    return resolved


def _manifest(path: Path, audio_column: str | None, text_column: str | None):
    """`audio_column` None: the first of AUDIO_COLUMNS the manifest has, as predict reads a manifest. `text_column`
    None: `text`, else Common Voice's `sentence`; a `locale` column (Common Voice's) is the language when there is no
    `language` column, and `client_id` (Common Voice's) the speaker when there is no `speaker` column."""
    named = [audio_column] if audio_column else list(AUDIO_COLUMNS)
    transcripts = [text_column] if text_column else list(TEXT_COLUMNS)
    frame = read_table(path, text_columns=[*named, *transcripts, "speaker", "client_id"])  # a transcript "1.50" stays as said
    audio_column = audio_column or next((c for c in AUDIO_COLUMNS if c in frame.columns), AUDIO_COLUMNS[0])
    text_column = text_column or next((c for c in TEXT_COLUMNS if c in frame.columns), TEXT_COLUMNS[0])
    try:
        require_columns(frame, [audio_column, text_column], path.name)
    except InputError as error:
        where = "" if len(named) == 1 else " (audio paths are read from an 'audio' or 'path' column)"
        raise InputError(f"{error}{where}; name the columns with --column AUDIO --target TEXT (column=, target= in "
                         "Python)") from error
    rows = []
    speaker_column = next((c for c in ("speaker", "client_id") if c in frame.columns), None)  # Common Voice: client_id
    speakers = frame[speaker_column].cast(str).to_list() if speaker_column else [None] * frame.height
    for index, (audio, text, speaker) in enumerate(zip(frame[audio_column].to_list(), frame[text_column].to_list(), speakers)):
        # a blank cell is the empty one in another spelling (polars reads "" as null, "  " as text)
        empty = [name for name, value in ((audio_column, audio), (text_column, text)) if value is None or not str(value).strip()]
        if empty:
            cells = " and ".join(repr(name) for name in empty)
            raise InputError(f"{path.name} row {index + 1}: the {cells} cell{'s are' if len(empty) > 1 else ' is'} empty; "
                             "fill or drop that row")
        rows.append({"audio": str(manifest_audio(path, str(audio).strip())), "text": str(text), "speaker": speaker})
    result = _frame(rows, path.name)
    language_column = next((c for c in LANGUAGE_COLUMNS if c in frame.columns), None)
    if language_column:  # the spoken language of each row, when the manifest says it
        import polars as pl

        languages = [None if v is None or not str(v).strip() else str(v).strip() for v in frame[language_column].to_list()]
        result = result.with_columns(pl.Series("language", languages, dtype=pl.String))
    return result


def _ljspeech(root: Path):
    rows = []
    metadata = root / "metadata.csv"
    try:
        lines = metadata.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(f"{metadata} is not UTF-8 text; re-save it as UTF-8") from error
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 2:
            raise InputError(f"{metadata.name} line {number}: expected id|transcript[|normalised transcript]")
        text = parts[2] if len(parts) > 2 and parts[2].strip() else parts[1]
        audio = resolve_inside(root, f"wavs/{parts[0].strip()}.wav")
        rows.append({"audio": str(audio), "text": text.strip(), "speaker": None})
    return _frame(rows, str(metadata))


def _librispeech(root: Path, transcripts: list[Path]):
    rows = []
    for file in transcripts:
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            utterance, _, text = line.strip().partition(" ")
            audio = next((file.parent / f"{utterance}{suffix}" for suffix in (".flac", ".wav")
                          if (file.parent / f"{utterance}{suffix}").is_file()), file.parent / f"{utterance}.flac")
            resolved = resolve_inside(root, audio.relative_to(root))
            rows.append({"audio": str(resolved), "text": text, "speaker": utterance.split("-")[0]})
    return _frame(rows, str(root))


def _digits(root: Path, files: list[Path]):
    rows = []
    for file in files:
        match = _FSDD_NAME.match(file.stem)
        rows.append({"audio": str(file.resolve()), "text": DIGIT_WORDS[int(match.group(1))], "speaker": match.group(2)})
    return _frame(rows, str(root))


def read_speech_data(path: str | Path, audio_column: str | None = None, text_column: str | None = None):
    """Read labelled speech data as a polars DataFrame with columns audio (absolute path), text, speaker (and language
    when a manifest has a `language` or `locale` column). A manifest's audio paths are its `audio_column`, else its
    first of AUDIO_COLUMNS (`audio`, then `path`; looked for in a sibling `clips/` folder when not beside the manifest,
    as Common Voice unpacks); its transcripts its `text_column`, else `text`, else `sentence`."""
    path = require_path(path, "manifest file or data folder")
    if path.is_file():
        return _manifest(path, audio_column, text_column)
    if (path / "metadata.csv").is_file():
        return _ljspeech(path)
    transcripts = sorted(path.rglob("*.trans.txt"))
    if transcripts:
        return _librispeech(path, transcripts)
    for name in ("manifest.csv", "manifest.jsonl", "manifest.tsv", "manifest.parquet"):
        if (path / name).is_file():
            return _manifest(path / name, audio_column, text_column)
    tables = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MANIFEST_SUFFIXES
                    and not is_hidden(p, path))
    if len(tables) == 1:  # one table in the folder, whatever its name: the manifest
        return _manifest(tables[0], audio_column, text_column)
    if len(tables) > 1:
        names = ", ".join(p.relative_to(path).as_posix() for p in tables[:5])
        raise InputError(f"{path} holds {len(tables)} tables ({names}{', ...' if len(tables) > 5 else ''}); say which "
                         "is the manifest: pass that file itself, or name it manifest.csv")
    audio = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    digits = [p for p in audio if _FSDD_NAME.match(p.stem)]
    if digits and len(digits) == len(audio):
        return _digits(path, digits)
    raise InputError(f"{path} is not a speech data folder I recognise; expected {FORMATS}")
