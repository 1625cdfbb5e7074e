"""Run every benchmark under benchmarks/ and print one table of ratios.

    .venv/bin/python benchmarks/run.py [--scale small] [--db postgresql://...]
                                       [--only NAME] [--keep]

Each benchmark module ``bench_*.py`` generates its data (untimed), then times
crmkit and its floor or peer in the same run; every phase runs in a fresh
subprocess so its peak memory (ru_maxrss) is its own. The table goes to the
terminal and, as JSON, to ``benchmarks/results/``. With ``--db`` the run
creates scratch databases named ``crmkit_bench_<pid>_<random>_*`` on that
server and drops them at the end; it touches no other database.

Ratios are printed, never asserted: timings do not belong in tests.
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import Ctx, Figure, drop_pg_databases, peak_mb  # noqa: E402

PHASE_TIMEOUT_S = 3600


# -- child side ------------------------------------------------------------

def run_phase(module_name: str, func: str, ctx_file: str, out_file: str) -> int:
    ctx = Ctx.from_json(Path(ctx_file).read_text())
    module = importlib.import_module(module_name)
    func, *args = func.split(":")          # "time_report:deals.funnel" -> time_report(ctx, "deals.funnel")
    started = time.perf_counter()
    try:
        result = getattr(module, func)(ctx, *args) or {}
        payload = {"ok": True, "result": result}
    except Exception as exc:  # reported in the table, not swallowed
        payload = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                   "traceback": traceback.format_exc()}
    payload["wall"] = time.perf_counter() - started
    payload["peak_mb"] = peak_mb()
    Path(out_file).write_text(json.dumps(payload, default=str))
    return 0


# -- parent side -----------------------------------------------------------

def installed_plugins() -> set[str]:
    from importlib.metadata import entry_points
    return {ep.name for ep in entry_points(group="crmkit")}


def spawn(module_name: str, func: str, ctx: Ctx, log, timeout: float | None = None) -> dict:
    with tempfile.TemporaryDirectory(dir=ctx.work) as tmp:
        ctx_file, out_file = Path(tmp) / "ctx.json", Path(tmp) / "out.json"
        ctx_file.write_text(ctx.to_json())
        cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", module_name, func,
               str(ctx_file), str(out_file)]
        started = time.perf_counter()
        limit = timeout or PHASE_TIMEOUT_S
        try:
            proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True, timeout=limit)
        except subprocess.TimeoutExpired:
            log(f"    {module_name}.{func}: stopped after {limit:.0f} s")
            return {"ok": False, "timeout": limit, "error": f"stopped after {limit:.0f} s"}
        log(f"    {module_name}.{func}: {time.perf_counter() - started:.1f} s")
        if not out_file.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            return {"ok": False, "error": f"phase crashed (exit {proc.returncode}): " + " | ".join(tail)}
        payload = json.loads(out_file.read_text())
        if not payload["ok"]:
            log(payload.get("traceback", ""))
        return payload


def peer_available(module: str) -> bool:
    """Whether a peer package is installed, without importing it here (the
    runner stays small: its children start from its memory)."""
    from importlib.util import find_spec
    return find_spec(module) is not None


def evaluate(fig: Figure, crmkit_s, floor_s, crmkit_mb, check_ok):
    """(ratio, holds) for a figure from its measured parts; a figure with a
    ``limit_s`` holds only when crmkit also answers within it."""
    ratio, holds = _evaluate(fig, crmkit_s, floor_s, crmkit_mb, check_ok)
    if fig.limit_s is not None and crmkit_s is not None:
        holds = crmkit_s < fig.limit_s and holds is not False
    return ratio, holds


def _evaluate(fig: Figure, crmkit_s, floor_s, crmkit_mb, check_ok):
    if fig.kind == "check":
        return None, bool(check_ok)
    if fig.kind == "memory":
        if crmkit_mb is None:
            return None, None
        return None, crmkit_mb <= fig.target
    if crmkit_s is None or floor_s is None or crmkit_s <= 0 or floor_s <= 0:
        return None, None
    if fig.kind == "time":
        ratio = crmkit_s / floor_s
        return ratio, (ratio <= fig.target) if fig.target is not None else None
    ratio = floor_s / crmkit_s
    return ratio, (ratio >= fig.target) if fig.target is not None else None


def target_text(fig: Figure) -> str:
    if fig.kind == "check":
        return "yes"
    if fig.target is None:
        return f"< {fig.limit_s:g} s" if fig.limit_s is not None else "(peer)"
    if fig.kind == "time" and fig.limit_s is not None:
        return f"< {fig.limit_s:g} s, ≤ {fig.target:g}×"
    if fig.kind == "time":
        return f"≤ {fig.target:g}×"
    if fig.kind == "speed":
        return f"≥ {fig.target:g} of speed"
    if fig.kind == "memory":
        return f"≤ {fig.target:g} MB"
    return "yes"


def human(n) -> str:
    if isinstance(n, int) and not isinstance(n, bool):
        for size, suffix in ((1_000_000, "M"), (1_000, "k")):
            if n >= size and n % (size // 10) == 0:
                return f"{n / size:g}{suffix}"
    return str(n)


def title_of(fig: Figure, ctx: Ctx) -> str:
    """Titles name their sizes as ``{rows}``, filled from the setup's result."""
    try:
        return fig.title.format(**{k: human(v) for k, v in ctx.extra.items()})
    except (KeyError, IndexError, ValueError):
        return fig.title


def run_module(module_name: str, ctx: Ctx, plugins: set[str], log) -> list[dict]:
    module = importlib.import_module(module_name)
    ctx.module = module_name.removeprefix("bench_")
    rows = []
    missing = [p for p in getattr(module, "REQUIRES", ()) if p not in plugins]
    figures: list[Figure] = module.FIGURES

    def row(fig, **kw):
        base = {"module": module_name, "figure": fig.id, "title": title_of(fig, ctx), "kind": fig.kind,
                "crmkit_label": fig.crmkit_label, "floor_label": fig.floor_label,
                "target": fig.target, "target_text": target_text(fig), "crmkit_s": None,
                "floor_s": None, "ratio": None, "holds": None, "crmkit_peak_mb": None,
                "floor_peak_mb": None, "info": {}, "note": ""}
        base.update(kw)
        return base

    if missing:
        return [row(f, note=f"skipped: plugin {', '.join(missing)} not installed") for f in figures]
    log(f"[{module_name}] {module.TITLE}")
    if hasattr(module, "setup"):
        setup = spawn(module_name, "setup", ctx, log)
        if not setup["ok"]:
            return [row(f, note=f"setup failed: {setup['error']}") for f in figures]
        ctx.extra = {**ctx.extra, **(setup.get("result") or {})}
    if hasattr(module, "figures"):          # figures known once the base exists (every registered report)
        figures = module.figures(ctx)
    by_id: dict[str, dict] = {}
    for fig in figures:
        if fig.kind == "memory":
            source = by_id.get(fig.memory_of) or {}
            mb = source.get("crmkit_peak_mb")
            _, holds = evaluate(fig, None, None, mb, None)
            r = row(fig, crmkit_peak_mb=mb, holds=holds,
                    note="" if mb is not None else f"no measurement from {fig.memory_of}")
            rows.append(r)
            by_id[fig.id] = r
            continue
        if fig.optional_peer and not peer_available(fig.optional_peer):
            r = row(fig, note=f"skipped: the peer package {fig.optional_peer!r} is not installed")
            rows.append(r)
            by_id[fig.id] = r
            continue
        merged: dict = {"info": {}}
        crmkit_mb = floor_mb = None
        error = ""
        timed_out = None
        for phase in fig.phases:
            out = spawn(module_name, phase, ctx, log, fig.timeout)
            if out.get("timeout"):
                timed_out = out["timeout"]
                continue
            if not out["ok"]:
                error = f"{phase}: {out['error']}"
                break
            res = out["result"]
            if "crmkit" in res:
                merged["crmkit"] = res["crmkit"]
                crmkit_mb = res.get("crmkit_peak_mb", out["peak_mb"])
            if "floor" in res:   # a floor run twice (before and after crmkit) counts at its best
                if merged.get("floor") is None or res["floor"] < merged["floor"]:
                    merged["floor"] = res["floor"]
                    floor_mb = out["peak_mb"]
                merged["info"].setdefault("floor_runs_s", []).append(round(res["floor"], 4))
            if "ok" in res:
                merged["ok"] = res["ok"]
            merged["info"].update(res.get("info", {}))
        if fig.crmkit_from and fig.crmkit_from in by_id:
            merged["crmkit"] = by_id[fig.crmkit_from]["crmkit_s"]
            crmkit_mb = by_id[fig.crmkit_from]["crmkit_peak_mb"]
        ratio, holds = evaluate(fig, merged.get("crmkit"), merged.get("floor"), crmkit_mb, merged.get("ok"))
        if timed_out and not error:
            floor = merged.get("floor")
            bound = f" (ratio > {timed_out / floor:.0f}×)" if floor and fig.kind == "time" else ""
            error = f"crmkit stopped after {timed_out:.0f} s{bound}: a known slow path, see docs/performance.md"
            holds = False
        r = row(fig, crmkit_s=merged.get("crmkit"), floor_s=merged.get("floor"), ratio=ratio,
                holds=None if error and not timed_out else holds, crmkit_peak_mb=crmkit_mb, floor_peak_mb=floor_mb,
                info=merged["info"], note=error)
        rows.append(r)
        by_id[fig.id] = r
    return rows


def fmt_s(seconds) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.01:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def table(rows: list[dict]) -> str:
    head = ["figure", "crmkit", "floor / peer", "ratio", "target", "holds", "peak MB"]
    lines = []
    for r in rows:
        if r["kind"] == "check":
            crm, floor = r["info"].get("detail", ""), "-"
        elif r["kind"] == "memory":
            crm, floor = "-", "-"
        else:
            crm = fmt_s(r["crmkit_s"])
            floor = f"{fmt_s(r['floor_s'])} ({r['floor_label']})"
        ratio = "-" if r["ratio"] is None else (
            f"{r['ratio']:.2f}×" if r["kind"] == "time" else f"{r['ratio']:.2f}")
        holds = {True: "yes", False: "NO", None: "-"}[r["holds"]]
        mb = "-" if r["crmkit_peak_mb"] is None else f"{r['crmkit_peak_mb']:.0f}"
        lines.append([r["title"], crm, floor, ratio, r["target_text"], holds, mb])
        if r["kind"] != "check" and r["info"].get("detail"):
            lines.append("    " + r["info"]["detail"])
        if r["note"]:
            lines.append("    " + r["note"][:200])
    cells = [line for line in lines if isinstance(line, list)]
    widths = [max(len(str(x[i])) for x in [head, *cells]) for i in range(len(head))]
    out = ["  ".join(str(h).ljust(w) for h, w in zip(head, widths)),
           "  ".join("-" * w for w in widths)]
    out += [line if isinstance(line, str) else
            "  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    return "\n".join(out)


def machine(db_url) -> dict:
    import sqlite3
    info = {"nproc": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "sqlite": sqlite3.sqlite_version}
    try:
        with open("/proc/meminfo") as fh:
            info["memory_gb"] = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    if db_url:
        import psycopg2
        con = psycopg2.connect(db_url)
        cur = con.cursor()
        cur.execute("SHOW server_version")
        info["postgresql"] = cur.fetchone()[0]
        con.close()
    return info


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--phase":
        return run_phase(*argv[1:5])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("full", "small"), default="full")
    parser.add_argument("--db", default=None, help="PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--only", action="append", default=[], help="run modules whose name contains this (exactly this module when one is so named)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (and PostgreSQL databases)")
    args = parser.parse_args(argv)
    if args.db and not args.db.startswith(("postgresql://", "postgres://")):
        parser.error("--db must be a postgresql:// URL (SQLite is the default)")

    def log(msg):
        if msg:
            print(msg, file=sys.stderr, flush=True)

    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    work = tempfile.mkdtemp(prefix="crmkit-bench-")
    prefix = f"crmkit_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    ctx = Ctx(scale=args.scale, db=args.db, work=work, prefix=prefix)
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if args.only:   # a name that is a module's own takes that module alone (bench_web, not bench_webhooks)
        modules = [m for m in modules if any(o == m or (o in m and o not in modules) for o in args.only)]
    plugins = installed_plugins()
    started = time.perf_counter()
    rows: list[dict] = []
    try:
        for name in modules:
            rows += run_module(name, Ctx(**{**ctx.__dict__, "extra": {}}), plugins, log)
    finally:
        if args.keep:
            log(f"scratch folder kept: {work}" + (f"; databases {prefix}_*" if args.db else ""))
        elif args.db:
            dropped = drop_pg_databases(args.db, prefix)
            log(f"dropped {len(dropped)} scratch database(s)")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - started
    report = {"when": dt.datetime.now().isoformat(timespec="seconds"), "scale": args.scale,
              "backend": "postgresql" if args.db else "sqlite", "total_s": round(total, 1),
              "machine": machine(args.db), "plugins": sorted(plugins), "rows": rows}
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = results_dir / f"{stamp}-{report['backend']}-{args.scale}.json"
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    print(f"\ncrmkit benchmarks: {report['backend']}, scale {args.scale}, {total:.0f} s total\n")
    print(table(rows))
    print(f"\nJSON: {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
