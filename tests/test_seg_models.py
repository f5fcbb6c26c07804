"""The RGB-D chapter's networks (Section 4.3): DeepLab V3+ (UM teacher / student) and the
SA-Gate fusion network (MM student), their encoder, gates, profiles and weight loading."""
import time

import pytest
import torch
import torch.nn.functional as F

from mke.kinds import DENSE, IGNORE_INDEX
from mke.models import MKEModel
from mke.seeds import init_scope
from mke.seg_models import (ASPP, SEG_PROFILES, DeepLabV3Plus, ResNetEncoder, SAGateDeepLab, SAGateFusion,
                            build)

UM, MM = ("rgb",), ("rgb", "hha")


def frames(modalities, n=2, h=24, w=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {m: torch.randn(n, 3, h, w, generator=g) for m in modalities}


def make(profile, arch, modalities, seed=0, n_classes=5):
    with init_scope(seed, "um_student" if len(modalities) == 1 else "mm_student"):
        return build(profile, arch, modalities, n_classes)


class CountingT:
    """A stand-in for mke.transforms.Transform that records every hook call; ``zero_drop``
    makes T.drop return zeros (to see that its output is what the decoder gets)."""

    def __init__(self, zero_drop=False):
        self.calls = {"perturb_input": [], "perturb_hidden": [], "drop": []}
        self.zero_drop = zero_drop

    def perturb_input(self, x):
        self.calls["perturb_input"].append(tuple(x.shape))
        return x

    def perturb_hidden(self, h, nonnegative=False):
        self.calls["perturb_hidden"].append((tuple(h.shape), nonnegative))
        return h

    def drop(self, h):
        self.calls["drop"].append(tuple(h.shape))
        return torch.zeros_like(h) if self.zero_drop else h


# ---------------------------------------------------------------- encoder
@pytest.mark.parametrize("output_stride, high", [(8, (7, 9)), (16, (4, 5)), (32, (2, 3))])
def test_encoder_strides_round_up_on_odd_sizes(output_stride, high):
    enc = ResNetEncoder(3, "mini", 4, output_stride, stem_kernel=3)
    low, out = enc(torch.randn(1, 3, 50, 66))
    # 50 x 66 -> stem 25 x 33 -> pool 13 x 17 (stage 1) -> 7 x 9 -> 4 x 5 -> 2 x 3
    assert low.shape == (1, 4, 13, 17)
    assert out.shape == (1, 32, *high)
    no_pool = ResNetEncoder(3, "mini", 4, output_stride, stem_kernel=3, stem_pool=False)
    assert no_pool(torch.randn(1, 3, 50, 66))[0].shape == (1, 4, 13, 17)  # stage 1 strides instead


def test_resnet_layouts_have_the_standard_channels_and_parameter_counts():
    # torchvision's resnet50 / resnet101 have 25,557,032 / 44,549,160 parameters, of which the
    # ImageNet classifier fc holds 2048 * 1000 + 1000 = 2,049,000
    for layout, n_params in (("res50", 23_508_032), ("res101", 42_500_160)):
        enc = ResNetEncoder(3, layout, 64, 16)
        assert enc.channels == (256, 512, 1024, 2048)
        assert sum(p.numel() for p in enc.parameters()) == n_params
    assert len(enc.layer3) == 23 and enc.state_dict()["layer3.22.conv3.weight"].shape == (1024, 256, 1, 1)
    assert ResNetEncoder(3, "res18", 64).channels == (64, 128, 256, 512)
    custom = ResNetEncoder(3, ("basic", (1, 2, 1, 1)), 4)
    assert [len(s) for s in custom.stages] == [1, 2, 1, 1]
    # output stride 16: stage 4 dilates by 2 (its first block keeps dilation 1), stride 1
    enc = ResNetEncoder(3, "res18", 8, 16)
    assert enc.layer4[0].conv1.stride == (1, 1) and enc.layer4[0].conv1.dilation == (1, 1)
    assert enc.layer4[1].conv1.dilation == (2, 2) and enc.layer3[1].conv1.dilation == (1, 1)
    enc = ResNetEncoder(3, "res18", 8, 8)
    assert enc.layer3[1].conv1.dilation == (2, 2) and enc.layer4[1].conv2.dilation == (4, 4)


def test_encoder_rejects_bad_settings():
    with pytest.raises(ValueError, match="output_stride must be one of"):
        ResNetEncoder(3, "mini", 4, output_stride=4)
    with pytest.raises(ValueError, match="layout must be one of"):
        ResNetEncoder(3, "res152", 4)
    with pytest.raises(ValueError, match="4 counts"):
        ResNetEncoder(3, ("basic", (1, 1, 1)), 4)


# ---------------------------------------------------------------- models: shapes, interface
@pytest.mark.parametrize("profile", ["quick", "book"])
@pytest.mark.parametrize("arch", ["res50", "res101"])
def test_logits_at_the_input_size(profile, arch):
    for modalities, cls in ((UM, DeepLabV3Plus), (MM, SAGateDeepLab)):
        model = make(profile, arch, modalities).eval()
        assert type(model) is cls and isinstance(model, MKEModel)
        assert model.class_dim == 1 and model.kind is DENSE and model.modalities == modalities
        blocks = {"res50": 1, "res101": 2}[arch]  # book/quick: basic [1,1,1,1] vs [2,2,2,2]
        encoder = model.encoder if cls is DeepLabV3Plus else model.encoders["hha"]
        assert [len(s) for s in encoder.stages] == [blocks] * 4
        assert encoder.width == SEG_PROFILES[profile]["width"]
        with torch.no_grad():
            for h, w in ((48, 64), (50, 66), (33, 41), (17, 23)):
                assert model(frames(modalities, 2, h, w)).shape == (2, 5, h, w)


def test_predict_proba_and_determinism_in_eval_mode():
    for modalities in (UM, MM):
        model = make("quick", "res101", modalities)
        x = frames(modalities, 3, 20, 28)
        model.train()
        model(x)  # moves BN running statistics away from their initial values
        model.eval()
        with torch.no_grad():
            p = model.predict_proba(x)
            assert p.shape == (3, 5, 20, 28) and (p >= 0).all()
            torch.testing.assert_close(p.sum(1), torch.ones(3, 20, 28))
            assert torch.equal(model(x), model(x))
            torch.testing.assert_close(p, model(x).softmax(1))


def test_inputs_are_checked():
    model = make("quick", "res50", MM)
    with pytest.raises(KeyError, match=r"missing \['hha'\]"):
        model(frames(UM))
    with pytest.raises(ValueError, match=r"'hha' must be \[N, 3, H, W\]"):
        model({"rgb": torch.randn(1, 3, 8, 8), "hha": torch.randn(1, 1, 8, 8)})
    with pytest.raises(ValueError, match="share batch size and H x W"):
        model({"rgb": torch.randn(1, 3, 8, 8), "hha": torch.randn(1, 3, 8, 10)})
    with pytest.raises(TypeError, match="dict of modalities"):
        make("quick", "res50", UM)(torch.randn(1, 3, 8, 8))


# ---------------------------------------------------------------- T hooks
def test_t_hooks_are_called_where_the_paper_puts_them():
    aspp = SEG_PROFILES["quick"]["aspp_channels"]
    for modalities in (UM, MM):
        model = make("quick", "res101", modalities).eval()
        x = frames(modalities, 2, 48, 64)
        T = CountingT()
        with torch.no_grad():
            out, plain = model(x, T), model(x)
        k = len(modalities)
        assert T.calls["perturb_input"] == [(2, 3, 48, 64)] * k  # each input once
        assert T.calls["perturb_hidden"] == [((2, 4, 12, 16), True)] * k  # each stem (after ReLU, pool)
        assert T.calls["drop"] == [(2, aspp, 6, 8)]  # the ASPP output, output stride 8
        assert torch.equal(out, plain)  # hooks returning their input change nothing
        with torch.no_grad():
            assert not torch.allclose(model(x, CountingT(zero_drop=True)), plain)


def test_a_real_transform_drops_reproducibly():
    from mke.transforms import T1, T3

    model = make("quick", "res50", MM).eval()
    x = frames(MM)

    def T():
        return (T1(0.5) + T3(0.5)).with_generator(torch.Generator().manual_seed(3))

    with torch.no_grad():
        a, b, plain = model(x, T()), model(x, T()), model(x)
    assert torch.equal(a, b) and not torch.allclose(a, plain)


# ---------------------------------------------------------------- SA-Gate
def test_gates_are_a_per_pixel_softmax_and_merge_the_recalibrated_streams():
    torch.manual_seed(0)
    gate = SAGateFusion(8)
    a, b = torch.rand(2, 8, 5, 7), torch.rand(2, 8, 5, 7)
    ra, rb, fused = gate(a, b)
    g = gate.weights(ra, rb)
    assert g.shape == (2, 2, 5, 7) and (g > 0).all()
    torch.testing.assert_close(g.sum(1), torch.ones(2, 5, 7))
    torch.testing.assert_close(fused, g[:, :1] * ra + g[:, 1:] * rb)
    # hand-set weights: channel weights sigmoid(0) = 1/2, gates softmax(0, 0) = (1/2, 1/2)
    with torch.no_grad():
        for mlp in (gate.channel_a, gate.channel_b):
            mlp[2].weight.zero_()
            mlp[2].bias.zero_()
        gate.gate.weight.zero_()
        gate.gate.bias.zero_()
    ra, rb, fused = gate(a, b)
    torch.testing.assert_close(ra, a + 0.5 * b)
    torch.testing.assert_close(rb, b + 0.5 * a)
    torch.testing.assert_close(fused, 0.75 * (a + b))
    with torch.no_grad():
        gate.gate.bias.copy_(torch.tensor([30.0, -30.0]))  # all weight on the first stream
    torch.testing.assert_close(gate(a, b)[2], a + 0.5 * b)


def test_sagate_needs_two_modalities():
    with pytest.raises(ValueError, match="use DeepLabV3Plus"):
        SAGateDeepLab(modalities=("rgb",), in_channels=(3,), layout="mini", width=4)
    with pytest.raises(ValueError, match="two distinct modalities"):
        SAGateDeepLab(modalities=("rgb", "rgb"), layout="mini", width=4)
    model = SAGateDeepLab(("rgb", "depth"), {"rgb": 3, "depth": 1}, 5, "mini", 4, 8, (1, 2), 8, 4, 8, 3)
    assert model({"rgb": torch.randn(1, 3, 16, 16), "depth": torch.randn(1, 1, 16, 16)}).shape == (1, 5, 16, 16)
    assert len(model.gates) == 4 and model.encoders["depth"].in_channels == 1


# ---------------------------------------------------------------- profiles, seeds
def test_build_checks_its_arguments_and_does_not_seed():
    with pytest.raises(ValueError, match="profile must be one of"):
        build("huge", "res101", UM, 40)
    with pytest.raises(ValueError, match="arch must be one of"):
        build("quick", "res18", UM, 40)
    with pytest.raises(ValueError, match=r"channels of modalities \['thermal'\]"):
        build("quick", "res50", ("rgb", "thermal"), 40)
    assert [len(s) for s in build("quick", "deep", UM, 40).encoder.stages] == [2, 2, 2, 2]
    assert [len(s) for s in build("quick", "shallow", UM, 40).encoder.stages] == [1, 1, 1, 1]
    assert build("quick", "res50", ("rgb", "thermal"), 40, {"thermal": 1}).encoders["thermal"].in_channels == 1
    with pytest.raises(ValueError, match="one or two names"):
        build("quick", "res50", ("rgb", "hha", "depth"), 40)
    with pytest.raises(ValueError, match="n_classes must be >= 2"):
        build("quick", "res50", UM, 1)
    same = [make("quick", "res50", MM, seed=0).state_dict() for _ in range(2)]
    other = make("quick", "res50", MM, seed=1).state_dict()
    key = "encoders.rgb.conv1.weight"
    assert torch.equal(same[0][key], same[1][key]) and not torch.equal(same[0][key], other[key])
    torch.manual_seed(0)
    a = build("quick", "res50", MM, 40).state_dict()[key]
    b = build("quick", "res50", MM, 40).state_dict()[key]
    assert not torch.equal(a, b)  # no seeding inside: the caller's init_scope decides


def test_paper_profile_res101_runs_one_step_on_cpu():
    t = time.perf_counter()
    model = make("paper", "res101", MM, n_classes=40)
    assert model.encoders["rgb"].channels == (256, 512, 1024, 2048) and model.encoders["rgb"].output_stride == 16
    assert model.aspp.rates == (6, 12, 18)
    out = model({m: torch.randn(1, 3, 33, 41) for m in MM})  # batch 1 in training mode
    assert out.shape == (1, 40, 33, 41)
    out.logsumexp(1).mean().backward()
    assert model.encoders["hha"].conv1.weight.grad is not None and model.gates[0].gate.weight.grad is not None
    print(f"\npaper res101 MM student: build + 1 forward/backward at 1 x 33 x 41: {time.perf_counter() - t:.1f} s")


# ---------------------------------------------------------------- training
@pytest.mark.parametrize("modalities", [UM, MM])
def test_overfits_two_frames(modalities):
    x = frames(modalities, 2, 24, 32, seed=1)
    y = torch.zeros(2, 24, 32, dtype=torch.long)
    y[:, :, 16:] = 1
    y[0, 8:16] = 2
    y[1, 12:20, 4:12] = 3
    y[:, :2] = IGNORE_INDEX  # unlabeled rows: left out of the loss
    model = make("quick", "res50", modalities)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        out = model(x)
        loss = DENSE.reduce(DENSE.loss(out, y), y)
        torch.testing.assert_close(loss, F.cross_entropy(out, y, ignore_index=IGNORE_INDEX))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.25 * losses[0], losses
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(1)
    valid = y != IGNORE_INDEX
    assert (pred[valid] == y[valid]).float().mean() > 0.8  # eval mode: BN running statistics lag


def test_book_profile_throughput():
    """Printed, not asserted: frames/s of fp32 SGD steps at 48 x 64, batch 16, this thread count."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 40, (16, 48, 64), generator=g)
    for arch in ("res50", "res101"):
        for modalities in (UM, MM):
            model = make("book", arch, modalities, n_classes=40)
            x = frames(modalities, 16, 48, 64)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            times = []
            for i in range(6):
                t = time.perf_counter()
                opt.zero_grad()
                F.cross_entropy(model(x), y, ignore_index=IGNORE_INDEX).backward()
                opt.step()
                times.append(time.perf_counter() - t)
            best = sorted(times[2:])[1]  # after two warm-up steps; the second fastest of four
            print(f"\nbook {arch} {'+'.join(modalities)}: {16 / best:.0f} frames/s "
                  f"({torch.get_num_threads()} thread(s))")


# ---------------------------------------------------------------- weights
def test_encoder_state_dict_round_trip_and_clear_errors(tmp_path):
    source = make("quick", "res101", UM, seed=0)
    path = tmp_path / "enc.pt"
    torch.save(source.encoder.state_dict(), path)
    target = make("quick", "res101", MM, seed=1)
    target.load_encoder(path)
    for m in MM:  # both streams start from the file (SA-Gate's ImageNet start)
        for k, v in source.encoder.state_dict().items():
            assert torch.equal(target.encoders[m].state_dict()[k], v), k
    um = make("quick", "res101", UM, seed=2)
    um.load_encoder(path)
    assert torch.equal(um.encoder.layer4[1].conv2.weight, source.encoder.layer4[1].conv2.weight)

    # an ImageNet-style file: a classifier fc, no BN counters, wrapped under "state_dict"
    wrapped = {k: v for k, v in source.encoder.state_dict().items() if not k.endswith("num_batches_tracked")}
    wrapped["fc.weight"] = torch.zeros(1000, 32)
    torch.save({"state_dict": wrapped, "epoch": 90}, tmp_path / "imagenet.pt")
    ResNetEncoder(3, "res18", 4, 8, stem_kernel=3).load_encoder(tmp_path / "imagenet.pt")

    shallow = tmp_path / "mini.pt"
    torch.save(make("quick", "res50", UM).encoder.state_dict(), shallow)
    with pytest.raises(ValueError, match=r"mini\.pt do not fit .*missing keys: layer1\.1\.bn1\.bias") as err:
        um.load_encoder(shallow)  # a [1,1,1,1] file into a [2,2,2,2] encoder
    assert "(+" in str(err.value)  # the long list is cut short
    before = um.encoder.conv1.weight.clone()
    wide = tmp_path / "wide.pt"
    torch.save(ResNetEncoder(3, "res18", 8, 8, stem_kernel=3).state_dict(), wide)
    with pytest.raises(ValueError, match=r"shape mismatches: bn1\.bias \(file \(8,\), encoder \(4,\)\)"):
        um.load_encoder(wide)
    assert torch.equal(um.encoder.conv1.weight, before)  # nothing loaded on error
    extra = dict(source.encoder.state_dict(), **{"head.weight": torch.zeros(2)})
    torch.save(extra, tmp_path / "extra.pt")
    with pytest.raises(ValueError, match=r"unexpected keys: head\.weight"):
        um.load_encoder(tmp_path / "extra.pt")
    with pytest.raises(FileNotFoundError, match="nowhere.pt: no such file"):
        um.load_encoder(tmp_path / "nowhere.pt")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="list.pt: expected a dict of tensors"):
        um.load_encoder(tmp_path / "list.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt: not a torch state_dict file"):
        um.load_encoder(tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="modality must be one of"):
        target.load_encoder(path, modality="depth")


def test_aspp_image_pooling_branch_works_at_batch_one():
    aspp = ASPP(8, 6, (1, 2)).train()
    out = aspp(torch.randn(1, 8, 3, 4))
    assert out.shape == (1, 6, 3, 4)


@pytest.mark.parametrize("h, w, size, by_gemm", [(6, 8, (24, 32), True), (3, 4, (6, 8), True), (5, 7, (23, 31), True),
                                                 (6, 8, (6, 8), False), (40, 48, (80, 96), False)])
def test_upsample_is_f_interpolate_and_so_is_its_gradient(h, w, size, by_gemm):
    """The decoder's upsampling (GEMM with interpolation matrices on small maps, F.interpolate on
    large ones) gives F.interpolate's values and gradients, at odd ratios and sizes too."""
    from mke.seg_models import _upsample_matrices, upsample

    _upsample_matrices.cache_clear()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, h, w, generator=g, requires_grad=True)
    grad = torch.randn(2, 5, *size, generator=g)
    ours = upsample(x, size)
    (g_ours,) = torch.autograd.grad(ours, x, grad)
    ref = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    (g_ref,) = torch.autograd.grad(ref, x, grad)
    assert ours.shape == (2, 5, *size)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(g_ours, g_ref, atol=1e-4, rtol=1e-4)
    # small maps take the GEMM path (it builds the matrices), a large one or no resize F.interpolate
    assert (_upsample_matrices.cache_info().misses == 1) == by_gemm


def test_bilinear_matrix_is_f_interpolate_of_the_identity():
    from mke.augment import bilinear_matrix

    for n_in, n_out in ((6, 24), (5, 23), (8, 8), (7, 3)):
        m = bilinear_matrix(n_in, n_out, torch.float64)
        eye = torch.eye(n_in, dtype=torch.float64)[None, :, :, None]  # [1, in, in, 1]: column j is e_j
        ref = F.interpolate(eye, size=(n_out, 1), mode="bilinear", align_corners=False)[0, :, :, 0].T
        torch.testing.assert_close(m, ref)
        torch.testing.assert_close(m.sum(1), torch.ones(n_out, dtype=torch.float64))


def test_decoder_upsamples_with_upsample(monkeypatch):
    import mke.seg_models as sm

    calls = []
    monkeypatch.setattr(sm, "upsample", lambda x, size: calls.append((tuple(x.shape[-2:]), tuple(size))) or
                        F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False))
    make("quick", "res50", UM)(frames(UM))
    assert calls and calls[-1][1] == (24, 32)
