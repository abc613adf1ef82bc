"""The numbness diary: episodes in SQLite, read from speech, summarised, reported to a doctor."""

from .store import (
                    DiaryError,
                    DiaryStore,
                    DiaryVersionError,
                    DiaryWriteError,
                    Episode,
                    NoSuchEpisode,
                    default_path,
)
from .words import DiaryWords, load_words

__all__ = ["DiaryError", "DiaryStore", "DiaryVersionError", "DiaryWriteError", "DiaryWords",
           "Episode", "NoSuchEpisode", "default_path", "load_words"]
