"""The event-classification networks (Section 4.4): layouts, T hooks, frames, training, throughput."""
import time

import pytest
import torch
import torch.nn.functional as F

from mke.event_models import (EVENT_PROFILES, KINETICS_MEAN, KINETICS_STD, AudioResNet, EventNet,
                              VideoResNet3D, build)
from mke.kinds import DENSE, MULTI_LABEL
from mke.models import MKEModel
from mke.seeds import init_scope

AV = ("audio", "video")


def batch(n=2, spec=(33, 40), frames=(2, 16, 16), uint8=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    t, h, w = frames
    video = torch.randint(0, 256, (n, t, 3, h, w), generator=g, dtype=torch.uint8)
    return {"audio": torch.randn(n, 1, *spec, generator=g), "video": video if uint8 else video.float() / 255}


def make(profile="quick", modalities=AV, n_classes=5, seed=0, **kw):
    with init_scope(seed, "mm_student"):
        return build(profile, modalities, n_classes, **kw)


def test_paper_backbones_have_torchvision_parameter_counts():
    """resnet18 (11,689,512 with its 1000-way fc; a 1-channel stem has 6,272 fewer weights) and
    r3d_18 (33,371,472 with its 400-way fc), less the fc: the layouts are the published ones."""
    assert sum(p.numel() for p in AudioResNet().parameters()) == 11_689_512 - 513_000 - 6_272
    assert sum(p.numel() for p in VideoResNet3D().parameters()) == 33_371_472 - 205_200
    assert AudioResNet().out_dim == VideoResNet3D().out_dim == 512


@pytest.mark.parametrize("profile", ["quick", "book"])
def test_output_shapes_per_profile(profile):
    x = batch(n=3, spec=(40, 48), frames=(4, 32, 32))
    for modalities in (("audio",), AV):
        model = make(profile, modalities, n_classes=7)
        assert model(x).shape == (3, 7)
        width = {m: getattr(EVENT_PROFILES[profile], m)["width"] for m in modalities}
        assert model.classifier.in_features == model.out_dim == 8 * sum(width.values())
    assert make(profile, ("audio",))({"audio": x["audio"][:, 0]}).shape == (3, 5)  # [N, F, T] gets its channel


def test_paper_profile_forward_backward_on_cpu():
    model = make("paper", AV, n_classes=46)
    assert model.out_dim == 1024  # 512 audio + 512 video features, one linear layer
    out = model(batch(n=2, spec=(33, 40), frames=(2, 16, 16)))
    assert out.shape == (2, 46)
    F.cross_entropy(out, torch.tensor([0, 1])).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_protocol_kind_and_probabilities():
    x = batch()
    single = make()
    assert isinstance(single, MKEModel) and single.class_dim == -1 and single.modalities == AV
    single.eval()
    with torch.no_grad():
        p = single.predict_proba(x)
        torch.testing.assert_close(p.sum(-1), torch.ones(2))
        torch.testing.assert_close(p, single(x).softmax(-1))
    multi = make(kind=MULTI_LABEL).eval()
    assert isinstance(multi, MKEModel) and multi.class_dim == -1
    with torch.no_grad():
        q = multi.predict_proba(x)
        torch.testing.assert_close(q, multi(x).sigmoid())  # independent sigmoids, not a softmax
    assert ((q >= 0) & (q <= 1)).all() and not torch.allclose(q.sum(-1), torch.ones(2))


def test_missing_modality_and_bad_arguments_are_named():
    model = make()
    with pytest.raises(KeyError, match="video"):
        model({"audio": batch()["audio"]})
    with pytest.raises(ValueError, match="profile"):
        EventNet(profile="huge")
    with pytest.raises(ValueError, match="modalities"):
        EventNet(("audio", "depth"))
    with pytest.raises(ValueError, match="kind"):
        EventNet(kind=DENSE)
    with pytest.raises(ValueError, match="layout"):
        AudioResNet(layout="res50")
    with pytest.raises(ValueError, match=r"'video' must be frames \[N, T, 3, H, W\]"):
        model({"audio": batch()["audio"], "video": torch.rand(2, 3, 2, 16, 16)})  # [N, C, T, H, W]: wrong order
    with pytest.raises(ValueError, match="'audio' must be a float"):
        model({"audio": torch.zeros(2, 1, 8, 8, dtype=torch.long), "video": batch()["video"]})
    with pytest.raises(ValueError, match="mean and std"):
        VideoResNet3D(in_channels=1)


class CountingT:
    """A fake T: counts hook calls and records what they see; ``zero_drop`` zeroes the features."""

    def __init__(self, zero_drop=False):
        self.inputs, self.dropped, self.zero_drop = [], [], zero_drop

    def perturb_input(self, x):
        self.inputs.append((tuple(x.shape), x.dtype))
        return x

    def drop(self, h):
        self.dropped.append(tuple(h.shape))
        return torch.zeros_like(h) if self.zero_drop else h


def test_t_hooks_are_called_where_the_paper_puts_them():
    model = make().eval()
    x = batch()
    T = CountingT()
    with torch.no_grad():
        plain, with_t = model(x), model(x, T)
    # each modality's prepared input once (video normalised, channels first), fused features once
    assert T.inputs == [((2, 1, 33, 40), torch.float32), ((2, 3, 2, 16, 16), torch.float32)]
    assert T.dropped == [(2, 64)]  # 32 audio + 32 video features (quick: width 4)
    assert torch.equal(plain, with_t)  # identity hooks change nothing
    with torch.no_grad():
        zeroed = model(x, CountingT(zero_drop=True))
    assert torch.equal(zeroed, model.classifier.bias.expand(2, -1))  # drop acts before the linear layer
    audio_only = make(modalities=("audio",)).eval()
    T = CountingT()
    audio_only(x, T)  # an extra "video" key is ignored
    assert len(T.inputs) == 1 and T.dropped == [(2, 32)]


def test_eval_is_deterministic_and_frames_uint8_equal_float():
    model = make()
    x = batch()
    with torch.no_grad():
        train_a, train_b = model(x), model(x)
        model.eval()
        a, b = model(x), model(x)
        f = model(batch(uint8=False))
    assert torch.equal(a, b) and torch.equal(train_a, train_b)
    assert not torch.allclose(a, train_a)  # eval uses BN's running statistics, training the batch's
    assert torch.equal(a, f)  # uint8 / 255 inside == float frames in [0, 1]


def test_frames_are_scaled_and_normalised_per_channel():
    video = VideoResNet3D(layout="res10", width=4)
    frames = torch.zeros(1, 2, 3, 4, 4, dtype=torch.uint8)
    frames[:, :, 1] = 255
    x = video.prepare(frames)
    assert x.shape == (1, 3, 2, 4, 4)  # channels first for Conv3d
    expected = [(0 - KINETICS_MEAN[0]) / KINETICS_STD[0], (1 - KINETICS_MEAN[1]) / KINETICS_STD[1],
                (0 - KINETICS_MEAN[2]) / KINETICS_STD[2]]
    torch.testing.assert_close(x[0, :, 0, 0, 0], torch.tensor(expected))
    assert (x[0, 1] == x[0, 1, 0, 0, 0]).all()


def test_initialisation_comes_from_the_callers_scope():
    def weights(m):
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    assert torch.equal(weights(make(seed=3)), weights(make(seed=3)))
    assert not torch.equal(weights(make(seed=3)), weights(make(seed=4)))
    torch.manual_seed(0)
    a = weights(build("quick", AV, 5))
    b = weights(build("quick", AV, 5))
    assert not torch.equal(a, b)  # nothing reseeds inside: the global stream moves on


def test_training_overfits_a_tiny_batch():
    x = batch(n=8, spec=(32, 32), frames=(2, 16, 16), seed=1)
    y = torch.arange(8) % 4
    model = make(n_classes=4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0]
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x).argmax(-1), y)


def test_state_dict_round_trip():
    source, target = make(seed=0), make(seed=1)
    source.train()
    source(batch(seed=5))  # move BN's running statistics off their start
    state = source.state_dict()
    assert not any(k.endswith((".mean", ".std")) for k in state)  # frame statistics are constants
    target.load_state_dict(state)
    source.eval(), target.eval()
    with torch.no_grad():
        assert torch.equal(source(batch()), target(batch()))


def test_book_profile_throughput(capsys):
    """Printed, not asserted (shared CPU cores): fp32, batch 32, forward + backward + SGD step."""

    def clips_per_s(modalities, x, steps=3):
        model = make("book", modalities, n_classes=46)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        y = torch.arange(32) % 46

        def step():
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        step()  # warm-up
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return 32 * steps / (time.perf_counter() - start)

    x = batch(n=32, spec=(64, 64), frames=(4, 32, 32))
    audio = clips_per_s(("audio",), {"audio": x["audio"]})
    both = clips_per_s(AV, x)
    with capsys.disabled():
        print(f"\nbook profile, {torch.get_num_threads()} thread(s): audio 64x64 {audio:.0f} clips/s; "
              f"audio + video (4 frames 32x32) {both:.0f} clips/s")
