"""`camtrap models list|fetch NAME [--dir models/]`: public quantized classifiers, checked.

``list`` prints the catalogue (`camtrap.core.catalogue`): name, kind, input size, size,
licence. ``fetch`` downloads a model and its labels with a progress bar on stderr, refuses a
file whose sha256 is not the catalogue's, and writes the card into ``DIR/NAME/``. A download
the user asks for: nothing else in camtrap fetches from the internet.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list or fetch public int8/uint8 classifiers")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="the catalogue")
    ls.set_defaults(func=run_list)
    fetch = actions.add_parser("fetch", help="download a catalogued model and write its card")
    fetch.add_argument("name", metavar="NAME")
    fetch.add_argument("--dir", default="models", help="where to put NAME/ (default models/)")
    fetch.add_argument("--mirror", default="", metavar="URL", help="fetch the files from here")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    fetch.set_defaults(func=run_fetch)


def run_list(args: argparse.Namespace) -> int:
    from camtrap.core.catalogue import CATALOGUE

    print(f"{'name':34} {'kind':10} {'input':9} {'size':>8}  licence     verified")
    for e in CATALOGUE:
        size = f"{e.model.size / 2**20:.1f} MiB"
        w, h = e.input_size
        print(f"{e.name:34} {e.kind:10} {w}x{h:<5} {size:>8}  {e.licence:11} {e.verified}")
        print(f"  {e.description}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from camtrap.cards import install
    from camtrap.core.catalogue import CATALOGUE, find_entry
    from camtrap.errors import UsageError

    entry = find_entry(args.name)
    if entry is None:
        names = ", ".join(e.name for e in CATALOGUE)
        raise UsageError(f"{args.name!r} is not in the catalogue ({names})")
    out = install(entry, Path(args.dir), args.mirror, progress=not args.no_progress)
    use = f"--base {out / entry.model.name}" if entry.kind == "extractor" else f"--model {out}"
    print(f"installed {entry.name} in {out}; use it with {use}")
    return 0
