"""The multi-view chapter's grid (30 ordered pairs x 6 methods x 10 seeds, book profile) trained
vectorised (stacked ensembles, mke.runner) against one model at a time, in one process.

    python bench/bench_multiview.py          # all 30 pairs (the sequential half takes minutes)
    python bench/bench_multiview.py 4        # the first 4 pairs only

Prints both times, the ratio, and how far the two paths' cell means lie apart (they train the
same initialisations; T's noise comes from different streams, so noisy cells agree in
distribution, not draw by draw).
"""
from __future__ import annotations

import itertools
import sys
import time

import numpy as np
import torch

from mke.data.multiview import VIEWS, load_views
from mke.experiments import multiview as mv


def main() -> None:
    torch.set_num_threads(2)
    views_data, y = load_views()
    views = list(VIEWS)
    pairs = list(itertools.permutations(views, 2))
    if len(sys.argv) > 1:
        pairs = pairs[:int(sys.argv[1])]
    setup, seeds = mv.PROFILE_SETTINGS["book"], list(range(10))
    times, results = {}, {}
    for vectorised in (True, False):
        t0 = time.perf_counter()
        results[vectorised] = mv.run_pairs(views_data, y, views, seeds, setup, mv.DEFAULT_TRANSFORM, mv.DEFAULT_STRENGTH,
                                           10, pairs=pairs, vectorised=vectorised)
        times[vectorised] = time.perf_counter() - t0
    n_models = len({a for a, _ in pairs}) * 3 * len(seeds) + len(pairs) * 3 * len(seeds)
    print(f"{len(pairs)} ordered pairs x 6 methods x {len(seeds)} seeds ({n_models} models), book profile, 2 threads")
    print(f"one model at a time: {times[False]:7.1f} s")
    print(f"vectorised:          {times[True]:7.1f} s")
    print(f"speed-up: {times[False] / times[True]:.1f}x")
    diffs = [abs(results[True].scores(a, b, m).mean() - results[False].scores(a, b, m).mean())
             for a, b in pairs for m in mv.METHOD_ORDER]
    print(f"largest difference in a cell's mean test accuracy: {max(diffs):.2f} points; mean {np.mean(diffs):.2f}")


if __name__ == "__main__":
    main()
