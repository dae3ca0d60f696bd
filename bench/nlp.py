"""NLP benchmark: sentiment throughput vs transformers' pipeline, embedded-default accuracy on SST-2, QA EM/F1 on
XQuAD, plus bench/nlp_translation.py's results when present. Writes bench/results/nlp.json."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / ".." / "shared" / "data"
SST = DATA / "nlp.sentiment" / "sst2_dev_even.tsv"
XQUAD = DATA / "nlp.qa" / "xquad_en_subset_a.json"
THREADS = int(os.environ.get("BENCH_THREADS", "1"))


def _texts() -> list[str]:
    if SST.is_file():
        from nlp.sentiment import SentimentModel

        return SentimentModel.read_data(SST)["text"].to_list()
    words = "a good bad film with long and very boring or wonderful moving scenes".split()
    return [" ".join(words[: 3 + (i * 7) % len(words)]) for i in range(400)]


def throughput(batch_size: int = 32, repeats: int = 2) -> dict:
    """Our length-sorted, dynamically padded predictor vs pipeline('text-classification') on one MiniLM classifier."""
    import torch
    from transformers import pipeline

    from nlp.sentiment import SentimentModel

    torch.set_num_threads(THREADS)
    model = SentimentModel.bare_classifier(device="cpu")
    texts = _texts()
    reference = pipeline("text-classification", model=model.classifier_, tokenizer=model.tokenizer_, device="cpu")
    model.detokenize = False  # same input text on both sides

    def timed(fn) -> float:
        fn(texts[:64])  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fn(texts)
            best = min(best, time.perf_counter() - start)
        return best

    ours = timed(lambda t: model.predict(t, batch_size=batch_size))
    theirs = timed(lambda t: reference(t, batch_size=batch_size, truncation=True, max_length=128))
    theirs_default = timed(lambda t: reference(t, truncation=True, max_length=128))
    n = len(texts)
    return {"texts": n, "batch_size": batch_size, "threads": THREADS,
            "ours_texts_per_s": round(n / ours, 1), "pipeline_texts_per_s": round(n / theirs, 1),
            "pipeline_default_batching_texts_per_s": round(n / theirs_default, 1),
            "ratio_vs_pipeline_same_batch": round(theirs / ours, 2),
            "ratio_vs_pipeline_default_batching": round(theirs_default / ours, 2), "goal_ratio": 1.5}


def sentiment_accuracy() -> dict:
    from nlp.sentiment import SentimentModel

    if not SST.is_file():
        return {"skipped": "SST-2 file not found"}
    start = time.perf_counter()
    model = SentimentModel.load(None, device="cpu")
    loaded = time.perf_counter() - start
    card = model.evaluate(SentimentModel.read_data(SST))
    return {"model": card["model"], "n": card["n"], "load_or_build_s": round(loaded, 1), "goal_accuracy": 0.80,
            **{k: v for k, v in card["metrics"].items()}}


def qa_scores() -> dict:
    from nlp.qa import QAModel

    if not XQUAD.is_file():
        return {"skipped": "XQuAD file not found"}
    model = QAModel.load(None, device="cpu")
    start = time.perf_counter()
    card = model.evaluate(QAModel.read_data(XQUAD))
    return {"model": card["model"], "n": card["n"], "seconds": round(time.perf_counter() - start, 1), **card["metrics"]}


def translation() -> dict | None:
    path = ROOT / "bench" / "nlp_translation.py"
    if not path.is_file():
        return None
    previous = ROOT / "bench" / "results" / "nlp_translation.json"
    if previous.is_file() and not os.environ.get("BENCH_RERUN_TRANSLATION"):
        # the translation benchmark takes ~15 min (Apertium one process per sentence, Marian training); reuse its last
        # run unless BENCH_RERUN_TRANSLATION=1
        return {"from": "bench/results/nlp_translation.json", **json.loads(previous.read_text())}
    spec = importlib.util.spec_from_file_location("bench_nlp_translation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "main"):
        return None
    result = module.main()
    return result if isinstance(result, dict) else {"result": result}


def main() -> dict:
    summary = {}
    for name, fn in [("sentiment_throughput", throughput), ("sentiment_embedded_sst2", sentiment_accuracy),
                     ("qa_embedded_xquad", qa_scores), ("translation", translation)]:
        try:
            value = fn()
        except Exception as error:  # one failing part must not hide the others
            value = {"error": f"{type(error).__name__}: {error}"}
        if value is not None:
            summary[name] = value
    out = ROOT / "bench" / "results" / "nlp.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, default=str))
    print(json.dumps(summary, indent=2, default=str))
    return summary


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
