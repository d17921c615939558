"""Model directories for any TFLite classifier: `camtrap card init` and `camtrap models fetch`.

`init_card` reads the model itself (`camtrap.adapters.embedding.tensor_facts`), checks the
labels against its output and the targets and groups against the labels, copies the model and
labels into the directory when they are elsewhere, writes ``model.json``
(`camtrap.core.modelcard.new_card`) and loads the result once, as the service will, so a card
that would be refused is never left behind. `install` does the same for a catalogue entry after
a checked download.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from camtrap.adapters.classifier import load_model, read_labels
from camtrap.adapters.embedding import tensor_facts
from camtrap.adapters.fetch import fetch
from camtrap.adapters.model_card import CARD_NAME, write_card_json
from camtrap.core.catalogue import Entry
from camtrap.core.modelcard import DEFAULT_NEW_RULE, new_card
from camtrap.core.preprocess import ResizeMode
from camtrap.core.targets import TargetGroup, parse_group, resolve_targets
from camtrap.core.verdict import Rule
from camtrap.errors import ModelError, UsageError

AMUR_RULE = Rule("k_of_n", 1, 0.3)  # docs/models.md: the ImageNet preset's operating point


def init_card(
    model: Path,
    labels: Path,
    out: Path,
    targets: tuple[str, ...],
    groups: tuple[TargetGroup, ...] = (),
    rule: Rule = DEFAULT_NEW_RULE,
    name: str = "",
    resize: ResizeMode = "squash",
    replace: bool = False,
    description: str = "",
) -> Path:
    """Write ``out/model.json`` for ``model`` (copied into ``out`` with its labels)."""
    card_file = out / CARD_NAME
    if card_file.exists() and not replace:
        raise UsageError(f"{card_file}: exists (--force replaces it)")
    facts, sha = tensor_facts(model)
    label_list = read_labels(labels)
    classes = facts.output_values
    if classes not in (len(label_list), len(label_list) + 1):
        raise ModelError(
            f"{model}: {classes} output classes but {len(label_list)} labels in {labels}"
        )
    full = ("background", *label_list) if classes == len(label_list) + 1 else label_list
    names = targets or tuple(g.name for g in groups)
    resolve_targets(names, full, groups)  # every target and member must match a label
    card = new_card(
        name=name or out.name,
        file=model.name,
        sha256=sha,
        facts=facts,
        labels=label_list,
        targets=names,
        groups=groups,
        rule=rule,
        labels_file=labels.name,
        resize=resize,
        description=description,
    )
    _copy_in(model, out)
    _copy_in(labels, out)
    write_card_json(card_file, dict(card))
    load_model(out)  # the service's own checks, once
    return card_file


def _copy_in(path: Path, out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        if (out / path.name).resolve() != path.resolve():
            shutil.copyfile(path, out / path.name)
    except OSError as e:
        raise UsageError(f"{out}: cannot copy {path.name} into it: {e}") from None


def install(entry: Entry, root: Path, mirror: str = "", progress: bool = True) -> Path:
    """Download a catalogue entry into ``root/<name>/`` (hash-checked) and write its card."""
    out = root / entry.name
    files = [d for d in (entry.model, entry.labels) if d is not None]
    for d in files:
        url = mirror.rstrip("/") + "/" + d.name if mirror else d.url
        fetch(url, out / d.name, d.sha256, d.size, progress)
    if entry.labels is None:
        return out  # an embedding extractor: no classes, no card (camtrap adapt --base)
    groups = tuple(parse_group(f"{n}={';'.join(m)}") for n, m in entry.target_groups)
    init_card(
        out / entry.model.name,
        out / entry.labels.name,
        out,
        entry.targets,
        groups,
        AMUR_RULE if groups else DEFAULT_NEW_RULE,
        name=entry.name,
        replace=True,
        description=f"{entry.description}; {entry.licence}; from {entry.model.url}",
    )
    return out
