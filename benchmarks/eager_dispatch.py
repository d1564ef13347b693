"""Host-side cost of one operator call in PyTorch eager mode (``hwopt.hardware._roofline.EAGER_DISPATCH_S``).

Times a chain of 150 ReLU / Conv2d / BatchNorm2d modules on a 1x1x2x2 tensor, so that the
arithmetic is negligible and what is left is the framework's per-call cost (Python module call,
dispatcher, allocation), and single ops of each kind on their own. One thread, best of 7 repeats.

    python benchmarks/eager_dispatch.py
"""

from __future__ import annotations

import time


def _best_us(fn, calls: int, repeats: int = 7) -> float:
    for _ in range(calls // 2):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best * 1e6


def main() -> int:
    import torch
    from torch import nn

    torch.set_num_threads(1)
    x = torch.randn(1, 1, 2, 2)
    single = {"relu": nn.ReLU(), "conv1x1": nn.Conv2d(1, 1, 1), "conv3x3": nn.Conv2d(1, 1, 3, padding=1),
              "batchnorm": nn.BatchNorm2d(1).eval(), "avgpool3x3": nn.AvgPool2d(3, 1, 1)}
    chain = nn.Sequential(*[nn.Sequential(nn.ReLU(), nn.Conv2d(1, 1, 3, padding=1), nn.BatchNorm2d(1))
                            for _ in range(50)]).eval()
    with torch.inference_mode():
        for name, m in single.items():
            print(f"{name:<11} {_best_us(lambda m=m: m(x), 5000):6.2f} us per call")
        print(f"{'add':<11} {_best_us(lambda: x + x, 5000):6.2f} us per call")
        per_module = _best_us(lambda: chain(x), 200) / 150
        print(f"chain of 150 modules: {per_module:.2f} us per module (torch {torch.__version__})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
