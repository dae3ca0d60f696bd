"""Speech vertical: audio decoding (speech.audio) and speech recognition (speech.recognition)."""

__all__ = ["audio", "recognition"]
