"""The ``custseg`` command line: the whole job on a CSV/Parquet transaction log.

Commands
--------
``custseg segment INPUT --out OUT [--report REPORT.html] ...``
    clean, build RFM features, fit the value models, score, tier and segment; write one
    row per customer.
``custseg demo [--out-dir DIR]``
    the same on the bundled CDNOW sample.
``custseg migrate BEFORE AFTER``
    migration matrix between two segmented outputs.

User errors (a bad column, file or date) print one line and exit with code 2. A run that
succeeds prints, on stderr, one note per thing the user should know: the rows the cleaning
dropped (count per problem), columns left out, checks skipped.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ._version import __version__
from .exceptions import CustsegError

__all__ = ["main", "build_parser"]

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own usage errors: one line, exit 2
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value}")
    return value


def _add_job_options(p):
    p.add_argument("--customer-id", metavar="COL",
                   help="customer id column (default: guessed from common names)")
    p.add_argument("--date", metavar="COL", help="purchase date column (default: guessed)")
    p.add_argument("--amount", metavar="COL",
                   help="purchase amount column (default: guessed; optional: without one "
                        "the job leaves out spend and CLV and ranks value by expected "
                        "purchases)")
    p.add_argument("--date-format", metavar="FMT",
                   help="strftime format of the dates, e.g. '%%d/%%m/%%Y' (default: "
                        "inferred; dates written day and month first are read in the "
                        "order their values show, a field above 12)")
    p.add_argument("--freq", choices=["D", "W", "M"], default=None,
                   help="period of the customer table: days, weeks or months (default: W)")
    p.add_argument("--observation-end", metavar="DATE",
                   help="end of the observation period (default: the last purchase)")
    p.add_argument("--horizon", type=_positive_int, default=None, metavar="N",
                   help="prediction horizon in periods of --freq (default: one year)")
    p.add_argument("--model", choices=["bgnbd", "mbgnbd", "paretonbd"], default=None,
                   help="transaction model (default: bgnbd)")
    p.add_argument("--returns", choices=["drop", "net", "keep"], default=None,
                   help="what to do with non-positive amounts (default: drop)")
    p.add_argument("--config", metavar="FILE", type=Path,
                   help="TOML file setting any option, tier threshold and name")
    p.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    p.add_argument("--random-state", type=int, default=0, metavar="SEED",
                   help="seed of the clustering (default: 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="custseg", description=(
        "Customer segments and tiers from a transaction log: RFM features, value models "
        "(BG/NBD, Pareto/NBD, Gamma-Gamma), CLV, tiers, segments and an HTML report."))
    parser.add_argument("--version", action="version", version=f"custseg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    seg = sub.add_parser("segment", help="segment the customers of a transaction log",
                         description="Clean a CSV/Parquet transaction log, build the RFM "
                                     "customer table, fit the value models, score, tier and "
                                     "segment the customers; write one row per customer.")
    seg.add_argument("input", type=Path, help="transaction log (.csv, .tsv or .parquet)")
    seg.add_argument("--out", required=True, type=Path,
                     help="output customer table (.csv or .parquet)")
    seg.add_argument("--report", type=Path, metavar="REPORT.html",
                     help="also write a self-contained HTML report")
    _add_job_options(seg)

    demo = sub.add_parser("demo", help="run the whole job on the bundled CDNOW sample",
                          description="Segment the bundled CDNOW sample (2,357 customers) and "
                                      "write the customer table and the HTML report.")
    demo.add_argument("--out-dir", type=Path, default=Path("custseg-demo"),
                      help="folder for the outputs (default: ./custseg-demo)")
    demo.add_argument("--no-progress", action="store_true", help="never show the progress bar")

    mig = sub.add_parser("migrate", help="migration matrix between two segmented outputs",
                         description="Count the customers moving between the labels of two "
                                     "snapshots written by 'custseg segment'.")
    mig.add_argument("before", type=Path, help="earlier segmented table (.csv or .parquet)")
    mig.add_argument("after", type=Path, help="later segmented table (.csv or .parquet)")
    mig.add_argument("--column", default="segment",
                     help="label column to compare (default: segment)")
    mig.add_argument("--id-column", default="customer_id",
                     help="customer id column (default: customer_id)")
    mig.add_argument("--shares", action="store_true", help="print row shares, not counts")
    mig.add_argument("--out", type=Path, help="write the matrix (.csv or .parquet)")
    return parser


def _one_line(message: str) -> str:
    return re.sub(r"\s*\n\s*", " | ", str(message).strip())


def _cmd_segment(args) -> int:
    from ._job import JobConfig, run_job

    config = JobConfig.from_sources(args.config, args)
    result = run_job(args.input, out=args.out, report=args.report, config=config,
                     progress=None if not args.no_progress else False)
    print(f"wrote {result.out} ({len(result.table)} customers)")
    if args.report:
        print(f"wrote {args.report}")
    _print_notes("segment", result.notes)
    return 0


def _print_notes(command: str, notes) -> None:
    """What the user should know about a run that succeeded, one line each on stderr."""
    for note in notes:
        sys.stderr.write(f"custseg {command}: note: {_one_line(note)}\n")


def _cmd_demo(args) -> int:
    from ._job import run_demo

    result = run_demo(args.out_dir, progress=None if not args.no_progress else False)
    print(f"wrote {result.out} ({len(result.table)} customers)")
    print(f"wrote {result.report}")
    _print_notes("demo", result.notes)
    return 0


def _cmd_migrate(args) -> int:
    from ._io import read_table, write_table
    from ._validation import check_columns
    from .report import migration_matrix

    tables = []
    for path in (args.before, args.after):
        table = read_table(path)
        check_columns(table, [args.id_column, args.column], what=f"table '{path}'")
        tables.append(table.set_index(args.id_column)[args.column])
    matrix = migration_matrix(*tables, normalize="index" if args.shares else False)
    if args.out:
        from ._io import check_output_path

        check_output_path(args.out, [args.before, args.after])
        write_table(matrix, args.out)
        print(f"wrote {args.out}")
    else:
        print(matrix.to_string())
    return 0


def main(argv=None) -> int:
    """Entry point of the ``custseg`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    handler = {"segment": _cmd_segment, "demo": _cmd_demo, "migrate": _cmd_migrate}
    try:
        return handler[args.command](args)
    except CustsegError as exc:
        sys.stderr.write(f"custseg {args.command}: error: {_one_line(exc)}\n")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("custseg: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
