"""The echo rig (tests/listen_harness.py): what the virtual speaker played, heard back as a
loudspeaker's sound in the room, at its own level and time. bench/echo_bench.py rests on it."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from tests.listen_harness import MIC_RATE, SpeakerFifo

SPEAKER_RATE = 22050


@pytest.mark.parametrize("frequency", [440, 9000])
def test_the_room_hears_what_the_speaker_played_at_its_level_and_time(tmp_path,
                                                                    frequency) -> None:
    # 9 kHz is above what a 16 kHz microphone records: its converter filters it out, it does
    # not come back at 7 kHz (the rig's linear interpolation folded it back until 2026-12-05).
    tone = np.rint(8000 * np.sin(2 * np.pi * frequency * np.arange(4 * SPEAKER_RATE)
                                 / SPEAKER_RATE))
    data = tone.astype("<i2").tobytes()
    speaker = SpeakerFifo(tmp_path / "speaker.fifo", 2.0 * SPEAKER_RATE)
    try:
        writer = os.open(speaker.path, os.O_WRONLY)
        sent = 0

        def send() -> None:
            nonlocal sent
            while sent < len(data):
                sent += os.write(writer, data[sent:sent + 1024])

        thread = threading.Thread(target=send)
        thread.start()
        thread.join(15)
        deadline = time.monotonic() + 15
        while len(speaker.data) < len(data) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.close(writer)
        started = speaker.reads[0][0]
        # Three seconds into the tone (the rig looks only at its last seconds), for 0.2 s: the
        # tone there, resampled to the microphone.
        heard = speaker.heard(started + 3.0, int(0.2 * MIC_RATE))
        at = 3.0 + np.arange(heard.size) / MIC_RATE
        expected = 8000 * np.sin(2 * np.pi * frequency * at) if frequency < MIC_RATE / 2 \
            else np.zeros_like(at)
        assert np.sqrt(np.mean((heard - expected) ** 2)) < 0.01 * 8000 / np.sqrt(2)
        # Before the speaker played anything, the room is silent.
        assert not speaker.heard(started - 0.3, int(0.2 * MIC_RATE)).any()
        # It played for the tone's length, by its sample clock.
        assert abs(speaker.reads[-1][0] - started - 4.0) < 0.1
    finally:
        speaker.close()


def test_a_microphone_block_holds_only_sound_played_before_it_is_delivered(tmp_path) -> None:
    # A device delivers a block once it has recorded it. A block written 10 ms after the
    # speaker's first sound, with no delay in the air, holds 10 ms of it, at its end: until
    # 2026-12-05 it held the 30 ms after its own delivery, sound not yet played, so with a
    # delay under 30 ms the echo reached the canceller before what caused it did.
    from types import SimpleNamespace

    from tests.listen_harness import MIC_UNIT, ListenRun

    tone = np.rint(8000 * np.sin(2 * np.pi * 440 * np.arange(SPEAKER_RATE) / SPEAKER_RATE))
    data = tone.astype("<i2").tobytes()
    speaker = SpeakerFifo(tmp_path / "speaker.fifo", 2.0 * SPEAKER_RATE)
    try:
        writer = os.open(speaker.path, os.O_WRONLY)
        sent = 0
        while sent < len(data):
            sent += os.write(writer, data[sent:sent + 1024])
        deadline = time.monotonic() + 5
        while len(speaker.data) < len(data) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.close(writer)
        mix = ListenRun._echo(SimpleNamespace(speaker=speaker), 0.0, 0.0)
        echo = np.frombuffer(mix(bytes(MIC_UNIT), speaker.reads[0][0] + 0.010), dtype="<i2")
    finally:
        speaker.close()
    edge = int(0.020 * MIC_RATE) - 8  # the band-limiting filter's few samples of spread
    assert np.abs(echo[:edge]).max() < 100
    assert np.abs(echo[edge + 16:]).max() > 5000
