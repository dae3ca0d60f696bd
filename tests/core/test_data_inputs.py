"""Inputs as users have them: every prediction carries its input's id, check-data = train's checks, images from
phones, zip bombs, empty volumes, constant series. Each case failed before."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from core.cli import main
from core.data import list_image_folder, open_image
from core.errors import InputError
from core.protocols import Inputs, identify_inputs, predict_records


@pytest.fixture(scope="module")
def tiny_sentiment(tmp_path_factory):
    from nlp.sentiment import SentimentModel
    from tests.nlp.tiny import tiny_encoder_dir

    root = tmp_path_factory.mktemp("sentiment")
    path = root / "model"
    SentimentModel.from_encoder(tiny_encoder_dir(root / "encoder"), device="cpu", name="tiny").save(path)
    return path


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_sentiment_text_file_gives_one_record_per_line_with_its_number(tiny_sentiment, tmp_path, capsys):
    path = tmp_path / "reviews.txt"
    path.write_text("A wonderful film.\n\nTerrible and boring.\n   \nfine\n")
    assert main(["predict", "nlp.sentiment", "--input", str(path), "--model", str(tiny_sentiment)]) == 0
    records = _jsonl(capsys.readouterr().out)
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5]
    assert records[1] == {"line": 2, "error": "empty line"} and records[3]["error"] == "empty line"
    assert all("label" in records[i] for i in (0, 2, 4))


def test_large_text_file_streams_line_by_line_with_the_same_records(tiny_sentiment, tmp_path, capsys, monkeypatch):
    """A .txt over the streaming size is read line by line (no size cap): the records equal the whole-file reading."""
    from core import stream
    from core.data import tables

    path = tmp_path / "reviews.txt"
    path.write_text("A wonderful film.\n\nTerrible and boring.\n   \nfine\nnot bad at all\nwhat\u2028ever\n")
    assert main(["predict", "nlp.sentiment", "--input", str(path), "--model", str(tiny_sentiment)]) == 0
    whole = _jsonl(capsys.readouterr().out)
    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)
    monkeypatch.setattr(stream, "STREAM_ROWS", 3)  # three lines a batch: numbering must go on across batches
    assert main(["predict", "nlp.sentiment", "--input", str(path), "--model", str(tiny_sentiment)]) == 0
    streamed = _jsonl(capsys.readouterr().out)
    assert [r["line"] for r in streamed] == list(range(1, 8)) and len(whole) == 7
    for a, b in zip(streamed, whole):  # the same records; scores equal to float precision across batch shapes
        assert a.keys() == b.keys() and a.get("label") == b.get("label") and a.get("error") == b.get("error")
        assert abs(a.get("score", 0) - b.get("score", 0)) < 1e-5


def test_sentiment_table_records_carry_row_or_id(tiny_sentiment, tmp_path, capsys):
    path = tmp_path / "reviews.csv"
    path.write_text("review_id,text\nr-7,good\nr-9,bad\n")
    assert main(["predict", "nlp.sentiment", "--input", str(path), "--model", str(tiny_sentiment), "--id", "review_id"]) == 0
    assert [r["id"] for r in _jsonl(capsys.readouterr().out)] == ["r-7", "r-9"]
    path.write_text("text\ngood\nbad\n")
    assert main(["predict", "nlp.sentiment", "--input", str(path), "--model", str(tiny_sentiment)]) == 0
    assert [r["row"] for r in _jsonl(capsys.readouterr().out)] == [1, 2]
    path.write_text("review_id,text\nr-7,good\nr-8,\nr-9,bad\n")  # a blank cell: an error record in its place
    assert main(["predict", "nlp.sentiment", "--input", str(path), "--model", str(tiny_sentiment), "--id", "review_id"]) == 0
    records = _jsonl(capsys.readouterr().out)
    assert [r["id"] for r in records] == ["r-7", "r-8", "r-9"] and records[1] == {"id": "r-8", "error": "empty text"}


def test_tsv_with_quote_marks_evaluates_through_the_cli(tiny_sentiment, tmp_path, capsys):
    path = tmp_path / "amazon_cells.tsv"
    path.write_text('sentence\tlabel\n"Great" phone, 5" screen\t1\nSo "bad\t0\n"Crap"\t0\n')
    assert main(["evaluate", "nlp.sentiment", "--data", str(path), "--model", str(tiny_sentiment), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 3


def test_folder_and_table_inputs_are_identified():
    files = [Path("/data/a.png"), Path("/data/b.png")]
    assert identify_inputs(files).ids == [{"path": "/data/a.png"}, {"path": "/data/b.png"}]
    frame = pl.DataFrame({"applicant": ["x", "y"], "income": [1, 2]})
    assert identify_inputs(frame, "applicant").ids == [{"id": "x"}, {"id": "y"}]
    assert identify_inputs(frame).ids == [{"row": 1}, {"row": 2}]
    with pytest.raises(InputError, match="no id column 'nope'"):
        identify_inputs(frame, "nope")

    class Scorer:
        def predict(self, batch, batch_size=None):
            return [{"pd": float(v)} for v in batch["income"]]

    records = list(predict_records(Scorer(), identify_inputs(frame, "applicant"), chunk=1))
    assert records == [{"id": "x", "pd": 1.0}, {"id": "y", "pd": 2.0}]


def test_a_model_that_drops_inputs_is_caught():
    class Dropper:
        def predict(self, items, batch_size=None):
            return [{"label": "x"}][: len(items) - 1]

    with pytest.raises(InputError, match="1 records for 2 inputs"):
        list(predict_records(Dropper(), Inputs(["a", "b"])))


def test_vision_folder_predictions_carry_paths(tmp_path, monkeypatch, capsys):
    from PIL import Image

    from core import registry

    for name in ("b.png", "a.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / name)

    class Fake:
        def predict(self, items, batch_size=None):
            return [{"label": "cat"} for _ in items]

    monkeypatch.setattr(registry, "load", lambda task, model=None, device="auto": Fake())
    assert main(["predict", "vision.classification", "--input", str(tmp_path)]) == 0
    paths = [r["path"] for r in _jsonl(capsys.readouterr().out)]
    assert [Path(p).name for p in paths] == ["a.png", "b.png"]


# -- check-data runs train's checks ----------------------------------------------------------------------------
def test_check_data_refuses_single_class_sentiment_like_train(tmp_path, capsys):
    from nlp.sentiment import SentimentModel

    path = tmp_path / "one_class.csv"
    path.write_text("text,label\ngood,1\nfine,1\nnice,1\n")
    assert main(["check-data", "nlp.sentiment", str(path)]) == 2
    reason = capsys.readouterr().err
    assert "at least two classes" in reason
    with pytest.raises(InputError) as train_error:
        SentimentModel.training_data(path)  # what `train` runs before fitting
    assert str(train_error.value) in reason
    path.write_text("text,label\ngood,1\nbad,0\n")
    assert main(["check-data", "nlp.sentiment", str(path)]) == 0


def test_empty_image_in_a_folder_is_refused_when_read(tmp_path, capsys):
    from PIL import Image

    for label in ("normal", "abnormal"):
        (tmp_path / label).mkdir()
        Image.new("L", (8, 8)).save(tmp_path / label / "1.png")
    (tmp_path / "normal" / "2.png").write_bytes(b"")
    with pytest.raises(InputError, match=r"normal/2.png is empty \(0 bytes\)"):
        list_image_folder(tmp_path)
    assert main(["check-data", "medical.classification", str(tmp_path)]) == 2
    assert "2.png is empty" in capsys.readouterr().err


# -- bad files: exit 2 naming row and column, never a traceback ------------------------------------------------------
def test_bad_file_is_exit_2_with_row_and_column(tmp_path, capsys):
    rows = [f"{i},{i % 2},{i * 10}" for i in range(12_000)]
    rows[10_400] = "10400,0,about 5"
    path = tmp_path / "risk.csv"
    path.write_text("id,target,income\n" + "\n".join(rows) + "\n")
    assert main(["check-data", "finance.risk", str(path), "--target", "target"]) == 2
    err = capsys.readouterr().err
    assert "row 10401 (line 10402), column 'income'" in err and "Traceback" not in err


def test_reader_options_reach_every_task_through_the_cli(tmp_path, capsys):
    path = tmp_path / "prices.csv"
    path.write_text("Date|Close\n01/02/2024|1\n01/03/2024|2\n01/04/2024|3\n")
    assert main(["check-data", "finance.forecast", str(path), "--json"]) == 2  # day and month both <= 12
    assert "--option date_format=%d/%m/%Y" in capsys.readouterr().err
    assert main(["check-data", "finance.forecast", str(path), "--json", "--option", "separator=pipe",
                 "--option", "date_format=%d/%m/%Y"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["series"][0]["first"] == "2024-02-01"


# -- images from phones ------------------------------------------------------------------------------------------------
def test_exif_orientation_is_applied():
    from PIL import Image

    image = Image.new("RGB", (40, 20), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert open_image(buffer.getvalue()).size == (20, 40)


def test_heic_photo_from_an_iphone_decodes_and_lists(tmp_path, monkeypatch):
    """HEIC (an iPhone's default format) decodes through pillow-heif, in a folder and as an upload; a broken one is
    refused as such; without pillow-heif it is refused with the fix, never silently skipped."""
    pytest.importorskip("pillow_heif")
    from PIL import Image

    from core.data import images

    rng = np.random.default_rng(0)
    pixels = np.repeat(np.repeat(rng.integers(0, 256, (8, 12, 3), dtype=np.uint8), 8, 0), 8, 1)  # 64 x 96, blocky
    (tmp_path / "cats").mkdir()
    photo = tmp_path / "cats" / "IMG_0001.HEIC"
    assert images.heif_readable()
    Image.fromarray(pixels).save(photo, format="HEIF", quality=95)
    decoded = open_image(photo)
    assert decoded.size == (96, 64) and decoded.mode == "RGB"
    assert np.abs(np.asarray(decoded, dtype=int) - pixels).mean() < 12  # lossy HEVC, the same picture
    assert [p.name for p, label, _ in list_image_folder(tmp_path)] == ["IMG_0001.HEIC"]
    broken = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(InputError, match="HEIC/HEIF photo that does not decode"):
        open_image(broken)
    monkeypatch.setattr(images, "heif_readable", lambda: False)  # a machine without pillow-heif
    with pytest.raises(InputError, match="IMG_0001.HEIC is a HEIC/HEIF photo, which cannot be decoded here; install pillow-heif"):
        list_image_folder(tmp_path)


# -- medical volumes, constant series, zips ------------------------------------------------------------------------------
def test_all_nan_nifti_is_refused_naming_the_file(tmp_path):
    nib = pytest.importorskip("nibabel")
    from medical.io import read_medical

    path = tmp_path / "empty.nii.gz"
    nib.save(nib.Nifti1Image(np.full((8, 8, 4), np.nan, dtype=np.float32), np.eye(4)), str(path))
    with pytest.raises(InputError, match="empty.nii.gz holds no finite voxel"):
        read_medical(path)
    partly = tmp_path / "masked.nii.gz"
    volume = np.ones((8, 8, 4), dtype=np.float32)
    volume[0] = np.nan
    nib.save(nib.Nifti1Image(volume, np.eye(4)), str(partly))
    assert np.isfinite(read_medical(partly).array).all()


def test_constant_price_series_gets_narrow_intervals():
    from finance.forecast import Forecaster
    from tests.finance.contract_cases_forecast import random_walk, tiny_config

    model = Forecaster(tiny_config()).fit(random_walk(120, seed=1))
    [record] = model.predict([{"values": [50.0] * 60}])
    for level in ("80", "95"):
        for low, high in zip(record[f"lower_{level}"], record[f"upper_{level}"]):
            assert low <= 50.0 <= high and high - low <= 0.01 * 50.0


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_zip_compression_ratio_is_capped(tmp_path):
    from apps.common import _extract_zip

    bomb = _zip({"data/zeros.csv": b"0" * (40 * 2**20)})  # 40 MB of one byte: ~1000x
    with pytest.raises(InputError, match="possible zip bomb"):
        _extract_zip(bomb, tmp_path / "bomb")
    assert not (tmp_path / "bomb" / "data" / "zeros.csv").exists()
    many = _zip({f"part{i}.csv": b"0" * (2 * 2**20) for i in range(40)})  # small members, 80 MB in all
    with pytest.raises(InputError, match="expands"):
        _extract_zip(many, tmp_path / "many")
    fine = _zip({"a/x.csv": b"a,b\n1,2\n" * 1000})  # small and very compressible: allowed
    assert (_extract_zip(fine, tmp_path / "fine") / "x.csv").is_file()


def test_workbook_through_the_cli_with_a_sheet_option(tmp_path, capsys):
    """`--option sheet=` reaches the reader through the CLI; a wrong sheet is exit 2 listing the sheets."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "loans.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("About").write_string(0, 0, "loans from 2024")
    sheet = book.add_worksheet("Loans")
    sheet.write_row(0, 0, ["income", "age", "default"])
    for r in range(1, 41):
        sheet.write_row(r, 0, [1000 + 37 * r + (r * r) % 11, 20 + r % 30, r % 3 == 0])
    book.close()
    assert main(["check-data", "finance.risk", str(path), "--target", "default", "--option", "sheet=Loans", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n"] == 40 and [f["name"] for f in report["features"]] == ["income", "age"]
    assert main(["check-data", "finance.risk", str(path), "--target", "default", "--option", "sheet=Loanz"]) == 2
    assert "its sheets: 'About', 'Loans'" in capsys.readouterr().err


def test_a_reader_option_the_file_does_not_use_is_refused_not_ignored(tmp_path, capsys):
    """`--option sheet=` on a CSV, or `separator=` on a workbook or Parquet, used to be ignored without a word: the
    user believed a sheet or separator had been chosen. Each is exit 2 naming the options that file does read."""
    import polars as pl

    incomes = [1000 + 37 * r + (r * r) % 11 for r in range(40)]  # not evenly spaced: a step of 37 reads as an id now
    rows = pl.DataFrame({"income": incomes, "default": [r % 3 == 0 for r in range(40)]})
    csv, parquet = tmp_path / "loans.csv", tmp_path / "loans.parquet"
    rows.write_csv(csv)
    rows.write_parquet(parquet)
    assert main(["check-data", "finance.risk", str(csv), "--target", "default", "--option", "sheet=Loans"]) == 2
    assert "loans.csv is delimited text, which does not use --option sheet (it reads: decimal, encoding, header, " \
           "quote, separator)" in capsys.readouterr().err
    assert main(["check-data", "finance.risk", str(parquet), "--target", "default", "--option", "separator=;"]) == 2
    assert "loans.parquet is Parquet, which does not use --option separator (it reads: none)" in capsys.readouterr().err
    assert main(["check-data", "finance.risk", str(csv), "--target", "default", "--option", "separator=,",
                 "--option", "date_format=%Y"]) == 0  # options the file reads, and date_format anywhere, still pass


def test_an_empty_class_folder_is_named_not_dropped(tmp_path):
    from PIL import Image

    for label in ("cat", "dog"):
        (tmp_path / label).mkdir()
    Image.new("L", (8, 8)).save(tmp_path / "cat" / "1.png")
    (tmp_path / "dog" / "._1.png").write_bytes(b"AppleDouble")  # hidden litter is not an image either
    with pytest.raises(InputError, match="class folder.* dog .*hold no images"):
        list_image_folder(tmp_path)
    Image.new("L", (8, 8)).save(tmp_path / "dog" / "1.png")
    assert [(p.name, label) for p, label, _ in list_image_folder(tmp_path)] == [("1.png", "cat"), ("1.png", "dog")]


def test_a_broken_json_lines_file_names_its_line(tmp_path):
    from core.data import read_table

    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "good"}\n\n{"text": "bad" oops}\n{"text": "fine"}\n')
    with pytest.raises(InputError, match=r"line 3 is not valid JSON \(Expecting ',' delimiter at column 16\)"):
        read_table(path)
    path.write_text('{"text": "good"}\n[1, 2]\n')
    with pytest.raises(InputError, match="line 2 holds a JSON list, not an object"):
        read_table(path)


def test_with_ids_gives_every_record_its_input_id():
    import pandas as pd

    from core.protocols import with_ids

    assert with_ids(["a", "b"], [{"label": "x"}, {"label": "y"}]) == [{"index": 1, "label": "x"}, {"index": 2, "label": "y"}]
    assert with_ids(pd.DataFrame({"x": [5, 6]}), [{"pd": 0.1}, {"pd": 0.2}]) == [{"row": 1, "pd": 0.1}, {"row": 2, "pd": 0.2}]
    assert with_ids([{"id": "k9", "x": 1}], [{"pd": 0.3}]) == [{"id": "k9", "pd": 0.3}]
    with pytest.raises(ValueError):
        with_ids(["a", "b"], [{"label": "x"}])


def test_a_batch_own_numbering_gives_way_to_the_callers_ids():
    from core.protocols import with_ids

    class Numbering:  # a model whose predict numbers its own batch from 1, as every task's predict does
        def predict(self, items, batch_size=None):
            return with_ids(items, [{"text": t.upper()} for t in items])

    records = list(predict_records(Numbering(), Inputs(["a", "b", "c"], ids=[{"line": 4}, {"line": 5}, {"line": 6}]), chunk=2))
    assert records == [{"line": 4, "text": "A"}, {"line": 5, "text": "B"}, {"line": 6, "text": "C"}]


def test_a_picture_decodes_the_same_whatever_its_bit_depth():
    """8-bit and 16-bit PNGs of one picture, and the picture as floats in [0, 1], give the same pixels; before, every
    non-8-bit picture was stretched to full contrast (a dark photo turned bright, a mid-grey float image black)."""
    import numpy as np
    from PIL import Image

    picture = (np.random.default_rng(0).random((20, 30)) * 89).astype(np.uint8)  # a dark photo
    encoded = {}
    for name, pixels in {"8-bit": picture, "16-bit": picture.astype(np.uint16) * 257}.items():
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        encoded[name] = np.asarray(open_image(buffer.getvalue()))
    assert np.array_equal(encoded["8-bit"], encoded["16-bit"])
    assert np.array_equal(np.asarray(open_image(picture.astype(np.float32) / 255)), encoded["8-bit"])
    assert np.asarray(open_image(np.full((4, 4), 0.5))).mean() == 128


def test_a_float_picture_with_resize_overshoot_keeps_its_brightness():
    """One pixel at 1.001 or -0.001 in a [0, 1] picture (what a bicubic resize leaves) no longer switches the whole
    picture to another scale (mean 102 -> 0.4 before) or to a stretch."""
    import numpy as np

    picture = np.random.default_rng(1).random((20, 30)) * 0.8
    plain = np.asarray(open_image(picture)).astype(int)
    for value in (1.001, -0.001):
        overshoot = picture.copy()
        overshoot[0, 0] = value
        assert np.abs(np.asarray(open_image(overshoot)).astype(int) - plain)[1:].max() <= 0
    assert 95 < plain.mean() < 110


def test_an_image_folder_of_training_and_dev_folders_is_split_not_two_classes(tmp_path):
    """train/ + dev/ (or training/ + validation/) read as two classes named 'train' and 'dev': the split folders are
    read as splits, named as every task reads them (train, val, test)."""
    from core.data.images import list_image_folder

    for split in ("training", "dev"):
        for label in ("ant", "bee"):
            (tmp_path / split / label).mkdir(parents=True)
            (tmp_path / split / label / "1.png").write_bytes(b"x")
    assert sorted({(label, split) for _, label, split in list_image_folder(tmp_path)}) == [
        ("ant", "train"), ("ant", "val"), ("bee", "train"), ("bee", "val")]
