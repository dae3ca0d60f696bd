"""Bad inputs on every domain page: an st.error with a friendly message, no exception, no traceback, no server path.
Also `apps.common.save_upload` on its own: type sniffing, empty and oversized files, zip-slip and symlink zips."""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from core.errors import InputError  # noqa: E402

APPS = Path(__file__).resolve().parents[2] / "apps"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture()
def home(tmp_path, monkeypatch):
    """A fresh VERTICALS_HOME for the page (models and jobs written by the test stay in it)."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("VERTICALS_HOME", str(path))
    return path


@pytest.fixture()
def tiny_sentiment(home):
    """A tiny saved sentiment model (random-init 2-layer encoder) promoted to the page's default: no MiniLM load."""
    from core.artifacts import models_dir, promote_model
    from nlp.sentiment import SentimentModel
    from tests.nlp.tiny import tiny_encoder_dir

    path = models_dir() / "tiny-sentiment"
    SentimentModel.from_encoder(tiny_encoder_dir(home / "encoder"), device="cpu", name="tiny").save(path)
    promote_model("nlp.sentiment", path)
    return path


@pytest.fixture()
def no_model(monkeypatch):
    """Pages whose bad-upload path needs no model: skip loading the (slow) default."""
    from apps import common

    monkeypatch.setattr(common, "load_model", lambda task, source: None)


def _preimport(*modules: str) -> None:
    """AppTest puts apps/ first on sys.path, where apps/<domain>.py would shadow the <domain> package: import it first."""
    import importlib

    for name in modules:
        importlib.import_module(name)


def _upload(app, key: str, name: str, data: bytes, mime: str = "application/octet-stream"):
    """Set a file on the uploader with `key` (looked up afresh: element handles go stale after a run) and rerun."""
    return app.file_uploader(key=key).set_value((name, data, mime)).run()


def _texts(app) -> list[str]:
    """Every piece of text the page rendered."""
    out = []
    for kind in ("markdown", "error", "warning", "info", "success", "caption", "exception", "text", "code"):
        for element in getattr(app, kind, []):
            out.append(str(getattr(element, "value", "") or getattr(element, "message", "") or ""))
    return out


def _plain(markdown: str) -> str:
    """Markdown as it reads on screen: its escapes dropped (errors are escaped, `apps.common.escape_markdown`)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _assert_friendly_error(app, *fragments: str) -> str:
    """The page's errors as they read on screen, joined; each holds no traceback or server path."""
    assert not app.exception, [e.message for e in app.exception]
    errors = [_plain(e.value) for e in app.error]
    assert errors, f"no st.error shown; rendered: {_texts(app)}"
    forbidden = {"Traceback", tempfile.gettempdir() + "/", str(Path.home()) + "/", "verticals-session-"}
    for text in map(_plain, _texts(app)):
        for bad in forbidden:
            assert bad not in text, f"{bad!r} leaked into the page: {text!r}"
    joined = " | ".join(errors)
    for fragment in fragments:
        assert fragment in joined, joined
    return joined


def _zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


# --- pages -----------------------------------------------------------------------------------------------------------


def test_nlp_sentiment_empty_text_and_wrong_upload(tiny_sentiment):
    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=120).run()
    assert not app.exception, app.exception
    assert app.selectbox(key="nlp-sentiment-model").value == f"Saved: {tiny_sentiment.name}"  # the promoted tiny model
    app.text_area(key="nlp-sentiment-text").set_value("   \n  ").run()
    app.button(key="nlp-sentiment-run").click().run()
    _assert_friendly_error(app)
    app.text_area(key="nlp-sentiment-text").set_value("fine text").run()
    _upload(app, "nlp-sentiment-upload", "reviews.exe", b"MZ\x90\x00 not a table")
    app.button(key="nlp-sentiment-run").click().run()
    _assert_friendly_error(app, "unsupported file type")


def test_nlp_sentiment_empty_text_says_what_to_do(tiny_sentiment):
    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=120).run()
    app.text_area(key="nlp-sentiment-text").set_value("").run()
    app.button(key="nlp-sentiment-run").click().run()
    message = _assert_friendly_error(app)
    assert "Something went wrong" not in message and "text" in message.lower(), message


def test_vision_upload_with_wrong_content(home):
    _preimport("vision", "vision.classification")
    app = AppTest.from_file(str(APPS / "vision.py"), default_timeout=180)
    app.session_state["vision-task"] = "Detection"  # Haar: no model to train or cache
    app.session_state["vision-input"] = "Upload"
    app.run()
    assert not app.exception, app.exception
    key = "vision-upload-vision.detection"
    _upload(app, key, "photo.png", JPEG, "image/png")
    _assert_friendly_error(app, "named .png but its content is jpeg")
    _upload(app, key, "photo.png", b"this is plain text, not an image", "image/png")
    _assert_friendly_error(app)


def test_speech_upload_that_is_not_audio(home, no_model):
    _preimport("speech", "speech.audio")
    app = AppTest.from_file(str(APPS / "speech.py"), default_timeout=120)
    app.session_state["speech-input"] = "Upload"
    app.run()
    assert not app.exception, app.exception
    key = "speech-upload"
    _upload(app, key, "talk.wav", PNG, "audio/wav")
    _assert_friendly_error(app, "content is png")
    _upload(app, key, "talk.wav", b"RIFF\x10\x00\x00\x00WAVEjunk-not-a-wave-file", "audio/wav")
    _assert_friendly_error(app)


def test_speech_unreadable_audio_message_has_no_object_repr(home, no_model):
    _preimport("speech", "speech.audio")
    app = AppTest.from_file(str(APPS / "speech.py"), default_timeout=120)
    app.session_state["speech-input"] = "Upload"
    app.run()
    _upload(app, "speech-upload", "talk.wav", b"RIFF\x10\x00\x00\x00WAVEjunk-not-a-wave-file", "audio/wav")
    message = _assert_friendly_error(app)
    assert " object at 0x" not in message, message


def test_speech_unreadable_upload_names_the_file_and_the_uploaders_formats(home, no_model):
    """'audio is not readable audio (...); pass a WAV, FLAC, OGG, MP3 or M4A file' named no file and fewer formats than
    the uploader takes: the page names the upload and lists the formats it accepts (common.AUDIO_SUFFIXES)."""
    from apps import common

    _preimport("speech", "speech.audio")
    app = AppTest.from_file(str(APPS / "speech.py"), default_timeout=120)
    app.session_state["speech-input"] = "Upload"
    app.run()
    _upload(app, "speech-upload", "talk.mp3", b"hello world", "audio/mpeg")
    message = _assert_friendly_error(app).replace("\\", "")
    assert message.startswith("talk.mp3 is not readable audio (") and "pass a WAV" not in message, message
    assert message.endswith("; upload a recording as one of: " + ", ".join(sorted(common.AUDIO_SUFFIXES))), message


def test_medical_zip_slip_and_garbage_image(home, no_model):
    _preimport("medical", "medical.io", "medical.classification")
    app = AppTest.from_file(str(APPS / "medical.py"), default_timeout=180)
    app.session_state["medical-task"] = "Classification"
    app.session_state["medical-input"] = "Upload"
    app.run()
    assert not app.exception, app.exception
    key = "medical-upload-medical.classification"
    _upload(app, key, "study.zip", _zip({"../../escape.dcm": b"x"}), "application/zip")
    _assert_friendly_error(app, "outside its folder")
    assert not (home.parent / "escape.dcm").exists() and not Path(tempfile.gettempdir(), "escape.dcm").exists()
    _upload(app, key, "scan.png", b"definitely not a png", "image/png")
    _assert_friendly_error(app)


def test_finance_empty_and_wrong_table_upload(home):
    _preimport("finance", "finance.risk")
    from core.artifacts import cache_dir
    from finance.risk import DEFAULT_NAME, RiskScorer
    from tests.finance.contract_cases import synthetic_applicants, tiny_config

    RiskScorer().fit(synthetic_applicants(200), config=tiny_config()).save(cache_dir("finance.risk") / DEFAULT_NAME)
    app = AppTest.from_file(str(APPS / "finance.py"), default_timeout=180)
    app.session_state["risk-input"] = "Upload a table"
    app.run()
    assert not app.exception, app.exception
    key = "risk-upload"
    _upload(app, key, "applicants.csv", b"", "text/csv")
    _assert_friendly_error(app, "empty")
    _upload(app, key, "applicants.xlsx", b"PK\x03\x04 not really", "application/octet-stream")
    _assert_friendly_error(app)
    _upload(app, key, "applicants.csv", b"colour,size\nred,3\nblue,4\n", "text/csv")
    _assert_friendly_error(app)


def test_a_zip_of_one_table_is_that_table_on_the_risk_tabs(home):
    """A .zip holding one table (in nested folders) said 'the upload is a folder; pass a table file (...)': Evaluate
    and Predict read the table in it; a .zip without one says to upload the table, with the formats the tab reads."""
    _preimport("finance", "finance.risk")
    from core.artifacts import cache_dir
    from finance.risk import DEFAULT_NAME, RiskScorer
    from tests.finance.contract_cases import synthetic_applicants, tiny_config

    frame = synthetic_applicants(200)
    RiskScorer().fit(frame, config=tiny_config()).save(cache_dir("finance.risk") / DEFAULT_NAME)
    nested = _zip({"export/2024/applicants.csv": frame.write_csv().encode(), "export/notes/readme.txt": b"hello"})
    app = AppTest.from_file(str(APPS / "finance.py"), default_timeout=180).run()
    _upload(app, "finance.risk-evaluate-upload", "export.zip", nested, "application/zip")
    app.button(key="finance.risk-evaluate-run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert any("n = 200" in c.value for c in app.caption), [c.value for c in app.caption]
    _upload(app, "finance.risk-evaluate-upload", "notes.zip", _zip({"a/readme.txt": b"hi"}), "application/zip")
    app.button(key="finance.risk-evaluate-run").click().run()
    message = _assert_friendly_error(app)
    assert message == ("the .zip holds no table this tab reads; upload the table itself, one of: .csv, .data, .json, "
                       ".jsonl, .ndjson, .ods, .parquet, .tsv, .xls, .xlsx"), message  # apps/finance.py's SUFFIXES
    app = AppTest.from_file(str(APPS / "finance.py"), default_timeout=180)
    app.session_state["risk-input"] = "Upload a table"
    app.run()
    _upload(app, "risk-upload", "flat.zip", _zip({"applicants.csv": frame.write_csv().encode()}), "application/zip")
    assert not app.exception and not app.error, [e.value for e in app.error]
    _upload(app, "risk-upload", "two.zip", _zip({"a.csv": b"x\n1\n", "b/c.parquet": b"PAR1"}), "application/zip")
    assert _assert_friendly_error(app).startswith("the .zip holds 2 files this tab could read (a.csv, b/c.parquet); "
                                                  "upload the table itself, one of: .csv")


def test_a_zip_of_one_table_is_that_table_on_sentiment_predict(tiny_sentiment):
    """Sentiment Predict reads the one table in a .zip, with its 'Text column' picker; two tables are refused."""
    _preimport("nlp", "nlp.sentiment", "nlp.qa")
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=120).run()
    _upload(app, "nlp-sentiment-upload", "reviews.zip", _zip({"export/reviews.csv": b"id,review\n1,a fine film\n"}))
    assert [b.value for b in app.selectbox if b.label == "Text column"] == ["review"]
    app.button(key="nlp-sentiment-run").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    _upload(app, "nlp-sentiment-upload", "two.zip", _zip({"a.csv": b"review\nok\n", "b.txt": b"fine\n"}))
    app.button(key="nlp-sentiment-run").click().run()
    assert _assert_friendly_error(app) == ("the .zip holds 2 files this tab could read (a.csv, b.txt); upload the "
                                           "table itself, one of: .csv, .json, .jsonl, .ndjson, .ods, .parquet, "
                                           ".tsv, .txt, .xls, .xlsx")


def test_a_zip_without_a_squad_file_on_qa_evaluate_says_to_upload_it(home, no_model, monkeypatch):
    """QA Evaluate with a nested .zip said 'outer does not exist or is not a file; pass a SQuAD JSON file'."""
    from apps import common

    _preimport("nlp", "nlp.sentiment", "nlp.qa")

    class Model:
        card = {"task": "nlp.qa"}

        def evaluate(self, data):
            return {"task": "nlp.qa", "metrics": {"f1": {"value": 1.0}}, "n": len(data)}

    monkeypatch.setattr(common, "load_model", lambda task, source: Model())
    app = AppTest.from_file(str(APPS / "nlp.py"), default_timeout=120)
    app.session_state["nlp-task"] = "Extractive QA"
    app.run()
    nested = _zip({"outer/inner/data.csv": b"text,label\ngood,1\n", "outer/other/readme.txt": b"hello"})
    _upload(app, "nlp.qa-evaluate-upload", "nested.zip", nested, "application/zip")
    app.button(key="nlp.qa-evaluate-run").click().run()
    assert _assert_friendly_error(app) == ("the .zip holds no SQuAD JSON file this tab reads; upload the SQuAD JSON "
                                           "file itself, one of: .json, .jsonl, .ndjson, .parquet, .pq")


# --- save_upload directly --------------------------------------------------------------------------------------------


class FakeUpload:
    """What save_upload reads from st.file_uploader's UploadedFile."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


@pytest.fixture()
def session(tmp_path, monkeypatch):
    from apps import common

    folder = tmp_path / "session"
    folder.mkdir()
    monkeypatch.setattr(common, "session_dir", lambda: folder)
    return folder


def test_save_upload_rejects_mismatched_and_empty(session):
    from apps.common import save_upload

    with pytest.raises(InputError, match="content is jpeg"):
        save_upload(FakeUpload("cat.png", JPEG), {".png"})
    with pytest.raises(InputError, match="empty"):
        save_upload(FakeUpload("cat.png", b""), {".png"})
    with pytest.raises(InputError, match="unsupported file type"):
        save_upload(FakeUpload("cat.exe", PNG), {".png"})
    with pytest.raises(InputError, match="not a zip"):
        save_upload(FakeUpload("data.zip", b"hello"), {".csv"})
    with pytest.raises(InputError, match="no file"):
        save_upload(None)


def test_an_unsupported_type_names_a_zip_once(session):
    """A list of types that holds .zip said '..., .zip (or a .zip)'."""
    from apps.common import save_upload

    with pytest.raises(InputError) as listed:
        save_upload(FakeUpload("notes.exe", PNG), {".csv", ".zip"})
    assert str(listed.value).endswith("upload one of: .csv, .zip")
    with pytest.raises(InputError) as unlisted:
        save_upload(FakeUpload("notes.exe", PNG), {".csv"})
    assert str(unlisted.value).endswith("upload one of: .csv (or a .zip)")


def test_workbook_upload_is_kept_whole_and_reads_as_a_table(session, tmp_path):
    """An .xlsx is a zip container: it is saved as the file it is, never extracted as an archive."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    from apps.common import save_upload
    from core.data import read_table

    book_path = tmp_path / "scores.xlsx"
    book = xlsxwriter.Workbook(str(book_path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["text", "label"])
    sheet.write_row(1, 0, ["fine", 1])
    book.close()
    saved = save_upload(FakeUpload("scores.xlsx", book_path.read_bytes()), {".csv", ".xlsx"})
    assert saved.is_file() and saved.suffix == ".xlsx" and read_table(saved).rows() == [("fine", 1)]


def test_save_upload_size_cap(session, monkeypatch):
    from apps import common

    monkeypatch.setattr(common, "MAX_UPLOAD_MB", 0.001)
    with pytest.raises(InputError, match="limit"):
        common.save_upload(FakeUpload("big.csv", b"a,b\n" * 1000), {".csv"})


@pytest.mark.parametrize("entries", [{"../evil.txt": b"x"}, {"/abs/evil.txt": b"x"}, {"ok/../../evil.txt": b"x"}])
def test_save_upload_refuses_zip_slip(session, entries):
    from apps.common import save_upload

    with pytest.raises(InputError, match="outside its folder"):
        save_upload(FakeUpload("data.zip", _zip(entries)), {".csv"})
    assert not (session.parent / "evil.txt").exists()


def test_save_upload_refuses_zip_symlink(session):
    from apps.common import save_upload

    with pytest.raises(InputError, match="symlink"):
        save_upload(FakeUpload("data.zip", _zip({"a.csv": b"x,y\n"}, symlink="link.csv")), {".csv"})


def test_save_upload_keeps_hostile_names_inside_the_session(session):
    from apps.common import save_upload

    for name in ("../../etc/passwd.csv", "/etc/cron.d/x.csv", "..\\..\\win.csv", ".hidden.csv"):
        path = save_upload(FakeUpload(name, b"a,b\n1,2\n"), {".csv"})
        assert session.resolve() in path.resolve().parents, (name, path)
        assert os.path.basename(path) and not path.name.startswith(".")


def test_save_upload_extracts_a_good_zip_inside_the_session(session):
    from apps.common import save_upload

    path = save_upload(FakeUpload("data.zip", _zip({"folder/a.csv": b"x\n1\n", "folder/b.csv": b"x\n2\n"})), {".csv"})
    assert session.resolve() in path.resolve().parents
    assert sorted(p.name for p in path.iterdir()) == ["a.csv", "b.csv"]


# --- odd but valid images --------------------------------------------------------------------------------------------


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def _drawn_sizes(app) -> list[str]:
    return [image.caption for element in app.get("image") for image in element.proto.imgs]


def test_medical_one_slice_nifti_is_drawn_as_a_2d_image(home, no_model, tmp_path):
    nibabel = pytest.importorskip("nibabel")
    import numpy as np

    _preimport("medical", "medical.io", "medical.segmentation")
    path = tmp_path / "one_slice.nii.gz"
    nibabel.save(nibabel.Nifti1Image(np.random.default_rng(0).random((32, 32, 1), dtype=np.float32), np.eye(4)), str(path))
    app = AppTest.from_file(str(APPS / "medical.py"), default_timeout=180)
    app.session_state["medical-task"] = "Segmentation"
    app.session_state["medical-input"] = "Upload"
    app.run()
    _upload(app, "medical-upload-medical.segmentation", "one_slice.nii.gz", path.read_bytes())
    assert not app.exception, [e.message for e in app.exception]
    assert not [s for s in app.slider if s.key == "medical-slice"] and _drawn_sizes(app)


@pytest.mark.parametrize("task", ["Segmentation", "Classification"])
def test_medical_very_wide_image_is_shown(home, no_model, task):
    _preimport("medical", "medical.io", "medical.classification")
    _upload_a_wide_strip("medical", task)


class FakeVisionModel:
    """What the Vision page reads from a classifier or detector; predicts without a network."""

    label_names = ["strip", "other"]
    score_threshold = 0.5
    card = {"task": "fake"}

    def predict(self, images, top_k=None, score_threshold=None):
        if top_k is not None:
            return [{"label": "strip", "score": 0.9, "top_k": [{"label": "strip", "score": 0.9}, {"label": "other", "score": 0.1}]}]
        return [{"detections": [{"label": "strip", "score": 0.9, "box": [0, 0, 19999, 1]}]}]


@pytest.mark.parametrize("task", ["Classification", "Detection"])
def test_vision_very_wide_image_is_shown(home, monkeypatch, task):
    from apps import common

    _preimport("vision", "vision.classification")
    monkeypatch.setattr(common, "load_model", lambda task, source: FakeVisionModel())
    _upload_a_wide_strip("vision", task)


def _upload_a_wide_strip(domain: str, task: str) -> None:
    """Upload a 20000x2 PNG on `domain`'s page for `task`: it is drawn (a display copy) and raises nothing."""
    app = AppTest.from_file(str(APPS / f"{domain}.py"), default_timeout=180)
    app.session_state[f"{domain}-task"] = task
    app.session_state[f"{domain}-input"] = "Upload"
    app.run()
    _upload(app, f"{domain}-upload-{domain}.{task.lower()}", "strip.png", _png(20000, 2), "image/png")
    assert not app.exception, [e.message for e in app.exception]
    assert _drawn_sizes(app) and not app.error


def test_error_messages_name_the_upload_not_its_server_folder():
    """show_error turns any upload path (this session's or another's) into the file's own name, in any order."""
    def page():
        import tempfile

        from apps import common
        from core.errors import InputError

        own = common.session_dir() / "583f0c1d2e4b" / "x.nii.gz"
        other = f"{tempfile.gettempdir()}/verticals-session-_fb99zmj/6d28c88631d7"
        common.show_error(InputError(f"{own} is not a NIfTI file"))
        common.show_error(InputError(f"{other}/cat holds no images"))
        common.show_error(InputError(f"{other} holds no class folders"))
        common.show_error(InputError(f"cannot read {tempfile.gettempdir()}/elsewhere/y.csv"))

    app = AppTest.from_function(page, default_timeout=30).run()
    assert [_plain(e.value) for e in app.error] == ["x.nii.gz is not a NIfTI file", "cat holds no images",
                                            "the upload holds no class folders", "cannot read …/elsewhere/y.csv"]


def test_an_empty_zip_is_called_empty(session):
    from apps.common import save_upload

    with pytest.raises(InputError, match="zip archive is empty"):
        save_upload(FakeUpload("data.zip", _zip({})), {".csv"})
    with pytest.raises(InputError, match="zip archive is empty"):
        save_upload(FakeUpload("data.zip", _zip({"folder/": b""})), {".csv"})


def test_a_pandas_to_json_table_uploads_on_the_risk_page(home):
    """Every table upload refused .json ("unsupported file type .json; upload one of: .csv, ..."), though the README
    reads pandas' to_json layouts in every task and the CLI scored the same file."""
    _preimport("finance", "finance.risk")
    from core.artifacts import cache_dir
    from finance.risk import DEFAULT_NAME, RiskScorer
    from tests.finance.contract_cases import synthetic_applicants, tiny_config

    frame = synthetic_applicants(200)
    RiskScorer().fit(frame, config=tiny_config()).save(cache_dir("finance.risk") / DEFAULT_NAME)
    app = AppTest.from_file(str(APPS / "finance.py"), default_timeout=180)
    app.session_state["risk-input"] = "Upload a table"
    app.run()
    _upload(app, "risk-upload", "applicants.json", frame.head(30).to_pandas().to_json().encode(), "application/json")
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert any(table.value.shape[0] == 30 for table in app.dataframe), [t.value.shape for t in app.dataframe]
