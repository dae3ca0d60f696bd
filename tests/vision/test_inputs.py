"""What vision's predict takes as one image or many, and the batch sizes it accepts (classification and detection
share vision._images.image_list / check_batch_size)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from tests.vision._fixtures import image_folder, png_bytes

IMAGE = (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def classifier():
    from vision.classification import ImageClassifier

    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    model.data_config = {**model.data_config, "input_size": (3, 32, 32), "crop_pct": 1.0}
    return model


@pytest.fixture(scope="module")
def detector():
    from vision.detection import Detector

    return Detector.load("haar")


@pytest.fixture(params=["classifier", "detector"])
def model(request):
    return request.getfixturevalue(request.param)


def test_one_array_or_pil_image_is_one_record(model):
    """An (H, W, 3) array was iterated row by row: 40 records for one image, silently."""
    alone = model.predict(IMAGE)
    assert len(alone) == 1 and alone == model.predict([IMAGE])
    assert model.predict(Image.fromarray(IMAGE)) == alone
    assert len(model.predict(IMAGE[..., 0])) == 1  # (H, W) grey
    assert len(model.predict(IMAGE[..., :1])) == 1  # (H, W, 1)


def test_lists_tuples_and_a_4d_array_are_many(model):
    assert len(model.predict((IMAGE, png_bytes()))) == 2
    stack = np.stack([IMAGE, IMAGE[::-1], IMAGE[:, ::-1]])  # (N, H, W, C)
    records = model.predict(stack)
    assert len(records) == 3 and records[0] == model.predict(IMAGE)[0]


def test_every_record_carries_its_images_id(model, tmp_path):
    """DESIGN.md's predict contract: one record per input, its id first; an (N, H, W, C) array is N images, so the
    ids count images (1 to N), not the array's rows (records had no id at all)."""
    stack = np.stack([IMAGE, IMAGE[::-1], IMAGE[:, ::-1]])
    assert [list(r)[0] for r in model.predict(stack)] == ["index"] * 3
    assert [r["index"] for r in model.predict(stack)] == [1, 2, 3]
    assert model.predict(IMAGE)[0]["index"] == 1
    path = tmp_path / "one.png"
    Image.fromarray(IMAGE).save(path)
    by_path = model.predict([str(path), png_bytes(), path])
    assert [(list(r)[0], r[list(r)[0]]) for r in by_path] == [("path", str(path)), ("index", 2), ("path", str(path))]


def test_the_cli_records_are_those_of_before(model, tmp_path):
    """predict_records (the CLI, jobs, dask) keeps the caller's ids: a file's path once, no batch index beside it."""
    from core.protocols import identify_inputs, predict_records

    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(np.roll(IMAGE, i, axis=0)).save(paths[-1])
    records = list(predict_records(model, identify_inputs(paths), chunk=2))
    assert [r["path"] for r in records] == [str(p) for p in paths] and not any("index" in r for r in records)
    own = model.predict(paths)
    assert [list(r) for r in records] == [list(r) for r in own] and records == own


@pytest.mark.parametrize("bad", [None, 3, {"path": "a.png"}, np.zeros(5), np.zeros((1, 2, 3, 4, 5), np.uint8)],
                         ids=["none", "int", "dict", "1d", "5d"])
def test_none_and_unsupported_inputs_are_input_errors(model, bad):
    with pytest.raises(InputError, match=r"PIL image|\(H, W, C\)"):
        model.predict(bad)


def test_a_table_or_a_stack_of_grey_images_gets_a_hint(model):
    import polars as pl

    with pytest.raises(InputError, match="predict_frame"):
        model.predict(pl.DataFrame({"path": ["a.png"]}))
    with pytest.raises(InputError, match=r"\(N, H, W, 1\)"):
        model.predict(np.zeros((5, 28, 28), np.uint8))  # five grey images, or one with 28 channels: refused
    # among others it is an error record in its place, the hint in it (one record per input, as for a corrupt photo)
    records = model.predict([IMAGE, np.zeros((5, 28, 28), np.uint8)])
    assert "error" not in records[0] and records[1]["index"] == 2 and "(N, H, W, 1)" in records[1]["error"]


def test_no_images_give_no_records(model):
    """predict([]) raised an InputError where nlp, speech and medical return [] (no inputs, no records)."""
    assert model.predict([]) == [] and model.predict(()) == [] and model.predict(np.zeros((0, 8, 8, 3), np.uint8)) == []
    with pytest.raises(InputError, match="batch_size must be a whole number >= 1"):
        model.predict([], batch_size=0)


def test_a_binary_file_object_is_named_by_its_file(model, tmp_path):
    """A file object got its `index` as id where speech gives its name as `path`; it is read once and put back."""
    import io

    path = tmp_path / "one.png"
    Image.fromarray(IMAGE).save(path)
    with open(path, "rb") as handle:
        handle.read(3)
        handle.seek(0)
        record = model.predict(handle)[0]
        assert handle.tell() == 0
        assert model.predict([png_bytes(), handle])[1]["path"] == str(path)
    assert list(record)[0] == "path" and record["path"] == str(path)
    assert {k: v for k, v in record.items() if k != "path"} == \
        {k: v for k, v in model.predict(path)[0].items() if k != "path"}
    assert model.predict(io.BytesIO(path.read_bytes()))[0]["index"] == 1  # a buffer has no name
    with open(path, encoding="latin-1") as text, pytest.raises(InputError, match="opened as text; open images in binary"):
        model.predict(text)


def test_cli_table_rows_each_get_a_record_with_their_id(model, tmp_path, capsys, monkeypatch):
    """A blank path cell was dropped (2 records for 3 rows) and the id column ignored: every row now gets a record,
    named by its id column (--id, or one called id) or its row, an error record for the blank cell."""
    import json

    from core import registry
    from core.cli import main

    monkeypatch.setattr(registry, "load", lambda *args, **kwargs: model)
    (tmp_path / "img").mkdir()
    for name in ("bee.png", "bee2.png"):
        Image.fromarray(IMAGE).save(tmp_path / "img" / name)
    table = tmp_path / "img3.csv"
    table.write_text("id,path\nr1,img/bee.png\nr2,\nr3,img/bee2.png\n")
    task = model.task

    def predicted(*flags):
        assert main(["predict", task, "--input", str(table), *flags]) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]

    records = predicted()
    assert [r["id"] for r in records] == ["r1", "r2", "r3"] and len(records) == 3
    assert records[0]["path"] == str(tmp_path / "img" / "bee.png") and "error" not in records[0]
    assert records[1] == {"id": "r2", "error": "row 2 of img3.csv has no image path (its 'path' cell is empty)"}
    assert records[2]["path"] == str(tmp_path / "img" / "bee2.png") and list(records[2])[:2] == ["id", "path"]
    table.write_text("key,name,file\nk1,a,img/bee.png\nk2,b,\n")
    assert [(r.get("id"), "error" in r) for r in predicted("--id", "name", "--column", "file")] == [("a", False), ("b", True)]
    assert main(["predict", task, "--input", str(table), "--id", "nope", "--column", "file"]) == 2
    assert "no id column 'nope'" in capsys.readouterr().err
    table.write_text("path\nimg/bee.png\n\nimg/bee2.png\n")  # no id column: rows from 1
    records = predicted()
    assert [r["row"] for r in records] == [1, 2, 3] and "error" in records[1] and "path" in records[2]
    # predict() given read_inputs' rows gives the records the CLI writes
    assert model.predict(type(model).read_inputs(table)) == records
    table.write_text("id,path\nr1,img/bee.png\n")
    assert [list(r)[:2] for r in model.predict(type(model).read_inputs(table))] == [["id", "path"]]


def test_explain_takes_exactly_one_image(classifier):
    assert classifier.explain(IMAGE)["label"] in {"cat", "dog"}
    with pytest.raises(InputError, match="explain takes one image"):
        classifier.explain([IMAGE, IMAGE])


@pytest.mark.parametrize("batch_size", [2.5, "4", 0, -1, True])
def test_a_batch_size_that_is_not_a_whole_number_from_1_is_refused(model, batch_size, tmp_path):
    """2.5 and "4" raised a raw TypeError; 0 was silently replaced by the default."""
    with pytest.raises(InputError, match="batch_size must be a whole number >= 1"):
        model.predict([IMAGE], batch_size=batch_size)
    if hasattr(model, "predict_proba"):
        with pytest.raises(InputError, match="batch_size must be a whole number >= 1"):
            model.predict_proba([IMAGE], batch_size=batch_size)
        with pytest.raises(InputError, match="batch_size must be a whole number >= 1"):
            model.evaluate(image_folder(tmp_path / "data", per_class=2), batch_size=batch_size)


def test_a_numpy_whole_number_batch_size_is_taken(model):
    assert len(model.predict([IMAGE] * 3, batch_size=np.int64(2))) == 3


# -- labelled tables for fit / evaluate ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """An ImageFolder of cat / dog images and its rows as (absolute path, label)."""
    root = image_folder(tmp_path_factory.mktemp("labelled") / "data", per_class=3)
    rows = [(str(path), path.parent.name) for path in sorted(root.rglob("*.png"))]
    return root, rows


def test_evaluate_reads_a_pandas_or_polars_table_of_path_and_label(classifier, labelled):
    """A DataFrame was iterated: its column names became (image, label) pairs ("only one class (a)")."""
    import pandas as pd
    import polars as pl

    root, rows = labelled
    expected = classifier.evaluate(root)
    table = pd.DataFrame(rows, columns=["path", "label"])
    for frame in (table, pl.from_pandas(table), pl.from_pandas(table).lazy()):
        card = classifier.evaluate(frame)
        assert card["n"] == 6 and card["metrics"]["accuracy"] == expected["metrics"]["accuracy"]
        assert set(card["per_class_recall"]) == {"cat", "dog"}


def test_a_table_follows_the_csv_column_rules_and_resolves_against_the_current_folder(classifier, labelled,
                                                                                      monkeypatch):
    import pandas as pd
    import polars as pl

    root, rows = labelled
    monkeypatch.chdir(root)
    relative = pl.DataFrame({"file": [str(Path(p).relative_to(root)) for p, _ in rows], "class": [c for _, c in rows]})
    items = classifier.read_data(relative, column="file", target="class")
    assert [(str(f), label) for f, label, _ in items] == rows and all(split is None for *_, split in items)
    assert classifier.evaluate(classifier.read_data(relative, column="file", target="class"))["n"] == 6
    with pytest.raises(InputError, match=r"needs the columns 'path' \(image paths\) and 'label'.*it has: file, class"):
        classifier.evaluate(relative)
    with pytest.raises(InputError, match="row 2 of the table has an empty label"):
        classifier.evaluate(pd.DataFrame({"path": [rows[0][0], rows[1][0]], "label": ["cat", None]}))
    with pytest.raises(InputError, match=r"row 1 of the table: image cat/9\.png does not exist \(relative paths resolve"):
        classifier.evaluate(pd.DataFrame({"path": ["cat/9.png", rows[1][0]], "label": ["cat", "dog"]}))


def test_fit_reads_a_table_and_refuses_a_list_of_strings(labelled):
    import pandas as pd

    from vision.classification import ClassifierConfig, ImageClassifier

    _, rows = labelled
    model = ImageClassifier.from_timm("test_resnet", ["a", "b", "c"], device="cpu")
    config = ClassifierConfig(epochs=1, max_steps=1, batch_size=4, image_size=32, progress_bar=False)
    model.fit(pd.DataFrame(rows, columns=["path", "label"]), config)
    assert model.label_names == ["cat", "dog"] and model.info["trained_on"]["examples"] == 6
    with pytest.raises(InputError, match=r"list of \(image, label\) pairs"):
        model.fit([path for path, _ in rows], config)  # each string split into (first letter, second letter)
