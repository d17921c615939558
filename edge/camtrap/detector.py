"""The detector: a loaded model with its targets and burst rule, settled from config and card.

`build_detector` loads the model (LiteRT) and lays the config's ``[verdict]`` over the model
card's decision; a model without a card gets `DEFAULT_RULE` and needs targets from the config.
`detector_from_args` does the same with the command line's --model/--labels/--target/
--target-group/--rule/--k/--threshold/--no-early-exit/--regions laid over the config (the
flags of `camtrap.cliargs`). ``[regions]`` gives the regions stage's parameters
(`core.regions`), or none when it is off.

Label roll-up groups come from the card (``target_groups``), then the config
(``[verdict.target_groups]``), then ``--target-group``; a later one replaces a group of the same
name. The targets are the config's (or the command line's), else the card's, else the groups'
names; a target that names a group means the group (`camtrap.core.targets`).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any, TypeVar

from camtrap.config import Config, ModelConfig, RegionsConfig, VerdictConfig
from camtrap.core.pipeline import Detector
from camtrap.core.regions import RegionParams
from camtrap.core.targets import (
    TargetGroup,
    groups_from_mapping,
    merge_groups,
    parse_group,
    resolve_targets,
)
from camtrap.core.verdict import Rule
from camtrap.errors import ConfigError, UsageError

DEFAULT_RULE = Rule("k_of_n", k=2, threshold=0.5, early_exit=True)  # models without a card

Section = TypeVar("Section", ModelConfig, VerdictConfig, RegionsConfig)


def build_detector(
    model_cfg: ModelConfig,
    verdict_cfg: VerdictConfig,
    regions_cfg: RegionsConfig = RegionsConfig(),  # noqa: B008 (frozen, so one shared default)
) -> Detector:
    """Load the model and resolve targets, rule and regions; a `UsageError` names what is
    wrong."""
    from camtrap.adapters.classifier import load_model

    loaded = load_model(
        model_cfg.path, model_cfg.labels, model_cfg.num_threads, model_cfg.check_hash
    )
    card = loaded.card
    groups = merge_groups(
        card.target_groups if card else (),
        groups_from_mapping(verdict_cfg.target_groups, "verdict.target_groups"),
    )
    names = verdict_cfg.targets or (card.targets if card else ()) or tuple(g.name for g in groups)
    if not names:
        raise UsageError(f"{loaded.path}: no targets: give --target NAME (no model card targets)")
    targets = resolve_targets(names, loaded.classifier.labels, groups)
    rule = resolve_rule(card.decision if card else DEFAULT_RULE, verdict_cfg)
    resize = card.input.resize if card else "squash"
    regions = region_params(regions_cfg)
    return Detector(loaded.classifier, targets, rule, resize, loaded.ident, regions)


def region_params(cfg: RegionsConfig) -> RegionParams | None:
    """The regions stage's parameters from ``[regions]``; None when it is off."""
    if cfg.mode == "off":
        return None
    try:
        return RegionParams(
            max_regions=cfg.max_regions,
            tile_scales=cfg.tile_scales,
            min_box=cfg.min_box,
            working_width=cfg.working_width,
        )
    except ValueError as e:
        raise UsageError(f"regions: {e}") from None


def resolve_rule(base: Rule, cfg: VerdictConfig) -> Rule:
    """The card's rule with every value the config sets laid over it."""
    try:
        return Rule(
            name=cfg.rule or base.name,
            k=cfg.k if cfg.k is not None else base.k,
            threshold=cfg.threshold if cfg.threshold is not None else base.threshold,
            early_exit=cfg.early_exit if cfg.early_exit is not None else base.early_exit,
        )
    except ValueError as e:
        raise UsageError(f"verdict: {e}") from None


def override(cfg: Section, source: str, **changes: Any) -> Section:
    """``dataclasses.replace`` for config sections, ignoring changes that are None."""
    try:
        return replace(cfg, **{k: v for k, v in changes.items() if v is not None})
    except (TypeError, ValueError) as e:
        raise ConfigError(source, type(cfg).__name__, str(e)) from None


def detector_from_args(args: argparse.Namespace, cfg: Config, source: str) -> Detector:
    """`build_detector` with the command line's --model/--labels/--target/... over the config.

    A command that does not register a flag simply lacks the attribute: it overrides nothing.
    """
    model_cfg = override(
        cfg.model, source, path=getattr(args, "model", None), labels=getattr(args, "labels", None)
    )
    targets = tuple(getattr(args, "target", None) or ()) or None
    groups = cli_groups(getattr(args, "target_group", None) or ())
    merged = {**cfg.verdict.target_groups, **{g.name: g.members for g in groups}}
    early = False if getattr(args, "no_early_exit", False) else None
    verdict_cfg = override(
        cfg.verdict,
        source,
        targets=targets,
        threshold=getattr(args, "threshold", None),
        rule=getattr(args, "rule", None),
        k=getattr(args, "k", None),
        early_exit=early,
        target_groups=merged if groups else None,
    )
    regions_cfg = override(cfg.regions, source, mode=getattr(args, "regions", None))
    return build_detector(model_cfg, verdict_cfg, regions_cfg)


def cli_groups(specs: tuple[str, ...] | list[str]) -> tuple[TargetGroup, ...]:
    """``--target-group NAME=LABEL;...`` values; a bad one is a `UsageError` quoting it."""
    return tuple(parse_group(spec) for spec in specs)
