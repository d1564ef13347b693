"""Copying a sub-network's weights out of a super-network: shared by every weight-sharing space."""

from __future__ import annotations

import torch


def load_static(model: torch.nn.Module, tensors: dict[str, torch.Tensor]) -> torch.nn.Module:
    """``model`` with ``tensors`` (sliced super-network weights) copied in, in eval mode.

    The copies are detached clones, so the exported sub-network never shares storage with
    the super-network; ``strict`` loading turns any layout mismatch into an error.
    """
    with torch.no_grad():
        model.load_state_dict({k: v.detach().clone() for k, v in tensors.items()}, strict=True)
    return model.eval()
