"""Parallel corpora for translation: TSV/CSV/JSONL tables and line-aligned twin files, plus language codes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.data import read_lines, read_table
from core.data.paths import require_path
from core.errors import InputError
from core.languages import ISO3, iso1
from nlp._apertium import installed_pairs

__all__ = ["ISO3", "LANGUAGE_NAMES", "to_iso1", "to_iso3", "apertium_install_hint", "read_parallel", "read_lines",
           "COLUMNS", "named_sources", "remember_named_sources"]

COLUMNS = ["source", "target", "source_lang", "target_lang"]
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "ca": "Catalan", "gl": "Galician", "eu": "Basque", "eo": "Esperanto",
                  "is": "Icelandic", "sh": "Serbo-Croatian", "mk": "Macedonian", "fr": "French", "de": "German",
                  "pt": "Portuguese", "it": "Italian", "ro": "Romanian", "oc": "Occitan", "an": "Aragonese", "nl": "Dutch",
                  "ru": "Russian", "zh": "Chinese", "ja": "Japanese", "ar": "Arabic", "pl": "Polish", "sv": "Swedish",
                  "cs": "Czech"}
_CODE = re.compile(r"[a-z]{2,3}")
_BY_NAME = {name.lower(): code for code, name in LANGUAGE_NAMES.items()}
SOURCE_COLUMNS = ("source", "src", "text", "sentence")
TARGET_COLUMNS = ("target", "tgt", "translation", "reference")


def to_iso1(code: str | None) -> str | None:
    """Normalise a language code to ISO 639-1 where one exists (`eng` -> `en`); others pass through lower-cased.

    >>> to_iso1("eng"), to_iso1("ES"), to_iso1("en-US"), to_iso1("Spanish"), to_iso1("ast")
    ('en', 'es', 'en', 'es', 'ast')
    """
    if code is None:
        return None
    code = str(code).strip().lower().replace("_", "-").split("-")[0]
    code = _BY_NAME.get(code, code)  # "Spanish" -> "es"
    if not _CODE.fullmatch(code):
        raise InputError(f"{code!r} is not a language code; use ISO 639-1/3 codes such as en, es, eng, spa")
    return iso1(code) or code


def to_iso3(code: str) -> str:
    """ISO 639-3 code of a language (`en` -> `eng`).

    >>> to_iso3("en"), to_iso3("spa")
    ('eng', 'spa')
    """
    code = to_iso1(code)
    return ISO3.get(code, code)


def apertium_install_hint(source: str, target: str) -> str:
    """What to install for an Apertium pair that is not: its Debian package, named by ISO 639-3 codes as Debian names
    them (`apertium-fin-spa`, never `apertium-fi-spa`; Serbo-Croatian's `hbs` for hr, sr and bs, as `core.apertium`
    reads them), or, for a language with no ISO 639-3 code known here, that no package is known for it.

    >>> apertium_install_hint("fi", "es")
    'install the Debian package apertium-fin-spa or apertium-spa-fin if it exists (apt-cache search apertium)'
    >>> apertium_install_hint("bh", "en")
    'no Apertium package is known for bh (apt-cache search apertium lists the pairs Debian has)'
    """
    from core.apertium import ISO_639_3 as APERTIUM_CODES

    codes = {**ISO3, **APERTIUM_CODES}
    known = set(codes.values()) | {code for pair in installed_pairs() for code in pair}
    names = []
    for language in (source, target):
        code = to_iso1(language)
        code = codes.get(code, code)
        if code not in known:
            return f"no Apertium package is known for {language} (apt-cache search apertium lists the pairs Debian has)"
        names.append(code)
    return (f"install the Debian package apertium-{names[0]}-{names[1]} or apertium-{names[1]}-{names[0]} if it exists "
            "(apt-cache search apertium)")


# Every ISO 639-1 code: a file named `corp.fi` is Finnish even though no pair here translates it (an error that says
# so, not English); three-letter suffixes count only as ISO 639-3 codes of known languages (`.dat`, `.log` are types).
ISO_639_1 = frozenset("""aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de
dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu
ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng
nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta
te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split())
# Language codes that are also the suffix of a program or build file: a name ending in one says nothing by itself.
PROGRAM_SUFFIXES = {"am": ("Amharic", "an Automake file"), "as": ("Assamese", "an ActionScript or assembly file"),
                    "cs": ("Czech", "a C# source file"), "cu": ("Church Slavonic", "a CUDA source file"),
                    "el": ("Greek", "an Emacs Lisp file"), "gd": ("Scottish Gaelic", "a GDScript file"),
                    "ii": ("Nuosu", "a preprocessed C++ file"), "ko": ("Korean", "a Linux kernel module"),
                    "la": ("Latin", "a libtool archive"), "lo": ("Lao", "a libtool object"),
                    "mk": ("Macedonian", "a Makefile"), "ml": ("Malayalam", "an OCaml or ML source file"),
                    "ms": ("Malay", "a troff file"), "pl": ("Polish", "a Perl script"),
                    "ps": ("Pashto", "a PostScript file"), "rm": ("Romansh", "a RealMedia file"),
                    "sc": ("Sardinian", "a Scala or SuperCollider file"), "so": ("Somali", "a shared library"),
                    "ss": ("Swati", "a Scheme file"), "st": ("Southern Sotho", "a Smalltalk file"),
                    "ts": ("Tsonga", "a TypeScript file or a video stream")}
_NOT_LANGUAGES = {"txt", "csv", "tsv", "md", "py", "gz", "zip", "xz", "bz2", "tar", "jpg", "png", "gif", "log", "xml",
                  "pdf", "doc", "yml", "bak", "tmp", "out", "sh", "ids", "pq"}


COMPRESSED_SUFFIXES = {".gz": "gunzip -k", ".bz2": "bunzip2 -k", ".xz": "unxz -k", ".zst": "unzstd"}  # and how to undo each


def _is_language_suffix(path: Path) -> bool:
    code = path.suffix[1:].lower()
    return _CODE.fullmatch(code) is not None and code not in _NOT_LANGUAGES


def _language_in_name(path: Path) -> str | None:
    """The language a text file's name gives, as an ISO 639-1 code, or None when it gives none. The rule: the name's
    last suffix, or the one before `.txt`, names a language when it is an ISO 639-1 code (`corp.es`, `notes.es.txt`;
    `corp.fi` too, which no pair here may translate: `predict` then says so and how to choose, never English), or the
    ISO 639-3 code of a language this module knows (`corp.spa`; other three letters are file types: `.dat`, `.log`).
    A code that is also a program's suffix (`PROGRAM_SUFFIXES`: `.pl` Perl, `.cs` C#) names a language only where the
    name shows a corpus: before `.txt` (`corp.pl.txt`) or after a pair that names it (Europarl's
    `europarl-v7.pl-en.pl`); a bare `script.pl` could be either, so it is an `InputError` that asks for `--source`.
    Predict's inputs and the line-aligned files of training data (`read_parallel`) are named by this one rule.

    >>> _language_in_name(Path("europarl.es")), _language_in_name(Path("corpus.eng")), _language_in_name(Path("notes.dat"))
    ('es', 'en', None)
    >>> _language_in_name(Path("notes.es.txt")), _language_in_name(Path("corp.fi")), _language_in_name(Path("notes.v2.txt"))
    ('es', 'fi', None)
    >>> _language_in_name(Path("europarl-v7.pl-en.pl")), _language_in_name(Path("corp.pl.txt"))
    ('pl', 'pl')
    """
    parts = [suffix[1:].lower() for suffix in path.suffixes]
    before_text = bool(parts) and parts[-1] == "txt"
    if before_text:
        parts.pop()
    code = parts[-1] if parts else ""
    if not _CODE.fullmatch(code) or code in _NOT_LANGUAGES:
        return None
    language = to_iso1(code)
    if code not in ISO_639_1:
        known = set(LANGUAGE_NAMES) | {to_iso1(side) for pair in installed_pairs() for side in pair}
        if language not in known:
            return None
    if code in PROGRAM_SUFFIXES and not before_text and code not in re.split(r"[-_]", parts[-2] if len(parts) > 1 else ""):
        name, program = PROGRAM_SUFFIXES[code]
        raise InputError(f"{path.name}: .{code} is the code of {name} ({code}) and the suffix of {program}, so the name "
                         f"does not say which language the file is in. To translate it from {name}, pass --source {code} "
                         f"(Python: source='{code}') or name it {path.stem}.{code}.txt; for another language pass its "
                         "code, e.g. --source en")
    return language


def _refuse_compressed(path: Path) -> None:
    """Translation reads plain text: a compressed file (`corp.es.gz`) is refused with what to do, not read as bytes."""
    if path.suffix.lower() not in COMPRESSED_SUFFIXES:
        return
    inner = path.with_suffix("")
    try:
        language = _language_in_name(inner)
    except InputError:
        language = None
    said = f", which is read as {LANGUAGE_NAMES.get(language, language)} ({language}) from its name" if language else ""
    raise InputError(f"{path.name} is compressed ({path.suffix}); translation reads plain text files: decompress it "
                     f"first (e.g. {COMPRESSED_SUFFIXES[path.suffix.lower()]} {path.name}) and pass {inner.name}{said}")


def _codes(*options: str | None) -> set[str]:
    """The ISO 639-1 codes among --source/--target (which may name table columns instead: those are left out)."""
    codes = set()
    for option in filter(None, options):
        try:
            codes.add(to_iso1(option))
        except InputError:
            continue
    return codes


def _file_language(path: Path, chosen: set[str]) -> str | None:
    """The language of one line-aligned file by `_language_in_name`; a code that is also a program's suffix
    (`corp.pl`: Polish or Perl) counts when --source/--target names it (`chosen`), else the name is an InputError."""
    try:
        return _language_in_name(path)
    except InputError:
        code = (path.suffixes[-1] if path.suffixes else "")[1:].lower()
        if code in chosen:
            return code
        name, program = PROGRAM_SUFFIXES[code]
        stem = path.name[: -len(code) - 1]
        raise InputError(f"{path.name}: .{code} is the code of {name} ({code}) and the suffix of {program}, so the name "
                         f"does not say that the file holds {name} sentences. Pass --source {code} or --target {code} "
                         f"(Python: source='{code}') to read it as {name}, or name it {stem}.{code}.txt") from None


def _corpus_stem(path: Path) -> str:
    """The name a line-aligned set shares: `corp` for `corp.en`, `corp.en.txt` and `corp.en.gz`."""
    name = path.name
    for suffix in [*COMPRESSED_SUFFIXES, ".txt"]:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name.rsplit(".", 1)[0]


def _siblings(path: Path, chosen: set[str]) -> dict[str, list[Path | InputError]]:
    """language -> the files of `path`'s line-aligned set in that language (`stem.<lang>`, `stem.<lang>.txt`, or a
    compressed one), or the InputError that a program-suffix name (`stem.pl`) raises, kept until the file is wanted."""
    stem, found = _corpus_stem(path), {}
    for other in sorted(path.parent.glob("*")):
        if not other.is_file() or not other.name.startswith(stem + ".") or _corpus_stem(other) != stem:
            continue
        named = other.with_suffix("") if other.suffix.lower() in COMPRESSED_SUFFIXES else other
        try:
            language = _file_language(named, chosen)
        except InputError as error:
            language = (named.suffixes[-1] if named.suffixes else "")[1:].lower()
            found.setdefault(language, []).append(error)
            continue
        if language is not None:
            found.setdefault(language, []).append(other)
    return found


def _twins(path: Path, source: str | None, target: str | None) -> list[tuple[Path, str, Path, str]]:
    """(source file, source lang, target file, target lang) for each pair the options and siblings allow. Files are
    named as predict's inputs are (`_language_in_name`): `corp.en` + `corp.es`, `corp.en.txt` + `corp.es.txt`."""
    chosen = _codes(source, target)
    own = _file_language(path, chosen)
    stem, siblings = _corpus_stem(path), _siblings(path, chosen)
    siblings[own] = [path]  # the file given is its language's file, whatever else shares the name

    def file(language: str) -> Path:
        candidates = siblings.get(to_iso1(language), [])
        for candidate in candidates:
            if isinstance(candidate, InputError):
                raise candidate
        plain = [p for p in candidates if p.suffix.lower() not in COMPRESSED_SUFFIXES]
        if len(plain) > 1:
            raise InputError(f"{' and '.join(p.name for p in plain)} are both the {language} side of {stem}; keep one")
        if not plain and candidates:
            _refuse_compressed(candidates[0])
        if not plain:
            raise InputError(f"no file {stem}.{language} beside {path.name}; line-aligned data is two files "
                             f"name.<source> and name.<target> (found: {', '.join(sorted(siblings)) or 'none'})")
        return plain[0]

    if source and target:
        if own not in {to_iso1(source), to_iso1(target)}:
            raise InputError(f"{path.name} is neither the .{source} nor the .{target} file; pass one of the two")
        pairs = [(source, target)]
    elif source or target:
        given = source or target
        others = [code for code in sorted(siblings) if code != to_iso1(given)]
        if own != to_iso1(given):
            others = [own]
        pairs = [(given, other) if source else (other, given) for other in others]
    else:
        pairs = [(own, other) for other in sorted(siblings) if other != own]
    if not pairs:
        raise InputError(f"no twin file beside {path.name}: line-aligned data is two files name.<source> and "
                         f"name.<target> (e.g. corpus.en + corpus.es); or use a TSV/JSONL with source,target columns")
    return [(file(s), to_iso1(s), file(t), to_iso1(t)) for s, t in pairs]


def _aligned(source_file: Path, target_file: Path) -> tuple[list[str], list[str]]:
    sources, targets = read_lines(source_file), read_lines(target_file)
    if len(sources) != len(targets):
        raise InputError(f"{source_file.name} has {len(sources)} lines but {target_file.name} has {len(targets)}; "
                         "line-aligned files need one translation per line")
    kept_sources, kept_targets = [], []
    for number, (s, t) in enumerate(zip(sources, targets), start=1):
        if not s.strip() and not t.strip():
            continue
        if not s.strip() or not t.strip():
            empty = source_file.name if not s.strip() else target_file.name
            raise InputError(f"line {number} of {empty} is empty but its twin is not; the files are misaligned")
        kept_sources.append(s.strip())
        kept_targets.append(t.strip())
    return kept_sources, kept_targets


def _pick(columns: list[str], wanted: str | None, defaults: tuple[str, ...]) -> str | None:
    if wanted and wanted in columns:
        return wanted
    return next((name for name in defaults if name in columns), None)


def _language_of(option: str | None, column: str) -> str | None:
    # An option naming a column is a language only when the column is named by a code (`en`, `spa`).
    if option is None or (option == column and not _CODE.fullmatch(option.lower())):
        return None
    return option


def _from_table(path: Path, source: str | None, target: str | None):
    import polars as pl

    frame = read_table(path)
    columns = frame.columns
    if isinstance(frame.schema.get("translation"), pl.Struct) and not {source, target} & set(columns):
        return _from_language_dict(frame, path, source, target)
    source_column = _pick(columns, source, SOURCE_COLUMNS)
    target_column = _pick(columns, target, TARGET_COLUMNS)
    if source_column is None or target_column is None:
        raise InputError(f"{path.name} needs columns source and target (or pass --source/--target naming them); "
                         f"it has: {', '.join(columns[:20])}")
    source_lang, target_lang = _language_of(source, source_column), _language_of(target, target_column)
    out = frame.select(pl.col(source_column).cast(pl.String).alias("source"), pl.col(target_column).cast(pl.String).alias("target"))
    for name, given in (("source_lang", source_lang), ("target_lang", target_lang)):
        if name in columns and given is None:
            out = out.with_columns(frame[name].cast(pl.String).map_elements(to_iso1, return_dtype=pl.String).alias(name))
        else:
            out = out.with_columns(pl.lit(to_iso1(given) if given else None, dtype=pl.String).alias(name))
    return _without_blanks(out, path)


def _without_blanks(out, path: Path):
    """The pairs with their sentences stripped; a row with an empty source or target is refused."""
    import polars as pl

    blank = out.filter(pl.col("source").is_null() | pl.col("target").is_null()
                       | (pl.col("source").str.strip_chars() == "") | (pl.col("target").str.strip_chars() == ""))
    if blank.height:
        raise InputError(f"{path.name} has {blank.height} row(s) with an empty source or target; remove them")
    return out.with_columns(pl.col("source").str.strip_chars(), pl.col("target").str.strip_chars())


def _from_language_dict(frame, path: Path, source: str | None, target: str | None):
    """Hugging Face `datasets`' translation layout: a `translation` column of {language: sentence} dicts (JSONL or
    Parquet). --source/--target pick the pair; with one of them, it is paired with every other language; with neither,
    every ordered pair is read and the model's own pair is taken from them (as with several line-aligned twins)."""
    import polars as pl

    fields = [field.name for field in frame.schema["translation"].fields]
    codes: dict[str, str] = {}
    for name in fields:
        try:
            codes.setdefault(to_iso1(name), name)
        except InputError:
            continue  # a key that is no language code (e.g. a note) is not a side of any pair

    def side(option: str) -> str:
        code = to_iso1(option)
        if code not in codes:
            raise InputError(f"{path.name}: its 'translation' dicts have no {option!r} sentences; they hold "
                             f"{', '.join(fields) or 'no language'}. Pass --source/--target naming two of these")
        return code

    if source and target:
        pairs = [(side(source), side(target))]
    elif source or target:
        given = side(source or target)
        pairs = [(given, other) if source else (other, given) for other in codes if other != given]
    else:
        pairs = [(s, t) for s in codes for t in codes if s != t]
    if not pairs or any(s == t for s, t in pairs):
        raise InputError(f"{path.name}: its 'translation' dicts need two languages to make a pair; they hold "
                         f"{', '.join(fields) or 'none'}")
    column = pl.col("translation").struct
    parts = [frame.select(column.field(codes[s]).cast(pl.String).alias("source"),
                          column.field(codes[t]).cast(pl.String).alias("target"),
                          pl.lit(s, dtype=pl.String).alias("source_lang"), pl.lit(t, dtype=pl.String).alias("target_lang"))
             for s, t in pairs]
    return _without_blanks(pl.concat(parts), path)


def _named_code(path: Path) -> str | None:
    """The language a file's name gives (`_language_in_name`, through a compressed suffix: `corp.es.gz` too), or the
    code of a program-suffix name (`corp.pl`), which `_twins` settles with --source/--target."""
    named = path.with_suffix("") if path.suffix.lower() in COMPRESSED_SUFFIXES else path
    try:
        return _language_in_name(named)
    except InputError:
        return named.suffix[1:].lower()


def _file_in_folder(folder: Path, source: str | None) -> Path:
    """The corpus inside a folder (e.g. an unzipped upload): its one table, or one file of its line-aligned set."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    tables = [p for p in files if p.suffix.lower() in {".tsv", ".csv", ".jsonl", ".ndjson", ".parquet", ".pq"}]
    aligned = [p for p in files if _named_code(p) is not None]
    if len(tables) == 1 and not aligned:
        return tables[0]
    if aligned and not tables:
        stems = {(p.parent, _corpus_stem(p)) for p in aligned}
        if len(stems) == 1 and len(aligned) >= 2:
            plain = [p for p in aligned if p.suffix.lower() not in COMPRESSED_SUFFIXES]
            chosen = [p for p in plain if _named_code(p) in _codes(source)]
            return (chosen or plain or aligned)[0]
    raise InputError(f"{folder.name} should hold one TSV/CSV/JSONL table or one set of line-aligned files name.<lang> "
                     f"(found {len(tables)} table(s) and {len(aligned)} language file(s))")


def remember_named_sources(frame, named: dict[str, str]):
    """`frame` with `frame.named_sources`: source language -> the name of the line-aligned file whose suffix alone
    gave it (no --source), so evaluate checks those lines against it as it checks lines of no stated language; a
    suffix is a guess (swapped `corp.en`/`corp.es` files are a common mix-up). Kept only where the table takes it."""
    try:
        frame.named_sources = dict(named)
    except AttributeError:  # a table type that takes no attributes: its lines are just not checked
        pass
    return frame


def named_sources(data: Any) -> dict[str, str]:
    """The languages a line-aligned corpus's file names gave (`remember_named_sources`), or {}."""
    return dict(getattr(data, "named_sources", None) or {}) if not isinstance(data, (str, Path)) else {}


def read_parallel(path: str | Path, source: str | None = None, target: str | None = None, **options: Any):
    """Read a parallel corpus into a polars table with columns source, target, source_lang, target_lang.

    Tables (.tsv .csv .jsonl .parquet) need source/target columns (or `source`/`target` naming columns), or Hugging Face
    `datasets`' `translation` column of {language: sentence} dicts (`_from_language_dict`); a file named
    `name.<lang>` or `name.<lang>.txt` (by `_language_in_name`, the rule predict reads a file's language by) is one
    half of two line-aligned files: its twin is found beside it, `source`/`target` give the languages, and with several
    twins every pair is read. A folder holding one such corpus is accepted too; a compressed file is refused, saying
    how to decompress it.

    >>> import tempfile; d = Path(tempfile.mkdtemp())
    >>> _ = (d / "c.en").write_text("Hi.\\nBye.\\n"); _ = (d / "c.es").write_text("Hola.\\nAdiós.\\n")
    >>> read_parallel(d / "c.es", source="en").select("source", "target_lang").rows()
    [('Hi.', 'es'), ('Bye.', 'es')]
    >>> read_parallel(d / "c.es").row(0)  # without options the file given is the source side
    ('Hola.', 'Hi.', 'es', 'en')
    """
    import polars as pl

    unknown = set(options) - {"column", "id"}
    if unknown:
        raise InputError(f"unknown option(s) for translation data: {', '.join(sorted(unknown))}; use --source/--target")
    path = require_path(path, "parallel corpus (TSV/JSONL with source,target or two line-aligned files)")
    if path.is_dir():
        path = _file_in_folder(path, source)
    _refuse_compressed(path)
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty")
    if path.suffix.lower() in {".tsv", ".csv", ".jsonl", ".ndjson", ".json", ".parquet", ".pq"}:
        frame = _from_table(path, source, target)
    elif _named_code(path) is not None:
        parts, named = [], {}
        for source_file, source_lang, target_file, target_lang in _twins(path, source, target):
            sources, targets = _aligned(source_file, target_file)
            parts.append(pl.DataFrame({"source": sources, "target": targets,
                                       "source_lang": [source_lang] * len(sources), "target_lang": [target_lang] * len(sources)},
                                      schema={name: pl.String for name in COLUMNS}))
            if source is None:  # the source language is the file name's guess, not the user's word
                named.setdefault(source_lang, source_file.name)
        frame = remember_named_sources(pl.concat(parts), named)
    else:
        raise InputError(f"{path.name}: translation data is a TSV/CSV/JSONL/Parquet table with source,target columns, or "
                         "two line-aligned files name.<lang> (e.g. corpus.en + corpus.es)")
    if frame.height == 0:
        raise InputError(f"{path.name} holds no sentence pairs")
    return frame
