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


# --- exact draws, devices, dtypes and composition rules (pinned against independent computations) ---

def test_zero_tensor_levels_are_identity_and_draw_nothing():
    """An all-zero [E, 1, 1] level tensor is 'zero' as a float 0 is: T is identity, no draw is made."""
    from mke.transforms import _is_zero

    zeros = torch.zeros(3, 1, 1)
    assert _is_zero(zeros) is True and _is_zero(torch.tensor([0.0, 1.0])) is False
    assert _is_zero(torch.ones(2)) is False and _is_zero(0.0) and not _is_zero(0.5)
    assert Transform(input_noise=zeros, hidden_noise=zeros, dropout=zeros).is_identity
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    x = torch.randn(3, 4, 2)
    assert relative_noise(x, zeros, g, ensemble=True) is x
    assert dropout(x, zeros, g) is x
    assert torch.equal(g.get_state(), state)


def test_mean_abs_takes_abs_unless_told_nonnegative():
    from mke.transforms import _mean_abs

    x = torch.tensor([[-1.0, 2.0], [3.0, -6.0]])
    assert _mean_abs(x, False).item() == 3.0  # default: mean(|x|)
    assert _mean_abs(x, True).flatten().tolist() == [1.5, 4.5]  # per member, shape [E, 1]
    assert _mean_abs(x, True).shape == (2, 1)
    assert _mean_abs(x, False, nonnegative=True).item() == -0.5  # the abs is skipped: mean(x) as is


def test_relative_noise_draws_eps_in_the_input_dtype():
    """eps is drawn in x's dtype from the generator: a float64 x sees float64 draws, exactly."""
    x = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    out = relative_noise(x, 0.7, torch.Generator().manual_seed(4))
    eps = torch.randn((5, 3), generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    assert out.dtype == torch.float64
    assert torch.allclose(out, x + 0.7 * x.abs().mean() * eps, rtol=0, atol=1e-12)


def test_nonnegative_path_equals_general_path_and_differentiates_mean_as_is():
    """After a ReLU (h >= 0) the fast path gives the same values; its scale is mean(h) itself, so
    d out / d h carries level * sum(eps) / n at every unit, zeros included (the abs path gives 0 there)."""
    h0 = torch.relu(torch.randn(4, 6, generator=torch.Generator().manual_seed(5)))
    h0[0, :3] = 0.0
    eps = torch.randn((4, 6), generator=torch.Generator().manual_seed(6))
    n = h0.numel()
    for call in (lambda h: relative_noise(h, 0.5, torch.Generator().manual_seed(6), nonnegative=True),
                 lambda h: T2(0.5).with_generator(torch.Generator().manual_seed(6)).perturb_hidden(
                     h, nonnegative=True)):
        h = h0.clone().requires_grad_(True)
        out = call(h)
        general = relative_noise(h0, 0.5, torch.Generator().manual_seed(6))
        assert torch.allclose(out.detach(), general, rtol=0, atol=1e-6)
        out.sum().backward()
        expected = 1.0 + 0.5 * eps.sum() / n
        assert torch.allclose(h.grad, expected.expand_as(h0), rtol=0, atol=1e-6)


def test_perturb_hidden_defaults_to_the_abs_path_and_is_per_member_for_ensembles():
    h = torch.randn(3, 5, 2, generator=torch.Generator().manual_seed(7))  # has negative entries
    out = T2(0.5).with_generator(torch.Generator().manual_seed(8)).perturb_hidden(h)
    eps = torch.randn((3, 5, 2), generator=torch.Generator().manual_seed(8))
    assert torch.allclose(out, h + 0.5 * h.abs().mean() * eps, rtol=0, atol=1e-6)
    T = stack_transforms([T2(0.5), T2(1.0), T2(2.0)], generator=torch.Generator().manual_seed(8))
    out = T.perturb_hidden(h)
    levels = torch.tensor([0.5, 1.0, 2.0]).view(3, 1, 1)
    per_member = h.abs().flatten(1).mean(1).view(3, 1, 1)
    assert torch.allclose(out, h + levels * per_member * eps, rtol=0, atol=1e-6)


def test_perturb_input_applies_augment_before_the_noise():
    x = torch.tensor([[1.0, -2.0]])
    assert torch.equal(Transform(augment=lambda t: 3 * t).perturb_input(x), 3 * x)
    T = Transform(input_noise=0.5, augment=lambda t: t + 1.0).with_generator(torch.Generator().manual_seed(9))
    eps = torch.randn((1, 2), generator=torch.Generator().manual_seed(9))
    y = x + 1.0
    assert torch.allclose(T.perturb_input(x), y + 0.5 * y.abs().mean() * eps, rtol=0, atol=1e-6)


def test_transforms_follow_the_input_device_not_the_default_device():
    """Every tensor the transforms create lives on the input's (or the named) device, whatever
    torch's default device is: under a 'meta' default the CPU results are unchanged."""
    from mke.transforms import keep_threshold

    x = torch.randn(3, 4, 8, generator=torch.Generator().manual_seed(10))
    expect_noise = relative_noise(x, 0.5, torch.Generator().manual_seed(11))
    expect_drop = dropout(x, 0.3, torch.Generator().manual_seed(12))
    expect_lanes = random_lanes((5, 3), torch.Generator().manual_seed(13))
    g1, g2, g3 = (torch.Generator().manual_seed(s) for s in (11, 12, 13))
    with torch.device("meta"):
        noise = relative_noise(x, 0.5, g1)
        dropped = dropout(x, 0.3, g2)
        lanes = random_lanes((5, 3), g3, device="cpu")
        thr, scale = keep_threshold(0.3, device="cpu")
        T = stack_transforms([T1(0.5), T1(1.0)], device="cpu")
    assert torch.equal(noise, expect_noise) and torch.equal(dropped, expect_drop)
    assert torch.equal(lanes, expect_lanes)
    assert thr.device.type == scale.device.type == "cpu"
    assert T.input_noise.device.type == T.hidden_noise.device.type == T.dropout.device.type == "cpu"


def test_keep_threshold_exact_values_and_floor_of_one_kept_lane():
    from mke.transforms import keep_threshold

    thr, scale = keep_threshold(0.25)
    assert (thr.item(), scale.item()) == (49152 - 32768, pytest.approx(65536 / 49152, rel=1e-7))
    thr, scale = keep_threshold(0.99999)  # round(0.65536) = 1 lane value of 65536 kept
    assert (thr.item(), scale.item()) == (1 - 32768, 65536.0)
    thr, scale = keep_threshold(torch.tensor([0.0, 0.5]).view(2, 1, 1))
    assert thr.flatten().tolist() == [32768.0, 0.0] and scale.flatten().tolist() == [1.0, 2.0]


def test_random_lanes_draw_exactly_ceil_n_over_4_words():
    """Four lanes per int64 word: n lanes consume ceil(n / 4) words of the generator, lay in a
    buffer of exactly that size, and a caller's larger buffer is written only in its first words."""
    for n in (8, 9, 12):
        words = (n + 3) // 4
        g = torch.Generator().manual_seed(14)
        lanes = random_lanes((n,), g)
        ref = torch.Generator().manual_seed(14)
        expect = torch.empty(words, dtype=torch.int64).random_(-2 ** 63, None, generator=ref)
        assert torch.equal(lanes, expect.view(torch.int16)[:n])
        assert torch.equal(g.get_state(), ref.get_state())
        assert lanes.untyped_storage().nbytes() == 8 * words
        buf = torch.full((words + 2,), 7, dtype=torch.int64)
        g = torch.Generator().manual_seed(14)
        assert torch.equal(random_lanes((n,), g, words=buf), lanes)
        assert torch.equal(g.get_state(), ref.get_state())
        assert buf[words:].tolist() == [7, 7]


def test_dropout_mask_is_exactly_lanes_below_threshold():
    """A unit is kept iff its lane u < threshold (strictly): choose the rate so that the threshold
    equals a drawn lane; that unit is dropped and the rest match the independent mask times 1/q."""
    n = 64
    lanes = random_lanes((n,), torch.Generator().manual_seed(15))
    u = int(lanes[0])
    kept = u + 2 ** 15
    assert 1 <= kept < 2 ** 16
    rate = 1.0 - kept / 2 ** 16
    h = torch.arange(1.0, n + 1)
    out = dropout(h, rate, torch.Generator().manual_seed(15))
    assert out[0].item() == 0.0
    expected = h * (lanes < u).float() * (2 ** 16 / kept)
    assert torch.allclose(out, expected, rtol=1e-6, atol=0)


def test_dropout_keeps_the_input_dtype():
    h = torch.ones(4, 8, dtype=torch.float16)
    out = dropout(h, 0.5, torch.Generator().manual_seed(16))
    assert out.dtype == torch.float16
    out = dropout(h.double(), torch.tensor([0.5]).view(1, 1, 1), torch.Generator().manual_seed(16))
    assert out.dtype == torch.float64


def test_composition_merges_generators_and_ensemble_flag_from_the_left():
    g1, g2, ga, gb = (torch.Generator() for _ in range(4))
    left = T1(1.0).with_generator(g1, ga)
    right = T3(0.4).with_generator(g2, gb)
    both = left + right
    assert both.generator is g1 and both.augment_generator is ga  # left wins when both are set
    only_right = T1(1.0) + right
    assert only_right.generator is g2 and only_right.augment_generator is gb
    only_left = left + T3(0.4)
    assert only_left.generator is g1 and only_left.augment_generator is ga
    assert (T1(1.0) + T3(0.4)).generator is None
    ens = Transform(input_noise=1.0, ensemble=True)
    assert (ens + Transform(dropout=0.2, ensemble=True)).ensemble is True
    assert (ens + T3(0.2)).ensemble is True and (T3(0.2) + ens).ensemble is True
    assert (T1(1.0) + T3(0.2)).ensemble is False
    with pytest.raises(ValueError, match=r"^both transformations set dropout; compose disjoint pieces$"):
        T3(0.1) + T3(0.2)


def test_stacking_rejects_augmentations_with_its_message():
    with pytest.raises(ValueError, match=r"^input augmentations cannot be stacked into an ensemble transform$"):
        stack_transforms([T1(1.0), Transform(augment=lambda x: x)])
