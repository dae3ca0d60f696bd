"""Speech benchmark (run: .venv/bin/python bench/speech.py): real-time factor of the embedded default against
the same CTranslate2 model through faster-whisper directly and against the transformers ASR pipeline on a
same-size Whisper; WER on the LJSpeech subset; a compact model trained from scratch on FSDD digits through the
`verticals train` code path, scored on a held-out speaker; the multilingual `whisper-base` beside tiny.en (real-time
factor and WER, same threads) and on Spanish espeak-ng sentences (language id, CER, speech -> English translation,
against the Home page's route: the transcript through Apertium). Writes bench/results/speech.json;
`--only multilingual` re-runs that part alone and keeps the rest of the file (`--only multilingual apertium`: only
the Apertium route, on the transcripts already recorded); `--only fsdd` likewise re-runs the FSDD model alone."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # results shift with the thread count: compare runs under one setting
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("VERTICALS_SHARED_DATA") or ROOT.parent / "shared" / "data") / "speech.recognition"
RESULTS = ROOT / "bench" / "results" / "speech.json"
HELD_OUT_SPEAKER = "theo"
FSDD_CONFIG = {"n_mels": "40", "d_model": "96", "num_layers": "3", "num_heads": "4", "ffn_dim": "192", "kernel_size": "15",
               "batch_size": "16", "lr": "3e-3", "epochs": "50", "dropout": "0.1", "validation_fraction": "0.1",
               "time_mask_width": "8", "freq_mask_width": "6",  # FSDD clips are ~0.5 s: narrow SpecAugment masks
               "speed_perturbation": "[0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15]", "log_every_steps": "50"}


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def embedded_vs_direct(files: list[Path], rounds: int = 2) -> dict:
    """RTF of SpeechRecognizer.load() vs WhisperModel on the same folder, beam 5, word timestamps, same threads."""
    import soundfile as sf
    from faster_whisper import WhisperModel

    from speech._backends import cpu_threads, packaged_whisper_dir
    from speech.recognition import SpeechRecognizer

    ours = SpeechRecognizer.load(device="cpu")
    direct = WhisperModel(str(packaged_whisper_dir()), device="cpu", compute_type="int8", cpu_threads=cpu_threads())

    def run_direct():
        texts, per_file = [], []
        for file in files:
            seconds, segments = timed(lambda: list(direct.transcribe(str(file), beam_size=5, language="en",
                                                                      word_timestamps=True)[0]))
            per_file.append(seconds)
            texts.append("".join(s.text for s in segments).strip())
        return texts, per_file

    audio_seconds = sum(sf.info(str(f)).duration for f in files)
    ours.predict([str(files[0])])  # warm-up of both paths
    list(direct.transcribe(str(files[0]), beam_size=5, language="en", word_timestamps=True)[0])
    ours_times, direct_times, per_file = [], [], None
    for round_ in range(rounds):  # alternate the order so neither side always runs second
        order = ("ours", "direct") if round_ % 2 == 0 else ("direct", "ours")
        for side in order:
            if side == "ours":
                seconds, records = timed(lambda: ours.predict([str(f) for f in files]))
                ours_times.append(seconds)
            else:
                seconds, (direct_texts, per_file) = timed(run_direct)
                direct_times.append(seconds)
    same = sum(r["text"] == t for r, t in zip(records, direct_texts))
    return {"audio_seconds": round(audio_seconds, 2), "threads": cpu_threads(), "beam_size": 5, "word_timestamps": True,
            "rtf_embedded": round(min(ours_times) / audio_seconds, 4), "rtf_faster_whisper_direct": round(min(direct_times) / audio_seconds, 4),
            "ratio_embedded_over_direct": round(min(ours_times) / min(direct_times), 4), "goal_ratio": 1.05,
            "identical_transcripts": f"{same}/{len(files)}", "rounds": rounds,
            "_records": records, "_direct_per_file": per_file}


def transformers_pipeline(files: list[Path], records: list[dict], direct_per_file: list[float], count: int = 3) -> dict:
    """transformers ASR pipeline on a Whisper of tiny.en's size; no transformers-format tiny.en weights exist offline,
    so it is random-init and forced to emit as many tokens as faster-whisper did: a compute comparison only."""
    import numpy as np
    import torch
    from transformers import (WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration,
                              WhisperTokenizerFast, pipeline)

    from speech._backends import packaged_whisper_dir
    from speech.audio import load_audio

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    tokenizer = WhisperTokenizerFast(tokenizer_file=str(packaged_whisper_dir() / "tokenizer.json"))
    config = WhisperConfig(vocab_size=51864, d_model=384, encoder_layers=4, decoder_layers=4, encoder_attention_heads=6,
                           decoder_attention_heads=6, encoder_ffn_dim=1536, decoder_ffn_dim=1536, num_mel_bins=80,
                           decoder_start_token_id=50257, eos_token_id=50256, pad_token_id=50256, bos_token_id=50256)
    torch.manual_seed(0)
    network = WhisperForConditionalGeneration(config).eval()
    asr = pipeline("automatic-speech-recognition", model=network, tokenizer=tokenizer,
                   feature_extractor=WhisperFeatureExtractor(), device="cpu")
    chosen = list(range(min(count, len(files))))
    audio = [load_audio(files[i]) for i in chosen]
    tokens = [len(tokenizer(records[i]["text"], add_special_tokens=False).input_ids) + 1 for i in chosen]
    asr(audio[0][:16000], generate_kwargs={"num_beams": 5, "max_new_tokens": 2})  # warm-up
    seconds = 0.0
    for samples, n in zip(audio, tokens):
        elapsed, _ = timed(lambda: asr(samples, generate_kwargs={"num_beams": 5, "min_new_tokens": n, "max_new_tokens": n}))
        seconds += elapsed
    audio_seconds = sum(len(a) for a in audio) / 16000
    direct = sum(direct_per_file[i] for i in chosen)
    return {"model": "WhisperForConditionalGeneration, tiny.en shape (37.8M params), random init, fp32, beam 5, "
                     "forced to faster-whisper's token count per clip",
            "clips": len(chosen), "audio_seconds": round(audio_seconds, 2),
            "rtf_transformers_pipeline": round(seconds / audio_seconds, 4),
            "rtf_faster_whisper_direct_same_clips": round(direct / audio_seconds, 4),
            "ratio_pipeline_over_faster_whisper": round(seconds / direct, 2),
            "note": "no tiny.en weights in transformers format ship offline; WER of this pipeline is meaningless"}


def ljspeech_wer(records: list[dict]) -> dict:
    from core.evaluate import transcription_metrics
    from speech.recognition import NORMALISATION, SpeechRecognizer, normalize_text

    frame = SpeechRecognizer.read_data(DATA / "LJSpeech_subset")
    metrics = transcription_metrics([normalize_text(r["text"]) for r in records], [normalize_text(t) for t in frame["text"]])
    return {"n": frame.height, "wer": metrics["wer"], "cer": metrics["cer"], "normalisation": NORMALISATION}


def fsdd_from_scratch(whisper_clips: int = 20) -> dict:
    """`verticals train` code path (core.jobs.run_training: read_data + for_training + fit + save) on two FSDD
    speakers, then WER on the third, held out; the embedded Whisper on some of the same clips for reference."""
    from core.evaluate import transcription_metrics
    from core.jobs import run_training
    from speech.recognition import SpeechRecognizer, target_text

    folder = Path(tempfile.mkdtemp(prefix="speech-bench-"))
    seconds, card = timed(lambda: run_training(
        "speech.recognition", DATA / "fsdd_subset", folder / "fsdd-compact", overrides=FSDD_CONFIG,
        options={"exclude_speakers": HELD_OUT_SPEAKER}, run_dir=folder / "run", device="cpu"))
    model = SpeechRecognizer.load(folder / "fsdd-compact", device="cpu")
    held_out = SpeechRecognizer.read_data(DATA / "fsdd_subset", speakers=HELD_OUT_SPEAKER)
    result = model.evaluate(held_out)
    hypotheses = [r["text"] for r in model.predict(held_out["audio"].to_list())]
    letters = transcription_metrics([target_text(h) for h in hypotheses], [target_text(t) for t in held_out["text"]])
    whisper = SpeechRecognizer.load(device="cpu").evaluate(held_out.sample(whisper_clips, seed=0))
    return {"train_speakers": "jackson, nicolas (90% train / 10% validation)", "held_out_speaker": HELD_OUT_SPEAKER,
            "train_utterances": card["training"]["utterances"], "train_seconds_wall": round(seconds, 1),
            "steps": card["training"]["steps"], "config": FSDD_CONFIG,
            "parameters": sum(p.numel() for p in model.backend_.network.parameters()),
            "held_out_n": result["n"], "held_out_wer": result["metrics"]["wer"], "held_out_cer": result["metrics"]["cer"],
            "held_out_cer_spelled": letters["cer"],
            "note": "the card's CER uses Whisper's normaliser, which writes digits ('seven' -> '7'), so a misspelt word "
                    "against a one-character reference gives CER > 1; held_out_cer_spelled compares the spelled words",
            "validation_wer_seen_speakers": card["metrics"].get("wer"),
            "embedded_whisper_on_held_out": {"n": whisper["n"], "wer": whisper["metrics"]["wer"],
                                             "rtf": whisper["metrics"]["real_time_factor"]["value"]},
            "examples": result["examples"]}


# Spanish sentences with the English nouns a translation must contain (any spelling listed counts). Written before
# any measurement; synthesised with espeak-ng's default Spanish voice and rate, as a user would.
SPANISH = [
    ("El niño lee un libro en la escuela.", [("child", "boy", "kid"), ("book",), ("school",)]),
    ("Mi madre prepara la comida en la cocina.", [("mother", "mom"), ("food", "meal", "lunch", "dinner"), ("kitchen",)]),
    ("El tren llega a la estación por la mañana.", [("train",), ("station",), ("morning",)]),
    ("Hay tres gatos y un perro en el jardín.", [("cat",), ("dog",), ("garden", "yard")]),
    ("El médico trabaja en el hospital de la ciudad.", [("doctor",), ("hospital",), ("city", "town")]),
    ("Compramos fruta y agua en la tienda.", [("fruit",), ("water",), ("store", "shop")]),
    ("La mujer escribe una carta a su hermano.", [("woman", "lady"), ("letter",), ("brother",)]),
    ("El sol brilla sobre el mar y la playa.", [("sun",), ("sea", "ocean"), ("beach",)]),
    ("Los estudiantes tienen un examen el lunes.", [("student",), ("exam", "test"), ("monday",)]),
    ("Mi padre conduce el coche al trabajo.", [("father", "dad"), ("car",), ("work", "job", "office")]),
]


def nouns_found(text: str, nouns: list[tuple[str, ...]]) -> int:
    """How many of the nouns (each a tuple of accepted spellings, matched as word prefixes) appear in `text`."""
    import re

    words = re.findall(r"[a-z]+", text.lower())
    return sum(any(w.startswith(n) for w in words for n in spellings) for spellings in nouns)


SLOW_RATE_WPM = 120  # espeak-ng's default is 175 words/min; 120 was chosen on other Spanish sentences (not SPANISH)


def synthesise_spanish(folder: Path, rate_wpm: int | None = None) -> list[Path]:
    import subprocess

    paths = []
    for index, (sentence, _) in enumerate(SPANISH):
        path = folder / f"es-{index}.wav"
        rate = ["-s", str(rate_wpm)] if rate_wpm else []
        subprocess.run(["espeak-ng", "-v", "es", *rate, "-w", str(path), sentence], check=True, timeout=60)
        paths.append(path)
    return paths


def spanish(model, rate_wpm: int | None) -> dict:
    """whisper-base on the SPANISH sentences: detected language, CER against the script, and the nouns kept by each
    `--target en` route: Whisper's own speech translation and the product's default (the Spanish transcript through
    Apertium spa-eng where that pair is installed)."""
    import jiwer

    from speech.recognition import normalize_text

    clips = [str(c) for c in synthesise_spanish(Path(tempfile.mkdtemp(prefix="speech-es-")), rate_wpm)]
    detected = model.predict(clips)
    routes = {"whisper": model.predict(clips, source="es", target="en", translator="whisper"),
              "auto": model.predict(clips, source="es", target="en")}
    rows = []
    for index, ((sentence, nouns), heard) in enumerate(zip(SPANISH, detected)):
        cer = float(jiwer.cer(normalize_text(sentence, "es"), normalize_text(heard["text"], "es")))
        row = {"script": sentence, "language": heard["language"], "p": heard["language_probability"],
               "transcript": heard["text"], "cer": round(cer, 4)}
        for name, records in routes.items():
            row[f"translation_{name}"] = records[index]["text"]
            row[f"nouns_found_{name}"] = f"{nouns_found(records[index]['text'], nouns)}/{len(nouns)}"
        rows.append(row)
    result = {"voice": f"espeak-ng -v es, {rate_wpm or 175} words/min{'' if rate_wpm else ' (default)'}; decoded and "
                       "resampled to 16 kHz by speech.audio (soxr)", "n": len(rows),
              "detected_es": sum(r["language"] == "es" for r in rows),
              "cer_corpus": round(float(jiwer.cer([normalize_text(s, "es") for s, _ in SPANISH],
                                                  [normalize_text(d["text"], "es") for d in detected])), 4),
              "sentences_cer_at_most_0.3": sum(r["cer"] <= 0.3 for r in rows)}
    total = sum(len(n) for _, n in SPANISH)
    for name, records in routes.items():
        found = [nouns_found(r["text"], n) for r, (_, n) in zip(records, SPANISH)]
        result[f"noun_recall_{name}"] = round(sum(found) / total, 4)
        result[f"sentences_with_every_noun_{name}"] = sum(f == len(n) for f, (_, n) in zip(found, SPANISH))
        result[f"translated_by_{name}"] = sorted({r.get("translated_by") or "none" for r in records})
    result["rows"] = rows
    return result


def multilingual(files: list[Path], rounds: int = 2) -> dict:
    """whisper-base beside tiny.en through SpeechRecognizer.predict on the LJSpeech subset (same threads, alternating
    order, best of `rounds`); then whisper-base on the Spanish espeak-ng sentences: language, CER, translation."""
    import shutil

    import soundfile as sf

    from core.evaluate import transcription_metrics
    from speech._backends import cpu_threads
    from speech.recognition import SpeechRecognizer, normalize_text

    models = {"tiny.en": SpeechRecognizer.load(device="cpu"), "whisper-base": SpeechRecognizer.load("whisper-base", device="cpu")}
    paths = [str(f) for f in files]
    audio_seconds = sum(sf.info(p).duration for p in paths)
    references = [normalize_text(t) for t in SpeechRecognizer.read_data(DATA / "LJSpeech_subset")["text"]]
    times: dict[str, list[float]] = {name: [] for name in models}
    texts: dict[str, list[str]] = {}
    raw: dict[str, list[str]] = {}
    loadavg = [Path("/proc/loadavg").read_text().split()[:3]]
    for model in models.values():
        model.predict(paths[:1])  # warm-up
    for round_ in range(rounds):
        for name in (list(models) if round_ % 2 == 0 else list(models)[::-1]):
            seconds, records = timed(lambda: models[name].predict(paths))
            times[name].append(seconds)
            texts[name] = [normalize_text(r["text"]) for r in records]
            raw[name] = [r["text"] for r in records]
    loadavg.append(Path("/proc/loadavg").read_text().split()[:3])
    raw_references = SpeechRecognizer.read_data(DATA / "LJSpeech_subset")["text"].to_list()
    result: dict = {"threads": cpu_threads(), "beam_size": 5, "audio_seconds": round(audio_seconds, 2), "rounds": rounds,
                    "loadavg_start_end": loadavg}
    for name, model in models.items():
        metrics = transcription_metrics(texts[name], references)
        unnormalised = transcription_metrics(raw[name], raw_references)
        result[name] = {"rtf": round(min(times[name]) / audio_seconds, 4), "compute_type": model.backend_.compute_type,
                        "ljspeech_wer": metrics["wer"], "ljspeech_cer": metrics["cer"],
                        "ljspeech_wer_raw": unnormalised["wer"]["value"], "ljspeech_cer_raw": unnormalised["cer"]["value"]}
    result["rtf_ratio_base_over_tiny"] = round(min(times["whisper-base"]) / min(times["tiny.en"]), 2)
    if shutil.which("espeak-ng") is None:
        result["spanish"] = {"error": "espeak-ng is not installed"}
        return result
    result["spanish"] = spanish(models["whisper-base"], None)
    result["spanish_slow_voice"] = spanish(models["whisper-base"], SLOW_RATE_WPM)
    apertium_route(result)
    return result


def apertium_route(result: dict) -> None:
    """The Home page's route for the same clips: Whisper base's Spanish transcript translated by Apertium es->en."""
    try:
        from nlp.translation import Translator

        translator = Translator.load(source_lang="es", target_lang="en")
    except Exception as error:  # Apertium or its pair missing: say so, keep the rest
        result["apertium_on_transcript"] = {"error": f"{type(error).__name__}: {error}"}
        return
    route = {}
    for key in ("spanish", "spanish_slow_voice"):
        rows = result[key]["rows"]
        english = [r["translation"] for r in translator.predict([r["transcript"] for r in rows])]
        found = [nouns_found(text, nouns) for text, (_, nouns) in zip(english, SPANISH)]
        route[key] = {"translation_noun_recall": round(sum(found) / sum(len(n) for _, n in SPANISH), 4),
                      "sentences_with_every_noun": sum(f == len(n) for f, (_, n) in zip(found, SPANISH)),
                      "translations": english}
    result["apertium_on_transcript"] = route


def main() -> dict:
    if "--only" in sys.argv and sys.argv[sys.argv.index("--only") + 1:][:1] == ["fsdd"]:  # that part alone, the rest kept
        summary = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        summary["fsdd_from_scratch"] = fsdd_from_scratch()
        RESULTS.write_text(json.dumps(summary, indent=2, default=str) + "\n")
        print(json.dumps(summary["fsdd_from_scratch"], default=str))
        return summary
    if "--only" in sys.argv and sys.argv[sys.argv.index("--only") + 1:][:1] == ["multilingual"]:
        summary = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
        if sys.argv[-1] == "apertium":  # only the Apertium route, on the transcripts already in the results
            apertium_route(summary["multilingual"])
        else:
            summary["multilingual"] = multilingual(sorted((DATA / "LJSpeech_subset" / "wavs").glob("*.wav")))
        RESULTS.write_text(json.dumps(summary, indent=2, default=str) + "\n")
        print(json.dumps(summary["multilingual"], default=str))
        return summary
    if not DATA.is_dir():
        raise SystemExit(f"{DATA} is missing; the benchmark needs ../shared/data/speech.recognition")
    files = sorted((DATA / "LJSpeech_subset" / "wavs").glob("*.wav"))
    summary: dict = {"omp_num_threads": os.environ["OMP_NUM_THREADS"], "machine": f"{os.cpu_count()} CPU cores (shared)"}
    speed = embedded_vs_direct(files)
    records, per_file = speed.pop("_records"), speed.pop("_direct_per_file")
    summary["embedded_vs_faster_whisper"] = speed
    summary["ljspeech_subset"] = ljspeech_wer(records)
    try:
        summary["vs_transformers_pipeline"] = transformers_pipeline(files, records, per_file)
    except Exception as error:  # report, do not hide, a pipeline that cannot be built here
        summary["vs_transformers_pipeline"] = {"error": f"{type(error).__name__}: {error}"}
    summary["fsdd_from_scratch"] = fsdd_from_scratch()
    summary["multilingual"] = multilingual(files)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(json.dumps(summary, default=str))
    return summary


if __name__ == "__main__":
    main()
