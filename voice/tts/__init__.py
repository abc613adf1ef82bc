"""Speech synthesis: espeak-ng through pyttsx3, and how it should say hard words."""
