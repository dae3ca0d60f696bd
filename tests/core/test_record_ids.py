"""Predict records' ids: a missing file keeps its `path`; a long text is never taken for a path (OSError)."""

import numpy as np
import pytest

from core.errors import InputError
from core.protocols import identify_inputs, with_ids


def test_a_text_no_file_can_be_named_is_an_index_not_an_oserror():
    """A 300-letter line (one path component past the 255-byte limit) raised ENAMETOOLONG from Path.is_file."""
    assert identify_inputs(["a" * 300, "Great film."]).ids == [{"index": 1}, {"index": 2}]
    assert with_ids(["a" * 300], [{"label": "x"}]) == [{"index": 1, "label": "x"}]


def test_file_tasks_name_a_missing_file_by_its_path(tmp_path):
    present = tmp_path / "a.png"
    present.write_bytes(b"x")
    inputs = [str(present), str(tmp_path / "typo.png"), b"bytes"]
    assert identify_inputs(inputs, paths=True).ids == [{"path": str(present)}, {"path": str(tmp_path / "typo.png")},
                                                       {"index": 3}]
    assert identify_inputs(inputs).ids[1] == {"index": 2}  # text tasks: a string is a text unless it is a file


def test_medical_predict_names_a_missing_study_by_its_path_and_refuses_a_table(tmp_path):
    """A missing scan's error record was keyed `index` beside its neighbours' `path`; a pandas table was iterated by its
    column names ('path does not exist')."""
    import polars as pl
    from PIL import Image

    from medical._shared import predict_inputs, records_with_errors

    scan = tmp_path / "scan.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(scan)
    inputs = predict_inputs([str(scan), str(tmp_path / "typo.png")])
    assert inputs.ids == [{"path": str(scan)}, {"path": str(tmp_path / "typo.png")}]
    assert records_with_errors(inputs, lambda places: [{"at": p} for p in places])[1]["path"].endswith("typo.png")
    with pytest.raises(InputError, match="a table is not a list of studies; .*predict_frame"):
        predict_inputs(pl.DataFrame({"path": [str(scan)]}))
    with pytest.raises(InputError, match="a table is not a list of studies"):
        predict_inputs(pl.DataFrame({"path": [str(scan)]}).to_pandas())
