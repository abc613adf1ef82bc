"""Audio input: WAV reading and resampling, endpointing, and microphones on ALSA file devices."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.audio_env import alsa_env, read_raw_int16, rms, run_python
from tests.audio_in_env import MIC_NAME, speaker_only_config, write_capture_config
from voice.audio.endpoint import Endpointer, Event, SpeechEnd, SpeechStart
from voice.audio.microphone import WavSource, choose_capture_format
from voice.audio.resample import Resampler, resample
from voice.audio.wav import AudioFileError, read_wav

RATE = 16000
QUESTION = "why are my legs numb"


def espeak(path: Path, text: str = QUESTION, voice: str = "en-us", speed: int = 175) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
                   check=True, timeout=30)
    return path


def sox(source: Path, out: Path, *options: str) -> Path:
    subprocess.run(["sox", "-R", str(source), *options, str(out)], check=True, timeout=30)
    return out


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio_in")


@pytest.fixture(scope="module")
def question_wav(workdir: Path) -> Path:
    """espeak-ng's own output: 22050 Hz mono 16-bit."""
    return espeak(workdir / "question.wav")


@pytest.fixture(scope="module")
def question(question_wav: Path) -> np.ndarray:
    return read_wav(question_wav).samples


def tone(freq: float, seconds: float, rate: int = RATE, dbfs: float = -20.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return 32768 * 10 ** (dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * freq * t)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE))


def noise(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 32768 * 10 ** (dbfs / 20), int(seconds * RATE))


def int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)


def gain_db(out: np.ndarray, reference: np.ndarray) -> float:
    return float(20 * np.log10(max(rms(out), 1e-9) / rms(reference)))


# --- reading WAV files -------------------------------------------------------------------------

# What sox writes (24-bit and more than 2 channels come as WAVE_FORMAT_EXTENSIBLE, which the
# stdlib wave module of Python < 3.12 refuses; float and G.711 it refuses on every version).
FORMATS = {
    "16k mono 16-bit": ("-r", "16000"),
    "44.1k stereo 16-bit": ("-r", "44100", "-c", "2"),
    "48k mono 24-bit": ("-r", "48000", "-b", "24"),
    "48k stereo 32-bit int": ("-r", "48000", "-c", "2", "-b", "32"),
    "44.1k mono float": ("-r", "44100", "-e", "floating-point", "-b", "32"),
    "22.05k 64-bit float": ("-e", "floating-point", "-b", "64"),
    "96k 4-channel 16-bit": ("-r", "96000", "-c", "4"),
    "22.05k 8-bit": ("-b", "8"),
    "8k mono 16-bit": ("-r", "8000"),
    "11.025k 6-channel 16-bit": ("-r", "11025", "-c", "6"),
    "8k A-law": ("-r", "8000", "-e", "a-law"),
    "8k mu-law": ("-r", "8000", "-e", "u-law"),
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_common_wav_format_gives_the_same_16k_audio(workdir: Path, question_wav: Path,
                                                          question: np.ndarray, name: str) -> None:
    path = sox(question_wav, workdir / f"{name.replace(' ', '_')}.wav", *FORMATS[name])
    audio = read_wav(path)
    assert audio.samples.dtype == np.int16 and audio.rate == RATE
    assert abs(len(audio.samples) - len(question)) <= 1
    n = min(len(audio.samples), len(question))
    reference = question[:n].astype(np.float64)
    if audio.source_rate < RATE:  # the file holds nothing above its own Nyquist frequency
        reference = resample(resample(reference, RATE, audio.source_rate), audio.source_rate,
                             RATE)[:n]
    error = rms(audio.samples[:n] - reference) / rms(reference)
    # 8-bit and G.711 carry their own quantisation noise; the rest differ by sox's resampler.
    assert error < (0.05 if ("8-bit" in name or "law" in name) else 0.01), error


def test_16k_mono_16bit_is_read_unchanged(workdir: Path, question_wav: Path) -> None:
    path = sox(question_wav, workdir / "plain16k.wav", "-r", "16000")
    raw = path.read_bytes()
    data = raw[raw.index(b"data") + 8:]
    assert read_wav(path).to_bytes() == data


def test_truncated_data_gives_the_audio_that_is_there(workdir: Path, question_wav: Path,
                                                      question: np.ndarray) -> None:
    # A recorder killed mid-file leaves a header promising more than follows.
    raw = question_wav.read_bytes()
    cut = workdir / "cut.wav"
    cut.write_bytes(raw[:len(raw) // 2 + 1])  # odd: ends inside a sample
    audio = read_wav(cut)
    assert abs(len(audio.samples) - len(question) / 2) < 20


def _riff(fmt: bytes, data: bytes) -> bytes:
    body = b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt \
        + b"data" + len(data).to_bytes(4, "little") + data
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _fmt(tag: int = 1, channels: int = 1, rate: int = 16000, bits: int = 16) -> bytes:
    align = channels * bits // 8
    return (tag.to_bytes(2, "little") + channels.to_bytes(2, "little")
            + rate.to_bytes(4, "little") + (rate * align % 2**32).to_bytes(4, "little")
            + align.to_bytes(2, "little") + bits.to_bytes(2, "little"))


@pytest.mark.parametrize(("content", "message"), [
    (b"", r"is empty"),
    (b"why are my legs numb\nplease tell me\n", r"not a WAV file: it looks like a text file"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200), r"not a WAV file: it looks like an MP3"),
    (b"\xff\xfb\x90\x64" + bytes(200), r"not a WAV file: it looks like an MP3"),
    (b"fLaC" + bytes(100), r"not a WAV file: it looks like a FLAC file"),
    (b"RIFF\x24\x00", r"truncated"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", r"format chunk is cut short"),
    (b"RIFF\x04\x00\x00\x00WAVE", r"not a readable WAV file: it has no format chunk"),
    (_riff(_fmt(), b"")[:-8], r"not a readable WAV file: it has no audio data chunk"),
    (_riff(_fmt(), b""), r"contains no audio"),
    (_riff(_fmt(), b"\x01"), r"contains no audio"),
    (_riff(_fmt(rate=1), bytes(400)), r"sample rate is 1 Hz; numb-legs reads 8000 to"),
    (_riff(_fmt(rate=3_000_000_000), bytes(400)), r"sample rate is 3000000000 Hz"),
    (_riff(_fmt(channels=0), bytes(400)), r"damaged: its header says it has 0 channels"),
    (_riff(_fmt(channels=12), bytes(480)), r"has 12 channels; numb-legs reads 1 to 8"),
    (_riff(_fmt(bits=40), bytes(400)), r"uses 40-bit samples, which numb-legs cannot read"),
    (_riff(_fmt(tag=3, bits=16), bytes(400)), r"16-bit floating point samples.*cannot read"),
    (_riff(_fmt(tag=0x55), bytes(400)), r"compressed with MP3 \(format 0x0055\).*sox"),
])
def test_bad_files_are_errors_that_say_what_is_wrong(tmp_path: Path, content: bytes,
                                                     message: str) -> None:
    path = tmp_path / "question.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=message) as error:
        read_wav(path)
    assert str(path) in str(error.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioFileError, match=r"question\.wav does not exist"):
        read_wav(tmp_path / "question.wav")
    with pytest.raises(AudioFileError, match="is a folder, not a WAV file"):
        read_wav(tmp_path)


def test_adpcm_made_by_sox_is_refused_with_a_conversion_hint(workdir: Path,
                                                             question_wav: Path) -> None:
    path = sox(question_wav, workdir / "adpcm.wav", "-e", "ima-adpcm")
    with pytest.raises(AudioFileError, match=r"compressed with IMA ADPCM.*-b 16 out\.wav"):
        read_wav(path)


def test_wav_source_yields_the_file_in_blocks(question_wav: Path, question: np.ndarray) -> None:
    source = WavSource(question_wav, block_ms=30)
    blocks = list(source.chunks())
    assert {len(b) for b in blocks[:-1]} == {960}
    assert b"".join(blocks) == question.astype("<i2").tobytes()
    source.close()
    assert list(source.chunks()) == []
    with pytest.raises(AudioFileError):
        WavSource(question_wav.with_name("nothing.wav"))


# --- resampling -------------------------------------------------------------------------------

def test_resampler_keeps_the_passband_and_stops_aliasing() -> None:
    kept = tone(7000, 1.0, rate=44100)
    out = resample(kept, 44100, 16000)[300:-300]
    assert abs(gain_db(out, kept)) < 0.1
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    assert abs(np.argmax(spectrum) * 16000 / len(out) - 7000) < 5
    # 10 kHz cannot exist at 16 kHz; without filtering it would fold back to 6 kHz.
    folded = tone(10000, 1.0, rate=44100)
    assert gain_db(resample(folded, 44100, 16000)[300:-300], folded) < -40
    for rate, freq in ((48000, 8300), (22050, 9000), (96000, 30000)):
        high = tone(freq, 0.5, rate=rate)
        assert gain_db(resample(high, rate, 16000)[300:-300], high) < -40, (rate, freq)


def test_upsampling_adds_no_images() -> None:
    low = tone(3000, 1.0, rate=8000)
    out = resample(low, 8000, 16000)[300:-300]
    assert abs(gain_db(out, low)) < 0.1
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    freqs = np.fft.rfftfreq(len(out), 1 / 16000)
    image = spectrum[freqs > 4200].max() / spectrum.max()
    assert 20 * np.log10(image) < -60  # the 5 kHz mirror image of 3 kHz


def test_resampler_lengths_types_and_identity() -> None:
    x = int16(tone(440, 1.0, rate=44100))
    out = resample(x, 44100, 16000)
    assert out.dtype == np.int16 and len(out) == 16000
    assert resample(x.astype(np.float32), 44100, 16000).dtype == np.float64
    assert len(resample(np.zeros(441), 44100, 16000)) == 160
    assert len(resample(np.zeros(1), 44100, 16000)) == 1
    assert len(resample(np.zeros(0), 44100, 16000)) == 0
    assert np.array_equal(resample(x, 16000, 16000), x)
    with pytest.raises(ValueError):
        Resampler(0, 16000)


@pytest.mark.parametrize(("src", "dst"), [(44100, 16000), (48000, 16000), (8000, 16000),
                                          (44101, 16000)])
def test_streaming_in_any_chunks_equals_one_shot(src: int, dst: int) -> None:
    x = np.random.default_rng(1).normal(0, 3000, src // 2)
    whole = resample(x, src, dst)
    stream = Resampler(src, dst)
    sizes = np.random.default_rng(2).integers(1, 700, 200)
    pieces, start = [], 0
    for size in sizes:
        pieces.append(stream.process(x[start:start + size]))
        start += size
    pieces += [stream.process(x[start:]), stream.flush()]
    assert np.allclose(np.concatenate(pieces), whole, atol=1e-6)


def test_silence_streamed_between_sounds_is_resampled_exactly() -> None:
    # An output stream kept open for the echo canceller sounds silence most of the time, and
    # silence is passed through without filtering: the result must be what filtering gives.
    rng = np.random.default_rng(4)
    x = np.concatenate([np.zeros(3000), rng.normal(0, 3000, 900), np.zeros(5000),
                        rng.normal(0, 3000, 40), np.zeros(2000)])
    whole = resample(x, 22050, 16000)
    stream = Resampler(22050, 16000)
    pieces = [stream.process(x[start:start + 256]) for start in range(0, x.size, 256)]
    pieces.append(stream.flush())
    assert np.allclose(np.concatenate(pieces), whole, atol=1e-6)


# --- endpointing ------------------------------------------------------------------------------

def run_endpointer(samples: np.ndarray, endpointer: Endpointer | None = None,
                   chunk: int = 1000) -> tuple[Endpointer, list[Event]]:
    endpointer = endpointer or Endpointer()
    data = int16(samples).astype("<i2").tobytes()
    events: list[Event] = []
    for start in range(0, len(data), chunk):
        events += endpointer.feed(data[start:start + chunk])
    return endpointer, events


def utterances(events: list[Event]) -> list[SpeechEnd]:
    return [e for e in events if isinstance(e, SpeechEnd)]


def test_tone_between_silences_is_one_utterance_with_pre_roll() -> None:
    x = np.concatenate([silence(1.0), tone(440, 1.0), silence(1.5)])
    ep, events = run_endpointer(x)
    assert [type(e) for e in events] == [SpeechStart, SpeechEnd]
    start, end = events
    frame = ep.frame_samples
    assert 16000 - frame < start.sample <= 16000  # the frame the tone begins in
    assert end.reason == "silence"
    assert 32000 <= end.sample <= 32000 + ep.end_frames * frame + frame
    pre_roll = ep.pre_roll_frames * frame
    expected = int16(x)[start.sample - pre_roll:end.sample]
    assert end.audio == expected.astype("<i2").tobytes()


def test_chunk_size_does_not_change_the_result() -> None:
    x = np.concatenate([noise(0.5, -60), tone(300, 0.8) + noise(0.8, -60, 1), noise(1.0, -60, 2)])
    _, reference = run_endpointer(x, chunk=960)
    for chunk in (1, 7, 333, 4801, 10**6):
        assert run_endpointer(x, chunk=chunk)[1] == reference
    ep = Endpointer()
    as_array = ep.feed(int16(x)) + ep.finish()
    assert as_array == reference


def test_a_short_gap_does_not_split_an_utterance_and_a_long_one_does() -> None:
    word = tone(250, 0.35) * np.hanning(int(0.35 * RATE))
    two_words = np.concatenate([silence(0.5), word, silence(0.2), word, silence(1.0)])
    assert len(utterances(run_endpointer(two_words)[1])) == 1
    ep = Endpointer()
    pause = (ep.end_frames + 2) * ep.frame_samples / RATE
    two_phrases = np.concatenate([silence(0.5), word, silence(pause), word, silence(1.0)])
    assert len(utterances(run_endpointer(two_phrases)[1])) == 2


def test_clicks_do_not_start_an_utterance() -> None:
    click = np.concatenate([np.full(160, 20000.0), np.zeros(160)])  # 20 ms
    x = np.concatenate([silence(0.5), click, silence(0.5), click, silence(0.5)])
    assert run_endpointer(x)[1] == []


def test_long_speech_is_cut_at_the_maximum_length() -> None:
    syllable = np.concatenate([tone(200, 0.2) * np.hanning(3200), silence(0.1)])
    x = np.concatenate([silence(0.5), np.tile(syllable, 30), silence(1.5)])  # 9 s of "speech"
    ep, events = run_endpointer(x, Endpointer(max_utterance_s=3.0))
    ends = utterances(events)
    assert [e.reason for e in ends] == ["max_length", "max_length", "max_length", "silence"]
    assert all(len(e.audio) <= 2 * 3 * RATE for e in ends)
    assert sum(isinstance(e, SpeechStart) for e in events) == 4


def test_the_threshold_follows_the_background() -> None:
    ep, events = run_endpointer(noise(4.0, -45))
    assert events == [] and abs(ep.noise_dbfs + 45) < 2
    # A fan switches on 25 dB louder: at most one false utterance, over within a few seconds.
    fan = np.concatenate([noise(1.0, -60), noise(6.0, -35, 1)])
    ep, events = run_endpointer(fan)
    ends = utterances(events)
    assert len(ends) <= 1 and all(e.sample < RATE * (1.0 + 3.0 + 1.0) for e in ends)
    assert abs(ep.noise_dbfs + 35) < 2
    # Speech 20 dB above the fan is still heard.
    _, events = run_endpointer(np.concatenate([tone(300, 1.0, dbfs=-15) + noise(1.0, -35, 2),
                                               noise(1.0, -35, 3)]), ep)
    assert [type(e) for e in events] == [SpeechStart, SpeechEnd]
    # Very quiet rooms: the threshold has a floor, so faint sounds stay silence.
    ep, events = run_endpointer(np.concatenate([silence(1.0), tone(300, 1.0, dbfs=-62)]))
    assert events == [] and ep.threshold_dbfs == ep.min_threshold_dbfs


def test_a_low_rumble_does_not_hide_a_quiet_voice() -> None:
    # Mains hum and a rumble 15 dB louder than a soft voice (1-4 kHz, as a whisper's sound is);
    # the voice starts after 3 s of the rumble alone, stops for 0.3 s (a comma), and goes on.
    rate, seconds = RATE, 7.0
    hum = tone(50, seconds, dbfs=-28) + tone(100, seconds, dbfs=-34)
    spectrum = np.fft.rfft(noise(seconds, -30, 4))
    spectrum[np.fft.rfftfreq(int(seconds * rate), 1 / rate) > 120] = 0
    rumble = np.fft.irfft(spectrum, int(seconds * rate))
    rumble *= 32768 * 10 ** (-30 / 20) / np.sqrt(np.mean(rumble ** 2))
    soft = np.fft.rfft(noise(1.0, -40, 5))
    freqs = np.fft.rfftfreq(rate, 1 / rate)
    soft[(freqs < 1000) | (freqs > 4000)] = 0
    voice = np.fft.irfft(soft, rate)
    voice *= 32768 * 10 ** (-43 / 20) / np.sqrt(np.mean(voice ** 2))
    said = np.zeros(int(seconds * rate))
    said[3 * rate:4 * rate] = voice
    said[int(4.3 * rate):int(5.3 * rate)] = voice
    _, events = run_endpointer(hum + rumble + said)
    ends = utterances(events)
    assert len(ends) == 1, [e.sample / rate for e in ends]
    assert 5.3 * rate < ends[0].sample < 6.3 * rate


def test_finish_and_reset() -> None:
    ep, events = run_endpointer(np.concatenate([silence(0.5), tone(300, 0.5)]))
    assert [type(e) for e in events] == [SpeechStart]
    [end] = ep.finish()
    assert isinstance(end, SpeechEnd) and end.reason == "end_of_input"
    assert ep.finish() == []
    run_endpointer(np.concatenate([silence(0.5), tone(300, 0.5)]), ep)
    ep.reset()
    assert not ep.in_speech and run_endpointer(silence(1.0), ep)[1] == []


@pytest.mark.parametrize(("text", "voice", "speed", "background_dbfs"), [
    (QUESTION, "en-us", 175, None),
    (QUESTION, "en-us", 175, -50),
    (QUESTION, "en-us+klatt", 120, -40),
    ("my legs are numb, what should I do", "en-us", 130, None),
    ("my legs are numb, what should I do", "en-us+klatt", 130, -45),
    ("help", "en-us", 175, -50),
])
def test_espeak_speech_is_one_utterance_ending_promptly(
        workdir: Path, text: str, voice: str, speed: int, background_dbfs: float | None) -> None:
    speech = read_wav(espeak(workdir / f"{voice}-{speed}-{len(text)}.wav", text, voice,
                             speed)).samples.astype(np.float64)
    audible = np.nonzero(np.abs(speech) > 30)[0]
    lead = RATE
    onset, real_end = lead + audible[0], lead + audible[-1] + 1
    x = np.concatenate([silence(1.0), speech, silence(2.0)])
    if background_dbfs is not None:
        x = x + noise(len(x) / RATE, background_dbfs, seed=speed)
    ep, events = run_endpointer(x, chunk=512)
    assert [type(e) for e in events] == [SpeechStart, SpeechEnd], events
    start, end = events
    first_sample = end.sample - len(end.audio) // 2
    assert first_sample <= onset <= start.sample + ep.frame_samples
    assert start.sample - first_sample >= 0.25 * RATE  # pre-roll before the detected start
    delay_ms = (end.sample - real_end) / RATE * 1000
    frame_ms = 1000 * ep.frame_samples / RATE
    assert 0 < delay_ms <= ep.end_frames * frame_ms + frame_ms, delay_ms
    assert end.sample > real_end  # the whole question is in the audio


def test_wav_source_through_the_endpointer(question_wav: Path, workdir: Path) -> None:
    padded = workdir / "padded.wav"
    subprocess.run(["sox", "-R", str(question_wav), str(padded), "pad", "0.8", "1.5"], check=True,
                   timeout=30)
    ep, events = Endpointer(), []
    for block in WavSource(padded).chunks():
        events += ep.feed(block)
    assert [type(e) for e in events] == [SpeechStart, SpeechEnd]


# --- microphones ------------------------------------------------------------------------------

def test_capture_format_choice() -> None:
    assert choose_capture_format(lambda rate, ch: True, (16000, 44100)) == (16000, 1)
    assert choose_capture_format(lambda rate, ch: rate == 44100, (16000, 44100)) == (44100, 1)
    assert choose_capture_format(lambda rate, ch: ch == 2, (16000, 48000)) == (16000, 2)
    assert choose_capture_format(lambda rate, ch: False, (16000, 48000)) is None


def _run_json(code: str, env: dict[str, str]) -> dict[str, Any]:
    result = run_python(textwrap.dedent(code), env, timeout=60)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.audio
def test_microphone_is_bit_exact_and_reports_a_device_that_stops(tmp_path: Path,
                                                                 question: np.ndarray) -> None:
    # FIFOs pace the virtual microphones (see tests/audio_in_env.py). The first one's writer
    # stops writing, as a device that hangs or is unplugged; the second's stream dies outright
    # (aborted, as PortAudio's own thread does on a device error) and is then reopened.
    sent = np.concatenate([question, int16(tone(440, 0.3))])
    sent.astype("<i2").tofile(tmp_path / "sent.raw")
    env = alsa_env(write_capture_config(tmp_path, tmp_path / "a.fifo",
                                        more_inputs={"second_mic": tmp_path / "b.fifo"}))
    code = f"""
        import json, time
        from pathlib import Path
        from tests.audio_in_env import PacedFifo
        work = Path({str(tmp_path)!r})
        # Before sounddevice lists the devices: listing opens them.
        fifo_a, fifo_b = PacedFifo(work / "a.fifo"), PacedFifo(work / "b.fifo")
        from voice.audio.devices import AudioDeviceError, input_devices
        from voice.audio.microphone import Microphone, has_microphone
        sent = (work / "sent.raw").read_bytes()
        mic = Microphone({MIC_NAME!r}, block_ms=30, stall_s=0.4)
        result = {{"has": has_microphone(), "devices": [list(d) for d in input_devices()],
                  "format": [mic.capture_rate, mic.channels, mic.block_frames]}}
        fifo_a.play(sent, 960, 2 * 32000)  # one stream period a write, twice real time
        got = bytearray()
        last = time.monotonic()
        try:
            for block in mic.chunks():
                got += block
                last = time.monotonic()
        except AudioDeviceError as err:
            result["stall"] = str(err)
            result["stall_after"] = time.monotonic() - last
        # The writer pads to whole periods with silence.
        result["exact"] = bytes(got[:len(sent)]) == sent and not any(got[len(sent):])
        result["received"] = len(got) // 2
        fifo_a.close()  # end of file: lets PortAudio's thread, stuck reading, finish
        mic.close()

        second = Microphone("second", stall_s=0.4)
        fifo_b.play(sent, 960, 32000)
        died = bytearray()
        try:
            for block in second.chunks():
                died += block
                if len(died) >= 16000:
                    second._stream.abort()
        except AudioDeviceError as err:
            result["died"] = str(err)
        result["died_exact"] = bytes(died) == sent[:len(died)]
        reopened = bytearray()
        for block in second.chunks():
            reopened += block
            if len(reopened) >= 9600:
                break
        result["died_at"] = len(died)
        result["reopened_at"] = sent.find(bytes(reopened))
        second.close()
        fifo_b.close()
        print(json.dumps(result))
        """
    result = _run_json(code, env)
    assert result["has"] is True
    assert sorted(d[1] for d in result["devices"]) == ["default", MIC_NAME, "second_mic"]
    assert result["format"] == [16000, 1, 480]
    assert 0 <= result["received"] - len(sent) < 480 and result["exact"]
    assert "delivered no audio for 0.4 seconds (was it unplugged?)" in result["stall"]
    assert 0.35 < result["stall_after"] < 1.0
    assert "stopped delivering audio" in result["died"] and result["died_exact"]
    assert result["reopened_at"] >= result["died_at"]  # later audio, in one piece


@pytest.mark.audio
def test_pause_drops_audio_until_resume(tmp_path: Path) -> None:
    # Each sample holds its own position, so what was dropped shows.
    positions = (np.arange(2 * RATE) - RATE).astype("<i2")
    positions.tofile(tmp_path / "sent.raw")
    env = alsa_env(write_capture_config(tmp_path, tmp_path / "mic.fifo"))
    code = f"""
        import json, time
        from pathlib import Path
        import numpy as np
        from tests.audio_in_env import PacedFifo
        work = Path({str(tmp_path)!r})
        fifo = PacedFifo(work / "mic.fifo")
        from voice.audio.microphone import Microphone
        mic = Microphone()
        fifo.play((work / "sent.raw").read_bytes(), 960, 32000)
        got, paused_at = [], None
        for block in mic.chunks():
            got.append(np.frombuffer(block, dtype="<i2"))
            if len(got) == 15 and paused_at is None:
                mic.pause()
                paused_at = time.monotonic()
                time.sleep(0.4)
                mic.resume()
            if sum(map(len, got)) >= 16000:
                break
        mic.close()
        fifo.close()
        print(json.dumps({{"samples": np.concatenate(got).tolist(), "paused": mic.paused}}))
        """
    result = _run_json(code, env)
    got = np.array(result["samples"]) + RATE
    jumps = np.nonzero(np.diff(got) != 1)[0]
    assert got[0] == 0 and len(jumps) == 1 and jumps[0] == 15 * 480 - 1
    skipped = (got[jumps[0] + 1] - got[jumps[0]]) / RATE
    assert 0.35 < skipped < 0.6  # what was said during the pause never arrives
    assert result["paused"] is False


@pytest.mark.audio
def test_an_echo_canceller_that_fails_is_said_once_and_the_microphone_goes_on(
        tmp_path: Path) -> None:
    # A fault in the canceller (none is known: this one is made to fail on its 5th block)
    # must not stop hearing: one plain message, then the microphone's audio as it comes,
    # nothing lost, the block it failed on included.
    positions = (np.arange(RATE) - RATE // 2).astype("<i2")
    positions.tofile(tmp_path / "sent.raw")
    env = alsa_env(write_capture_config(tmp_path, tmp_path / "mic.fifo"))
    code = f"""
        import json, logging
        from pathlib import Path
        import numpy as np
        from tests.audio_in_env import PacedFifo
        work = Path({str(tmp_path)!r})
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logging.getLogger("voice").addHandler(handler)

        class Failing:
            calls = 0
            def process(self, chunk, arrived):
                Failing.calls += 1
                if Failing.calls >= 5:
                    raise FloatingPointError("made to fail")
                return chunk
            def gap(self):
                pass

        fifo = PacedFifo(work / "mic.fifo")
        from voice.audio.microphone import Microphone
        mic = Microphone(echo=Failing())
        fifo.play((work / "sent.raw").read_bytes(), 960, 32000)
        got = []
        for block in mic.chunks():
            got.append(np.frombuffer(block, dtype="<i2"))
            if sum(map(len, got)) >= 8000:
                break
        mic.close()
        fifo.close()
        print(json.dumps({{"samples": np.concatenate(got).tolist(), "calls": Failing.calls,
                          "off": mic.echo is None,
                          "said": [r.getMessage() for r in records
                                   if r.levelno >= logging.WARNING]}}))
        """
    result = _run_json(code, env)
    got = np.array(result["samples"]) + RATE // 2
    assert np.array_equal(got, np.arange(got.size))  # every sample, in order
    assert result["calls"] == 5 and result["off"] is True
    assert len(result["said"]) == 1 and "--no-barge-in" in result["said"][0], result["said"]


@pytest.mark.audio
def test_microphone_opened_at_48k_is_resampled_in_the_consumer(tmp_path: Path,
                                                               question_wav: Path) -> None:
    at48k = read_wav(question_wav).samples  # through 16 kHz, then up: a realistic 48 kHz signal
    at48k = resample(at48k, 16000, 48000)
    at48k.astype("<i2").tofile(tmp_path / "sent.raw")
    env = alsa_env(write_capture_config(tmp_path, tmp_path / "mic.fifo"))
    code = f"""
        import json
        from pathlib import Path
        from tests.audio_in_env import PacedFifo
        work = Path({str(tmp_path)!r})
        fifo = PacedFifo(work / "mic.fifo", pipe_bytes=8192)
        from voice.audio.microphone import Microphone
        mic = Microphone(capture_rate=48000, block_ms=30)
        fifo.play((work / "sent.raw").read_bytes(), 2 * mic.block_frames, 4 * 96000)
        got = bytearray()
        for block in mic.chunks():
            got += block
            if len(got) >= 2 * 16000:
                break
        mic.close()
        fifo.close()
        (work / "got.raw").write_bytes(bytes(got))
        print(json.dumps({{"format": [mic.capture_rate, mic.channels, mic.block_frames]}}))
        """
    assert _run_json(code, env)["format"] == [48000, 1, 1440]
    got = read_raw_int16(tmp_path / "got.raw")
    expected = resample(at48k, 48000, 16000)[:len(got)]
    assert len(got) >= 16000
    assert np.max(np.abs(got.astype(int) - expected)) <= 1


@pytest.mark.audio
def test_flooding_device_drops_the_oldest_blocks_and_speaker_still_works(
        tmp_path: Path, question: np.ndarray) -> None:
    # A plain infile is read without pacing, as fast as PortAudio asks: the bounded queue must
    # keep only the newest audio. The same configuration's playback side records to a file.
    np.concatenate([question, np.zeros(2 * RATE, dtype=np.int16)]).astype("<i2").tofile(
        tmp_path / "in.raw")
    env = alsa_env(write_capture_config(tmp_path, tmp_path / "in.raw", tmp_path / "out.raw"))
    code = """
        import json, threading, time
        import numpy as np
        from voice.audio.microphone import Microphone, has_microphone
        from voice.audio.playback import AudioOutput
        from voice.audio.pcm import Audio
        mic = Microphone(queue_s=0.3)
        blocks = mic.chunks()
        next(blocks)  # opens the stream
        time.sleep(0.2)
        later = [next(blocks) for _ in range(5)]
        mic.close()
        result = {"has": has_microphone(), "dropped": mic.dropped_blocks,
                  "later_silent": all(not any(b) for b in later),
                  "bound": mic._queue.maxsize}
        beep = (np.sin(np.arange(8000) / 5) * 8000).astype(np.int16)
        AudioOutput().play(Audio(beep, 16000), threading.Event())
        print(json.dumps(result))
        """
    result = _run_json(code, env)
    assert result["has"] is True
    assert result["dropped"] > 100 and result["bound"] == 10
    assert result["later_silent"]  # the newest audio: the silence after the question
    played = read_raw_int16(tmp_path / "out.raw")
    assert len(played) >= 8000 and rms(played) > 1000


@pytest.mark.audio
def test_no_microphone(tmp_path: Path) -> None:
    env = alsa_env(speaker_only_config(tmp_path))
    code = """
        import json
        from voice.audio.devices import AudioDeviceError, input_devices, output_devices
        from voice.audio.microphone import Microphone, has_microphone
        result = {"has": has_microphone(), "has_named": has_microphone("numb"),
                  "inputs": input_devices(), "outputs": output_devices()}
        for device in (None, "usb mic", 3):
            try:
                Microphone(device)
            except AudioDeviceError as err:
                result[str(device)] = str(err)
        print(json.dumps(result))
        """
    result = _run_json(code, env)
    assert result["has"] is False and result["has_named"] is False
    assert result["inputs"] == [] and result["outputs"] == [[0, "default"]]
    assert result["None"].startswith("No microphone was found (input devices: none).")
    assert "The microphone 'usb mic' was not found" in result["usb mic"]
    assert "The microphone 3 was not found" in result["3"]


@pytest.mark.audio
def test_a_speaker_that_is_not_there_is_named_with_the_ones_that_are(tmp_path: Path) -> None:
    # The output opens its device through the same helper as the microphone.
    env = alsa_env(speaker_only_config(tmp_path))
    code = """
        import json
        from voice.audio.devices import AudioDeviceError
        from voice.audio.playback import AudioOutput
        result = {"default": AudioOutput().name}
        try:
            AudioOutput("usb speaker")
        except AudioDeviceError as err:
            result["usb speaker"] = str(err)
        print(json.dumps(result))
        """
    result = _run_json(code, env)
    assert result["default"] == "default"
    assert result["usb speaker"] == ("The audio output device 'usb speaker' was not found "
                                     "(output devices: 0: default).")


@pytest.mark.audio
def test_a_microphone_with_an_echo_canceller_delivers_the_room_without_the_speaker(
        tmp_path: Path, question: np.ndarray) -> None:
    # What the speaker played (told to the canceller as it plays) comes back into the virtual
    # microphone 40 ms later at half its level; the canceller works on the device's real
    # stream, blocks and timing.
    played = np.concatenate([question, question, question]).astype(np.float64)
    lag = int(0.04 * RATE)
    echo = np.concatenate([np.zeros(lag), 0.5 * played])[:played.size]
    heard = np.concatenate([silence(0.5), echo, silence(0.5)])
    int16(heard).astype("<i2").tofile(tmp_path / "sent.raw")
    np.save(tmp_path / "played.npy", played)
    env = alsa_env(write_capture_config(tmp_path, tmp_path / "a.fifo"))
    code = f"""
        import json, threading, time
        from pathlib import Path
        import numpy as np
        from tests.audio_in_env import PacedFifo
        work = Path({str(tmp_path)!r})
        fifo = PacedFifo(work / "a.fifo")
        from voice.audio.echo_cancel import EchoCanceller, PlaybackReference
        from voice.audio.microphone import Microphone
        sent = (work / "sent.raw").read_bytes()
        played = np.load(work / "played.npy")
        reference = PlaybackReference()
        canceller = EchoCanceller(reference)
        mic = Microphone({MIC_NAME!r}, block_ms=30, echo=canceller)
        started = time.monotonic()
        fifo.play(sent, 960, 32000)

        def speaker():
            # Each 50 ms block is told as it is written into the device, ahead of the echo.
            reference.start(16000)
            for start in range(0, played.size, 800):
                due = started + 0.5 + start / 16000
                time.sleep(max(0.0, due - time.monotonic()))
                reference.played(played[start:start + 800], due)

        threading.Thread(target=speaker, daemon=True).start()
        got = bytearray()
        for block in mic.chunks():
            got += block
            if len(got) >= len(sent):
                break
        fifo.close()  # end of file first: PortAudio's thread, reading, can then finish
        mic.close()
        (work / "got.raw").write_bytes(bytes(got))
        print(json.dumps({{"delay": canceller.delay}}), flush=True)
        # Not PortAudio's exit handler: a FIFO microphone's reading thread can outlive the
        # stream here (a rig's artifact; a device keeps delivering), and Pa_Terminate would
        # wait for it. The audio above is what this test is about.
        import os
        os._exit(0)
        """
    result = _run_json(code, env)
    got = np.fromfile(tmp_path / "got.raw", dtype="<i2").astype(np.float64)
    sent = heard[:got.size]
    # The last two seconds of the echo, once the room is learned: at least 15 dB down.
    end = int(0.5 * RATE) + played.size
    window = slice(end - 2 * RATE, end)

    def db(x: np.ndarray) -> float:
        return 10 * np.log10(np.mean(x ** 2) + 1e-9)

    assert db(sent[window]) - db(got[window]) >= 15.0, (db(sent[window]), db(got[window]))
    assert result["delay"] > 0
