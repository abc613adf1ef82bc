import numpy as np

from voice.audio.earcons import earcon, names


def test_each_state_has_its_own_audible_sound():
    sounds = {name: earcon(name) for name in names()}
    assert set(sounds) >= {"listening", "done", "not_understood", "timer"}
    for name, audio in sounds.items():
        assert 0.1 <= audio.duration <= 0.6, name
        assert np.abs(audio.samples).max() > 3000, name
    # Rising versus falling: the same notes in the opposite order are still told apart.
    assert not np.array_equal(sounds["listening"].samples, sounds["done"].samples)
    spectra = {n: np.abs(np.fft.rfft(a.samples[: len(a.samples) // 2])) for n, a in sounds.items()}
    first_peak = {n: int(np.argmax(s)) for n, s in spectra.items()}
    assert first_peak["listening"] < first_peak["done"]  # low note first when it starts listening
