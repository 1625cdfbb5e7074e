"""``crmkit --help`` start-up time against ``python -c "import click"``, and
the modules the command imports (``python -X importtime``): the CLI must
start without pandas, with every installed plugin's commands registered.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import Figure

TITLE = "CLI start-up"
REQUIRES = ()
HEAVY = ("pandas", "numpy", "openpyxl", "jinja2", "sklearn", "scipy")


def _bin(name):
    return str(Path(sys.executable).parent / name)


def _median_wall(cmd, runs):
    times = []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(cmd, capture_output=True, check=True, env=env)   # warm the file cache
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def setup(ctx):
    return {"runs": ctx.n(21, 7)}


def help_times(ctx):
    """Both commands run alternately, so a busy moment hits both alike."""
    runs = ctx.extra["runs"]
    crm_all, click_all = [], []
    for _ in range(runs):
        crm_all += _median_wall([_bin("crmkit"), "--help"], 1)[1]
        click_all += _median_wall([sys.executable, "-c", "import click"], 1)[1]
    crm_median, click_median = statistics.median(crm_all), statistics.median(click_all)
    return {"crmkit": crm_median, "floor": click_median, "crmkit_peak_mb": help_peak_mb(),
            "info": {"runs": runs, "crmkit_min_s": min(crm_all), "floor_min_s": min(click_all)}}


PEAK = """
import atexit, sys
def _peak():
    with open("/proc/self/status") as fh:
        sys.stderr.write(next(l for l in fh if l.startswith("VmHWM:")))
atexit.register(_peak)
sys.argv = ["crmkit", "--help"]
from crmkit.cli import main
main()
"""


def help_peak_mb():
    """Peak memory of ``crmkit --help`` itself, read in that process at exit."""
    proc = subprocess.run([sys.executable, "-c", PEAK], capture_output=True, text=True)
    line = next((ln for ln in proc.stderr.splitlines() if ln.startswith("VmHWM:")), None)
    return int(line.split()[1]) / 1024 if line else None


def imported_modules(cmd) -> dict[str, int]:
    """Top-level package -> cumulative import time (µs) from -X importtime."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    out: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if not cumulative.isdigit():
            continue
        top = name.strip().split(".")[0]
        out[top] = max(out.get(top, 0), int(cumulative))
    return out


def help_imports(ctx):
    mods = imported_modules([_bin("crmkit"), "--help"])
    heavy = [m for m in HEAVY if m in mods]
    slowest = sorted(((us, m) for m, us in mods.items()), reverse=True)[:6]
    detail = "no pandas" if "pandas" not in mods else "PANDAS IMPORTED"
    if heavy and "pandas" not in heavy:
        detail += f" (but {', '.join(heavy)})"
    return {"ok": "pandas" not in mods,
            "info": {"detail": detail, "modules": len(mods), "heavy_imported": heavy,
                     "slowest_ms": {m: round(us / 1000, 1) for us, m in slowest}}}


FIGURES = [
    Figure("cli_help", "crmkit --help wall time (median of {runs})", "time", 3,
           "python -c 'import click'", ("help_times",)),
    Figure("cli_no_pandas", "crmkit --help imports no pandas", "check", None, "-", ("help_imports",)),
]
