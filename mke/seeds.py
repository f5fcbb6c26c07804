"""Seeds in one place: independent random streams per role, seed and purpose.

A run is named by an integer ``seed`` (the book's seeds are ``0 .. n_seeds-1`` unless a chapter
says otherwise). Each *role* (the teacher, and each student method: ``"um_teacher"``,
``"um_student"``, ``"noisy_student"``, ``"mm_student"``, ...) draws from four streams:

========  ======================================================================
stream    what it drives
========  ======================================================================
init      the model's initial weights (:func:`init_scope` seeds torch around its construction)
data      the order of mini-batches (and a DataLoader's shuffling)
augment   geometric and photometric augmentations (flip, scale, crop; brightness)
noise     the transformation T's noise and dropout masks
========  ======================================================================

Every stream's seed is a hash of ``(seed, role, stream)``, so streams are independent of one
another and of the order in which things run. **A teacher and a student of the same seed do
not share an initialisation** (they are different roles); two runs of one role and seed are
bit-identical on one machine.

The TwoMoon chapter is the exception it states: it reproduces the authors' protocol, where a
model of seed ``s`` is built right after ``torch.manual_seed(s)`` whatever its role
(:func:`mke.models.seeded_mlp`), and its ensembles draw T's noise from one generator per group.
"""
from __future__ import annotations

import contextlib
import hashlib
import threading

import torch

STREAMS = ("init", "data", "augment", "noise")


def derive(seed: int, role: str, stream: str) -> int:
    """The seed of one stream: a 63-bit hash of ``(seed, role, stream)``."""
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    digest = hashlib.sha256(f"mke/{seed}/{role}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def generator(seed: int, role: str, stream: str, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` on ``device`` for one stream."""
    return torch.Generator(device=torch.device(device)).manual_seed(derive(seed, role, stream))


# torch's global generator is one per process: models built in several threads at once
# (``workers > 1``) take turns, or their initial weights would depend on the interleaving
_INIT_LOCK = threading.RLock()


@contextlib.contextmanager
def init_scope(seed: int, role: str):
    """Build a model inside this block: torch's global generator is seeded from the ``init``
    stream and restored afterwards, so building a model never disturbs other draws. One thread
    at a time holds the block (the global generator is shared by all threads)."""
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive(seed, role, "init"))
        yield
