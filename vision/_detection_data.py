"""Detection datasets: COCO JSON, YOLO (images/, labels/, data.yaml) and Pascal VOC readers with strict
validation (boxes inside the image, known class ids), a check report, and conversion between the three.
COCO crowd regions (`iscrowd: 1`) and VOC difficult objects (`<difficult>1`) are kept apart from the boxes as ignore
regions: never trained on, ignored when scoring (neither hit nor miss) as COCO and VOC score them."""

from __future__ import annotations

import json
import math
import shutil
import struct
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.artifacts import atomic_directory, check_output_dir
from core.data import IMAGE_SUFFIXES, open_image, read_json, resolve_inside
from core.data.paths import is_hidden, require_path
from core.errors import InputError

__all__ = ["DetectionSample", "DetectionData", "read_detection_data", "convert_detection_data", "detection_report",
           "declared_split"]

# Exporters round and YOLO tools clip: a box may overshoot an edge by the larger of 1.5 px (a VOC file written
# 0-based, xmin=0, reads as -1) and 2% of that side; it is then clipped to the image and counted in a note. Further out
# is an error.
EDGE_TOLERANCE_PX = 1.5
EDGE_TOLERANCE_FRACTION = 0.02
CLIP_NOTE_PX = 0.01  # clipping by less (float rounding of normalised YOLO boxes) is not worth a note
ORIENTATION_TAG = 0x0112  # EXIF Orientation; 5-8 turn the stored pixels by 90 degrees, so width and height swap
SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
PNG_EXIF_MARKERS = (b"eXIf", b"Raw profile type exif", b"XML:com.adobe.xmp")


@dataclass
class DetectionSample:
    """One image and its boxes (x1, y1, x2, y2 in pixels of the image as displayed, EXIF orientation applied)."""

    image: Path
    width: int
    height: int
    boxes: np.ndarray  # (N, 4) float32, xyxy pixels
    labels: list[str]
    dropped_boxes: int = 0  # zero-area boxes removed while reading
    clipped_boxes: int = 0  # boxes overshooting an edge within the tolerance, clipped to the image
    # COCO `iscrowd: 1` regions: not objects to train on; in scoring a detection on one is neither a true nor a false
    # positive (pycocotools' ignore regions)
    crowd_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), dtype=np.float32))  # (M, 4) xyxy pixels
    crowd_labels: list[str] = field(default_factory=list)
    # per ignore region: "crowd" (COCO iscrowd 1) or "difficult" (VOC <difficult>1); missing entries are "crowd"
    crowd_kinds: list[str] = field(default_factory=list)
    # "train" / "val" where the data declares its split (data.yaml, COCO files, VOC ImageSets; "test" from VOC's
    # test.txt: never trained on); "both" when it lists the image in train and val (trained on, not validated on: see
    # `declared_split`)
    split: str | None = None


TRAIN_SPLITS = {"train", "train2017", "training"}
VAL_SPLITS = {"val", "valid", "validation", "val2017"}
TEST_SPLITS = {"test", "test2017", "testing"}  # never trained on (VOC test.txt, YOLO test:, COCO instances_test.json)


def split_name(name: str) -> str | None:
    """"train" / "val" / "test" for a split's folder or file name (train2017, valid, instances_val2017...), else None.

    >>> split_name("instances_val2017"), split_name("train"), split_name("instances_test"), split_name("annotations")
    ('val', 'train', 'test', None)
    """
    words = set(name.lower().replace("-", "_").split("_"))
    if words & TRAIN_SPLITS:
        return "train"
    if words & VAL_SPLITS:
        return "val"
    if words & TEST_SPLITS:
        return "test"
    return None


def _no_split(split: str, counts: dict[str | None, int], what: str) -> InputError:
    """The error for split=NAME on data without that split (evaluate gives the same), naming the splits it has."""
    named = ", ".join(f"{kind or 'unsplit'} {count}" for kind, count in counts.items())
    return InputError(f"split={split}: the data has no {split_name(split) or split} {what} "
                      f"({'its splits: ' + named if any(counts) else 'it declares no train/val/test split'}); "
                      "name one it has, or use split=all to read every image")


@dataclass
class DetectionData:
    """Labelled detection data in one format-free form."""

    samples: list[DetectionSample]
    class_names: list[str]
    format: str
    root: Path
    notes: list[str] = field(default_factory=list)
    requested_split: str | None = None  # the split read_data was asked for ("all": every image); evaluate follows it

    def __len__(self) -> int:
        return len(self.samples)


def _orientation(image: Any, path: Path) -> int:
    """The EXIF orientation `open_image` applies (ImageOps.exif_transpose reads the same tag), pixels not decoded."""
    if image.format == "PNG" and "exif" not in image.info and not any(m in path.read_bytes() for m in PNG_EXIF_MARKERS):
        return 1  # Pillow's PNG getexif() decodes every pixel to look for an eXIf chunk after the image data
    try:
        orientation = image.getexif().get(ORIENTATION_TAG, 1)
    except (OSError, SyntaxError, ValueError, struct.error) as error:
        raise InputError(f"{path.name} has a corrupt EXIF block ({error}); re-save the image") from error
    return orientation if isinstance(orientation, int) else 1


def _image_frame(path: Path) -> tuple[int, int, int]:
    """(width, height, EXIF orientation) as stored in the file, read from the header."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size[0], image.size[1], _orientation(image, path)
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f"{path.name} is not a readable image ({error})") from error
    except Image.DecompressionBombError as error:
        raise InputError(f"{path.name} is too large to decode safely (possible decompression bomb)") from error


def _image_size(path: Path) -> tuple[int, int]:
    """(width, height) of the image as displayed -- the frame `open_image` (training, prediction) hands out."""
    width, height, orientation = _image_frame(path)
    return (height, width) if orientation in SWAPPING_ORIENTATIONS else (width, height)


def _check_stated_size(where: str, image: Path, stated: tuple[Any, Any], actual: tuple[int, int], fields: str) -> None:
    """A size written in the annotation must be the image's displayed size, else its boxes are in another frame."""
    if all(v in (None, 0) for v in stated):
        return  # not stated (some exporters write 0): the image's own size is used
    for value in stated:
        if value not in (None, 0) and (isinstance(value, bool) or not isinstance(value, (int, float))
                                       or not math.isfinite(value) or value < 0 or not float(value).is_integer()):
            raise InputError(f"{where}: {fields} must be whole numbers of pixels, got {stated[0]!r} x {stated[1]!r}")
    if all(s in (None, 0) or int(s) == a for s, a in zip(stated, actual)):
        return
    said = " x ".join("?" if s in (None, 0) else str(int(s)) for s in stated)
    stored_width, stored_height, orientation = _image_frame(image)
    unturned = all(s in (None, 0) or int(s) == v for s, v in zip(stated, (stored_width, stored_height)))
    if orientation in SWAPPING_ORIENTATIONS and unturned:
        hint = (f"; {said} is its size before its EXIF orientation ({orientation}) turns it, so the boxes were likely drawn "
                "on the unturned pixels: set the orientation tag to 1 (exiftool -Orientation=1 -n FILE) or redraw them")
    else:
        hint = "; the annotation was made for a different (resized?) image: fix its size and boxes or use the original image"
    raise InputError(f"{where}: the annotation says {image.name} is {said} ({fields}) but the image is "
                     f"{actual[0]} x {actual[1]} as displayed{hint}")


def _edge_tolerance(side: int) -> float:
    return max(EDGE_TOLERANCE_PX, EDGE_TOLERANCE_FRACTION * side)


def _checked_box(box: list[float], width: int, height: int, where: str,
                 one_based: bool = False) -> tuple[list[float] | None, bool]:
    """The box clipped to the image (None when it has zero area) and whether clipping moved it. `one_based`: VOC's
    1-based inclusive pixel indices (xmin=1, xmax=W is the whole image), turned into pixel edges by minus 1 on the
    top-left corner as detectron2's pascal_voc reader does; errors quote the numbers as written."""
    x1, y1, x2, y2 = (float(v) for v in box)
    written = f"({x1:g}, {y1:g}, {x2:g}, {y2:g})"
    if not all(np.isfinite([x1, y1, x2, y2])):
        raise InputError(f"{where}: box {box} holds NaN/inf")
    if x2 < x1 or y2 < y1:
        raise InputError(f"{where}: box {written} has its {'right' if x2 < x1 else 'bottom'} edge "
                         f"before its {'left' if x2 < x1 else 'top'} edge (swapped corners or a negative width/height); "
                         "boxes are x1, y1, x2, y2 in pixels with x1 <= x2 and y1 <= y2: fix the annotation")
    if one_based:
        # xmin == xmax is a misclicked point or line (BCCD holds one), not a one-pixel object: it stays zero-area
        x1, y1 = (x1 - 1.0 if x2 > x1 else x1), (y1 - 1.0 if y2 > y1 else y1)
    tol_x, tol_y = _edge_tolerance(width), _edge_tolerance(height)
    if x1 < -tol_x or y1 < -tol_y or x2 > width + tol_x or y2 > height + tol_y:
        base = " (1-based: xmin=1 is the left edge)" if one_based else ""
        raise InputError(f"{where}: box {written} lies outside the {width}x{height} image{base}, past "
                         f"the {tol_x:.1f} px (left/right) and {tol_y:.1f} px (top/bottom) of overshoot that are clipped; "
                         "fix the annotation (coordinates are x1, y1, x2, y2 in pixels)")
    clipped = [min(max(x1, 0.0), width), min(max(y1, 0.0), height), min(max(x2, 0.0), width), min(max(y2, 0.0), height)]
    if clipped[2] - clipped[0] < 1 or clipped[3] - clipped[1] < 1:
        return None, False  # degenerate (zero-area) boxes occur in public sets (BCCD): dropped and counted
    return clipped, max(abs(a - b) for a, b in zip(clipped, (x1, y1, x2, y2))) > CLIP_NOTE_PX


def _sample(image: Path, boxes: list, labels: list[str], size: tuple[int, int] | None = None,
            wheres: list[str] | None = None, crowd: list[bool | str] | None = None, split: str | None = None,
            one_based: bool = False) -> DetectionSample:
    """`crowd[i]`: False for a box, else the kind of ignore region it is (True or "crowd", "difficult"); `one_based`:
    boxes in VOC's 1-based inclusive pixel indices."""
    width, height = size or _image_size(image)
    wheres = wheres or [image.name] * len(boxes)
    crowd = crowd or [False] * len(boxes)
    checked = [_checked_box(box, width, height, where, one_based) for box, where in zip(boxes, wheres)]
    kept = [i for i, (box, _) in enumerate(checked) if box is not None and not crowd[i]]
    crowds = [i for i, (box, _) in enumerate(checked) if box is not None and crowd[i]]
    array = np.asarray([checked[i][0] for i in kept], dtype=np.float32).reshape(-1, 4)
    crowd_array = np.asarray([checked[i][0] for i in crowds], dtype=np.float32).reshape(-1, 4)
    return DetectionSample(image, int(width), int(height), array, [labels[i] for i in kept],
                           len(boxes) - len(kept) - len(crowds), sum(1 for _, clipped in checked if clipped),
                           crowd_array, [labels[i] for i in crowds],
                           ["difficult" if crowd[i] == "difficult" else "crowd" for i in crowds], split)


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
    if _coco_files(path):
        return "coco"
    if any(not is_hidden(p, path) for p in path.glob("*.xml")):
        return "voc"
    if any((child / "images").is_dir() and (child / "labels").is_dir() for child in path.iterdir() if child.is_dir()):
        return "yolo"  # Roboflow's export without its data.yaml: train/images + train/labels, valid/...
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
    wanted = split.strip() if isinstance(split, str) and split.strip() else None
    data = reader(path, split=None if wanted is not None and wanted.lower() == "all" else wanted, names=names)
    data.requested_split = wanted
    dropped = sum(s.dropped_boxes for s in data.samples)
    if dropped:
        data.notes.append(f"{dropped} zero-area box(es) were dropped")
    clipped = sum(s.clipped_boxes for s in data.samples)
    if clipped:
        data.notes.append(f"{clipped} box(es) overshooting an image edge by at most {EDGE_TOLERANCE_FRACTION:.0%} of its side "
                          f"(or {EDGE_TOLERANCE_PX:g} px) were clipped to the image")
    difficult = sum(region_kinds(s).count("difficult") for s in data.samples)
    crowd = sum(len(s.crowd_labels) for s in data.samples) - difficult
    if difficult:
        data.notes.append(f"{difficult} difficult object(s) (VOC <difficult>1) are not trained on and are ignored when "
                          "scoring, as in the VOC protocol: a detection on one is neither a true nor a false positive")
    if crowd:
        data.notes.append(f"{crowd} crowd region(s) (COCO iscrowd 1) are not trained on and are ignored when scoring, "
                          "as in COCO: a detection on one is neither a true nor a false positive")
    if not data.samples:
        raise InputError(f"{path} holds no annotated images")
    return data


def declared_split(data: DetectionData) -> tuple[list[int], list[int], list[Path]]:
    """The data's own split: the rows to train on, the rows to validate on, and the images it lists in both train and
    val -- trained on and left out of validation, since a validation image also trained on flatters the score that
    picks the best weights. An image is one file: COCO train and val JSONs naming the same file give two samples."""
    train = [i for i, sample in enumerate(data.samples) if sample.split in {"train", "both"}]
    trained = {data.samples[i].image.resolve() for i in train}
    val, both = [], [data.samples[i].image for i in train if data.samples[i].split == "both"]
    for i, sample in enumerate(data.samples):
        if sample.split == "val":
            if sample.image.resolve() in trained:
                both.append(sample.image)
            else:
                val.append(i)
    return train, val, list(dict.fromkeys(both))


def region_kinds(sample: DetectionSample) -> list[str]:
    """The kind of each of a sample's ignore regions: "crowd" or "difficult"."""
    kinds = list(sample.crowd_kinds)
    return kinds + ["crowd"] * (len(sample.crowd_labels) - len(kinds))


# -- COCO -----------------------------------------------------------------------------------------------
def _coco_files(folder: Path) -> list[Path]:
    candidates = sorted(folder.glob("*.json")) + sorted((folder / "annotations").glob("*.json"))
    return [c for c in candidates if not is_hidden(c, folder)]


def _coco_list(coco: dict, key: str, file: str) -> list[dict]:
    items = coco[key]
    if not isinstance(items, list):
        raise InputError(f"{file}: '{key}' must be a list of objects, got {type(items).__name__}")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"{file}: {key}[{index}] must be an object, got {type(item).__name__}")
    return items


def _coco_where(file: str, kind: str, key: str, index: int, item: dict) -> str:
    identifier = item.get("id")
    named = isinstance(identifier, (int, str)) and not isinstance(identifier, bool)
    return f"{file}: {kind} {identifier!r} ({key}[{index}])" if named else f"{file}: {key}[{index}]"


def _coco_id(item: dict, key: str, where: str) -> int | str:
    if key not in item:
        raise InputError(f"{where} has no '{key}'")
    value = item[key]
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InputError(f"{where}: '{key}' must be an integer (or string) id, got {value!r}")
    return value


def _coco_categories(categories: list[dict], file: str) -> dict[int | str, str]:
    names: dict[int | str, str] = {}
    for index, category in enumerate(categories):
        where = _coco_where(file, "category", "categories", index, category)
        identifier = _coco_id(category, "id", where)
        name = category.get("name")
        if isinstance(name, bool) or not isinstance(name, (str, int)) or not str(name).strip():
            raise InputError(f"{where} needs a 'name' (the class name), got {name!r}")
        if identifier in names:
            raise InputError(f"{file}: category id {identifier!r} is used twice ({names[identifier]!r} and {str(name)!r}); "
                             "give every category its own id")
        if str(name) in names.values():
            other = next(k for k, v in names.items() if v == str(name))
            raise InputError(f"{file}: categories {other!r} and {identifier!r} are both named {str(name)!r}; give each "
                             "category its own name, or merge them into one id")
        names[identifier] = str(name)
    return names


def _coco_box(annotation: dict, where: str) -> list[float]:
    """COCO's [x, y, width, height] as [x1, y1, x2, y2]."""
    if "bbox" not in annotation:
        raise InputError(f"{where} has no 'bbox'; COCO boxes are [x, y, width, height] in pixels")
    bbox = annotation["bbox"]
    if (not isinstance(bbox, list) or len(bbox) != 4
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in bbox)):
        raise InputError(f"{where}: 'bbox' must be 4 numbers [x, y, width, height] in pixels, got {bbox!r}")
    x, y, w, h = (float(v) for v in bbox)
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise InputError(f"{where}: 'bbox' {bbox} holds NaN/inf")
    if w < 0 or h < 0:
        raise InputError(f"{where}: 'bbox' {bbox} has a negative width or height; COCO boxes are "
                         "[x, y, width, height] with the top-left corner first and width, height >= 0")
    return [x, y, x + w, y + h]


def _read_coco(path: Path, split: str | None = None, names: str | None = None) -> DetectionData:
    """A COCO file, or a folder of them: its instances_train / _val / _test (train2017...) files are all read, each
    image keeping its file's split (a test image is never trained on); `split` reads that split's file only."""
    if not path.is_dir():
        file_split = split_name(path.stem)
        if split and split not in path.stem and split_name(split) != file_split:
            holds = f"the {file_split} split" if file_split else "no declared split"
            raise InputError(f"split={split}: {path.name} holds {holds}, not {split_name(split) or split}; pass the "
                             "folder or file of that split, or use split=all to read this file")
        return _read_coco_file(path, file_split)
    candidates = _coco_files(path)
    # COCO's own annotations/ folder also holds captions_*.json and person_keypoints_*.json: the boxes of every
    # class are in instances_*.json
    instances = [c for c in candidates if c.stem.lower().startswith("instances")]
    candidates = instances or candidates
    if not candidates:
        raise InputError(f"{path} holds no COCO .json annotation file")
    if split:
        wanted = [c for c in candidates if split in c.stem or split_name(c.stem) == split_name(split)]
        if not wanted:
            raise InputError(f"split={split}: {path} has no {split_name(split) or split} annotation file (its files: "
                             f"{', '.join(c.name for c in candidates)}); name a split it has, or use split=all to "
                             "read every file")
        candidates = wanted
    by_split: dict[str, list[Path]] = {}
    for candidate in candidates:
        by_split.setdefault(split_name(candidate.stem) or "", []).append(candidate)
    split_files = {kind: files for kind, files in by_split.items() if kind}
    if not split_files or any(len(files) > 1 for files in split_files.values()):
        # one file per split cannot be told apart (instances_train2014 + instances_train2017): the first is read
        json_path = candidates[0]
        notes = ([f"read {json_path.name} only; not read: {', '.join(c.name for c in candidates[1:])} (pass one file, "
                  "or --option split=NAME)"] if len(candidates) > 1 and instances else [])
        data = _read_coco_file(json_path, split_name(json_path.stem))
        data.notes.extend(notes)
        return data
    # instances_train.json + instances_val.json (+ instances_test.json, + the unsplit instances_*.json convert
    # writes beside them): all read, each image keeping its split
    read = [(kind, files[0]) for kind, files in sorted(split_files.items(), key=lambda item: _SPLIT_ORDER[item[0]])]
    read += [("", file) for file in by_split.get("", []) if instances]
    parts = [_read_coco_file(file, kind or None) for kind, file in read]
    classes = list(dict.fromkeys(name for part in parts for name in part.class_names))
    return DetectionData([sample for part in parts for sample in part.samples], classes, "coco", parts[0].root,
                         [", ".join(f"{kind or 'no split'}: {file.name}" for kind, file in read)])


_SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}


def _read_coco_file(json_path: Path, split: str | None) -> DetectionData:
    coco = read_json(json_path, "COCO annotation file")
    file = json_path.name
    if not isinstance(coco, dict) or not {"images", "annotations", "categories"} <= set(coco):
        raise InputError(f"{file} is not COCO: it needs 'images', 'annotations' and 'categories'")
    categories = _coco_categories(_coco_list(coco, "categories", file), file)
    images = _coco_list(coco, "images", file)
    base = json_path.parent
    # COCO's own layout: annotations/instances_train2017.json beside train2017/ (or images/train2017/)
    named = json_path.stem.rsplit("_", 1)[-1]
    image_roots = [base, base / "images", base.parent / "images", base.parent, base.parent / named,
                   base.parent / "images" / named]
    by_image: dict[Any, list] = {}
    first_index: dict[Any, int] = {}
    for index, image in enumerate(images):
        where = _coco_where(file, "image", "images", index, image)
        image_id = _coco_id(image, "id", where)
        if not isinstance(image.get("file_name"), str) or not image["file_name"].strip():
            raise InputError(f"{where} needs a 'file_name' (the image's path relative to the JSON), "
                             f"got {image.get('file_name')!r}")
        if image_id in by_image:
            raise InputError(f"{file}: image id {image_id!r} is used twice (images[{first_index[image_id]}] "
                             f"{images[first_index[image_id]]['file_name']} and images[{index}] {image['file_name']}); "
                             "give every image its own id, else both would receive that id's boxes")
        by_image[image_id], first_index[image_id] = [], index
    for index, annotation in enumerate(_coco_list(coco, "annotations", file)):
        where = _coco_where(file, "annotation", "annotations", index, annotation)
        image_id, category_id = _coco_id(annotation, "image_id", where), _coco_id(annotation, "category_id", where)
        if image_id not in by_image:
            raise InputError(f"{where} refers to unknown image_id {image_id!r}")
        if category_id not in categories:
            raise InputError(f"{where} has unknown category_id {category_id!r}; known ids: {sorted(categories, key=str)}")
        # crowd regions are not single objects: kept apart, never trained on, ignored in scoring as pycocotools does
        by_image[image_id].append((_coco_box(annotation, where), categories[category_id], where,
                                   "difficult" if annotation.get("difficult") else bool(annotation.get("iscrowd"))))
    samples = []
    for index, image in enumerate(images):
        found = None
        for root in image_roots:
            candidate = resolve_inside(root, image["file_name"]) if root.is_dir() else None
            if candidate is not None and candidate.is_file():
                found = candidate
                break
        if found is None:
            raise InputError(f"{file}: image {image['file_name']} not found beside the JSON, in images/ or in "
                             f"{named}/ beside the JSON's folder (COCO's layout)")
        size = _image_size(found)
        _check_stated_size(_coco_where(file, "image", "images", index, image), found,
                           (image.get("width"), image.get("height")), size, "'width' x 'height'")
        rows = by_image[image["id"]]
        samples.append(_sample(found, [r[0] for r in rows], [r[1] for r in rows], size,
                               [f"{r[2]} on {image['file_name']}" for r in rows], [r[3] for r in rows], split))
    return DetectionData(samples, [categories[k] for k in sorted(categories, key=_id_order)], "coco", base)


def _id_order(identifier: int | str) -> tuple[int, Any]:
    return (0, identifier) if isinstance(identifier, int) else (1, identifier)


# The 80 COCO class names in the order YOLO/Ultralytics number them (coco128.yaml, coco.yaml).
COCO80 = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"]
COCO_SPLITS = {"train2017", "val2017", "test2017"}


def _yolo_config(yaml_path: Path) -> dict | None:
    """data.yaml as a mapping, None when absent or not a mapping (_yolo_names reports invalid YAML)."""
    import yaml

    if not yaml_path.is_file():
        return None
    try:
        config = yaml.safe_load(yaml_path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError:
        return None
    return config if isinstance(config, dict) else None


def _yolo_base(yaml_path: Path, config: dict | None) -> Path:
    """The dataset folder: data.yaml's `path:` (relative to the YAML's folder) when it is a folder, else the YAML's."""
    base = yaml_path.parent
    declared = config.get("path") if config else None
    if isinstance(declared, str) and declared.strip() and (base / declared).is_dir():
        return base / declared
    return base


def _yolo_sources(base: Path, config: dict | None) -> dict[str, list[Path]]:
    """data.yaml's `train:` / `val:` / `test:` entries (a folder, a .txt image list, or a list of them) that exist,
    resolved as Ultralytics does: relative to `path:`, a leading '../' dropped when the path does not exist that way
    (Roboflow exports write `train: ../train/images` beside train/)."""
    sources: dict[str, list[Path]] = {"train": [], "val": [], "test": []}
    for kind in sources:
        entries = config.get(kind) if config else None
        for entry in entries if isinstance(entries, list) else [entries]:
            if not isinstance(entry, str) or not entry.strip():
                continue
            candidate = base / entry.strip()
            if not candidate.exists() and entry.strip().startswith("../"):
                candidate = base / entry.strip()[3:]
            if candidate.is_dir() or (candidate.is_file() and candidate.suffix.lower() == ".txt"):
                sources[kind].append(candidate.resolve())
    return sources


def _yolo_listed(list_file: Path, base: Path) -> list[Path]:
    """The images of a .txt image list (Ultralytics: one path a line; './x' is relative to the list's folder), a
    relative path also looked for under `path:`."""
    images = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8-sig").splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        candidates = [Path(entry)] if Path(entry).is_absolute() else [list_file.parent / entry, base / entry]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise InputError(f"{list_file.name} line {number}: image {entry} not found (a relative path is read against "
                             f"{list_file.parent} and data.yaml's path: {base}); fix the list or the path")
        images.append(found)
    return images


def _yolo_label_file(image: Path, images_root: Path, base: Path) -> Path | None:
    """An image's label file where Ultralytics looks (img2label_paths: the last /images/ folder of the image's path
    replaced by /labels/, the suffix by .txt), else labels/ mirroring images/, else beside the image; None when none
    exists."""
    text = image.absolute().as_posix()
    candidates = []
    if "/images/" in text:
        candidates.append(Path("/labels/".join(text.rsplit("/images/", 1))).with_suffix(".txt"))
    if images_root != base:
        try:
            candidates.append(base / "labels" / image.relative_to(images_root).with_suffix(".txt"))
        except ValueError:
            pass
    candidates.append(image.with_suffix(".txt"))
    return next((c for c in candidates if c.is_file()), None)


def _shown(file: Path, *roots: Path) -> str:
    """`file` relative to the first of `roots` holding it, else its full path."""
    for root in roots:
        try:
            return file.absolute().relative_to(root.absolute()).as_posix()
        except ValueError:
            continue
    return str(file)


def _yolo_names(root: Path, names: str | None) -> tuple[dict[int, str] | None, str | None]:
    """Class id -> name and where they came from ('data.yaml', 'the 80 COCO names', ...), or (None, None). A
    `names` mapping keeps its ids: {0: cat, 1: dog, 3: bird} names no id 2, so a label of class 2 is refused."""
    import yaml

    if names and names.lower() == "coco80":
        return dict(enumerate(COCO80)), "the 80 COCO names"

    yaml_path = None
    if names and Path(names).suffix.lower() in {".yaml", ".yml"}:
        yaml_path = require_path(names, "data.yaml")
    elif names:
        return dict(enumerate(n.strip() for n in names.split(",") if n.strip())), "the names given"
    elif (root / "data.yaml").is_file():
        yaml_path = root / "data.yaml"
    if yaml_path is None:
        return None, None
    try:
        config = yaml.safe_load(yaml_path.read_text(encoding="utf-8-sig")) or {}
    except yaml.YAMLError as error:
        raise InputError(f"{yaml_path.name} is not valid YAML: {error}") from error
    listed = config.get("names") if isinstance(config, dict) else None
    if isinstance(listed, dict) and listed:
        ids: dict[int, str] = {}
        for key, name in listed.items():
            try:
                number = int(key)
            except (TypeError, ValueError):
                number = -1
            if isinstance(key, bool) or number < 0 or str(number) != str(key).strip():
                raise InputError(f"{yaml_path.name}: 'names' key {key!r} is not a class id (0, 1, 2, ...)")
            ids[number] = str(name)
        return dict(sorted(ids.items())), yaml_path.name
    if not isinstance(listed, list) or not listed:
        raise InputError(f"{yaml_path.name} needs a 'names' list (class id -> name)")
    return dict(enumerate(str(n) for n in listed)), yaml_path.name


def _id_span(ids: dict[int, str]) -> str:
    """'ids 0..3', or the ids one by one when some are missing ('ids 0, 1, 3')."""
    keys = sorted(ids)
    if keys == list(range(len(keys))):
        return f"ids 0..{len(keys) - 1}"
    return "ids " + ", ".join(str(k) for k in keys)


def _yolo_line(line: str, where: str, class_names: dict[int, str] | None, source: str | None,
               keypoints: bool = False) -> tuple[int, list[float]]:
    """One label line '<class> <x_center> <y_center> <width> <height>' (normalised) -> class id and those four. A
    segmentation line '<class> x1 y1 x2 y2 x3 y3 ...' (a polygon of 3+ points) becomes its bounding box, as
    Ultralytics trains a detector on segmentation labels. With `keypoints` (data.yaml's kpt_shape: pose labels
    '<class> <box> <keypoints...>') the first five values are the box and the keypoints are left out."""
    parts = line.split()
    if keypoints:
        if len(parts) < 5:
            raise InputError(f"{where}: expected '<class> <x_center> <y_center> <width> <height> <keypoints...>' (a pose "
                             f"label: data.yaml has kpt_shape), got {line!r}")
        parts = parts[:5]
    polygon = len(parts) >= 7 and len(parts) % 2 == 1
    if len(parts) != 5 and not polygon:
        raise InputError(f"{where}: expected '<class> <x_center> <y_center> <width> <height>' (a box) or '<class> x1 y1 "
                         f"x2 y2 x3 y3 ...' (a polygon of 3+ points, read as its bounding box), got {line!r}")
    try:
        values = [float(v) for v in parts]
    except ValueError as error:
        raise InputError(f"{where}: not numbers: {line!r}") from error
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"{where}: {line!r} holds NaN/inf")
    if polygon:  # Ultralytics' segments2boxes: the polygon's extent, as a normalised centre box
        xs, ys = values[1::2], values[2::2]
        values = [values[0], (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, max(xs) - min(xs), max(ys) - min(ys)]
    if not values[0].is_integer():
        raise InputError(f"{where}: class id {parts[0]} is not a whole number; YOLO class ids are integers 0, 1, 2, ...")
    class_id, (cx, cy, w, h) = int(values[0]), values[1:]
    if class_id < 0:
        raise InputError(f"{where}: unknown class id {class_id}; YOLO class ids count from 0")
    if class_names is not None and class_id not in class_names:
        raise InputError(f"{where}: unknown class id {class_id} ({source} names {_id_span(class_names)})")
    if w < 0 or h < 0:
        raise InputError(f"{where}: negative box width or height in {line!r}; YOLO boxes are "
                         "'<class> <x_center> <y_center> <width> <height>' with width, height >= 0")
    return class_id, [cx, cy, w, h]


def _image_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not is_hidden(p, folder)]


def _relative_parts(image: Path, *roots: Path) -> tuple[str, ...]:
    """The folders of `image` below the first of `roots` holding it (all of its folders when none does)."""
    for root in roots:
        try:
            return image.relative_to(root).parts[:-1]
        except ValueError:
            continue
    return image.parts[:-1]


def _read_yolo(path: Path, split: str | None = None, names: str | None = None) -> DetectionData:
    root = path.parent if path.is_file() else path
    yaml_path = path if path.is_file() else root / "data.yaml"
    config = _yolo_config(yaml_path)
    base = _yolo_base(yaml_path, config)  # data.yaml's path: (Ultralytics), else its folder
    id_names, source = _yolo_names(root, str(path) if path.is_file() else names)
    kpt_shape = config.get("kpt_shape") if config else None
    images_root = base / "images" if (base / "images").is_dir() else base
    sources = _yolo_sources(base, config)
    found: dict[Path, Path] = {image.resolve(): image for image in _image_files(images_root)}
    for entries in sources.values():
        for entry in entries:
            for image in (_image_files(entry) if entry.is_dir() else _yolo_listed(entry, base)):
                found.setdefault(image.resolve(), image)
    images = sorted(found.values())
    if not images:
        raise InputError(f"{base} holds no images under images/ (nor in the folders or lists data.yaml's "
                         "train/val/test name)")
    splits = _yolo_splits(sources, base, images_root, images)
    if split:
        chosen = [p for p in images if split in _relative_parts(p, images_root, base)
                  or splits[p] in {split.lower(), split_name(split)}]
        if not chosen:  # evaluate refuses it alike: never every image, the training ones included, in its place
            counts: dict[str | None, int] = {}
            for image in images:
                counts[splits[image]] = counts.get(splits[image], 0) + 1
            raise _no_split(split, counts, "images")
        images = chosen
    rows: list[tuple[Path, list, list[int], tuple[int, int], list[str]]] = []
    max_id, polygons, labelled, used = -1, 0, 0, set()
    # no names given, but COCO's own split folder names identify the label space: the 80 COCO names (Ultralytics order)
    coco = id_names is None and any(COCO_SPLITS & set(_relative_parts(p, images_root, base)) for p in images)
    for image in images:
        label_file = _yolo_label_file(image, images_root, base)
        boxes, ids, wheres = [], [], []
        size = _image_size(image)  # as displayed: YOLO tools (Ultralytics) normalise in the EXIF-turned frame
        if label_file is not None:
            labelled += 1
            used.add(label_file.resolve())
            text = label_file.read_text(encoding="utf-8-sig", errors="replace")  # -sig: Windows editors write a BOM
            for number, line in enumerate(text.splitlines(), 1):
                if not line.split():
                    continue
                where = f"{_shown(label_file, root, base)} line {number}"
                class_id, (cx, cy, w, h) = _yolo_line(line, where, id_names, source, keypoints=kpt_shape is not None)
                if coco and class_id >= len(COCO80):  # one stray id would otherwise rename every class to its number
                    raise InputError(f"{where}: class id {class_id}, but COCO has ids 0..{len(COCO80) - 1} (the "
                                     "train2017/val2017 folders identify COCO); add a data.yaml naming your classes "
                                     "(or pass --option names=...) if they are not COCO's")
                width, height = size
                boxes.append([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height])
                polygons += kpt_shape is None and len(line.split()) > 5
                ids.append(class_id)
                wheres.append(where)
                max_id = max(max_id, class_id)
        rows.append((image, boxes, ids, size, wheres))
    if not labelled:  # Ultralytics: "No labels found": training on these would learn background only
        looked = _yolo_label_file_wanted(images[0])
        raise InputError(f"none of the {len(images)} images has a YOLO label file: for {_shown(images[0], root, base)} "
                         f"it was looked for at {_shown(looked, root, base)} (as Ultralytics does: the last images/ "
                         "folder of the image's path replaced by labels/, the suffix by .txt), in labels/ mirroring "
                         "images/ and beside the image; put the labels there (an empty .txt marks an image without "
                         "objects), or pass data.yaml if the labels are described there")
    notes = []
    if not split:  # label files beside those read (or in labels/) that no image pairs with are not read: said
        folders = {file.parent for file in used} | ({(base / "labels").resolve()} if (base / "labels").is_dir() else set())
        orphans = sorted({file.resolve() for folder in folders for file in folder.rglob("*.txt")
                          if file.name != "classes.txt" and not is_hidden(file, folder)} - used)
        if orphans:
            notes.append(f"{len(orphans)} label file(s) pair with no image and were not read (e.g. "
                         f"{_shown(orphans[0], root, base)}); an image's labels are read from the path Ultralytics uses "
                         "(its last images/ folder replaced by labels/, the suffix by .txt)")
    if polygons:
        notes.append(f"{polygons} segmentation polygon(s) were read as their bounding boxes (as Ultralytics does)")
    if kpt_shape is not None:
        notes.append(f"data.yaml has kpt_shape {kpt_shape}: pose labels, whose boxes are read and keypoints left out")
    if coco:
        id_names = dict(enumerate(COCO80))
        notes.append("no data.yaml: the train2017/val2017 folders identify COCO, so class ids use the 80 COCO names "
                     "(Ultralytics order); pass --option names=... to override")
    elif id_names is None:
        id_names = {i: str(i) for i in range(max_id + 1)}
        notes.append("no data.yaml: classes are named by their ids; add data.yaml with 'names' (or pass --option names=...)")
    samples = [_sample(image, boxes, [id_names[i] for i in ids], size, wheres, split=splits[image])
               for image, boxes, ids, size, wheres in rows]
    return DetectionData(samples, list(id_names.values()), "yolo", base, notes)


def _yolo_label_file_wanted(image: Path) -> Path:
    """Where Ultralytics looks for an image's labels (img2label_paths), for messages."""
    text = image.absolute().as_posix()
    return Path("/labels/".join(text.rsplit("/images/", 1))).with_suffix(".txt") if "/images/" in text \
        else image.with_suffix(".txt")


def _yolo_splits(sources: dict[str, list[Path]], base: Path, images_root: Path,
                 images: list[Path]) -> dict[Path, str | None]:
    """Each image's split: the folders and .txt image lists data.yaml's `train:` / `val:` / `test:` name (a list naming
    the image decides, else the deepest folder holding it; "both" when train and val name it), else a split folder in
    its path (images/train, images/val2017); None when train and val name the same folders or lists."""
    if set(sources["train"]) == set(sources["val"]):  # converted data (train: images, val: images): no split declared
        sources = {"train": [], "val": [], "test": []}
    listed: dict[Path, set[str]] = {}
    folders: dict[str, list[Path]] = {kind: [] for kind in sources}
    for kind, entries in sources.items():
        for entry in entries:
            if entry.is_dir():
                folders[kind].append(entry)
            else:
                for image in _yolo_listed(entry, base):
                    listed.setdefault(image.resolve(), set()).add(kind)
    splits: dict[Path, str | None] = {}
    for image in images:
        resolved, found, depth = image.resolve(), None, -1
        kinds = listed.get(resolved)
        if kinds:
            splits[image] = "both" if {"train", "val"} <= kinds else next(k for k in ("train", "val", "test") if k in kinds)
            continue
        for kind, roots in folders.items():
            for folder in roots:
                if folder in resolved.parents and len(folder.parts) > depth:
                    found, depth = kind, len(folder.parts)
                elif folder in resolved.parents and len(folder.parts) == depth and found != kind:
                    if {found, kind} == {"train", "val"}:
                        found = "both"  # train: [a, b] and val: b
                    elif found == "test":
                        found = kind  # also named by train or val: trained or validated on
        if found is None and not any(sources.values()):
            named = [split_name(part) for part in _relative_parts(image, images_root)]
            found = next((name for name in named if name), None)
        splits[image] = found
    return splits


def _read_voc(path: Path, split: str | None = None, names: str | None = None) -> DetectionData:
    root = path
    annotation_dir = root / "Annotations" if (root / "Annotations").is_dir() else root
    files = sorted(f for f in annotation_dir.glob("*.xml") if not is_hidden(f, annotation_dir))
    list_file = root / "ImageSets" / "Main" / f"{split}.txt" if split else None
    if list_file is not None and list_file.is_file():
        wanted = {line.strip() for line in list_file.read_text(encoding="utf-8-sig").splitlines() if line.strip()}
        files = [f for f in files if f.stem in wanted]
    if not files:
        raise InputError(f"{root} holds no VOC annotations (Annotations/*.xml)")
    # ImageSets/Main/train.txt, val.txt and test.txt: each image's split ("both" when in train and val; an image also
    # listed in train or val keeps that split, since it is trained or validated on)
    listed: dict[str, str] = {}
    for kind in ("train", "val", "test"):
        split_file = root / "ImageSets" / "Main" / f"{kind}.txt"
        if split_file.is_file():
            for line in split_file.read_text(encoding="utf-8-sig").splitlines():
                if line.split():
                    stem = line.split()[0]
                    if kind == "test":
                        listed.setdefault(stem, kind)
                    else:
                        listed[stem] = kind if listed.get(stem, kind) == kind else "both"
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
            matches = [p for p in image_dir.glob(file.stem + ".*")
                       if p.suffix.lower() in IMAGE_SUFFIXES and not is_hidden(p, image_dir)]
            if not matches:
                raise InputError(f"{file.name}: image {filename} not found in {image_dir.name}/")
            image = matches[0]
        size = _image_size(image)
        _check_stated_size(file.name, image, (_voc_number(tree, "size/width"), _voc_number(tree, "size/height")), size,
                           "<size> <width> x <height>")
        boxes, labels, wheres, difficult = [], [], [], []
        for number, obj in enumerate(tree.findall("object"), 1):
            name, box = (obj.findtext("name") or "").strip(), obj.find("bndbox")
            if not name or box is None:
                raise InputError(f"{file.name}: <object> {number} lacks <name> or <bndbox>")
            try:
                boxes.append([float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
            except (TypeError, ValueError) as error:
                raise InputError(f"{file.name}: box of {name} is not numeric") from error
            labels.append(name)
            wheres.append(f"{file.name} <object> {number} ({name})")
            # VOC protocol: a difficult object is neither hit nor miss -> an ignore region, as COCO's crowd regions
            difficult.append("difficult" if (obj.findtext("difficult") or "0").strip().lower() in {"1", "true"} else False)
            classes.add(name)
        samples.append(_sample(image, boxes, labels, size, wheres, difficult, split=listed.get(file.stem),
                               one_based=True))
    class_names = [n.strip() for n in names.split(",")] if names else sorted(classes)
    unknown = classes - set(class_names)
    if unknown:
        raise InputError(f"unknown classes {sorted(unknown)}: not among the given names {class_names}")
    return DetectionData(samples, class_names, "voc", root)


def _voc_number(tree: Any, key: str) -> float | str | None:
    """A number in the XML, the raw text when it is not one (reported by the size check), None when absent."""
    text = (tree.findtext(key) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


# -- report and conversion ---------------------------------------------------------------------------
def detection_report(data: DetectionData, decode: bool = True) -> dict[str, Any]:
    """Counts per class, boxes per image, and the decoded check of every image (InputError on a bad one). Crowd
    regions and VOC difficult objects are not boxes: they are counted apart (`crowd_regions`, `difficult_objects`)."""
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
            "crowd_regions": sum(region_kinds(s).count("crowd") for s in data.samples),
            "difficult_objects": sum(region_kinds(s).count("difficult") for s in data.samples),
            "splits": _split_counts(data) if any(s.split for s in data.samples) else None, "notes": data.notes,
            "convert": "Detector.convert(data, out_dir, to='coco'|'yolo'|'voc') writes the same data in another format"}


def _split_counts(data: DetectionData) -> dict[str, int]:
    """Images to train and to validate on in the data's own split, those it lists in both (trained on only), and its
    test images (never trained on)."""
    train, val, both = declared_split(data)
    test = sum(1 for sample in data.samples if sample.split == "test")
    return {"train": len(train), "val": len(val), **({"in_both": len(both)} if both else {}),
            **({"test": test} if test else {})}


def convert_detection_data(data: DetectionData, out_dir: str | Path, to: str) -> Path:
    """Write `data` as COCO (annotations.json + images/), YOLO (images/, labels/, data.yaml) or VOC, atomically.
    Crowd regions stay `iscrowd: 1` in COCO; YOLO and VOC cannot mark one, so they are left out there. VOC difficult
    objects stay `<difficult>1` in VOC and are `iscrowd: 1` with `difficult: 1` in COCO (ignored alike, read back as
    difficult); YOLO cannot mark one, so they are left out there. A declared split is kept, so a test image stays out
    of training: COCO instances_train/val/test.json, YOLO images/<split>/ named by data.yaml's train/val/test, VOC
    ImageSets/Main/<split>.txt (an image in train and val is listed in both; one without a split, beside split ones,
    goes to instances_unsplit.json / images/unsplit/ / no list)."""
    import yaml

    to = to.lower()
    if to not in {"coco", "yolo", "voc"}:
        raise InputError(f"unknown target format {to!r}; use coco, yolo or voc")
    names = list(data.class_names)
    split = any(sample.split for sample in data.samples)
    groups = {"both": ("train", "val")}  # the COCO files / VOC lists an image of each split is written to
    check_output_dir(out_dir)  # a folder of the user's files is never replaced by the converted copy
    with atomic_directory(out_dir) as tmp:
        image_dir = tmp / ("JPEGImages" if to == "voc" else "images")
        image_dir.mkdir(parents=True)
        used: set[str] = set()
        categories = [{"id": i + 1, "name": n} for i, n in enumerate(names)]
        cocos: dict[str, dict[str, list]] = {}
        lists: dict[str, list[str]] = {}
        for index, sample in enumerate(data.samples):
            name = sample.image.name if sample.image.name not in used else f"{index}_{sample.image.name}"
            used.add(name)
            kind = (sample.split or "unsplit") if split else None
            folder = image_dir / kind if to == "yolo" and kind else image_dir
            folder.mkdir(exist_ok=True)
            shutil.copyfile(sample.image, folder / name)
            if to == "coco":
                for target in groups.get(kind, (kind,)):
                    coco = cocos.setdefault(target or "", {"images": [], "annotations": [], "categories": categories})
                    coco["images"].append({"id": index + 1, "file_name": f"images/{name}", "width": sample.width,
                                           "height": sample.height})
                    kinds = [None] * len(sample.labels) + region_kinds(sample)
                    regions = sample.boxes.tolist() + sample.crowd_boxes.tolist()
                    for ((x1, y1, x2, y2), label, region) in zip(regions, sample.labels + sample.crowd_labels, kinds):
                        annotation = {"id": len(coco["annotations"]) + 1, "image_id": index + 1,
                                      "category_id": names.index(label) + 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                                      "area": (x2 - x1) * (y2 - y1), "iscrowd": int(region is not None)}
                        coco["annotations"].append({**annotation, "difficult": 1} if region == "difficult" else annotation)
            elif to == "yolo":
                lines = []
                for (x1, y1, x2, y2), label in zip(sample.boxes.tolist(), sample.labels):
                    lines.append(f"{names.index(label)} {(x1 + x2) / 2 / sample.width:.6f} {(y1 + y2) / 2 / sample.height:.6f} "
                                 f"{(x2 - x1) / sample.width:.6f} {(y2 - y1) / sample.height:.6f}")
                label_dir = tmp / "labels" / kind if kind else tmp / "labels"
                label_dir.mkdir(parents=True, exist_ok=True)
                (label_dir / (Path(name).stem + ".txt")).write_text("\n".join(lines) + ("\n" if lines else ""))
            else:
                (tmp / "Annotations").mkdir(exist_ok=True)
                (tmp / "Annotations" / (Path(name).stem + ".xml")).write_text(_voc_xml(name, sample))
                for target in groups.get(kind, (kind,)) if kind and kind != "unsplit" else ():
                    lists.setdefault(target, []).append(Path(name).stem)
        if to == "coco" and not split:
            (tmp / "annotations.json").write_text(json.dumps(cocos.get("", {"images": [], "annotations": [],
                                                                             "categories": categories})))
        elif to == "coco":
            for target, coco in cocos.items():
                (tmp / f"instances_{target}.json").write_text(json.dumps(coco))
        elif to == "yolo":
            config: dict[str, Any] = {"path": ".", "train": "images", "val": "images"}
            if split:
                present = {sample.split for sample in data.samples}
                config = {"path": ".", **{kind: [f"images/{k}" for k in (kind, "both") if k in present]
                                          for kind in ("train", "val", "test")}}
                config = {key: (value[0] if isinstance(value, list) and len(value) == 1 else value)
                          for key, value in config.items() if value != []}
            (tmp / "data.yaml").write_text(yaml.safe_dump({**config, "names": dict(enumerate(names))}, sort_keys=False))
        elif split:
            (tmp / "ImageSets" / "Main").mkdir(parents=True)
            for target, stems in lists.items():
                (tmp / "ImageSets" / "Main" / f"{target}.txt").write_text("\n".join(stems) + "\n")
    return Path(out_dir)


def _voc_xml(filename: str, sample: DetectionSample) -> str:
    root = ElementTree.Element("annotation")
    ElementTree.SubElement(root, "filename").text = filename
    size = ElementTree.SubElement(root, "size")
    for key, value in (("width", sample.width), ("height", sample.height), ("depth", 3)):
        ElementTree.SubElement(size, key).text = str(value)
    difficult = [(box, label) for box, label, kind in zip(sample.crowd_boxes.tolist(), sample.crowd_labels,
                                                          region_kinds(sample)) if kind == "difficult"]
    objects = [(box, label, "0") for box, label in zip(sample.boxes.tolist(), sample.labels)]
    for (x1, y1, x2, y2), label, flag in objects + [(box, label, "1") for box, label in difficult]:
        obj = ElementTree.SubElement(root, "object")
        ElementTree.SubElement(obj, "name").text = label
        ElementTree.SubElement(obj, "difficult").text = flag
        box = ElementTree.SubElement(obj, "bndbox")
        # back to VOC's 1-based inclusive pixel indices (the reader's minus 1 undone)
        for key, value in (("xmin", x1 + 1.0), ("ymin", y1 + 1.0), ("xmax", x2), ("ymax", y2)):
            ElementTree.SubElement(box, key).text = f"{value:.1f}"
    return ElementTree.tostring(root, encoding="unicode")
