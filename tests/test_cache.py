"""mke.cache on its own: where entries live, what their keys hold, atomic writes, corrupt entries.

(conftest.py points $MKE_CACHE at a temporary folder for the whole test session.)
"""
import os
from pathlib import Path

import pytest
import torch

from mke import cache


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("MKE_CACHE", str(root))
    return root


def test_cache_dir_is_mke_cache_and_is_created(fresh_cache):
    assert not fresh_cache.exists()
    assert cache.cache_dir() == fresh_cache and fresh_cache.is_dir()


def test_cache_dir_defaults_to_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MKE_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / ".cache" / "mke"


def _code_version_of(tree, monkeypatch):
    monkeypatch.setattr(cache, "__file__", str(tree / "mke" / "cache.py"))
    cache.code_version.cache_clear()
    try:
        return cache.code_version()
    finally:
        cache.code_version.cache_clear()


def test_code_version_hashes_the_python_and_json_of_mke_and_theory(tmp_path, monkeypatch):
    tree = tmp_path / "repo"
    files = {"mke/cache.py": "x = 1\n", "mke/data/meta.json": "{}", "theory/bound.py": "y = 2\n",
             "mke/notes.txt": "ignored", "mke/__pycache__/cache.py": "ignored", "other/z.py": "ignored"}
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    base = _code_version_of(tree, monkeypatch)
    assert len(base) == 16 and int(base, 16) >= 0
    assert _code_version_of(tree, monkeypatch) == base  # stable
    for name, changed in (("mke/notes.txt", "other"), ("mke/__pycache__/cache.py", "other"), ("other/z.py", "z")):
        (tree / name).write_text(changed)
        assert _code_version_of(tree, monkeypatch) == base, f"{name} must not count"
    for name in ("mke/cache.py", "mke/data/meta.json", "theory/bound.py"):
        before = (tree / name).read_text()
        (tree / name).write_text(before + " ")
        assert _code_version_of(tree, monkeypatch) != base, f"{name} must count"
        (tree / name).write_text(before)
        assert _code_version_of(tree, monkeypatch) == base
    (tree / "theory/bound.py").rename(tree / "theory/bound2.py")  # the name counts, not only the bytes
    assert _code_version_of(tree, monkeypatch) != base


def test_fingerprint_sees_values_dtypes_shapes_and_keys_but_not_dict_order():
    f = cache.fingerprint
    x = torch.arange(6, dtype=torch.float32)
    assert len(f(x)) == 24
    assert f(x) == f(x.clone())
    assert f(x) != f(x + 1)
    assert f(x) != f(x.double())
    assert f(x) != f(x.reshape(2, 3))
    assert f(x.reshape(2, 3).t()) == f(x.reshape(2, 3).t().contiguous())  # layout does not matter
    assert f(torch.tensor(3)) != f(torch.tensor(4))  # 0-d tensors (BatchNorm's step count)
    assert f(torch.zeros(0)) != f(torch.zeros(0, 2))
    assert f({"a": x, "b": 1}) == f({"b": 1, "a": x})
    assert f({"a": x}) != f({"c": x})
    assert f({"a": 1}) != f({"a": 2})
    assert f([x, 1]) != f([1, x])
    assert f("a", "b") != f("ab") and f("a", "b") == f(["a", "b"])  # parts are fed in order, each whole
    assert f("a", "b") != f("b", "a")
    assert f(x.requires_grad_()) == f(x.detach())


def test_atomic_save_leaves_no_half_file_and_keeps_the_old_one(fresh_cache):
    path = fresh_cache / "sub" / "entry.pt"
    cache.atomic_torch_save({"v": torch.ones(2)}, path)
    assert torch.equal(torch.load(path)["v"], torch.ones(2))

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError, match="cannot pickle"):
        cache.atomic_torch_save({"v": Unpicklable()}, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["entry.pt"]  # no temporary left
    assert torch.equal(torch.load(path)["v"], torch.ones(2))  # the old entry is intact


def test_cached_computes_once_then_loads_under_its_kind(fresh_cache):
    calls = []

    def compute():
        calls.append(1)
        return {"y": torch.arange(3)}

    a = cache.cached("k", compute, kind="things")
    b = cache.cached("k", compute, kind="things")
    assert len(calls) == 1 and torch.equal(a["y"], b["y"])
    assert len(list((fresh_cache / "things").glob("*.pt"))) == 1
    cache.cached("other key", compute, kind="things")
    assert len(calls) == 2 and len(list((fresh_cache / "things").glob("*.pt"))) == 2


def test_cached_disabled_always_computes_and_writes_nothing(fresh_cache):
    calls = []
    for _ in range(2):
        cache.cached("k", lambda: calls.append(1) or torch.ones(1), kind="off", enabled=False)
    assert len(calls) == 2 and not (fresh_cache / "off").exists()


def test_a_corrupt_entry_is_recomputed_and_replaced(fresh_cache):
    cache.cached("k", lambda: torch.ones(2), kind="c")
    (entry,) = (fresh_cache / "c").glob("*.pt")
    entry.write_bytes(b"not a torch file")
    assert torch.equal(cache.cached("k", lambda: torch.full((2,), 7.0), kind="c"), torch.full((2,), 7.0))
    assert torch.equal(torch.load(entry), torch.full((2,), 7.0))


def test_checkpoint_or_train_trains_once_then_loads(fresh_cache):
    trained = []

    def train(m):
        trained.append(1)
        with torch.no_grad():
            m.weight.fill_(0.5)

    a = torch.nn.Linear(2, 2)
    assert cache.checkpoint_or_train(a, ("key", 1), train) is False
    b = torch.nn.Linear(2, 2)
    assert cache.checkpoint_or_train(b, ("key", 1), train) is True
    assert len(trained) == 1 and torch.equal(b.weight, torch.full((2, 2), 0.5)) and torch.equal(b.bias, a.bias)
    saved = torch.load(next((fresh_cache / "checkpoints").glob("*.pt")))
    assert set(saved) == {"weight", "bias"} and not saved["weight"].requires_grad
    c = torch.nn.Linear(2, 2)
    assert cache.checkpoint_or_train(c, ("key", 2), train) is False and len(trained) == 2


def test_checkpoint_or_train_disabled_neither_loads_nor_writes(fresh_cache):
    trained = []
    for _ in range(2):
        assert cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("k",), lambda m: trained.append(1),
                                         enabled=False) is False
    assert len(trained) == 2 and not (fresh_cache / "checkpoints").exists()


def test_a_mismatched_checkpoint_is_retrained_and_overwritten(fresh_cache):
    cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("same key",), lambda m: None)
    (entry,) = (fresh_cache / "checkpoints").glob("*.pt")
    torch.save({"weight": torch.zeros(5, 5)}, entry)  # another architecture's weights
    trained = []
    m = torch.nn.Linear(2, 2)
    assert cache.checkpoint_or_train(m, ("same key",), lambda m: trained.append(1)) is False
    assert trained == [1] and torch.load(entry)["weight"].shape == (2, 2)
    assert os.listdir(entry.parent) == [entry.name]


# --- pins that make the survivors of make mutation in mke.cache fail (issue 10) ------------------


def test_atomic_save_writes_its_temporary_beside_the_target_under_a_hidden_tmp_name(tmp_path, monkeypatch):
    """The temporary lies in the target's folder (so os.replace is a rename on one file system)
    and is named ``.<name>.<random>.tmp`` (hidden, and never read as a ``*.pt`` entry)."""
    seen = []
    real = cache.tempfile.mkstemp

    def recording(*args, **kwargs):
        fd, tmp = real(*args, **kwargs)
        seen.append(Path(tmp))
        return fd, tmp

    monkeypatch.setattr(cache.tempfile, "mkstemp", recording)
    target = tmp_path / "sub" / "entry.pt"
    cache.atomic_torch_save(torch.arange(3), target)
    (tmp,) = seen
    assert tmp.parent == target.parent
    assert tmp.name.startswith(".entry.pt.") and tmp.name.endswith(".tmp") and len(tmp.name) > len(".entry.pt..tmp")
    assert not tmp.exists() and torch.equal(torch.load(target), torch.arange(3))


def test_fingerprint_takes_dicts_whose_keys_do_not_compare():
    """Keys are ordered by their text, so a dict mixing int and str keys has a fingerprint (a
    plain ``sorted`` raises TypeError on it) and the order of insertion still does not matter."""
    assert cache.fingerprint({1: "a", "b": 2}) == cache.fingerprint({"b": 2, 1: "a"})
    assert cache.fingerprint({1: "a", "b": 2}) != cache.fingerprint({1: "a", "b": 3})


class _NotAWeight:
    """A pickled object that ``torch.load(weights_only=True)`` refuses to build."""

    def __init__(self, value=0):
        self.value = value


def test_cached_entries_are_loaded_weights_only(fresh_cache):
    """An entry holding arbitrary pickled objects is not trusted (loading it could run code): it is
    recomputed and replaced, not returned."""
    cache.cached("k", lambda: torch.ones(1), kind="c")
    (entry,) = (fresh_cache / "c").glob("*.pt")
    torch.save(_NotAWeight(5), entry)
    out = cache.cached("k", lambda: torch.full((1,), 3.0), kind="c")
    assert torch.equal(out, torch.full((1,), 3.0)) and torch.equal(torch.load(entry), torch.full((1,), 3.0))


def test_checkpoints_are_loaded_weights_only(fresh_cache):
    """A checkpoint holding arbitrary pickled objects is retrained over, never unpickled."""
    cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("w",), lambda m: None)
    (entry,) = (fresh_cache / "checkpoints").glob("*.pt")
    torch.save({"weight": _NotAWeight(), "bias": _NotAWeight()}, entry)
    trained = []
    assert cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("w",), lambda m: trained.append(1)) is False
    assert trained == [1] and set(torch.load(entry)) == {"weight", "bias"}


def test_checkpoint_or_train_disabled_ignores_an_existing_checkpoint(fresh_cache):
    """enabled=False trains even when a checkpoint for the key exists, and leaves that file alone."""
    def set_half(m):
        with torch.no_grad():
            m.weight.fill_(0.5)

    cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("d",), set_half)
    (entry,) = (fresh_cache / "checkpoints").glob("*.pt")
    before = entry.read_bytes()

    def set_two(m):
        with torch.no_grad():
            m.weight.fill_(2.0)

    m = torch.nn.Linear(2, 2)
    assert cache.checkpoint_or_train(m, ("d",), set_two, enabled=False) is False
    assert torch.equal(m.weight, torch.full((2, 2), 2.0)) and entry.read_bytes() == before


UNPICKLED = []


def _record_unpickling(tag):
    UNPICKLED.append(tag)
    return tag


class _RunsCodeWhenLoaded:
    """Unpickling this calls :func:`_record_unpickling`: what a weights-only load must refuse."""

    def __reduce__(self):
        return _record_unpickling, ("ran",)


def test_loading_a_checkpoint_never_runs_pickled_code(fresh_cache):
    """A checkpoint file whose pickle would call a function is refused before anything runs (the
    outcome, retraining, is the same either way; what weights_only=True adds is that no code ran)."""
    UNPICKLED.clear()
    cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("p",), lambda m: None)
    (entry,) = (fresh_cache / "checkpoints").glob("*.pt")
    torch.save({"weight": _RunsCodeWhenLoaded()}, entry)
    assert cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("p",), lambda m: None) is False
    assert UNPICKLED == []


def test_fingerprint_of_a_tensor_is_its_header_then_its_bytes():
    """The hash input of a tensor is ``str((dtype, shape))`` followed by its raw bytes; an empty
    tensor adds no bytes after its header (its key is the header's alone)."""
    import hashlib

    def expected(header, data):
        return hashlib.sha256(header.encode() + data).hexdigest()[:24]

    x = torch.tensor([1.0, 2.0], dtype=torch.float32)
    assert cache.fingerprint(x) == expected("(torch.float32, (2,))", x.numpy().tobytes())
    assert cache.fingerprint(torch.zeros(0)) == expected("(torch.float32, (0,))", b"")
    assert cache.fingerprint(torch.zeros(0, 3, dtype=torch.int64)) == expected("(torch.int64, (0, 3))", b"")


def test_weights_only_loads_do_not_yield_to_torchs_opt_out_variable(fresh_cache, monkeypatch):
    """weights_only=True is passed explicitly, so the environment variable that turns torch.load's
    *default* into weights_only=False (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD) does not make the cache
    unpickle code: entries and checkpoints holding such a pickle are still refused and replaced."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    UNPICKLED.clear()
    cache.cached("k", lambda: torch.ones(1), kind="c")
    (entry,) = (fresh_cache / "c").glob("*.pt")
    torch.save({"v": _RunsCodeWhenLoaded()}, entry)
    assert torch.equal(cache.cached("k", lambda: torch.full((1,), 3.0), kind="c"), torch.full((1,), 3.0))
    assert UNPICKLED == []
    cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("env",), lambda m: None)
    (ckpt,) = (fresh_cache / "checkpoints").glob("*.pt")
    torch.save({"weight": _RunsCodeWhenLoaded()}, ckpt)
    assert cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("env",), lambda m: None) is False
    assert UNPICKLED == []


def _load_after_another_process_removed_it(monkeypatch):
    """torch.load that finds the entry corrupt while another run (recomputing the same entry)
    deletes it: the unlink that follows must not fail on the missing file."""
    def load(path, *args, **kwargs):
        Path(path).unlink()
        raise RuntimeError("PytorchStreamReader failed reading zip archive")

    monkeypatch.setattr(torch, "load", load)


def test_a_corrupt_entry_removed_meanwhile_by_another_run_is_recomputed(fresh_cache, monkeypatch):
    cache.cached("k", lambda: torch.ones(2), kind="c")
    with monkeypatch.context() as m:
        _load_after_another_process_removed_it(m)
        assert torch.equal(cache.cached("k", lambda: torch.full((2,), 7.0), kind="c"), torch.full((2,), 7.0))
    (entry,) = (fresh_cache / "c").glob("*.pt")
    assert torch.equal(torch.load(entry), torch.full((2,), 7.0))


def test_a_corrupt_checkpoint_removed_meanwhile_by_another_run_is_retrained(fresh_cache, monkeypatch):
    cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("key",), lambda m: None)
    trained = []
    with monkeypatch.context() as m:
        _load_after_another_process_removed_it(m)
        assert cache.checkpoint_or_train(torch.nn.Linear(2, 2), ("key",), lambda m: trained.append(1)) is False
    assert trained == [1] and len(list((fresh_cache / "checkpoints").glob("*.pt"))) == 1
