"""Credit-risk tables: target resolution and label mapping, the feature schema, and safe conversion of rows to arrays."""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.data.labels import label_key, label_matcher
from core.data.tables import NULL_VALUES, separator_hint
from core.errors import InputError

__all__ = ["RiskData", "as_polars", "resolve_target", "label_map_for", "label_warning", "encode_target", "build_schema", "feature_arrays",
           "rows_to_frame", "describe", "normalise_label", "unseen_categories", "categorical_frame", "summary_recipe"]

NULL_WORDS = {v.lower() for v in NULL_VALUES}
# A numeric feature from a true/false column (polars reads it as Boolean: 1/0) scored from text or Python bools
# (rows_to_frame keeps bools as text, so a categorical "True" still matches): the same 1/0.
BOOLEAN_WORDS = {"true": "1", "false": "0"}
# What Python's str.strip() strips: every character c with c.isspace() (polars' default strip leaves out \x1c-\x1f)
PY_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                 "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
BAD_WORDS = {"bad", "default", "defaulted", "yes", "y", "true", "charged off", "charged_off", "delinquent", "event"}
ID_NAMES = {"id", "rownames", "row_id", "index", "customer_id", "client_id", "applicant_id", "loan_id", "account_id", ""}
TARGET_NAMES = ("default", "target", "label", "status", "class", "bad", "y", "default.payment.next.month", "loan_status")

# Business words for columns of well-known credit data sets; anything else is humanised from its name.
DESCRIPTIONS = {
    # modeldata::credit_data
    "Seniority": "years with current employer", "Home": "home ownership", "Time": "loan term (months)", "Age": "age",
    "Marital": "marital status", "Records": "past default records", "Job": "job type", "Expenses": "monthly expenses",
    "Income": "income", "Assets": "assets", "Debt": "debt", "Amount": "loan amount", "Price": "purchase price",
    # Taiwan default of credit card clients
    "LIMIT_BAL": "credit limit", "SEX": "sex", "EDUCATION": "education", "MARRIAGE": "marital status", "AGE": "age",
    "PAY_0": "payment delay last month", "PAY_1": "payment delay last month",
    **{f"PAY_{i}": f"payment delay {i} months ago" for i in range(2, 7)},
    "BILL_AMT1": "bill amount last month", **{f"BILL_AMT{i}": f"bill amount {i} months ago" for i in range(2, 7)},
    "PAY_AMT1": "amount repaid last month", **{f"PAY_AMT{i}": f"amount repaid {i} months ago" for i in range(2, 7)},
}
# UCI Statlog German credit (`german.data`, columns by position); recognised by its A<i><code> categorical values
# whatever the columns are named (`_german_descriptions`).
GERMAN = ["checking account status", "loan duration (months)", "credit history", "loan purpose", "credit amount",
          "savings", "years employed", "instalment rate (% of income)", "personal status and sex", "other debtors or guarantors",
          "years at residence", "property", "age", "other instalment plans", "housing", "existing credits at this bank",
          "job", "dependants", "telephone", "foreign worker"]
# The same 20 attributes as OpenML's credit-g names them (values spelled out there instead of A-codes)
CREDIT_G = ["checking_status", "duration", "credit_history", "purpose", "credit_amount", "savings_status",
            "employment", "installment_commitment", "personal_status", "other_parties", "residence_since",
            "property_magnitude", "age", "other_payment_plans", "housing", "existing_credits", "job", "num_dependents",
            "own_telephone", "foreign_worker"]


@dataclass
class RiskData:
    """Labelled credit data: a polars table plus the name of its target (and optional time / id columns)."""

    frame: Any
    target: str
    time_column: str | None = None
    id_columns: tuple[str, ...] = field(default_factory=tuple)
    positive_label: str | None = None  # the target value meaning "default"; guessed when None
    target_error: str | None = None  # why no target was found (target None): evaluation then uses the model's own

    def __len__(self) -> int:
        return self.frame.height


def as_polars(data: Any):
    """A polars DataFrame from polars (eager or lazy), pandas, a list of dicts or a dict of columns.

    >>> as_polars([{"a": 1}, {"a": None}]).shape
    (2, 1)
    """
    import polars as pl

    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, pl.LazyFrame):
        return data.collect()
    if hasattr(data, "to_numpy") and hasattr(data, "columns"):  # pandas
        try:
            return pl.from_pandas(data)
        except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
            raise InputError(f"cannot convert the pandas table: {error}") from error
    if isinstance(data, dict):
        data = [data] if not any(isinstance(v, (list, tuple, np.ndarray)) for v in data.values()) else data
        if isinstance(data, dict):
            return pl.DataFrame(data, strict=False)
    if isinstance(data, (list, tuple)):
        return rows_to_frame(list(data))
    raise InputError(f"expected a table (polars/pandas DataFrame) or rows (dicts), got {type(data).__name__}")


def rows_to_frame(rows: list[Any]):
    """Rows (dicts of column -> value) as a polars frame of strings/numbers, column by column (mixed types allowed)."""
    import polars as pl

    if not rows:
        raise InputError("no rows given; pass one dict of feature values per applicant")
    bad = next((i for i, r in enumerate(rows) if not isinstance(r, dict)), None)
    if bad is not None:
        # counted from 1, as the records' ids count them
        raise InputError(f"row {bad + 1} is a {type(rows[bad]).__name__}; each applicant must be a dict of feature -> value")
    names: list[str] = []
    for row in rows:
        for key in row:
            if key not in names:
                names.append(key)
    columns = {}
    for name in names:
        values = [row.get(name) for row in rows]
        if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
            columns[name] = pl.Series(str(name), [None if v is None else float(v) for v in values], dtype=pl.Float64)
        else:
            columns[name] = pl.Series(str(name), [None if v is None else str(v) for v in values], dtype=pl.String)
    return pl.DataFrame(list(columns.values()))


def normalise_label(value: Any) -> str:
    """A label as a stable string: integral numbers without '.0', text stripped.

    >>> normalise_label(2.0), normalise_label(" bad ")
    ('2', 'bad')
    """
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value).strip()


def resolve_target(columns: list[str], target: Any) -> str:
    """The target column named by `target` (a name, or a position such as 20 or -1); guessed from common names if None.

    >>> resolve_target(["a", "b", "default"], None), resolve_target(["0", "1", "2"], -1)
    ('default', '2')
    """
    if target is None or str(target).strip() == "":
        lowered = {c.lower(): c for c in columns}
        for name in TARGET_NAMES:
            if name in lowered:
                return lowered[name]
        raise InputError(f"no target column given and none of the usual names found; pass --target NAME or a "
                         f"column number (columns: {', '.join(columns[:30])})")
    text = str(target).strip()
    if text in columns:
        return text
    if re.fullmatch(r"-?\d+", text):
        index = int(text)
        if -len(columns) <= index < len(columns):
            return columns[index]
        raise InputError(f"target column number {index} is out of range: the table has {len(columns)} columns (0-{len(columns) - 1})")
    raise InputError(f"target column {text!r} is not in the table; it has: {', '.join(columns[:30])}"
                     f"{separator_hint(columns)}")


def _target_strings(series) -> list[str | None]:
    import polars as pl

    if series.dtype.is_float():
        values = series.to_numpy()
        if np.isinf(values[~np.isnan(values)]).any():
            raise InputError(f"target column {series.name!r} holds infinite values; fix or drop those rows")
        return [None if (v is None or math.isnan(v)) else normalise_label(v) for v in values.tolist()]
    if series.dtype == pl.String:
        return [None if v is None or v.strip().lower() in NULL_WORDS else v.strip() for v in series.to_list()]
    if series.dtype == pl.Boolean:  # true / false, as the data writes them (not 1 / 0)
        return [None if v is None else ("true" if v else "false") for v in series.to_list()]
    return [None if v is None else normalise_label(v) for v in series.to_list()]


def _target_value(positive: Any, distinct: list[str]) -> str:
    """`positive` as the value of a target with values `distinct` it names: itself, the one value spelled the same but
    for case (YES for yes), or for a true/false or 1/0 target any spelling of true / false (True, TRUE, 1 / 0; "true"
    is 1 of a 0/1 target). A value it does not name comes back normalised, for the refusal.

    >>> _target_value("True", ["false", "true"]), _target_value(1, ["false", "true"]), _target_value("2", ["1", "2"])
    ('true', 'true', '2')
    >>> _target_value("YES", ["no", "yes"]), _target_value("true", ["0", "1"]), _target_value("FALSE", ["0", "1"])
    ('yes', '1', '0')
    """
    text = normalise_label(positive)
    if text in distinct or not distinct:
        return text
    key = label_matcher(distinct)  # the one rule of every task (core.data.labels)
    same = [d for d in distinct if key(d) == key(positive)]
    return same[0] if len(same) == 1 else text


def _flag_aliases(label_map: dict[str, str]) -> dict[str, int]:
    """The model's labels (1 = default) and, when they are a true/false or 1/0 flag, the other spelling of each: a
    model trained on a true/false target evaluates data coded 1/0 and the reverse (models saved before Boolean targets
    read as true/false hold 1/0)."""
    known = {label_map["positive"]: 1, label_map["negative"]: 0}
    if {label_key(label) for label in known} == {"0", "1"}:
        for label, flag in list(known.items()):
            for spelling in ("true", "1") if label_key(label) == "1" else ("false", "0"):
                known.setdefault(spelling, flag)
    return known


def label_map_for(series, positive: str | None = None) -> dict[str, str]:
    """Which target value is the default ("bad") class, and the rule that decided it.

    >>> import polars as pl; label_map_for(pl.Series("y", [1, 2, 1]))["positive"]
    '2'
    """
    values = _target_strings(series)
    if any(v is None for v in values):
        count = sum(v is None for v in values)
        raise InputError(f"target column {series.name!r} has {count} missing value(s) (empty, NA or nan); drop those rows or fill them")
    distinct = sorted(set(values))
    if len(distinct) < 2:
        raise InputError(f"target column {series.name!r} is constant ({distinct[0] if distinct else 'empty'}); "
                         "a risk model needs both defaults and non-defaults")
    if len(distinct) > 2:
        raise InputError(f"target column {series.name!r} has {len(distinct)} distinct values ({', '.join(distinct[:8])}); "
                         "credit risk needs a binary default flag (e.g. 0/1, good/bad)")
    if positive is not None:
        positive = _target_value(positive, distinct)
        if positive not in distinct:
            raise InputError(f"positive_label {positive!r} is not a value of {series.name!r} ({', '.join(distinct)})")
        rule = "set by positive_label"
    elif set(distinct) in ({"0", "1"}, {"False", "True"}, {"false", "true"}):
        positive = [d for d in distinct if d in {"1", "True", "true"}][0]
        rule = "0/1 flag: 1 is default" if positive == "1" else f"true/false flag: {positive} is default"
    elif [d for d in distinct if d.lower() in BAD_WORDS]:
        positive, rule = [d for d in distinct if d.lower() in BAD_WORDS][0], "named value taken as default"
    elif set(distinct) == {"1", "2"}:
        positive, rule = "2", "1/2 coding (UCI Statlog convention: 1 = good, 2 = bad): 2 is default"
    else:
        counts = {d: values.count(d) for d in distinct}
        positive, rule = min(distinct, key=lambda d: (counts[d], d)), "minority class taken as default"
    negative = [d for d in distinct if d != positive][0]
    return {"positive": positive, "negative": negative, "rule": rule}


GENERIC_WORDS = {"yes", "y", "true"}  # of BAD_WORDS, the ones that say nothing about which outcome the column counts
# Words of a target's name that say which outcome it counts (`target_outcome`): a bad one (default, delinquent ...) or
# a good one (repaid, paid, performing ...); "no", "non", "not" before one turns it (non_default is good, not_paid bad).
BAD_NAME_WORDS = {"default", "defaults", "defaulted", "defaulter", "bad", "delinquent", "delinquency", "chargeoff",
                  "chargedoff", "writeoff", "writtenoff", "unpaid", "nonpayment", "nonperforming", "npl", "late",
                  "overdue", "arrears", "dpd"}
GOOD_NAME_WORDS = {"repaid", "repay", "repays", "repayment", "paid", "paidoff", "good", "performing", "nondefault",
                   "creditworthy"}
NEGATIONS = {"no", "non", "not", "never"}
GLUED = {("charged", "off"): "chargeoff", ("charge", "off"): "chargeoff", ("written", "off"): "writeoff",
         ("write", "off"): "writeoff", ("paid", "off"): "paidoff"}


def target_outcome(target: str) -> tuple[str, str] | None:
    """("bad" or "good", the word) when the target's name says which outcome it counts (`default`, `is_delinquent`,
    `charged_off`; `repaid`, `paid_on_time`, `non_default`), None when it does not (`status`, `y`) or says both
    (`good_bad`).

    >>> target_outcome("default.payment.next.month"), target_outcome("loanRepaid"), target_outcome("non_default")
    (('bad', 'default'), ('good', 'repaid'), ('good', 'non default'))
    >>> target_outcome("loan_status"), target_outcome("good_bad"), target_outcome("not_paid")
    (None, None, ('bad', 'not paid'))
    """
    tokens = [t for t in re.split(r"[^a-z]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", str(target)).lower()) if t]
    for pair, word in GLUED.items():
        tokens = re.sub(rf"\b{pair[0]} {pair[1]}\b", word, " ".join(tokens)).split()
    found: dict[str, str] = {}
    for i, token in enumerate(tokens):
        kind = "bad" if token in BAD_NAME_WORDS else "good" if token in GOOD_NAME_WORDS else None
        if kind is None:
            continue
        if i and tokens[i - 1] in NEGATIONS:
            kind, token = ("good" if kind == "bad" else "bad"), f"{tokens[i - 1]} {token}"
        found.setdefault(kind, token)
    return next(iter(found.items())) if len(found) == 1 else None


def label_warning(label_map: dict[str, str], target: str) -> str | None:
    """The warning for a default class the data may mean the other way round (None when the values or the name settle
    it, or positive_label said so):

    - the target's name is a good-outcome word (repaid, paid, good, performing ...) and the default class was guessed
      (1 of a 0/1 flag, yes, true, the minority ...), not named by a clear value such as bad or charged off: `repaid`
      1/0 is 1 for repaying, and the model would give the probability of repaying;
    - the name says nothing (status, y) and the default class was guessed from a generic word (yes / y / true).

    A name that is itself a bad-outcome word (default, bad, delinquent, charged_off) says what yes or 1 means: no
    warning.

    >>> label_warning({"positive": "yes", "negative": "no", "rule": "named value taken as default"}, "repaid")[:61]
    "target 'repaid': 'yes' was taken as the default (bad) outcome"
    >>> label_warning({"positive": "1", "negative": "0", "rule": "0/1 flag: 1 is default"}, "repaid")[-72:]
    'pass --option positive_label=0, else --option positive_label=1 to say so'
    >>> label_warning({"positive": "yes", "negative": "no", "rule": "named value taken as default"}, "default") is None
    True
    """
    positive, negative, rule = label_map.get("positive"), label_map.get("negative"), label_map.get("rule")
    if rule == "set by positive_label":
        return None
    outcome = target_outcome(target)
    if outcome is not None and outcome[0] == "good":
        if str(positive).lower() in BAD_WORDS - GENERIC_WORDS:  # the value itself says default (bad, charged off)
            return None
        return (f"target {target!r}: {positive!r} was taken as the default (bad) outcome and {negative!r} as non-default "
                f"({rule}), but the name {target!r} reads as the good outcome ({outcome[1]}); if {positive!r} means "
                f"{outcome[1]}, the model would give the probability of the good outcome: pass "
                f"--option positive_label={negative}, else --option positive_label={positive} to say so")
    if outcome is not None or rule != "named value taken as default" or str(positive).lower() not in GENERIC_WORDS:
        return None
    return (f"target {target!r}: {positive!r} was taken as the default (bad) outcome and {negative!r} as non-default, "
            f"guessed from the word {positive!r} alone; if {positive!r} is the good outcome (e.g. repaid), pass "
            f"--option positive_label={negative}, else --option positive_label={positive} to say so")


def positive_value(series, positive_label: Any) -> str:
    """`positive_label` as the value of the target column `series` it names (True, 1 or TRUE is 'true' of a true/false
    target); an InputError when it names none.

    >>> import polars as pl; positive_value(pl.Series("y", [True, False]), True), positive_value(pl.Series("y", [1, 2]), 2.0)
    ('true', '2')
    """
    distinct = sorted({v for v in _target_strings(series) if v is not None})
    positive = _target_value(positive_label, distinct)
    if positive not in distinct:
        raise InputError(f"positive_label {positive!r} is not a value of {series.name!r} ({', '.join(distinct[:8])})")
    return positive


def encode_target(series, label_map: dict[str, str], positive_label: Any = None) -> np.ndarray:
    """0/1 array (1 = default) from a target column in the model's two labels, refusing any other value; with
    `positive_label`, in the data's own coding instead: that value is default, the one other value is not. A
    `positive_label` that contradicts the model on its own values (the model's default is `yes`, the data's values are
    yes/no, positive_label=no) is refused: it would score the model against a swapped target.

    >>> import polars as pl; model = {"positive": "bad", "negative": "good"}
    >>> encode_target(pl.Series("y", [0, 1, 0]), model, positive_label=1).tolist()
    [0, 1, 0]
    """
    values = _target_strings(series)
    missing = sum(v is None for v in values)
    if missing:
        raise InputError(f"target column {series.name!r} has {missing} missing value(s); drop those rows or fill them")
    distinct = sorted(set(values))
    if positive_label is not None:
        positive = positive_value(series, positive_label)
        model = _flag_aliases(label_map)
        if all(d in model for d in distinct) and model[positive] != 1:
            raise InputError(f"positive_label {positive!r} contradicts the model: it was trained to treat "
                             f"{label_map['positive']!r} as default and {label_map['negative']!r} as not, the values this "
                             f"data's {series.name!r} holds; drop positive_label (or pass positive_label="
                             f"{label_map['positive']}), or recode the target if its values mean the opposite here")
        if len(distinct) > 2:
            raise InputError(f"target column {series.name!r} has {len(distinct)} distinct values ({', '.join(distinct[:8])}); "
                             "with positive_label it must hold that value (default) and one other (not default)")
        known = {d: int(d == positive) for d in distinct}
    else:
        known = _flag_aliases(label_map)
    unknown = [v for v in distinct if v not in known]
    if unknown:
        raise InputError(f"target column {series.name!r} holds {', '.join(unknown[:5])}; this model knows only "
                         f"{label_map['positive']} (default) and {label_map['negative']}. If the data codes default another "
                         f"way, say which value means default: --option positive_label=VALUE on the command line, or "
                         f"positive_label=VALUE to evaluate() or read_data() in Python; VALUE one of "
                         f"{', '.join(distinct[:8])}")
    return np.fromiter((known[v] for v in values), dtype=np.int8, count=len(values))


def _parse_numeric(series, name: str, booleans: bool = True):
    """(Float64 series, list of junk examples) for a column that should hold numbers; with `booleans`, true/false text
    (any case) reads 1/0 as a Boolean column does (a column's kind is judged without: text true/false is a category)."""
    import polars as pl

    if series.dtype == pl.Boolean:
        return series.cast(pl.Float64), []
    if series.dtype.is_numeric():
        return series.cast(pl.Float64), []
    if series.dtype.is_temporal():
        return series.dt.epoch("d").cast(pl.Float64) if series.dtype == pl.Date else series.dt.epoch("s").cast(pl.Float64) / 86400.0, []
    if series.dtype == pl.Null:
        return series.cast(pl.Float64), []
    text = series.cast(pl.String).str.strip_chars()
    words = BOOLEAN_WORDS if booleans else {}
    text = pl.Series(name, [None if v is None or v.lower() in NULL_WORDS else words.get(v.lower(), v)
                            for v in text.to_list()], dtype=pl.String)
    parsed = text.cast(pl.Float64, strict=False)
    junk_mask = parsed.is_null() & text.is_not_null()
    return parsed, text.filter(junk_mask).unique(maintain_order=True).head(3).to_list()


def _categorical_strings(series) -> list[str | None]:
    return _categorical_series(series).to_list()


def _categorical_series(series):
    """A categorical column as a polars String series: text stripped as `str.strip()` strips, null words missing.

    >>> import polars as pl
    >>> _categorical_series(pl.Series(["  own", "NA", None, "\x1crent\u3000", "n/a "])).to_list()
    ['own', None, None, 'rent', None]
    >>> _categorical_series(pl.Series([True, None, False])).to_list(), _categorical_series(pl.Series([1.0, 2.5])).to_list()
    (['true', None, 'false'], ['1', '2.5'])
    """
    import polars as pl

    if series.dtype == pl.Boolean:  # true / false as the data writes them (a CSV's true matches a trained "true")
        return series.cast(pl.String)
    if series.dtype.is_numeric():
        return pl.Series(series.name, [None if v is None or (isinstance(v, float) and math.isnan(v)) else normalise_label(v)
                                       for v in series.to_list()], dtype=pl.String)
    return series.to_frame().select(_categorical_text(series.name)).to_series()


def _categorical_text(name: str):
    """The polars expression `_categorical_series` applies to a text column (one select can clean many columns)."""
    import polars as pl

    text = pl.col(name).cast(pl.String).str.strip_chars(PY_WHITESPACE)
    return pl.when(text.str.to_lowercase().is_in(sorted(NULL_WORDS))).then(None).otherwise(text).alias(name)


def _german_code_attribute(values: list[str]) -> int | None:
    """The German credit attribute (1-20) whose A<attribute><code> values a column holds (A410: attribute 4)."""
    if not values or not all(re.fullmatch(r"A\d{2,3}", v) for v in values):
        return None
    attributes = {4 if v == "A410" else int(v[1:-1]) for v in values}
    return attributes.pop() if len(attributes) == 1 else None


def _german_descriptions(frame, names: list[str]) -> dict[str, str]:
    """Column name -> business words when the table is UCI Statlog German credit, whatever its columns are named.

    Recognised by its coded values: the 20 attributes in file order (from the first column holding A11..A14), and each
    column of A<i><code> values in that window coding attribute i (headerless `0`..`19`, `Attribute1`.. or any names);
    or, with the values spelled out (OpenML credit-g), by credit-g's column names.
    """
    import polars as pl

    named = {n: GERMAN[CREDIT_G.index(n)] for n in names if n in CREDIT_G}
    if len(named) >= 15:
        return named
    start = next((i for i, n in enumerate(names[:5]) if frame[n].dtype == pl.String
                  and _german_code_attribute(frame[n].drop_nulls().unique().to_list()) == 1), None)
    if start is None or len(names) < start + 20:
        return {}
    coded = 0
    for i, name in enumerate(names[start:start + 20]):
        if frame[name].dtype == pl.String:
            if _german_code_attribute(frame[name].drop_nulls().unique().to_list()) != i + 1:
                return {}
            coded += 1
    return {name: GERMAN[i] for i, name in enumerate(names[start:start + 20])} if coded >= 10 else {}


def describe(name: str, german: dict[str, str] | None = None) -> str:
    """Business words for a column name (`german`: `_german_descriptions`' words for this table's columns).

    >>> describe("LIMIT_BAL"), describe("debt_to_income"), describe("Attribute5", {"Attribute5": "credit amount"})
    ('credit limit', 'debt to income', 'credit amount')
    """
    if german and name in german:
        return german[name]
    return DESCRIPTIONS.get(name) or re.sub(r"[_.\s]+", " ", name).strip().lower() or name


SUMMARY_STATS = ("mean", "max", "min", "positive_count", "std")


def sequence_groups(names: list[str], minimum: int = 3) -> dict[str, list[str]]:
    """Numeric columns repeating one measure over periods (a word stem + consecutive numbers), by stem, in number order.

    A stem's numbers must run without gaps (PAY_AMT1 .. PAY_AMT6), except one step of 2 from a first period numbered 0
    or 1 (Taiwan's PAY_0, PAY_2 .. PAY_6); columns merely sharing a prefix (c1, c4, c7) are no sequence. Of several
    runs under one stem, the longest (the first on ties) is kept.

    >>> sequence_groups(["PAY_0", "PAY_2", "PAY_3", "PAY_AMT1", "PAY_AMT2", "AGE", "4", "5", "6"])
    {'PAY': ['PAY_0', 'PAY_2', 'PAY_3']}
    >>> sequence_groups(["c1", "c4", "c7", "x10", "x11", "x12", "x20", "b1", "b4", "b6", "b7"])
    {'x': ['x10', 'x11', 'x12']}
    """
    groups: dict[str, dict[int, str]] = {}
    for name in names:
        match = re.fullmatch(r"(.*?[A-Za-z][^0-9]*?)[_.\s-]?(\d+)", name)
        if match:
            groups.setdefault(match.group(1), {}).setdefault(int(match.group(2)), name)
    result = {}
    for stem, numbered in groups.items():
        numbers = sorted(numbered)
        runs: list[list[int]] = []
        for i, number in enumerate(numbers):
            step = number - numbers[i - 1] if i else None
            if runs and (step == 1 or (step == 2 and len(runs) == 1 and runs[0] in ([0], [1]))):  # PAY_0, PAY_2
                runs[-1].append(number)
            else:
                runs.append([number])
        best = max(runs, key=len)
        if len(best) >= minimum:
            result[stem] = [numbered[n] for n in best]
    return result


# How each row summary is computed from the (rows, source columns) float matrix, NaN = missing: the numpy function
# over axis 1 and its ddof. Written per derived feature into encoding.json (summary_recipe) and read by _summary, so
# the recipe a folder records is the one predict runs.
SUMMARY_RECIPES = {"mean": {"numpy": "nanmean"}, "max": {"numpy": "nanmax"}, "min": {"numpy": "nanmin"},
                   "std": {"numpy": "nanstd", "ddof": 0},  # the population spread (divides by the cells present)
                   "positive_count": {"numpy": "count_greater_than_0"},  # np.sum(matrix > 0, axis=1): NaN is not > 0
                   # two source columns: the first over the second, NaN where the second is not above 0 (or missing)
                   "ratio": {"numpy": "first_over_second_where_second_above_0"}}
SUMMARY_MISSING = "skip: a missing (NaN) cell is left out; a row whose every source cell is missing gives NaN"


def summary_recipe(derived: dict[str, Any]) -> dict[str, Any]:
    """A derived feature's exact recipe, machine-readable: the statistic, its source columns in order, the numpy
    function over each row (axis 1) with its ddof, and the missing-value rule.

    >>> summary_recipe({"stat": "std", "columns": ["PAY_0", "PAY_2", "PAY_3"]})["ddof"]
    0
    """
    return {"stat": derived.get("stat"), "columns": list(derived.get("columns") or []), "axis": 1,
            **SUMMARY_RECIPES.get(derived.get("stat"), {}), "missing": SUMMARY_MISSING}


def _summary(stat: str, matrix: np.ndarray) -> np.ndarray:
    import warnings

    recipe = SUMMARY_RECIPES[stat]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing rows give NaN (missing), which is what we want
        if recipe["numpy"] == "first_over_second_where_second_above_0":
            above = matrix[:, 1] > 0
            return np.where(above, matrix[:, 0] / np.where(above, matrix[:, 1], 1.0), np.nan)
        if recipe["numpy"] == "count_greater_than_0":
            values = (matrix > 0).sum(axis=1).astype(float)
        else:
            values = getattr(np, recipe["numpy"])(matrix, axis=1, **({"ddof": recipe["ddof"]} if "ddof" in recipe else {}))
    return np.where(np.isnan(matrix).all(axis=1), np.nan, values)


def _summary_features(frame, schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Row summaries (mean, max, min, count above 0, spread) of each numeric column sequence, as derived features."""
    numeric = [f["name"] for f in schema if f["kind"] == "numeric"]
    taken = set(frame.columns)
    derived = []
    for stem, columns in sequence_groups(numeric).items():
        matrix = np.column_stack([_parse_numeric(frame[c], c)[0].to_numpy().astype(float) for c in columns])
        for stat in SUMMARY_STATS:
            name = f"{stem}_{stat}"
            if name in taken:
                continue
            feature = _derived_feature(name, f"{stat.replace('_', ' ')} of {describe(stem)} over "
                                       f"{columns[0]}..{columns[-1]}", stat, columns, _summary(stat, matrix))
            if feature:
                derived.append(feature)
    return derived


RATIO_MIN_DISTINCT = 20  # an amount column (a balance, a limit, a payment) takes many values; a status code or a count few


def _is_amount(values: np.ndarray) -> bool:
    """A money-like column: at least `RATIO_MIN_DISTINCT` distinct values, a median above 0, 90% of values >= 0."""
    finite = values[~np.isnan(values)]
    return (len(finite) > 0 and float(np.median(finite)) > 0 and float(np.mean(finite >= 0)) >= 0.9
            and len(np.unique(finite)) >= RATIO_MIN_DISTINCT)


def _ratio_features(frame, schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Shares between amount columns, the behavioural ratios a credit analyst builds by hand (utilisation = balance /
    limit, payment / balance), found from the data's shape alone: for each sequence of amount columns (BILL_AMT1 ..
    BILL_AMT6), each period's value over every single amount column (not in a sequence, above 0 in 99% of rows) whose
    median is at least the sequence's (LIMIT_BAL); and for two amount sequences of one length, period by period, the
    one with the smaller median over the other (PAY_AMT1 / BILL_AMT1). NaN where the denominator is not above 0.
    Tables without amount sequences (German credit) get none. Chosen on Taiwan halves (bench/finance.py)."""
    numeric = [f["name"] for f in schema if f["kind"] == "numeric" and "derived" not in f]
    groups = sequence_groups(numeric)
    arrays = {name: _parse_numeric(frame[name], name)[0].to_numpy().astype(float) for name in numeric}
    in_group = {c for columns in groups.values() for c in columns}
    amounts = {stem: columns for stem, columns in groups.items() if all(_is_amount(arrays[c]) for c in columns)}
    medians = {stem: float(np.nanmedian(np.abs(np.column_stack([arrays[c] for c in columns]))))
               for stem, columns in amounts.items()}
    scales = [name for name in numeric if name not in in_group and _is_amount(arrays[name])
              and float(np.mean(np.nan_to_num(arrays[name], nan=0.0) > 0)) >= 0.99]
    pairs = []
    for stem, columns in amounts.items():
        for scale in scales:
            if float(np.nanmedian(arrays[scale])) >= medians[stem]:
                pairs += [(column, scale) for column in columns]
    stems = list(amounts)
    for i, first in enumerate(stems):
        for second in stems[i + 1:]:
            if len(amounts[first]) == len(amounts[second]):
                small, large = sorted((first, second), key=lambda stem: medians[stem])
                pairs += list(zip(amounts[small], amounts[large]))
    taken = set(frame.columns) | {f["name"] for f in schema}
    derived = []
    for numerator, denominator in pairs:
        name = f"{numerator}_per_{denominator}"
        if name in taken:
            continue
        feature = _derived_feature(name, f"{describe(numerator)} as a share of {describe(denominator)}", "ratio",
                                   [numerator, denominator],
                                   _summary("ratio", np.column_stack([arrays[numerator], arrays[denominator]])))
        if feature:
            derived.append(feature)
    return derived


def _derived_feature(name: str, description: str, stat: str, columns: list[str], values: np.ndarray) -> dict | None:
    """A derived feature's schema entry (its recipe, training range and PSI bins), None when it takes one value."""
    finite = values[~np.isnan(values)]
    if len(np.unique(finite)) <= 1:
        return None
    edges = np.unique(np.quantile(finite, np.linspace(0.1, 0.9, 9))).tolist()
    return {"name": name, "kind": "numeric", "dtype": "Float64", "description": description,
            "derived": {"stat": stat, "columns": list(columns)},
            "min": float(finite.min()), "max": float(finite.max()), "median": float(np.median(finite)),
            "missing_rate": float(1 - len(finite) / len(values)), "psi_edges": edges,
            "psi_expected": _numeric_shares(values, edges)}


ID_TOKENS = {"id", "no", "nr", "num", "number", "key", "ref", "code", "identifier"}


def id_like_name(name: str) -> bool:
    """Whether a column's name has an identifier word (id, no, num, number, key, ref, code) as a word of its own.

    >>> [id_like_name(n) for n in ("application_no", "AppId", "loan-ref", "income", "num", "paid", "code2")]
    [True, True, True, False, True, False, True]
    """
    words = re.split(r"[^a-z]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower())
    return any(w in ID_TOKENS for w in words)


def _identifier_like(name: str, series, finite: np.ndarray, unique: np.ndarray, height: int) -> bool:
    """A whole number unique to each row, named like an identifier or counting up by one step (sorted)."""
    if series.dtype.is_float() or len(finite) != height or len(unique) != height or height < 3:
        return False
    if not np.all(finite == np.round(finite)):
        return False
    if id_like_name(name):
        return True
    steps = np.diff(unique)
    return bool(np.mean(steps == np.median(steps)) >= 0.9)  # consecutive numbers, a few skipped at most


DATE_REASON = "a date: not a feature (pass it as --time for a time-ordered split)"
DATE_TEXT = (r"^(\d{4}-\d{1,2}-\d{1,2}([T ]\S+)?|\d{4}/\d{1,2}/\d{1,2}|"
             r"\d{1,2}[/.-]\d{1,2}[/.-](\d{4}|\d{2})([ T]\d{1,2}:\d{2}\S*)?)$")


def _is_date(series) -> bool:
    """A typed date/datetime column, or text whose every value is written as a date that core.data.dates reads."""
    import polars as pl

    from core.data.dates import parse_dates

    if series.dtype == pl.Date or isinstance(series.dtype, pl.Datetime):
        return True
    if series.dtype != pl.String:
        return False
    text = series.drop_nulls().str.strip_chars()
    if text.is_empty() or not text.str.contains(DATE_TEXT).all():
        return False
    try:
        parse_dates(text, name=series.name)
    except InputError as error:
        return "ambiguous" in str(error)  # day/month order unknown, but dates all the same
    return True


LEAK_AUC = 0.99  # a single feature that ranks defaults this well (either direction) is almost surely the outcome itself


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    """sklearn's ROC AUC of `score` for 0/1 `y` (ties count half); 0.5 when `y` holds one class."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score)) if 0 < int(np.sum(y == 1)) < len(y) else 0.5


def separation_auc(frame, feature: dict[str, Any], y: np.ndarray) -> float:
    """How well one feature alone ranks the target, as max(AUC, 1 - AUC): numeric values as they are (missing as the
    lowest, then the highest value); categories by their default rate on the other half of the rows (cross-fitted, so
    a near-unique code does not separate by memorising)."""
    name = feature["name"]
    if feature["kind"] == "numeric":
        array = _parse_numeric(frame[name], name)[0].to_numpy().astype(float)
        missing = np.isnan(array)
        best = 0.5
        low, high = (np.nanmin(array) - 1, np.nanmax(array) + 1) if (~missing).any() else (0.0, 0.0)
        for fill in ((low, high) if missing.any() else (0.0,)):  # missing ranked lowest, then highest
            auc = _auc(np.where(missing, fill, array), y)
            best = max(best, auc, 1 - auc)
        return best
    values = np.array(["\0missing" if v is None else v for v in _categorical_strings(frame[name])], dtype=object)
    codes = np.unique(values, return_inverse=True)[1]
    half = np.random.default_rng(0).permutation(len(y)) % 2 == 0
    score = np.empty(len(y))
    for fit, apply in ((half, ~half), (~half, half)):
        counts = np.bincount(codes[fit], minlength=codes.max() + 1)
        bads = np.bincount(codes[fit], weights=y[fit], minlength=codes.max() + 1)
        rates = np.where(counts > 0, bads / np.maximum(counts, 1), y[fit].mean())  # an unseen category: the base rate
        score[apply] = rates[codes[apply]]
    auc = _auc(score, y)
    return max(auc, 1 - auc)


FLOAT32_MAX = float(np.finfo(np.float32).max)  # LightGBM, sklearn's checks and optbinning hold features as float32


def refuse_non_finite(name: str, values: np.ndarray, float32: bool = False) -> None:
    """An InputError naming the column and first row (from 1) of an infinite value, or with `float32` (training) of a
    value beyond what float32 holds (about 3.4e38), which the model libraries read as infinity.

    >>> refuse_non_finite("x", np.array([1.0, 1e300]), float32=True)
    Traceback (most recent call last):
    core.errors.InputError: column 'x' holds 1e+300 in row 2 (rows numbered from 1), beyond the about 3.4e+38 that float32 holds (the model libraries read it as infinity); replace it with a smaller number or leave it empty (missing)
    """
    infinite = np.flatnonzero(np.isinf(values))
    if len(infinite):
        raise InputError(f"column {name!r} holds infinite values ({len(infinite)}, the first in row {infinite[0] + 1}, rows "
                         "numbered from 1); replace them with a number or leave them empty (missing)")
    if float32:
        huge = np.flatnonzero(np.abs(np.nan_to_num(values)) > FLOAT32_MAX)
        if len(huge):
            raise InputError(f"column {name!r} holds {values[huge[0]]:.6g} in row {huge[0] + 1} (rows numbered from 1)"
                             f"{f' and {len(huge) - 1} more' if len(huge) > 1 else ''}, beyond the about {FLOAT32_MAX:.2g} "
                             "that float32 holds (the model libraries read it as infinity); replace it with a smaller "
                             "number or leave it empty (missing)")


def build_schema(frame, target: str, drop: tuple[str, ...] = (), summaries: bool = False, y: np.ndarray | None = None,
                 keep: tuple[str, ...] = (), ratios: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Feature list (name, kind, dtype, training ranges) and the columns left out with the reason why.

    With `summaries`, each sequence of numeric columns (PAY_0, PAY_2, ... PAY_6) also gets row summaries as features;
    with `ratios`, sequences of amounts get their shares of a larger amount (`_ratio_features`).
    With the encoded target `y`, a feature that alone separates it almost perfectly (a leak) is dropped unless in `keep`.
    """
    import polars as pl

    schema, dropped = [], []
    names = [c for c in frame.columns if c != target]
    _check_keep(keep, names, target, drop)
    german = _german_descriptions(frame, names)
    height = frame.height
    for name in names:
        series = frame[name]
        if name in drop:
            dropped.append({"column": name, "reason": "excluded by option"})
            continue
        if name not in keep and _is_date(series):  # days since 1970 would rank rows by when they came, not by risk
            dropped.append({"column": name, "reason": DATE_REASON})
            continue
        if series.dtype.is_float():
            values = series.to_numpy()
            refuse_non_finite(name, values)
        is_text = series.dtype in (pl.String, pl.Categorical) or isinstance(series.dtype, pl.Enum)
        if is_text:
            parsed, junk = _parse_numeric(series, name, booleans=False)
            present = parsed.len() - parsed.null_count() + len(junk)
            numeric_share = (parsed.len() - parsed.null_count()) / present if present else 0.0
            if junk and numeric_share >= 0.8:
                raise InputError(f"column {name!r} is mostly numbers but holds non-numeric values such as "
                                 f"{', '.join(repr(j) for j in junk)}; clean them or leave them empty (missing)")
            kind = "numeric" if not junk and present else "categorical"
        else:
            kind = "numeric"
        if kind == "numeric":
            values, _ = _parse_numeric(series, name)
            array = values.to_numpy().astype(float)
            refuse_non_finite(name, array, float32=True)
            finite = array[~np.isnan(array)]
            unique = np.unique(finite)
            if name not in keep and name.lower() in ID_NAMES and len(unique) == height:
                dropped.append({"column": name, "reason": "identifier (unique per row)"})
                continue
            if name not in keep and _identifier_like(name, series, finite, unique, height):
                dropped.append({"column": name, "reason": "identifier-like (unique integer per row)"})
                continue
            if len(unique) <= 1 and len(finite) == height:
                _refuse_kept(name, keep, "constant")
                dropped.append({"column": name, "reason": "constant"})
                continue
            if len(finite) == 0:
                _refuse_kept(name, keep, "all values missing")
                dropped.append({"column": name, "reason": "all values missing"})
                continue
            edges = np.unique(np.quantile(finite, np.linspace(0.1, 0.9, 9))).tolist()
            schema.append({"name": name, "kind": "numeric", "dtype": str(series.dtype), "description": describe(name, german),
                           "min": float(finite.min()), "max": float(finite.max()), "median": float(np.median(finite)),
                           "missing_rate": float(1 - len(finite) / height), "psi_edges": edges,
                           "psi_expected": _numeric_shares(array, edges)})
        else:
            values = _categorical_strings(series)
            counts: dict[str, int] = {}
            for v in values:
                if v is not None:
                    counts[v] = counts.get(v, 0) + 1
            if name not in keep and (name.lower() in ID_NAMES or (len(counts) > 100 and len(counts) > 0.5 * height)):
                dropped.append({"column": name, "reason": "identifier-like text (almost unique per row)"})
                continue
            if len(counts) <= 1 and None not in values:
                _refuse_kept(name, keep, "constant")
                dropped.append({"column": name, "reason": "constant"})
                continue
            if not counts:  # every cell empty: nothing to bin or split on (optbinning refuses it, naming no column)
                _refuse_kept(name, keep, "all values missing")
                dropped.append({"column": name, "reason": "all values missing"})
                continue
            categories = sorted(counts, key=lambda c: (-counts[c], c))
            schema.append({"name": name, "kind": "categorical", "dtype": str(series.dtype), "description": describe(name, german),
                           "categories": categories, "missing_rate": float(values.count(None) / height),
                           "psi_expected": _categorical_shares(values, categories)})
    if y is not None:
        suspects = {f["name"]: separation_auc(frame, f, y) for f in schema if f["name"] not in keep}
        for name, auc in suspects.items():
            if auc >= LEAK_AUC:
                dropped.append({"column": name, "reason": f"separates the target almost perfectly (single-feature AUC "
                                f"{math.floor(auc * 1000) / 1000:.3f}): likely a leak; keep it with --set keep={name}"})
        schema = [f for f in schema if suspects.get(f["name"], 0.0) < LEAK_AUC]
    if not schema:
        raise InputError("no usable feature columns remain besides the target "
                         f"({', '.join(d['column'] + ': ' + d['reason'] for d in dropped) or 'none given'})")
    derived = _summary_features(frame, schema) if summaries else []
    if ratios:
        derived += _ratio_features(frame, schema)
    return schema + derived, dropped


def _check_keep(keep: tuple[str, ...], names: list[str], target: str, drop: tuple[str, ...]) -> None:
    """Refuse a `keep` name that cannot be honoured: not a column, the target, or also left out by drop / --id / --time."""
    absent = [k for k in keep if k not in names and k != target]
    if absent:
        raise InputError(f"keep names {', '.join(repr(k) for k in absent)}, not a column of the data; "
                         f"it has: {', '.join(names[:30])}")
    if target in keep:
        raise InputError(f"keep names the target column {target!r}; it cannot also be a feature")
    both = [k for k in keep if k in drop]
    if both:
        raise InputError(f"{', '.join(repr(k) for k in both)} is both kept (keep) and left out (drop, --id or --time); "
                         "name it in one of them only")


def _refuse_kept(name: str, keep: tuple[str, ...], reason: str) -> None:
    """A kept column with nothing to learn from (one value, or none) is refused rather than silently dropped."""
    if name in keep:
        raise InputError(f"column {name!r} is in keep but is {reason}: it holds nothing a model can learn from; "
                         "remove it from keep")


def _numeric_shares(array: np.ndarray, edges: list[float]) -> list[float]:
    """Share of rows in each bin (-inf, e0), [e0, e1), ..., [ek, inf), then missing."""
    missing = np.isnan(array)
    bins = np.searchsorted(np.asarray(edges), array[~missing], side="right")
    counts = np.bincount(bins, minlength=len(edges) + 1).tolist() + [int(missing.sum())]
    return [c / max(len(array), 1) for c in counts]


def _categorical_shares(values: list[str | None], categories: list[str]) -> list[float]:
    """Share of rows per known category, then unseen categories, then missing."""
    index = {c: i for i, c in enumerate(categories)}
    counts = [0] * (len(categories) + 2)
    for v in values:
        counts[len(categories) + 1 if v is None else index.get(v, len(categories))] += 1
    return [c / max(len(values), 1) for c in counts]


def feature_arrays(frame, schema: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Validated arrays per feature: float (NaN = missing) for numeric, object (None = missing) for categorical.

    Missing feature columns are an error; extra columns are ignored (documented default).
    """
    import polars as pl

    present = set(frame.columns)
    missing = [f["name"] for f in schema if f["name"] not in present and "derived" not in f]
    if missing:
        raise InputError(f"the data lacks feature column(s) {', '.join(missing[:20])} that this model was trained on; "
                         "add them (empty cells are allowed and count as missing values)")
    text = [f["name"] for f in schema if f["kind"] == "categorical" and not (frame[f["name"]].dtype.is_numeric()
                                                                              or frame[f["name"]].dtype == pl.Boolean)]
    cleaned = frame.select([_categorical_text(name) for name in text]) if text else None  # one select for every text column
    arrays = {}
    for feature in schema:
        name = feature["name"]
        if "derived" in feature:  # computed below from its (validated) source columns
            continue
        series = frame[name]
        if feature["kind"] == "numeric":
            parsed, junk = _parse_numeric(series, name)
            if junk:
                raise InputError(f"column {name!r} must be numeric but holds {', '.join(repr(j) for j in junk)}; "
                                 "fix those values or leave them empty (missing)")
            array = parsed.to_numpy().astype(float)
            refuse_non_finite(name, array)
            arrays[name] = array
        else:
            values = cleaned[name] if name in text else _categorical_series(series)
            arrays[name] = values.to_numpy().astype(object, copy=False)
    for feature in schema:
        if "derived" in feature:
            source = feature["derived"]
            arrays[feature["name"]] = _summary(source["stat"], np.column_stack([arrays[c] for c in source["columns"]]))
    return {f["name"]: arrays[f["name"]] for f in schema}


def unseen_categories(arrays: dict[str, np.ndarray], schema: list[dict[str, Any]]):
    """(values, unseen): the categorical features' values as a polars frame of String columns, and per feature the mask
    of rows whose value is present but not among its training categories (missing values are not unseen); one select.

    >>> schema = [{"name": "housing", "kind": "categorical", "categories": ["own", "rent"]}]
    >>> values, unseen = unseen_categories({"housing": np.array(["own", "castle", None], dtype=object)}, schema)
    >>> unseen["housing"].to_list()
    [False, True, False]
    """
    import polars as pl

    values = categorical_frame(arrays, schema)
    return values, values.select([(pl.col(f["name"]).is_not_null() & ~pl.col(f["name"]).is_in(f["categories"]))
                                  for f in schema if f["kind"] == "categorical"])


def categorical_frame(arrays: dict[str, np.ndarray], schema: list[dict[str, Any]]):
    """The categorical features' arrays (str, None = missing) as one polars frame of String columns, in schema order.

    >>> categorical_frame({"h": np.array([None, "own"], dtype=object)}, [{"name": "h", "kind": "categorical"}])["h"].to_list()
    [None, 'own']
    """
    import polars as pl

    # from lists: polars refuses an object array that starts with None
    return pl.DataFrame([pl.Series(f["name"], arrays[f["name"]].tolist(), dtype=pl.String)
                         for f in schema if f["kind"] == "categorical"])


def psi_for(feature: dict[str, Any], array: np.ndarray) -> float:
    """Population stability index of one feature's new values against its training distribution."""
    if feature["kind"] == "numeric":
        actual = _numeric_shares(array, feature["psi_edges"])
    else:
        actual = _categorical_shares(list(array), feature["categories"])
    return population_stability(feature["psi_expected"], actual)


PSI_WATCH, PSI_SHIFTED = 0.1, 0.25  # the usual credit-risk reading: < 0.1 stable, 0.1-0.25 watch, > 0.25 shifted
TOO_FEW_ROWS = "too few rows"  # a PSI row's status when its rows cannot tell a shift from sampling noise


def psi_min_rows(expected: list[float]) -> int:
    """The fewest rows whose PSI against the training shares `expected` can be read as stable, watch or shifted.

    PSI is the symmetric Kullback-Leibler divergence of the binned shares; when nothing has shifted, rows times PSI is
    about chi-square with (bins holding training rows - 1) degrees of freedom (the G-test's limit; a simulation of
    multinomial draws agrees within 10% from 100 rows on). Below chi2.ppf(0.95, df) / 0.1 rows, rows drawn from the
    training population itself reach the 0.1 'watch' line more than 1 time in 20 (and with a handful of rows mostly
    empty bins read 'shifted'): 170 rows for 10 equal bins, 39 for two.

    >>> psi_min_rows([0.1] * 10 + [0.0])
    170
    >>> psi_min_rows([0.5, 0.5, 0.0, 0.0]), psi_min_rows([1.0, 0.0])
    (39, 1)
    """
    from scipy.stats import chi2

    bins = int(np.count_nonzero(np.asarray(expected, dtype=float) > 0))
    if bins <= 1:  # one bin: PSI is 0 unless rows fall where training had none, a shift however few they are
        return 1
    return int(math.ceil(chi2.ppf(0.95, bins - 1) / PSI_WATCH))


PSI_NOISE_QUANTILE, PSI_NOISE_DRAWS = 0.99, 2000  # the no-shift reference: 99th percentile of 2,000 simulated samples


def psi_noise_limit(expected: list[float], rows: int) -> float:
    """The PSI that `rows` drawn from the training shares `expected` themselves stay under 99 times in 100.

    A multinomial simulation (2,000 draws, fixed seed) of `rows` rows from the training bin shares, each scored by
    `population_stability` as the data's own PSI is (same floor for empty bins): at a handful of rows the chi-square
    approximation `psi_min_rows` uses is far off (3 rows of the training data read score PSI 5.67), the simulation is not. A PSI
    above this limit is a shift sampling noise cannot explain at this row count, however few the rows.

    >>> psi_noise_limit([0.1] * 10 + [0.0], 150) < 0.25 < psi_noise_limit([0.1] * 10 + [0.0], 3)
    True
    """
    return _psi_noise_limit(tuple(float(v) for v in expected), int(rows))


@functools.lru_cache(maxsize=256)
def _psi_noise_limit(expected: tuple[float, ...], rows: int) -> float:
    if rows <= 0:
        return math.inf
    shares = np.asarray(expected, dtype=float)
    counts = np.random.default_rng(0).multinomial(rows, shares / shares.sum(), size=PSI_NOISE_DRAWS)
    return float(np.quantile(_psi_by_row(expected, counts / rows), PSI_NOISE_QUANTILE))


def psi_status(psi: float, rows: int, expected: list[float]) -> str:
    """stable / watch / shifted, or 'too few rows' when `rows` are under `psi_min_rows(expected)` and the PSI is
    within what sampling noise gives at that row count (`psi_noise_limit`); a PSI beyond it gets its verdict.

    >>> ten = [0.1] * 10 + [0.0]
    >>> psi_status(0.4, 40, ten), psi_status(8.1, 150, ten), psi_status(0.4, 400, ten), psi_status(0.05, 400, ten)
    ('too few rows', 'shifted', 'shifted', 'stable')
    """
    if rows < psi_min_rows(expected) and round(psi, 5) <= round(psi_noise_limit(expected, rows), 5):
        return TOO_FEW_ROWS
    return "stable" if psi < PSI_WATCH else "watch" if psi < PSI_SHIFTED else "shifted"


def psi_sample_warning(rows: int, unjudged: list[tuple[str, int, int]], features: int) -> str | None:
    """The sentence for PSI values left without a verdict: `unjudged` holds (name, minimum rows, bins) of the score
    ('score') and of the features whose status is 'too few rows' (rows under their minimum, PSI within sampling
    noise), out of `features`; None when there are none.

    >>> psi_sample_warning(40, [("score", 170, 10), ("Income", 170, 10), ("Home", 57, 4)], 3)
    "only 40 rows: too few to judge the population stability of the score and 2 of the 3 features (Income, Home): their PSI is within what 40 rows drawn from the training population itself reach 99 times in 100, so it gets status 'too few rows', not stable/watch/shifted (a PSI beyond that is judged as usual); below 170 rows (for PSI over 10 bins), such rows reach PSI 0.1 ('watch') more than 1 time in 20; judge drift on at least 170 rows"
    """
    if not unjudged:
        return None
    _, need, bins = max(unjudged, key=lambda item: (item[1], item[2]))
    names = [name for name, _, _ in unjudged if name != "score"]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    counted = f"all {features} features" if len(names) == features else f"{len(names)} of the {features} features"
    subjects = [f"{counted} ({shown})"] if names else []
    if len(names) < len(unjudged):
        subjects.insert(0, "the score")
    return (f"only {rows} rows: too few to judge the population stability of {' and '.join(subjects)}: their PSI is "
            f"within what {rows} rows drawn from the training population itself reach 99 times in 100, so it gets status "
            f"'{TOO_FEW_ROWS}', not stable/watch/shifted (a PSI beyond that is judged as usual); below {need} rows (for "
            f"PSI over {bins} bins), such rows reach PSI {PSI_WATCH} ('watch') more than 1 time in 20; judge drift on at "
            f"least {need} rows")


def population_stability(expected: list[float], actual: list[float], floor: float = 1e-4) -> float:
    """PSI = sum (a - e) ln(a / e) over bins, with empty bins floored.

    >>> population_stability([0.5, 0.5], [0.5, 0.5])
    0.0
    """
    return float(_psi_by_row(expected, actual, floor))


def _psi_by_row(expected: Any, actual: Any, floor: float = 1e-4) -> np.ndarray:
    """`population_stability` of each row of `actual` (the last axis holds the bins) against `expected`."""
    e = np.clip(np.asarray(expected, dtype=float), floor, None)
    a = np.clip(np.asarray(actual, dtype=float), floor, None)
    return np.sum((a - e) * np.log(a / e), axis=-1)
