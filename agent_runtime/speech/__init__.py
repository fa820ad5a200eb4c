"""Speech: offline speech-to-text (faster-whisper tiny.en) and text-to-speech (espeak-ng, optionally Piper); OpenAI
for either as an option (agent_runtime.speech.backends)."""
