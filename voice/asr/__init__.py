"""Speech recognition: the recogniser interface, engine choice, Vosk and PocketSphinx, domain
tuning, models."""
