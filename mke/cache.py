"""On-disk cache for teacher outputs, keyed by the teacher's parameters and the inputs.

The folder is ``$MKE_CACHE`` (default ``~/.cache/mke``), never inside the repository. Files are
written to a temporary name and renamed, so a crash never leaves half a file. Every key also
holds :func:`code_version`, a hash of the library's source, so that after a code change no
stale teacher, pseudo label or stand-in data set is served (coarse: any change to ``mke`` or
``theory`` invalidates every entry, which costs one recomputation).
"""
from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import torch


def cache_dir() -> Path:
    root = Path(os.environ.get("MKE_CACHE") or Path.home() / ".cache" / "mke")
    root.mkdir(parents=True, exist_ok=True)
    return root


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of every ``.py`` and ``.json`` file of the ``mke`` and ``theory`` packages."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for package in ("mke", "theory"):
        for path in sorted((root / package).rglob("*")):
            if path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def fingerprint(*parts) -> str:
    """A stable hash of tensors, state_dicts, dicts of tensors and plain values."""
    h = hashlib.sha256()

    def feed(obj):
        if isinstance(obj, torch.Tensor):
            t = obj.detach().cpu().contiguous()
            h.update(str((t.dtype, tuple(t.shape))).encode())
            # reshape(-1): a 0-d tensor (BatchNorm's step count) cannot be viewed as bytes
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        elif isinstance(obj, dict):
            for k in sorted(obj, key=str):
                h.update(str(k).encode())
                feed(obj[k])
        elif isinstance(obj, (list, tuple)):
            for o in obj:
                feed(o)
        else:
            h.update(repr(obj).encode())

    for p in parts:
        feed(p)
    return h.hexdigest()[:24]


def atomic_torch_save(obj, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def cached(key: str, compute, kind: str = "pseudo_labels", enabled: bool = True):
    """Load ``<cache>/<kind>/<key>.pt`` if present, else ``compute()`` and store it."""
    if not enabled:
        return compute()
    path = cache_dir() / kind / f"{fingerprint(key, code_version())}.pt"
    if path.exists():
        try:
            return torch.load(path, weights_only=True)
        except Exception:  # a corrupt cache entry is recomputed, not trusted
            path.unlink(missing_ok=True)
    value = compute()
    atomic_torch_save(value, path)
    return value


def checkpoint_or_train(model: torch.nn.Module, key_parts, train, enabled: bool = True) -> bool:
    """Load ``model``'s state_dict from the cache if a checkpoint for ``key_parts`` exists, else
    ``train(model)`` and save its state_dict (atomically). Returns True when loaded.

    The key should name everything that determines the trained weights (data, config, seed,
    architecture); checkpoints are plain state_dicts, never pickled modules.
    """
    path = cache_dir() / "checkpoints" / f"{fingerprint(*key_parts, code_version())}.pt"
    if enabled and path.exists():
        try:
            model.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
            return True
        except Exception:  # a corrupt or mismatched checkpoint is retrained, not trusted
            path.unlink(missing_ok=True)
    train(model)
    if enabled:
        atomic_torch_save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
    return False
