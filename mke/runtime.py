"""Device choice, seeding and autocast: the one place that knows about hardware.

The library never calls ``.cuda()``; it moves tensors to the ``torch.device`` it is given.
"""
from __future__ import annotations

import contextlib
import os
import platform
import random

import numpy as np
import torch

DEVICES = ("auto", "cpu", "cuda")


DEVICE_ENV = "MKE_DEVICE"  # what "auto" means when set: the regression suite sets it to "cpu"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Map ``"auto" | "cpu" | "cuda"`` to a ``torch.device``; ``auto`` picks CUDA when present.

    ``$MKE_DEVICE`` (``cpu`` or ``cuda``), when set, decides what ``auto`` means: ``pytest --nbval``
    sets it to ``cpu`` so that a CUDA machine's regression run re-executes the chapters as the
    committed CPU run did (float32, the hand-written backward pass), comparing like with like.
    """
    if isinstance(device, torch.device):
        return device
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "auto":
        forced = os.environ.get(DEVICE_ENV)
        if forced:
            if forced not in ("cpu", "cuda"):
                raise ValueError(f"${DEVICE_ENV} must be 'cpu' or 'cuda' (what device='auto' means), got {forced!r}")
            return resolve_device(forced)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but torch.cuda.is_available() is False")
    return torch.device(device)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch's global generator; return a fresh torch generator for ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def autocast(device: torch.device, enabled: bool = True):
    """bfloat16 autocast on CUDA (no GradScaler needed); a no-op context on CPU."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def environment(device: torch.device | str = "cpu") -> dict:
    """What a results file records about where it was made."""
    import mke

    device = resolve_device(device)
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "mke": mke.__version__,
        "device": device.type,
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env
