"""Tables as spreadsheets in other locales write them: grouped numbers, decimal commas, Windows code pages, `;` files
with a comma in the header. Each case was read wrongly (silently) before."""

from __future__ import annotations

import warnings

import polars as pl
import pytest

from core.data import read_table, require_columns
from core.data import tables
from core.data.tables import iter_table, reader_options
from core.data.text import read_text
from core.errors import InputError


def _read_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning at all
        return read_table(path)


# -- F1: a `.` thousands separator in a decimal-comma file ---------------------------------------------------------
def test_dot_groups_thousands_in_a_decimal_comma_file(tmp_path):
    path = tmp_path / "de.csv"  # German Excel exports whole amounts as #.##0: 1.169 is one thousand one hundred ...
    path.write_text("Konto;Laufzeit;Betrag;Zins\nA11;6;1.169;4,5\nA14;12;2.096;3,25\nA11;24;870;1,0\nA14;24;12.345;2\n")
    with pytest.warns(UserWarning, match=r"'Betrag'.*read as numbers written 1\.234,5"):
        frame = read_table(path)
    assert frame["Betrag"].to_list() == [1169, 2096, 870, 12345] and frame["Betrag"].dtype == pl.Float64
    assert frame["Zins"].to_list() == [4.5, 3.25, 1.0, 2.0]


def test_dot_groups_thousands_with_the_decimal_option(tmp_path):
    path = tmp_path / "eu.csv"  # no comma anywhere: only --option decimal=, says the file is German
    path.write_text("Konto;Laufzeit;Betrag\nA11;24;4.870\nA12;12;950\n")
    with reader_options(decimal=","), pytest.warns(UserWarning, match="'Betrag'"):
        assert read_table(path)["Betrag"].to_list() == [4870, 950]
    assert read_table(path)["Betrag"].to_list() == [4.87, 950.0]  # no decimal-comma evidence: read as before


def test_grouped_numbers_stream_as_the_head_reads_them(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text("id;Betrag;Zins\n" + "".join(f"{i};{i}.{i % 1000:03d},50;{i % 7},5\n" for i in range(1, 400)))
    monkeypatch.setattr(tables, "STREAM_TEXT_BYTES", 0)
    monkeypatch.setattr(tables, "HEAD_ROWS", 50)
    with pytest.warns(UserWarning, match="'Betrag'"):
        frame = pl.concat(list(iter_table(path, rows=64)))
    assert frame.height == 399 and frame["Betrag"][-1] == 399_399.5 and frame["Zins"][0] == 1.5


# -- F2: grouped numbers and quoted decimal commas -------------------------------------------------------------
@pytest.mark.parametrize("text, expected, convention", [
    ("id;x\n1;1.234,56\n2;12,5\n3;2.000,00\n", [1234.56, 12.5, 2000.0], "1.234,5"),  # German
    ("id;x\n1;1 234,5\n2;12,5\n3;2 000\n", [1234.5, 12.5, 2000.0], "1 234,5"),  # French, a space
    ("id;x\n1;1\u00a0234,5\n2;-12,5\n3;12\u00a0000\n", [1234.5, -12.5, 12000.0], "no-break space"),
    ("id;x\n1;1\u202f234,5\n2;12,5\n3;2\u202f000\n", [1234.5, 12.5, 2000.0], "narrow no-break space"),
    ("id,x\n1,1'234.50\n2,12.5\n3,2'000\n", [1234.5, 12.5, 2000.0], "1'234.5"),  # Swiss
    ("id,x\n1,1\u2019234.50\n2,12.5\n3,2\u2019000\n", [1234.5, 12.5, 2000.0], "1\u2019234.5"),
    ('id,x\n1,"1,23,456.00"\n2,"12,345"\n3,100\n', [123456.0, 12345.0, 100.0], "Indian"),
    ('id,x\n1,"1,5"\n2,"2,25"\n3,"3,0"\n', [1.5, 2.25, 3.0], "',' decimal mark"),  # Google Sheets in de/fr
    ("id\tx\n1\t1,234.5\n2\t12\n3\t2,000,000\n", [1234.5, 12.0, 2_000_000.0], "1,234.5"),  # a TSV's US grouping
])
def test_grouped_numbers_are_numbers(tmp_path, text, expected, convention):
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.warns(UserWarning, match=f"'x' read as numbers .*{convention}"):
        frame = read_table(path)
    assert frame["x"].dtype.is_numeric() and frame["x"].to_list() == pytest.approx(expected)


@pytest.mark.parametrize("values", [["1.2.3", "4.5.6"], ["12,34,5", "1,2"], ["02.01.2024", "03.01.2024"],
                                    ["1.234,5", "1,234.5"], ["012 345", "1 234"]])
def test_codes_and_mixed_conventions_stay_text(tmp_path, values):
    path = tmp_path / "codes.csv"
    path.write_text("id;code\n" + "".join(f'{i};"{v}"\n' for i, v in enumerate(values)))
    assert read_table(path)["code"].dtype == pl.String


def test_ambiguous_groups_follow_the_files_decimal_mark(tmp_path):
    path = tmp_path / "us.csv"
    path.write_text('id,x\n1,"1,234"\n2,"5,678"\n')
    assert _read_quietly(path)["x"].to_list() == [1234, 5678]  # a comma file: 1,234 is a thousand, as before
    path.write_text('id,x,rate\n1,"1,234","1,5"\n2,"5,678","2,25"\n')  # another column writes decimal commas
    with pytest.warns(UserWarning, match="'x' .*the file's decimal mark decided"):
        frame = read_table(path)
    assert frame["x"].to_list() == [1.234, 5.678] and frame["rate"].to_list() == [1.5, 2.25]
    path.write_text("id;x\n1;1,234\n2;5,678\n")
    assert _read_quietly(path)["x"].to_list() == [1.234, 5.678]  # a `;` file sniffs decimal commas, as before


def test_plain_us_thousands_stay_quiet(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text('id,amount\n1,"1,234.5"\n2,17\n')
    assert _read_quietly(path)["amount"].to_list() == [1234.5, 17.0]


# -- F6: Windows code pages other than cp1252 ----------------------------------------------------------------------
TURKISH = "text;label\r\nFilmi çok beğendim;İyi\r\nHiç beğenmedim, sıkıcı;Kötü\r\nŞahane;İyi\r\n"
POLISH = "text;label\r\nŚwietny film, polecam;dobry\r\nNudny i zły;zły\r\nŁódź, piękne zdjęcia;dobry\r\n"
CZECH = "text;label\r\nPěkný film;dobrý\r\nNudné a špatné, můj čas;špatný\r\nŘeka je krásná;dobrý\r\n"


@pytest.mark.parametrize("text, encoding", [(TURKISH, "cp1254"), (POLISH, "cp1250"), (CZECH, "cp1250")])
def test_turkish_and_central_european_code_pages(tmp_path, text, encoding):
    path = tmp_path / "reviews.csv"
    path.write_bytes(text.encode(encoding))
    with pytest.warns(UserWarning, match=f"read as {encoding}.*--option encoding="):
        frame = read_table(path)
    expected = [line.split(";") for line in text.split("\r\n")[1:-1]]
    assert [list(row) for row in frame.rows()] == expected
    with pytest.warns(UserWarning, match=encoding):
        assert read_text(path) == text


@pytest.mark.parametrize("text", [
    "city;note\nZürich;Größe, Straße\nParis;très bien, le cœur, sœur\nMadrid;¿Qué tal? ¡Olé! Mañana\n",
    "name;amount\nDvorák Škoda;£5 in m² and m³\nŽiga Šuštar;€3\n",  # š ž are cp1252 letters too
])
def test_western_cp1252_stays_quiet(tmp_path, text):
    path = tmp_path / "west.csv"
    path.write_bytes(text.encode("cp1252"))
    assert [";".join(row) for row in _read_quietly(path).rows()] == text.splitlines()[1:]


def test_icelandic_stays_cp1252_with_a_warning(tmp_path):
    text = "orð;setning\nþað;Það er gott að vera hér, þú ert ágætur\nýsa;Ýmislegt í sjónum og ærnar\n"
    path = tmp_path / "is.csv"
    path.write_bytes(text.encode("cp1252"))
    with pytest.warns(UserWarning, match="read as cp1252.*encoding=cp1254"):
        frame = read_table(path)
    assert [";".join(row) for row in frame.rows()] == text.splitlines()[1:]


# -- F7: a `;` file whose header holds a comma ------------------------------------------------------------------
def test_semicolon_file_with_a_comma_in_the_header(tmp_path):
    path = tmp_path / "kurs.csv"
    path.write_text("Datum;Kurs, EUR\n02.01.2024;101,5\n03.01.2024;102,25\n04.01.2024;103,0\n")
    frame = _read_quietly(path)
    assert frame.columns == ["Datum", "Kurs, EUR"] and frame["Kurs, EUR"].to_list() == [101.5, 102.25, 103.0]
    path.write_text("Konto;Laufzeit;Zinssatz, %;Kündigung\nA11;6;5,00;nein\nA14;12;4,5;ja\n")
    assert _read_quietly(path).columns == ["Konto", "Laufzeit", "Zinssatz, %", "Kündigung"]
    path.write_text("a,b\n1,2\n3,4\n")  # a comma file stays a comma file
    assert _read_quietly(path).columns == ["a", "b"]


def test_missing_column_error_hints_at_the_separator():
    frame = pl.DataFrame({"Datum;Kurs": ["02.01.2024;101"], " EUR": [5]})
    with pytest.raises(InputError, match="is missing column.*Kurs.*--option separator=semicolon"):
        require_columns(frame, ["Kurs"], "kurs.csv")
    for names in (["a"], ["Kurs, EUR"]):  # a comma in a name is no sign of a wrong separator
        with pytest.raises(InputError) as refused:
            require_columns(pl.DataFrame({name: [1] for name in names}), ["b"])
        assert "separator" not in str(refused.value)
