"""Shared helpers of the benchmark scripts: timing, peak memory, machine facts, RESULTS.md.

Every benchmark script writes its own section of ``benchmarks/RESULTS.md`` between
markers, so scripts can be run one at a time without erasing each other's results, and a
JSON file of raw figures beside it for trend tracking.
"""

from __future__ import annotations

import datetime as _dt
import json
import multiprocessing as mp
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
JSON_DIR = HERE / "results"


def machine_info() -> dict:
    """CPU, cores, memory, Python and library versions of this machine."""
    import numpy
    import pandas
    import scipy
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo") as f:
            mem_gib = round(int(f.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    versions = {"python": platform.python_version(), "numpy": numpy.__version__,
                "pandas": pandas.__version__, "scipy": scipy.__version__,
                "scikit-learn": sklearn.__version__}
    try:
        import custseg

        versions["custseg"] = custseg.__version__
    except ImportError:
        pass
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import lifetimes
        versions["lifetimes"] = lifetimes.__version__
    except ImportError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib,
            "os": platform.platform(), "versions": versions,
            "date": _dt.date.today().isoformat()}


def machine_markdown(info: dict | None = None) -> str:
    info = info or machine_info()
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    return (f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; "
            f"{info['os']}. Versions: {versions}. Date: {info['date']}.")


def command_line() -> str:
    """The command that ran this benchmark, relative to the repository root."""
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(HERE.parent)
    except ValueError:
        script = Path(script.name)
    return " ".join(["python", str(script), *sys.argv[1:]])


def timeit_alternating(cases: dict[str, Callable[[], object]], repeats: int = 3,
                       warmup: bool = False) -> dict[str, dict]:
    """Time each case ``repeats`` times, interleaving the cases (A B C A B C ...), so that
    drifts of the machine hit every case alike. Returns median, min, max and all times."""
    times = {name: [] for name in cases}
    if warmup:
        for fn in cases.values():
            fn()
    for _ in range(repeats):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: {"median": statistics.median(ts), "min": min(ts), "max": max(ts),
                   "times": ts} for name, ts in times.items()}


def _read_status(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _child(fn, queue):
    try:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")  # reset the RSS high-water mark of this process
        except OSError:
            pass
        base = _read_status("VmRSS")
        fn()
        queue.put(("ok", _read_status("VmHWM") - base))
    except BaseException as exc:  # report, do not hang the parent
        queue.put(("error", repr(exc)))


def peak_rss_of(fn: Callable[[], object]) -> int:
    """Extra peak resident memory (bytes) of running ``fn`` in a forked child process.

    The child inherits the parent's data (the input frame is already resident), resets
    its high-water mark, runs ``fn`` and reports ``VmHWM - VmRSS(before)``: the memory the
    operation added on top of its input. Linux only.
    """
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, queue))
    proc.start()
    status, value = queue.get()
    proc.join()
    if status != "ok":
        raise RuntimeError(f"benchmark child failed: {value}")
    return int(value)


def fmt_seconds(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def write_section(name: str, markdown: str, raw: dict | None = None) -> None:
    """Replace (or append) the section ``name`` of RESULTS.md, stamped with the command,
    the machine and the date; write ``raw`` figures to ``results/<name>.json``."""
    info = machine_info()
    body = (f"## {name}\n\nCommand: `{command_line()}`\n\n{machine_markdown(info)}\n\n"
            f"{markdown.strip()}\n")
    start, end = f"<!-- section:{name} -->", f"<!-- /section:{name} -->"
    text = RESULTS.read_text() if RESULTS.exists() else (
        "# Benchmark results\n\nEach section is written by the script named in its command "
        "line; rerun that command to refresh it.\n\n")
    block = f"{start}\n{body}{end}\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text + "\n" + block
    RESULTS.write_text(text)
    if raw is not None:
        JSON_DIR.mkdir(exist_ok=True)
        payload = {"name": name, "command": command_line(), "machine": info, "results": raw}
        (JSON_DIR / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))
