"""Test-session setup for the unit tests (tests/) and the notebook regression suite (executed/).

* Every session gets an empty cache folder: tests never read or fill the user's ``$MKE_CACHE``.
* ``pytest --nbval`` is the regression suite: it re-executes the notebooks of ``executed/`` in
  book order (later chapters read earlier chapters' results) and compares only the cells tagged
  ``nbval-check-output`` (outputs that do not depend on the last bits of a float: sizes,
  structure, exact symbolic checks). Re-executed chapters write their results files into a
  temporary folder (``$MKE_RESULTS_DIR``), never into the repository; the last test,
  ``tests/test_regression_suite.py``, compares those fresh numbers with the committed
  ``executed/results/*.json`` by the rule of :mod:`mke.regression`. It runs on the CPU even on
  a CUDA machine (``$MKE_DEVICE=cpu``, what ``device="auto"`` then means), as the committed run
  did; ``MKE_DEVICE=cuda make test`` re-executes on the GPU instead, to see how far it moves.
* Plain ``pytest`` runs the unit tests only (fast, for development).
"""
import os
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent

os.environ["MKE_CACHE"] = tempfile.mkdtemp(prefix="mke-test-cache-")


def nbval_active(config) -> bool:
    return bool(getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False))


def pytest_configure(config):
    if not nbval_active(config):
        return
    # `pytest --nbval` means the suite as `make test` runs it: lax mode (tagged cells only), the
    # current environment's kernel, and the sanitize rules for addresses, timings and paths
    config.option.nbval_lax = True
    config.option.nbval_current_env = True
    if not config.option.nbval_sanitize_with:
        config.option.nbval_sanitize_with = str(ROOT / "tests" / "nbval_sanitize.cfg")
    # the segmentation chapter trains every table in one cell (about 20 minutes on 2 cores):
    # nbval's default 2000 s per cell leaves too little room on a slower machine
    config.option.nbval_cell_timeout = max(float(config.option.nbval_cell_timeout), 4000.0)
    fresh = tempfile.mkdtemp(prefix="mke-fresh-results-")
    os.environ["MKE_RESULTS_DIR"] = fresh  # the kernels inherit it
    # the committed results are a CPU run: on a CUDA machine "auto" would train in bfloat16
    # without the hand-written backward pass, so the regression re-executes on the CPU too
    os.environ.setdefault("MKE_DEVICE", "cpu")
    config._mke_fresh_results = fresh


def pytest_collection_modifyitems(session, config, items):
    """Notebooks in book order (as _toc.yml lists them, the intro last), the regression comparison last."""
    from mke.book import chapters

    order = {name: i for i, name in enumerate(chapters(ROOT))}

    def rank(item):
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":
            return (1, order.get(path.stem, len(order)))
        if path.name == "test_regression_suite.py":
            return (2, 0)
        return (0, 0)

    items.sort(key=rank)  # stable: cells keep their order inside a notebook
