"""Trained built-in super-networks, cached in the user cache directory by a content hash.

The key hashes the training recipe, the architecture and the source files that define the
network and its training, so changing any of them trains anew instead of loading stale weights.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterable


def cache_dir() -> Path:
    """``$HWOPT_CACHE_DIR`` or the user cache directory (platformdirs)."""
    env = os.environ.get("HWOPT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("hwopt"))


def content_hash(payload: Any, files: Iterable[Path]) -> str:
    """16-hex hash of a JSON payload and the bytes of ``files``."""
    h = hashlib.sha256(json.dumps(payload, sort_keys=True, default=repr).encode())
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]


def load_or_train(tag: str, key: str, make: Callable[[], Any], train: Callable[[], tuple[Any, dict]]):
    """(module, path, info): ``<cache>/<tag>/supernet-<key>.pt`` if readable, else ``train()`` and save."""
    import torch

    path = cache_dir() / tag / f"supernet-{key}.pt"
    if path.is_file():
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            net = make()
            net.load_state_dict(blob["state_dict"])
            return net.eval(), path, blob["info"]
        except Exception:  # noqa: BLE001 - a corrupt or stale cache file: train again
            pass
    logging.getLogger("hwopt").warning("training the %s super-network once (cached as %s); this takes a few minutes",
                                       tag, path)
    net, info = train()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    torch.save({"state_dict": net.state_dict(), "info": info}, tmp)
    os.replace(tmp, path)  # atomic: concurrent processes never read a half-written file
    return net.eval(), path, info
