"""Intent data and the fuzzy matcher that turns an utterance into an intent."""
