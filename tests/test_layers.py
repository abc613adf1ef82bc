"""The layer rule: imports run one way, down the pipeline, and the dialogue stays pure.

voice/'s stages, lowest first: audio, asr, tts, dialogue, runtime, service, cli. A module imports its own
stage and those below it, never one above. voice/dialogue/ is text in, text out: it imports none
of audio, asr, tts, runtime or cli, and no threads. intents/ and knowledge/ never import voice.
The speech engines and the sound library are each imported in one module only, behind the
interfaces the rest of the program uses.

Every module is imported (so a module that cannot be imported fails here) and its imports are
read from its source with ast, the lazy ones inside functions included.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import intents
import knowledge
import voice

LAYERS = ("audio", "asr", "tts", "dialogue", "runtime", "service", "cli")
NOT_FROM_DIALOGUE = frozenset({"audio", "asr", "tts", "runtime", "service", "cli"})
# Entry points below the cli that parse the command line with its parsers (`python -m voice.service`).
ENTRY_POINTS = frozenset({"voice.service.__main__"})
# Third-party engines and hardware, each behind one module of ours.
ENGINES = {"sounddevice": "voice.audio.devices", "vosk": "voice.asr.vosk_engine",
           "pocketsphinx": "voice.asr.sphinx_engine", "pyttsx3": "voice.tts.synthesizer"}
# Running `voice.__main__` would start the program: it is read, not imported.
NOT_IMPORTED = frozenset({"voice.__main__"})


def _modules() -> list[str]:
    names = []
    for package in (voice, intents, knowledge):
        names.append(package.__name__)
        names += [found.name for found in pkgutil.walk_packages(package.__path__,
                                                                  package.__name__ + ".")]
    return sorted(names)


MODULES = _modules()


def imports_of(module: str) -> set[str]:
    """The absolute names MODULE imports anywhere in its source: `from a.b import c` gives a.b
    and a.b.c (c may be a module), `from . import trace` the package and package.trace."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"), spec.origin)
    package = module if spec.submodule_search_locations is not None else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                    if node.level else node.module or "")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def layer(name: str) -> str:
    """The stage a module name belongs to ("audio" ... "cli"), else its top-level package."""
    parts = name.split(".")
    if parts[0] == "voice" and len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return parts[0]


def violations(module: str, names: set[str]) -> list[str]:
    """What breaks the layer rule when MODULE imports NAMES."""
    own = layer(module)
    found = []
    for name in sorted(names):
        target = layer(name)
        if own in ("intents", "knowledge") and name.split(".")[0] == "voice":
            found.append(f"{module} imports {name}: intents/ and knowledge/ never import voice")
        elif (own in LAYERS and target in LAYERS and LAYERS.index(target) > LAYERS.index(own)
              and not (module in ENTRY_POINTS and target == "cli")):
            found.append(f"{module} ({own}) imports {name} ({target}), a higher stage")
        elif own == "dialogue" and target in NOT_FROM_DIALOGUE:
            found.append(f"{module} imports {name}: the dialogue is pure, no {target}")
        elif own == "dialogue" and target in ("threading", "multiprocessing"):
            found.append(f"{module} imports {name}: the dialogue has no threads")
        elif target in ENGINES and module != ENGINES[target]:
            found.append(f"{module} imports {name}, which only {ENGINES[target]} may import")
    return found


def test_every_module_is_found():
    assert "voice.dialogue.skill" in MODULES and "intents.safety" in MODULES
    assert "knowledge.diary.store" in MODULES
    assert {layer(module) for module in MODULES} >= set(LAYERS)
    # Nothing is left flat beside the stages but the package's own entry points.
    assert {m for m in MODULES if layer(m) == "voice"} == {"voice", "voice.__main__"}


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_and_keeps_the_layer_rule(module):
    if module not in NOT_IMPORTED:
        importlib.import_module(module)
    found = violations(module, imports_of(module))
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("module", "names"), [
    ("voice.dialogue.skill", {"voice.audio.pcm"}),
    ("voice.dialogue.skill", {"voice.tts.synthesizer"}),
    ("voice.dialogue.skill", {"threading"}),
    ("voice.audio.playback", {"voice.runtime.trace"}),
    ("voice.asr.domain_tuning", {"voice.dialogue.responses"}),
    ("voice.runtime.listener", {"voice.cli.main"}),
    ("intents.matcher", {"voice"}),
    ("knowledge.loader", {"voice.dialogue.responses"}),
    ("voice.runtime.speaker", {"sounddevice"}),
])
def test_the_rule_catches_an_upward_import(module, names):
    assert violations(module, names)


def test_imports_are_read_from_the_source_lazy_ones_too():
    # voice.cli.main imports the commands inside functions; `from . import trace` is a module.
    assert "voice.cli.speech_commands" in imports_of("voice.cli.main")
    assert "voice.runtime.trace" in imports_of("voice.runtime.listener")
