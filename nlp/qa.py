"""Extractive question answering: transformers QA models (stride over long contexts, SQuAD v2 no-answer),
or the embedded offline baseline (MiniLM sentence retrieval + answer-type span rules)."""

from __future__ import annotations

import collections
import dataclasses
import json
import re
import string
import tempfile
import unicodedata
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.artifacts import hash_bytes, read_card
from core.card import trained_on
from core.config import config_to_dict
from core.device import pick_device
from core.errors import InputError, ModelNotFoundError, UnsafeArtifactError
from core.evaluate import bars_plot, metric_card, metric_with_ci
from core.protocols import TaskModel, check_batch_size, with_ids
from core.registry import missing_model_message
from core.train import TrainConfig, Trainer
from nlp._encoder import TextEncoder, error_records, errors_in_place, minilm_path, text_ids, tokenizer_lock
from nlp._invisible import has_invisible, readable_indices, without_invisible
from nlp._span_rules import best_span, content_words, split_sentences

__all__ = ["QAModel", "load", "read_squad"]

DEFAULT_NAME = "nlp-qa-minilm-retrieval-v1"
LIBRARIES = ("transformers", "tokenizers", "torchmetrics")
SPECIAL_TOKENS = 3  # [CLS] question [SEP] context [SEP]
# The retrieval baseline's suggested no-answer threshold (`--option null_threshold=0.6`): the best total F1 (grid 0,
# 0.05 ... 0.95, lowest on ties) over the choice set of 36 questions written for it in tests/nlp/test_qa.py (18
# answerable; 18 not: 6 about their own paragraph, 12 asked of another one), never on the XQuAD measurement file. It is
# not on by default: where every question has an answer (SQuAD 1.1, XQuAD) abstaining only costs F1 (XQuAD subset
# 33.1 -> 31.7), and the choice set is half unanswerable and small. Extractive models abstain by their null logit
# instead (allow_no_answer) and have no threshold unless given one.
RETRIEVAL_NULL_THRESHOLD = 0.6
MIN_QUESTION_TOKENS = 16  # what a window must keep for the question beside the stride and the special tokens


@dataclasses.dataclass(frozen=True)
class QAConfig(TrainConfig):
    """Fine-tuning hyperparameters for an extractive QA head (and inference windowing)."""

    defaults = {
        "epochs": 2,
        "batch_size": 16,
        "lr": 5e-05,
        "weight_decay": 0.01,
        "warmup_ratio": 0.1,
        "patience": 2,
        "progress_bar": False,
    }

    max_length: int = 384  # tokens per window: special tokens + question + context
    stride: int = 128  # context tokens shared by consecutive windows of a long context
    max_query_length: int = 64  # a longer question keeps its first tokens (BERT's SQuAD script); also in the card

    def __post_init__(self) -> None:
        super().__post_init__()
        check_windows(self.max_length, self.stride, self.max_query_length)


def check_windows(max_length: int, stride: int, max_query_length: int, positions: int | None = None) -> None:
    """`InputError` naming the field, its value and its range when the windows cannot be cut: a window holds the
    special tokens, at least `MIN_QUESTION_TOKENS` of question and more context than the stride it overlaps by.

    >>> check_windows(64, 64, 64)
    Traceback (most recent call last):
    core.errors.InputError: config field 'stride' must be >= 1 and <= 44 (max_length 64 - 20 tokens kept for the question and special tokens), got 64
    """
    if not isinstance(max_query_length, int) or isinstance(max_query_length, bool) or max_query_length < 1:
        raise InputError(f"config field 'max_query_length' must be >= 1 (question tokens kept), got {max_query_length!r}")
    if positions is not None and max_length > positions:
        raise InputError(f"config field 'max_length' must be >= {MIN_QUESTION_TOKENS + SPECIAL_TOKENS + 2} and <= {positions} "
                         f"(the encoder's max_position_embeddings), got {max_length}")
    room = MIN_QUESTION_TOKENS + SPECIAL_TOKENS + 1  # + one new context token per window
    if max_length - room < 1:
        raise InputError(f"config field 'max_length' must be >= {room + 1} (the question, special tokens and a stride "
                         f"of at least 1), got {max_length}")
    if not 1 <= stride <= max_length - room:
        raise InputError(f"config field 'stride' must be >= 1 and <= {max_length - room} (max_length {max_length} - {room} "
                         f"tokens kept for the question and special tokens), got {stride}")


def read_squad(path_or_data: Any, allow_empty: bool = False) -> list[dict[str, Any]]:
    """Flatten SQuAD v1.1 / v2.0 JSON (path or parsed dict), or a list of examples, into examples; malformed ->
    `InputError` naming the question. A blank question or context is refused unless `allow_empty` (predict inputs,
    where it becomes an error record).

    >>> read_squad({"data": [{"paragraphs": [{"context": "Paris is in France.", "qas": [
    ...     {"id": "1", "question": "Where is Paris?", "answers": [{"text": "France", "answer_start": 12}]}]}]}]})[0]["answers"]
    ['France']
    """
    where = "the SQuAD data"
    data = path_or_data
    if isinstance(path_or_data, (str, Path)):
        path = Path(path_or_data)
        where = path.name
        if not path.is_file():
            raise InputError(f"{path} does not exist or is not a file; pass a SQuAD JSON file")
        data = _read_squad_file(path)
    if isinstance(data, dict) and "data" not in data and {"question", "context"} <= set(data):
        data = [data]  # one example record (a one-row JSON-lines export: one object on one line)
    if isinstance(data, list):
        examples = [_check_example(e, where, i, allow_empty) for i, e in enumerate(data)]
        if not examples:
            raise InputError(f"{where} holds no questions")
        return examples
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise InputError(f"{where} is not SQuAD JSON: expected an object with a 'data' list of articles")
    examples = []
    for a, article in enumerate(data["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise InputError(f"{where}: article {a} has no 'paragraphs' list")
        for p, paragraph in enumerate(paragraphs):
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str) or not isinstance(paragraph.get("qas"), list):
                raise InputError(f"{where}: article {a} paragraph {p} needs a 'context' string and a 'qas' list")
            for q, qa in enumerate(paragraph["qas"]):
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
                    raise InputError(f"{where}: article {a} paragraph {p} question {q} has no 'question' string")
                identity = str(qa.get("id", f"{a}-{p}-{q}"))
                named = f"{where}: question {identity!r}"
                texts, starts = _answers(qa.get("answers", []), None, named)
                examples.append(_checked({"id": identity, "question": qa["question"], "context": paragraph["context"],
                                          "answers": texts, "answer_starts": starts,
                                          "is_impossible": bool(qa.get("is_impossible", not texts))}, named, allow_empty))
    if not examples:
        raise InputError(f"{where} holds no questions")
    return examples


def _read_squad_file(path: Path) -> Any:
    """The parsed contents of a QA data file: SQuAD's nested JSON (a dict), or a list of example records from a JSON
    list, JSON lines (.jsonl / .ndjson, or a .json holding one object per line, as Hugging Face `datasets`' `to_json`
    writes) or Parquet (`datasets`' `to_parquet`), whose `answers` are {"text": [...], "answer_start": [...]}."""
    where = path.name
    if path.suffix.lower() in {".parquet", ".pq"}:
        import polars as pl

        try:
            return pl.read_parquet(path).to_dicts()
        except (OSError, pl.exceptions.PolarsError) as error:
            raise InputError(f"cannot read {where} as Parquet: {str(error).splitlines()[0]}") from error
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{where} is not UTF-8 text ({error.reason} at byte {error.start}); re-save it as UTF-8") from error
    lines = path.suffix.lower() in {".jsonl", ".ndjson"}
    if not lines:
        try:
            return json.loads(text)
        except RecursionError as error:
            raise InputError(f"{where} is nested too deeply to be valid input") from error
        except json.JSONDecodeError as error:
            lines = error.msg == "Extra data" and text.lstrip().startswith("{")  # JSON lines saved as .json
            if not lines:
                raise InputError(f"{where} is not valid JSON ({error}); pass a SQuAD v1.1/v2.0 file, or JSON lines / "
                                 "Parquet of {id, question, context, answers} records") from error
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError) as error:
            raise InputError(f"{where} line {number} is not valid JSON ({error}); each line of JSON lines is one "
                             "{id, question, context, answers} record") from error
    return records


def _check_example(example: Any, where: str, index: int, allow_empty: bool = False) -> dict[str, Any]:
    """One example of a JSON list: {question, context, answers} with SQuAD or datasets-style answers."""
    if not isinstance(example, dict):
        raise InputError(f"{where}: example {index + 1} is not an object (got {example!r:.40}); each example is "
                         f"{{\"id\", \"question\", \"context\", \"answers\"}} (or use SQuAD's articles -> paragraphs -> qas)")
    identity = str(example["id"]) if example.get("id") is not None else str(index)
    named = f"{where}: example {index + 1}" + (f" (id {identity!r})" if example.get("id") is not None else "")
    if not isinstance(example.get("question"), str) or not isinstance(example.get("context"), str):
        raise InputError(f"{named} needs 'question' and 'context' strings")
    texts, starts = _answers(example.get("answers", []), example.get("answer_starts"), named)
    return _checked({**example, "id": identity, "answers": texts, "answer_starts": starts,
                     "is_impossible": bool(example.get("is_impossible", not texts))}, named, allow_empty)


def _checked(example: dict[str, Any], named: str, allow_empty: bool) -> dict[str, Any]:
    for field in ("question", "context"):
        if not allow_empty and not example[field].strip():
            raise InputError(f"{named} has an empty {field!r}; fill it in or remove the question")
    return example


def _answers(raw: Any, starts: Any, named: str) -> tuple[list[str], list[int]]:
    """(texts, character starts) of one question's answers, from SQuAD's list of {text, answer_start}, datasets'
    {"text": [...], "answer_start": [...]} or a list of texts (then `starts`, read earlier, or none). -1: no offset
    given (training finds the text in the context)."""
    if raw is None:
        return [], []
    if isinstance(raw, dict):  # datasets-style; an empty answer_start list means the offsets are unknown
        texts, offsets = raw.get("text", []), raw.get("answer_start", [])
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise InputError(f"{named}: 'answers.text' must be a list of strings, got {texts!r:.80}")
        if not isinstance(offsets, list) or (offsets and len(offsets) != len(texts)):
            raise InputError(f"{named}: 'answers.answer_start' must be a list with one offset per answer text "
                             f"({len(texts)}), or empty to find the texts in the context; got {offsets!r:.80}")
        return texts, [_offset(x, named) for x in offsets] or [-1] * len(texts)
    if not isinstance(raw, list):
        raise InputError(f"{named} has malformed 'answers' (a list of {{text, answer_start}}), got {type(raw).__name__}")
    texts, offsets = [], []
    for answer in raw:
        if isinstance(answer, str):
            texts.append(answer)
            offsets.append(-1)
        elif isinstance(answer, dict) and isinstance(answer.get("text"), str):
            texts.append(answer["text"])
            offsets.append(_offset(answer.get("answer_start", -1), named))
        else:
            raise InputError(f"{named} has malformed 'answers' (a list of {{text, answer_start}}): {answer!r:.80}")
    if isinstance(starts, list) and len(starts) == len(texts) and all(x == -1 for x in offsets):  # already read once
        offsets = [_offset(x, named) for x in starts]
    return texts, offsets


def _offset(value: Any, named: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < -1:
        raise InputError(f"{named}: 'answer_start' must be the answer's character offset in the context (an integer "
                         f">= 0), got {value!r:.40}; leave it out to have the answer text found in the context")
    return value


def _answer_span(example: dict[str, Any]) -> tuple[int, int] | None:
    """Character (start, end) of the first answer located in the context: its text at its offset, else the place
    where its text occurs nearest that offset (the first place when no offset is given), else the same for the text
    in Unicode NFC (a decomposed answer in a composed context, or the reverse); None when no answer is found.

    >>> _answer_span({"context": "Paris is in France.", "answers": ["France"], "answer_starts": [9]})
    (12, 18)
    """
    context = example["context"]
    for text, start in zip(example["answers"], example["answer_starts"]):
        if start >= 0 and context[start:start + len(text)] == text:
            return start, start + len(text)
        places = _places(context, text) or _normal_places(context, text)
        if places:
            return min(places, key=lambda span: abs(span[0] - start)) if start >= 0 else places[0]
    return None


def _places(context: str, text: str) -> list[tuple[int, int]]:
    """Every (start, end) where `text` occurs in `context`."""
    if not text:
        return [(0, 0)]
    places, at = [], context.find(text)
    while at >= 0:
        places.append((at, at + len(text)))
        at = context.find(text, at + 1)
    return places


def _normal_places(context: str, text: str) -> list[tuple[int, int]]:
    """Every (start, end) of `context` that reads as `text` once both are read as the model reads them (`_Composed`:
    NFC, without the invisible format characters inside words and the layout marks outside them), so a place found
    there maps back to one here."""
    wanted = unicodedata.normalize("NFC", without_invisible(text, everywhere=True))
    form = _Composed(context)
    if form.starts is None:  # the context reads as written (a decomposed answer may still be found in it)
        return _places(context, wanted)
    places = [(form.starts[start], form.ends[end]) for start, end in _places(form.text, wanted)]
    # a place that starts or ends inside a run composing together (a letter without its accent) reads otherwise
    return [(start, end) for start, end in places if _Composed(context[start:end]).text == wanted]


def _check_answers_located(examples: list[dict[str, Any]]) -> str | None:
    """Training needs each answer's position: a question none of whose answers is in its context is refused. Answers
    whose text is not at their answer_start (found elsewhere, `_answer_span`) are a warning, returned and raised."""
    misplaced = []
    for example in examples:
        if example["answers"] and _answer_span(example) is None:
            text, start = example["answers"][0], example["answer_starts"][0]
            if start < 0:
                raise InputError(f"question {example['id']!r}: the answer {text!r:.60} has no 'answer_start' and is not "
                                 f"in its context; give its character offset or fix the answer text")
            raise InputError(f"question {example['id']!r}: the answer {text!r:.60} is neither at its answer_start {start} "
                             f"(the context there reads {example['context'][start:start + len(text)]!r:.60}) nor anywhere "
                             "else in its context; fix the answer text or its offset")
        for text, start in zip(example["answers"], example["answer_starts"]):
            if start >= 0 and example["context"][start:start + len(text)] != text:
                decomposed = " (the answer is written decomposed, NFD)" if unicodedata.is_normalized("NFC", text) is False else ""
                misplaced.append(f"question {example['id']!r:.40}: {text!r:.40} at {start} reads "
                                 f"{example['context'][start:start + len(text)]!r:.40}{decomposed}")
    if not misplaced:
        return None
    warning = (f"{len(misplaced)} answer(s) are not at their answer_start, e.g. {'; '.join(misplaced[:3])}; training "
               "uses the place of the text nearest the offset (in Unicode NFC if need be); check how the offsets were made")
    warnings.warn(warning)
    return warning


def _records_table(records: Any, where: str):
    """A parsed JSON list of {question, context} records as a polars table (what `read_table` makes of a .json list),
    so a file `read_inputs` has parsed already is not parsed a second time."""
    import polars as pl

    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        raise InputError(f"{where} must hold SQuAD JSON (an object with a 'data' list) or a non-empty JSON list of "
                         "{question, context} records (or use .jsonl)")
    try:
        return pl.DataFrame(records, infer_schema_length=None)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
        raise InputError(f"cannot make a table of {where}: {str(error).splitlines()[0]}") from error


def _clean_inputs(inputs: Any) -> list[dict[str, str]]:
    if isinstance(inputs, dict):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)):
        raise InputError(f"QA inputs are a list of {{'question', 'context'}} dicts (or (question, context) pairs), got {type(inputs).__name__}")
    cleaned = []
    for i, item in enumerate(inputs, 1):
        if (problem := _input_problem(i, item)) is not None:
            raise InputError(problem)
        if isinstance(item, (tuple, list)):
            item = {"question": item[0], "context": item[1]}
        cleaned.append({"question": item["question"], "context": item["context"]})
    return cleaned


def _input_problem(index: int, item: Any) -> str | None:
    """Why QA input `index` (from 1) cannot be answered (no question/context dict or pair, an empty question or
    context), or None."""
    if isinstance(item, (tuple, list)) and len(item) == 2:
        item = {"question": item[0], "context": item[1]}
    if not isinstance(item, dict):
        return f"QA input {index} is a {type(item).__name__}; pass {{'question': ..., 'context': ...}}"
    for name in ("question", "context"):
        if not isinstance(item.get(name), str) or not item[name].strip():
            return f"QA input {index} has an empty or missing {name!r}"
    return None


def _split_by_context(examples: list[dict[str, Any]], fraction: float,
                      seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """(train, validation, why there is no validation or None) for fit without validation data. Whole paragraphs are
    held out (all the questions of one context together, as SQuAD splits by article), so no held-out question is
    asked of a context the model trained on; paragraphs in a seeded random order are held out while each brings the
    held-out count nearer `fraction` of the questions, and at least one paragraph is always trained on.

    >>> rows = [{"context": c, "question": q} for c in "abcde" for q in "xy"]
    >>> train, validation, _ = _split_by_context(rows, 0.2, 0)
    >>> len(validation), {r["context"] for r in validation} & {r["context"] for r in train}
    (2, set())
    """
    target = int(round(len(examples) * fraction)) if len(examples) >= 10 else 0
    if target == 0:
        return examples, [], ("not measured: too few questions to hold any out for validation (10 or more are needed "
                              "at this validation_fraction); pass validation data to measure the model")
    groups: dict[str, list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault(example["context"], []).append(index)
    if len(groups) < 2:
        return examples, [], ("not measured: all the questions share one context, and validation questions must come "
                              "from paragraphs the model did not train on; pass validation data to measure the model")
    keys = list(groups)
    held: list[int] = []
    for position in np.random.default_rng(seed).permutation(len(keys)):
        size = len(groups[keys[position]])
        if abs(len(held) + size - target) < abs(len(held) - target) and len(held) + size < len(examples):
            held += groups[keys[position]]
    if not held:
        return examples, [], ("not measured: every paragraph holds too many of the questions to hold one out for "
                              "validation; pass validation data to measure the model")
    chosen = set(held)
    return ([e for i, e in enumerate(examples) if i not in chosen], [e for i, e in enumerate(examples) if i in chosen],
            None)


class _Composed:
    """A context as the model reads it, with the way back to the text given: `text` is the NFC form without the
    invisible format characters inside words that spell nothing there (a soft hyphen, a zero-width space: BERT's
    tokenizer drops them too; `nlp._invisible`) nor the layout marks outside words (a zero-width space, word joiner,
    BOM or soft hyphen beside a space or punctuation), and `original_record` turns a record's offsets into that text into
    offsets into the original. Each run of characters that composes together (a letter and its combining marks, a
    Hangul syllable's jamo) maps as a whole, so a span never splits one; an answer keeps the format characters inside
    it and never starts or ends on one. Text already in NFC without them (nearly all) passes through unchanged.

    >>> form = _Composed("Cafe\u0301 in 1854.")
    >>> form.text, form.original_record({"answer": "Café", "start": 0, "end": 4}, "Cafe\u0301 in 1854.")
    ('Café in 1854.', {'answer': 'Cafe\u0301', 'start': 0, 'end': 5})
    >>> _Composed("Isam\u200bbard").original_record({"answer": "Isambard", "start": 0, "end": 8}, "Isam\u200bbard")
    {'answer': 'Isam\u200bbard', 'start': 0, 'end': 9}
    """

    def __init__(self, text: str):
        self.text, self.starts, self.ends = text, None, None
        invisible = has_invisible(text)
        if not invisible and unicodedata.is_normalized("NFC", text):
            return
        runs: list[list[int]] = []  # indices into the original of the characters read, each run composing on its own
        # layout marks outside words go too: 'Mary\u200b Shelley' (web text) is the name 'Mary Shelley', not 'Mary'
        for index in readable_indices(text, everywhere=True) if invisible else range(len(text)):
            if runs and not self._starts_run("".join(text[i] for i in runs[-1]), text[index]):
                runs[-1].append(index)
            else:
                runs.append([index])
        pieces = [unicodedata.normalize("NFC", "".join(text[i] for i in run)) for run in runs]
        self.text = "".join(pieces)
        self.starts, self.ends = [], [0]  # per read position: where its run starts / where the run before it ends
        for run, piece in zip(runs, pieces):
            self.starts += [run[0]] * len(piece)
            self.ends += [run[-1] + 1] * len(piece)
        self.starts.append(len(text))

    @staticmethod
    def _starts_run(run: str, character: str) -> bool:
        """Whether `character` composes apart from the run before it: a starter that does not combine with it."""
        return (unicodedata.combining(character) == 0
                and unicodedata.normalize("NFC", run + character) == unicodedata.normalize("NFC", run) + unicodedata.normalize("NFC", character))

    def original_record(self, record: dict[str, Any], original: str) -> dict[str, Any]:
        """`record` with its start/end (and a retrieval record's `sentence`) as offsets into `original`, and its
        answer cut from it."""
        if self.starts is None or record.get("start", -1) < 0:
            return record
        start, end = self.starts[record["start"]], self.ends[record["end"]]
        mapped = {**record, "answer": original[start:end], "start": start, "end": end}
        if "sentence" in record:
            mapped["sentence"] = [self.starts[record["sentence"][0]], self.ends[record["sentence"][1]]]
        return mapped


class QAModel(TaskModel):
    """(question, context) -> answer span with character offsets and a score."""

    task: ClassVar[str] = "nlp.qa"
    data_flags: ClassVar[tuple[str, ...]] = ()  # SQuAD files name their own fields
    input_flags: ClassVar[tuple[str, ...]] = ("id",)
    data_options: ClassVar[tuple[str, ...]] = ("null_threshold",)  # evaluate's (`--option null_threshold=0.4`)
    libraries: ClassVar[tuple[str, ...]] = LIBRARIES
    Config: ClassVar[type] = QAConfig
    default_batch_size: ClassVar[int] = 16

    def __init__(self, kind: str, *, model=None, tokenizer=None, encoder: TextEncoder | None = None, device=None,
                 max_length: int = 384, stride: int = 128, max_query_length: int = 64, max_answer_tokens: int = 30,
                 allow_no_answer: bool = False, no_answer_margin: float = 0.0, null_threshold: float | None = None,
                 name: str = "qa", info: dict[str, Any] | None = None):
        self.kind = kind
        self.model_ = model
        self.tokenizer_ = tokenizer
        self.encoder_ = encoder
        self.device = device
        self.max_length = max_length
        self.stride = stride
        self.max_query_length = max_query_length
        self.max_answer_tokens = max_answer_tokens
        self.allow_no_answer = allow_no_answer
        self.no_answer_margin = no_answer_margin
        self.null_threshold = null_threshold
        self.name = name
        self.info = dict(info or {})
        self.untrained_head_ = False  # True for _as_extractive's new span head until fit() draws it from its seed

    # -- construction -------------------------------------------------------------------------------------
    # load() is core.TaskModel's: the default below (built on first use), a folder written by save(), or a hub id
    default_name: ClassVar[str] = DEFAULT_NAME

    @classmethod
    def build_default(cls, folder: Path, device: str = "auto", **options: Any) -> None:
        """The embedded retrieval baseline: the packaged MiniLM + answer-type span rules (nothing QA-trained)."""
        cls.from_encoder(minilm_path(), device="cpu", name="all-MiniLM-L6-v2 retrieval + span rules").save(folder)

    @classmethod
    def load_hub(cls, repo_id: str, device: str = "auto", **options: Any) -> "QAModel":
        """An extractive QA model from the hub (transformers)."""
        chosen, where = pick_device(device), repo_id
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        try:
            model = AutoModelForQuestionAnswering.from_pretrained(where)
            tokenizer = AutoTokenizer.from_pretrained(where)
        except (OSError, ValueError) as error:
            raise ModelNotFoundError(missing_model_message(cls.task, where)) from error
        return cls("extractive", model=model.to(chosen).eval(), tokenizer=tokenizer, device=chosen, name=where,
                   allow_no_answer="squad2" in where.lower() or "squad_v2" in where.lower())

    @classmethod
    def for_training(cls, base: str | Path | None = None, device: str = "auto") -> "QAModel":
        """Start of `verticals train`: None -> a BERT QA head initialised from the packaged MiniLM."""
        if base is not None:
            model = cls.load(base, device=device)
            return model._as_extractive() if model.kind == "retrieval" else model
        return cls.from_encoder(minilm_path(), device=device)._as_extractive()

    @classmethod
    def from_encoder(cls, encoder_dir: str | Path, device: str = "auto", name: str = "retrieval") -> "QAModel":
        """The retrieval baseline over a local encoder folder (sentence choice by embedding + span rules)."""
        chosen = pick_device(device)
        return cls("retrieval", encoder=TextEncoder.from_dir(encoder_dir, chosen, max_length=256), device=chosen, name=name,
                   info={"description": "sentence retrieval with a MiniLM encoder + answer-type span rules; no QA-trained "
                                        "weights exist offline, so expect low exact match. Fine-tune (fit) for a real reader.",
                         "limits": "answers come from one sentence; abstains only with null_threshold (off by "
                                   "default; 0.6 was best on a small half-unanswerable set); English rules"})

    @classmethod
    def from_model(cls, model, tokenizer, device: str = "auto", name: str = "extractive", **options: Any) -> "QAModel":
        """Wrap an in-memory transformers QA model and tokenizer."""
        chosen = pick_device(device)
        return cls("extractive", model=model.to(chosen).eval(), tokenizer=tokenizer, device=chosen, name=name, **options)

    @classmethod
    def load_folder(cls, path: Path, device: str = "auto", **options: Any) -> "QAModel":
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        card, device = read_card(path, task=cls.task), pick_device(device)
        settings = card.get("preprocessing", {})
        kwargs = dict(name=card.get("name", Path(path).name), info=card, max_length=settings.get("max_length", 384),
                       stride=settings.get("stride", 128), max_query_length=settings.get("max_query_length", 64),
                       max_answer_tokens=settings.get("max_answer_tokens", 30),
                       allow_no_answer=settings.get("allow_no_answer", False), no_answer_margin=settings.get("no_answer_margin", 0.0),
                       null_threshold=None)
        kind = card.get("kind", "extractive")
        threshold = settings.get("null_threshold")  # a card's null (off) stays off
        kwargs["null_threshold"] = _checked_threshold(threshold, f"{path}: card.json's null_threshold")
        needed = ["encoder/config.json"] if kind == "retrieval" else ["config.json"]
        if kind not in ("retrieval", "extractive") or not all((Path(path) / name).is_file() for name in needed):
            raise UnsafeArtifactError(f"{path}: card.json does not match the files beside it (kind {kind!r}, expected "
                                      f"{', '.join(needed)} for a QA model); it is not a QA model saved by Verticals")
        try:
            if kind == "retrieval":
                return cls("retrieval", encoder=TextEncoder.from_dir(Path(path) / "encoder", device, max_length=256),
                           device=device, **kwargs)
            model = AutoModelForQuestionAnswering.from_pretrained(str(path)).to(device).eval()
            return cls("extractive", model=model, tokenizer=AutoTokenizer.from_pretrained(str(path)), device=device, **kwargs)
        except (OSError, ValueError, KeyError) as error:
            raise UnsafeArtifactError(f"{path}: card.json does not match the weights beside it ({str(error).splitlines()[0]}); "
                                      "it is not a QA model saved by Verticals") from error

    def _as_extractive(self) -> "QAModel":
        """A BERT-style QA model whose body is this retrieval model's encoder (the span head starts untrained)."""
        from transformers import AutoModelForQuestionAnswering

        with tempfile.TemporaryDirectory() as tmp:
            self.encoder_.model.save_pretrained(tmp, safe_serialization=True)
            self.encoder_.tokenizer.save_pretrained(tmp)
            model = AutoModelForQuestionAnswering.from_pretrained(tmp)
        converted = QAModel("extractive", model=model.to(self.device).eval(), tokenizer=self.encoder_.tokenizer,
                            device=self.device, name=f"{self.name} + QA head",
                            info={"description": "extractive QA head on the MiniLM encoder"})
        converted.untrained_head_ = True
        return converted

    def _draw_head(self, seed: int) -> None:
        """Draw the untrained span head (`qa_outputs`) from `seed` as transformers initialises it (normal weights at
        the config's initializer_range, zero bias), so one seed gives one model whatever torch's global random state
        was when the head was made (for_training makes it before fit knows the seed)."""
        import torch

        head = getattr(self.model_, "qa_outputs", None)
        if not isinstance(head, torch.nn.Linear):
            return
        generator = torch.Generator().manual_seed(seed)
        std = getattr(self.model_.config, "initializer_range", None) or 0.02
        with torch.no_grad():
            head.weight.copy_(torch.empty(head.weight.shape).normal_(0.0, std, generator=generator))
            if head.bias is not None:
                head.bias.zero_()

    # -- data -------------------------------------------------------------------------------------------------
    @classmethod
    def read_data(cls, path: str | Path, **options: Any) -> list[dict[str, Any]]:
        """SQuAD v1.1 / v2.0 JSON, or Hugging Face `datasets`' SQuAD export (JSON lines or Parquet with id, title, context,
        question, answers = {text: [...], answer_start: [...]}; an empty list is unanswerable) -> examples with
        question, context, answers."""
        return read_squad(path)

    @classmethod
    def validate_training_data(cls, data: Any, **options: Any) -> None:
        """Every question must have an answer located in its context (its text at its offset, or found there); answers
        not at their offset are a warning."""
        _check_answers_located(data)

    @classmethod
    def check_data(cls, path: str | Path, **options: Any) -> dict[str, Any]:
        """`TaskModel.check_data`, with a `warning` naming the answers whose text is not at their answer_start."""
        data = cls.read_data(path, **options)
        warning = _check_answers_located(data)
        return {"task": cls.task, "path": str(path), "ok": True, "n": len(data), **({"warning": warning} if warning else {})}

    @classmethod
    def read_inputs(cls, path: str | Path, **options: Any) -> list[dict[str, str]]:
        """SQuAD JSON, or a table / JSONL with `question` and `context` columns."""
        from core.protocols import Inputs, identify_inputs

        from core.data import read_table, require_columns

        path = Path(path)
        if path.suffix.lower() == ".json":
            from core.data.text import read_json

            try:
                data = read_json(path, "SQuAD or QA JSON")  # parsed once, whichever form it holds
            except InputError:
                data = _read_squad_file(path)  # JSON lines saved as .json (datasets' to_json); else its own error
            if isinstance(data, dict):  # SQuAD: articles -> paragraphs -> questions, each with its own id
                examples = read_squad(data, allow_empty=True)
                errors = {i: f"empty {name}" for i, e in enumerate(examples) for name in ("context", "question")
                          if not e[name].strip()}  # a blank question: an error record under its id, as in a table
                return Inputs([{"question": e["question"], "context": e["context"]} for e in examples],
                              ids=[{"id": e["id"]} for e in examples], errors=errors)
            # a JSON list of {question, context} records reads as a table, like JSONL: `row` (1-based) or its id column
            frame = _records_table(data, path.name)
        else:
            frame = read_table(path, text_columns=["question", "context"])
        require_columns(frame, ["question", "context"], path.name)
        rows = [{k: "" if v is None else str(v) for k, v in row.items()} for row in frame.select("question", "context").to_dicts()]
        errors = {i: f"empty {name}" for i, row in enumerate(rows) for name in ("context", "question") if not row[name].strip()}
        return Inputs(rows, ids=identify_inputs(frame, options.get("id")).ids, errors=errors)  # a blank row: an error record

    def frame_inputs(self, batch, columns=None) -> list[dict[str, str]]:
        question, context = (columns if columns else ("question", "context"))
        return _clean_inputs([{"question": q, "context": c} for q, c in zip(batch[question].to_list(), batch[context].to_list())])

    # -- inference -----------------------------------------------------------------------------------------------
    def predict(self, inputs: Any, batch_size: int | None = None, null_threshold: float | None = None) -> list[dict[str, Any]]:
        """One record per question, its id first (a dict's "id", else `index` from 1, or the row / id its `Inputs`
        gives): answer text, character start/end in the context, score, and `no_answer`. With `null_threshold` (default: the
        model's own, its card's `preprocessing.null_threshold`; None: off; `RETRIEVAL_NULL_THRESHOLD` is the retrieval
        baseline's suggested value) a best span scoring below it is no answer
        (SQuAD 2.0): answer "", start and end -1, `no_answer` true, the score the span had. 0 never abstains. In a list of
        several, an empty question or context is an `error` record in its place, as the CLI gives; only a list where
        every input is refused raises `InputError`.

        >>> model.predict([{"question": "Where is Paris?", "context": "Paris is in France."}])  # doctest: +SKIP
        [{'index': 1, 'answer': 'France', 'start': 12, 'end': 18, 'score': 0.91, 'no_answer': False}]
        """
        threshold = _checked_threshold(self.null_threshold if null_threshold is None else null_threshold)
        batch_size = check_batch_size(batch_size, self.default_batch_size)
        if (records := error_records(self, inputs, batch_size, null_threshold=threshold)) is not None:
            return records  # read_inputs' blank questions and contexts: error records in their places
        if (records := errors_in_place(self, inputs, batch_size, _input_problem, null_threshold=threshold)) is not None:
            return records  # a list's empty questions or contexts: error records in their places, as the CLI gives
        items = _clean_inputs(inputs)
        if not items:
            return []
        # the model reads NFC (a decomposed "cafe\u0301", as macOS pastes it, is the "café" a question asks about)
        # without the soft hyphens and zero-width spaces inside words (and layout marks outside them); offsets and
        # answers are the user's own text's
        composed = [_Composed(item["context"]) for item in items]
        readable = [{"question": unicodedata.normalize("NFC", without_invisible(item["question"], everywhere=True)),
                     "context": form.text} for item, form in zip(items, composed)]
        if self.kind == "retrieval":
            self._require_fitted("encoder_")
            records = self._predict_retrieval(readable, batch_size or self.default_batch_size)
        else:
            self._require_fitted("model_", "tokenizer_")
            records = self._predict_extractive(readable, batch_size or self.default_batch_size)
        records = [form.original_record(record, item["context"]) for form, item, record in zip(composed, items, records)]
        if threshold is not None:
            records = [{**record, "answer": "", "start": -1, "end": -1, "no_answer": True}
                       if not record["no_answer"] and record["score"] < threshold else record for record in records]
        return with_ids(text_ids(inputs), records)

    def _predict_retrieval(self, items: list[dict[str, str]], batch_size: int) -> list[dict[str, Any]]:
        sentences = [split_sentences(item["context"]) for item in items]
        texts = [item["question"] for item in items] + [item["context"][s:e] for item, spans in zip(items, sentences) for s, e in spans]
        embeddings = self.encoder_.encode(texts, batch_size=batch_size).numpy()
        questions, pool = embeddings[:len(items)], embeddings[len(items):]
        records, offset = [], 0
        for i, (item, spans) in enumerate(zip(items, sentences)):
            vectors = pool[offset:offset + len(spans)]
            offset += len(spans)
            asked = content_words(item["question"])
            overlap = np.array([len(asked & content_words(item["context"][s:e])) / max(1, len(asked)) for s, e in spans])
            relevance = vectors @ questions[i] + overlap
            chosen = int(relevance.argmax())
            start, end, span_score = best_span(item["question"], item["context"], *spans[chosen])
            score = float(np.clip(0.5 * span_score + 0.5 * relevance[chosen] / 2, 0, 1))
            records.append({"answer": item["context"][start:end], "start": start, "end": end, "score": round(score, 6),
                            "no_answer": False, "sentence": [int(spans[chosen][0]), int(spans[chosen][1])]})
        return records

    def _predict_extractive(self, items: list[dict[str, str]], batch_size: int) -> list[dict[str, Any]]:
        import torch

        features = self._windows(items, padding="longest")
        mapping = features.pop("overflow_to_sample_mapping")
        offsets = features.pop("offset_mapping")
        sequence_ids = [features.sequence_ids(i) for i in range(len(mapping))]
        names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in features]
        best: list[dict[str, Any]] = [{"score": -np.inf, "null": np.inf} for _ in items]
        with torch.inference_mode():
            for start_row in range(0, len(mapping), batch_size):
                rows = range(start_row, min(len(mapping), start_row + batch_size))
                batch = {k: torch.tensor([features[k][r] for r in rows], device=self.device) for k in names}
                output = self.model_(**batch)
                starts, ends = output.start_logits.float().cpu().numpy(), output.end_logits.float().cpu().numpy()
                for b, row in enumerate(rows):
                    self._best_in_feature(starts[b], ends[b], offsets[row], sequence_ids[row], best[mapping[row]])
        records = []
        for item, found in zip(items, best):
            no_answer = found["score"] == -np.inf or (self.allow_no_answer and found["null"] > found["score"] + self.no_answer_margin)
            if no_answer:
                records.append({"answer": "", "start": -1, "end": -1, "score": 0.0, "no_answer": True})
                continue
            start, end = found["start"], found["end"]
            # A softmax-free confidence: sigmoid of the span logit sum's margin over the no-answer logit sum.
            confidence = float(1 / (1 + np.exp(-(found["score"] - found["null"]) / 2)))
            records.append({"answer": item["context"][start:end], "start": int(start), "end": int(end),
                            "score": round(confidence, 6), "no_answer": False})
        return records

    def _positions(self) -> int | None:
        """The longest window this encoder takes: its position embeddings (or its tokenizer's limit, if lower)."""
        model, tokenizer = (self.encoder_.model, self.encoder_.tokenizer) if self.kind == "retrieval" else (self.model_, self.tokenizer_)
        limits = [getattr(model.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
        limits = [n for n in limits if isinstance(n, int) and 0 < n < 1_000_000]  # a tokenizer without a limit says 1e30
        return min(limits) if limits else None

    def _windows(self, items: list[dict[str, Any]], padding: str):
        """Tokenised (question, context) windows over each context, `stride` tokens overlapping; a question longer than
        `max_query_length` tokens keeps its first ones (BERT's SQuAD rule), so every window keeps room for context."""
        check_windows(self.max_length, self.stride, self.max_query_length, self._positions())
        room = min(self.max_query_length, self.max_length - self.stride - SPECIAL_TOKENS - 1)
        with tokenizer_lock:
            questions = self._cut_questions([x["question"] for x in items], room)
            return self.tokenizer_(questions, [x["context"] for x in items], truncation="only_second",
                                   max_length=self.max_length, stride=self.stride, return_overflowing_tokens=True,
                                   return_offsets_mapping=True, padding=padding)

    def _cut_questions(self, questions: list[str], tokens: int) -> list[str]:
        """Each question cut after its first `tokens` tokens, at a token's end (re-checked: a cut word may tokenise anew)."""
        encoded = self.tokenizer_(questions, add_special_tokens=False, return_offsets_mapping=True, truncation=True,
                                  max_length=tokens + 1)  # one more than kept: enough to tell a long question
        cut = list(questions)
        for i, (ids, offsets) in enumerate(zip(encoded["input_ids"], encoded["offset_mapping"])):
            keep = tokens
            while len(ids) > tokens and keep > 0:
                cut[i] = questions[i][:offsets[keep - 1][1]]
                ids = self.tokenizer_(cut[i], add_special_tokens=False, truncation=True, max_length=tokens + 1)["input_ids"]
                keep -= 1
        return cut

    def _best_in_feature(self, starts, ends, offsets, sequence_ids, best) -> None:
        best["null"] = min(best["null"], float(starts[0] + ends[0]))
        context = [i for i, s in enumerate(sequence_ids) if s == 1]
        if not context:
            return
        lo, hi = context[0], context[-1]
        top_starts = lo + np.argsort(starts[lo:hi + 1])[::-1][:20]
        top_ends = lo + np.argsort(ends[lo:hi + 1])[::-1][:20]
        for s in top_starts:
            for e in top_ends:
                if e < s or e - s + 1 > self.max_answer_tokens:
                    continue
                score = float(starts[s] + ends[e])
                if score > best["score"]:
                    best.update(score=score, start=int(offsets[s][0]), end=int(offsets[e][1]))

    # -- evaluation and training -------------------------------------------------------------------------------------
    def evaluate(self, data: Any, null_threshold: float | None = None) -> dict[str, Any]:
        """Exact match and F1 as the official SQuAD v2.0 script computes them (on v1.1 data the same as v1.1's): the
        best over a question's answers; a question without answers (`is_impossible`) scores 1 only for an empty
        prediction. With unanswerable questions in the data, the card also splits them: has_answer_* / no_answer_*
        (the script's HasAns / NoAns). `null_threshold` as in `predict`."""
        examples = read_squad(data)
        predictions = self.predict([{"question": e["question"], "context": e["context"]} for e in examples],
                                   null_threshold=null_threshold)
        exact, f1 = np.zeros(len(examples)), np.zeros(len(examples))
        for i, (example, prediction) in enumerate(zip(examples, predictions)):
            exact[i], f1[i] = squad_scores(example["answers"], prediction["answer"])
        # the official script's has-answer rule: any gold answer at all, even one that normalises to nothing ("the")
        answerable = np.array([bool(e["answers"]) for e in examples])

        def mean(a):
            return float(np.mean(a))

        metrics = {"exact_match": metric_with_ci(mean, exact), "f1": metric_with_ci(mean, f1)}
        extra: dict[str, Any] = {}
        if not answerable.all():  # SQuAD 2.0 data: the script's HasAns / NoAns split
            for name, subset in (("has_answer", answerable), ("no_answer", ~answerable)):
                if subset.any():
                    metrics[f"{name}_exact_match"] = metric_with_ci(mean, exact[subset])
                    metrics[f"{name}_f1"] = metric_with_ci(mean, f1[subset])
            extra["questions"] = {"has_answer": int(answerable.sum()), "no_answer": int((~answerable).sum())}
        threshold = self.null_threshold if null_threshold is None else null_threshold
        extra["abstained"] = sum(bool(p.get("no_answer")) for p in predictions)
        if threshold is not None:
            extra["null_threshold"] = threshold
        names = [str(e.get("id") or i) for i, e in enumerate(examples)]
        plots = {"F1 per question": bars_plot(names, f1, "F1 (SQuAD rules, %)", worst_first=False,
                                              note="lowest first")}
        worst = [{"id": names[i], "question": examples[i]["question"], "answers": examples[i]["answers"][:3],
                  "prediction": predictions[i]["answer"], "f1": round(float(f1[i]), 2)}
                 for i in np.argsort(f1, kind="stable")[:10]]
        return metric_card(self.task, self.name, len(examples), metrics, scale="percent", plots=plots,
                           worst_questions=worst, **extra)

    def fit(self, data: Any, config: QAConfig | None = None, *, run_dir=None, resume: bool = False, callbacks=(),
            validation_data: Any = None) -> "QAModel":
        """Fine-tune an extractive QA head on SQuAD-format examples (a retrieval model becomes a MiniLM QA reader)."""
        config = config or QAConfig()
        examples = read_squad(data)
        held_out = read_squad(validation_data) if validation_data is not None else None
        _check_answers_located(examples + (held_out or []))
        check_windows(config.max_length, config.stride, config.max_query_length, self._positions())  # this encoder's limit
        if self.kind == "retrieval":
            converted = self._as_extractive()
            self.kind, self.model_, self.tokenizer_, self.encoder_ = "extractive", converted.model_, converted.tokenizer_, None
            self.untrained_head_ = True
        if self.untrained_head_:
            self._draw_head(config.seed)
        if held_out is not None:
            train, validation, why_none = examples, held_out, None
        else:
            train, validation, why_none = _split_by_context(examples, config.validation_fraction, config.seed)
        self.max_length, self.stride, self.max_query_length = config.max_length, config.stride, config.max_query_length
        self.allow_no_answer = self.allow_no_answer or any(not e["answers"] for e in examples)
        train_rows, val_rows = self._features(train), self._features(validation) if validation else None
        if not train_rows:
            raise InputError("no training question has an answer found inside its context window; check answer_start offsets")
        train_config = config.trainer_config(patience=config.patience if val_rows else None)

        def collate(batch):
            import torch

            return {k: torch.tensor([row[k] for row in batch]) for k in batch[0]}

        self.model_.train()
        Trainer(self.model_, train_rows, config=train_config, val_data=val_rows or None, collate_fn=collate, run_dir=run_dir,
                callbacks=callbacks, device=str(self.device)).fit(resume=resume)
        self.model_.eval()
        self.untrained_head_ = False
        metrics = {}
        if validation:  # what `verticals train` prints and the card keeps: the held-out questions' EM / F1
            measured = self.evaluate(validation)["metrics"]
            metrics = {"val_exact_match": round(measured["exact_match"]["value"], 2),
                       "val_f1": round(measured["f1"]["value"], 2), "val_rows": len(validation)}
        self.info = {"training_data_hash": hash_bytes(json.dumps(examples, sort_keys=True).encode()),
                     "config": config_to_dict(config),
                     "trained_on": trained_on(len(train), len(validation), held_out is not None,
                                              "user-supplied SQuAD-format questions", "questions"),
                     # training.rows: the questions the weights saw (not those held out); core.jobs keeps this count
                     "training": {"rows": len(train), "validation_rows": len(validation)},
                     "base": self.name, "metrics": metrics}
        if why_none:
            self.info["metrics_note"] = why_none
        return self

    def _features(self, examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Tokenised windows with start/end token positions (CLS = 0 when the answer is outside / absent)."""
        if not examples:
            return []
        encoded = self._windows(examples, padding="max_length")
        names = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        rows = []
        for i, example_index in enumerate(encoded["overflow_to_sample_mapping"]):
            example = examples[example_index]
            start_token = end_token = 0
            if example["answers"]:
                span = _answer_span(example)
                if span is None:
                    continue
                char_start, char_end = span
                sequence = encoded.sequence_ids(i)
                offsets = encoded["offset_mapping"][i]
                context = [t for t, s in enumerate(sequence) if s == 1]
                if offsets[context[0]][0] <= char_start and offsets[context[-1]][1] >= char_end:
                    start_token = next(t for t in context if offsets[t][1] > char_start)
                    end_token = next(t for t in reversed(context) if offsets[t][0] < char_end)
                elif not self.allow_no_answer:
                    continue  # answer outside this window: drop the window unless the model can abstain
            rows.append({**{k: encoded[k][i] for k in names}, "start_positions": start_token, "end_positions": end_token})
        return rows

    # -- persistence -------------------------------------------------------------------------------------------------
    @property
    def card(self) -> dict[str, Any]:
        """What this model is and its limits (from card.json when loaded)."""
        keep = {k: v for k, v in self.info.items() if k not in {"files", "library_versions", "format_version", "created"}}
        return {**keep, "task": self.task, "name": self.name, "kind": self.kind}

    # save() is core.TaskModel's: this card, then these weights, hashed and written atomically
    def save_card(self) -> dict[str, Any]:
        return {**self.card, "preprocessing": {"max_length": self.max_length, "stride": self.stride,
                                               "max_query_length": self.max_query_length,
                                               "max_answer_tokens": self.max_answer_tokens,
                                               "allow_no_answer": self.allow_no_answer, "no_answer_margin": self.no_answer_margin,
                                               "null_threshold": self.null_threshold},
                "usage": USAGE_RETRIEVAL if self.kind == "retrieval" else USAGE_EXTRACTIVE}

    def write_weights(self, folder: Path) -> None:
        """Extractive models via save_pretrained; the retrieval baseline as `encoder/`."""
        if self.kind == "retrieval":
            self.encoder_.model.save_pretrained(folder / "encoder", safe_serialization=True)
            self.encoder_.tokenizer.save_pretrained(folder / "encoder")
        else:
            self.model_.save_pretrained(folder, safe_serialization=True)
            self.tokenizer_.save_pretrained(folder)


def _checked_threshold(value: Any, what: str = "null_threshold") -> float | None:
    """A no-answer threshold: None (off) or a number from 0 to 1 (records' scores lie there); else `InputError`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InputError(f"{what} must be a number from 0 to 1 (a best span scoring below it is no answer; 0: never "
                         f"abstain), got {value!r}")
    return float(value)


def _normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation (the official v1.1/v2.0 scripts): lower case, no punctuation, no articles, single
    spaces; first Unicode NFC, so a decomposed answer ('u' + U+0308) is the composed one ('ü') it reads as, and without
    the invisible characters inside words ('Isam' + U+00AD + 'bard' is 'Isambard', as the model reads it) and the
    layout marks outside them ('Mary' + U+200B + ' Shelley' is 'Mary Shelley').

    >>> _normalize_answer("The  Eiffel-Tower!")
    'eiffeltower'
    """
    text = unicodedata.normalize("NFC", without_invisible(text, everywhere=True)).lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text, flags=re.UNICODE).split())


def squad_scores(answers: list[str], prediction: str) -> tuple[float, float]:
    """(exact match, F1) in percent of one prediction, as the official SQuAD v2.0 script scores it: the best over the
    answers that normalise to something; a question with none is answered only by an empty prediction (1 if both
    are empty). On answerable questions this is the v1.1 script's score.

    >>> squad_scores(["Denver Broncos"], "the Broncos"), squad_scores([], ""), squad_scores([], "Broncos")
    ((0.0, 66.66666666666666), (100.0, 100.0), (0.0, 0.0))
    """
    golds = [a for a in answers if _normalize_answer(a)] or [""]
    predicted = _normalize_answer(prediction).split()

    def f1(gold: str) -> float:
        tokens = _normalize_answer(gold).split()
        if not tokens or not predicted:
            return float(tokens == predicted)
        same = sum((collections.Counter(tokens) & collections.Counter(predicted)).values())
        if same == 0:
            return 0.0
        precision, recall = same / len(predicted), same / len(tokens)
        return 2 * precision * recall / (precision + recall)

    exact = max(float(_normalize_answer(gold) == _normalize_answer(prediction)) for gold in golds)
    return 100.0 * exact, 100.0 * max(f1(gold) for gold in golds)


# how to open a saved folder without this product (the card's `usage`)
USAGE_EXTRACTIVE = """\
# folder: the saved model folder (str or pathlib.Path); questions, contexts: lists of strings, one pair per answer
# the best span (start + end logit, at most max_answer_tokens long) over the card's windows; not compared with predict
# by a test: the product also cuts questions at max_query_length tokens and may answer "" (allow_no_answer)
import json, pathlib, torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer
settings = json.loads((pathlib.Path(folder) / "card.json").read_text())["preprocessing"]
tokenizer = AutoTokenizer.from_pretrained(str(folder))
network = AutoModelForQuestionAnswering.from_pretrained(str(folder)).eval()
predictions = []
for question, context in zip(questions, contexts):
    encoded = tokenizer(question, context, truncation="only_second", max_length=settings["max_length"],
                        stride=settings["stride"], return_overflowing_tokens=True, return_offsets_mapping=True,
                        padding=True, return_tensors="pt")
    offsets = encoded.pop("offset_mapping")
    encoded.pop("overflow_to_sample_mapping", None)
    with torch.no_grad():
        output = network(**encoded)
    best = None
    for window in range(len(offsets)):
        in_context = torch.tensor([part == 1 for part in encoded.sequence_ids(window)])
        scores = output.start_logits[window][:, None] + output.end_logits[window][None, :]  # (start, end)
        allowed = in_context[:, None] & in_context[None, :]
        allowed &= torch.ones_like(allowed).triu().tril(settings["max_answer_tokens"] - 1)
        scores = scores.masked_fill(~allowed, -float("inf"))
        start, end = divmod(int(scores.argmax()), scores.shape[1])
        if best is None or float(scores[start, end]) > best[0]:
            best = (float(scores[start, end]), int(offsets[window][start][0]), int(offsets[window][end][1]))
    predictions.append({"answer": context[best[1]:best[2]], "start": best[1], "end": best[2]})
"""
USAGE_RETRIEVAL = ("encoder/ is a sentence encoder transformers opens (AutoModel and AutoTokenizer from "
                   "folder/encoder; embeddings: attention-masked mean of last_hidden_state, L2-normalised); the "
                   "product picks the context sentence whose embedding is closest to the question's, then a span in it "
                   "by its own answer-type rules (nlp/_span_rules.py), so no library's QA pipeline reproduces it.")



def load(source: str | Path | None = None, device: str = "auto") -> QAModel:
    """Shortcut for `QAModel.load`."""
    return QAModel.load(source, device=device)
