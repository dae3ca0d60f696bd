"""Contract cases for the vision tasks: tiny random-init timm / torchvision models."""

from __future__ import annotations

from tests.common import ContractCase
from tests.vision._fixtures import bomb_png, image_folder, png_bytes, truncated_png, yolo_folder


def classification_case(tmp_path):
    from vision.classification import ClassifierConfig, ImageClassifier

    data = image_folder(tmp_path / "images")
    (tmp_path / "empty").mkdir()
    model = ImageClassifier.from_timm("test_resnet", ["cat", "dog"], device="cpu")
    return ContractCase(
        model=model,
        predict_inputs=[png_bytes(seed=1), str(data / "cat" / "0.png")],
        fit_data=str(data),
        fit_config=ClassifierConfig(epochs=1, max_steps=1, batch_size=4, image_size=32, progress_bar=False),
        eval_data=str(data),
        bad_inputs=[truncated_png(), b"not an image at all", bomb_png()],
        bad_fit_data=[str(tmp_path / "empty")],
    )


def detection_case(tmp_path):
    from vision.detection import Detector, DetectorConfig

    data = yolo_folder(tmp_path / "yolo")
    (tmp_path / "empty").mkdir()
    outside = yolo_folder(tmp_path / "outside", lines="0 0.9 0.5 0.6 0.5\n")
    unknown = yolo_folder(tmp_path / "unknown", lines="3 0.5 0.5 0.2 0.2\n")
    model = Detector.torchvision("fasterrcnn_mobilenet_v3_large_320_fpn", ["thing"], device="cpu",
                                 min_size=96, max_size=96, box_detections_per_img=20)
    return ContractCase(
        model=model,
        predict_inputs=[png_bytes(64, 48, seed=5), str(data / "images" / "0.png")],
        fit_data=str(data),
        fit_config=DetectorConfig(epochs=1, max_steps=1, batch_size=2, progress_bar=False),
        eval_data=str(data),
        bad_inputs=[truncated_png(), b"GIF89a broken", bomb_png()],
        bad_fit_data=[str(tmp_path / "empty"), str(outside), str(unknown)],
    )


CASES = {"vision.classification": classification_case, "vision.detection": detection_case}
