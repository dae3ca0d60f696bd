"""Streaming predict: batches keep their ids, JSONL and Parquet outputs hold the in-memory records, and a failure
mid-stream leaves neither the output nor a temp file."""

from __future__ import annotations

import json

import polars as pl
import pytest

from core import stream
from core.cli import main
from core.errors import InputError
from core.protocols import Inputs, identify_inputs, predict_records
from core.stream import RecordWriter, stream_predict


class Echo:
    def predict(self, items, batch_size=None):
        return [{"text": str(t).upper()} for t in items]


class FailsOnThird:
    """Scores two batches, then fails (as a bad value deep in a file would)."""

    def __init__(self, error=InputError("row 7: bad value")):
        self.calls, self.error = 0, error

    def predict(self, items, batch_size=None):
        self.calls += 1
        if self.calls == 3:
            raise self.error
        return [{"text": t} for t in items]


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def risk_model(tmp_path_factory):
    from finance.risk import RiskScorer
    from tests.finance.contract_cases import synthetic_applicants

    config = RiskScorer.Config(family="gbm", cv_folds=2, cv_repeats=1, gbm_trials=1, max_rounds=30, early_stopping_rounds=5)
    path = tmp_path_factory.mktemp("risk") / "model"
    RiskScorer().fit(synthetic_applicants(300, seed=0), config=config).save(path)
    return path


@pytest.fixture(scope="module")
def applicants(tmp_path_factory):
    from tests.finance.contract_cases import synthetic_applicants

    frame = synthetic_applicants(1000, seed=3).drop("default")
    return frame.with_columns(applicant=pl.format("a-{}", pl.int_range(pl.len())))


def test_rows_and_indexes_number_on_across_batches(tmp_path):
    frames = [pl.DataFrame({"x": [1, 2]}), pl.DataFrame({"x": [3, 4, 5]})]
    assert [b.ids for b in stream.identified_batches(frames)][1] == [{"row": 3}, {"row": 4}, {"row": 5}]
    target = tmp_path / "out.jsonl"
    assert stream_predict(Echo(), [["a", "b"], ["c"]], target) == 3
    assert _jsonl(target) == [{"index": 1, "text": "A"}, {"index": 2, "text": "B"}, {"index": 3, "text": "C"}]
    lines = Inputs(["a", ""], ids=[{"line": 1}, {"line": 2}], errors={1: "empty line"})
    assert stream_predict(Echo(), [lines], target) == 2  # already identified inputs (a text file's lines) pass through
    assert _jsonl(target) == [{"line": 1, "text": "A"}, {"line": 2, "error": "empty line"}]


@pytest.mark.parametrize("error", [InputError("row 7: bad value"), KeyboardInterrupt()])
def test_a_failure_mid_stream_leaves_no_output_and_no_temp_file(tmp_path, error):
    for name in ("out.jsonl", "out.parquet"):
        target = tmp_path / name
        with pytest.raises(type(error)):
            stream_predict(FailsOnThird(error), [["a"], ["b"], ["c"], ["d"]], target)
        assert list(tmp_path.iterdir()) == []
    kept = tmp_path / "kept.jsonl"
    kept.write_text("earlier results\n")
    with pytest.raises(InputError):
        stream_predict(FailsOnThird(), [["a"], ["b"], ["c"]], kept)
    assert kept.read_text() == "earlier results\n" and [p.name for p in tmp_path.iterdir()] == ["kept.jsonl"]


def test_the_temp_file_a_killed_predict_left_goes_at_the_next_write_and_a_live_one_stays(tmp_path):
    """kill -9 (the OOM killer) during `predict --output` left a hidden `.NAME.XXXX.tmp` (hundreds of MB for a large
    streamed predict) that no later run removed."""
    import subprocess

    from core.artifacts import host_tag

    dead = subprocess.Popen(["true"])
    dead.wait()
    target = tmp_path / "out.jsonl"
    killed = tmp_path / f".out.jsonl.{dead.pid}.{host_tag()}-abcd1234.tmp"
    live = tmp_path / f".out.jsonl.1.{host_tag()}-abcd1234.tmp"  # pid 1 is alive: another predict writing
    elsewhere = tmp_path / f".out.jsonl.{dead.pid}.0badc0de-abcd1234.tmp"  # another machine's: its pid means nothing here
    for leftover in (killed, live, elsewhere):
        leftover.write_text("partial")
    assert stream_predict(Echo(), [["a"]], target) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, live.name, elsewhere.name])


def test_parquet_writer_keeps_one_schema_and_an_error_column(tmp_path):
    target = tmp_path / "out.parquet"
    with RecordWriter(target) as writer:
        writer.write_batch([{"row": 1, "label": None, "score": 0.5}, {"row": 2, "error": "empty line"}])
        writer.write_batch([{"row": 3, "label": "b", "score": 1}])  # a column all empty at first; an int among floats
        writer.write_frame(pl.DataFrame({"row": [4], "label": ["c"], "score": [0.25]}))
    frame = pl.read_parquet(target)
    assert frame.columns == ["row", "label", "score", "error"] and frame["row"].to_list() == [1, 2, 3, 4]
    assert frame["label"].to_list() == [None, None, "b", "c"] and frame["score"].to_list() == [0.5, None, 1.0, 0.25]
    assert frame["error"].to_list() == [None, "empty line", None, None]
    with pytest.raises(InputError, match="appeared after the first batch"), RecordWriter(tmp_path / "bad.parquet") as writer:
        writer.write_batch([{"row": 1, "label": "a"}])
        writer.write_batch([{"row": 2, "label": "b", "boxes": [1, 2]}])
    assert not (tmp_path / "bad.parquet").exists()
    with pytest.raises(InputError, match="needs a file"), RecordWriter(None, "parquet"):
        pass


def test_streamed_risk_predict_matches_the_in_memory_records(risk_model, applicants, tmp_path, monkeypatch):
    from finance.risk import RiskScorer

    monkeypatch.setattr(stream, "STREAM_ROWS", 128)  # 1000 rows: 8 batches, the last one short
    source = tmp_path / "applicants.parquet"
    applicants.write_parquet(source, row_group_size=100)
    model = RiskScorer.load(risk_model)
    expected = list(predict_records(model, identify_inputs(applicants)))  # the in-memory path, one 1,024-row chunk
    assert [r["row"] for r in expected] == list(range(1, 1001))

    out = tmp_path / "scores.jsonl"
    assert main(["predict", "finance.risk", "--model", str(risk_model), "--input", str(source), "--output", str(out)]) == 0
    assert _jsonl(out) == expected

    table = tmp_path / "scores.parquet"
    assert main(["predict", "finance.risk", "--model", str(risk_model), "--input", str(source), "--output", str(table)]) == 0
    written = pl.read_parquet(table)
    assert written.columns == ["row", "pd", "score", "risk_band", "warnings", "error"] and written["error"].null_count() == 1000
    assert written.drop("error").to_dicts() == expected

    by_id = tmp_path / "by_id.jsonl"
    assert main(["predict", "finance.risk", "--model", str(risk_model), "--input", str(source), "--output", str(by_id),
                 "--id", "applicant", "--option", "engine=local"]) == 0
    assert [r["id"] for r in _jsonl(by_id)] == applicants["applicant"].to_list()
    assert [r["pd"] for r in _jsonl(by_id)] == [r["pd"] for r in expected]

    from core.data import tables

    csv = tmp_path / "applicants.csv"
    applicants.write_csv(csv)
    for streamed_above in (2**40, 0):  # a small CSV is read whole, then sliced; a large one is read in batches
        monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", streamed_above)
        assert main(["predict", "finance.risk", "--model", str(risk_model), "--input", str(csv), "--output", str(out)]) == 0
        assert [r["row"] for r in _jsonl(out)] == list(range(1, 1001))
        assert [r["pd"] for r in _jsonl(out)] == pytest.approx([r["pd"] for r in expected], abs=1e-8)


def test_bad_value_deep_in_a_streamed_file_is_exit_2_and_leaves_nothing(risk_model, applicants, tmp_path, monkeypatch,
                                                                         capsys):
    monkeypatch.setattr(stream, "STREAM_ROWS", 128)
    texts = applicants.with_columns(pl.col("income").cast(pl.String))
    texts = texts.with_columns(income=pl.when(pl.int_range(pl.len()) == 900).then(pl.lit("lots")).otherwise("income"))
    source = tmp_path / "applicants.parquet"
    texts.write_parquet(source, row_group_size=100)
    for name in ("scores.jsonl", "scores.parquet"):
        out = tmp_path / "out" / name
        code = main(["predict", "finance.risk", "--model", str(risk_model), "--input", str(source), "--output", str(out)])
        assert code == 2 and "'lots'" in capsys.readouterr().err
        assert list((tmp_path / "out").iterdir()) == []


def test_columnar_risk_scores_equal_the_per_record_rules(risk_model, applicants):
    import numpy as np

    from finance.risk import BANDS, RiskScorer

    model = RiskScorer.load(risk_model)
    table = model.predict_table(applicants)
    pd = model._pd(model._arrays(applicants))
    assert table["pd"].to_list() == [round(float(p), 8) for p in pd]
    assert table["score"].to_list() == [int(round(float(s))) for s in model._scores(pd)]
    assert table["risk_band"].to_list() == [next(b for t, b in BANDS if p < t) for p in pd]
    assert len(set(table["risk_band"].to_list())) > 1 and np.isfinite(table["pd"].to_numpy()).all()


CSV_CASES = {
    "thousands_padding_booleans.csv": 'id,amount,name,flag\n1,"1,234.5",x,true\n2, 12 ,y,false\n3,7,z,\n4,8,,true\n'
                                      '5,9,w,false\n6,10,v,true\n7,2.5,u,false\n,,,\n',
    "semicolon_decimal_commas.csv": "id;amount;name\n1;1,5;x\n2;2,5;y\n3;3;z\n4;4;w\n5;5;v\n6;6,5;u\n7;7;t\n",
    "quotes_kept.tsv": 'text\tlabel\nhe said "hi"\t1\nok\t0\na\t1\nb\t0\nc\t1\nd\t0\ne\t1\n',
}


@pytest.mark.parametrize("name", sorted(CSV_CASES))
def test_large_csv_streams_with_the_whole_file_readers_rules(name, tmp_path, monkeypatch):
    from core.data import tables

    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)  # stream every file, typed on its first 5 rows
    monkeypatch.setattr(tables, "HEAD_ROWS", 5)
    path = tmp_path / name
    path.write_text(CSV_CASES[name])
    batches = list(tables.iter_table(path, rows=3))
    assert len(batches) >= 2 and pl.concat(batches).equals(tables.read_table(path))


def test_large_csv_value_that_does_not_fit_names_row_and_column(tmp_path, monkeypatch):
    from core.data import tables

    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)
    monkeypatch.setattr(tables, "HEAD_ROWS", 5)
    path = tmp_path / "late.csv"
    path.write_text("id,x\n" + "".join(f"{i},{i}\n" for i in range(1, 9)) + "9,2.5\n10,lots\n")
    with pytest.raises(InputError, match=r"late.csv: row 10, column 'x': 'lots' is not a number"):
        list(tables.iter_table(path, rows=3))
    path.write_text("id,x\n" + "".join(f"{i},{i}\n" for i in range(1, 9)) + "9,2.5\n")
    assert pl.concat(list(tables.iter_table(path, rows=3)))["x"].to_list()[-2:] == [8.0, 2.5]  # decimals go on as such


def _streamed_lines(path, rows=2):
    from core.data.text import text_input_batches

    return [(list(b), b.ids, b.errors) for b in text_input_batches(path, rows)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_large_text_file_streams_with_the_whole_file_readers_lines(encoding, tmp_path, monkeypatch):
    from core.data import tables
    from core.data.text import read_text_inputs

    path = tmp_path / "lines.txt"
    text = "café au lait\r\n\n  two\u2028parts  \n\tthree\nlast without newline" if encoding != "cp1252" else \
        "café au lait\r\n\n  two  \n\tthree\nlast without newline"
    path.write_bytes(text.encode(encoding))
    whole = read_text_inputs(path)
    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)
    batches = _streamed_lines(path)
    assert len(batches) == 3
    assert sum((b[0] for b in batches), []) == list(whole) == ["café au lait", "", "two\u2028parts" if encoding != "cp1252"
                                                               else "two", "three", "last without newline"]
    assert sum((b[1] for b in batches), []) == whole.ids and batches[0][2] == {1: "empty line"}


def test_large_text_file_bad_bytes_late_nul_or_no_text_are_named(tmp_path, monkeypatch):
    from core.data import tables

    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)
    path = tmp_path / "late.txt"
    path.write_bytes(("ascii line\n" * (2**20 // 11 + 5)).encode() + b"caf\xe9 late\n")  # after the sniffed first MB
    with pytest.raises(InputError, match=r"late.txt is not UTF-8 text on line 95331 .*--option encoding=cp1252"):
        _streamed_lines(path, rows=100_000)
    path.write_bytes(b"fine\nbin\x00ary\n")
    with pytest.raises(InputError, match="NUL bytes on line 2"):
        _streamed_lines(path)
    path.write_bytes(b"\n  \n\n")
    with pytest.raises(InputError, match="holds no text lines"):
        _streamed_lines(path)
    path.write_bytes(b"caf\xe9\n")
    with tables.reader_options(encoding="latin-1"):
        assert _streamed_lines(path)[0][0] == ["café"]
    with tables.reader_options(encoding="no-such-codec"), pytest.raises(InputError, match="unknown encoding"):
        _streamed_lines(path)


class _Photos:
    """Predicts file paths; a file named bad* cannot be decoded, as a truncated JPEG or a broken recording cannot."""

    def __init__(self, refuse_all: bool = False):
        self.refuse_all, self.calls = refuse_all, 0

    def predict(self, items, batch_size=None):
        self.calls += 1
        for item in items:
            if self.refuse_all or str(item).rsplit("/", 1)[-1].startswith("bad"):
                raise InputError("unknown language 'xx'" if self.refuse_all else f"{item} is truncated or corrupt")
        return [{"label": str(item)[-5]} for item in items]


def test_one_unreadable_file_among_many_is_an_error_record_in_place(tmp_path):
    paths = [tmp_path / name for name in ("a1.jpg", "bad2.jpg", "c3.jpg")]
    for path in paths:
        path.write_bytes(b"x")
    records = list(predict_records(_Photos(), paths))
    assert records == [{"path": str(paths[0]), "label": "1"}, {"path": str(paths[1]), "error": f"{paths[1]} is truncated or corrupt"},
                       {"path": str(paths[2]), "label": "3"}]
    with pytest.raises(InputError, match="unknown language"):  # every file fails alike: not a file's fault, so exit 2
        list(predict_records(_Photos(refuse_all=True), paths))
    with pytest.raises(InputError, match="bad2 is truncated"):  # texts are not files: a refusal stays a refusal
        list(predict_records(_Photos(), ["a1", "bad2", "c3"]))


def test_predict_frame_keeps_a_key_only_a_late_record_has():
    from core.protocols import TaskModel

    class Flags(TaskModel):
        def frame_inputs(self, batch, columns=None):
            return batch["x"].to_list()

        def predict(self, inputs, batch_size=None):
            return [{"y": x, **({"error": "bad row"} if x == 150 else {})} for x in inputs]

    scored = Flags().predict_frame(pl.DataFrame({"x": list(range(200))}))
    assert scored["error"].to_list()[150] == "bad row" and scored["error"].null_count() == 199


def test_predict_frame_leaves_out_the_ids_records_carry():
    from core.protocols import TaskModel, with_ids

    class Rows(TaskModel):  # records numbered as every task's predict numbers them (with_ids), chunk by chunk
        def frame_inputs(self, batch, columns=None):
            return batch

        def predict(self, inputs, batch_size=None):
            return with_ids(inputs, [{"score": float(x)} for x in inputs["x"]])

    scored = Rows().predict_frame(pl.DataFrame({"id": ["a", "b", "c"], "x": [1, 2, 3]}), rows_per_chunk=2)
    assert scored.columns == ["id", "x", "score"] and scored["id"].to_list() == ["a", "b", "c"]
    numbered = Rows().predict_frame(pl.DataFrame({"x": [1, 2, 3]}), rows_per_chunk=2)
    assert numbered.columns == ["x", "score"]  # no `row` counted afresh per chunk (1, 2, 1)


@pytest.mark.parametrize("ids, said", [([1, None, 3], "row 2: the id column 'id' (taken as the records' ids) is empty"),
                                       (["a", "b", "a"], "rows 1 and 3: the id column 'id' (taken as the records' ids) repeats 'a'")])
def test_empty_or_repeated_ids_are_refused(ids, said, tmp_path):
    from core.stream import stream_predict

    class Echo:
        def predict(self, items, batch_size=None):
            return [{"text": t} for t in items]

    frame = pl.DataFrame({"id": ids, "text": ["x", "y", "z"]})
    target = tmp_path / "out.jsonl"
    with pytest.raises(InputError, match=said.replace("(", r"\(").replace(")", r"\)")):  # the records could not join back
        stream_predict(Echo(), [frame.slice(0, 2), frame.slice(2)], target)
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="--id column 'id'"):
        stream_predict(Echo(), [frame], target, id_column="id")


def test_parquet_takes_its_schema_from_the_first_predicted_record(tmp_path):
    from core.stream import RecordWriter

    target = tmp_path / "out.parquet"
    with RecordWriter(target) as writer:  # 1,030 blank rows at the top of a table: a first batch of error records only
        writer.write_batch([{"row": i + 1, "error": "empty text"} for i in range(1024)])
        writer.write_batch([{"row": 1025, "error": "empty text"}, {"row": 1026, "label": "positive", "score": 0.9}])
    table = pl.read_parquet(target)
    assert table.height == 1026 and table.columns == ["row", "error", "label", "score"]
    assert table["label"].to_list()[-1] == "positive" and table["row"].to_list()[:2] == [1, 2]
    only_errors = tmp_path / "errors.parquet"
    with RecordWriter(only_errors) as writer:
        writer.write_batch([{"row": 1, "error": "empty text"}])
    assert pl.read_parquet(only_errors).rows() == [(1, "empty text")]


def test_parquet_takes_warnings_that_first_come_in_a_later_batch(tmp_path):
    from core.stream import RecordWriter

    target = tmp_path / "out.parquet"
    with RecordWriter(target) as writer:  # the first batch's warning lists are all empty: list<null> to arrow
        writer.write_batch([{"row": 1, "label": "positive", "warnings": []}])
        writer.write_batch([{"row": 2, "label": "negative", "warnings": ["no words the model reads"]}])
    assert pl.read_parquet(target)["warnings"].to_list() == [[], ["no words the model reads"]]


def test_a_readers_own_ids_are_checked_too(tmp_path):
    from core.stream import stream_predict

    class Echo:
        def predict(self, items, batch_size=None):
            return [{"text": t} for t in items]

    # text and image readers hand over Inputs with their id column's values (not a polars table)
    batch = Inputs(["great", "bad"], ids=[{"id": 1}, {"id": 1}])
    with pytest.raises(InputError, match="rows 1 and 2: .* repeats 1"):
        stream_predict(Echo(), [batch], tmp_path / "out.jsonl")
    with pytest.raises(InputError, match="row 2: --id column 'key' is empty"):
        stream_predict(Echo(), [Inputs(["a", "b"], ids=[{"id": "k1"}, {"id": None}])], tmp_path / "out.jsonl", id_column="key")
    assert stream_predict(Echo(), [Inputs(["a"], ids=[{"line": 1}])], tmp_path / "out.jsonl") == 1  # lines need no check


def test_output_into_a_device_or_through_a_link_is_written_into_not_replaced(tmp_path):
    """--output /dev/null (or a link to /dev/stdout) was replaced by a regular file: the temp file was renamed over it
    (as root, the system's own node). A link to a regular file keeps the link and replaces the file."""
    import os
    import stat

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "null-link"
    link.symlink_to("/dev/null")
    with RecordWriter(link) as writer:
        writer.write_batch([{"index": 1, "label": "a"}])
    assert link.is_symlink() and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(InputError, match="Parquet output needs a file"):
        with RecordWriter(fifo, format="parquet"):
            pass
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    real = tmp_path / "real.jsonl"
    real.write_text("old\n")
    (tmp_path / "to-real").symlink_to(real)
    with RecordWriter(tmp_path / "to-real") as writer:
        writer.write_batch([{"index": 1, "label": "b"}])
    assert (tmp_path / "to-real").is_symlink() and real.read_text().strip() == '{"index": 1, "label": "b"}'


@pytest.mark.parametrize("name", ["out.csv", "out.parquet"])
def test_a_file_name_that_is_not_utf8_is_written_with_its_bytes_escaped(name, tmp_path):
    """A Latin-1 file name (`caf\\xe9.jpg`; Python holds it as `caf\\udce9`) is one row like any other in CSV and
    Parquet, as in JSONL, instead of a UnicodeEncodeError that lost the whole run."""
    records = [{"path": "caf\udce9.jpg", "label": "cat"}, {"path": "ok.jpg", "label": "dog"}]
    with RecordWriter(tmp_path / name) as writer:
        writer.write_batch(records)
    read = pl.read_csv(tmp_path / name) if name.endswith(".csv") else pl.read_parquet(tmp_path / name)
    assert read["path"].to_list() == ["caf\\xe9.jpg", "ok.jpg"] and read["label"].to_list() == ["cat", "dog"]


def test_a_last_chunk_that_fails_whole_is_error_records_when_earlier_inputs_were_predicted():
    """A forecast of 3 series streamed 2 at a time: the last chunk holds one short series only. It is an error record
    in its place (before, the whole run was lost); a call whose every input fails still raises."""
    class Forecaster:
        def predict(self, items, batch_size=None):
            if any(item == "short" for item in items):
                raise InputError("series 'c' is too short")
            return [{"forecast": item} for item in items]

    ids = [{"id": name} for name in "abc"]
    records = list(predict_records(Forecaster(), Inputs(["ok", "ok", "short"], ids=ids), chunk=2))
    assert records == [{"id": "a", "forecast": "ok"}, {"id": "b", "forecast": "ok"},
                       {"id": "c", "error": "series 'c' is too short"}]
    with pytest.raises(InputError, match="too short"):
        list(predict_records(Forecaster(), Inputs(["short", "short"], ids=ids[:2]), chunk=2))


def test_csv_output_neutralises_formulas_and_quotes_a_cr(tmp_path):
    """OWASP CSV injection: a cell starting = + - @ TAB or CR gets a leading apostrophe (numbers such as -5 stay);
    a CR inside a cell is quoted, so a reader does not split the record there and turn '\\r=1+1' into another id."""
    records = [{"id": "=HYPERLINK(\"http://x\",\"click\")", "score": -5.0, "text": "-5"},
               {"id": "a\r=1+1", "score": 1.0, "text": "@SUM(A1)"}]
    with RecordWriter(tmp_path / "out.csv") as writer:
        writer.write_batch(records)
    read = pl.read_csv(tmp_path / "out.csv")
    assert read.height == 2
    assert read["id"].to_list() == ["'=HYPERLINK(\"http://x\",\"click\")", "a\r=1+1"]
    assert read["text"].to_list() == [-5, "'@SUM(A1)"] or read["text"].to_list() == ["-5", "'@SUM(A1)"]
    assert read["score"].to_list() == [-5.0, 1.0]


def test_jsonl_output_of_a_file_name_that_is_not_utf8_is_strict_json(tmp_path):
    """JSONL wrote a lone surrogate as \\udce9, which polars (and Rust / Go readers) refuse: it is now caf\\xe9, as in
    CSV and Parquet, so the three outputs join on path."""
    with RecordWriter(tmp_path / "out.jsonl") as writer:
        writer.write_batch([{"path": "caf\udce9.jpg", "label": "cat"}, {"path": "x.jpg", "label": "\U0001F600"}])
    read = pl.read_ndjson(tmp_path / "out.jsonl")
    assert read["path"].to_list() == ["caf\\xe9.jpg", "x.jpg"] and read["label"].to_list() == ["cat", "\U0001F600"]


def test_records_written_to_a_file_have_their_warnings_and_errors_summed_up_for_the_terminal(tmp_path):
    """predict --output: 16 of 20 translations warned that the file looked like another language, and nothing on the
    terminal said so; the writer now sums the warnings and error records up in one sentence the CLI says on stderr."""
    class Translator:
        def predict(self, items, batch_size=None):
            return [{"text": t, "warnings": ["looks like Spanish, not English"] if t.startswith("es") else []}
                    for t in items]

    summary: list[str] = []
    lines = ["es uno", "es dos", "en three", ""]
    stream_predict(Translator(), [Inputs(lines, ids=[{"line": i + 1} for i in range(4)], errors={3: "empty line"})],
                   tmp_path / "out.jsonl", summary=summary)
    assert summary == [f"in {tmp_path / 'out.jsonl'}: 1 of 4 inputs could not be predicted (their `error` field); "
                       "2 of 4 records carry warnings (their `warnings` field); the most common, on 2: looks like "
                       "Spanish, not English"]
    summary.clear()
    stream_predict(Translator(), [["en a"]], tmp_path / "quiet.jsonl", summary=summary)
    assert summary == []


def test_the_ids_checked_across_batches_are_kept_compact():
    """A 1 M-row risk file with --id grew RSS by ~120 MB for the dict of seen ids; they are now 16 bytes an id, and a
    repeat across batches is still named by both rows."""
    import tracemalloc

    from core.stream import _check_ids, _SeenIds

    batches = [[f"applicant-{k * 100_000 + i}" for i in range(100_000)] for k in range(3)]
    seen = _SeenIds()
    tracemalloc.start()
    for k, values in enumerate(batches):
        _check_ids(values, "id", k * 100_000, seen, "id")
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert kept < 8_000_000, kept  # 300,000 ids: 4.8 MB of hashes and rows (a dict of them: over 20 MB)
    with pytest.raises(InputError, match=r"rows 5 and 300001: --id column 'id' repeats 'applicant-4'"):
        _check_ids(["applicant-4"], "id", 300_000, seen, "id")


def test_distinct_ids_whose_python_hashes_collide_are_not_a_repeat():
    """`predict` refused ids -1 and -2 as "repeats -2": the id check compared Python hash() values, and CPython
    hashes -1 and -2 alike (and integers modulo 2^61 - 1)."""
    from core.stream import _SeenIds

    seen = _SeenIds()
    assert seen.repeat([-1, -2, 3], 0) is None
    assert seen.repeat([2 ** 61, 1.5, "1"], 3) is None  # 2^61 hashes as 1; "1" is text, not the number 1
    assert seen.repeat([7, 3.0], 6) == (3, 8)  # 3.0 is the id 3 of row 3 (a whole number, as in a dict)


def test_ids_equal_as_dict_keys_are_one_id_and_float_ids_are_checked_as_fast_as_ints():
    """The id digest told np.int64(1) from 1, Decimal(1) from 1 and 1e20 from 10**20 (a dict does not), and checked
    float ids value by value (about 50x slower than before on a million)."""
    import time
    from decimal import Decimal

    import numpy as np

    from core.stream import _SeenIds

    for pair in ([np.int64(1), 1], [Decimal(1), 1], [1e20, 10 ** 20], [np.float32(2), 2], [True, 1]):
        assert _SeenIds().repeat(pair, 0) == (1, 2), pair
    assert _SeenIds().repeat([1.5, "1.5"], 0) is None


def test_float_ids_are_digested_as_an_array_not_value_by_value(monkeypatch):
    """A float id column (pandas writes 1.0, 2.0 once a column held a NaN) went value by value: ~50x slower."""
    from core import stream

    calls = []
    digest = stream._id_digest
    monkeypatch.setattr(stream, "_id_digest", lambda value: calls.append(value) or digest(value))
    assert stream._SeenIds().repeat([float(i) for i in range(1000)] + [2.5], 0) is None
    assert calls == [2.5]  # only the one that is not a whole number
