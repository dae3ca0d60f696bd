"""Translation benchmark: Apertium quality and isolation cost on the shared Tatoeba en-es set, and chrF of small
Marian models trained from scratch through `verticals train`'s code path on held-out sentences.

Run: .venv/bin/python bench/nlp_translation.py [--apertium-only]  (writes bench/results/nlp_translation.json)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("VERTICALS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "nlp.translation"
RESULTS = ROOT / "bench" / "results" / "nlp_translation.json"
TATOEBA = DATA / "tatoeba_eng_spa_test_b"
MULTI30K = DATA / "multi30k_test_2016_flickr_even"
# Small enough to train in about a minute of CPU on a few hundred pairs.
MARIAN_OVERRIDES = {"d_model": "128", "layers": "2", "attention_heads": "4", "ffn_dim": "256", "vocab_size": "1000",
                    "epochs": "60", "batch_size": "16", "lr": "0.002", "patience": "6", "dropout": "0.2",
                    "num_beams": "4", "max_length": "64"}
THROUGHPUT_SENTENCES = 24  # sentences timed through one process each (the former way), for the speed-up


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").rstrip("\n").split("\n")


def _metrics(card: dict) -> dict:
    return {name: round(entry["value"], 2) for name, entry in card["metrics"].items()} | {"n": card["n"]}


def bench_apertium() -> dict:
    """BLEU/chrF both directions; the isolation judge (the file reversed, and split into single lines, give the same
    per-sentence outputs); speed of one `verticals predict` call on the whole file against one process per sentence."""
    from concurrent.futures import ThreadPoolExecutor

    from nlp import _apertium
    from nlp.translation import Translator

    if ("eng", "spa") not in _apertium.installed_pairs():
        return {"skipped": "apertium / apertium-eng-spa not installed"}
    from core.evaluate import metric_card, text_generation_metrics

    out: dict = {"load_before": _load(), "streams": _apertium.ApertiumEngine("eng-spa").streams}
    for source, target in (("en", "es"), ("es", "en")):
        model = Translator.load(source_lang=source, target_lang=target)
        sources, references = _lines(TATOEBA.with_suffix(f".{source}")), _lines(TATOEBA.with_suffix(f".{target}"))
        started = time.perf_counter()
        whole = model.translate(sources)
        seconds = time.perf_counter() - started
        card = metric_card("nlp.translation", model.name_, len(sources), text_generation_metrics(whole, references))
        reversed_ = model.translate(sources[::-1])[::-1]
        with ThreadPoolExecutor(4) as pool:  # each sentence alone: its own translate() call
            singles = list(pool.map(lambda line: model.translate([line])[0], sources))
        out[f"{source}-{target}"] = {**_metrics(card), "seconds_in_process": round(seconds, 2),
                                     "sentences_per_second_in_process": round(len(sources) / seconds, 1),
                                     "different_when_reversed": sum(a != b for a, b in zip(whole, reversed_)),
                                     "different_when_alone": sum(a != b for a, b in zip(whole, singles))}

    english = TATOEBA.with_suffix(".en")
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "out.jsonl"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "core.cli", "predict", "nlp.translation", "--input", str(english),
                        "--output", str(output)], check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        cli_seconds = time.perf_counter() - started
        records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    sample = _lines(english)[:THROUGHPUT_SENTENCES]
    engine = _apertium.ApertiumEngine("eng-spa")
    started = time.perf_counter()
    one_by_one = engine._one_by_one(sample)  # the former way: one `apertium` process per sentence, a thread pool
    per_process = len(sample) / (time.perf_counter() - started)
    out["cli_predict_whole_file"] = {"sentences": len(records), "wall_seconds_with_start_up": round(cli_seconds, 2),
                                     "sentences_per_second": round(len(records) / cli_seconds, 1), "goal": 60}
    out["sentences_per_second_one_process_per_sentence"] = round(per_process, 2)
    out["speedup_vs_one_process_per_sentence"] = round(len(records) / cli_seconds / per_process, 1)
    out["stream_vs_one_process_per_sentence_different"] = sum(
        a != b for a, b in zip(engine.translate(sample), [_apertium._clean(o, "spa", s) for o, s in zip(one_by_one, sample)]))
    out["load_after"] = _load()
    return out


def _load() -> str:
    return open("/proc/loadavg").read().split(" ")[0] if os.path.exists("/proc/loadavg") else "unknown"


def _split(stem: Path, source: str, target: str, folder: Path, every: int = 5) -> tuple[Path, list[tuple[str, str]]]:
    """Write every line but each `every`-th as line-aligned training files; return them and the held-out pairs."""
    sources, targets = _lines(stem.with_suffix(f".{source}")), _lines(stem.with_suffix(f".{target}"))
    train = [(s, t) for i, (s, t) in enumerate(zip(sources, targets)) if i % every]
    held_out = [(s, t) for i, (s, t) in enumerate(zip(sources, targets)) if not i % every]
    (folder / f"train.{source}").write_text("\n".join(s for s, _ in train) + "\n", encoding="utf-8")
    (folder / f"train.{target}").write_text("\n".join(t for _, t in train) + "\n", encoding="utf-8")
    return folder / f"train.{source}", held_out


def bench_marian(stem: Path, source: str, target: str, apertium: bool) -> dict:
    """Train through core.jobs.run_training (what `verticals train` runs), evaluate on the held-out fifth."""
    import polars as pl

    from core.jobs import run_training
    from nlp.translation import Translator

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        train_file, held_out = _split(stem, source, target, folder)
        started = time.perf_counter()
        card = run_training("nlp.translation", train_file, folder / "model", overrides=dict(MARIAN_OVERRIDES),
                            options={"source": source, "target": target}, device="cpu")
        seconds = time.perf_counter() - started
        test = pl.DataFrame({"source": [s for s, _ in held_out], "target": [t for _, t in held_out],
                             "source_lang": [source] * len(held_out), "target_lang": [target] * len(held_out)})
        result = {"train_pairs": card["metrics"].get("train_pairs"), "train_seconds": round(seconds, 1),
                  "marian_from_scratch": _metrics(Translator.load(folder / "model", device="cpu").evaluate(test))}
        if apertium:
            result["apertium_same_sentences"] = _metrics(Translator.load(source_lang=source, target_lang=target).evaluate(test))
    return result


def main() -> dict:
    """Run every part and write bench/results/nlp_translation.json; returns the summary."""
    import torch

    from nlp import _apertium

    torch.set_num_threads(int(os.environ.get("VERTICALS_THREADS", "1")))
    if not TATOEBA.with_suffix(".en").is_file():
        raise SystemExit(f"shared data not found at {DATA}")
    has_pair = ("eng", "spa") in _apertium.installed_pairs()
    previous = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    apertium_only = "--apertium-only" in sys.argv  # keep the Marian figures of the last full run
    summary = {"data": "shared/data/nlp.translation", "threads": torch.get_num_threads(),
               "apertium_tatoeba": bench_apertium(),
               "marian_en_es_tatoeba": previous.get("marian_en_es_tatoeba") if apertium_only else
               bench_marian(TATOEBA, "en", "es", apertium=has_pair),
               "marian_en_de_multi30k": previous.get("marian_en_de_multi30k") if apertium_only else
               bench_marian(MULTI30K, "en", "de", apertium=False),
               "marian_config": MARIAN_OVERRIDES,
               "notes": "Held-out = every 5th line of the file; Marian trained from scratch on the other 4/5 only "
                        "(a few hundred pairs), so its scores show the training path works, not a usable model."}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, ensure_ascii=False))
