"""Vosk models on this computer: where to look, which one to use, and whether a folder holds a
complete model."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from knowledge.user_dirs import user_dir

from .model_catalog import ModelCatalog, ModelEntry, ModelError, load_catalog, resolve_model

_LOGGER = logging.getLogger(__name__)

ENV_MODEL = "NUMB_LEGS_VOSK_MODEL"


MODEL_LAYOUT = ("A Vosk model is a folder, as unzipped from a vosk-model-*.zip, holding "
                "am/final.mdl, conf/model.conf and a graph folder.")


class BrokenModelError(ModelError):
    """A folder that should hold a Vosk model does not hold a complete one."""

    def __init__(self, path: Path, problems: list[str], origin: str = "") -> None:
        self.path = path
        self.problems = problems
        where = f"{path} (from {origin})" if origin else str(path)
        if not path.exists():
            message = (f"The Vosk model folder {where} does not exist. Check the path, or run "
                       "'numb-legs download-model' to install a model.")
        elif not path.is_dir() or not _has_model_parts(path):
            # Often a file of the person's own given by mistake: never advise deleting it.
            what = "a file" if not path.is_dir() else "a folder with no model in it"
            message = (f"{where} is {what}, not a Vosk model folder. {MODEL_LAYOUT} Run "
                       "'numb-legs download-model' to install one (numb-legs then finds it by "
                       "itself), or pass --model with a model's folder.")
        elif origin:
            message = (f"The Vosk model folder {where} is broken: {'; '.join(problems)}. Install "
                       "a complete model with 'numb-legs download-model', or pass --model with a "
                       "complete model folder.")
        else:  # a folder numb-legs itself installs into (download-model)
            message = (f"The Vosk model folder {where} is broken: {'; '.join(problems)}. Delete "
                       "it and run 'numb-legs download-model', or pass --model with a complete "
                       "model folder.")
        super().__init__(message)


def _has_model_parts(path: Path) -> bool:
    """Does the folder PATH hold any part of a Vosk model (either layout)?"""
    return any((path / part).exists() for part in ("am", "conf", "graph", "final.mdl"))


def project_models_dir() -> Path:
    """The checkout's models/ folder (where a developer unzips a model)."""
    return Path(__file__).resolve().parents[2] / "models"


def user_models_dir() -> Path:
    """Per-user model folder, e.g. ~/.local/share/numb-legs/models on Linux."""
    return user_dir("data") / "models"


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
        _LOGGER.warning("Could not look inside %s (%s).", folder, err)
        return None
    for child in children:
        # Hidden names are downloads in progress (.NAME.zip.part, .NAME.*.unpacking); a folder
        # with CTranslate2 weights is a Whisper model (voice/asr/whisper_engine.py), not Vosk.
        if child.name.startswith(".") or not child.is_dir() or (child / "model.bin").is_file():
            continue
        problems = check_vosk_model(child)
        if not problems:
            _LOGGER.debug("Using the Vosk model in %s", child)
            return child
        _LOGGER.warning("Skipped %s: it is not a complete Vosk model (%s).", child,
                        "; ".join(problems))
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
    features: tuple[str, ...]
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
    return folder if folder.is_dir() and not check_model(entry, folder) else None


def check_model(entry: ModelEntry, folder: Path) -> list[str]:
    """What is wrong with FOLDER as ENTRY's model; empty when it is usable."""
    if entry.kind == "whisper":
        from .whisper_engine import check_whisper_folder

        return check_whisper_folder(folder, entry.name)
    return check_vosk_model(folder)
