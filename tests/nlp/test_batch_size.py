"""predict(batch_size=...) follows one rule in every NLP task (core.protocols.check_batch_size): a whole number >= 1,
else a typed error; sentiment and QA took 0 silently and gave a raw TypeError for "8", translation took anything."""

import pytest

from core.errors import InputError


@pytest.mark.parametrize("task, item", [("nlp.sentiment", "A fine film."),
                                        ("nlp.qa", {"question": "Where?", "context": "In Paris."}),
                                        ("nlp.translation", "Hello.")])
@pytest.mark.parametrize("bad", [0, -1, "8", 2.5, True])
def test_a_batch_size_that_is_not_a_whole_number_of_at_least_one_is_refused(task, item, bad, monkeypatch):
    import core

    try:
        model = core.load(task)
    except Exception as error:  # Apertium not installed on this machine: nothing to check for translation
        pytest.skip(f"{task} default not available here: {error}")
    with pytest.raises(InputError, match="batch_size"):
        model.predict([item], batch_size=bad)
    assert len(model.predict([item], batch_size=1)) == 1
