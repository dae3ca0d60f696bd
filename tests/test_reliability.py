"""Every task over the generated bad-input corpus: only a correct result or InputError / exit 2 is allowed."""

import pytest

from tests.corpus.harness import run_task
from tests.corpus.make_corpus import make_corpus
from tests.test_contract import CASES


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("task", sorted(CASES))
def test_bad_input_corpus(task, corpus, tmp_path):
    case = CASES[task](tmp_path)
    records = run_task(task, case, corpus, tmp_path)
    failures = [f"{r['operation']} on {r['input']}: {r['detail']}" for r in records if r["outcome"] == "other"]
    assert len(records) > 300
    assert not failures, "\n".join(failures[:40])
