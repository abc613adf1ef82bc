"""Audio devices through sounddevice (PortAudio): loading it, listing and finding devices."""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Literal, NamedTuple

from knowledge.errors import NumbLegsError

_LOGGER = logging.getLogger(__name__)

PORTAUDIO_HINT = "Install PortAudio (sudo apt-get install libportaudio2)."


class AudioDeviceError(NumbLegsError):
    """No usable audio device: PortAudio missing, no such device, or the device failed."""


def load_sounddevice() -> ModuleType:
    """Import sounddevice on demand: it loads libportaudio at import, raising OSError without."""
    try:
        import sounddevice
    except ImportError as err:
        raise AudioDeviceError(f"The Python package sounddevice is missing ({err}). "
                               "Reinstall numb-legs (pip install numb-legs).") from err
    except OSError as err:
        raise AudioDeviceError(f"The audio library is not available ({err}). {PORTAUDIO_HINT}") \
            from err
    return sounddevice


def match_device(spec: int | str | None, devices: list[tuple[int, str]],
                 default: object) -> int | None:
    """Index of the device SPEC names among DEVICES: an index, or part of a name.

    With SPEC None, DEFAULT (PortAudio's default device) when it is among DEVICES. Pure, and
    shared by microphones and speakers.
    """
    indexes = {index for index, _ in devices}
    if spec is None:
        return default if isinstance(default, int) and default in indexes else None
    if isinstance(spec, int) or spec.strip().isdigit():
        return int(spec) if int(spec) in indexes else None
    wanted = spec.strip().casefold()
    found = [index for index, name in devices if wanted in name.casefold()]
    if len(found) > 1:
        _LOGGER.debug("Device %r matches %s; using %s", spec, found, found[0])
    return found[0] if found else None


def output_devices() -> list[tuple[int, str]]:
    """(index, name) of every device that can play sound."""
    sd = load_sounddevice()
    try:
        return [(int(d["index"]), str(d["name"])) for d in sd.query_devices()
                if d["max_output_channels"] > 0]
    except sd.PortAudioError as err:
        raise AudioDeviceError(f"Could not list audio devices: {err}") from err


def find_output_device(spec: int | str | None) -> int | None:
    """Index of the output device SPEC names (an index, or part of a name); None: not found.

    With SPEC None, the system's default output device, or None when there is none.
    """
    return match_device(spec, output_devices(), load_sounddevice().default.device[1])


class InputDevice(NamedTuple):
    """A device that can record, as PortAudio lists it."""

    index: int  # type: ignore[assignment]  # PortAudio's name; shadows tuple.index, never called
    name: str
    channels: int
    default_rate: int


def input_devices() -> list[InputDevice]:
    """Every device that can record."""
    sd = load_sounddevice()
    try:
        return [InputDevice(int(d["index"]), str(d["name"]), int(d["max_input_channels"]),
                            int(d["default_samplerate"]))
                for d in sd.query_devices() if d["max_input_channels"] > 0]
    except sd.PortAudioError as err:
        raise AudioDeviceError(f"Could not list audio devices: {err}") from err


def find_input_device(spec: int | str | None) -> int | None:
    """Index of the input device SPEC names (an index, or part of a name); None: not found.

    With SPEC None, the system's default input device, or None when there is none.
    """
    devices = [(device.index, device.name) for device in input_devices()]
    return match_device(spec, devices, load_sounddevice().default.device[0])


class OpenedDevice(NamedTuple):
    """The device a microphone or speaker uses, as PortAudio describes it."""

    index: int  # type: ignore[assignment]  # PortAudio's name; shadows tuple.index, never called
    name: str
    default_rate: int


# For each direction: what people call such a device, and the option that picks one.
_WORDS = {"input": ("microphone", "--input-device"),
          "output": ("audio output device", "--output-device")}


def open_device(spec: int | str | None, kind: Literal["input", "output"]) -> OpenedDevice:
    """The KIND device SPEC names (an index, or part of a name; None: the default one).

    AudioDeviceError when there is none, naming the devices there are and how to pick one.
    """
    what, option = _WORDS[kind]
    if kind == "input":
        index = find_input_device(spec)
        devices = [(device.index, device.name) for device in input_devices()] \
            if index is None else []
    else:
        index = find_output_device(spec)
        devices = output_devices() if index is None else []
    if index is None:
        names = ", ".join(f"{i}: {name}" for i, name in devices) or "none"
        if spec is None:
            raise AudioDeviceError(f"No {what} was found ({kind} devices: {names}). "
                                   f"Connect one, or pick one with {option}.")
        raise AudioDeviceError(f"The {what} {spec!r} was not found ({kind} devices: {names}).")
    sd = load_sounddevice()
    try:
        info = sd.query_devices(index)
    except sd.PortAudioError as err:
        raise AudioDeviceError(f"Could not open {what} {index}: {err}") from err
    return OpenedDevice(index, str(info["name"]), int(info["default_samplerate"]))
