"""``python -m mke run [chapter ...] [-p NAME VALUE ...] [--no-book]``, ``python -m mke build``, ``python -m mke readme``."""
from __future__ import annotations

import argparse

from mke.book import build_book, parse_value, project_root, run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="mke", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute chapters with papermill into executed/, then build the book")
    p_run.add_argument("chapters", nargs="*", help="chapter names (default: all, the intro last)")
    p_run.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                       help="a papermill parameter for the chapters that have it, e.g. -p n_seeds 20")
    p_run.add_argument("--no-book", action="store_true", help="do not build the book afterwards")
    sub.add_parser("build", help="build the book from executed/ (Jupyter Book 1.x, warnings are errors)")
    sub.add_parser("readme", help="rewrite README's results section from executed/results/")
    p_params = sub.add_parser("params", help="check (or --write) each chapter's parameters cell against its declaration")
    p_params.add_argument("--write", action="store_true", help="regenerate the cells from mke.experiments.*.PARAMETERS")
    args = parser.parse_args(argv)
    if args.command == "run":
        overrides = {name: parse_value(value) for name, value in args.parameter}
        run(args.chapters, overrides, book=not args.no_book)
    elif args.command == "readme":
        root = project_root()
        from mke.summary import update_readme

        changed = update_readme(root / "README.md", root / "executed" / "results")
        print("README.md updated" if changed else "README.md already up to date")
    elif args.command == "params":
        from mke.book import chapters, sync_parameters

        root = project_root()
        stale = [n for n in chapters(root) if not sync_parameters(root / "book" / f"{n}.py", write=args.write)]
        if stale:
            raise SystemExit(f"parameters cells out of sync with their declarations: {stale} "
                             "(python -m mke params --write)")
        print("every chapter's parameters cell matches its declaration")
    else:
        print(build_book(project_root()))


if __name__ == "__main__":
    main()
