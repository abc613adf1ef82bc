"""Running the assistant: the hands-free listener, barge-in, speaking replies, settings, tracing."""
