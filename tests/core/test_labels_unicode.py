"""One label in two Unicode forms, with an invisible character, or in Turkish capitals is one label (core.data.labels,
core.data.images): a Mac writes file names decomposed (NFD), a keyboard types them composed (NFC)."""

from __future__ import annotations

import unicodedata

import polars as pl
import pytest

from core.errors import InputError

NFC, NFD = unicodedata.normalize("NFC", "Tumör"), unicodedata.normalize("NFD", "Tumör")


def test_labels_in_two_unicode_forms_or_with_invisible_characters_are_refused_as_twins():
    """They passed silently (trained as two classes) while 'pos' / 'pos ' was refused."""
    from core.data.labels import check_label_spellings

    for twin, said in ((unicodedata.normalize("NFD", "Kündigung"), "Unicode form"), ("Kündigung\u200b", "U\\+200B"),
                       ("\ufeffKündigung", "U\\+FEFF"), ("Kün\u00addigung", "U\\+00AD"), ("Kündigung\u2060", "U\\+2060")):
        with pytest.raises(InputError, match=f"differ only in .*{said}"):
            check_label_spellings([unicodedata.normalize("NFC", "Kündigung"), twin, "Verlängerung"])
    with pytest.raises(InputError, match="spaces around them"):  # as before
        check_label_spellings(["pos", "pos ", "neg"])
    assert check_label_spellings([NFD, "ohne Befund"]) is None  # one form throughout: nothing to say


def test_turkish_capitals_match_their_small_letters_and_dotless_i_stays_a_letter_of_its_own():
    """'İ'.casefold() is 'i' + U+0307: 'İYİ' / 'iyi' got no case warning and positive_label=iyi missed 'İyi'."""
    from core.data.labels import check_label_spellings, label_key
    from nlp._textdata import with_positive_label

    assert "differ only in case" in check_label_spellings(["İYİ", "iyi", "kötü"])
    assert label_key("İyi") == label_key("iyi") == label_key(" \u200bİYİ ")
    assert label_key("ıyı") != label_key("iyi") and check_label_spellings(["ıyı", "iyi"]) is None
    assert label_key(NFD) == label_key(NFC.upper())
    frame = pl.DataFrame({"text": ["a", "b"], "label": ["İyi", "Kötü"]})
    assert with_positive_label(frame, "iyi")["label"].to_list() == ["positive", "negative"]
    assert with_positive_label(frame, unicodedata.normalize("NFD", "KÖTÜ"))["label"].to_list() == ["negative", "positive"]


def test_image_folder_and_manifest_labels_are_read_in_nfc(tmp_path):
    """A class folder from a Mac zip (NFD) is the label typed (NFC); twin folders of both forms are one class."""
    from core.data.images import list_image_folder, read_image_manifest

    for name, file in ((NFD, "a.png"), (NFC, "b.png"), ("ohne Befund", "c.png")):
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / file).write_bytes(b"x")
    labels = [label for _, label, _ in list_image_folder(tmp_path)]
    assert sorted(labels) == [NFC, NFC, "ohne Befund"]
    (tmp_path / "manifest.csv").write_text(f"path,label\n{NFD}/a.png,{NFD}\nohne Befund/c.png,ohne Befund\n", encoding="utf-8")
    assert [label for _, label in read_image_manifest(tmp_path / "manifest.csv")] == [NFC, "ohne Befund"]


def test_medical_positive_label_and_evaluate_labels_match_across_unicode_forms():
    """positive_label typed (NFC) was 'not one of the labels' of NFD folders; a manifest typed NFC was 'unknown to
    this model' trained on NFD folders."""
    from medical.classification import ClassificationData, MedicalClassifier, choose_positive

    assert choose_positive([NFD, "ohne Befund"], given=NFC)[0] == 0
    model = MedicalClassifier()
    model.label_names_ = [NFD, "ohne Befund"]
    data = model._in_own_spelling(ClassificationData(items=[0, 1], labels=[NFC, "ohne Befund"]))
    assert data.labels == [NFD, "ohne Befund"]
