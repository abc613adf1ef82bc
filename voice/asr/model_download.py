"""Vosk speech models: the catalog, finding an installed model, and downloading one safely.

A download goes to ``TARGET/.NAME.zip.part`` (resumed with an HTTP Range request), is checked
(size, SHA-256/MD5 when known, every member's CRC), unpacked into a hidden folder inside TARGET
and renamed into place in one step, so a failure never leaves a half-installed model folder.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import socket
import ssl
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, TextIO

from knowledge.datafile import Node, read_package_toml
from knowledge.errors import NumbLegsError

_LOGGER = logging.getLogger(__name__)

ENV_MODEL = "NUMB_LEGS_VOSK_MODEL"
CATALOG_PAGE = "https://alphacephei.com/vosk/models"
DEFAULT_TIMEOUT = 30.0
_CHUNK = 64 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)

Progress = Callable[[int, int], None]
Opener = Callable[..., Any]


# -- errors ------------------------------------------------------------------------------------

class ModelError(NumbLegsError):
    """A speech model cannot be found, checked, downloaded or installed."""


class UnknownModelError(ModelError):
    """The name is not in the catalog and is not the address of a zip."""


class BrokenModelError(ModelError):
    """A folder that should hold a Vosk model does not hold a complete one."""

    def __init__(self, path: Path, problems: list[str], origin: str = "") -> None:
        self.path = path
        self.problems = problems
        where = f"{path} (from {origin})" if origin else str(path)
        if not path.exists():
            message = (f"The Vosk model folder {where} does not exist. Check the path, or run "
                       "'numb-legs download-model' to install a model.")
        else:
            message = (f"The Vosk model folder {where} is broken: {'; '.join(problems)}. Delete "
                       "it and run 'numb-legs download-model', or pass --model with a complete "
                       "model folder.")
        super().__init__(message)


class ModelOfflineError(ModelError):
    """The model server cannot be reached at all."""


class ModelHTTPError(ModelError):
    """The model server answered with an HTTP error."""

    def __init__(self, url: str, code: int, reason: str) -> None:
        self.url = url
        self.code = code
        hint = (f" The model may have been renamed: see {CATALOG_PAGE}." if code in (404, 410)
                else " Try again later.")
        super().__init__(f"The model server answered {code} {reason} for {url}.{hint}")


class ModelChecksumError(ModelError):
    """The downloaded file is not the file the catalog describes (it has been deleted)."""


class ModelTruncatedError(ModelError):
    """The transfer stopped early; the partial file is kept so the next run resumes."""


class ModelTargetError(ModelError):
    """The target folder cannot be written to."""

    def __init__(self, path: Path, err: OSError | str) -> None:
        self.path = path
        reason = err if isinstance(err, str) else (err.strerror or str(err))
        super().__init__(f"Can't write to {path}: {reason}. Choose another folder with --target.")


class ModelArchiveError(ModelError):
    """The downloaded zip is damaged or does not hold a Vosk model (it has been deleted)."""


# -- catalog ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelEntry:
    """One downloadable model. SIZE is None and digests are "" when nothing is known in advance."""

    name: str
    url: str
    size: int | None
    sha256: str = ""
    md5: str = ""
    language: str = ""
    licence: str = ""
    description: str = ""


@dataclass(frozen=True)
class ModelCatalog:
    default: str
    models: tuple[ModelEntry, ...]

    def get(self, name: str) -> ModelEntry | None:
        return next((entry for entry in self.models if entry.name == name), None)


@lru_cache(maxsize=1)
def load_catalog() -> ModelCatalog:
    """The shipped catalog, voice/data/models.toml (parsed once per process)."""
    label, data = read_package_toml("voice", "models.toml")
    return catalog_from_dict(label, data)


def catalog_from_dict(label: str, data: dict[str, Any]) -> ModelCatalog:
    """Validate DATA (read from LABEL) and build the catalog."""
    root = Node(label, data)
    root.reject_unknown({"schema_version", "default", "models"})
    root.require_version(1)
    entries: list[ModelEntry] = []
    for item in root.get("models").list(min_len=1):
        item.reject_unknown({"name", "language", "url", "size", "sha256", "md5", "licence",
                             "description"})
        name = item.get("name").text()
        if not _NAME.match(name):
            raise item.get("name").fail(f"{name!r} is not a folder name (letters, digits, . - _)")
        if any(entry.name == name for entry in entries):
            raise item.get("name").fail(f"model {name!r} appears twice")
        url = item.get("url").text()
        if not url.startswith("https://"):
            raise item.get("url").fail(f"{url!r} is not an https address")
        entries.append(ModelEntry(
            name=name, url=url, size=item.get("size").integer(1, 10**12),
            sha256=_digest(item.get("sha256"), 64), md5=_digest(item.optional("md5", ""), 32),
            language=item.get("language").text(), licence=item.get("licence").text(),
            description=item.get("description").text()))
    default = root.get("default")
    if not any(entry.name == default.text() for entry in entries):
        raise default.fail(f"{default.value!r} is not one of the models")
    return ModelCatalog(default=default.text(), models=tuple(entries))


def _digest(node: Node, length: int) -> str:
    if not isinstance(node.value, str):
        raise node.fail("must be a string of hex digits, or \"\" when unknown")
    value = node.value.strip().lower()
    if value and not re.fullmatch(f"[0-9a-f]{{{length}}}", value):
        raise node.fail(f"must be {length} hex digits, or \"\" when unknown")
    return value


def resolve_model(name_or_url: str | None, catalog: ModelCatalog) -> ModelEntry:
    """The catalog entry for a name (None: the default) or URL; an unknown URL gets a bare entry."""
    text = (name_or_url or "").strip() or catalog.default
    entry = catalog.get(text) or catalog.get(text.removesuffix(".zip"))
    if entry is not None:
        return entry
    if "://" not in text:
        known = ", ".join(entry.name for entry in catalog.models)
        raise UnknownModelError(
            f"I don't know a model called {text!r}. Known models: {known}. You can also give "
            f"the address of a Vosk model zip from {CATALOG_PAGE}.")
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise UnknownModelError(f"{text} is not an http or https address.")
    for entry in catalog.models:
        if entry.url == text:
            return entry
    base = PurePosixPath(urllib.parse.unquote(parts.path)).name
    name = base[:-4] if base.lower().endswith(".zip") else ""
    if not _NAME.match(name):
        raise UnknownModelError(f"{text} does not end in the name of a .zip file, so I can't "
                                "tell what to call the model.")
    return ModelEntry(name=name, url=text, size=None)


# -- finding and checking installed models ---------------------------------------------------------

def project_models_dir() -> Path:
    """The checkout's models/ folder (where a developer unzips a model)."""
    return Path(__file__).resolve().parents[2] / "models"


def user_models_dir() -> Path:
    """Per-user model folder, e.g. ~/.local/share/numb-legs/models on Linux."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("numb-legs", appauthor=False)) / "models"


def find_vosk_model(explicit: str | None, env: Mapping[str, str], project_models: Path,
                    user_data: Path) -> Path | None:
    """The Vosk model to use: --model, then $NUMB_LEGS_VOSK_MODEL, then models/, then user data.

    A folder the person named (option or variable) must be complete, else BrokenModelError: it is
    never skipped silently. In models/ and the user data folder, the first complete model folder
    in name order wins; incomplete ones are skipped with a warning. None when there is none.
    """
    for chosen, origin in ((explicit, "--model"), (env.get(ENV_MODEL), f"${ENV_MODEL}")):
        if chosen and chosen.strip():
            path = Path(chosen.strip()).expanduser()
            problems = check_vosk_model(path)
            if problems:
                raise BrokenModelError(path, problems, origin)
            return path
    for folder in (project_models, user_data):
        found = _first_model_in(folder)
        if found is not None:
            return found
    return None


def _first_model_in(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    if not check_vosk_model(folder):  # a model unzipped straight into the folder
        return folder
    try:
        children = sorted(folder.iterdir())
    except OSError as err:
        _LOGGER.warning("Cannot look inside %s: %s", folder, err)
        return None
    for child in children:
        # Hidden names are downloads in progress (.NAME.zip.part, .NAME.*.unpacking).
        if child.name.startswith(".") or not child.is_dir():
            continue
        problems = check_vosk_model(child)
        if not problems:
            _LOGGER.debug("Using the Vosk model in %s", child)
            return child
        _LOGGER.warning("Skipping %s: not a complete Vosk model (%s)", child, "; ".join(problems))
    return None


def check_vosk_model(path: Path) -> list[str]:
    """What is missing from a Vosk model folder, as short sentences; empty when it looks usable.

    Mirrors what Vosk's Model constructor reads (vosk-api src/model.cc): the current layout has
    am/final.mdl and conf/model.conf, the old one final.mdl and mfcc.conf at the top.
    """
    path = Path(path)
    if not path.exists():
        return [f"{path} does not exist"]
    if not path.is_dir():
        return [f"{path} is a file, not a folder"]
    old_layout = (path / "final.mdl").is_file() and not (path / "am" / "final.mdl").exists()
    if old_layout:
        required, features, graph = ["final.mdl", "mfcc.conf"], (), ""
    else:
        required = ["am/final.mdl", "conf/model.conf"]
        features, graph = ("conf/mfcc.conf", "conf/fbank.conf"), "graph/"
    problems = [_file_problem(path, rel) for rel in required]
    if features and not any((path / rel).is_file() for rel in features):
        problems.append(f"{features[0]} (or {features[1]}) is missing")
    if not (path / f"{graph}HCLG.fst").is_file():
        lookahead = [f"{graph}{name}" for name in ("HCLr.fst", "Gr.fst", "disambig_tid.int")]
        missing = [rel for rel in lookahead if not (path / rel).is_file()]
        if len(missing) == len(lookahead):
            problems.append(f"the decoding graph is missing ({graph}HCLG.fst, or {graph}HCLr.fst "
                            f"with {graph}Gr.fst)")
        else:
            problems.extend(f"{rel} is missing" for rel in missing)
    if (path / "ivector" / "final.ie").is_file():
        problems.extend(_file_problem(path, f"ivector/{name}") for name in (
            "final.dubm", "final.mat", "global_cmvn.stats", "online_cmvn.conf", "splice.conf"))
    return [problem for problem in problems if problem]


def _file_problem(root: Path, rel: str) -> str:
    file = root / rel
    if not file.is_file():
        return f"{rel} is missing"
    if file.stat().st_size == 0:
        return f"{rel} is empty"
    return ""


def installed_model(name_or_url: str | None, target_dir: Path,
                    catalog: ModelCatalog | None = None) -> Path | None:
    """The folder of that model in TARGET_DIR when it is installed and complete, else None."""
    entry = resolve_model(name_or_url, catalog or load_catalog())
    folder = Path(target_dir).expanduser() / entry.name
    return folder if folder.is_dir() and not check_vosk_model(folder) else None


# -- downloading -------------------------------------------------------------------------------

def download_model(name_or_url: str | None, target_dir: Path, *,
                   catalog: ModelCatalog | None = None, progress: Progress | None = None,
                   opener: Opener = urllib.request.urlopen,
                   timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Download, check and install a model into TARGET_DIR/NAME; return that folder.

    PROGRESS is called as progress(bytes_so_far, total_bytes) (total 0 when unknown). When the
    model is installed already nothing is downloaded. Raises a ModelError subclass on failure.
    """
    entry = resolve_model(name_or_url, catalog or load_catalog())
    target_dir = Path(target_dir).expanduser()
    final = target_dir / entry.name
    if final.exists():
        problems = check_vosk_model(final)
        if problems:
            raise BrokenModelError(final, problems)
        _LOGGER.info("%s is installed already in %s", entry.name, final)
        return final
    _prepare_target(target_dir)
    part = target_dir / f".{entry.name}.zip.part"
    _fetch(entry, part, progress, opener, timeout)
    _verify(entry, part)
    return _install(entry, part, final)


def _prepare_target(target_dir: Path) -> None:
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError as err:
        raise ModelTargetError(target_dir, "it is a file, not a folder") from err
    except NotADirectoryError as err:
        raise ModelTargetError(target_dir, "part of that path is a file, not a folder") from err
    except OSError as err:
        raise ModelTargetError(target_dir, err) from err
    if not os.access(target_dir, os.W_OK | os.X_OK):
        raise ModelTargetError(target_dir, "permission denied")


def _fetch(entry: ModelEntry, part: Path, progress: Progress | None, opener: Opener,
           timeout: float) -> None:
    """Bring PART up to the whole file, resuming what an earlier run left."""
    have = part.stat().st_size if part.is_file() else 0
    if entry.size is not None and have > entry.size:
        _LOGGER.info("%s is larger than the model; starting again", part)
        _remove(part)
        have = 0
    if entry.size is not None and have == entry.size:
        _report(progress, have, entry.size)  # complete from an earlier run: verification follows
        return
    response, have = _open(entry, part, have, opener, timeout)
    if response is None:
        return
    with response:
        total = _total(entry, part, response, have)
        _stream(entry, part, response, have, total, progress)


def _open(entry: ModelEntry, part: Path, have: int, opener: Opener,
          timeout: float) -> tuple[Any, int]:
    """Open the URL (from byte HAVE when > 0); return (response or None when complete, start)."""
    headers = {"User-Agent": "numb-legs model downloader"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(entry.url, headers=headers)
    try:
        response = opener(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:
            total = _range_total(err.headers.get("Content-Range", "") if err.headers else "")
            err.close()
            if total == have and entry.size in (None, have):
                return None, have  # the partial file is already the whole file
            _LOGGER.info("The server refused to resume %s; starting again", entry.name)
            _remove(part)
            return _open(entry, part, 0, opener, timeout)
        err.close()
        raise ModelHTTPError(entry.url, err.code, str(err.reason)) from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        raise ModelOfflineError(_offline_message(entry, part.parent, err, timeout)) from err
    status = getattr(response, "status", None) or response.getcode()
    if have and status == 206:
        start = _range_start(response.headers.get("Content-Range", ""))
        if start == have:
            _LOGGER.info("Resuming %s from byte %d", entry.name, have)
            return response, have
        response.close()
        _LOGGER.info("The server resumed %s from the wrong place; starting again", entry.name)
        _remove(part)
        return _open(entry, part, 0, opener, timeout)
    if have:
        _LOGGER.info("The server ignored the resume request for %s; starting again", entry.name)
    return response, 0


def _offline_message(entry: ModelEntry, target_dir: Path, err: BaseException,
                     timeout: float) -> str:
    reason: Any = getattr(err, "reason", err)
    host = urllib.parse.urlsplit(entry.url).netloc
    by_hand = (f"To install by hand: download {entry.url} on another computer, unzip it into "
               f"{target_dir}, or pass --model PATH.")
    if isinstance(reason, ssl.SSLError):
        return (f"The secure connection to the model server {host} failed ({reason}). Check this "
                f"computer's date and certificates. {by_hand}")
    if isinstance(reason, socket.gaierror):
        why = "its name could not be looked up"
    elif isinstance(reason, ConnectionRefusedError):
        why = "the connection was refused"
    elif isinstance(reason, TimeoutError):
        why = f"no answer within {timeout:g} seconds"
    else:
        why = str(reason) or reason.__class__.__name__
    return f"Can't reach the model server {host} ({why}): you seem to be offline. {by_hand}"


def _range_start(header: str) -> int | None:
    match = _CONTENT_RANGE.match(header or "")
    return int(match.group(1)) if match and match.group(1) else None


def _range_total(header: str) -> int | None:
    match = _CONTENT_RANGE.match(header or "")
    return int(match.group(3)) if match and match.group(3) != "*" else None


def _total(entry: ModelEntry, part: Path, response: Any, have: int) -> int | None:
    """The whole file's size: the catalog's, cross-checked with what the server announces."""
    if have:
        announced = _range_total(response.headers.get("Content-Range", ""))
    else:
        length = response.headers.get("Content-Length", "")
        announced = int(length) if length.strip().isdigit() else None
    if entry.size is None:
        return announced
    if announced is not None and announced != entry.size:
        response.close()
        _remove(part)
        raise ModelChecksumError(
            f"The server offers {announced} bytes for {entry.name}, but the catalog says "
            f"{entry.size}: it is not the expected file. Nothing was installed. See "
            f"{CATALOG_PAGE} for the current models.")
    return entry.size


def _stream(entry: ModelEntry, part: Path, response: Any, have: int, total: int | None,
            progress: Progress | None) -> None:
    done = have
    _report(progress, done, total or 0)
    try:
        handle = open(part, "ab" if have else "wb")
    except OSError as err:
        raise ModelTargetError(part.parent, err) from err
    with handle:
        while total is None or done < total:
            try:
                chunk = response.read(_CHUNK)
            except (OSError, http.client.HTTPException) as err:
                raise _truncated(entry, done, total, str(err) or err.__class__.__name__) from err
            if not chunk:
                break
            try:
                handle.write(chunk)
            except OSError as err:
                raise ModelTargetError(part.parent, err) from err
            done += len(chunk)
            _report(progress, done, total or 0)
    if total is not None and done < total:
        raise _truncated(entry, done, total, "the connection closed early")


def _truncated(entry: ModelEntry, done: int, total: int | None, why: str) -> ModelTruncatedError:
    where = f"at {_amounts(done, total)}" if total else f"after {_size_text(done)}"
    return ModelTruncatedError(
        f"The download of {entry.name} stopped {where} ({why}). Run the same command again to "
        "resume where it stopped.")


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _verify(entry: ModelEntry, part: Path) -> None:
    """Size and digests; a file that fails is deleted (resuming it could never succeed)."""
    size = part.stat().st_size
    if entry.size is not None and size != entry.size:
        _remove(part)
        raise ModelChecksumError(
            f"The download of {entry.name} is {size} bytes, not {entry.size}: it is not the "
            "expected file. It was deleted; run the command again to download it afresh.")
    if not (entry.sha256 or entry.md5):
        _LOGGER.info("No checksum known for %s: relying on its size and the zip's CRCs",
                     entry.name)
        return
    sha256, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(part, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            sha256.update(block)
            md5.update(block)
    for kind, expected, got in (("SHA-256", entry.sha256, sha256.hexdigest()),
                                ("MD5", entry.md5, md5.hexdigest())):
        if expected and got != expected:
            _remove(part)
            raise ModelChecksumError(
                f"The download of {entry.name} is damaged or not the expected file: its {kind} "
                f"is {got}, the catalog expects {expected}. It was deleted; run the command "
                f"again. If this keeps happening, the file on the server may have changed: "
                f"see {CATALOG_PAGE}.")


def _install(entry: ModelEntry, part: Path, final: Path) -> Path:
    """Unpack PART into a hidden folder beside FINAL, check it, and rename it into place."""
    target_dir = final.parent
    try:
        archive = zipfile.ZipFile(part)
    except (zipfile.BadZipFile, OSError) as err:
        _remove(part)
        raise ModelArchiveError(f"The download of {entry.name} is not a readable zip file "
                                f"({err}). It was deleted; run the command again.") from err
    with archive:
        try:
            bad = archive.testzip()  # reads every member and checks its CRC
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as err:
            bad = f"? ({err})"
        if bad is not None:
            _remove(part)
            raise ModelArchiveError(f"The download of {entry.name} is damaged: {bad} fails the "
                                    "zip's own check. It was deleted; run the command again.")
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".unpacking",
                                            dir=target_dir))
        except OSError as err:
            raise ModelTargetError(target_dir, err) from err
        try:
            try:
                archive.extractall(staging)
            except OSError as err:
                raise ModelTargetError(target_dir, err) from err
            root = _unpacked_root(staging)
            problems = check_vosk_model(root)
            if problems:
                _remove(part)
                raise ModelArchiveError(
                    f"{entry.url} unpacked, but it is not a Vosk model: {'; '.join(problems)}. "
                    f"Nothing was installed. Vosk models are listed on {CATALOG_PAGE}.")
            if final.exists():
                _LOGGER.info("%s appeared while downloading; keeping it", final)
            else:
                try:
                    os.replace(root, final)  # one rename: the model appears whole or not at all
                except OSError as err:
                    if not final.exists():
                        raise ModelTargetError(target_dir, err) from err
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    _remove(part)
    _LOGGER.info("Installed %s in %s", entry.name, final)
    return final


def _unpacked_root(staging: Path) -> Path:
    """Vosk zips hold one top folder; a zip of the model's contents is accepted too."""
    entries = [child for child in staging.iterdir() if child.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return staging


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as err:
        _LOGGER.warning("Could not delete %s: %s", path, err)


# -- progress for people -----------------------------------------------------------------------

class TextProgress:
    """Download progress that a screen reader reads well.

    On a terminal one line is redrawn in place; otherwise (a pipe, a log, a screen reader's
    transcript) a plain line is printed at every 10%, e.g. "Downloaded 40% (16 of 40 MB)".
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None,
                 label: str = "Downloading") -> None:
        self.stream = stream if stream is not None else sys.stdout
        isatty = getattr(self.stream, "isatty", None)
        self.live = live if live is not None else bool(isatty and isatty())
        self.label = label
        self._last = 0
        self._drawn = False
        self._width = 0

    def __call__(self, done: int, total: int) -> None:
        if total > 0:
            percent = min(100, done * 100 // total)
            if self.live:
                if percent != self._last or not self._drawn:
                    self._draw(f"{self.label}: {percent}% ({_amounts(done, total)})")
                self._last = percent
            elif percent // 10 * 10 > self._last:
                self._last = percent // 10 * 10
                self._line(f"Downloaded {self._last}% ({_amounts(done, total)})")
            return
        step = done // 10_000_000  # size unknown: every 10 MB
        if self.live:
            self._draw(f"{self.label}: {_size_text(done)}")
        elif step > self._last:
            self._last = step
            self._line(f"Downloaded {_size_text(done)}")

    def finish(self) -> None:
        """End a redrawn line, so what follows starts on a fresh line."""
        if self.live and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def _draw(self, text: str) -> None:
        # Pad over the previous text rather than send terminal escapes.
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)
        self._drawn = True

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def _amounts(done: int, total: int) -> str:
    """'16 of 41 MB': kB below a megabyte, one decimal below ten units."""
    unit, scale = _unit(total)
    return f"{_scaled(done, scale, total)} of {_scaled(total, scale, total)} {unit}"


def _size_text(size: int) -> str:
    unit, scale = _unit(size)
    return f"{_scaled(size, scale, size)} {unit}"


def _unit(total: int) -> tuple[str, int]:
    return ("MB", 1_000_000) if total >= 1_000_000 else ("kB", 1_000)


def _scaled(value: int, scale: int, total: int) -> str:
    return f"{value / scale:.1f}" if total / scale < 10 else f"{value / scale:.0f}"


def catalog_lines(catalog: ModelCatalog | None = None) -> list[str]:
    """One plain sentence per catalog model, for `numb-legs download-model --list`."""
    catalog = catalog or load_catalog()
    lines = []
    for entry in catalog.models:
        default = " (the default)" if entry.name == catalog.default else ""
        size = _size_text(entry.size) if entry.size else "size unknown"
        lines.append(f"{entry.name}{default}: {size}, {entry.licence}. {entry.description}")
    return lines
