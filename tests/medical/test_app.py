"""The Medical page runs with tiny saved models: viewer, segmentation overlay, classification + Grad-CAM."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.artifacts import models_dir

pytest.importorskip("streamlit")
PAGE = str(Path(__file__).resolve().parents[2] / "apps" / "medical.py")


@pytest.fixture()
def tiny_models():
    from medical.classification import MedicalClassifier
    from medical.segmentation import Segmenter

    segmenter = Segmenter.from_config(Segmenter.Config(channels=(4, 8), num_res_units=0, patch_size=32),
                                      ["background", "tissue"], device="cpu")
    classifier = MedicalClassifier.from_config(MedicalClassifier.Config(architecture="test_resnet", image_size=32),
                                               ["lesion", "no_lesion"], device="cpu")
    names = (f"medical-seg-tiny-{os.getpid()}", f"medical-cls-tiny-{os.getpid()}")
    segmenter.save(models_dir() / names[0])
    classifier.save(models_dir() / names[1])
    return names


def test_medical_page(tiny_models):
    from streamlit.testing.v1 import AppTest

    seg_name, cls_name = tiny_models
    app = AppTest.from_file(PAGE, default_timeout=240)
    app.session_state["medical-seg-model"] = f"Saved: {seg_name}"
    app.session_state["medical-sample-medical.segmentation"] = "CT_small.dcm (pydicom test file)"
    app.run()
    assert not app.exception
    assert any("not for diagnosis" in w.value for w in app.warning)
    app.button(key="medical-segment").click().run()
    assert not app.exception
    app.selectbox(key="medical-window").set_value("lung").run()
    app.slider(key="medical-opacity").set_value(0.8).run()
    assert not app.exception and len(app.dataframe) >= 1
    app.selectbox(key="medical-sample-medical.segmentation").set_value("MNI152 T1 brain volume (nilearn, NIfTI)").run()
    app.button(key="medical-segment").click().run()
    app.slider(key="medical-slice").set_value(10).run()
    assert not app.exception
    app.radio(key="medical-task").set_value("Classification").run()
    app.session_state["medical-cls-model"] = f"Saved: {cls_name}"
    app.run()
    app.checkbox(key="medical-gradcam").check().run()
    assert not app.exception


def test_the_page_s_mask_download_holds_a_binary_model_s_training_values():
    """The page's "Download mask (NIfTI)" wrote 0/1 for a model trained on 0/255 masks, which `predict --option
    masks=` writes as 0/255 and the same model's evaluate reads; the page's file was refused by it."""
    import nibabel as nib
    import numpy as np
    from streamlit.testing.v1 import AppTest

    from medical.segmentation import Segmenter

    model = Segmenter.from_config(Segmenter.Config(channels=(4, 8), num_res_units=0, patch_size=32),
                                  ["background", "membrane"], device="cpu")
    model.card_["mask_values"] = [0, 255]
    import torch

    with torch.no_grad():  # every pixel is membrane: the written mask must read 255, not the label index 1
        model.network_.model[2].conv.weight.zero_()
        model.network_.model[2].conv.bias.copy_(torch.tensor([0.0, 1.0]))
    name = f"medical-seg-binary-{os.getpid()}"
    saved = Segmenter.load(model.save(models_dir() / name), device="cpu")
    assert saved.card_["mask_values"] == [0, 255]
    app = AppTest.from_file(PAGE, default_timeout=240)
    app.session_state["medical-seg-model"] = f"Saved: {name}"
    app.session_state["medical-sample-medical.segmentation"] = "CT_small.dcm (pydicom test file)"
    app.run()
    app.button(key="medical-segment").click().run()
    assert not app.exception
    written = np.asarray(nib.load(Path(app.session_state["_verticals_session_dir"]) / "mask.nii.gz").dataobj)
    assert set(np.unique(written).tolist()) == {255}
