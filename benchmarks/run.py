"""Run every benchmark and print its figures (`make bench`)."""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

for module in ("benchmarks.upload_memory", "benchmarks.submit_rate"):
    print(f"\n== {module} ==", flush=True)
    sys.argv = [module]
    runpy.run_module(module, run_name="__main__")
