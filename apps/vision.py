"""Vision page: image classification (top-k bars, Grad-CAM overlay) and object detection (boxes, threshold)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from apps import common

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".heic", ".heif", ".avif"}
TASKS = {"Classification": "vision.classification", "Detection": "vision.detection"}


@st.cache_data(show_spinner=False)
def _samples(task: str) -> dict[str, np.ndarray]:
    """Bundled sample images generated from installed packages (nothing from the project's data folders)."""
    if task == "vision.detection":
        from sklearn.datasets import load_sample_images

        samples = {}
        try:  # a public-domain portrait first: the COCO default finds a person and a tie (and `haar` a face)
            from matplotlib import cbook

            with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as portrait:
                samples["grace_hopper.jpg (matplotlib sample data)"] = np.asarray(portrait.convert("RGB"))
        except Exception:  # matplotlib missing or its sample data stripped: sklearn's images only
            pass
        bunch = load_sample_images()
        samples.update({Path(name).name: image for name, image in zip(bunch.filenames, bunch.images)})  # no server paths shown
        return samples
    return _photos()


@st.cache_data(show_spinner=False)
def _photos() -> dict[str, np.ndarray]:
    """Everyday photos for the ImageNet classifier: scikit-learn's sample images and matplotlib's portrait."""
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    samples = {Path(name).name: image for name, image in zip(bunch.filenames, bunch.images)}
    try:
        from matplotlib import cbook

        with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as portrait:
            samples["grace_hopper.jpg (matplotlib sample data)"] = np.asarray(portrait.convert("RGB"))
    except Exception:  # matplotlib missing or its sample data stripped: sklearn's images only
        pass
    return samples


def _retrain_sample() -> None:
    """One click: write a small Fashion-MNIST ImageFolder and retrain the ImageNet default on it in the background."""
    from core import jobs
    from vision.classification import fashion_mnist_sample

    if st.button("Retrain on a Fashion-MNIST sample (10 classes x 40 images)", key="vision-cls-sample-train"):
        def start():
            folder = fashion_mnist_sample(common.session_dir() / "fashion-mnist-sample", per_class=40)
            return jobs.start_job("vision.classification", folder, name=f"fashion-mnist-{time.strftime('%Y%m%d-%H%M%S')}")

        job = common.run_safely(start)
        if job is not None:
            st.session_state["vision.classification-job"] = job.id


def _input_image(task: str) -> Image.Image | None:
    source = st.radio("Input", ["Sample", "Upload"], horizontal=True, key="vision-input")
    if source == "Sample":
        samples = _samples(task)
        name = st.selectbox("Sample image", list(samples), key=f"vision-sample-{task}")
        return Image.fromarray(samples[name]).convert("RGB")
    upload = st.file_uploader("Image", type=[s.lstrip(".") for s in IMAGE_SUFFIXES], key=f"vision-upload-{task}")
    if upload is None:
        return None
    from core.data import open_image

    path = common.run_safely(common.kept_upload, upload, IMAGE_SUFFIXES)
    return common.run_safely(open_image, path) if path is not None else None


def _overlay(image: Image.Image, cam: dict) -> Image.Image:
    """Blend an `explain` record's [0, 1] heat map (red) over the image where the model looked, at the size the page
    draws it: the map covers the centre crop the network saw (`crop_box`, outlined), nothing outside it. Stretching
    the bare map over the whole image put the heat up to ~86 px off on a 500x375 photo."""
    from vision.classification import heatmap_in_image

    shown = common.display_image(image.convert("RGB"))
    scale = shown.width / float(cam.get("image_size", image.size)[0])
    box = [v * scale for v in cam["crop_box"]] if cam.get("crop_box") else [0, 0, shown.width, shown.height]
    heat = heatmap_in_image({"heatmap": cam["heatmap"], "crop_box": box, "image_size": list(shown.size)})
    base = np.asarray(shown, dtype=np.float32)
    alpha = heat[..., None] * 0.6
    red = np.zeros_like(base)
    red[..., 0] = 255
    blended = Image.fromarray((base * (1 - alpha) + red * alpha).astype(np.uint8))
    ImageDraw.Draw(blended).rectangle([round(v) for v in box], outline="#ffd700", width=max(1, shown.width // 250))
    return blended


def _draw_boxes(image: Image.Image, detections: list[dict]) -> Image.Image:
    canvas = image.convert("RGB").copy()
    draw = ImageDraw.Draw(canvas)
    palette = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c"]
    labels = sorted({d["label"] for d in detections})
    for detection in detections:
        color = palette[labels.index(detection["label"]) % len(palette)]
        x1, y1, x2, y2 = detection["box"]
        draw.rectangle([x1, y1, x2, y2], outline=color, width=max(2, image.width // 200))
        draw.text((x1 + 3, y1 + 2), f"{detection['label']} {detection['score']:.2f}", fill=color)
    return canvas


def _classify(model, image: Image.Image) -> None:
    top_k = st.slider("Top-k", 1, min(10, len(model.label_names)), min(5, len(model.label_names)), key="vision-topk")
    record = common.run_safely(model.predict, [image], top_k=top_k)
    if not record:
        return
    import polars as pl

    left, right = st.columns(2)
    label = common.escape_markdown(str(record[0]["label"]))  # a class name from the training data, shown as it is
    left.image(common.display_image(image), caption=f"{label} ({record[0]['score']:.1%})", width="stretch")
    common.record_warnings(record[0])
    right.bar_chart(pl.DataFrame(record[0]["top_k"]).to_pandas().set_index("label"), horizontal=True)
    if st.checkbox("Grad-CAM: where the model looked", key="vision-gradcam"):
        cam = common.run_safely(model.explain, image)
        if cam is not None:
            st.image(_overlay(image, cam), width="stretch",
                     caption=f"Grad-CAM for {common.escape_markdown(str(cam['label']))} (outlined: the centre crop "
                             "the model sees; nothing outside it is looked at)")


def _detect(model, image: Image.Image) -> None:
    threshold = st.slider("Score threshold", 0.0, 1.0, float(model.score_threshold), 0.05, key="vision-threshold")
    options: dict = {}
    with st.expander("NMS IoU, most boxes, classes (as Ultralytics' iou / max_det / classes)"):
        # each left at the model's own setting unless changed here, and drawn starting from it
        own = model.nms_settings() if hasattr(model, "nms_settings") else {"iou": None, "max_det": None}
        if own["iou"] is not None:  # Haar and DETR-family models run no NMS and refuse iou
            if st.checkbox(f"Set the NMS IoU (else the model's own, {own['iou']:.2f})", key="vision-set-iou"):
                options["iou"] = st.slider("NMS IoU: of two boxes of a class overlapping more, the lower-scoring is "
                                           "dropped", 0.05, 1.0, round(own["iou"], 2), 0.01, key="vision-iou")
        cap = own["max_det"]
        if st.checkbox("Cap the boxes per image (else the model's own cap" + (f", {cap})" if cap else ": none)"),
                       key="vision-set-maxdet"):
            options["max_det"] = int(st.number_input("Most boxes per image", 1, 10000, cap or 100, key="vision-maxdet"))
        names = [n for n in (getattr(model, "label_names", None) or []) if n != "__background__"]
        kept = st.multiselect("Only these classes (none chosen: every class)", names, key="vision-classes")
        if kept:
            options["classes"] = kept
    record = common.run_safely(model.predict, [image], score_threshold=threshold, **options)
    if not record:
        return
    detections = record[0]["detections"]
    st.image(common.display_image(_draw_boxes(image, detections)), caption=f"{len(detections)} detection(s)", width="stretch")
    common.record_warnings(record[0])
    if detections:
        st.dataframe([{"label": d["label"], "score": d["score"], "box (x1, y1, x2, y2)": str(d["box"])} for d in detections],
                     hide_index=True)


common.page_header("Vision", "Image classification and object detection; models run on this machine.")
task = TASKS[st.radio("Task", list(TASKS), horizontal=True, key="vision-task")]


def predict(model) -> None:
    image = _input_image(task)
    if image is not None:
        (_classify if task == "vision.classification" else _detect)(model, image)


def evaluate(model) -> None:
    st.caption("Classification: a .zip of an ImageFolder (one folder per class) or a CSV of path,label. "
               "Detection: a .zip of COCO JSON, YOLO (images/, labels/, data.yaml) or Pascal VOC data.")
    common.evaluate_tab(task, model)


def retrain() -> None:
    st.caption("Fine-tunes in the background; the new model appears under Model once done. Detection trains a "
               "Faster R-CNN on the ImageNet EfficientNet-Lite0 backbone for about 9 minutes (time_budget_s).")
    if task == "vision.classification":
        st.caption("Classification retraining starts from the ImageNet EfficientNet-Lite2 that ships with Verticals: a "
                   "logistic-regression head on its frozen features (about 40 images per class is enough; ants vs bees "
                   "from 40 photos: 1.00 on the other 40); with 100+ images per class the later layers are then "
                   "fine-tuned as well.")
        _retrain_sample()
    common.retrain_tab(task)


# detection's named built-ins beside the embedded default (`--model haar` on the command line)
DETECTION_BUILTINS = {"COCO-80 yolov3-tiny (the default)": None,
                      "OpenCV Haar cascades (faces, bodies, cat faces, plates)": "haar"}


def load(source: str | None):
    if source is None and task == "vision.detection":
        source = DETECTION_BUILTINS[st.radio("Built-in", list(DETECTION_BUILTINS), horizontal=True,
                                             key="vision-det-builtin")]
    return common.run_safely(common.load_model, task, source)


common.task_page(task, "vision-cls" if task == "vision.classification" else "vision-det", predict, evaluate=evaluate,
                 retrain=retrain, load=load)
