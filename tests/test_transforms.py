"""T1, T2, T3: where they apply, how large they are, how they compose."""
import pytest
import torch

from mke.models import MLP
from mke.transforms import T1, T2, T3, Transform, dropout, random_lanes, relative_noise, stack_transforms


def test_t1_noise_is_relative_to_mean_abs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200_000, 2, generator=g) * 3.0
    noisy = relative_noise(x, 2.0, torch.Generator().manual_seed(1))
    expected_std = 2.0 * x.abs().mean().item()
    assert (noisy - x).std().item() == pytest.approx(expected_std, rel=0.01)
    assert (noisy - x).mean().item() == pytest.approx(0.0, abs=0.02 * expected_std)


def test_t1_zero_level_is_identity_and_draws_nothing():
    x = torch.randn(4, 2)
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert torch.equal(relative_noise(x, 0.0, g), x)
    assert torch.equal(g.get_state(), state)


def test_t2_acts_on_first_hidden_layer_only():
    """With fc1 = identity and fc2 zero, T2 is the only thing between input and the second layer."""
    model = MLP(2, 2)
    seen = {}
    model.fc2.register_forward_hook(lambda m, inp, out: seen.setdefault("h1", inp[0].clone()))
    x = torch.tensor([[1.0, 2.0]])
    with torch.no_grad():
        model.fc1.weight.copy_(torch.eye(2))
        model.fc1.bias.zero_()
    model(x, T2(0.5).with_generator(torch.Generator().manual_seed(0)))
    h1 = seen["h1"]
    assert not torch.equal(h1, x)  # perturbed
    eps = torch.randn((1, 2), generator=torch.Generator().manual_seed(0))
    assert torch.allclose(h1, x + 0.5 * x.abs().mean() * eps, atol=1e-6)


def test_t3_dropout_rate_and_scaling():
    h = torch.ones(400_000)
    out = T3(0.4).with_generator(torch.Generator().manual_seed(0)).drop(h)
    assert (out == 0).float().mean().item() == pytest.approx(0.4, abs=0.005)
    assert out.mean().item() == pytest.approx(1.0, abs=0.01)  # inverted dropout keeps the mean
    q = round(0.6 * 2 ** 16) / 2 ** 16  # the keep probability on 16-bit lanes, within 2^-17 of 0.6
    assert sorted(out.unique().tolist()) == [0.0, pytest.approx(1 / q, rel=1e-6)]
    assert 1 / q == pytest.approx(1 / 0.6, rel=2e-5)
    # the global-stream path without a generator is torch's own dropout, as in the authors' loop
    torch.manual_seed(0)
    a = T3(0.4).drop(h)
    torch.manual_seed(0)
    assert torch.equal(a, torch.nn.functional.dropout(h, 0.4))


def test_dropout_lanes_are_independent_and_per_member():
    """Each of the four 16-bit lanes of a 64-bit draw, and each member's rate, drops at its own rate."""
    rates = torch.tensor([0.0, 0.2, 0.5, 0.8]).view(-1, 1, 1)
    h = torch.ones(4, 1000, 100)
    out = dropout(h, rates, torch.Generator().manual_seed(1))
    dropped = (out == 0).float()
    for e, r in enumerate(rates.flatten().tolist()):
        for lane in range(4):  # element i comes from lane i % 4 of its word
            assert dropped[e].flatten()[lane::4].mean().item() == pytest.approx(r, abs=0.01), (r, lane)
    lanes = random_lanes((200_000,), torch.Generator().manual_seed(2)).float()
    assert lanes.min() == -2 ** 15 and lanes.max() == 2 ** 15 - 1
    assert lanes.mean().item() == pytest.approx(-0.5, abs=100)  # mean of U{-2^15, ..., 2^15 - 1}


def test_composition_and_identity():
    T = T1(1.0) + T3(0.4)
    assert (T.input_noise, T.hidden_noise, T.dropout) == (1.0, 0.0, 0.4)
    assert Transform().is_identity and T1(0).is_identity and not T.is_identity
    assert T.describe() == "T1 v0=1 + T3 r0=0.4"
    with pytest.raises(ValueError, match="both"):
        T1(1.0) + T1(2.0)


@pytest.mark.parametrize("kwargs, match", [({"input_noise": -1}, "input_noise"), ({"dropout": 1.0}, "dropout")])
def test_invalid_levels_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Transform(**kwargs)


def test_stacked_levels_are_per_member():
    T = stack_transforms([T1(0.0), T1(1.0), T1(2.0)], generator=torch.Generator().manual_seed(0))
    x = torch.ones(3, 1000, 1) * torch.tensor([1.0, 2.0, 3.0]).view(3, 1, 1)
    noise = T.perturb_input(x) - x
    assert noise[0].abs().max().item() == 0.0
    for e, (level, scale) in enumerate([(1.0, 2.0), (2.0, 3.0)], start=1):
        assert noise[e].std().item() == pytest.approx(level * scale, rel=0.1)


def test_describe_names_every_component_exactly():
    """T's description is what chapters print beside a setting: pin it component by component."""
    from mke.augment import JointFlip

    assert Transform().describe() == "identity"
    assert (T1(0.5) + T2(0.25) + T3(0.125)).describe() == "T1 v0=0.5 + T2 v1=0.25 + T3 r0=0.125"
    assert T3(0.3).describe() == "T3 r0=0.3" and T2(2.0).describe() == "T2 v1=2"
    assert Transform(input_noise=torch.tensor([0.1, 0.2])).describe() == "T1 v0=[...]"

    def blur(x):
        return x

    assert Transform(augment=blur).describe() == "augment=blur"
    assert Transform(augment=lambda x: x).describe() == "augment=<lambda>"

    class Custom:
        def __call__(self, x):
            return x

    assert Transform(augment=Custom()).describe() == "augment=custom"
    assert Transform(geometric=JointFlip(0.5)).describe() == "geometric=JointFlip(p=0.5)"
    assert (T1(1.0) + Transform(geometric=JointFlip(0.5))).describe() == "T1 v0=1 + geometric=JointFlip(p=0.5)"
