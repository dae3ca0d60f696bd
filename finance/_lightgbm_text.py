"""The structural check of a saved LightGBM text model, made before LightGBM parses it: LightGBM trusts the text, and a
card's sha256 proves no origin, so a forged tree whose child links loop hung predict, and an index past an array (a
child, a split feature, a category slot) read outside memory and crashed the process."""

from __future__ import annotations

import math
import re
from pathlib import Path

from core.errors import UnsafeArtifactError

__all__ = ["check_model_text", "read_model_text"]

_INT_TEXT = re.compile(r"[-0-9 ]*")  # each token then parsed by int(), which refuses "1-2" or "-"
_NUMBER_TEXT = re.compile(r"[-+0-9.eE ]*")  # each token then parsed by float(), which refuses "1e" or "1.2.3"
_THRESHOLD_TEXT = re.compile(r"[-+0-9.eEinf ]*")  # LightGBM writes inf for a split of missing values from the rest
_INT32 = 2**31 - 1
MAX_DEPTH = 2000  # LightGBM's SHAP (pred_contrib) recurses per level and allocates depth^2 / 2 path entries
# every key LightGBM writes in a tree block (22: its parser reads at most 22 lines of one tree)
_INT_FIELDS = ("split_feature", "decision_type", "left_child", "right_child", "leaf_count", "internal_count",
               "cat_boundaries", "cat_threshold", "num_features", "leaf_features")
_FLOAT_FIELDS = ("split_gain", "threshold", "leaf_value", "leaf_weight", "internal_value", "internal_weight",
                 "leaf_const", "leaf_coeff")
_TREE_KEYS = frozenset(("num_leaves", "num_cat", "is_linear", "shrinkage") + _INT_FIELDS + _FLOAT_FIELDS)
_NODE_FIELDS = ("split_feature", "split_gain", "threshold", "decision_type", "left_child", "right_child",
                "internal_value", "internal_weight", "internal_count")  # one value per internal node
_LEAF_FIELDS = ("leaf_value", "leaf_weight", "leaf_count")  # one value per leaf
_REQUIRED_NODE_FIELDS = ("split_feature", "threshold", "decision_type", "left_child", "right_child")


class _Refused(Exception):
    pass


def read_model_text(path: str | Path, check: bool = True) -> str:
    """The text of a saved LightGBM model file (pass it to `Booster(model_str=...)`), checked by `check_model_text`
    unless `check` is off for a caller that checks it itself."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise _refusal(path, f"it is not UTF-8 text (byte {error.start})") from error
    if check:
        check_model_text(text, path)
    return text


def check_model_text(text: str, source: str | Path) -> None:
    """Refuse (`UnsafeArtifactError` naming `source`) a LightGBM model text that LightGBM could mis-parse.

    Checked: the header's class, tree and feature counts; in each tree every array's length against num_leaves,
    numbers finite (but a threshold, which LightGBM writes as inf to split missing values off), child links forming one tree (no loop, no node reached twice or never), split features and
    category slots in range; tree_sizes against the trees. Linear in the text's length.

    >>> header = "tree\\nnum_class=1\\nnum_tree_per_iteration=1\\n"
    >>> check_model_text(header + "max_feature_idx=0\\n\\nend of trees\\n", "m.txt")
    >>> check_model_text(header + "\\nend of trees\\n", "m.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    core.errors.UnsafeArtifactError: m.txt is not a LightGBM model ...: the header's max_feature_idx is missing...
    """
    try:
        _check(text)
    except _Refused as refused:
        raise _refusal(source, str(refused)) from None


def _refusal(source: str | Path, what: str) -> UnsafeArtifactError:
    return UnsafeArtifactError(f"{source} is not a LightGBM model that can be loaded safely: {what}. The file was "
                               "edited or is damaged; re-save the model from its training run")


def _header_int(header: dict[str, str], key: str, low: int) -> int:
    if key not in header:
        raise _Refused(f"the header's {key} is missing")
    value = header[key].strip()
    if not re.fullmatch(r"\d{1,10}", value) or not low <= int(value) <= _INT32:
        raise _Refused(f"the header's {key}={value[:40]!r} is not a whole number from {low} to {_INT32}")
    return int(value)


def _check(text: str) -> None:
    if "\0" in text:
        raise _Refused("it holds a NUL character")
    lines = text.split("\n")
    starts = [0] * len(lines)  # character offset of each line
    offset = 0
    for number, line in enumerate(lines):
        starts[number] = offset
        offset += len(line) + 1
    first = next((i for i, line in enumerate(lines) if line.startswith("Tree=") or line == "end of trees"), None)
    if first is None:
        raise _Refused("it has no 'end of trees' line")
    if "\r" in text[: starts[first]]:
        raise _Refused("its header holds a carriage return")
    header: dict[str, str] = {}
    for line in lines[:first]:
        if "=" in line:
            key, _, value = line.partition("=")
            if key in header:
                raise _Refused(f"the header repeats {key}")
            header[key] = value
    num_class = _header_int(header, "num_class", 1)
    per_iteration = _header_int(header, "num_tree_per_iteration", 1)
    if per_iteration != num_class:
        raise _Refused(f"num_tree_per_iteration={per_iteration} differs from num_class={num_class}")
    max_feature = _header_int(header, "max_feature_idx", 0)
    if "feature_names" in header and len(header["feature_names"].split()) != max_feature + 1:
        names = len(header["feature_names"].split())
        raise _Refused(f"feature_names holds {names} names for max_feature_idx={max_feature}")
    sizes = None
    if "tree_sizes" in header:
        sizes = _ints(header, "tree_sizes")

    tree_starts: list[int] = []
    number = first
    while True:
        if number >= len(lines):
            raise _Refused("it has no 'end of trees' line after its trees")
        line = lines[number]
        if line == "end of trees":
            break
        if line == "":
            number += 1
            continue
        index = len(tree_starts)
        if line != f"Tree={index}":
            raise _Refused(f"line {number + 1} ({line[:40]!r}) is neither 'Tree={index}' nor 'end of trees'")
        tree_starts.append(starts[number])
        block: dict[str, str] = {}
        number += 1
        while number < len(lines) and lines[number] != "":
            key, equals, value = lines[number].partition("=")
            if not equals or key not in _TREE_KEYS:
                raise _Refused(f"tree {index}: line {number + 1} ({lines[number][:40]!r}) is not one of LightGBM's "
                               "tree fields")
            if key in block:
                raise _Refused(f"tree {index} repeats {key}")
            block[key] = value
            number += 1
        try:
            _check_tree(block, max_feature)
        except _Refused as refused:
            raise _Refused(f"tree {index}: {refused}") from None
    end = starts[number]
    trees = len(tree_starts)
    if "\r" in text[starts[first]: end]:
        raise _Refused("its trees hold a carriage return")
    if trees % per_iteration:
        raise _Refused(f"its {trees} trees are not a whole number of iterations of {per_iteration} trees")
    if sizes is not None:
        if len(sizes) != trees:
            raise _Refused(f"tree_sizes declares {len(sizes)} trees but {trees} follow")
        if not text[starts[first]: end].isascii():
            raise _Refused("its trees hold non-ASCII text")
        bounds = tree_starts[1:] + [end]
        for index, (size, start, stop) in enumerate(zip(sizes, tree_starts, bounds)):
            if size != stop - start:
                raise _Refused(f"tree_sizes gives tree {index} {size} bytes but it holds {stop - start}")


def _ints(block: dict[str, str], key: str) -> list[int]:
    value = block.get(key, "")
    try:
        if not _INT_TEXT.fullmatch(value):
            raise ValueError
        return list(map(int, value.split()))
    except ValueError:
        raise _Refused(f"{key} holds something other than whole numbers") from None


def _floats(block: dict[str, str], key: str) -> list[float]:
    value = block.get(key, "")
    try:
        if not (_THRESHOLD_TEXT if key == "threshold" else _NUMBER_TEXT).fullmatch(value):
            raise ValueError
        numbers = list(map(float, value.split()))  # the character sets leave out nan
    except ValueError:
        raise _Refused(f"{key} holds something other than numbers") from None
    if key != "threshold" and numbers and not (-math.inf < min(numbers) and max(numbers) < math.inf):
        raise _Refused(f"{key} holds a number too large to be finite")
    return numbers


def _count(block: dict[str, str], key: str, expected: int, arrays: dict[str, list]) -> None:
    if len(arrays[key]) != expected:
        raise _Refused(f"{key} holds {len(arrays[key])} values where num_leaves={block['num_leaves']} needs {expected}")


def _check_tree(block: dict[str, str], max_feature: int) -> None:
    for key in ("num_leaves", "num_cat", "leaf_value"):
        if key not in block:
            raise _Refused(f"{key} is missing")
    if not re.fullmatch(r"\d{1,10}", block["num_leaves"]) or not 1 <= int(block["num_leaves"]) <= _INT32:
        raise _Refused(f"num_leaves={block['num_leaves'][:40]!r} is not a whole number from 1 up")
    leaves = int(block["num_leaves"])
    if not re.fullmatch(r"\d{1,10}", block["num_cat"]) or int(block["num_cat"]) > max(leaves - 1, 0):
        raise _Refused(f"num_cat={block['num_cat'][:40]!r} is not a whole number from 0 to num_leaves - 1")
    categories = int(block["num_cat"])
    if block.get("is_linear", "0") not in ("0", "1"):
        raise _Refused(f"is_linear={block['is_linear'][:40]!r} is neither 0 nor 1")
    linear = block.get("is_linear") == "1"
    if "shrinkage" in block:
        _floats(block, "shrinkage")
    arrays: dict[str, list] = {}
    for key in _INT_FIELDS:
        arrays[key] = _ints(block, key) if key in block else []
    for key in _FLOAT_FIELDS:
        arrays[key] = _floats(block, key) if key in block else []
    _count(block, "leaf_value", leaves, arrays)
    if leaves == 1 and not linear:
        return  # LightGBM reads nothing else of a one-leaf tree
    for key in _REQUIRED_NODE_FIELDS + (("leaf_const", "num_features") if linear else ()):
        if key not in block:
            raise _Refused(f"{key} is missing")
    for key in _NODE_FIELDS:
        if key in block:
            _count(block, key, leaves - 1, arrays)
    for key in _LEAF_FIELDS + (("leaf_const", "num_features") if linear else ()):
        if key in block:
            _count(block, key, leaves, arrays)
    if any(not 0 <= f <= max_feature for f in arrays["split_feature"]):
        raise _Refused(f"split_feature names a feature outside 0..{max_feature} (max_feature_idx)")
    if any(not 0 <= d <= 11 for d in arrays["decision_type"]):
        raise _Refused("decision_type holds a value outside 0..11")
    if categories:
        for key in ("cat_boundaries", "cat_threshold"):
            if key not in block:
                raise _Refused(f"{key} is missing for num_cat={categories}")
        bounds, words = arrays["cat_boundaries"], arrays["cat_threshold"]
        if len(bounds) != categories + 1 or bounds[0] != 0 or any(b > a for b, a in zip(bounds, bounds[1:])) \
                or bounds[-1] != len(words):
            raise _Refused(f"cat_boundaries {block['cat_boundaries'][:60]!r} are not num_cat + 1 rising offsets from 0 "
                           f"to the {len(words)} values of cat_threshold")
        if any(not 0 <= w < 2**32 for w in words):
            raise _Refused("cat_threshold holds a value outside 32 bits")
    for decision, threshold in zip(arrays["decision_type"], arrays["threshold"]):
        if decision & 1 and not (0 <= threshold < categories and threshold == int(threshold)):
            raise _Refused(f"a categorical split's threshold {threshold!r} is no category slot below "
                           f"num_cat={categories}")
    if linear:
        counts = arrays["num_features"]
        if any(c < 0 for c in counts):
            raise _Refused("num_features holds a negative count")
        total = sum(counts)
        for key in ("leaf_features", "leaf_coeff"):
            if total and len(arrays[key]) != total:
                raise _Refused(f"{key} holds {len(arrays[key])} values where num_features adds to {total}")
        if total and any(not 0 <= f <= max_feature for f in arrays["leaf_features"]):
            raise _Refused(f"leaf_features names a feature outside 0..{max_feature} (max_feature_idx)")
    _check_links(arrays["left_child"], arrays["right_child"], leaves)


def _check_links(left: list[int], right: list[int], leaves: int) -> None:
    """Internal node 0 is the root; a child >= 0 is an internal node, a child < 0 is leaf ~child: every internal node
    but the root and every leaf must be the child of exactly one node, and all reached from the root (a loop would
    hang LightGBM's walk), within `MAX_DEPTH` levels."""
    internal = leaves - 1
    if not internal:
        return
    children = left + right
    if max(children) >= internal or min(children) < -leaves:  # named first: the index LightGBM would read past
        wild = next(c for c in children if not -leaves <= c < internal)
        raise _Refused(f"node {children.index(wild) % internal} links to " + (
            f"node {wild}, past the {internal} internal nodes" if wild >= 0 else f"leaf {~wild}, past the {leaves} leaves"))
    nodes = sorted(c for c in children if c >= 0)
    if nodes != list(range(1, internal)):
        raise _Refused(f"its child links do not reach each of the internal nodes 1..{internal - 1} exactly once "
                       f"({_first_wrong(nodes, range(1, internal), 'node')})")
    tips = sorted(~c for c in children if c < 0)
    if tips != list(range(leaves)):
        raise _Refused(f"its child links do not reach each of the leaves 0..{leaves - 1} exactly once "
                       f"({_first_wrong(tips, range(leaves), 'leaf')})")
    # every node but the root now has one parent: the walk from the root is finite, and misses exactly the loops
    order = [0]
    depth = [1] * internal
    for node in order:
        for child in (left[node], right[node]):
            if child >= 0:
                order.append(child)
                depth[child] = depth[node] + 1
    if len(order) != internal:
        raise _Refused(f"its child links reach {len(order)} of {internal} internal nodes from the root (the others "
                       "link to each other in a loop)")
    if internal > MAX_DEPTH and max(depth) > MAX_DEPTH:
        raise _Refused(f"it is deeper than {MAX_DEPTH} levels")


def _first_wrong(linked: list[int], expected: range, kind: str) -> str:
    """What is wrong with the sorted `linked` targets that should be `expected` once each: the first target out of
    range, linked twice, or never linked."""
    seen = set()
    for target in linked:
        if target not in expected:
            return "node 0, the root, is linked as a child" if kind == "node" and target == 0 else \
                f"{kind} {target} is out of range"
        if target in seen:
            return f"{kind} {target} is linked twice"
        seen.add(target)
    return f"{kind} {min(set(expected) - seen)} is never linked"
