"""`camtrap power-budget`: energy per event and battery life, always-on vs power-gated.

    camtrap power-budget                                  # hardware/power.toml, 20 triggers/day
    camtrap power-budget --triggers-per-day 50 --hit-fraction 0.1 --plot out/power.png
    camtrap power-budget --battery-mah 20000 --battery-v 3.7

Prints a table (joules per event by phase, joules per day, battery life) and the assumptions;
``--plot`` also draws battery life against the trigger rate for both designs (PNG).
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from camtrap.core import power
from camtrap.errors import ConfigError, UsageError

DEFAULT_PARAMS = "hardware/power.toml"
PART_LABELS = {
    "boot": "boot",
    "capture": "camera start + burst",
    "inference": "inference",
    "storage": "storage",
    "shutdown": "shutdown",
    "mcu": "MCU awake",
    "radio": "radio (hits, averaged)",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "power-budget",
        help="energy per event and battery life for both power designs",
        description="Energy per event and battery life, from a parameter file with sources.",
    )
    p.add_argument("--params", default=DEFAULT_PARAMS, help=f"default {DEFAULT_PARAMS}")
    p.add_argument("--triggers-per-day", type=float, default=20.0)
    p.add_argument("--hit-fraction", type=float, default=0.05, help="share of triggers that hit")
    p.add_argument("--battery-mah", type=float, default=None, help="override the file's")
    p.add_argument("--battery-v", type=float, default=None, help="override the file's")
    p.add_argument("--plot", metavar="PNG", default=None, help="write a battery-life plot")
    p.set_defaults(func=run)


def load_params(path: str) -> tuple[power.PowerParams, dict[str, str]]:
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        hint = " (run from the repository root, or pass --params)" if path == DEFAULT_PARAMS else ""
        raise ConfigError(path, "(file)", f"not found{hint}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(path, "(file)", f"cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, "(syntax)", str(e)) from None
    return power.parse_power_params(raw, path)


def run(args: argparse.Namespace) -> int:
    if args.triggers_per_day < 0:
        raise UsageError(f"--triggers-per-day must be >= 0, got {args.triggers_per_day:g}")
    if not 0 <= args.hit_fraction <= 1:
        raise UsageError(f"--hit-fraction must be in 0..1, got {args.hit_fraction:g}")
    for flag, value in (("--battery-mah", args.battery_mah), ("--battery-v", args.battery_v)):
        if value is not None and value <= 0:
            raise UsageError(f"{flag} must be > 0, got {value:g}")
    params, _ = load_params(args.params)
    params = power.with_overrides(params, battery_mah=args.battery_mah, battery_v=args.battery_v)
    budget = power.compute_budget(params, args.triggers_per_day, args.hit_fraction)
    print(format_table(budget, args.params))
    if args.plot:
        write_plot(budget, Path(args.plot))
        print(f"\nplot: {args.plot}")
    return 0


def format_table(budget: power.Budget, source: str) -> str:
    p = budget.params
    ao, pg = budget.designs["always-on"], budget.designs["power-gated"]
    lines = [
        f"camtrap power budget: {budget.triggers_per_day:g} triggers/day, hit fraction "
        f"{budget.hit_fraction:g}, {p.battery_mah:g} mAh at {p.battery_v:g} V "
        f"({p.battery_j / 1000:.1f} kJ usable); figures from {source}",
        "",
        f"{'energy per event, J from the battery':<40}{'always-on':>12}{'power-gated':>14}",
    ]
    for part in power.EVENT_PARTS:
        label = "  " + PART_LABELS[part]
        lines.append(f"{label:<40}{ao.per_event_j[part]:>12.3f}{pg.per_event_j[part]:>14.3f}")
    lines += [
        f"{'  total per event':<40}{ao.event_j:>12.3f}{pg.event_j:>14.3f}",
        "energy per day, J",
        f"{'  standby':<40}{ao.standby_j_per_day:>12.1f}{pg.standby_j_per_day:>14.1f}",
        f"{'  events':<40}{ao.events_j_per_day:>12.1f}{pg.events_j_per_day:>14.1f}",
        f"{'  heartbeat uplinks':<40}{ao.heartbeats_j_per_day:>12.1f}"
        f"{pg.heartbeats_j_per_day:>14.1f}",
        f"{'  total per day':<40}{ao.day_j:>12.1f}{pg.day_j:>14.1f}",
        f"{'average draw, mW':<40}{_mw(ao.day_j):>12.2f}{_mw(pg.day_j):>14.2f}",
        f"{'battery life, days':<40}{budget.life_days('always-on'):>12.1f}"
        f"{budget.life_days('power-gated'):>14.1f}",
        f"{'battery life, months':<40}{_months(budget, 'always-on'):>12.2f}"
        f"{_months(budget, 'power-gated'):>14.2f}",
        "",
        "assumptions:",
    ]
    lines += [f"  - {a}" for a in power.assumptions(p)]
    return "\n".join(lines)


def _mw(day_j: float) -> float:
    return day_j / power.SECONDS_PER_DAY * 1000


def _months(budget: power.Budget, design: str) -> float:
    return budget.life_days(design) / power.DAYS_PER_MONTH


def write_plot(budget: power.Budget, out: Path) -> None:
    """Battery life (days) against triggers per day, both designs, log-log."""
    from camtrap.adapters.plots import pyplot

    plt = pyplot()
    rates = [round(10 ** (i / 20), 3) for i in range(-20, 61)]  # 0.1 .. 1000 a day
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for design in power.DESIGNS:
        days = power.life_curve(budget.params, design, rates, budget.hit_fraction)
        ax.loglog(rates, days, label=design)
        here = budget.life_days(design)
        ax.plot([budget.triggers_per_day], [here], "o", color="black")
        ax.annotate(
            f"{here:.1f} d",
            (budget.triggers_per_day, here),
            xytext=(6, 6),
            textcoords="offset points",
        )
    ax.axvline(budget.triggers_per_day, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("triggers per day")
    ax.set_ylabel("battery life, days")
    p = budget.params
    ax.set_title(
        f"{p.battery_mah:g} mAh at {p.battery_v:g} V, hit fraction {budget.hit_fraction:g}"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out)
    except OSError as e:
        raise UsageError(f"{out}: cannot write the plot: {e}") from None
    finally:
        plt.close(fig)
