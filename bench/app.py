"""20 concurrent dashboard sessions predicting through the cached models (apps.common.load_model, the
st.cache_resource the pages use): errors, distinct model copies per task (must be 1), peak RSS, median latency.

Sessions are threads calling the same cached loader and predict path the pages call; the reference is the
single-session latency measured in the same process.

Run: .venv/bin/python bench/app.py
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from core.device import memory_report  # noqa: E402

SESSIONS, REQUESTS_PER_SESSION = 20, 5


def _inputs():
    from finance.risk import default_training_frame

    frame = default_training_frame()
    rows = frame.drop("Status").head(50)
    image = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    return {"finance.risk": lambda model: model.predict_frame(rows), "vision.detection": lambda model: model.predict([image])}


def main() -> dict:
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from apps.common import load_model

    work = _inputs()
    tasks = list(work)
    # reference: one session, models already cached
    for task in tasks:
        work[task](load_model(task, None))
    single = []
    for _ in range(5):
        for task in tasks:
            start = time.perf_counter()
            work[task](load_model(task, None))
            single.append(time.perf_counter() - start)
    seen: dict[str, set[int]] = {task: set() for task in tasks}
    lock = threading.Lock()
    errors: list[str] = []
    latencies: list[float] = []

    def session(index: int) -> None:
        for request in range(REQUESTS_PER_SESSION):
            task = tasks[(index + request) % len(tasks)]
            start = time.perf_counter()
            try:
                model = load_model(task, None)
                work[task](model)
            except Exception as error:  # counted, not raised
                with lock:
                    errors.append(f"{task}: {type(error).__name__}: {error}")
                continue
            with lock:
                seen[task].add(id(model))
                latencies.append(time.perf_counter() - start)

    wall = time.perf_counter()
    with ThreadPoolExecutor(SESSIONS) as pool:
        list(pool.map(session, range(SESSIONS)))
    wall = time.perf_counter() - wall
    memory = memory_report()
    result = {
        "benchmark": "app_concurrency", "sessions": SESSIONS, "requests": SESSIONS * REQUESTS_PER_SESSION,
        "errors": len(errors), "error_samples": errors[:5],
        "model_copies": {task: len(ids) for task, ids in seen.items()},
        "median_latency_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p95_latency_ms": 1000 * float(np.quantile(latencies, 0.95)) if latencies else None,
        "single_session_median_ms": 1000 * statistics.median(single),
        "throughput_rps": len(latencies) / wall,
        "peak_rss_mib": round(memory.get("peak_rss_mib", 0.0), 1),
    }
    result["ok"] = result["errors"] == 0 and all(v == 1 for v in result["model_copies"].values())
    out = Path(__file__).parent / "results" / "app.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
