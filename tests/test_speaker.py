"""Speech output with the real espeak-ng and PortAudio; playback goes to an ALSA file device."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.audio_env import alsa_env, read_raw_int16, rms, run_python, virtual_speaker
from voice.audio.resample import resample
from voice.runtime.speaker import SilentSpeaker, open_speaker, split_sentences
from voice.tts.synthesizer import SpeechError, Synthesizer, VoiceNotFoundError

SENTENCE = "Change your position and stretch your legs."
REPLY = ("Change your position and stretch your legs. Then walk a few steps. "
         "Does the tingling go away within a few minutes?")
# Loud enough to be speech: espeak at full volume gives an RMS in the thousands.
SPEECH_RMS = 500


@pytest.fixture(scope="module")
def synth() -> Synthesizer:
    return Synthesizer()


_SPEAK_AFTER_IMPORTING_EVERYTHING = textwrap.dedent("""
    import importlib
    import pkgutil

    import intents
    import knowledge
    import voice


    def test_speak_after_importing_everything():
        for package in (voice, intents, knowledge):
            for found in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
                if found.name != "voice.__main__":
                    importlib.import_module(found.name)
        from voice.tts.synthesizer import Synthesizer

        assert Synthesizer().synthesize("Hello.").samples.size
""")


def test_a_test_run_that_spoke_ends_without_a_teardown_error(tmp_path) -> None:
    # pyttsx3's driver, left to the interpreter's shutdown, printed "Exception ignored in
    # DriverProxy.__del__" after a pytest run that imported every module before speaking (as the
    # suite does since tests/test_layers.py); only under pytest, hence a pytest run here.
    test = tmp_path / "test_exit.py"
    test.write_text(_SPEAK_AFTER_IMPORTING_EVERYTHING, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(test)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Exception ignored" not in result.stdout + result.stderr


def test_synthesize_gives_audible_speech_of_plausible_length(synth: Synthesizer) -> None:
    audio = synth.synthesize(SENTENCE)
    assert audio.samples.dtype == np.int16
    assert rms(audio.samples) > SPEECH_RMS
    assert 1.0 < audio.duration < 6.0
    longer = synth.synthesize(" ".join([SENTENCE] * 3))
    assert 2.0 < longer.duration / audio.duration < 4.0


def test_empty_text_gives_empty_audio(synth: Synthesizer) -> None:
    assert len(synth.synthesize("  ").samples) == 0


def test_rate_changes_duration() -> None:
    slow = Synthesizer(rate=120).synthesize(SENTENCE)
    fast = Synthesizer(rate=300).synthesize(SENTENCE)
    assert slow.duration > 1.5 * fast.duration


def test_rate_and_volume_are_clamped(synth: Synthesizer) -> None:
    clamped = Synthesizer(rate=1000, volume=3.0)
    assert (clamped.rate, clamped.volume) == (400, 1.0)
    clamped.rate, clamped.volume = 10, -1.0
    assert (clamped.rate, clamped.volume) == (80, 0.0)


def test_unknown_voice_is_an_error_listing_voices(synth: Synthesizer) -> None:
    with pytest.raises(SpeechError, match="no-such-voice.*installed voices: .*en"):
        Synthesizer(voice="no-such-voice")
    with pytest.raises(VoiceNotFoundError):
        synth.voice = "no-such-voice"


def test_voice_by_id_or_name(synth: Synthesizer) -> None:
    voice_id, name = synth.voices()[0]
    assert Synthesizer(voice=voice_id).voice == voice_id
    assert Synthesizer(voice=name.upper()).voice == voice_id


@pytest.mark.parametrize(("text", "expected"), [
    ("", []),
    ("  \n ", []),
    ("Stand up and walk around. Does the numbness go away? Good!",
     ["Stand up and walk around.", "Does the numbness go away? Good!"]),
    # Very short fragments are joined to the next sentence, or to the last at the end.
    ("Yes. Stand up and walk around.", ["Yes. Stand up and walk around."]),
    ("Stand up. Walk around! Does it help? Yes.", ["Stand up. Walk around!", "Does it help? Yes."]),
    ("Sit for 1.5 hours at most", ["Sit for 1.5 hours at most"]),
    ('He said "move your legs." Then it passed.', ['He said "move your legs."', "Then it passed."]),
    ("First paragraph without a stop\n\nSecond paragraph here",
     ["First paragraph without a stop", "Second paragraph here"]),
    ("Line one wraps\nonto line two.", ["Line one wraps onto line two."]),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_resample_keeps_duration_and_pitch() -> None:
    rate = 22050
    tone = (np.sin(2 * np.pi * 440 * np.arange(rate) / rate) * 10000).astype(np.int16)
    up = resample(tone, rate, 44100)
    assert len(up) == 44100
    spectrum = np.abs(np.fft.rfft(up.astype(np.float64)))
    assert abs(np.argmax(spectrum) * 44100 / len(up) - 440) < 2


def test_open_speaker_with_missing_device_is_silent_and_says_why() -> None:
    speaker = open_speaker(enabled=True, rate=None, volume=None, voice=None,
                           device="no-such-device-xyz")
    assert isinstance(speaker, SilentSpeaker)
    assert not speaker.available
    assert "no-such-device-xyz" in speaker.reason
    assert speaker.say("Hello there, can you hear me?") is False


def test_open_speaker_disabled_is_silent() -> None:
    speaker = open_speaker(enabled=False, rate=None, volume=None, voice=None, device=None)
    assert not speaker.available and speaker.reason


def test_importing_audio_out_does_not_load_portaudio(tmp_path) -> None:
    env, _ = virtual_speaker(tmp_path)
    result = run_python("import sys, voice.audio.playback, voice.runtime.speaker; "
                        "print('sounddevice' in sys.modules)", env)
    assert result.stdout.strip() == "False"


_SAY = textwrap.dedent("""
    import json
    from voice.audio.playback import AudioOutput
    from voice.runtime.speaker import TtsSpeaker, split_sentences
    from voice.tts.synthesizer import Synthesizer

    text = {text!r}
    synth = Synthesizer()
    output = AudioOutput(None)
    finished = TtsSpeaker(synth, output).say(text)
    expected = sum(len(synth.synthesize(s).samples) for s in split_sentences(text))
    print(json.dumps({{"finished": finished, "format": output.last_stream_format,
                      "expected_samples": expected, "speech_rate": synth.synthesize(text).rate}}))
""")


@pytest.mark.audio
def test_say_plays_through_the_default_alsa_device(tmp_path) -> None:
    env, raw = virtual_speaker(tmp_path)
    result = run_python(_SAY.format(text=REPLY), env)
    # Only our line: the espeak driver's "Audio saved to ..." must not reach stdout.
    report = json.loads(result.stdout)
    assert result.stdout.count("\n") == 1
    assert report["finished"] is True
    stream_rate, channels = report["format"]
    played = read_raw_int16(raw, channels)
    expected = report["expected_samples"] * stream_rate / report["speech_rate"]
    assert abs(len(played) - expected) < 0.01 * expected
    assert 3.0 < len(played) / stream_rate < 15.0
    assert rms(played) > SPEECH_RMS


_STOP = textwrap.dedent("""
    import json, threading, time
    from voice.audio.playback import AudioOutput
    from voice.runtime.speaker import TtsSpeaker
    from voice.tts.synthesizer import Synthesizer

    # The ALSA null sink is not paced, so playback itself is instant; 300 sentences keep the
    # synthesis pipeline busy for seconds (each pyttsx3 run takes at least 10 ms).
    text = " ".join(f"Sentence {i} says stand up and move your legs." for i in range(300))
    speaker = TtsSpeaker(Synthesizer(), AudioOutput(None))
    result = {}

    def speak():
        result["finished"] = speaker.say(text)
        result["returned_at"] = time.monotonic()

    thread = threading.Thread(target=speak)
    thread.start()
    time.sleep(0.3)
    stopped_at = time.monotonic()
    speaker.stop()
    thread.join(5.0)
    print(json.dumps({"finished": result.get("finished"), "alive": thread.is_alive(),
                      "seconds": result.get("returned_at", 99.0) - stopped_at}))
""")


@pytest.mark.audio
def test_stop_cuts_say_short(tmp_path) -> None:
    env, raw = virtual_speaker(tmp_path)
    report = json.loads(run_python(_STOP, env).stdout)
    assert report["alive"] is False
    assert report["finished"] is False
    assert report["seconds"] < 1.0
    assert len(read_raw_int16(raw)) > 0


_STOP_BETWEEN_CHUNKS = textwrap.dedent("""
    import json, threading
    from voice.audio.playback import AudioOutput
    from voice.tts.synthesizer import Synthesizer

    synth = Synthesizer()
    first, second = synth.synthesize("First sentence."), synth.synthesize("Second sentence.")
    stop = threading.Event()

    def chunks():
        yield first
        stop.set()
        yield second

    output = AudioOutput(None)
    finished = output.play_all(chunks(), stop)
    print(json.dumps({"finished": finished, "first": len(first.samples),
                      "again": output.play(first, stop)}))
""")


@pytest.mark.audio
def test_player_stops_at_the_next_block(tmp_path) -> None:
    env, raw = virtual_speaker(tmp_path)
    report = json.loads(run_python(_STOP_BETWEEN_CHUNKS, env).stdout)
    assert report["finished"] is False
    assert report["again"] is False  # the event is still set: nothing more is played
    # The first chunk was written before the stop; nothing of the second one was.
    assert 0 < len(read_raw_int16(raw)) <= report["first"]


_LEAD = textwrap.dedent("""
    import json
    from voice.audio.playback import AudioOutput
    from voice.audio.earcons import earcon
    from voice.runtime.speaker import TtsSpeaker
    from voice.tts.synthesizer import Synthesizer

    output = AudioOutput(None)
    sound = earcon("understood")
    finished = TtsSpeaker(Synthesizer(), output).say("Walk a few steps.", lead=sound)
    print(json.dumps({"finished": finished, "format": output.last_stream_format,
                      "lead_samples": len(sound.samples), "lead_rate": sound.rate}))
""")


@pytest.mark.audio
def test_a_lead_sound_plays_first_on_the_same_stream(tmp_path) -> None:
    """The "understood" earcon is heard before the answer, with no gap for a second stream."""
    env, raw = virtual_speaker(tmp_path)
    report = json.loads(run_python(_LEAD, env).stdout)
    assert report["finished"] is True
    rate, channels = report["format"]
    played = read_raw_int16(raw, channels)
    lead = int(report["lead_samples"] * rate / report["lead_rate"])
    head = played[:lead].astype(np.float64)
    # The earcon is a pure tone at a known pitch: its spectrum peaks there.
    peak_hz = np.argmax(np.abs(np.fft.rfft(head))) * rate / len(head)
    assert abs(peak_hz - 1175) < 30, peak_hz
    assert rms(played[lead:]) > SPEECH_RMS  # then the speech


_SOUNDING = textwrap.dedent("""
    import json, threading
    from voice.audio.playback import AudioOutput
    from voice.runtime.speaker import SilentSpeaker, TtsSpeaker
    from voice.tts.synthesizer import Synthesizer

    # Seconds of synthesis (as in the stop test): say() is still busy long after its first sound.
    text = " ".join(f"Sentence {i} says stand up and move your legs." for i in range(300))
    speaker = TtsSpeaker(Synthesizer(), AudioOutput(None))
    sounding = threading.Event()
    thread = threading.Thread(target=speaker.say, args=(text, None, sounding))
    thread.start()
    set_in_time = sounding.wait(5.0)
    busy = thread.is_alive()
    speaker.stop()
    thread.join(5.0)
    silent = threading.Event()
    SilentSpeaker("no sound here").say("hello", None, silent)
    print(json.dumps({"set": set_in_time, "still_speaking": busy, "silent": silent.is_set()}))
""")


@pytest.mark.audio
def test_sounding_is_set_at_the_first_sound_not_when_speech_ends(tmp_path) -> None:
    """The second recogniser waits for it (voice/asr/second_opinion.py): set as the first audio
    goes out, while the rest is still being said; a silent speaker sets it at once."""
    env, _ = virtual_speaker(tmp_path)
    report = json.loads(run_python(_SOUNDING, env).stdout)
    assert report == {"set": True, "still_speaking": True, "silent": True}


_TOLD = textwrap.dedent("""
    import json, threading, time
    import numpy as np
    from voice.audio.playback import AudioOutput
    from voice.runtime.speaker import TtsSpeaker
    from voice.tts.synthesizer import Synthesizer

    output = AudioOutput(None)
    speaker = TtsSpeaker(Synthesizer(), output)
    reference = speaker.echo_reference()
    assert speaker.echo_reference() is reference  # one for the speaker's life
    blocks, finished, returned = [], [], []
    taking = threading.Event()

    def take():  # as the microphone does, every 30 ms
        while not taking.wait(0.03):
            blocks.extend(reference.take())

    taker = threading.Thread(target=take)
    taker.start()
    for text in {texts!r}:
        finished.append(speaker.say(text))
        returned.append(time.monotonic())
        time.sleep(0.5)  # between answers: the stream stays open, sounding silence
    taking.set()
    taker.join()
    blocks.extend(reference.take())
    samples = np.concatenate([s for _, s, _ in blocks if s is not None])
    print(json.dumps({{"finished": finished, "returned": returned,
                      "format": output.last_stream_format, "told": samples.tolist(),
                      "starts": sum(new for _, _, new in blocks),
                      "times": [when for when, _, _ in blocks]}}))
""")


@pytest.mark.audio
def test_the_speaker_tells_the_echo_canceller_all_it_plays_on_one_stream(tmp_path) -> None:
    # With an echo canceller listening, the output stream is kept open between answers, so the
    # speaker's and the microphone's clocks keep one relation and the canceller finds the
    # echo's delay once (per-answer streams each started at a moment of their own: it had to
    # learn again at the start of every answer). The speaker here is paced like a device.
    from tests.audio_in_env import speaker_only_config
    from tests.listen_harness import SpeakerFifo

    device = SpeakerFifo(tmp_path / "speaker.fifo", paced_bytes_per_second=44100.0)
    env = alsa_env(speaker_only_config(tmp_path, device.path))
    try:
        report = json.loads(run_python(_TOLD.format(texts=[REPLY, SENTENCE]), env).stdout)
    finally:
        device.close()
    assert report["finished"] == [True, True]
    assert report["format"] == [22050, 1]  # what the device is paced for
    played = np.frombuffer(bytes(device.data), dtype="<i2").astype(np.float64)
    told = np.array(report["told"])
    # All of it, both answers and the silence around them, resampled to the microphone's rate:
    # the same sound, once aligned to the frame (the device may start with some silence of
    # its own, and a fraction of a sample off would be a difference of its own).
    coarse = np.argmax(np.correlate(resample(played[:3 * 22050], 22050, 16000),
                                    told[:2 * 16000], "valid"))
    assert coarse <= 0.1 * 16000

    def error(lead: int) -> float:
        expected = resample(played[lead:], 22050, 16000)
        count = min(told.size, expected.size)
        assert abs(expected.size - told.size) <= 0.2 * 16000
        return float(np.sqrt(np.mean((told[:count] - expected[:count]) ** 2)))

    near = int(round(coarse * 22050 / 16000))
    assert min(error(lead) for lead in range(max(0, near - 3), near + 4)) < 0.01 * rms(played)
    assert rms(told[-int(0.3 * 16000):]) == 0.0  # the silence after the answers is told too
    # Told as one stream, in order; say() returned once its last sound was played.
    assert report["starts"] == 1
    assert report["times"] == sorted(report["times"])
    assert device.last_sound_at <= report["returned"][-1] + 0.05
