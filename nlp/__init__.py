"""NLP vertical: translation, sentiment, extractive QA."""
