"""Accuracy data of the built-in spaces: scikit-learn digits, and ImageNet-style image folders.

torchvision is not a dependency: the image-folder reader uses PIL (resize the shorter side to
``r / 0.875``, centre-crop ``r``, ImageNet mean/std normalisation, as OFA's evaluation).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterator

from hwopt.errors import ConfigError, require
from hwopt.evaluators._accuracy import AccuracyData

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff")
_MEAN, _STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _batches(x, y, batch_size: int) -> Iterator[tuple[Any, Any]]:
    for i in range(0, len(y), batch_size):
        yield x[i:i + batch_size], y[i:i + batch_size]


# --------------------------------------------------------------------------- digits
def digits_split(seed: int = 0, val_fraction: float = 0.25):
    """sklearn digits as float tensors (N, 1, 8, 8) in [0, 1]: (x_train, y_train, x_val, y_val)."""
    torch = require("torch")
    import numpy as np
    from sklearn.datasets import load_digits

    d = load_digits()
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(d.target))
    n_val = int(round(len(idx) * val_fraction))
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target, dtype=torch.long)
    va, tr = torch.tensor(idx[:n_val]), torch.tensor(idx[n_val:])
    return x[tr], y[tr], x[va], y[va]


def upsample_digits(x, resolution: int):
    """8x8 digits → ``resolution`` pixels (bilinear), normalised to zero mean / unit variance."""
    import torch.nn.functional as F

    if x.shape[-1] != resolution:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)
    return (x - 0.3) / 0.4


class DigitsData(AccuracyData):
    """Digits validation split; BN calibration on ``calib_batches`` batches of the training split."""

    def __init__(self, seed: int = 0, calib_batches: int = 4, batch_size: int = 128, subset: int | None = None,
                 transform=None):
        if calib_batches < 1:
            raise ConfigError(f"calib_batches must be at least 1, got {calib_batches}")
        self.seed, self.calib_batches, self.batch_size, self.subset = seed, calib_batches, batch_size, subset
        self.transform = transform  # images -> model inputs; default: upsample to the input resolution
        self._split = digits_split(seed)
        self._cache: dict[int, tuple[Any, Any]] = {}

    def _at(self, resolution: int):
        if resolution not in self._cache:
            xt, _, xv, _ = self._split
            f = self.transform or (lambda x: upsample_digits(x, resolution))
            self._cache[resolution] = (f(xt), f(xv))
        return self._cache[resolution]

    def calibration(self, input_shape):
        torch = require("torch")
        xt, _ = self._at(input_shape[-1])
        g = torch.Generator().manual_seed(self.seed)
        idx = torch.randperm(len(xt), generator=g)[: self.calib_batches * self.batch_size]
        yield from _batches(xt[idx], self._split[1][idx], self.batch_size)

    def validation(self, input_shape):
        _, xv = self._at(input_shape[-1])
        yv = self._split[3]
        n = self.subset or len(yv)
        yield from _batches(xv[:n], yv[:n], self.batch_size)

    def describe(self) -> dict[str, Any]:
        return {"dataset": "sklearn digits", "seed": self.seed, "val_images": self.subset or len(self._split[3]),
                "calib_images": self.calib_batches * self.batch_size}


# --------------------------------------------------------------------------- image folders
def _scan(root: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    items = [(f, i) for i, c in enumerate(classes) for f in sorted((root / c).iterdir())
             if f.suffix.lower() in IMAGE_EXTENSIONS]
    return classes, items


def _spread(items: list[tuple[Path, int]], n: int, seed: int) -> list[tuple[Path, int]]:
    """``n`` items spread over classes (deterministic for a seed)."""
    import numpy as np

    if n >= len(items):
        return list(items)
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in sorted(order[:n])]


class ImageFolderData(AccuracyData):
    """ImageNet-style folder: ``DIR/val/<class>/*.JPEG`` (or ``DIR/<class>/...``) for validation,
    ``DIR/train/<class>/...`` for BN calibration when present (else the validation images not
    used for validation, or, when none are left, the validation images themselves)."""

    def __init__(self, root: str | Path, subset: int | None = None, calib_images: int = 2000,
                 batch_size: int = 100, seed: int = 0, n_classes: int | None = None):
        root = Path(root).expanduser()
        if not root.is_dir():
            raise ConfigError(f"data directory {str(root)!r} does not exist")
        val_root = root / "val" if (root / "val").is_dir() else root
        classes, items = _scan(val_root)
        if not items:
            raise ConfigError(f"no images in class folders under {str(val_root)!r} (expected DIR/val/<class>/*.JPEG)")
        if n_classes is not None and len(classes) > n_classes:
            raise ConfigError(f"{str(val_root)!r} has {len(classes)} class folders; the model has {n_classes} classes")
        self.root, self.classes, self.batch_size, self.seed = root, classes, batch_size, seed
        self.val = _spread(items, subset, seed) if subset else items
        if (root / "train").is_dir():
            t_classes, t_items = _scan(root / "train")
            if t_classes != classes:
                raise ConfigError(f"class folders of {str(root / 'train')!r} differ from those of {str(val_root)!r}")
            self.calib_source = "train"
        else:
            used = set(self.val)
            t_items = [it for it in items if it not in used] or items
            self.calib_source = "val (unused images)" if len(t_items) < len(items) else "val (same images)"
        self.calib = _spread(t_items, calib_images, seed + 1)
        self._cache: dict[tuple[str, int], tuple[Any, Any]] = {}

    def _load(self, which: str, items: list[tuple[Path, int]], r: int):
        key = (which, r)
        if key not in self._cache:
            torch = require("torch")
            self._cache = {k: v for k, v in self._cache.items() if k[0] != which}  # one resolution kept
            self._cache[key] = (torch.stack([load_image(p, r) for p, _ in items]),
                                torch.tensor([c for _, c in items], dtype=torch.long))
        return self._cache[key]

    def calibration(self, input_shape):
        x, y = self._load("calib", self.calib, input_shape[-1])
        yield from _batches(x, y, self.batch_size)

    def validation(self, input_shape):
        x, y = self._load("val", self.val, input_shape[-1])
        yield from _batches(x, y, self.batch_size)

    def describe(self) -> dict[str, Any]:
        return {"dataset": str(self.root), "classes": len(self.classes), "val_images": len(self.val),
                "calib_images": len(self.calib), "calib_source": self.calib_source}


def load_image(path: Path, resolution: int):
    """One RGB image as a normalised (3, r, r) tensor: resize shorter side to r/0.875, centre crop."""
    torch = require("torch")
    Image = require("PIL.Image", "data")
    import numpy as np

    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        short = int(math.ceil(resolution / 0.875))
        scale = short / min(w, h)
        im = im.resize((max(short, round(w * scale)), max(short, round(h * scale))), Image.BILINEAR)
        w, h = im.size
        left, top = (w - resolution) // 2, (h - resolution) // 2
        im = im.crop((left, top, left + resolution, top + resolution))
        a = np.asarray(im, dtype=np.float32) / 255.0
    a = (a - np.array(_MEAN, dtype=np.float32)) / np.array(_STD, dtype=np.float32)
    return torch.from_numpy(a.transpose(2, 0, 1).copy())
