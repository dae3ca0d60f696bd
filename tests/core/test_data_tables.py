"""Table files as spreadsheets and public data sets write them: each case failed (refused, or read wrongly) before."""

from __future__ import annotations

import polars as pl
import pytest

from core.data import read_table, scan_table
from core.data.dates import parse_dates
from core.data.tables import reader_options
from core.errors import InputError

# Lines in the shape of UCI "Sentiment Labelled Sentences" (amazon/imdb/yelp): text<TAB>label, quotes inside the text.
UCI_LINES = [
    ('So there is no way for me to plug it in here in the US unless I go by a converter.', 0),
    ('"Great for the jawbone."', 1),
    ('The "mobile" phone is what I wanted, 5" screen and all.', 1),
    ('Tied to charger for conversations lasting more than 45 minutes.MAJOR PROBLEMS!!', 0),
    ('He said "this is junk', 0),
    ('""Crap"" sound, but nice looks', 0),
]


def test_tsv_with_quote_marks_reads_line_for_line(tmp_path):
    path = tmp_path / "amazon_cells.tsv"
    path.write_text("text\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in UCI_LINES))
    frame = read_table(path)
    assert frame.height == len(UCI_LINES)
    assert frame["text"].to_list() == [text for text, _ in UCI_LINES]  # quote marks kept as written
    assert frame["label"].to_list() == [label for _, label in UCI_LINES]
    assert scan_table(path).collect()["text"].to_list() == frame["text"].to_list()


def test_quoted_tsv_written_by_pandas_is_unquoted(tmp_path):
    path = tmp_path / "quoted.tsv"
    path.write_text('text\tlabel\n"He said ""hi"""\t1\n"tab\tinside"\t0\nplain\t1\n')
    assert read_table(path)["text"].to_list() == ['He said "hi"', "tab\tinside", "plain"]


def test_uci_text_file_without_header(tmp_path):
    path = tmp_path / "yelp_labelled.txt"
    path.write_text("".join(f"{text}\t{label}\n" for text, label in UCI_LINES))
    with reader_options(header="false"):
        frame = read_table(path)
    assert frame.columns == ["0", "1"] and frame.height == len(UCI_LINES)


def test_types_are_decided_on_the_whole_file(tmp_path):
    rows = [f"{i},{i * 7},{i % 3}" for i in range(12_000)]
    rows[10_500] = "10500,1.00E+05,0"  # scientific notation first seen after row 10,000 of an integer column
    rows[11_000] = "11000,2.5,1"
    path = tmp_path / "late.csv"
    path.write_text("id,amount,group\n" + "\n".join(rows) + "\n")
    frame = read_table(path)
    assert frame.height == 12_000 and frame["amount"].dtype == pl.Float64
    assert frame["amount"][10_500] == 100_000.0 and frame["amount"][11_000] == 2.5
    assert frame["group"].dtype == pl.Int64
    assert scan_table(path).collect()["amount"][10_500] == 100_000.0


def test_a_bad_value_is_reported_with_row_line_and_column(tmp_path):
    rows = [f"{i},{i * 7}" for i in range(12_000)]
    rows[11_000] = "11000,12x"
    path = tmp_path / "bad.csv"
    path.write_text("id,amount\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match=r"row 11001 \(line 11002\), column 'amount': '12x' is not a number"):
        read_table(path)


def test_semicolon_files_are_sniffed_and_decimal_commas_read(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffname;income;age\r\nJosé;1234,5;41\r\nAna;99;37\r\n".encode("utf-8"))  # Excel: BOM, ;, CRLF
    frame = read_table(path)
    assert frame.columns == ["name", "income", "age"]
    assert frame["name"].to_list() == ["José", "Ana"] and frame["income"].to_list() == [1234.5, 99.0]


def test_wrong_field_count_names_the_line_and_the_separator_option(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6,7\n")
    with pytest.raises(InputError, match=r"line 4 has 3 fields.*--option separator="):
        read_table(path)


def test_separator_option_overrides_sniffing(tmp_path):
    path = tmp_path / "pipes.txt"
    path.write_text("a|b\n1,5|2\n")
    with reader_options(separator="pipe", decimal=","):
        assert read_table(path).rows() == [(1.5, 2)]


def test_duplicate_column_names_are_refused_by_name(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("income,age,income\n1,2,3\n")
    with pytest.raises(InputError, match=r"'income' appears twice \(columns 1 and 3\)"):
        read_table(path)
    with pytest.raises(InputError, match="appears twice"):
        scan_table(path)


def test_excel_trailing_separators_and_empty_rows_are_dropped(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("a,b,,\n1,2,,\n3,4,,\n,,,\n,,,\n")
    frame = read_table(path)
    assert frame.columns == ["a", "b"] and frame.rows() == [(1, 2), (3, 4)]


def test_pandas_index_column_gets_a_name_and_headers_are_trimmed(tmp_path):
    path = tmp_path / "pandas.csv"
    path.write_text(",income ,age\n0,1,2\n1,3,4\n")
    assert read_table(path).columns == ["unnamed_0", "income", "age"]


def test_thousands_separators_and_padded_numbers(tmp_path):
    path = tmp_path / "formatted.csv"
    path.write_text('amount,count\n"1,234.50", 7\n"12", 8 \n')
    frame = read_table(path)
    assert frame["amount"].to_list() == [1234.5, 12.0] and frame["count"].to_list() == [7, 8]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_windows_and_latin1_exports_are_read(tmp_path, encoding):
    path = tmp_path / "legacy.csv"
    path.write_bytes("city,price\nZürich,3\nSão Paulo,4\nCafé crème,5\n".encode(encoding))
    assert read_table(path)["city"].to_list() == ["Zürich", "São Paulo", "Café crème"]


def test_utf16_unicode_text_export(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes("name\tscore\nÅsa\t1\n".encode("utf-16"))  # Excel "Unicode Text": UTF-16 + BOM, tabs
    assert read_table(path).rows() == [("Åsa", 1)]


def test_unknown_encoding_names_the_option(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("name,score\n".encode() + "你好世界,1\n北京上海,2\n".encode("gbk"))
    with pytest.raises(InputError, match="--option encoding="):
        read_table(path)
    with reader_options(encoding="gbk"):
        assert read_table(path)["name"].to_list() == ["你好世界", "北京上海"]


def test_late_non_utf8_byte_past_the_sniffed_head(tmp_path, monkeypatch):
    from core.data import tables

    monkeypatch.setattr(tables, "HEAD_BYTES", 64)
    path = tmp_path / "late.csv"
    path.write_bytes(b"name,n\n" + b"abc,1\n" * 40 + "Mañana,2\n".encode("cp1252"))
    assert read_table(path)["name"][-1] == "Mañana"


def test_unknown_reader_option_is_refused():
    with pytest.raises(InputError, match="unknown reader option"):
        with reader_options(colour="red"):
            pass


# -- dates ---------------------------------------------------------------------------------------------------------
def _dates(values, **kw):
    return parse_dates(pl.Series("date", values), **kw).dt.strftime("%Y-%m-%d %H:%M").to_list()


def test_us_dates_are_inferred_from_all_rows():
    assert _dates(["01/02/2024", "01/13/2024", "02/01/2024"]) == ["2024-01-02 00:00", "2024-01-13 00:00", "2024-02-01 00:00"]
    assert _dates(["13/01/2024", "02/01/2024"]) == ["2024-01-13 00:00", "2024-01-02 00:00"]
    assert _dates(["1/15/2024 1:05 PM"]) == ["2024-01-15 13:05"]
    assert _dates(["03.04.2024"]) == ["2024-04-03 00:00"]  # dots: day first


def test_ambiguous_dates_ask_for_the_format():
    with pytest.raises(InputError, match="--option date_format=%d/%m/%Y or --option date_format=%m/%d/%Y"):
        _dates(["01/02/2024", "03/04/2024"])
    assert _dates(["01/02/2024"], date_format="%m/%d/%Y") == ["2024-01-02 00:00"]
    with reader_options(date_format="%d/%m/%Y"):
        assert _dates(["01/02/2024"]) == ["2024-02-01 00:00"]


def test_offsets_are_honoured_not_shifted_by_a_day():
    assert _dates(["2024-01-02T00:00:00+05:00", "2024-01-03T00:00:00+05:00"]) == ["2024-01-02 00:00", "2024-01-03 00:00"]
    # a daily series across a DST change keeps its days
    assert _dates(["2024-03-30T00:00:00+01:00", "2024-03-31T00:00:00+02:00"]) == ["2024-03-30 00:00", "2024-03-31 00:00"]
    # times of day with different offsets are put on one clock (UTC)
    assert _dates(["2024-03-31T01:30:00+01:00", "2024-03-31T03:30:00+02:00"]) == ["2024-03-31 00:30", "2024-03-31 01:30"]
    assert _dates(["2024-01-02T10:00:00Z"]) == ["2024-01-02 10:00"]


def test_a_bad_date_names_its_row():
    with pytest.raises(InputError, match=r"row 3, column 'date': '2024-02-30'"):
        _dates(["2024-02-28", "2024-02-29", "2024-02-30"])
    with pytest.raises(InputError, match="mixes date formats"):
        _dates(["2024-01-01", "02/01/2024"])


def test_forecast_reads_us_dates_and_offsets(tmp_path):
    from finance.forecast import Forecaster

    path = tmp_path / "prices.csv"
    path.write_text("Date,Close\n12/30/2023,1\n12/31/2023,2\n01/01/2024,3\n")
    assert Forecaster.read_data(path)["date"].cast(pl.String).to_list() == ["2023-12-30", "2023-12-31", "2024-01-01"]
    path.write_text("Date,Close\n2024-01-01T00:00:00+05:00,1\n2024-01-02T00:00:00+05:00,2\n")
    assert Forecaster.read_data(path)["date"].cast(pl.String).to_list() == ["2024-01-01", "2024-01-02"]


def test_uci_files_as_published_have_no_header_and_are_detected(tmp_path):
    from nlp.sentiment import SentimentModel

    path = tmp_path / "amazon_cells_labelled.txt"
    path.write_text("".join(f"{text}\t{label}\n" for text, label in UCI_LINES))
    frame = read_table(path)
    assert frame.columns == ["0", "1"] and frame.height == len(UCI_LINES)  # the first line is data, not names
    data = SentimentModel.read_data(path)
    assert data["text"].to_list() == [text for text, _ in UCI_LINES] and data["label"].to_list()[:2] == [0, 1]
    path.write_text("Wow... Loved this place.\t1\nCrust is not good.\t0\n")  # yelp's first line
    assert read_table(path).height == 2
    named = tmp_path / "named.csv"
    named.write_text("country,2019,2020\nFrance,1,2\n")  # numbers as names beside short names: a header
    assert read_table(named).columns == ["country", "2019", "2020"]


def test_language_codes_are_normalised():
    from nlp._translation_data import to_iso1

    assert {to_iso1(code) for code in ("en", "eng", "en-US", "EN", "en_GB")} == {"en"}


def test_crlf_tsv_and_workbooks(tmp_path):
    path = tmp_path / "windows.tsv"
    path.write_bytes(b'text\tlabel\r\n"Great" phone\t1\r\nbad one\t0\r\n')
    assert read_table(path).rows() == [('"Great" phone', 1), ("bad one", 0)]
    workbook = tmp_path / "data.csv"
    workbook.write_bytes(b"PK\x03\x04" + b"\x00" * 100)  # an .xlsx renamed to .csv
    with pytest.raises(InputError, match="Save As > CSV UTF-8"):
        read_table(workbook)
    with pytest.raises(InputError, match="cannot open data.xlsx as a workbook"):
        read_table(workbook.with_suffix(".xlsx").write_bytes(b"PK\x03\x04") and workbook.with_suffix(".xlsx"))
    with pytest.raises(InputError, match="spreadsheet workbook this reader cannot open"):
        read_table(workbook.with_suffix(".numbers").write_bytes(b"PK\x03\x04") and workbook.with_suffix(".numbers"))


def _workbook(path, sheets: dict[str, list[list]]):
    """Write an .xlsx with xlsxwriter: dates as real date cells (mm/dd/yyyy), strings as text cells."""
    import datetime

    xlsxwriter = pytest.importorskip("xlsxwriter")
    book = xlsxwriter.Workbook(str(path))
    date_format = book.add_format({"num_format": "mm/dd/yyyy"})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime.date):
                    sheet.write_datetime(r, c, datetime.datetime.combine(value, datetime.time()), date_format)
                elif isinstance(value, str):
                    sheet.write_string(r, c, value)
                elif value is not None:
                    sheet.write_number(r, c, value)
    book.close()
    return path


def test_excel_workbook_reads_with_cell_types_and_csv_rules(tmp_path):
    """A workbook reads directly (no Save As CSV): whole numbers as integers, date cells as dates (never re-parsed
    as day/month text), numbers typed as text as numbers, null spellings as missing, an empty unnamed column and
    empty trailing rows dropped, the first sheet unless --option sheet= names another."""
    import datetime

    rows = [["id", "income", "opened", "status", None, "score"],
            [1, 1000.5, datetime.date(2024, 1, 31), "good", None, "1"],
            [2, 2000, datetime.date(2024, 2, 29), "n/a", None, "2.5"],
            [3, None, datetime.date(2024, 12, 1), "bad", None, "NA"]]
    path = _workbook(tmp_path / "applicants.xlsx", {"Applicants": rows, "Notes": [["read me"]]})
    frame = read_table(path)
    assert frame.schema == pl.Schema({"id": pl.Int64, "income": pl.Float64, "opened": pl.Date, "status": pl.String,
                                      "score": pl.Float64})
    assert frame.rows() == [(1, 1000.5, datetime.date(2024, 1, 31), "good", 1.0),
                            (2, 2000.0, datetime.date(2024, 2, 29), None, 2.5),
                            (3, None, datetime.date(2024, 12, 1), "bad", None)]
    renamed = tmp_path / "applicants.csv"  # a workbook saved with a text suffix reads as the workbook it is
    renamed.write_bytes(path.read_bytes())
    assert read_table(renamed).equals(frame)
    with reader_options(sheet="2", header="false"):
        assert read_table(path).rows() == [("read me",)]
    with reader_options(sheet="Notes"), pytest.raises(InputError, match="sheet 'Notes' has no rows of data"):
        read_table(path)  # its one cell is a header
    with reader_options(sheet="Summary"), pytest.raises(InputError, match=r"no sheet 'Summary'; its sheets: 'Applicants', 'Notes'"):
        read_table(path)
    with reader_options(separator=";"), pytest.raises(InputError, match=r"is a workbook, which does not use --option separator"):
        read_table(path)  # the workbook's cells are not split by a separator: refused, not ignored


def test_excel_workbook_refusals_name_sheet_row_and_column(tmp_path):
    path = _workbook(tmp_path / "book.xlsx", {"Cover": [["see the next sheet"]],
                                              "Data": [["income", "income", "x"], [1, 2, 3]]})
    with pytest.raises(InputError, match=r"sheet 'Cover' has no rows of data; its sheets: 'Cover', 'Data'"):
        read_table(path)
    with reader_options(sheet="Data"), pytest.raises(InputError, match=r"sheet 'Data': column name 'income' appears twice"):
        read_table(path)
    numbers = [["amount"]] + [[float(i)] for i in range(1, 30)] + [["1.000,5"]]  # one odd cell among numbers
    path = _workbook(tmp_path / "odd.xlsx", {"Sheet1": numbers})
    with pytest.raises(InputError, match=r"odd.xlsx, sheet 'Sheet1': row 30 \(line 31\), column 'amount': '1.000,5' is not a number"):
        read_table(path)


def test_json_list_of_texts_is_a_text_column(tmp_path):
    path = tmp_path / "payload.json"
    path.write_text('["Great film.", "Awful, \\"really\\"."]', encoding="utf-8")
    assert read_table(path).rows() == [("Great film.",), ('Awful, "really".',)] and read_table(path).columns == ["text"]
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InputError, match="JSON list of records, or of texts"):
        read_table(path)


def test_codes_and_named_text_columns_are_read_as_written(tmp_path):
    """`007` became 7 and `1.50` became 1.5: labels, ids and sentences that look numeric were rewritten silently."""
    from core.data.images import read_image_manifest
    from PIL import Image

    (tmp_path / "pics").mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (4, 4)).save(tmp_path / "pics" / f"{name}.png")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label,amount\npics/a.png,7,1.50\npics/b.png,10,2\n")
    assert [label for _, label in read_image_manifest(manifest)] == ["7", "10"]
    manifest.write_text("path,label,amount,zip\npics/a.png,007,1.50,02134\npics/b.png,010,2,90210\n")
    frame = read_table(manifest)
    assert frame["label"].to_list() == ["007", "010"] and frame["zip"].to_list() == ["02134", "90210"]  # codes
    assert frame["amount"].to_list() == [1.5, 2.0]  # a number stays a number unless named
    assert read_table(manifest, text_columns=["amount"])["amount"].to_list() == ["1.50", "2"]
    with reader_options(text_columns="amount"):
        assert read_table(manifest)["amount"].to_list() == ["1.50", "2"]
    assert [label for _, label in read_image_manifest(manifest)] == ["007", "010"]
    workbook = tmp_path / "m.parquet"  # typed cells: whole numbers without a trailing .0
    pl.DataFrame({"id": [1.0, 2.0], "score": [0.5, 1.5]}).write_parquet(workbook)
    assert read_table(workbook, text_columns=["id", "score"]).rows() == [("1", "0.5"), ("2", "1.5")]


def test_the_cli_reads_an_id_column_as_written(tmp_path, capsys):
    """ids 001 and 01 were read as 1 and 1, and refused as repeated; 0003 came back as 3."""
    import json

    from core.cli import main

    table = tmp_path / "reviews.csv"
    table.write_text("ref,text\n1.10,a fine film\n1.1,a dull film\n0003,fine\n")
    assert main(["predict", "nlp.sentiment", "--input", str(table), "--id", "ref"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in records] == ["1.10", "1.1", "0003"]


def test_codes_in_workbooks_late_in_the_file_and_headerless_files(tmp_path):
    """Text cells 001 / 01 of a workbook merged as 1; a zip 01760 after line 5,000 became 1760; a headerless file
    whose first line held a code lost that line as a header."""
    rows = [(f"img{i}.png", ["001", "01", "2"][i % 3], ["02134", "00501", "90210"][i % 3]) for i in range(12)]
    pl.DataFrame(rows, schema=["path", "label", "zip"], orient="row").write_excel(tmp_path / "w.xlsx")
    frame = read_table(tmp_path / "w.xlsx", text_columns=["label"])
    assert frame["label"].to_list()[:3] == ["001", "01", "2"] and frame["zip"].to_list()[:3] == ["02134", "00501", "90210"]
    late = tmp_path / "late.csv"
    late.write_text("zip,x\n" + "".join(f"{20000 + i},{i}\n" for i in range(5500)) + "01760,1\n00501,2\n")
    assert read_table(late)["zip"].to_list()[-2:] == ["01760", "00501"]
    headerless = tmp_path / "h.csv"
    headerless.write_text("".join(f"0.{i},0{i},{i},this is a long sentence with many words in it number {i}.\n"
                                  for i in range(1, 4)))
    assert read_table(headerless).columns == ["0", "1", "2", "3"] and read_table(headerless).height == 3


def test_a_workbook_that_unpacks_like_a_zip_bomb_is_refused_before_it_is_read(tmp_path):
    """A 4 MB .xlsx unpacking to 1.5 GB of sheet XML aborted the reader (a Rust allocation failure, exit 134) and with
    it the dashboard's process; it is refused from the zip's own directory, before anything is unpacked."""
    import zipfile

    from core.data import read_table
    from core.errors import InputError

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<c><v>0</v></c>" * 4_000_000)
    with pytest.raises(InputError, match="far more than a spreadsheet packs"):
        read_table(bomb)


def test_a_json_file_of_one_object_per_line_reads_as_json_lines(tmp_path):
    """Hugging Face datasets' to_json writes JSON lines under a .json name; it was refused as 'not valid JSON'."""
    from core.data.tables import read_table

    path = tmp_path / "train.json"
    path.write_text('{"text": "good", "label": 1}\n{"text": "bad", "label": 0}\n')
    frame = read_table(path)
    assert frame.columns == ["text", "label"] and frame["text"].to_list() == ["good", "bad"]
    path.write_text('{"text": "good", "label": 1}\n{"text": "bad", "label": \n')
    with pytest.raises(InputError, match="line 2 is not valid JSON"):
        read_table(path)
    path.write_text('[{"text": "good"}] [1]')  # not JSON lines: the JSON error as before
    with pytest.raises(InputError, match="not valid JSON: Extra data"):
        read_table(path)


def test_a_one_row_json_lines_export_reads_as_one_row(tmp_path):
    """One object on one line is a one-row `to_json` export (two rows read; one was refused as not a list)."""
    from core.data.tables import read_table

    path = tmp_path / "one.json"
    path.write_text('{"text": "good", "label": 1}\n')
    assert read_table(path)["text"].to_list() == ["good"]
    path.write_text('{\n  "text": "good"\n}\n')  # an object written out over several lines is not a table
    with pytest.raises(InputError, match="JSON list of records"):
        read_table(path)


@pytest.mark.parametrize("orient", ["columns", "index", "split", "table", "records"])
def test_every_pandas_to_json_layout_reads_as_its_rows(tmp_path, orient):
    """pandas' default `DataFrame.to_json()` ({column: {row: value}}) was read as one row of structs: check-data
    nlp.sentiment crashed with a traceback, finance.risk called a two-class target constant."""
    import pandas as pd

    from core.data.tables import read_table

    frame = pd.DataFrame({"text": ["a great film", "awful", "fine"], "label": [1, 0, 1]})
    path = tmp_path / "reviews.json"
    frame.to_json(path, orient=orient)
    table = read_table(path)
    assert table.columns == ["text", "label"] and table.rows() == list(frame.itertuples(index=False, name=None))


@pytest.mark.parametrize("name", ["notes.jsonl", "notes.json"])
def test_json_lines_starting_with_a_byte_order_mark_read(tmp_path, name):
    """Notepad's UTF-8 (with BOM) JSON lines: `cannot parse bom.jsonl: InternalError(TapeError) at character 0`."""
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + '{"text": "très bien", "label": 1}\n{"text": "awful", "label": 0}\n'.encode())
    assert read_table(path).rows() == [("très bien", 1), ("awful", 0)]
    if name.endswith(".jsonl"):
        assert scan_table(path).collect().rows() == [("très bien", 1), ("awful", 0)]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_reads_with_a_warning(tmp_path, encoding):
    """SQL Server `bcp -w` / .NET Encoding.Unicode write UTF-16 with no BOM: it was read as UTF-8, a NUL in every
    column name and value, and no warning."""
    path = tmp_path / "export.csv"
    path.write_bytes("text,label\nnaïve film,1\nawful,0\n".encode(encoding))
    with pytest.warns(UserWarning, match="no byte-order mark but reads as UTF-16"):
        table = read_table(path)
    assert table.columns == ["text", "label"] and table.rows() == [("naïve film", 1), ("awful", 0)]


@pytest.mark.parametrize("separator, name", [("\t", "reviews.tsv"), (";", "kommentare.csv"), ("|", "pipes.csv")])
def test_a_quoted_cell_holding_a_line_break_reads_as_one_cell_with_any_separator(tmp_path, separator, name):
    """pandas' to_csv(sep="\\t") of a cell with a line break read as 5 rows for 4 (records shifted, no warning); with
    `;` or `|` the sniffer fell back to `,` and refused the file: quoting and separator were judged line by line."""
    import pandas as pd

    frame = pd.DataFrame({"text": ["Loved it.\nWould watch again", "Dull and long", 'He said "wow"\nthen left', "ok"],
                          "label": [1, 0, 1, 0]})
    frame.to_csv(tmp_path / name, sep=separator, index=False)
    assert read_table(tmp_path / name).rows() == list(frame.itertuples(index=False, name=None))


def test_a_tab_file_with_plain_quote_marks_keeps_them(tmp_path):
    path = tmp_path / "plain.tsv"
    path.write_text('text\tlabel\n5" screen\t1\nsaid "hi\t0\nok\t1\n')
    assert read_table(path).rows() == [('5" screen', 1), ('said "hi', 0), ("ok", 1)]


def test_lines_ending_in_a_bare_carriage_return_read(tmp_path):
    """Excel for Mac's "CSV (Macintosh)": `has a header but no rows` (polars read the file as one line)."""
    path = tmp_path / "mac.csv"
    path.write_bytes(b'text,label\r"a great film",1\r"awful",0\r"fine",1\r')
    assert read_table(path).rows() == [("a great film", 1), ("awful", 0), ("fine", 1)]


def test_stray_quote_marks_are_read_as_characters_with_any_separator(tmp_path):
    """After records were joined at unbalanced quotes, `5" screen` / `7" wide` in a `;` file raised the csv module's
    own "new-line character seen in unquoted field"; and a comma file with two inch marks lost the rows between them
    silently (the two marks were read as one quoted cell)."""
    path = tmp_path / "sizes.csv"
    path.write_text('id;size\n1;5" screen\n2;7" wide\n3;ok\n')
    assert read_table(path).rows() == [(1, '5" screen'), (2, '7" wide'), (3, "ok")]
    path = tmp_path / "inches.csv"
    path.write_text('size,label\n5" screen,1\n7" screen,0\n9 inch,1\n')
    assert read_table(path).rows() == [('5" screen', 1), ('7" screen', 0), ("9 inch", 1)]
    path = tmp_path / "quoted.csv"  # RFC-quoted cells, an escaped quote included, keep their quoting
    path.write_text('text,label\n"a ""fine"", long film",1\n"dull, slow",0\n')
    assert read_table(path).rows() == [('a "fine", long film', 1), ("dull, slow", 0)]


def test_a_bare_cr_file_streams_as_it_reads_and_lazy_scanning_refuses_it(tmp_path, monkeypatch):
    """A CR-only CSV over the streaming size hung iter_table (one header line of millions of columns); scan_table
    returned 0 rows with glued names; an LF inside a quoted cell (Excel's Alt+Enter) turned the CR handling off."""
    import core.data.tables as tables
    from core.data.tables import iter_table

    path = tmp_path / "mac.csv"
    path.write_bytes(b'text,label\r"good\nfilm",1\r"bad film",0\r"ok",1\r')
    expected = [("good\nfilm", 1), ("bad film", 0), ("ok", 1)]
    assert read_table(path).rows() == expected
    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)
    assert [row for batch in iter_table(path, rows=2) for row in batch.rows()] == expected
    with pytest.raises(InputError, match="bare CR"):
        scan_table(path)


@pytest.mark.parametrize("orient", ["columns", "index", "split", "table"])
def test_pandas_to_json_with_row_labels_reads_upright_and_keeps_the_labels(tmp_path, orient):
    """orient="index" with customer ids as the index read transposed (columns c17, c42, c99, every value text), and
    every layout dropped the index, so records could not be joined back."""
    import pandas as pd

    from core.data.tables import read_table

    frame = pd.DataFrame({"text": ["good film", "bad film", "fine"], "label": [1, 0, 1]}, index=["c17", "c42", "c99"])
    path = tmp_path / "reviews.json"
    frame.to_json(path, orient=orient)
    table = read_table(path)
    assert table.columns == ["index", "text", "label"]
    assert table.rows() == [("c17", "good film", 1), ("c42", "bad film", 0), ("c99", "fine", 1)]


def test_a_quote_never_closed_in_the_whole_file_is_a_plain_character(tmp_path):
    """One stray quote at a cell's start (`"Best phone ever,1`) got the file refused with a message blaming the
    separator; with two stray quotes it read."""
    path = tmp_path / "reviews.csv"
    path.write_text('text,label\n"Best phone ever,1\ngood value,0\nbad battery,1\n')
    assert read_table(path).rows() == [('"Best phone ever', 1), ("good value", 0), ("bad battery", 1)]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_reads_for_non_latin_text(tmp_path, encoding):
    """Only mostly-Latin UTF-16 without a BOM was recognised: a Russian file read with a NUL in every name."""
    path = tmp_path / "export.csv"
    path.write_bytes("текст,метка\nотличный фильм,1\nплохо,0\n".encode(encoding))
    with pytest.warns(UserWarning, match="no byte-order mark"):
        table = read_table(path)
    assert table.columns == ["текст", "метка"] and table.rows() == [("отличный фильм", 1), ("плохо", 0)]
