"""Detection datasets: COCO JSON, YOLO (images/, labels/, data.yaml) and Pascal VOC readers with strict
validation (boxes inside the image, known class ids), a check report, and conversion between the three."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.artifacts import atomic_directory, check_output_dir
from core.data import IMAGE_SUFFIXES, open_image, read_json, resolve_inside
from core.data.paths import require_path
from core.errors import InputError

__all__ = ["DetectionSample", "DetectionData", "read_detection_data", "convert_detection_data", "detection_report"]

EDGE_TOLERANCE_PX = 1.5  # VOC is 1-based and exporters round: allow this much overshoot, then clip


@dataclass
class DetectionSample:
    """One image and its boxes (x1, y1, x2, y2 in pixels) with class names."""

    image: Path
    width: int
    height: int
    boxes: np.ndarray  # (N, 4) float32, xyxy pixels
    labels: list[str]
    dropped_boxes: int = 0  # zero-area boxes removed while reading


@dataclass
class DetectionData:
    """Labelled detection data in one format-free form."""

    samples: list[DetectionSample]
    class_names: list[str]
    format: str
    root: Path
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f"{path.name} is not a readable image ({error})") from error
    except Image.DecompressionBombError as error:
        raise InputError(f"{path.name} is too large to decode safely (possible decompression bomb)") from error


def _checked_box(box: list[float], width: int, height: int, where: str) -> list[float] | None:
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(np.isfinite([x1, y1, x2, y2])):
        raise InputError(f"{where}: box {box} holds NaN/inf")
    tol = EDGE_TOLERANCE_PX
    if x1 < -tol or y1 < -tol or x2 > width + tol or y2 > height + tol:
        raise InputError(f"{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) lies outside the {width}x{height} image; "
                         "fix the annotation (coordinates are x1, y1, x2, y2 in pixels)")
    x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
    if x2 - x1 < 1 or y2 - y1 < 1:
        return None  # degenerate (zero-area) boxes occur in public sets (BCCD): dropped and counted
    return [x1, y1, x2, y2]


def _sample(image: Path, boxes: list, labels: list[str], size: tuple[int, int] | None = None) -> DetectionSample:
    width, height = size or _image_size(image)
    checked = [_checked_box(box, width, height, image.name) for box in boxes]
    kept = [i for i, box in enumerate(checked) if box is not None]
    array = np.asarray([checked[i] for i in kept], dtype=np.float32).reshape(-1, 4)
    return DetectionSample(image, int(width), int(height), array, [labels[i] for i in kept], len(boxes) - len(kept))


# -- format detection ---------------------------------------------------------------------------------
def detect_format(path: Path) -> str:
    """'coco', 'yolo' or 'voc' from the layout of `path`."""
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        if path.suffix.lower() in {".yaml", ".yml"}:
            return "yolo"
        raise InputError(f"{path.name}: expected a COCO .json, a YOLO data.yaml or a folder (YOLO images/ + labels/, VOC Annotations/)")
    if (path / "Annotations").is_dir():
        return "voc"
    if (path / "labels").is_dir() or (path / "data.yaml").is_file():
        return "yolo"
    jsons = sorted(path.glob("*.json")) + sorted((path / "annotations").glob("*.json"))
    if jsons:
        return "coco"
    if list(path.glob("*.xml")):
        return "voc"
    raise InputError(f"{path} is not a detection dataset: expected COCO JSON, YOLO (images/, labels/, data.yaml) "
                     "or Pascal VOC (Annotations/*.xml + JPEGImages/)")


def read_detection_data(path: str | Path, format: str | None = None, split: str | None = None,
                        names: str | None = None) -> DetectionData:
    """Read COCO / YOLO / VOC detection data; bad boxes, unknown classes and unreadable images -> InputError."""
    path = require_path(path, "detection dataset (COCO JSON, YOLO folder or VOC folder)")
    kind = (format or detect_format(path)).lower()
    reader = {"coco": _read_coco, "yolo": _read_yolo, "voc": _read_voc}.get(kind)
    if reader is None:
        raise InputError(f"unknown detection format {format!r}; use coco, yolo or voc")
    data = reader(path, split=split, names=names)
    dropped = sum(s.dropped_boxes for s in data.samples)
    if dropped:
        data.notes.append(f"{dropped} zero-area box(es) were dropped")
    if not data.samples:
        raise InputError(f"{path} holds no annotated images")
    return data


def _read_coco(path: Path, split: str | None = None, names: str | None = None) -> DetectionData:
    if path.is_dir():
        candidates = sorted(path.glob("*.json")) + sorted((path / "annotations").glob("*.json"))
        if split:
            candidates = [c for c in candidates if split in c.stem] or candidates
        if not candidates:
            raise InputError(f"{path} holds no COCO .json annotation file")
        json_path = candidates[0]
    else:
        json_path = path
    coco = read_json(json_path, "COCO annotation file")
    if not isinstance(coco, dict) or not {"images", "annotations", "categories"} <= set(coco):
        raise InputError(f"{json_path.name} is not COCO: it needs 'images', 'annotations' and 'categories'")
    categories = {c["id"]: str(c["name"]) for c in coco["categories"]}
    base = json_path.parent
    image_roots = [base, base / "images", base.parent / "images", base.parent]
    by_image: dict[Any, list] = {image["id"]: [] for image in coco["images"]}
    for annotation in coco["annotations"]:
        if annotation.get("image_id") not in by_image:
            raise InputError(f"{json_path.name}: annotation {annotation.get('id')} refers to unknown image_id {annotation.get('image_id')}")
        if annotation.get("category_id") not in categories:
            raise InputError(f"{json_path.name}: annotation {annotation.get('id')} has unknown category_id "
                             f"{annotation.get('category_id')}; known ids: {sorted(categories)}")
        by_image[annotation["image_id"]].append(annotation)
    samples = []
    for image in coco["images"]:
        file = None
        for root in image_roots:
            candidate = resolve_inside(root, image["file_name"]) if root.is_dir() else None
            if candidate is not None and candidate.is_file():
                file = candidate
                break
        if file is None:
            raise InputError(f"{json_path.name}: image {image['file_name']} not found beside the JSON or in images/")
        boxes, labels = [], []
        for annotation in by_image[image["id"]]:
            if annotation.get("iscrowd"):
                continue
            x, y, w, h = annotation["bbox"]
            boxes.append([x, y, x + w, y + h])
            labels.append(categories[annotation["category_id"]])
        size = (image["width"], image["height"]) if image.get("width") and image.get("height") else None
        samples.append(_sample(file, boxes, labels, size))
    return DetectionData(samples, [categories[k] for k in sorted(categories)], "coco", base)


# The 80 COCO class names in the order YOLO/Ultralytics number them (coco128.yaml, coco.yaml).
COCO80 = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"]
COCO_SPLITS = {"train2017", "val2017", "test2017"}


def _yolo_names(root: Path, names: str | None) -> tuple[list[str] | None, Path | None]:
    import yaml

    if names and names.lower() == "coco80":
        return list(COCO80), None

    yaml_path = None
    if names and Path(names).suffix.lower() in {".yaml", ".yml"}:
        yaml_path = require_path(names, "data.yaml")
    elif names:
        return [n.strip() for n in names.split(",") if n.strip()], None
    elif (root / "data.yaml").is_file():
        yaml_path = root / "data.yaml"
    if yaml_path is None:
        return None, None
    try:
        config = yaml.safe_load(yaml_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise InputError(f"{yaml_path.name} is not valid YAML: {error}") from error
    listed = config.get("names") if isinstance(config, dict) else None
    if isinstance(listed, dict):
        listed = [str(listed[k]) for k in sorted(listed, key=int)]
    if not isinstance(listed, list) or not listed:
        raise InputError(f"{yaml_path.name} needs a 'names' list (class id -> name)")
    return [str(n) for n in listed], yaml_path


def _read_yolo(path: Path, split: str | None = None, names: str | None = None) -> DetectionData:
    root = path.parent if path.is_file() else path
    class_names, _ = _yolo_names(root, str(path) if path.is_file() else names)
    images_root = root / "images" if (root / "images").is_dir() else root
    images = sorted(p for p in images_root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if split:
        images = [p for p in images if split in p.relative_to(images_root).parts] or images
    if not images:
        raise InputError(f"{root} holds no images under images/")
    rows: list[tuple[Path, list, list[int], tuple[int, int]]] = []
    max_id = -1
    for image in images:
        relative = image.relative_to(images_root).with_suffix(".txt")
        label_file = (root / "labels" / relative) if images_root != root else image.with_suffix(".txt")
        boxes, ids = [], []
        size = _image_size(image)
        if label_file.is_file():
            for number, line in enumerate(label_file.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                parts = line.split()
                if not parts:
                    continue
                where = f"{label_file.name} line {number}"
                if len(parts) != 5:
                    raise InputError(f"{where}: expected '<class> <x_center> <y_center> <width> <height>', got {line!r}")
                try:
                    class_id = int(parts[0])
                    cx, cy, w, h = (float(v) for v in parts[1:])
                except ValueError as error:
                    raise InputError(f"{where}: not numbers: {line!r}") from error
                if class_id < 0 or (class_names is not None and class_id >= len(class_names)):
                    known = f"0..{len(class_names) - 1}" if class_names else ">= 0"
                    raise InputError(f"{where}: unknown class id {class_id} (data.yaml names ids {known})")
                width, height = size
                boxes.append([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height])
                ids.append(class_id)
                max_id = max(max_id, class_id)
        rows.append((image, boxes, ids, size))
    notes = []
    if class_names is None and max_id < len(COCO80) and any(COCO_SPLITS & set(p.relative_to(images_root).parts) for p in images):
        # COCO's own split folder names identify the label space: use the 80 COCO names (Ultralytics order).
        class_names = list(COCO80)
        notes.append("no data.yaml: the train2017/val2017 folders identify COCO, so class ids use the 80 COCO names "
                     "(Ultralytics order); pass --option names=... to override")
    elif class_names is None:
        class_names = [str(i) for i in range(max_id + 1)]
        notes.append("no data.yaml: classes are named by their ids; add data.yaml with 'names' (or pass --option names=...)")
    samples = [_sample(image, boxes, [class_names[i] for i in ids], size) for image, boxes, ids, size in rows]
    return DetectionData(samples, class_names, "yolo", root, notes)


def _read_voc(path: Path, split: str | None = None, names: str | None = None) -> DetectionData:
    root = path
    annotation_dir = root / "Annotations" if (root / "Annotations").is_dir() else root
    files = sorted(annotation_dir.glob("*.xml"))
    list_file = root / "ImageSets" / "Main" / f"{split}.txt" if split else None
    if list_file is not None and list_file.is_file():
        wanted = {line.strip() for line in list_file.read_text().splitlines() if line.strip()}
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise InputError(f"{root} holds no VOC annotations (Annotations/*.xml)")
    image_dir = root / "JPEGImages" if (root / "JPEGImages").is_dir() else annotation_dir
    samples, classes = [], set()
    for file in files:
        try:
            tree = ElementTree.parse(file).getroot()
        except ElementTree.ParseError as error:
            raise InputError(f"{file.name} is not valid XML: {error}") from error
        filename = tree.findtext("filename") or file.stem + ".jpg"
        image = resolve_inside(image_dir, filename)
        if not image.is_file():
            matches = [p for p in image_dir.glob(file.stem + ".*") if p.suffix.lower() in IMAGE_SUFFIXES]
            if not matches:
                raise InputError(f"{file.name}: image {filename} not found in {image_dir.name}/")
            image = matches[0]
        boxes, labels = [], []
        for obj in tree.findall("object"):
            name, box = (obj.findtext("name") or "").strip(), obj.find("bndbox")
            if not name or box is None:
                raise InputError(f"{file.name}: an <object> lacks <name> or <bndbox>")
            try:
                boxes.append([float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
            except (TypeError, ValueError) as error:
                raise InputError(f"{file.name}: box of {name} is not numeric") from error
            labels.append(name)
            classes.add(name)
        samples.append(_sample(image, boxes, labels))
    class_names = [n.strip() for n in names.split(",")] if names else sorted(classes)
    unknown = classes - set(class_names)
    if unknown:
        raise InputError(f"unknown classes {sorted(unknown)}: not among the given names {class_names}")
    return DetectionData(samples, class_names, "voc", root)


# -- report and conversion ---------------------------------------------------------------------------
def detection_report(data: DetectionData, decode: bool = True) -> dict[str, Any]:
    """Counts per class, boxes per image, and the decoded check of every image (InputError on a bad one)."""
    if decode:
        for sample in data.samples:
            open_image(sample.image)
    counts: dict[str, int] = {name: 0 for name in data.class_names}
    for sample in data.samples:
        for label in sample.labels:
            counts[label] = counts.get(label, 0) + 1
    boxes = sum(len(s.labels) for s in data.samples)
    return {"format": data.format, "images": len(data.samples), "boxes": boxes,
            "images_without_boxes": sum(1 for s in data.samples if not s.labels), "classes": counts,
            "notes": data.notes,
            "convert": "Detector.convert(data, out_dir, to='coco'|'yolo'|'voc') writes the same data in another format"}


def convert_detection_data(data: DetectionData, out_dir: str | Path, to: str) -> Path:
    """Write `data` as COCO (annotations.json + images/), YOLO (images/, labels/, data.yaml) or VOC, atomically."""
    import yaml

    to = to.lower()
    if to not in {"coco", "yolo", "voc"}:
        raise InputError(f"unknown target format {to!r}; use coco, yolo or voc")
    names = list(data.class_names)
    check_output_dir(out_dir)  # a folder of the user's files is never replaced by the converted copy
    with atomic_directory(out_dir) as tmp:
        image_dir = tmp / ("JPEGImages" if to == "voc" else "images")
        image_dir.mkdir(parents=True)
        used: set[str] = set()
        coco: dict[str, list] = {"images": [], "annotations": [], "categories": [{"id": i + 1, "name": n} for i, n in enumerate(names)]}
        for index, sample in enumerate(data.samples):
            name = sample.image.name if sample.image.name not in used else f"{index}_{sample.image.name}"
            used.add(name)
            shutil.copyfile(sample.image, image_dir / name)
            if to == "coco":
                coco["images"].append({"id": index + 1, "file_name": f"images/{name}", "width": sample.width, "height": sample.height})
                for box, label in zip(sample.boxes.tolist(), sample.labels):
                    x1, y1, x2, y2 = box
                    coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": index + 1,
                                                "category_id": names.index(label) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                                                "area": (x2 - x1) * (y2 - y1), "iscrowd": 0})
            elif to == "yolo":
                lines = []
                for (x1, y1, x2, y2), label in zip(sample.boxes.tolist(), sample.labels):
                    lines.append(f"{names.index(label)} {(x1 + x2) / 2 / sample.width:.6f} {(y1 + y2) / 2 / sample.height:.6f} "
                                 f"{(x2 - x1) / sample.width:.6f} {(y2 - y1) / sample.height:.6f}")
                (tmp / "labels").mkdir(exist_ok=True)
                (tmp / "labels" / (Path(name).stem + ".txt")).write_text("\n".join(lines) + ("\n" if lines else ""))
            else:
                (tmp / "Annotations").mkdir(exist_ok=True)
                (tmp / "Annotations" / (Path(name).stem + ".xml")).write_text(_voc_xml(name, sample))
        if to == "coco":
            (tmp / "annotations.json").write_text(json.dumps(coco))
        elif to == "yolo":
            (tmp / "data.yaml").write_text(yaml.safe_dump({"path": ".", "train": "images", "val": "images",
                                                           "names": dict(enumerate(names))}))
    return Path(out_dir)


def _voc_xml(filename: str, sample: DetectionSample) -> str:
    root = ElementTree.Element("annotation")
    ElementTree.SubElement(root, "filename").text = filename
    size = ElementTree.SubElement(root, "size")
    for key, value in (("width", sample.width), ("height", sample.height), ("depth", 3)):
        ElementTree.SubElement(size, key).text = str(value)
    for (x1, y1, x2, y2), label in zip(sample.boxes.tolist(), sample.labels):
        obj = ElementTree.SubElement(root, "object")
        ElementTree.SubElement(obj, "name").text = label
        ElementTree.SubElement(obj, "difficult").text = "0"
        box = ElementTree.SubElement(obj, "bndbox")
        for key, value in (("xmin", x1), ("ymin", y1), ("xmax", x2), ("ymax", y2)):
            ElementTree.SubElement(box, key).text = f"{value:.1f}"
    return ElementTree.tostring(root, encoding="unicode")
