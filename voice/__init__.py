"""Audio in and out, speech engines, the conversation skill, the runtime loop and the CLI, one
subpackage per stage: audio, asr, tts, dialogue, runtime, cli."""
