"""Hardware and optimiser settings that every chapter relies on: device choice, autocast,
weight decay and the training configuration's validation; the parameters of the theory and
intro pages."""
import pytest
import torch

from mke.runtime import autocast, resolve_device
from mke.train import TrainConfig, fit


def test_resolve_device(monkeypatch):
    monkeypatch.delenv("MKE_DEVICE", raising=False)  # `pytest --nbval` sets it for the session
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")  # a device passes through
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device must be one of .*'gpu'"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda' was asked for"):
            resolve_device("cuda")


def test_autocast_is_bfloat16_on_cuda_and_a_no_op_on_cpu():
    x = torch.randn(4, 4)
    with autocast(torch.device("cpu")):
        assert (x @ x).dtype == torch.float32  # CPU training stays in float32: same numbers everywhere
    with pytest.warns(UserWarning) if not torch.cuda.is_available() else _nothing():
        ctx = autocast(torch.device("cuda"))
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16
    assert not isinstance(autocast(torch.device("cuda"), enabled=False), torch.autocast)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _fit_norm(weight_decay: float, optimizer: str) -> float:
    from mke.models import seeded_mlp

    torch.manual_seed(0)
    x, y = torch.randn(64, 2), torch.randint(0, 2, (64,))
    model = seeded_mlp(0, 2, 16)
    fit(model, x, y, TrainConfig(epochs=300, lr=0.1 if optimizer == "sgd" else 0.01, optimizer=optimizer,
                                 weight_decay=weight_decay), generator=torch.Generator().manual_seed(0))
    return float(sum(p.detach().norm() ** 2 for p in model.parameters()) ** 0.5)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weight_decay_shrinks_the_weights(optimizer):
    """On the MLP the chapters train (whose CPU gradients come from mke.fused) and with each optimiser."""
    assert _fit_norm(0.05, optimizer) < 0.8 * _fit_norm(0.0, optimizer)


@pytest.mark.parametrize("change, match", [
    ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
    ({"momentum": 1.0}, "momentum must lie in"),
    ({"form": "eq5"}, "form must be one of"),
    ({"gamma": -1.0}, "gamma must be a finite number"),
    ({"gamma": float("inf")}, "gamma must be a finite number"),
    ({"epochs": 0}, "epochs must be a positive int"),
    ({"lr": 0.0}, "lr must be > 0"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
])
def test_train_config_names_a_bad_setting(change, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{"epochs": 1, **change})


@pytest.mark.parametrize("spec, good, name, bad, match", [
    ("theory", dict(profile="book", device="cpu", n_samples=40000, n_repeats=3, results_dir=".", threads=2),
     "n_samples", 10, "'n_samples' must lie in"),
    ("theory", dict(profile="book", device="cpu", n_samples=40000, n_repeats=3, results_dir=".", threads=2),
     "n_repeats", 0, "'n_repeats' must lie in"),
    ("theory", dict(profile="book", device="cpu", n_samples=40000, n_repeats=3, results_dir=".", threads=2),
     "results_dir", "/no/such/folder", "'results_dir'"),
    ("theory", dict(profile="book", device="cpu", n_samples=40000, n_repeats=3, results_dir=".", threads=2),
     "device", "tpu", "'device' must be one of"),
    ("intro", dict(results_dir="."), "results_dir", "/no/such/folder", "'results_dir'"),
    ("claims", dict(results_dir="."), "results_dir", "/no/such/folder", "'results_dir'"),
])
def test_theory_intro_and_claims_parameters_are_checked(spec, good, name, bad, match, tmp_path, monkeypatch):
    import importlib

    monkeypatch.chdir(tmp_path)
    params = importlib.import_module(f"mke.experiments.{spec}").PARAMETERS
    params.validate(good)  # the defaults pass
    with pytest.raises(ValueError, match=match):
        params.validate({**good, name: bad})


def test_mke_device_decides_what_auto_means(monkeypatch):
    """The regression suite sets MKE_DEVICE=cpu: a CUDA machine then re-executes as the committed CPU run."""
    monkeypatch.setenv("MKE_DEVICE", "cpu")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")  # an explicit device is not overridden
    monkeypatch.setenv("MKE_DEVICE", "tpu")
    with pytest.raises(ValueError, match=r"\$MKE_DEVICE must be 'cpu' or 'cuda'.*'tpu'"):
        resolve_device("auto")
    monkeypatch.delenv("MKE_DEVICE")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
