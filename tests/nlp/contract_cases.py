"""Contract cases for nlp.sentiment and nlp.qa (tiny random-init BERTs; translation lives in its own file)."""

from __future__ import annotations

from tests.common import ContractCase
from tests.nlp.tiny import sentiment_frame, squad_dict, tiny_classifier, tiny_qa


def sentiment_case(tmp_path) -> ContractCase:
    from nlp.sentiment import SentimentModel

    model, tokenizer = tiny_classifier()
    frame = sentiment_frame()
    return ContractCase(
        model=SentimentModel.from_classifier(model, tokenizer, device="cpu", name="tiny"),
        predict_inputs=["a lovely film", "a boring mess"],
        fit_data=frame, fit_config=SentimentModel.Config(epochs=1, max_steps=1, batch_size=4),
        eval_data=frame,
        bad_inputs=["", "   ", [None], 42],
        bad_fit_data=[frame.rename({"text": "words"}), frame.head(0), frame.with_columns(label=1)],
    )


def qa_case(tmp_path) -> ContractCase:
    from nlp.qa import QAModel

    model, tokenizer = tiny_qa()
    data = squad_dict()
    return ContractCase(
        model=QAModel.from_model(model, tokenizer, device="cpu", name="tiny", max_length=64, stride=16),
        predict_inputs=[{"question": "Where is Paris?", "context": "Paris is the capital of France."},
                        ("Who?", "Tesla was born in 1856 in Smiljan.")],
        fit_data=data, fit_config=QAModel.Config(epochs=1, max_steps=1, batch_size=2, max_length=64, stride=16),
        eval_data=data,
        bad_inputs=[{"question": "", "context": "x"}, {"question": "Why?"}, "not a dict"],
        bad_fit_data=[{"data": "oops"}, {"data": [{"paragraphs": [{"qas": []}]}]}, {"nope": 1}],
    )


CASES = {"nlp.sentiment": sentiment_case, "nlp.qa": qa_case}
