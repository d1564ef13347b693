"""Loading super-network checkpoints with one clear error naming the first mismatch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwopt.errors import CheckpointError, require

#: buffers older checkpoints may lack (BatchNorm's counter); they keep their initial value
_OPTIONAL_SUFFIXES = (".num_batches_tracked",)


def read_state_dict(path: str | Path) -> dict[str, Any]:
    """The state dict in ``path``: a plain state dict or ``{"state_dict": ...}`` (OFA's files)."""
    torch = require("torch")
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file
        msg = f"checkpoint {str(path)!r} cannot be read: {type(exc).__name__}: {exc}"
        raise CheckpointError(msg.splitlines()[0]) from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise CheckpointError(f"checkpoint {str(path)!r} holds no state dict (a mapping of tensor names)")
    return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}


def load_checkpoint(module: Any, path: str | Path, what: str = "model") -> None:
    """Load ``path`` into ``module`` strictly; raise CheckpointError naming the first mismatch."""
    torch = require("torch")
    sd = read_state_dict(path)
    own = module.state_dict()
    for k, v in sd.items():
        if k not in own:
            raise CheckpointError(f"checkpoint {str(path)!r} has unexpected key {k!r} for {what}")
        if not isinstance(v, torch.Tensor):
            raise CheckpointError(f"checkpoint {str(path)!r}: {k!r} is not a tensor")
        if tuple(v.shape) != tuple(own[k].shape):
            raise CheckpointError(f"checkpoint {str(path)!r}: {k!r} has shape {tuple(v.shape)}, "
                                  f"{what} expects {tuple(own[k].shape)}")
    for k in own:
        if k not in sd and not k.endswith(_OPTIONAL_SUFFIXES):
            raise CheckpointError(f"checkpoint {str(path)!r} is missing key {k!r} of {what}")
    module.load_state_dict(sd, strict=False)
