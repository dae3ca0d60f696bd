"""Reading labelled text tables for sentiment: text/label columns, label maps, train/validation split."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


from core.data.labels import label_matcher, whole_number
from core.errors import InputError
from nlp._encoder import is_blank

__all__ = ["TEXT_COLUMNS", "read_text_table", "label_first_lines", "text_table_inputs", "frame_text_inputs",
           "as_text_frame", "label_names", "label_indices", "with_positive_label", "recorded_positive",
           "unnamed_answers", "split_frame"]

TEXT_COLUMNS = ("text", "sentence", "review", "content")
NAMED_BINARY = ("negative", "positive")


def _pick(columns: list[str], wanted: str | None, candidates: tuple[str, ...], what: str, where: str) -> str:
    if wanted is not None:
        if wanted in columns:
            return wanted
        if wanted.isdigit() and int(wanted) < len(columns):  # a column number, as the CLI allows
            return columns[int(wanted)]
        raise InputError(f"{where} has no {what} column {wanted!r}; it has: {', '.join(columns)}")
    for name in candidates:
        for column in columns:
            if column.lower() == name:
                return column
    raise InputError(f"{where} needs a {what} column (one of {', '.join(candidates)}); it has: {', '.join(columns)}. "
                     f"Rename it or pass --{'column' if what == 'text' else 'target'} NAME "
                     "(a file without a header line: --option header=false --column 0 --target 1)")


def frame_text_inputs(batch: Any, text_column: str | None = None, where: str = "the table"):
    """A table's texts as predict inputs (`core.protocols.Inputs`, for `predict_frame`): the text column (`text_column`,
    else the first of TEXT_COLUMNS) with an error record for each empty cell, which sits beside its row; the rest are
    predicted.

    >>> import polars as pl
    >>> frame_text_inputs(pl.DataFrame({"review": ["fine", None]})).errors
    {1: "the 'review' cell is empty"}
    """
    from core.protocols import Inputs

    column: list[str] = []
    frame = as_text_frame(batch, text_column, where=where, require_label=False, allow_empty=True, picked=column)
    texts = ["" if text is None else text for text in frame["text"].to_list()]
    return Inputs(texts, errors={i: f"the {column[0]!r} cell is empty" for i, text in enumerate(texts) if is_blank(text)})


def as_text_frame(data: Any, text_column: str | None = None, label_column: str | None = None, where: str = "the data",
                  require_label: bool = True, allow_empty: bool = False, picked: list[str] | None = None):
    """Normalise a polars/pandas table, dict of lists or list of (text, label) pairs to polars `text`[, `label`].
    An empty text is refused by row unless `allow_empty` (predict inputs, which give it an error record); `picked`, a
    list, gets the name of the column read as text."""
    import polars as pl

    if isinstance(data, (str, Path)):
        return read_text_table(data, text_column=text_column, label_column=label_column, require_label=require_label)
    if isinstance(data, list) and data and all(isinstance(row, (tuple, list)) and len(row) == 2 for row in data):
        data = {"text": [row[0] for row in data], "label": [row[1] for row in data]}
    if isinstance(data, dict):
        try:
            data = pl.DataFrame(data)
        except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
            raise InputError(f"cannot make a table of {where}: {error}") from error
    if not isinstance(data, pl.DataFrame):
        if hasattr(data, "columns") and hasattr(data, "to_numpy"):
            data = pl.from_pandas(data)
        else:
            raise InputError(f"expected a table with text and label columns (or a file path), got {type(data).__name__}")
    columns = list(data.columns)
    if columns[:2] == ["0", "1"] and len(columns) <= 2 and text_column is None:  # a headerless `text<TAB>label` file
        label_first = len(columns) == 2 and data["0"].dtype != pl.String and data["1"].dtype == pl.String
        text_column, label_column = ("1", label_column or "0") if label_first else ("0", label_column or "1")
    text = _pick(columns, text_column, TEXT_COLUMNS, "text", where)
    if picked is not None:
        picked.append(text)
    selected = [pl.col(text).alias("text")]
    if require_label:
        label = _pick(columns, label_column, ("label", "labels", "target", "sentiment", "y"), "label", where)
        selected.append(pl.col(label).alias("label"))
    frame = data.select(selected)
    if frame.height == 0:
        raise InputError(f"{where} has no rows")
    if frame["text"].dtype == pl.Null:  # every cell missing (a column polars could give no type): empty texts
        frame = frame.with_columns(pl.col("text").cast(pl.String))
    if frame["text"].dtype != pl.String:
        raise InputError(f"{where}: the text column {text!r} holds {frame['text'].dtype}, not text")
    # blank: whitespace and invisible format characters (zero-width space, BOM: Unicode category Cf) only
    empty = frame.with_row_index().filter(pl.col("text").is_null() | pl.col("text").str.contains(r"^[\s\p{Cf}]*$"))
    if empty.height and not allow_empty:
        raise InputError(f"{where}: row {int(empty['index'][0]) + 1} has an empty text ({empty.height} empty in all); remove or fill them")
    if require_label and frame["label"].null_count():
        raise InputError(f"{where}: {frame['label'].null_count()} rows have no label; remove them or fill them in")
    return frame


def read_text_table(path: str | Path, text_column: str | None = None, label_column: str | None = None,
                    require_label: bool = True, positive_label: Any = None):
    """Read CSV / TSV / Parquet / JSONL with a text column (`text` or `sentence`) and a `label` column, or a
    label-first text file (see `label_first_lines`) when labels are wanted and no column was named; with
    `positive_label`, labels of two values become negative/positive (`with_positive_label`)."""
    from core.data import read_table

    path = Path(path)
    frame = None
    if require_label and text_column is None and label_column is None:
        frame = label_first_lines(path)
        if frame is not None:
            frame = as_text_frame(frame, where=path.name)
    if frame is None:
        frame = as_text_frame(read_table(path, text_columns=[text_column] if text_column else TEXT_COLUMNS), text_column,
                              label_column, where=path.name, require_label=require_label)
    return with_positive_label(frame, positive_label, path.name) if positive_label is not None else frame


def with_positive_label(frame, positive_label: Any, where: str = "the data"):
    """`frame` with its `label` column as negative/positive: `positive_label` names the value meaning positive, the
    other value (labels hold at most two, case aside: Yes and yes are one) is negative. It is how yes/no, 1/2 or
    good/bad labels are read against a model labelled negative/positive, which cannot tell on its own which answer is
    the positive one. Labels already negative/positive (data read with this positive_label) stay as they are.

    >>> import polars as pl
    >>> with_positive_label(pl.DataFrame({"text": ["a", "b"], "label": ["yes", "No"]}), "YES")["label"].to_list()
    ['positive', 'negative']
    >>> with_positive_label(pl.DataFrame({"text": ["a"], "label": ["positive"]}), "yes")["label"].to_list()
    ['positive']
    """
    import polars as pl

    labels = frame["label"].to_list()
    values = list(dict.fromkeys(v for v in labels if v is not None))
    label_key = label_matcher(values)  # case aside; true/1 and false/0 alike only for a flag (core.data.labels)
    keys = list(dict.fromkeys(label_key(v) for v in values))
    if len(keys) > 2:
        raise InputError(f"positive_label picks which of two label values means positive, but {where}'s labels hold "
                         f"{len(keys)}: {', '.join(map(str, values[:10]))}; relabel them with the model's label names")
    wanted = label_key(positive_label)
    own = {name: name for name in NAMED_BINARY} | LABEL_ALIASES  # the model's own names (pos/neg as well)
    if keys and all(key in own for key in keys) and own.get(wanted) == "negative":
        # the data already says which is positive in the model's words: reading the model's negative as positive
        # would score it against a swapped truth (accuracy 0 on its own labels), as finance.risk refuses alike
        raise InputError(f"positive_label {positive_label!r} contradicts the model: it was trained to treat 'positive' "
                         f"as positive and 'negative' as negative, the values {where}'s labels hold "
                         f"({', '.join(map(str, values))}); drop positive_label (or pass positive_label=positive), or "
                         "relabel the data if its labels mean the opposite here (positive_label is for labels such as "
                         "yes/no that do not say which is positive)")
    if wanted not in keys:
        if set(keys) <= set(NAMED_BINARY):  # relabelled already (read_data with this positive_label): read once only
            return frame
        raise InputError(f"positive_label {positive_label!r} is not a value of {where}'s labels "
                         f"({', '.join(map(str, values))}); name the value that means positive")
    names = [None if v is None else "positive" if label_key(v) == wanted else "negative" for v in labels]
    relabelled = frame.with_columns(pl.Series("label", names, dtype=pl.String))
    return _remember_positive(relabelled, next(v for v in values if label_key(v) == wanted))


def _remember_positive(frame, value: Any):
    """`frame` with `frame.positive_label`: the data's own label value read as positive (Yes for positive_label='YES'),
    which evaluate's metric card records, also when read_data relabelled the data before evaluate was called."""
    try:
        frame.positive_label = value
    except AttributeError:  # a table type that takes no attributes: the card just does not say it
        pass
    return frame


def recorded_positive(data: Any) -> Any:
    """The positive label value `with_positive_label` read `data` with (`_remember_positive`), or None."""
    return getattr(data, "positive_label", None) if not isinstance(data, (str, Path)) else None


_FASTTEXT = re.compile(r"__label__(\S+)\s+(\S.*)")
_LEADING_INT = re.compile(r"(-?\d+)[ \t]+(\S.*)")
LABEL_FIRST_SNIFF = 200  # lines looked at to recognise a label-first file
SNIFF_BYTES = 65536  # ... within the file's first 64 KiB


def label_first_lines(path: str | Path):
    """A labelled text file with the label first on each line, as sentiment corpora are often shipped, read into
    `text`, `label` (None when the file is not one): fastText's `__label__X text` (one label per line), or an integer
    label, a space or tab, then the text (SentEval / Kim 2014 `stsa.binary.*`: `1 a fine film .`). A file is taken as
    one when every non-blank line among its first 200 has that form; the text is kept whole (tabs and later numbers
    included). Any other file returns None and is read as a table; a later line that breaks the form is an error that
    names it.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "sst.test"; _ = p.write_text("1 a fine film .\\n0 dull , dull .\\n")
    >>> label_first_lines(p).rows()
    [('a fine film .', 1), ('dull , dull .', 0)]
    >>> _ = p.write_text("__label__pos Great phone\\n\\n__label__neg Broke in a week\\n"); label_first_lines(p).rows()
    [('Great phone', 'pos'), ('Broke in a week', 'neg')]
    >>> _ = p.write_text("text,label\\ngood,1\\n"); label_first_lines(p) is None
    True
    """
    import polars as pl

    from core.data.tables import TABLE_SUFFIXES
    from core.data.text import read_lines

    path = Path(path)
    if not path.is_file() or (path.suffix.lower() in TABLE_SUFFIXES and path.suffix.lower() != ".txt"):
        return None
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if b"\x00" in head:
        return None  # binary (a workbook, UTF-16 text): the table reader says what it is
    lines = head.decode("utf-8-sig", "replace").splitlines()
    if len(head) == SNIFF_BYTES:
        lines = lines[:-1]  # the last line read may be cut short
    sample = [line.strip() for line in lines[:LABEL_FIRST_SNIFF] if line.strip()]
    if not sample:
        return None
    pattern = next((p for p in (_FASTTEXT, _LEADING_INT) if all(p.fullmatch(line) for line in sample)), None)
    if pattern is None:
        return None
    texts, labels = [], []
    for number, line in enumerate(read_lines(path, "labelled text file"), start=1):
        line = line.strip()
        if not line:
            continue
        match = pattern.fullmatch(line)
        if match is None:
            form = "__label__NAME text" if pattern is _FASTTEXT else "an integer label, a space, then the text"
            raise InputError(f"{path.name}: line {number} is not '{form}' like the lines before it: {line[:60]!r}; "
                             "fix that line, or save the file as CSV/TSV with text and label columns")
        labels.append(match.group(1) if pattern is _FASTTEXT else int(match.group(1)))
        texts.append(match.group(2))
    return pl.DataFrame({"text": texts, "label": labels})


def text_table_inputs(path: str | Path, text_column: str | None = None, id_column: str | None = None):
    """Texts of a table for `predict`, each with its id: the `id` column (or `id_column`) if any, else its row (1-based);
    an empty cell is an error record in its place, as a blank line of a text file is."""
    from core.data import read_table
    from core.protocols import Inputs, identify_inputs

    path = Path(path)
    table = read_table(path, text_columns=[text_column] if text_column else TEXT_COLUMNS)
    texts = as_text_frame(table, text_column, where=path.name, require_label=False, allow_empty=True)["text"].to_list()
    texts = ["" if text is None else text for text in texts]
    return Inputs(texts, ids=identify_inputs(table, id_column).ids,
                  errors={i: "empty text" for i, text in enumerate(texts) if is_blank(text)})


def label_names(values: list[Any]) -> list[str]:
    """The label map learned from data: 0/1 -> negative/positive, other ints in order, names sorted.

    >>> label_names([1, 0, 1])
    ['negative', 'positive']
    >>> label_names(["pos", "neg"])
    ['neg', 'pos']
    """
    nested = next((v for v in values if isinstance(v, (dict, list, tuple))), None)
    if nested is not None:  # a JSON object or list per row (a nested export): no label to learn from
        raise InputError(f"the labels are {type(nested).__name__}s (e.g. {str(nested)[:60]}), not one name or number per "
                         "row; write each row's label as a text or a number (pandas: to_json(orient='records', "
                         "lines=True) of a flat table)")
    unique = sorted({v for v in values if v is not None}, key=lambda v: (str(type(v)), v))
    if len(unique) < 2:
        raise InputError(f"training needs at least two classes; the labels hold only {unique}")
    if all(isinstance(v, (int, bool)) or (isinstance(v, float) and float(v).is_integer()) for v in unique):
        numbers = sorted(int(v) for v in unique)
        if numbers == [0, 1]:
            return list(NAMED_BINARY)
        return [str(n) for n in numbers]
    names = sorted({str(v) for v in unique})
    if sorted(n.lower() for n in names) == list(NAMED_BINARY):
        return sorted(names, key=lambda n: n.lower() != "negative")
    return names


LABEL_ALIASES = {"pos": "positive", "neg": "negative"}  # read against a model labelled negative/positive


def label_indices(values: list[Any], labels: list[str]) -> list[int]:
    """Map data labels to class indices: by the model's label names (case-insensitive; pos/neg for a model labelled
    negative/positive), or by class number 0..k-1 where the names are not numbers. When the model's names are numbers
    (ratings "1".."5") a label that is both a name and another class's number could mean either, so the data must
    use one convention: all names, or all numbers that are none of the names. Unknown or mixed -> `InputError`.

    >>> label_indices([1, "negative"], ["negative", "positive"])
    [1, 0]
    >>> label_indices([2, 1], ["1", "2"]), label_indices([0, 1], ["negative", "positive"])
    ([1, 0], [0, 1])
    >>> label_indices([0, 1], ["1", "2"])
    Traceback (most recent call last):
    core.errors.InputError: the labels 0, 1 cannot be matched to the model's labels ['1', '2'] one way: 1 is one of its label names (class '1') and also class number 1 (class '2'), and 0 is no name, only class number 0 (class '1'). Relabel the data with the model's label names (1, 2)
    """
    lookup = {name.lower(): i for i, name in enumerate(labels)}
    if sorted(lookup) == list(NAMED_BINARY):
        lookup.update({alias: lookup[name] for alias, name in LABEL_ALIASES.items() if alias not in lookup})
        _refuse_unnamed_answers(values, lookup, labels)
    numeric_names = any(whole_number(name) is not None for name in labels)
    by_name, by_number = {}, {}  # distinct value -> class index, each way it can be read
    for value in dict.fromkeys(values):  # distinct, in order of first appearance
        number = whole_number(value)
        key = str(number if number is not None else value).strip().lower()
        if key in lookup:
            by_name[value] = lookup[key]
        if number is not None and 0 <= number < len(labels):
            by_number[value] = number
        if value not in by_name and value not in by_number:
            raise InputError(f"label {value!r} is not one of the model's labels {labels}; "
                             "use those names (or 0..n-1), or retrain with fit() on your labels")
    if len(by_name) == len(set(by_name) | set(by_number)):  # every label is a name: names win
        chosen = by_name
    elif not numeric_names:  # names and class numbers cannot be confused: each label read the one way it can be
        chosen = {**by_number, **by_name}
    else:
        ambiguous = [v for v in by_name if v in by_number and by_name[v] != by_number[v]]
        named_only = [v for v in by_name if v not in by_number]
        if not ambiguous and not named_only:  # numbers that are none of the names: class numbers throughout
            chosen = by_number
        else:
            clash = ambiguous[0] if ambiguous else named_only[0]
            other = next(v for v in by_number if v not in by_name)
            how = (f"{clash} is one of its label names (class {labels[by_name[clash]]!r})"
                   + (f" and also class number {by_number[clash]} (class {labels[by_number[clash]]!r})" if clash in by_number else ""))
            raise InputError(
                f"the labels {', '.join(str(v) for v in sorted(by_name.keys() | by_number.keys(), key=str))} cannot be "
                f"matched to the model's labels {labels} one way: {how}, and {other} is no name, only class number "
                f"{by_number[other]} (class {labels[by_number[other]]!r}). Relabel the data with the model's label "
                f"names ({', '.join(labels)})")
    return [chosen[value] for value in values]


def unnamed_answers(values: list[Any], lookup: dict[str, int] | None = None) -> list[Any] | None:
    """The two label values, case aside (`core.data.labels`: Yes and yes are one), that are neither names in `lookup` (a
    negative/positive model's, with pos/neg) nor both class numbers 0/1 (yes/no, 1/2, good/bad): their first
    spellings, for they do not say which one is positive; None for any other labels.

    >>> unnamed_answers(["Yes", "no", "yes", "No"]), unnamed_answers([1, 0]), unnamed_answers(["positive", "meh"])
    (['Yes', 'no'], None, None)
    """
    if lookup is None:
        lookup = {"negative": 0, "positive": 1, **{alias: NAMED_BINARY.index(name) for alias, name in LABEL_ALIASES.items()}}
    spellings: dict[str, Any] = {}
    key = label_matcher(values)
    for value in values:
        if value is not None:
            spellings.setdefault(key(value), value)
    distinct = list(spellings.values())
    readable = [v for v in distinct if str(v).strip().lower() in lookup or (whole_number(v) is not None and 0 <= whole_number(v) < 2)]
    if len(distinct) != 2 or len(readable) == 2 or any(str(v).strip().lower() in lookup for v in distinct):
        return None  # a model's name among them (positive/yes): the ordinary error, since that name says its own side
    return distinct


def _refuse_unnamed_answers(values: list[Any], lookup: dict[str, int], labels: list[str]) -> None:
    """Two label values (case aside) that are neither the model's names nor 0/1 (yes/no, 1/2, good/bad) do not say
    which one is positive: refused, with how to say it (`positive_label`), never guessed."""
    distinct = unnamed_answers(values, lookup)
    if distinct is None:
        return
    first, second = (str(v) for v in distinct)
    unknown = next(v for v in distinct if not (whole_number(v) is not None and 0 <= whole_number(v) < 2))
    raise InputError(f"label {unknown!r} is not one of the model's labels {labels}, and the labels {first}, {second} do "
                     f"not say which answer is positive. Say it: --option positive_label={first} (or ={second}) on the "
                     f"command line, or positive_label={first!r} in read_data() or evaluate(); the other value is read "
                     "as negative. Or relabel the data negative/positive (or 0/1)")


def split_frame(frame, validation_fraction: float, seed: int):
    """(train, validation) row split; validation is empty when there are too few rows."""
    n = frame.height
    n_val = int(round(n * validation_fraction)) if n >= 10 else 0
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    return shuffled.slice(n_val), shuffled.slice(0, n_val)
