"""Speech: offline speech-to-text (faster-whisper tiny.en) and text-to-speech (espeak-ng)."""
