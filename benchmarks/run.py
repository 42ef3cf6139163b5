"""`make bench`: run every benchmarks/bench_*.py module and write its results as JSON.

Each module defines `main() -> dict` returning its measurements (JSON-serialisable). Results go to
benchmarks/results/<name>.json and a summary is printed. `python -m benchmarks.run NAME...` runs some.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    failed = 0
    for name in names:
        mod = importlib.import_module(f"benchmarks.{name}")
        started = time.perf_counter()
        try:
            result = mod.main()
        except Exception as exc:  # a broken benchmark is reported, the others still run
            failed += 1
            result = {"error": f"{type(exc).__name__}: {exc}"}
        result.setdefault("benchmark", name)
        result["wall_seconds"] = round(time.perf_counter() - started, 3)
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
