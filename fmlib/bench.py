"""``python -m fmlib.bench``: the project's own benchmark (a few minutes on a 2-core CPU).

Gaussian -> two moons (make_moons(noise=0.05), standardised). W2 is the median over 5 draws of
2000 generated points against 2000 fresh data points, read against the noise floor (the same
median between two fresh data samples). Measures, side by side in one run:
  1. W2 against training wall time for fmlib's defaults (I-CFM, OT-CFM) and the public-tutorial
     reference (3 x 64 SELU MLP fed raw t, batch 256, Adam 1e-3, 20k steps), with a second floor:
     make_moons spaces points evenly along the moons, so the W2 that a perfect i.i.d. sampler
     reaches (an i.i.d. sample of the same law against the data) is well above the floor;
  2. OT-CFM's cost per training step relative to I-CFM;
  3. W2 at 1, 2 and 4 Euler steps for I-CFM and OT-CFM, and W2 against NFE for every solver;
  4. exact against Hutchinson divergence cost for d from 2 to 3072;
  5. the median frame update of the flow explorer (20 x 20 field, 1000 particles).
Prints a table and writes JSON (``--out``). Machines are shared and noisy: quote ratios.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
from torch import nn

from . import __version__
from .data import two_moons
from .likelihood import divergence_exact, divergence_hutchinson
from .models import ReferenceMLP, VectorFieldMLP
from .ot import w2_median, w2_noise_floor
from .runtime import seed_everything, timeit
from .solvers import solve
from .training import DEFAULTS, train_cfm

N_TRAIN = 20_000


def _target(n: int, g: torch.Generator) -> torch.Tensor:
    return two_moons(n, g)


def _iid(n: int, g: torch.Generator) -> torch.Tensor:
    return two_moons(n, g, stratified=False)


def _w2_of(model, method: str = "dopri5", steps: int = 1, draws: int = 5) -> tuple[float, int]:
    nfe = []

    def generate(n, g):
        with torch.no_grad():
            sol = solve(model, torch.randn(n, 2, generator=g), method=method, steps=steps)
        nfe.append(sol.nfe)
        return sol.x

    return w2_median(generate, _target, n=2000, draws=draws), int(statistics.median(nfe))


def _train_with_curve(name, model, data, eval_every, **kw):
    curve = []

    def callback(step, clock, m):
        curve.append({"step": step, "time_s": clock, "w2": _w2_of(m)[0]})
        print(f"  {name:>10}: step {step:>6}  {clock:6.2f} s  W2 {curve[-1]['w2']:.4f}", flush=True)

    hist = train_cfm(
        model, data, callback=callback, callback_every=eval_every, progress=False, **kw
    )
    return model, {
        "wall_time_s": hist.wall_time,
        "steps": hist.step[-1],
        "curve": curve,
        "final_w2": curve[-1]["w2"],
    }


def _step_time(coupling: str, data, steps: int = 400) -> float:
    seed_everything(1)
    model = VectorFieldMLP()
    train_cfm(model, data, coupling=coupling, steps=50, progress=False)  # warm-up
    hist = train_cfm(model, data, coupling=coupling, steps=steps, log_every=1, progress=False)
    return statistics.median(b - a for a, b in zip(hist.time_s[:-1], hist.time_s[1:], strict=True))


def _divergence_cost(
    dims=(2, 8, 32, 128, 512, 3072), batch: int = 16, repeats: int = 3
) -> list[dict]:
    rows = []
    for d in dims:
        seed_everything(0)
        net = nn.Sequential(
            nn.Linear(d + 1, 256), nn.SiLU(), nn.Linear(256, 256), nn.SiLU(), nn.Linear(256, d)
        )

        def v(x, t, net=net):
            return net(torch.cat([x, torch.full_like(x[:, :1], float(t))], dim=1))

        x = torch.randn(batch, d)
        timings = {
            "exact": timeit(lambda x=x, v=v: divergence_exact(v, x, 0.5), repeat=repeats),
            "hutchinson": timeit(
                lambda x=x, v=v: divergence_hutchinson(v, x, 0.5, k=1), repeat=repeats
            ),
            "forward": timeit(lambda x=x, v=v: v(x, 0.5), repeat=repeats),
        }
        rows.append(
            {
                "d": d,
                **{f"{k}_ms": 1e3 * s for k, s in timings.items()},
                "exact_over_hutchinson": timings["exact"] / timings["hutchinson"],
            }
        )
        print(
            f"  d = {d:>5}: exact {1e3 * timings['exact']:9.2f} ms, Hutchinson {1e3 * timings['hutchinson']:7.2f} ms",
            flush=True,
        )
    return rows


def _frame_update() -> dict | None:
    try:
        from . import widgets
    except ImportError:  # pragma: no cover - ipywidgets is part of the notebooks extra
        return None
    if not hasattr(widgets, "frame_update_times"):
        return None
    seed_everything(0)
    from .fields import source_sink

    explorer = widgets.flow_explorer(source_sink(), torch.randn(1000, 2))
    times = widgets.frame_update_times(explorer, "t", [i / 40 for i in range(41)])
    return {"median_ms": 1e3 * statistics.median(times), "frames": len(times)}


def run(quick: bool = False) -> dict:
    torch.set_num_threads(1)
    seed_everything(0)
    data = two_moons(N_TRAIN, torch.Generator().manual_seed(0))
    out: dict = {
        "fmlib": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "defaults": DEFAULTS,
    }
    print("noise floor ...", flush=True)
    out["noise_floor"] = floor = w2_noise_floor(_target)
    out["iid_floor"] = w2_noise_floor(_target, reference=_iid)
    print(f"  W2 between two fresh 2000-point samples of the data: {floor:.4f}")
    print(
        f"  W2 between an i.i.d. sample of the same law (a perfect model) and the data: {out['iid_floor']:.4f}"
    )

    ref_steps = 2000 if quick else 20_000
    runs = {}
    print("training (W2 against wall time) ...", flush=True)
    seed_everything(0)
    icfm, runs["fmlib I-CFM"] = _train_with_curve("I-CFM", VectorFieldMLP(), data, 250)
    seed_everything(0)
    otcfm, runs["fmlib OT-CFM"] = _train_with_curve(
        "OT-CFM", VectorFieldMLP(), data, 250, coupling="ot"
    )
    seed_everything(0)
    _, runs["reference"] = _train_with_curve(
        "reference",
        ReferenceMLP(),
        data,
        ref_steps // 10,
        steps=ref_steps,
        lr=1e-3,
        batch_size=256,
        ema_decay=None,
        lr_schedule="constant",
    )
    ref_final = runs["reference"]["final_w2"]
    for r in runs.values():
        r["final_over_floor"] = r["final_w2"] / floor
        r["final_over_iid_floor"] = r["final_w2"] / out["iid_floor"]
        r["time_to_reference_w2_s"] = next(
            (c["time_s"] for c in r["curve"] if c["w2"] <= ref_final), None
        )
        r["time_to_2x_floor_s"] = next(
            (c["time_s"] for c in r["curve"] if c["w2"] <= 2 * floor), None
        )
    out["training"] = runs

    print("cost per step ...", flush=True)
    t_i, t_ot = _step_time("independent", data), _step_time("ot", data)
    out["step_ms"] = {"I-CFM": 1e3 * t_i, "OT-CFM": 1e3 * t_ot, "ratio": t_ot / t_i}

    print("few-step sampling and solvers ...", flush=True)
    out["few_step"] = [
        {
            "euler_steps": k,
            "I-CFM": _w2_of(icfm, "euler", k)[0],
            "OT-CFM": _w2_of(otcfm, "euler", k)[0],
        }
        for k in (1, 2, 4, 8)
    ]
    solver_rows = []
    for method, steps_list in (
        ("euler", (4, 16, 64)),
        ("heun", (2, 8, 32)),
        ("midpoint", (2, 8, 32)),
        ("rk4", (1, 4, 16)),
    ):
        for k in steps_list:
            w, nfe = _w2_of(icfm, method, k, draws=3)
            solver_rows.append({"method": method, "steps": k, "nfe": nfe, "w2": w})
    w, nfe = _w2_of(icfm, "dopri5", 1, draws=3)
    solver_rows.append({"method": "dopri5", "steps": None, "nfe": nfe, "w2": w})
    out["solvers"] = solver_rows

    print("divergence cost ...", flush=True)
    out["divergence"] = _divergence_cost()
    out["frame_update"] = _frame_update()
    return out


def report(out: dict) -> str:
    floor = out["noise_floor"]
    lines = [
        f"fmlib {out['fmlib']}, torch {out['torch']}, {out['threads']} thread(s); W2 noise floor {floor:.4f} "
        f"(two make_moons samples); a perfect i.i.d. sampler scores {out['iid_floor']:.4f} "
        f"= {out['iid_floor'] / floor:.2f} x floor",
        "",
    ]
    lines.append(
        f"{'training':<14}{'steps':>7}{'wall s':>9}{'final W2':>10}{'x floor':>9}{'x perfect':>10}"
        f"{'to ref W2 s':>13}{'to 2x floor s':>15}"
    )
    for name, r in out["training"].items():
        fmt = lambda v: f"{v:.1f}" if v is not None else "never"
        lines.append(
            f"{name:<14}{r['steps']:>7}{r['wall_time_s']:>9.1f}{r['final_w2']:>10.4f}{r['final_over_floor']:>9.2f}"
            f"{r['final_over_iid_floor']:>10.2f}{fmt(r['time_to_reference_w2_s']):>13}{fmt(r['time_to_2x_floor_s']):>15}"
        )
    s = out["step_ms"]
    lines += [
        "",
        f"step time: I-CFM {s['I-CFM']:.2f} ms, OT-CFM {s['OT-CFM']:.2f} ms, ratio {s['ratio']:.2f}",
        "",
    ]
    lines.append(f"{'Euler steps':<12}{'I-CFM W2':>10}{'OT-CFM W2':>11}")
    lines += [
        f"{r['euler_steps']:<12}{r['I-CFM']:>10.4f}{r['OT-CFM']:>11.4f}" for r in out["few_step"]
    ]
    lines += ["", f"{'solver':<10}{'steps':>6}{'NFE':>6}{'W2':>9}{'x floor':>9}"]
    lines += [
        f"{r['method']:<10}{str(r['steps'] or '-'):>6}{r['nfe']:>6}{r['w2']:>9.4f}{r['w2'] / floor:>9.2f}"
        for r in out["solvers"]
    ]
    lines += ["", f"{'d':>6}{'exact ms':>11}{'Hutch. ms':>11}{'ratio':>8}"]
    lines += [
        f"{r['d']:>6}{r['exact_ms']:>11.2f}{r['hutchinson_ms']:>11.2f}{r['exact_over_hutchinson']:>8.1f}"
        for r in out["divergence"]
    ]
    if out.get("frame_update"):
        lines += [
            "",
            f"flow explorer frame update (20x20 field, 1000 particles): median {out['frame_update']['median_ms']:.1f} ms",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", default="bench-results/bench.json", help="where to write the JSON results"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a 2k-step reference, to try the command out"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = run(quick=args.quick)
    out["bench_wall_s"] = time.perf_counter() - start
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print()
    print(report(out))
    print(f"\nwritten to {args.out} ({out['bench_wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
