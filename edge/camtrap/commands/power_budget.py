"""`camtrap power-budget`: energy per event and battery life, and leopards caught, per design.

    camtrap power-budget                                  # hardware/power.toml, 20 triggers/day
    camtrap power-budget --triggers-per-day 50 --hit-fraction 0.1 --plot out/power.png
    camtrap power-budget --battery-mah 20000 --battery-v 3.7
    camtrap power-budget --capture hardware/capture.toml --k 2 --plot-capture out/capture.png

Prints a table (joules per event by phase, joules per day, battery life) and the assumptions,
then the four designs side by side (power-gated stock boot, power-gated fast boot, always-on,
activity schedule): trigger-to-frame latency, days on the battery, the probability that a
walking (and a trotting) leopard is in at least ``--k`` frames of the burst, and walking
leopards caught per battery pack. ``--plot`` draws battery life against the trigger rate,
``--plot-capture`` the capture probability against latency with each design marked (PNG).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from camtrap.core import capture, designs, power
from camtrap.errors import UsageError

DEFAULT_PARAMS = "hardware/power.toml"
DEFAULT_CAPTURE = "hardware/capture.toml"
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
    p.add_argument("--capture", default=DEFAULT_CAPTURE, help=f"default {DEFAULT_CAPTURE}")
    p.add_argument("--k", type=int, default=2, help="frames that must hold the leopard (2)")
    p.add_argument(
        "--plot-capture", metavar="PNG", default=None, help="write capture probability vs latency"
    )
    p.set_defaults(func=run)


def _read_toml(path: str, default: str, flag: str) -> dict:
    from camtrap.tomlfile import read_toml

    hint = f" (run from the repository root, or pass {flag})" if path == default else ""
    return read_toml(path, missing_hint=hint)


def load_params(path: str) -> tuple[power.PowerParams, dict[str, str]]:
    return power.parse_power_params(_read_toml(path, DEFAULT_PARAMS, "--params"), path)


def load_capture(path: str) -> tuple[designs.CaptureParams, dict[str, str]]:
    return designs.parse_capture_params(_read_toml(path, DEFAULT_CAPTURE, "--capture"), path)


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
    if not 1 <= args.k <= round(params.frames):
        raise UsageError(f"--k must be in 1..{round(params.frames)} (burst.frames), got {args.k}")
    cparams, _ = load_capture(args.capture)
    budget = power.compute_budget(params, args.triggers_per_day, args.hit_fraction)
    table = designs.compare(params, cparams, args.triggers_per_day, args.hit_fraction, args.k)
    print(format_table(budget, args.params))
    print()
    print(format_designs(table, params, cparams, args))
    if args.plot:
        write_plot(budget, Path(args.plot))
        print(f"\nplot: {args.plot}")
    if args.plot_capture:
        write_capture_plot(table, params, cparams, args.k, Path(args.plot_capture))
        print(f"\ncapture plot: {args.plot_capture}")
    return 0


def format_designs(
    table: dict[str, designs.DesignResult],
    pw: power.PowerParams,
    cp: designs.CaptureParams,
    args: argparse.Namespace,
) -> str:
    """The four designs side by side: what a survey team chooses between."""
    lines = [
        f"designs: a leopard passing {cp.path_min_m:g}-{cp.path_max_m:g} m out, in >= {args.k} "
        f"of {round(pw.frames)} frames {pw.frame_interval_s:g} s apart; "
        f"{cp.leopard_passes_per_day:g} leopard passes/day; figures from {args.capture}",
        "",
        f"{'design':<32}{'trigger->frame':>16}{'days on pack':>14}{'P(walk)':>9}"
        f"{'P(trot)':>9}{'leopards/pack':>15}",
    ]
    for d, r in table.items():
        lat = f"{r.latency_s:.2f} s"
        if r.latency_in_window_s is not None:
            lat = f"{r.latency_in_window_s:.2f}/{r.latency_s:.1f} s"
        lines.append(
            f"{designs.LABELS[d]:<32}{lat:>16}{r.life_days:>14.1f}{r.p_capture:>9.3f}"
            f"{r.p_capture_trot:>9.3f}{r.leopards_per_pack:>15.1f}"
        )
    best = max(table.values(), key=lambda r: r.leopards_per_pack)
    lines += [
        "",
        f"most walking leopards per pack: {designs.LABELS[best.design]}",
        f"  schedule: windows {cp.windows} local solar time (inside them / outside the latency "
        f"is {table['scheduled'].latency_in_window_s:.2f} s / {table['scheduled'].latency_s:g} "
        f"s), {cp.activity_in_windows:.0%} of leopard passes inside them",
        f"  PIR {cp.pir_range_m:g} m / {cp.pir_fov_deg:g} deg, camera {cp.camera_hfov_deg:g} x "
        f"{cp.camera_vfov_deg:g} deg at {cp.camera_height_m:g} m; walking "
        f"{cp.walk_min_mps:g}-{cp.walk_max_mps:g} m/s, trotting "
        f"{cp.trot_min_mps:g}-{cp.trot_max_mps:g} m/s; P over passes that trigger the PIR",
    ]
    return "\n".join(lines)


def write_capture_plot(
    table: dict[str, designs.DesignResult],
    pw: power.PowerParams,
    cp: designs.CaptureParams,
    k: int,
    out: Path,
) -> None:
    """P(>= k frames) against trigger-to-frame latency, walking and trotting, designs marked."""
    from camtrap.adapters.plots import pyplot

    plt = pyplot()
    cr = designs.crossings(cp, grid=12)  # a curve needs less resolution than the table
    frames = round(pw.frames)
    latencies = [i / 5 for i in range(0, 81)]
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    for gait, crossings, style in (("walking", cr.walk, "-"), ("trotting", cr.trot, "--")):
        ps = capture.curve(crossings, latencies, pw.frame_interval_s, frames, k)
        ax.plot(latencies, ps, style, label=f"{gait} leopard")
    for d, r in table.items():
        ax.plot([r.latency_s], [r.p_capture], "o")
        label = f"{designs.LABELS[d]}: {r.p_capture:.2f}, {r.life_days:.0f} d"
        left = r.latency_s > latencies[-1] / 2  # label to the left in the right half
        ax.annotate(
            label,
            (r.latency_s, r.p_capture),
            xytext=(-6 if left else 6, 6),
            textcoords="offset points",
            ha="right" if left else "left",
        )
    ax.set_xlabel("trigger to first frame, s")
    ax.set_ylabel(f"P(leopard in >= {k} of {frames} frames)")
    ax.set_title(
        f"PIR {cp.pir_range_m:g} m / {cp.pir_fov_deg:g} deg, camera {cp.camera_hfov_deg:g} deg, "
        f"frames {pw.frame_interval_s:g} s apart"
    )
    ax.set_ylim(-0.02, 1.05)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    fig.tight_layout()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out)
    except OSError as e:
        raise UsageError(f"{out}: cannot write the plot: {e}") from None
    finally:
        plt.close(fig)


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
