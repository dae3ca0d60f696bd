"""Contract cases for the medical tasks: tiny networks built in code, synthetic data."""

from __future__ import annotations

import numpy as np

from tests.common import ContractCase
from tests.medical._fixtures import disc_pair, write_image_folder, write_pairs


def segmentation_case(tmp_path):
    from medical.segmentation import Segmenter

    config = Segmenter.Config(channels=(4, 8), num_res_units=0, patch_size=16, epochs=1, samples_per_epoch=4,
                              batch_size=4, max_steps=1)
    model = Segmenter.from_config(config, ["background", "label_1"], device="cpu")
    data_dir = write_pairs(tmp_path / "seg", count=3)
    bad_mask = write_pairs(tmp_path / "bad", count=2)
    from PIL import Image

    Image.fromarray(np.full((24, 24), 7, np.uint8)).save(bad_mask / "masks" / "case0.png")  # unknown label 7 with 0/255
    truncated = tmp_path / "truncated.nii.gz"
    truncated.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 20)
    return ContractCase(
        model=model,
        predict_inputs=[disc_pair(0)[0].astype(float), data_dir / "images" / "case1.png"],
        fit_data=data_dir,
        fit_config=config,
        eval_data=data_dir,
        bad_inputs=[np.zeros((0, 4)), tmp_path / "missing.png", truncated],
        bad_fit_data=[bad_mask, tmp_path / "nothing"],
    )


def classification_case(tmp_path):
    from medical.classification import MedicalClassifier

    config = MedicalClassifier.Config(architecture="test_resnet", image_size=32, epochs=1, batch_size=4, max_steps=1)
    model = MedicalClassifier.from_config(config, ["abnormal", "normal"], device="cpu")
    folder = write_image_folder(tmp_path / "cls")
    one_class = tmp_path / "one"
    (one_class / "only").mkdir(parents=True)
    (one_class / "only" / "a.png").write_bytes((folder / "normal" / "normal_0.png").read_bytes())
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    return ContractCase(
        model=model,
        predict_inputs=[folder / "normal" / "normal_0.png", np.random.default_rng(0).random((40, 30))],
        fit_data=folder,
        fit_config=config,
        eval_data=folder,
        bad_inputs=[empty, tmp_path / "missing.png", b"not an image"],
        bad_fit_data=[one_class],
    )


CASES = {"medical.segmentation": segmentation_case, "medical.classification": classification_case}
