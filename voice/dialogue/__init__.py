"""The conversation, pure: text in, text out. No audio, no threads, no recognisers or
synthesisers."""
