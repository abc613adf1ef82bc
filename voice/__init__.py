"""Audio in and out, speech engines, the conversation skill, the runtime loop and the CLI, one
subpackage per stage: audio, asr, tts, dialogue, runtime, cli."""

import os as _os

# No network, ever: onnxruntime 1.32 ships Microsoft's 1DS telemetry on Linux, and each process
# that makes a session queues events in ~/.cache/Microsoft/DeveloperTools with an HTTP client to
# send them (the test suite's guard on the real HOME found it). Set before onnxruntime is imported
# by any module of this package; checked: with it, no file is written.
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
