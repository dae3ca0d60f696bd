"""Detection readers on hostile inputs: EXIF-turned photos, malformed COCO, inverted or overshooting boxes, odd YOLO
label files and macOS dot-files. Every dataset is a few tiny images written here."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from tests.vision._fixtures import png_bytes, yolo_folder
from vision._detection_data import _image_size, read_detection_data


def jpeg(path: Path, width: int, height: int, orientation: int | None = None) -> Path:
    """A noise JPEG stored width x height, with an EXIF orientation tag when given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, format="JPEG", exif=exif.tobytes())
    return path


def png(path: Path, width: int, height: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(width, height))
    return path


def voc(root: Path, boxes: list[tuple[str, float, float, float, float]], size: tuple[int, int] = (64, 48),
        stated: tuple[int, int] | None = None, orientation: int | None = None) -> Path:
    """A one-image VOC folder; `stated` is the <size> written in the XML (default: none)."""
    jpeg(root / "JPEGImages" / "a.jpg", *size, orientation=orientation)
    objects = "".join(f"<object><name>{n}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>"
                      f"<ymax>{y2}</ymax></bndbox></object>" for n, x1, y1, x2, y2 in boxes)
    size_xml = f"<size><width>{stated[0]}</width><height>{stated[1]}</height><depth>3</depth></size>" if stated else ""
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    (root / "Annotations" / "a.xml").write_text(f"<annotation><filename>a.jpg</filename>{size_xml}{objects}</annotation>")
    return root


def coco(root: Path, document: dict, images: dict[str, tuple[int, int]] | None = None) -> Path:
    """`document` as ann.json beside PNGs (name -> stored size; default one 32x32 'a.png')."""
    for name, (width, height) in (images or {"a.png": (32, 32)}).items():
        png(root / name, width, height)
    (root / "ann.json").write_text(json.dumps(document))
    return root / "ann.json"


def coco_document(**changes) -> dict:
    document = {"images": [{"id": 1, "file_name": "a.png"}], "categories": [{"id": 1, "name": "a"}],
                "annotations": [{"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}]}
    return {**document, **changes}


# -- 1. EXIF orientation: boxes live in the displayed frame, the one open_image hands to training and prediction
@pytest.mark.parametrize("orientation", range(1, 9))
def test_image_size_is_the_size_open_image_shows(tmp_path, orientation):
    from core.data import open_image

    path = jpeg(tmp_path / "a.jpg", 40, 24, orientation)
    assert _image_size(path) == open_image(path).size == ((24, 40) if orientation >= 5 else (40, 24))


def test_png_exif_after_the_image_data_is_seen(tmp_path):
    """Pillow finds a PNG eXIf chunk after IDAT only on decoding; the size must still be the turned one."""
    from core.data import open_image

    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "late.png"
    Image.new("RGB", (40, 24)).save(path, exif=exif.tobytes())
    data = path.read_bytes()
    chunks, offset = [], 8
    while offset < len(data):
        length = struct.unpack(">I", data[offset:offset + 4])[0]
        chunks.append(data[offset:offset + 12 + length])
        offset += 12 + length
    late = next(c for c in chunks if c[4:8] == b"eXIf")  # moved whole, CRC included
    chunks.remove(late)
    chunks.insert(next(i for i, c in enumerate(chunks) if c[4:8] == b"IEND"), late)
    path.write_bytes(data[:8] + b"".join(chunks))
    with Image.open(path) as image:
        assert "exif" not in image.info  # really after the image data
    assert _image_size(path) == open_image(path).size == (24, 40)
    assert _image_size(png(tmp_path / "plain.png", 40, 24)) == (40, 24)


def test_yolo_labels_scale_in_the_displayed_frame(tmp_path):
    line = "0 0.25 0.5 0.3 0.2\n"
    for name, stored, orientation in (("turned", (48, 64), 6), ("upright", (64, 48), None)):
        jpeg(tmp_path / name / "images" / "x.jpg", *stored, orientation=orientation)
        (tmp_path / name / "labels").mkdir()
        (tmp_path / name / "labels" / "x.txt").write_text(line)
    turned, upright = read_detection_data(tmp_path / "turned"), read_detection_data(tmp_path / "upright")
    assert [(d.samples[0].width, d.samples[0].height) for d in (turned, upright)] == [(64, 48), (64, 48)]
    np.testing.assert_allclose(turned.samples[0].boxes, upright.samples[0].boxes)
    np.testing.assert_allclose(upright.samples[0].boxes, [[6.4, 19.2, 25.6, 28.8]], atol=1e-4)


def test_voc_size_of_the_unturned_pixels_is_named(tmp_path):
    # stored 64x48 with orientation 6: displayed 48x64; the XML says 64x48, so its boxes are in the unturned frame
    with pytest.raises(InputError, match=r"a\.xml.*64 x 48.*48 x 64.*EXIF orientation \(6\)"):
        read_detection_data(voc(tmp_path / "v", [("cell", 1, 1, 10, 10)], stated=(64, 48), orientation=6))
    data = read_detection_data(voc(tmp_path / "w", [("cell", 1, 1, 10, 10)], stated=(48, 64), orientation=6))
    assert (data.samples[0].width, data.samples[0].height) == (48, 64)


# -- 2. COCO duplicate ids ------------------------------------------------------------------------------------
def test_coco_duplicate_ids_are_errors(tmp_path):
    images = {"a.png": (32, 32), "b.png": (32, 32)}
    two_images = coco_document(images=[{"id": 1, "file_name": "a.png"}, {"id": 1, "file_name": "b.png"}])
    with pytest.raises(InputError, match=r"image id 1 is used twice.*a\.png.*b\.png"):
        read_detection_data(coco(tmp_path / "i", two_images, images))
    with pytest.raises(InputError, match=r"category id 1 is used twice \('a' and 'b'\)"):
        read_detection_data(coco(tmp_path / "c", coco_document(categories=[{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])))
    with pytest.raises(InputError, match=r"categories 1 and 2 are both named 'a'"):
        read_detection_data(coco(tmp_path / "n", coco_document(categories=[{"id": 1, "name": "a"}, {"id": 2, "name": "a"}])))


# -- 3. COCO missing or malformed keys ------------------------------------------------------------------------
ANNOTATION = {"id": 7, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}


@pytest.mark.parametrize(("changes", "message"), [
    ({"annotations": [{k: v for k, v in ANNOTATION.items() if k != "bbox"}]}, r"annotation 7 \(annotations\[0\]\) has no 'bbox'"),
    ({"annotations": [{**ANNOTATION, "bbox": [1, 1, 5]}]}, r"annotation 7 .*'bbox' must be 4 numbers.*\[1, 1, 5\]"),
    ({"annotations": [{**ANNOTATION, "bbox": "1 1 5 5"}]}, r"annotation 7 .*'bbox' must be 4 numbers"),
    ({"annotations": [{**ANNOTATION, "bbox": [1, "1", 5, 5]}]}, r"annotation 7 .*'bbox' must be 4 numbers"),
    ({"annotations": [{"image_id": 1, "category_id": 1}]}, r"annotations\[0\] has no 'bbox'"),
    ({"annotations": [{**ANNOTATION, "image_id": [1]}]}, r"annotation 7 .*'image_id' must be an integer"),
    ({"annotations": [{k: v for k, v in ANNOTATION.items() if k != "category_id"}]}, r"annotation 7 .*has no 'category_id'"),
    ({"annotations": {"7": ANNOTATION}}, r"'annotations' must be a list of objects, got dict"),
    ({"categories": [{"id": 1}]}, r"category 1 \(categories\[0\]\) needs a 'name'"),
    ({"categories": [{"name": "a"}]}, r"categories\[0\] has no 'id'"),
    ({"images": [{"file_name": "a.png"}]}, r"images\[0\] has no 'id'"),
    ({"images": [{"id": 1}]}, r"image 1 \(images\[0\]\) needs a 'file_name'"),
    ({"images": {"id": 1, "file_name": "a.png"}}, r"'images' must be a list of objects, got dict"),
    ({"images": ["a.png"]}, r"images\[0\] must be an object, got str"),
    ({"images": [{"id": 1, "file_name": "a.png", "width": "wide", "height": 32}]}, r"image 1 .*whole numbers of pixels"),
])
def test_malformed_coco_is_a_named_input_error(tmp_path, changes, message):
    with pytest.raises(InputError, match=message):
        read_detection_data(coco(tmp_path, coco_document(**changes)))


# -- 4. inverted boxes are errors, zero-area ones are still dropped with a note -------------------------------
def test_inverted_boxes_are_errors_naming_file_and_box(tmp_path):
    with pytest.raises(InputError, match=r"a\.xml <object> 1 \(cell\).*\(40, 5, 10, 20\).*swapped corners"):
        read_detection_data(voc(tmp_path / "swapped", [("cell", 40, 5, 10, 20)]))
    with pytest.raises(InputError, match=r"a\.xml <object> 2 \(cell\).*\(1000, 5, 2, 20\)"):
        read_detection_data(voc(tmp_path / "far", [("cell", 1, 1, 9, 9), ("cell", 1000, 5, 2, 20)], size=(640, 48)))
    with pytest.raises(InputError, match=r"labels/0\.txt line 2: negative box width"):
        read_detection_data(yolo_folder(tmp_path / "yolo", n=1, lines="0 0.5 0.5 0.2 0.2\n0 0.5 0.5 -0.2 0.2\n"))
    with pytest.raises(InputError, match=r"annotation 7 .*negative width or height"):
        read_detection_data(coco(tmp_path / "coco", coco_document(annotations=[{**ANNOTATION, "bbox": [20, 1, -5, 5]}])))
    data = read_detection_data(voc(tmp_path / "flat", [("cell", 10, 5, 10, 20), ("cell", 1, 1, 9, 9)]))
    assert len(data.samples[0].boxes) == 1 and "1 zero-area box(es) were dropped" in data.notes


# -- 5. small overshoot is clipped and counted, far outside is an error ---------------------------------------
def test_small_overshoot_is_clipped_with_a_note(tmp_path):
    # 640 px wide: up to 2% = 12.8 px past an edge is clipped; 1.5 px on a small image
    data = read_detection_data(voc(tmp_path / "near", [("c", -10, 1, 50, 20), ("c", 600, 1, 652, 20), ("c", 1, 1, 9, 9)],
                                   size=(640, 48)))
    np.testing.assert_allclose(data.samples[0].boxes[:2], [[0, 0, 50, 20], [599, 0, 640, 20]])  # VOC: 1-based
    assert any(note.startswith("2 box(es) overshooting an image edge") for note in data.notes)
    # VOC is 1-based: xmin=-0.4 is 1.4 px left of the image
    small = read_detection_data(voc(tmp_path / "small", [("c", -0.4, 1, 10, 10)], size=(32, 32)))
    assert small.samples[0].boxes[0, 0] == 0 and small.samples[0].clipped_boxes == 1
    with pytest.raises(InputError, match=r"a\.xml <object> 1 \(c\): box \(600, 1, 660, 20\) lies outside the 640x48 image"):
        read_detection_data(voc(tmp_path / "far", [("c", 600, 1, 660, 20)], size=(640, 48)))
    # YOLO tools round normalised boxes: 1.000001 of the side is float noise, neither clipped in a note nor an error
    exact = read_detection_data(yolo_folder(tmp_path / "round", n=1, lines="0 0.5 0.5 1.000001 0.5\n"))
    assert not any("overshooting" in note for note in exact.notes)


# -- 6. COCO width/height must be the image's own (displayed) size --------------------------------------------
def test_coco_size_mismatch_is_an_error(tmp_path):
    sized = coco_document(images=[{"id": 1, "file_name": "a.png", "width": 64, "height": 32}])
    with pytest.raises(InputError, match=r"image 1 \(images\[0\]\).*a\.png is 64 x 32.*image is 32 x 32"):
        read_detection_data(coco(tmp_path / "bad", sized))
    right = coco_document(images=[{"id": 1, "file_name": "a.png", "width": 32, "height": 32}])
    assert read_detection_data(coco(tmp_path / "good", right)).samples[0].width == 32
    root = tmp_path / "turned"
    jpeg(root / "a.jpg", 40, 24, orientation=6)  # displayed 24 x 40
    (root / "ann.json").write_text(json.dumps(coco_document(images=[{"id": 1, "file_name": "a.jpg", "width": 40, "height": 24}])))
    with pytest.raises(InputError, match=r"a\.jpg is 40 x 24.*image is 24 x 40.*EXIF orientation \(6\)"):
        read_detection_data(root / "ann.json")


# -- 7. YOLO class ids, BOM, dot-files ------------------------------------------------------------------------
def test_yolo_class_id_messages_and_integral_floats(tmp_path):
    root = yolo_folder(tmp_path / "bare", n=1, lines="-1 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").unlink()
    with pytest.raises(InputError, match="count from 0") as raised:
        read_detection_data(root)
    assert "data.yaml" not in str(raised.value)
    with pytest.raises(InputError, match=r"unknown class id 3 \(the names given names ids 0\.\.1\)"):
        read_detection_data(yolo_folder(tmp_path / "named", n=1, lines="3 0.5 0.5 0.2 0.2\n"), names="a,b")
    with pytest.raises(InputError, match=r"unknown class id 3 \(data\.yaml names ids 0\.\.0\)"):
        read_detection_data(yolo_folder(tmp_path / "yaml", n=1, lines="3 0.5 0.5 0.2 0.2\n"))
    assert read_detection_data(yolo_folder(tmp_path / "float", n=1, lines="0.0 0.5 0.5 0.2 0.2\n")).samples[0].labels == ["thing"]
    with pytest.raises(InputError, match=r"class id 1\.5 is not a whole number"):
        read_detection_data(yolo_folder(tmp_path / "half", n=1, lines="1.5 0.5 0.5 0.2 0.2\n"))


def test_yolo_labels_with_a_bom_parse(tmp_path):
    root = yolo_folder(tmp_path / "bom", n=1)
    (root / "labels" / "0.txt").write_bytes("0 0.5 0.5 0.4 0.5\r\n".encode("utf-8-sig"))
    (root / "data.yaml").write_bytes("names: [thing]\n".encode("utf-8-sig"))
    data = read_detection_data(root)
    assert data.samples[0].labels == ["thing"] and len(data.samples[0].boxes) == 1


def test_dot_files_are_ignored(tmp_path):
    appledouble = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "  # the resource fork macOS leaves on other disks
    root = yolo_folder(tmp_path / "yolo", n=2)
    (root / "images" / "._0.png").write_bytes(appledouble)
    (root / "images" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "images" / ".thumbs").mkdir()
    (root / "images" / ".thumbs" / "0.png").write_bytes(appledouble)
    assert len(read_detection_data(root)) == 2
    folder = voc(tmp_path / "voc", [("cell", 1, 1, 10, 10)])
    (folder / "Annotations" / "._a.xml").write_bytes(appledouble)
    (folder / "JPEGImages" / "._a.jpg").write_bytes(appledouble)
    assert len(read_detection_data(folder)) == 1
    json_path = coco(tmp_path / "coco", coco_document())
    (json_path.parent / "._ann.json").write_bytes(appledouble)
    assert read_detection_data(json_path.parent).format == "coco"


def test_coco_s_own_layout_finds_its_images(tmp_path):
    """annotations/instances_train2017.json beside train2017/ (COCO as downloaded): 'image not found'."""
    png(tmp_path / "train2017" / "a.png", 32, 32)
    png(tmp_path / "val2017" / "b.png", 32, 32)
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_train2017.json").write_text(json.dumps(coco_document()))
    validation = coco_document(images=[{"id": 1, "file_name": "b.png"}])
    (tmp_path / "annotations" / "instances_val2017.json").write_text(json.dumps(validation))
    data = read_detection_data(tmp_path / "annotations" / "instances_train2017.json")
    assert [s.image.name for s in data.samples] == ["a.png"]
    data = read_detection_data(tmp_path / "annotations")
    assert sorted((s.image.name, s.split) for s in data.samples) == [("a.png", "train"), ("b.png", "val")]
