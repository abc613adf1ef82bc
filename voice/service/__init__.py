"""numb-legs as a Wyoming service: Home Assistant's voice satellites ask it questions (a handle
program) and may use its domain recogniser as their speech-to-text (an asr program)."""
