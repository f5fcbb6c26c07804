"""The multi-seed runner: many methods x settings x seeds, vectorised where it pays.

Two paths give the same computation:

* **sequential**: one model at a time, as the authors' loop (``torch.manual_seed(seed)``, build,
  train with the global generator);
* **vectorised**: every member that shares its inputs and architecture is stacked into one
  :class:`~mke.models.EnsembleMLP` and trained in one loop with batched matmuls (on the CPU
  with the backward pass written out, :mod:`mke.fused`). Members are initialised identically
  to the sequential path; their noise comes from one generator per group instead of the global
  stream, so noisy settings agree in distribution, not draw by draw (noise-free settings agree
  to float precision; ``tests/test_runner.py`` checks both).
"""
from __future__ import annotations

import contextlib
import zlib
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from mke.algorithm import PseudoLabels, student_data, train_student
from mke.methods import Method
from mke.metrics import accuracy, summarize
from mke.models import MLP, EnsembleMLP
from mke.train import TrainConfig, fit, predict
from mke.transforms import Transform, stack_transforms


@dataclass(frozen=True)
class Job:
    """One cell of a results table: a method under a transformation T, named by ``setting``."""

    method: Method
    T: Transform | None = None
    setting: str = ""

    @property
    def effective_T(self) -> Transform | None:
        return self.T if self.method.regularised else None


@dataclass
class JobResult:
    job: Job
    seeds: list[int]
    scores: dict[str, list[float]] = field(default_factory=dict)  # score name -> one value per seed
    models: list = field(default_factory=list)  # kept when run_jobs(keep_models=True)

    def summary(self, score: str = "test") -> dict:
        return summarize(self.scores[score])


def _group_key(job: Job, model: torch.nn.Module):
    """Members that can share one ensemble: same inputs, shapes and kinds of perturbation.

    Grouping by kind (which of T1, T2, T3 are on) means no member pays for noise it does not use.
    None (the one-model path) for other models and for an input or geometric augmentation, which
    cannot be stacked into an ensemble transform.
    """
    if not isinstance(model, MLP):
        return None
    T = job.effective_T or Transform()
    if T.augment is not None or T.geometric is not None:
        return None
    shapes = tuple(tuple(p.shape) for p in model.parameters())
    kinds = tuple(bool(float(getattr(T, f)) != 0) for f in ("input_noise", "hidden_noise", "dropout"))
    return (job.method.inputs, job.method.train_on, shapes, model.softmax_head, kinds)


def _job_identity(job: Job):
    """Two jobs with equal identity train the same models (e.g. 'T1 v0=0' and 'T2 v1=0')."""
    T = job.effective_T
    if T is None or T.is_identity:
        return (job.method.name, None)
    if T.augment is not None or T.geometric is not None:
        return (job.method.name, id(job))
    return (job.method.name, float(T.input_noise), float(T.hidden_noise), float(T.dropout))


def _stable_seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


@contextlib.contextmanager
def _one_thread_per_worker(workers: int):
    """With several workers, give each op one thread (no oversubscription); restore after."""
    before = torch.get_num_threads()
    if workers > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_parallel(calls, workers: int = 1) -> list:
    """Call each zero-argument function of ``calls``; return their results in order.

    ``workers > 1`` runs that many at once in threads, each torch op on one thread: for small
    networks two trainings side by side finish sooner than one after the other on two threads
    (``bench/bench_seg_workers.py``). Each training must draw from its own generators (as
    :mod:`mke.seeds` gives them), so that its numbers do not depend on the interleaving.
    """
    calls = list(calls)
    if workers <= 1 or len(calls) <= 1:
        return [c() for c in calls]
    with _one_thread_per_worker(workers), ThreadPoolExecutor(min(workers, len(calls))) as pool:
        return list(pool.map(lambda c: c(), calls))


def run_jobs(task, jobs: list[Job], seeds: list[int], make_model, cfg: TrainConfig,
             pseudo: PseudoLabels | dict[int, PseudoLabels] | None = None, *, vectorised: bool = True,
             device: torch.device | str = "cpu", scorers: dict | None = None,
             confidence_weighting: bool = False, keep_models: bool = False,
             max_members: int = 64, workers: int = 1, progress: bool = False) -> list[JobResult]:
    """Train every job for every seed and score it; returns one :class:`JobResult` per job.

    ``pseudo`` is one teacher's pseudo labels for every seed (the paper's TwoMoon protocol) or a
    dict ``seed -> PseudoLabels`` (a teacher per seed: each student learns from its own seed's).

    ``scorers`` maps a score's name to ``(split, fn)``, ``fn(logits, y)`` giving one value per
    model (``[E]`` for an ensemble); the default is ``{"test": ("test", accuracy)}``.

    ``make_model(method, seed)`` builds one model as the sequential path would (it seeds torch
    itself). With ``vectorised=True`` members that are :class:`~mke.models.MLP` and share inputs
    and shapes train together, at most ``max_members`` to an ensemble (small ensembles stay in
    cache; on 2 CPU cores 20-80 is the sweet spot); anything else falls back to the sequential
    path. Jobs that train identical models (same method, same T) are trained once and share results.
    ``workers > 1`` trains that many ensembles at once in threads, each op on one core (torch
    releases the GIL inside ops; the noise generators are per ensemble, so results do not depend
    on scheduling).
    """
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {list(seeds)}")
    if isinstance(pseudo, dict):
        missing = [s for s in seeds if s not in pseudo]
        if missing:
            raise ValueError(f"pseudo labels are given per seed, but not for seeds {missing}")

    def pseudo_of(k: int):
        return pseudo[seeds[k]] if isinstance(pseudo, dict) else pseudo
    scorers = scorers or {"test": ("test", accuracy)}
    results = [JobResult(job, list(seeds), {name: [None] * len(seeds) for name in scorers},
                         [None] * len(seeds) if keep_models else []) for job in jobs]

    def score(model, modalities) -> dict:
        cache, out = {}, {}
        for name, (split, fn) in scorers.items():
            if split not in cache:
                cache[split] = predict(model, task.inputs(split, modalities))
            out[name] = fn(cache[split], task.labels(split))
        return out

    def record(j: int, k: int, scores: dict, model=None):
        for name in scorers:
            results[j].scores[name][k] = float(scores[name])
        if keep_models:
            results[j].models[k] = model

    first_of: dict = {}  # job identity -> index of the job that trains it
    copies = []  # (job index, index of the job whose results it shares)
    groups: dict = defaultdict(list)  # key -> [(job index, seed index, model)]
    sequential = []
    for j, job in enumerate(jobs):
        ident = _job_identity(job)
        if ident in first_of:
            copies.append((j, first_of[ident]))
            continue
        first_of[ident] = j
        for k, seed in enumerate(seeds):
            if vectorised:
                model = make_model(job.method, seed)
                key = _group_key(job, model)
                if key is not None:
                    groups[key].append((j, k, model))
                    continue
            sequential.append((j, k))
    chunks = [members[i:i + max_members] for members in groups.values()
              for i in range(0, len(members), max_members)]

    def train_chunk(members):
        method0 = jobs[members[0][0]].method
        datas = [student_data(task, jobs[j].method, pseudo_of(k), confidence_weighting) for j, k, _ in members]
        x = datas[0][0]
        Y = torch.stack([d[1] for d in datas])
        W = torch.stack([d[2] for d in datas]) if confidence_weighting else None
        generator = torch.Generator(device=torch.device(device)).manual_seed(
            _stable_seed([(jobs[j].setting, jobs[j].method.name, seeds[k]) for j, k, _ in members]))
        T = stack_transforms([jobs[j].effective_T or Transform() for j, _, _ in members], device, generator)
        ensemble = EnsembleMLP([m for _, _, m in members]).to(device)
        fit(ensemble, x, Y, cfg, T=None if T.is_identity else T, weight=W, ensemble=True,
            desc=f"ensemble of {len(members)} ({'+'.join(method0.inputs)})")
        scores = score(ensemble, method0.modalities(task))
        for e, (j, k, _) in enumerate(members):
            record(j, k, {name: v[e] for name, v in scores.items()}, ensemble.member(e) if keep_models else None)

    chunks.sort(key=len, reverse=True)  # longest first: better packing over workers
    if workers > 1:
        with _one_thread_per_worker(workers), ThreadPoolExecutor(workers) as pool:
            list(tqdm(pool.map(train_chunk, chunks), total=len(chunks), desc="ensembles",
                      disable=not progress, leave=False))
    else:
        for members in tqdm(chunks, desc="ensembles", disable=not progress, leave=False):
            train_chunk(members)

    for j, k in tqdm(sequential, desc="models", disable=not progress, leave=False):
        job = jobs[j]
        model = train_student(task, job.method, make_model, pseudo_of(k), cfg, job.effective_T, seeds[k], device,
                              confidence_weighting)
        record(j, k, score(model, job.method.modalities(task)), model)
    for j, source in copies:
        results[j].scores = {s: list(v) for s, v in results[source].scores.items()}
        results[j].models = list(results[source].models)
    return results
