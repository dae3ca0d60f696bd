"""The structural check of saved LightGBM text models (finance/_lightgbm_text.py): every model LightGBM writes passes,
and a forged one is refused before LightGBM parses it. No forged text is ever handed to LightGBM here: a loop in a
tree hangs its predict, an index past an array crashes the process."""

from __future__ import annotations

import json
import re
import shutil
import time

import numpy as np
import pandas as pd
import pytest

from core.artifacts import file_sha256, write_card
from core.errors import UnsafeArtifactError
from finance._lightgbm_text import MAX_DEPTH, check_model_text, read_model_text

lgb = pytest.importorskip("lightgbm")


def _train(params: dict, x, y, rounds: int, **dataset) -> str:
    return lgb.train({"verbose": -1, "num_threads": 1, "seed": 0, **params}, lgb.Dataset(x, y, **dataset),
                     num_boost_round=rounds).model_to_string()


def _applicants(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"income": rng.normal(size=n), "age": rng.integers(18, 80, n).astype(float),
                          "purpose": pd.Categorical(rng.choice(["car", "home", "study", "other", "tax", "boat"], n))})
    frame.loc[::9, "income"] = np.nan
    y = ((frame["income"].fillna(0) > 1) ^ frame["purpose"].isin(["car", "tax", "boat"])).to_numpy().astype(int)
    return frame, y


@pytest.fixture(scope="module")
def binary_categorical() -> str:
    """A binary model splitting on a pandas categorical feature (num_cat > 0) and on missing values."""
    frame, y = _applicants()
    return _train({"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 5, "min_data_per_group": 5,
                   "cat_smooth": 1}, frame, y, 4, categorical_feature=["purpose"])


def _shapes() -> dict[str, str]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 4))
    y = x[:, 0] * 2 + np.sin(3 * x[:, 1]) + rng.normal(scale=0.1, size=500)
    gappy = x.copy()
    gappy[rng.random(500) < 0.3, 0] = np.nan
    return {
        "regression": _train({"objective": "regression", "num_leaves": 15}, x, y, 10),
        "constant (one-leaf trees)": _train({"objective": "regression"}, x, np.ones(500), 3),
        "many trees": _train({"objective": "regression", "num_leaves": 4, "learning_rate": 0.01}, x, y, 400),
        "multiclass": _train({"objective": "multiclass", "num_class": 3, "num_leaves": 5}, x, rng.integers(0, 3, 500), 3),
        "linear trees": _train({"objective": "regression", "linear_tree": True, "num_leaves": 6}, x, y, 3),
        "a split of missing values from the rest (threshold inf)": _train(
            {"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 5}, gappy, np.isnan(gappy[:, 0]).astype(int), 3),
        "l1 with bagging": _train({"objective": "l1", "num_leaves": 8, "bagging_fraction": 0.8, "bagging_freq": 1,
                                   "feature_fraction": 0.8}, x, y, 5),
    }


def test_every_shape_lightgbm_writes_passes(binary_categorical, tmp_path):
    shapes = {"binary with a categorical": binary_categorical, **_shapes()}
    assert "num_cat=1" in binary_categorical and "num_leaves=1\n" in shapes["constant (one-leaf trees)"]
    assert re.search(r"num_features=[^\n]*[1-9]", shapes["linear trees"])
    assert re.search(r"^threshold=.*\binf\b", shapes["a split of missing values from the rest (threshold inf)"], re.M)
    for name, text in shapes.items():
        check_model_text(text, name)
        path = tmp_path / "model.txt"
        lgb.Booster(model_str=text).save_model(str(path))  # as save() writes it: tree_sizes, trailing sections
        assert read_model_text(path) == path.read_text()


def test_a_large_model_is_checked_in_well_under_a_second():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4000, 10))
    text = _train({"objective": "regression", "num_leaves": 31, "learning_rate": 0.01, "min_data_in_leaf": 5}, x,
                  x[:, 0] + np.sin(4 * x[:, 1]) + rng.normal(size=4000), 300)
    text = _replicated(text, 13_000_000)
    started = time.process_time()  # CPU time: the check's own cost, whatever else shares the machine
    check_model_text(text, "large")
    assert time.process_time() - started < 1.0


def _replicated(text: str, size: int) -> str:
    """`text`'s trees repeated (renumbered, tree_sizes rewritten) until the text holds about `size` characters."""
    head, trees, tail = _split(text)
    copies = trees * max(1, -(-size // sum(map(len, trees))))
    return _join(head, [re.sub(r"^Tree=\d+", f"Tree={i}", tree) for i, tree in enumerate(copies)], tail)


def _split(text: str) -> tuple[str, list[str], str]:
    start, end = text.index("\nTree=0\n") + 1, text.index("end of trees")
    return text[:start], re.split(r"(?=^Tree=)", text[start:end], flags=re.M)[1:], text[end:]


def _join(head: str, trees: list[str], tail: str) -> str:
    head = re.sub(r"^tree_sizes=.*$", "tree_sizes=" + " ".join(str(len(t)) for t in trees), head, flags=re.M)
    return head + "".join(trees) + tail


def _forged(text: str, tree: int = 0, sizes: bool = True, **fields: str) -> str:
    """`text` with `fields` of tree `tree` replaced (None drops a field), tree_sizes rewritten unless `sizes` is off:
    so each forgery is refused for what it changes, not for sizes a forger would have fixed."""
    head, trees, tail = _split(text)
    for key, value in fields.items():
        pattern = rf"^{key}=.*\n"
        assert re.search(pattern, trees[tree], flags=re.M), key
        trees[tree] = re.sub(pattern, "" if value is None else f"{key}={value}\n", trees[tree], count=1, flags=re.M)
    return _join(head, trees, tail) if sizes else head + "".join(trees) + tail


def _field(text: str, key: str, tree: int = 0) -> list[str]:
    return re.search(rf"^{key}=(.*)$", _split(text)[1][tree], flags=re.M).group(1).split()


def _replace(values: list[str], index: int, value) -> str:
    return " ".join(str(value) if i == index else v for i, v in enumerate(values))


def _chain(leaves: int) -> dict[str, str]:
    """A tree of `leaves` leaves in one chain (node i -> node i + 1 on the left, leaf i on the right)."""
    internal = leaves - 1
    ints = lambda values: " ".join(map(str, values))  # noqa: E731
    return {"num_leaves": str(leaves), "split_feature": ints([0] * internal), "split_gain": ints([1] * internal),
            "threshold": ints([0.5] * internal), "decision_type": ints([2] * internal),
            "left_child": ints(list(range(1, internal)) + [~internal]), "right_child": ints([~i for i in range(internal)]),
            "leaf_value": ints([0.1] * leaves), "leaf_weight": ints([1] * leaves), "leaf_count": ints([1] * leaves),
            "internal_value": ints([0] * internal), "internal_weight": ints([1] * internal),
            "internal_count": ints([1] * internal)}


def _forgeries(text: str) -> dict[str, tuple[str, str]]:
    """name: (forged text, what the refusal must say). `text` is binary_categorical: tree 0 has n > 3 leaves and a
    categorical split (num_cat 1)."""
    n = int(_field(text, "num_leaves")[0])
    assert n > 3 and _field(text, "num_cat") == ["1"]
    left, right = _field(text, "left_child"), _field(text, "right_child")
    decisions = _field(text, "decision_type")
    categorical = next(i for i, d in enumerate(decisions) if int(d) & 1)
    to_leaf = next(i for i, c in enumerate(right) if int(c) < 0)  # a link to a leaf, pointed at another linked leaf
    other_leaf = next(c for c in left if int(c) < 0)
    loop = _forged(text, **{k: v for k, v in _chain(4).items() if k != "num_leaves"}, num_leaves="4", num_cat="0",
                   cat_boundaries=None, cat_threshold=None)
    loop = _forged(loop, left_child="-1 2 1", right_child="-2 -3 -4")  # root -> 2 leaves; nodes 1 and 2 loop
    header = text[: text.index("\nTree=0\n")]
    features = int(re.search(r"max_feature_idx=(\d+)", header).group(1)) + 1
    head, trees, tail = _split(text)
    return {
        "a child linking to its own node (a loop)": (_forged(text, left_child=_replace(left, 1, 1)), "node 1 is linked twice"),
        "a child linking back to the root": (_forged(text, right_child=_replace(right, 2, 0)), "node 0, the root"),
        "two nodes linking to each other, unreached": (loop, "reach 1 of 3 internal nodes"),
        "a child past the internal nodes": (_forged(text, left_child=_replace(left, 0, 50)), f"node 0 links to node 50, past the {n - 1} internal nodes"),
        "a leaf past the leaves": (_forged(text, right_child=_replace(right, 0, -100)), f"node 0 links to leaf 99, past the {n} leaves"),
        "a leaf linked twice": (_forged(text, right_child=_replace(right, to_leaf, other_leaf)), "is linked twice"),
        "leaf_value one short": (_forged(text, leaf_value=" ".join(_field(text, "leaf_value")[:-1])),
                                 f"leaf_value holds {n - 1} values where num_leaves={n} needs {n}"),
        "threshold one long": (_forged(text, threshold=" ".join(_field(text, "threshold") + ["1"])),
                               f"threshold holds {n} values where num_leaves={n} needs {n - 1}"),
        "a split on a feature past the input": (_forged(text, split_feature=_replace(_field(text, "split_feature"), 0,
                                                                                       features)),
                                                f"split_feature names a feature outside 0..{features - 1}"),
        "a negative split feature": (_forged(text, split_feature=_replace(_field(text, "split_feature"), 0, -1)),
                                     "split_feature names a feature outside"),
        "an infinite leaf value": (_forged(text, leaf_value=_replace(_field(text, "leaf_value"), 0, "1e999")),
                                   "leaf_value holds a number too large to be finite"),
        "a nan threshold": (_forged(text, threshold=_replace(_field(text, "threshold"), 0, "nan")),
                            "threshold holds something other than numbers"),
        "an infinite categorical threshold": (
            _forged(text, threshold=_replace(_field(text, "threshold"), categorical, "inf")), "no category slot"),
        "a nan leaf value": (_forged(text, leaf_value=_replace(_field(text, "leaf_value"), 0, "nan")),
                             "leaf_value holds something other than numbers"),
        "a malformed number": (_forged(text, leaf_value=_replace(_field(text, "leaf_value"), 0, "1.2.3")),
                               "leaf_value holds something other than numbers"),
        "num_leaves missing": (_forged(text, num_leaves=None), "num_leaves is missing"),
        "num_leaves not a number": (_forged(text, num_leaves="seven"), "num_leaves='seven'"),
        "num_leaves zero": (_forged(text, num_leaves="0"), "num_leaves='0'"),
        "num_cat missing": (_forged(text, num_cat=None), "num_cat is missing"),
        "num_cat above the splits": (_forged(text, num_cat="9"), "num_cat='9'"),
        "cat_boundaries past cat_threshold": (_forged(text, cat_boundaries="0 5"), "cat_boundaries"),
        "cat_boundaries missing": (_forged(text, cat_boundaries=None), "cat_boundaries is missing"),
        "a categorical threshold past num_cat": (_forged(text, threshold=_replace(_field(text, "threshold"), categorical, 3)),
                                                 "no category slot below num_cat=1"),
        "a decision type past 11": (_forged(text, decision_type=_replace(decisions, 0, 14)), "decision_type"),
        "a chain deeper than LightGBM's SHAP can hold": (
            _forged(text, **_chain(MAX_DEPTH + 2), num_cat="0", cat_boundaries=None, cat_threshold=None),
            f"deeper than {MAX_DEPTH} levels"),
        "an unknown tree field": (_forged(text, shrinkage="1\nnum_leaves_extra=3"), "'num_leaves_extra=3'"),
        "tree_sizes not matching": (_forged(text, sizes=False, leaf_value=_replace(_field(text, "leaf_value"), 0, "0.5")),
                                    "tree_sizes gives tree 0"),
        "more trees than tree_sizes declares": (head + "".join(trees) + trees[-1].replace(
            f"Tree={len(trees) - 1}", f"Tree={len(trees)}", 1) + tail, f"declares {len(trees)} trees but"),
        "trees out of order": (_forged(text.replace("Tree=1\n", "Tree=7\n", 1)), "'Tree=7'"),
        "no end of trees": (text[: text.index("end of trees")], "'end of trees'"),
        "num_tree_per_iteration 0": (text.replace("num_tree_per_iteration=1", "num_tree_per_iteration=0", 1),
                                     "num_tree_per_iteration"),
        "max_feature_idx missing": (re.sub(r"max_feature_idx=\d+\n", "", text, count=1), "max_feature_idx is missing"),
        "a NUL character": (text.replace("leaf_value=", "leaf_value=\0", 1), "NUL"),
    }


def test_each_forgery_is_refused_naming_the_file_and_the_fault(binary_categorical):
    forgeries = _forgeries(binary_categorical)
    for name, (text, what) in forgeries.items():
        assert text != binary_categorical, name
        with pytest.raises(UnsafeArtifactError) as refused:
            check_model_text(text, "folder/model.txt")
        message = str(refused.value)
        assert message.startswith("folder/model.txt is not a LightGBM model"), (name, message)
        assert what in message, (name, message)


def _never_lightgbm(monkeypatch):
    """LightGBM's Booster replaced by a trap: the check must refuse before any forged text reaches it."""
    def trap(*args, **kwargs):
        raise AssertionError("a forged model text reached lightgbm.Booster")

    monkeypatch.setattr(lgb, "Booster", trap)


def _resealed(folder, name: str) -> None:
    card = json.loads((folder / "card.json").read_text())
    card["files"][name] = file_sha256(folder / name)
    write_card(folder, card)


def test_a_forged_risk_model_txt_is_refused_before_lightgbm_reads_it(tmp_path, monkeypatch):
    from finance.risk import RiskScorer
    from tests.finance.contract_cases import synthetic_applicants

    data = synthetic_applicants(300, seed=1)
    model = RiskScorer().fit(data, config=RiskScorer.Config(family="gbm", cv_folds=0, max_rounds=5,
                                                            early_stopping_rounds=2))
    saved = model.save(tmp_path / "saved")
    test = data.drop("default").head(20)
    assert RiskScorer.load(saved).predict(test) == model.predict(test)
    text = (saved / "model.txt").read_text()
    tree = next(i for i, t in enumerate(_split(text)[1]) if int(re.search(r"num_leaves=(\d+)", t).group(1)) > 2)
    left = _field(text, "left_child", tree)
    forged = shutil.copytree(saved, tmp_path / "forged")
    (forged / "model.txt").write_text(_forged(text, tree, left_child=_replace(left, 1, 1)))
    _resealed(forged, "model.txt")  # the card's sha256 proves nothing: a forger recomputes it
    _never_lightgbm(monkeypatch)
    with pytest.raises(UnsafeArtifactError, match=rf"forged[/\\]model.txt is not a LightGBM model.*tree {tree}: .*node 1"):
        RiskScorer.load(forged)


def test_a_forged_forecast_lightgbm_file_is_refused_before_lightgbm_reads_it(tmp_path, monkeypatch):
    from finance.forecast import Forecaster
    from tests.finance.contract_cases_forecast import as_input, random_walk, tiny_config

    model = Forecaster(tiny_config()).fit(random_walk(120, seed=1))
    saved = model.save(tmp_path / "saved")
    series = as_input(random_walk(60, seed=2))
    assert Forecaster.load(saved).predict([series]) == model.predict([series])
    name = json.loads((saved / "card.json").read_text())["lightgbm_files"][0]
    text = (saved / name).read_text()
    tree = next(i for i, t in enumerate(_split(text)[1]) if int(re.search(r"num_leaves=(\d+)", t).group(1)) > 2)
    forged = shutil.copytree(saved, tmp_path / "forged")
    (forged / name).write_text(_forged(text, tree, right_child=_replace(_field(text, "right_child", tree), 0, 0)))
    _resealed(forged, name)
    _never_lightgbm(monkeypatch)
    with pytest.raises(UnsafeArtifactError, match=rf"forged[/\\]{name} is not a LightGBM model.*tree {tree}: .*root"):
        Forecaster.load(forged)
