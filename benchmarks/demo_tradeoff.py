"""The demo super-network's accuracy / latency / MACs spread, and its training time.

Usage: python benchmarks/demo_tradeoff.py [--n 10] [--space demo]
Loads (or trains and caches) the built-in super-network, then measures its smallest, its largest
and N random sub-networks with the same evaluator the main job uses (ONNX Runtime, batch 1,
1 thread).
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--space", default="demo")
    args = ap.parse_args()
    from hwopt.supernets import get_space

    space = get_space(args.space)
    t0 = time.perf_counter()
    space.supernet
    print(f"super-network ready in {time.perf_counter() - t0:.1f} s; training info: {space.train_info}")
    metrics = ["accuracy", "latency", "macs", "params"]
    ev = space.make_evaluator(metrics, runtime="onnxruntime", batch_size=1, threads=1)
    arch = space.arch
    extremes = [arch.extreme(min), arch.extreme(max)] if hasattr(arch, "extreme") else []
    if not extremes:
        n = arch.n_stages * arch.max_depth
        extremes = [{"ks": [min(arch.ks_list)] * n, "e": [min(arch.e_list)] * n, "d": [min(arch.d_list)] * arch.n_stages,
                     "r": min(arch.resolutions)},
                    {"ks": [max(arch.ks_list)] * n, "e": [max(arch.e_list)] * n, "d": [max(arch.d_list)] * arch.n_stages,
                     "r": max(arch.resolutions)}]
    rows = []
    for label, cfg in [("smallest", extremes[0]), ("largest", extremes[1])] + [
            (f"random {i}", c) for i, c in enumerate(space.space.sample(args.n, seed=0))]:
        m = ev.evaluate(cfg)
        rows.append(m)
        print(f"{label:10s} acc {m['accuracy']:6.2f}%  latency {m['latency']['median']:.4f} ms "
              f"(cv {100 * m['latency']['cv']:.1f}%)  macs {m['macs']:>10,}  params {m['params']:>8,}")
    for k in ("accuracy", "macs"):
        v = [r[k] for r in rows]
        print(f"{k}: {min(v):,.2f} .. {max(v):,.2f} (x{max(v) / min(v):.1f})")
    lat = [r["latency"]["median"] for r in rows]
    print(f"latency median: {min(lat):.4f} .. {max(lat):.4f} ms (x{max(lat) / min(lat):.1f}); load {os.getloadavg()}")


if __name__ == "__main__":
    main()
