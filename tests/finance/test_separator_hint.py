"""A table read on the wrong separator says which one to pass when a named column is missing."""

import pytest

from core.errors import InputError


def test_a_column_missing_because_of_the_separator_says_which_separator_to_pass():
    """A `;` file read on `,` (a comma in its header) listed the 'missing' target among its columns with no hint."""
    from finance._forecast_data import _pick
    from finance._risk_data import resolve_target

    with pytest.raises(InputError, match="pass --option separator=semicolon"):
        resolve_target(["Konto;Laufzeit;Zinssatz", " %;Kündigung"], "Kündigung")
    with pytest.raises(InputError, match="pass --option separator=semicolon"):
        _pick(["Datum;Kurs", " EUR"], "Kurs", ("value",), "value", "--value")
