"""Property-based tests (hypothesis, bounded) on the readers and the numeric cores."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.data import read_table, resolve_inside
from core.data.text import read_lines
from core.errors import InputError

BOUNDED = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="props-"))


# -- core readers --------------------------------------------------------------------------------------------
@BOUNDED
@given(ints=st.lists(st.integers(-10**12, 10**12), min_size=1, max_size=20),
       floats=st.lists(st.floats(-1e12, 1e12, allow_nan=False).filter(lambda v: v == v), min_size=1, max_size=20),
       words=st.lists(st.from_regex(r"[a-z][a-z0-9 ]{0,10}[a-z]", fullmatch=True), min_size=1, max_size=20))
def test_read_table_round_trips_generated_csv(ints, floats, words):
    n = min(len(ints), len(floats), len(words))
    ints, floats, words = ints[:n], floats[:n], words[:n]
    path = _scratch() / "t.csv"
    path.write_text("i,f,w\n" + "".join(f"{a},{b!r},{c}\n" for a, b, c in zip(ints, floats, words)), encoding="utf-8")
    frame = read_table(path)
    assert frame.columns == ["i", "f", "w"]
    assert frame["i"].to_list() == ints
    assert np.allclose(frame["f"].cast(float).to_numpy(), floats, rtol=1e-12, atol=0)
    assert frame["w"].to_list() == words


@BOUNDED
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".json", ".data", ".parquet", ".txt"]))
def test_read_table_on_arbitrary_bytes_returns_a_frame_or_input_error(data, suffix):
    path = _scratch() / f"t{suffix}"
    path.write_bytes(data)
    try:
        frame = read_table(path)
    except InputError as error:
        assert str(error)
    else:
        assert frame.height >= 1 and len(set(frame.columns)) == len(frame.columns)


@BOUNDED
@given(relative=st.one_of(
    st.text(min_size=0, max_size=40),
    st.lists(st.sampled_from(["..", ".", "a", "b", "", "~", "/", "..."]), max_size=8).map("/".join)))
def test_resolve_inside_never_leaves_base(relative):
    base = _scratch()
    (base / "a").mkdir()
    try:
        resolved = resolve_inside(base, relative)
    except (InputError, ValueError) as error:  # ValueError: embedded NUL
        assert isinstance(error, InputError) or "\x00" in relative
        return
    real = base.resolve()
    assert resolved == real or real in resolved.parents


def test_resolve_inside_refuses_a_symlink_that_escapes(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "link").symlink_to(tmp_path)
    with pytest.raises(InputError):
        resolve_inside(tmp_path / "base", "link/secret.txt")


@BOUNDED
@given(lines=st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x00"),
                              max_size=30), min_size=1, max_size=15),
       crlf=st.booleans(), trailing=st.booleans())
def test_read_lines_round_trips(lines, crlf, trailing):
    assume(trailing or lines[-1] != "")  # a final "" without newline is indistinguishable from a trailing newline
    path = _scratch() / "a.txt"
    newline = "\r\n" if crlf else "\n"
    path.write_bytes((newline.join(lines) + (newline if trailing else "")).encode("utf-8"))
    if path.stat().st_size == 0:
        with pytest.raises(InputError):
            read_lines(path)
        return
    assert read_lines(path) == lines


@BOUNDED
@given(data=st.binary(min_size=1, max_size=200))
def test_read_lines_on_arbitrary_bytes_returns_lines_or_input_error(data):
    path = _scratch() / "a.txt"
    path.write_bytes(data)
    try:
        lines = read_lines(path)
    except InputError:
        return
    assert all(isinstance(line, str) and "\n" not in line for line in lines)


# -- risk scorecard maths ----------------------------------------------------------------------------------
pds = st.floats(1e-6, 1 - 1e-6, allow_nan=False)
scorecards = st.tuples(st.floats(5, 100), st.floats(300, 900), st.floats(1, 200))


@BOUNDED
@given(pd=st.lists(pds, min_size=1, max_size=30), card=scorecards)
def test_score_and_pd_are_inverse(pd, card):
    from finance.risk import pd_from_score, score_from_pd

    pdo, base_score, base_odds = card
    pd = np.asarray(pd)
    score = score_from_pd(pd, pdo, base_score, base_odds)
    assert np.all(np.isfinite(score))
    assert np.allclose(pd_from_score(score, pdo, base_score, base_odds), pd, rtol=1e-7, atol=1e-12)
    assert np.allclose(score_from_pd(pd_from_score(score, pdo, base_score, base_odds), pdo, base_score, base_odds),
                       score, rtol=0, atol=1e-6)


@BOUNDED
@given(a=pds, b=pds, card=scorecards)
def test_score_decreases_as_pd_rises(a, b, card):
    from finance.risk import pd_from_score, score_from_pd

    assume(abs(a - b) > 1e-9)
    low, high = sorted([a, b])
    s_low, s_high = score_from_pd(np.array([low, high]), *card)
    assert s_low > s_high
    p_of_low_score, p_of_high_score = pd_from_score(np.array([s_high, s_low]), *card)
    assert p_of_low_score >= p_of_high_score


@BOUNDED
@given(pd=pds, card=scorecards)
def test_doubling_the_odds_adds_pdo_points(pd, card):
    from finance.risk import score_from_pd

    pdo = card[0]
    odds = (1 - pd) / pd
    doubled = 1 / (1 + 2 * odds)
    assume(1e-9 < doubled < 1 - 1e-9)
    s, s2 = score_from_pd(np.array([pd, doubled]), *card)
    assert s2 - s == pytest.approx(pdo, abs=1e-6)


# -- forecast windowing ------------------------------------------------------------------------------------
series = st.lists(st.floats(-100, 100, allow_nan=False), min_size=8, max_size=60).map(np.asarray)


@BOUNDED
@given(z=series, horizon=st.integers(1, 5), season=st.integers(1, 7),
       name=st.sampled_from(["naive", "seasonal_naive", "drift"]), data=st.data())
def test_local_forecasts_use_no_data_after_their_origin(z, horizon, season, name, data):
    from finance._forecast_models import local_forecast

    origins = sorted(set(data.draw(st.lists(st.integers(0, len(z) - 1), min_size=1, max_size=6))))
    base = local_forecast(name, z, origins, horizon, season_length=season)
    for row, origin in enumerate(origins):
        future = z.copy()
        future[origin + 1:] = data.draw(st.floats(-1e3, 1e3)) + np.arange(len(z) - origin - 1)
        changed = local_forecast(name, future, [origin], horizon, season_length=season)
        assert np.array_equal(base[row], changed[0]), f"{name} at origin {origin} saw data after it"


@BOUNDED
@given(z=st.lists(st.floats(-5, 5, allow_nan=False), min_size=25, max_size=80).map(np.asarray), lags=st.integers(1, 5),
       data=st.data())
def test_features_at_t_use_only_data_up_to_t(z, lags, data):
    from finance._forecast_models import build_features

    t = data.draw(st.integers(0, len(z) - 2))
    base = build_features(z, None, lags).to_numpy()[t]
    future = z.copy()
    future[t + 1:] = data.draw(st.floats(-50, 50)) * np.arange(1, len(z) - t)
    changed = build_features(future, None, lags).to_numpy()[t]
    assert np.array_equal(base, changed, equal_nan=True)


@BOUNDED
@given(length=st.integers(10, 400), size=st.integers(1, 200), horizon=st.integers(1, 14))
def test_backtest_origins_stay_inside_the_window(length, size, horizon):
    from finance.forecast import ForecastConfig, Forecaster

    method = Forecaster(ForecastConfig(horizon=horizon))
    origins = method._origins(length, size)
    if len(origins):
        assert origins.min() >= method._min_history() - 1
        assert origins.min() >= length - size - 1  # every target lies in the last `size` points
        assert origins.max() + horizon <= length - 1  # every target exists
        assert np.all(np.diff(origins) == 1)


# -- box format conversions ---------------------------------------------------------------------------------
@st.composite
def detection_samples(draw):
    width, height = draw(st.integers(8, 96)), draw(st.integers(8, 96))
    boxes = []
    for _ in range(draw(st.integers(0, 4))):
        x1 = draw(st.floats(0, width - 2))
        y1 = draw(st.floats(0, height - 2))
        x2 = draw(st.floats(x1 + 1.5, width))
        y2 = draw(st.floats(y1 + 1.5, height))
        boxes.append([x1, y1, x2, y2])
    labels = [draw(st.sampled_from(["cat", "dog"])) for _ in boxes]
    return width, height, boxes, labels


@settings(max_examples=30, deadline=None)
@given(samples=st.lists(detection_samples(), min_size=1, max_size=3),
       path=st.lists(st.sampled_from(["coco", "yolo", "voc"]), min_size=1, max_size=3))
def test_box_conversions_keep_boxes_within_tolerance(samples, path):
    from PIL import Image

    from vision._detection_data import DetectionData, DetectionSample, convert_detection_data, read_detection_data

    # VOC holds no class list: a VOC set without any box loses its class names (reported; not tested here)
    assume(any(boxes for _, _, boxes, _ in samples) or "voc" not in path[:-1])
    root = _scratch()
    items = []
    for index, (width, height, boxes, labels) in enumerate(samples):
        image = root / f"{index}.png"
        Image.new("RGB", (width, height)).save(image)
        items.append(DetectionSample(image, width, height, np.asarray(boxes, dtype=np.float32).reshape(-1, 4), labels))
    data = DetectionData(items, ["cat", "dog"], "coco", root)
    current = data
    for step, target in enumerate(path):
        out = convert_detection_data(current, root / f"out{step}", to=target)
        current = read_detection_data(out, format=target)
    by_name = {Path(s.image).stem: s for s in current.samples}
    assert len(by_name) == len(items)
    for index, original in enumerate(items):
        got = by_name[str(index)]
        assert (got.width, got.height) == (original.width, original.height)
        assert got.labels == original.labels
        # VOC keeps one decimal, YOLO six normalised digits: half a pixel per hop is generous
        np.testing.assert_allclose(got.boxes, original.boxes, atol=0.06 * len(path) + 1e-3)
        if len(got.boxes):
            assert got.boxes[:, [0, 1]].min() >= 0
            assert np.all(got.boxes[:, 2] <= got.width) and np.all(got.boxes[:, 3] <= got.height)


# -- audio resampling ---------------------------------------------------------------------------------------
rates = st.sampled_from([8000, 11025, 16000, 22050, 44100, 48000])


@BOUNDED
@given(n=st.integers(1, 20000), from_hz=rates, to_hz=rates, seed=st.integers(0, 2**16))
def test_resample_length_is_proportional_and_output_finite(n, from_hz, to_hz, seed):
    from speech.audio import resample

    samples = np.random.default_rng(seed).uniform(-1, 1, n).astype(np.float32)
    out = resample(samples, from_hz, to_hz)
    assert out.ndim == 1 and out.dtype == np.float32
    assert abs(len(out) - n * to_hz / from_hz) <= 1
    assert np.all(np.isfinite(out))


@BOUNDED
@given(n=st.integers(1, 8000), channels=st.integers(1, 4), from_hz=rates, seed=st.integers(0, 2**16))
def test_load_audio_arrays_are_mono_finite_and_rescaled(n, channels, from_hz, seed):
    from speech.audio import SAMPLE_RATE_HZ, load_audio

    samples = np.random.default_rng(seed).uniform(-1, 1, (n, channels)).astype(np.float32)
    out = load_audio((samples, from_hz))
    assert out.ndim == 1 and np.all(np.isfinite(out))
    assert abs(len(out) - n * SAMPLE_RATE_HZ / from_hz) <= 1


@BOUNDED
@given(n=st.integers(1, 500), bad=st.sampled_from([np.nan, np.inf, -np.inf]), at=st.integers(0, 499))
def test_load_audio_refuses_nan_and_inf(n, bad, at):
    from speech.audio import load_audio

    samples = np.zeros(n, dtype=np.float32)
    samples[at % n] = bad
    with pytest.raises(InputError):
        load_audio((samples, 16000))
