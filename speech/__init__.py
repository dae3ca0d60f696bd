"""Speech vertical: audio decoding and speech recognition."""
