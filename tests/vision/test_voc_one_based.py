"""Pascal VOC boxes are 1-based inclusive pixel indices (tester_E finding 3): read as pixel edges (minus 1 on the
top-left corner, as detectron2's pascal_voc reader does) and written back plus 1, so VOC <-> COCO keeps every box."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import InputError
from tests.vision.test_detection_data_hostile import coco, coco_document, voc
from vision._detection_data import convert_detection_data, read_detection_data


def test_voc_boxes_are_read_one_based_and_converted_to_coco_unchanged_in_size(tmp_path):
    # the whole 64x48 image (xmin=1 .. xmax=W) and a 10x10 object at pixels 1..10
    boxes = [("full", 1, 1, 64, 48), ("small", 1, 1, 10, 10), ("mid", 21, 11, 30, 20)]
    data = read_detection_data(voc(tmp_path / "v", boxes))
    np.testing.assert_allclose(data.samples[0].boxes, [[0, 0, 64, 48], [0, 0, 10, 10], [20, 10, 30, 20]])
    assert data.samples[0].clipped_boxes == 0 and not any("overshooting" in note for note in data.notes)
    out = convert_detection_data(data, tmp_path / "coco", "coco")
    bboxes = [a["bbox"] for a in json.loads((out / "annotations.json").read_text())["annotations"]]
    np.testing.assert_allclose(bboxes, [[0, 0, 64, 48], [0, 0, 10, 10], [20, 10, 10, 10]])


def test_coco_boxes_are_written_to_voc_one_based_and_read_back_the_same(tmp_path):
    document = coco_document(annotations=[{"id": 7, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10]},
                                          {"id": 8, "image_id": 1, "category_id": 1, "bbox": [5, 6, 27, 26]}])
    data = read_detection_data(coco(tmp_path / "c", document))
    out = convert_detection_data(data, tmp_path / "voc", "voc")
    xml = (out / "Annotations" / "a.xml").read_text()
    assert "<xmin>1.0</xmin><ymin>1.0</ymin><xmax>10.0</xmax><ymax>10.0</ymax>" in xml
    assert "<xmin>6.0</xmin><ymin>7.0</ymin><xmax>32.0</xmax><ymax>32.0</ymax>" in xml
    np.testing.assert_allclose(read_detection_data(out).samples[0].boxes, data.samples[0].boxes)


def test_a_zero_based_voc_file_is_clipped_with_a_note_and_a_point_is_dropped(tmp_path):
    # xmin=0 (a tool writing 0-based) lies 1 px left of the image: within the tolerance, clipped and counted
    data = read_detection_data(voc(tmp_path / "zero", [("c", 0, 0, 10, 10), ("c", 30, 30, 30, 30)]))
    np.testing.assert_allclose(data.samples[0].boxes, [[0, 0, 10, 10]])
    assert data.samples[0].clipped_boxes == 1 and data.samples[0].dropped_boxes == 1  # the point is no object
    # errors quote the numbers as written in the file
    with pytest.raises(InputError, match=r"box \(-5, 1, 10, 10\) lies outside the 64x48 image \(1-based"):
        read_detection_data(voc(tmp_path / "far", [("c", -5, 1, 10, 10)]))
