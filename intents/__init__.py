"""Intent data and the fuzzy matcher that turns an utterance into an intent."""

import os as _os

# No network, ever: onnxruntime 1.32 ships Microsoft's 1DS telemetry on Linux, and each process
# that makes a session queues events in ~/.cache/Microsoft/DeveloperTools with an HTTP client to
# send them (the test suite's guard on the real HOME found it). Set before onnxruntime is imported
# by any module of this package; checked: with it, no file is written.
_os.environ["ORT_DISABLE_TELEMETRY"] = "1"
# One thread for numpy's OpenBLAS, set before numpy is imported. Its pool of one thread per core
# spins after every call, and on two cores that takes the core onnxruntime or the audio needs:
# matching took 16 ms a sentence instead of 9 with another process on the other core
# (measured). Our products are one sentence against a few thousand vectors, too small to split.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
