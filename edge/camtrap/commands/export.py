"""`camtrap export camtrap-dp|megadetector`: a trap's stored bursts as survey data.

    camtrap export camtrap-dp /var/lib/camtrap --out survey-dp --config trap.toml
    camtrap export megadetector /var/lib/camtrap --out results.json --config trap.toml
    camtrap export megadetector --from-records out/replay.jsonl --out results.json

``camtrap-dp`` writes a Camtrap DP 1.0 package (GBIF, camtraptor, Agouti);
``megadetector`` a MegaDetector batch-output file (Timelapse, AddaxAI). The label -> taxon
table comes from the model card's ``taxa`` (``--card``, else the card beside the config's
model); bursts stored without a deployment take the config's ``[deployment]``. Bursts that
cannot be exported (corrupt ``burst.json``, no frames, an unknown clock never synced) are
skipped and counted on the terminal; nothing exportable, or no deployment at all, exits 2
naming what is missing. Output appears whole or not at all.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from camtrap.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="stored bursts as Camtrap DP or MegaDetector JSON")
    kinds = p.add_subparsers(dest="format", metavar="FORMAT", required=True)
    dp = kinds.add_parser("camtrap-dp", help="a Camtrap DP 1.0 data package (directory)")
    dp.add_argument("data_dir", help="the trap's data directory (holds bursts/)")
    dp.add_argument("--out", required=True, help="package directory to create")
    dp.add_argument("--copy-media", action="store_true", help="copy the frames into it too")
    dp.add_argument("--title", default="", help="package and project title")
    _common(dp)
    md = kinds.add_parser("megadetector", help="MegaDetector batch output (format 1.4)")
    md.add_argument("data_dir", nargs="?", help="the trap's data directory (holds bursts/)")
    md.add_argument("--from-records", help="`camtrap replay --json-out` records instead")
    md.add_argument("--out", required=True, help="results file (.json) to write")
    _common(md)
    p.set_defaults(func=run)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML config: [deployment], and the model's card")
    p.add_argument("--card", help="model card (model.json) whose taxa table names labels")


def run(args: argparse.Namespace) -> int:
    if args.format == "camtrap-dp":
        return _camtrap_dp(args)
    return _megadetector(args)


def _camtrap_dp(args: argparse.Namespace) -> int:
    from camtrap.adapters import export
    from camtrap.core.camtrap_dp_package import PackageInfo

    config = _config(args)
    collected = export.read_data_dir(Path(args.data_dir))
    title = args.title or "camtrap survey export"
    info = PackageInfo(title=title, project_title=title, created=time.time())
    package = export.build_package(collected, _taxa(args, config), _deployment(config), info)
    export.write_camtrap_dp(Path(args.out), package, copy_media=args.copy_media)
    t = package.tables
    print(
        f"{args.out}: {len(t.deployments)} deployment(s), {len(t.media)} media, "
        f"{len(t.observations)} observation(s)"
    )
    _print_skipped(package.collected)
    return 0


def _megadetector(args: argparse.Namespace) -> int:
    from camtrap.adapters import export

    if bool(args.data_dir) == bool(args.from_records):
        raise UsageError("give DATA_DIR or --from-records FILE (one of them)")
    config = _config(args)
    if args.from_records:
        collected = export.read_records(Path(args.from_records))
    else:
        collected = export.read_data_dir(Path(args.data_dir))
    result = export.write_megadetector(Path(args.out), collected, _taxa(args, config), time.time())
    boxes = sum(len(i.get("detections") or []) for i in result["images"])
    print(f"{args.out}: {len(result['images'])} image(s), {boxes} detection(s)")
    _print_skipped(collected)
    return 0


def _config(args: argparse.Namespace) -> Any:
    if not args.config:
        return None
    from camtrap.config import load_config

    return load_config(args.config)


def _deployment(config: Any) -> Any:
    dep = getattr(config, "deployment", None)
    return dep if dep is not None and dep.configured else None


def _taxa(args: argparse.Namespace, config: Any) -> dict[str, str]:
    from camtrap.adapters import export

    if args.card:
        return export.read_taxa(Path(args.card))
    if config is not None:
        card = Path(config.model.path).with_name("model.json")
        if card.is_file():
            return export.read_taxa(card)
    return {}


def _print_skipped(collected: Any) -> None:
    reasons = collected.reasons()
    if not reasons:
        return
    shown = ", ".join(f"{n} {why}" for why, n in reasons.most_common())
    print(f"skipped {sum(reasons.values())} burst(s): {shown}", file=sys.stderr)
    for s in collected.skipped[:10]:
        print(f"  {s.where}: {s.reason}", file=sys.stderr)
