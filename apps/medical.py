"""Medical page: DICOM / NIfTI / image viewer with window/level and slice scroller, segmentation overlay with
volumes per label, classification with Grad-CAM, Evaluate and Retrain tabs. Research use only."""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from apps import common
from medical import io as medical_io

NOTICE = ("Research use only, not for diagnosis. Outputs of these models have not been clinically validated; "
          "do not use them to make decisions about patients. Uploads stay in this session's temporary folder.")
TASKS = {"Segmentation": "medical.segmentation", "Classification": "medical.classification"}
UPLOAD_SUFFIXES = {".dcm", ".nii", ".nii.gz", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".zip"}
COLOURS = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [0, 130, 200], [255, 225, 25], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60]], dtype=np.float32)


@st.cache_data(show_spinner=False)
def _sample_names(task: str) -> list[str]:
    if task == "medical.classification":
        return ["MNI152 slice with synthetic lesion (nilearn)", "MNI152 slice without lesion (nilearn)",
                "CT_small.dcm (pydicom test file)"]
    return ["MNI152 T1 brain volume (nilearn, NIfTI)", "CT_small.dcm (pydicom test file)", "MR_small.dcm (pydicom test file)"]


@st.cache_resource(show_spinner="Preparing sample…")
def _sample(name: str) -> medical_io.MedicalImage:
    """Bundled samples come from installed packages (pydicom test files, nilearn's MNI152), never the data folders."""
    if name.startswith("CT_small") or name.startswith("MR_small"):
        from pydicom.data import get_testdata_file

        return medical_io.read_medical(get_testdata_file(name.split(" ")[0]))
    if name.startswith("MNI152 T1"):
        from nilearn import datasets

        return medical_io.read_medical(datasets.load_mni152_template(resolution=2))
    from medical.classification import lesion_demo_data

    _, test = lesion_demo_data(seed=1)
    wanted = "lesion" if "with synthetic" in name else "no_lesion"
    index = test.labels.index(wanted)
    return medical_io.read_medical(np.asarray(test.items[index]))


def _input(task: str) -> tuple[medical_io.MedicalImage | None, str | None]:
    """The chosen study and a key identifying it."""
    source = st.radio("Input", ["Sample", "Upload"], horizontal=True, key="medical-input")
    if source == "Sample":
        name = st.selectbox("Sample", _sample_names(task), key=f"medical-sample-{task}")
        return common.run_safely(_sample, name), f"sample:{name}"
    upload = st.file_uploader("DICOM file, zip of a DICOM series, NIfTI, PNG or JPEG",
                              type=["dcm", "nii", "gz", "png", "jpg", "jpeg", "tif", "tiff", "bmp", "zip"],
                              key=f"medical-upload-{task}")
    if upload is None:
        return None, None
    path = common.run_safely(common.kept_upload, upload, UPLOAD_SUFFIXES)
    if path is None:
        return None, None
    return common.run_safely(medical_io.read_medical, path), f"upload:{upload.file_id}"


def _window_controls(image: medical_io.MedicalImage) -> dict:
    """Window/level: a CT preset, automatic (percentiles) or manual center/width."""
    options = ["Auto (1-99th percentile)", "Manual"] + (list(medical_io.WINDOW_PRESETS) if image.modality == "CT" else [])
    columns = st.columns(3)
    choice = columns[0].selectbox("Window", options, key="medical-window")
    if choice in medical_io.WINDOW_PRESETS:
        return {"preset": choice}
    if choice == "Manual":
        low, high = float(np.percentile(image.array, 1)), float(np.percentile(image.array, 99))
        span = max(high - low, 1e-3)
        center = columns[1].slider("Level (center)", low - span, high + span, (low + high) / 2, key="medical-level")
        width = columns[2].slider("Width", span / 100, span * 4, span, key="medical-width")
        return {"center": center, "width": width}
    return {}


def _slice(array: np.ndarray, index: int | None) -> np.ndarray:
    return array[index] if array.ndim == 3 and index is not None else array


def _overlay(grey: np.ndarray, mask: np.ndarray | None, opacity: float) -> Image.Image:
    """Windowed grey image with labels coloured on top at `opacity`."""
    rgb = np.repeat(grey[..., None].astype(np.float32), 3, axis=2)
    if mask is not None:
        colours = COLOURS[np.minimum(mask, len(COLOURS) - 1)]
        alpha = (mask > 0)[..., None] * opacity
        rgb = rgb * (1 - alpha) + colours * alpha
    return Image.fromarray(rgb.clip(0, 255).astype(np.uint8))


def _heat_overlay(image: np.ndarray, cam: np.ndarray, opacity: float) -> Image.Image:
    grey = np.repeat((image * 255)[..., None], 3, axis=2)
    heat = np.zeros_like(grey)
    heat[..., 0] = 255 * cam
    heat[..., 1] = 64 * cam
    return Image.fromarray((grey * (1 - opacity * cam[..., None]) + heat * opacity).clip(0, 255).astype(np.uint8))


def _viewer(image: medical_io.MedicalImage, mask: np.ndarray | None = None, labels: list[str] | None = None) -> None:
    index = None
    if image.is_volume:
        depth = image.array.shape[0]  # a one-slice volume is drawn as the 2D image it is (a slider needs two values)
        index = st.slider("Slice", 0, depth - 1, depth // 2, key="medical-slice") if depth > 1 else 0
    window = _window_controls(image)
    opacity = st.slider("Mask opacity", 0.0, 1.0, 0.45, 0.05, key="medical-opacity") if mask is not None else 0.0
    grey = medical_io.to_uint8(_slice(image.array, index), **window)
    shown = _slice(mask, index) if mask is not None else None
    width = None if grey.shape[1] > 256 else 384
    st.image(common.display_image(_overlay(grey, shown, opacity), width), caption=f"{image.modality} · shape "
             f"{list(image.array.shape)} · spacing {[round(s, 3) for s in image.spacing]} mm", width=width or "content")
    if mask is not None and labels:
        st.caption(" · ".join(f"{common.escape_markdown(str(name))}: "
                              f"rgb{tuple(int(c) for c in COLOURS[min(k, len(COLOURS) - 1)])}"
                              for k, name in enumerate(labels) if k))


def _segmentation_predict(model, image: medical_io.MedicalImage, key: str) -> None:
    results = st.session_state.setdefault("medical-seg-results", {})
    result_key = f"{key}:{id(model)}"
    if st.button("Segment", key="medical-segment", type="primary"):
        with st.spinner("Segmenting (sliding window)…"):
            result = common.run_safely(model.segment, image)
        if result is not None:
            results.clear()
            results[result_key] = result["mask"]
    mask = results.get(result_key)
    _viewer(image, mask, model.label_names_ if mask is not None else None)
    if mask is None:
        st.caption("Press Segment to run the model.")
        return
    import polars as pl

    # the warnings predict's record carries for this input, e.g. only the first volume of a 4D file was segmented
    common.record_warnings({"warnings": image.metadata.get("warnings", [])})
    volumes = model.label_volumes(mask, image)
    rows = [{"label": name, **values} for name, values in volumes.items() if name != "background"]
    st.subheader("Volume per label" if image.is_volume else "Area per label")
    st.dataframe(pl.DataFrame(rows), hide_index=True)
    path = common.session_dir() / "mask.nii.gz"
    # the mask as `predict --option masks=` writes it: a binary model's training values (0/255), so its evaluate reads it
    common.run_safely(medical_io.write_nifti, model.file_mask(mask), path, like=image)
    if path.is_file():
        st.download_button("Download mask (NIfTI)", path.read_bytes(), file_name="mask.nii.gz", key="medical-download")


def _classification_predict(model, image: medical_io.MedicalImage) -> None:
    import polars as pl

    _viewer(image)
    record = common.run_safely(model.predict, [image])
    if not record:
        return
    record = record[0]
    st.metric("Prediction", common.escape_markdown(str(record["label"])), f"p = {record['score']:.3f}")
    common.record_warnings(record)
    st.bar_chart(pl.DataFrame({"class": list(record["probabilities"]), "probability": list(record["probabilities"].values())}),
                 x="class", y="probability")
    if st.checkbox("Show Grad-CAM", key="medical-gradcam"):
        explained = common.run_safely(model.explain, image)
        if explained is not None:
            opacity = st.slider("Heat-map opacity", 0.0, 1.0, 0.5, 0.05, key="medical-cam-opacity")
            st.image(common.display_image(_heat_overlay(explained["image"], explained["cam"], opacity), 384),
                     caption=f"Grad-CAM for '{explained['explained_label']}' (MONAI)", width=384)


def _positive_option(task: str, where: str) -> dict | None:
    """Two-class classification: which label is the positive class (blank: the rule the card states)."""
    if task != "medical.classification":
        return None
    value = st.text_input("Positive class (optional; blank: a label like normal/no/0 is the negative class)",
                          key=f"medical-positive-{where}").strip()
    return {"positive_label": value} if value else None


def main() -> None:
    common.page_header("Medical imaging", notice=NOTICE)
    choice = st.radio("Task", list(TASKS), horizontal=True, key="medical-task")
    task = TASKS[choice]
    key = "medical-seg" if task == "medical.segmentation" else "medical-cls"

    def about(model) -> None:
        with st.expander("Model card"):
            st.json({k: v for k, v in model.card.items() if k not in {"files", "library_versions"}})

    def predict(model) -> None:
        image, input_key = _input(task)
        if image is not None and model is None:  # the model could not load: the viewer still shows the image
            _viewer(image)
        elif image is not None:
            if task == "medical.segmentation":
                _segmentation_predict(model, image, input_key)
            else:
                _classification_predict(model, image)

    def evaluate(model) -> None:
        st.caption("Segmentation: a .zip of images/ + masks/ (matching names; PNG, DICOM or NIfTI). "
                   "Classification: a .zip of an ImageFolder (one folder per class) or a CSV of path,label.")
        common.evaluate_tab(task, model, read_options=_positive_option(task, "evaluate"), suffixes={".csv"})

    def retrain() -> None:
        st.caption("Training runs in the background; the new model appears in the model list when it is done.")
        if task == "medical.classification":
            st.caption("Classification retraining starts from the ImageNet EfficientNet-Lite0 that ships with Verticals: "
                       "a logistic-regression head on its frozen features (brain MRI yes/no from 63 slices: AUC 0.93-0.95 "
                       "on the other half, in about 15 s); with 100+ images per class the whole network is then "
                       "fine-tuned for 15 epochs, the best epoch on validation kept.")
        if task == "medical.segmentation":
            st.caption("Segmentation plans patch, batch and steps from the data within `time_budget_s` (default 540 s). "
                       "Binary 0/255 masks: 255 is the structure unless you set `positive_label=0`; the card gives the "
                       "Dice of both values either way.")
        common.retrain_tab(task, options=_positive_option(task, "train"), suffixes={".csv"})

    common.task_page(task, key, predict, evaluate=evaluate, retrain=retrain, about=about, inputs_without_model=True)

main()
