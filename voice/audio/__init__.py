"""Audio in and out: devices, the microphone, playback, WAV files, resampling, endpointing,
earcons."""
