"""Run the hypothesis fuzz targets of ``tests/fuzz_targets.py`` for a fixed wall-clock time.

The targets run under the ``fuzz`` profile of ``tests/conftest.py`` (many examples, random
seeds). Rounds of ``pytest tests/fuzz_targets.py`` with a fresh seed each are run until the
time budget is spent; a round that fails stops the campaign and its output is printed. The
summary gives the number of rounds, the examples run per target and the outcome::

    .venv/bin/python tests/run_fuzz.py --minutes 10

Exit status 0 when no round failed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_EXAMPLES = re.compile(
    r"tests/fuzz_targets\.py::(\w+):(?:(?!tests/fuzz_targets).)*?"
    r"(\d+) passing, (\d+) failing, and (\d+) invalid", re.S)


def run_round(seed: int, max_examples: int) -> tuple[int, str]:
    env = dict(os.environ, HYPOTHESIS_PROFILE="fuzz",
               CUSTSEG_FUZZ_MAX_EXAMPLES=str(max_examples))
    cmd = [sys.executable, "-m", "pytest", "tests/fuzz_targets.py", "-q",
           "-p", "no:cacheprovider", f"--hypothesis-seed={seed}",
           "--hypothesis-show-statistics"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="wall-clock budget; the round running at the end completes")
    parser.add_argument("--examples", type=int, default=300,
                        help="examples per target and round")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first round")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    examples: Counter[str] = Counter()
    rounds = 0
    seed = args.seed
    while time.perf_counter() - start < args.minutes * 60:
        code, output = run_round(seed, args.examples)
        rounds += 1
        for name, passing, failing, _invalid in _EXAMPLES.findall(output):
            examples[name] += int(passing) + int(failing)
        if code != 0:
            print(output)
            print(f"round {rounds} (seed {seed}) failed after "
                  f"{time.perf_counter() - start:.0f} s")
            return 1
        print(f"round {rounds} (seed {seed}) passed, "
              f"{time.perf_counter() - start:.0f} s elapsed", flush=True)
        seed += 1
    print(f"\n{rounds} rounds in {time.perf_counter() - start:.0f} s, no failure; "
          "examples per target:")
    for name, n in sorted(examples.items()):
        print(f"  {name}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
