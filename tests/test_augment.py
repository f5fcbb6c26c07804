"""Joint flip / scale / crop: every map of a sample moves together, padding is flagged, strength 0 is exact."""
import pytest
import torch
import torch.nn.functional as F

from mke.augment import (Compose, JointCrop, JointFlip, JointScale, ModalityDrop, Photometric, WindowParams,
                         paper_segmentation_augment)

N, H, W, K = 16, 32, 48, 3
KINDS = {"rgb": "image", "hha": "image", "label": "label", "soft": "soft", "weight": "weight", "idx": "vector"}
ROWS, COLS = (10, 14), (8, 12)  # the marker block: off-centre, so a flip moves it
MARK = 7


def gen(seed):
    return torch.Generator().manual_seed(seed)


def make_batch(seed=0, soft_dtype=torch.float32):
    g = gen(seed)
    soft = torch.softmax(3 * torch.randn(N, K, H, W, generator=g), dim=1).to(soft_dtype)
    return {
        "rgb": torch.randn(N, 3, H, W, generator=g),
        "hha": torch.rand(N, 3, H, W, generator=g),
        "label": torch.randint(0, 5, (N, H, W), generator=g),
        "soft": soft,
        "weight": torch.rand(N, H, W, generator=g) + 0.5,
        "idx": torch.arange(N),
    }


def marker_batch():
    """A 4x4 block marked in every map: image channel 0 = 1, label = MARK, soft all mass on class 2."""
    rgb = torch.zeros(N, 3, H, W)
    label = torch.zeros(N, H, W, dtype=torch.long)
    soft = torch.zeros(N, K, H, W)
    soft[:, 0] = 1
    block = (slice(None), slice(*ROWS), slice(*COLS))
    rgb[:, 0][block] = 1
    label[block] = MARK
    soft[:, 0][block], soft[:, 2][block] = 0, 1
    return {"rgb": rgb, "label": label, "soft": soft, "weight": torch.ones(N, H, W)}


def centroid(mass):
    """(row, col) centre of a non-negative [H, W] mass in continuous coordinates (pixel i spans [i, i+1])."""
    mass = mass.double()
    total = mass.sum()
    ys = torch.arange(mass.shape[0], dtype=torch.float64) + 0.5
    xs = torch.arange(mass.shape[1], dtype=torch.float64) + 0.5
    return (mass.sum(1) @ ys / total).item(), (mass.sum(0) @ xs / total).item()


def map_point(aug, params, n, y, x, size):
    """Where the continuous point (y, x) of sample n goes, worked out from the parameters alone."""
    if isinstance(aug, Compose):
        for a, p in zip(aug.augs, params.parts):
            (y, x), size = map_point(a, p, n, y, x, size)
        return (y, x), size
    if isinstance(aug, JointFlip):
        return (y, size[1] - x if params.flip[n] else x), size
    if isinstance(aug, (JointScale, JointCrop)):
        (sh, sw), (top, left) = params.size[n].tolist(), params.offset[n].tolist()
        return (y * sh / size[0] - top, x * sw / size[1] - left), params.out_size
    return (y, x), size


def window_reference(x, params, n, mode, fill):
    """Sample n through F.interpolate to its rescaled size, then cropped/padded by hand."""
    (sh, sw), (top, left) = params.size[n].tolist(), params.offset[n].tolist()
    oh, ow = params.out_size
    kw = {} if mode == "nearest-exact" else {"align_corners": False}
    big = F.interpolate(x[n:n + 1].double(), size=(sh, sw), mode=mode, **kw)[0]
    out = torch.full((x.shape[1], oh, ow), float(fill), dtype=torch.float64)
    ys = torch.arange(oh) + top
    xs = torch.arange(ow) + left
    vy, vx = (ys >= 0) & (ys < sh), (xs >= 0) & (xs < sw)
    out[:, vy.nonzero()[:, 0, None], vx.nonzero()[:, 0]] = big[:, ys[vy][:, None], xs[vx]]
    return out


# Against F.interpolate ---------------------------------------------------------------------

@pytest.mark.parametrize("low, high", [(0.5, 0.9), (1.1, 1.75), (0.5, 1.75)])
def test_scale_matches_interpolate_then_crop_or_pad(low, high):
    batch = make_batch()
    aug = JointScale(low, high)
    out, p = aug(batch, KINDS, gen(3))
    assert ((p.size < torch.tensor([H, W])).any() if low < 1 else True)
    assert ((p.size > torch.tensor([H, W])).any() if high > 1 else True)
    for n in range(N):
        for key in ("rgb", "soft"):
            ref = window_reference(batch[key], p, n, "bilinear", 0)
            torch.testing.assert_close(out[key][n].double(), ref, atol=1e-5, rtol=0)
        ref = window_reference(batch["weight"][:, None], p, n, "bilinear", 0)[0]
        torch.testing.assert_close(out["weight"][n].double(), ref, atol=1e-5, rtol=0)
        # labels: torch's float rounding may pick the other pixel exactly on a tie, (i + 1/2) H / h integral
        ref = window_reference(batch["label"][:, None].float(), p, n, "nearest-exact", 255)[0].long()
        (sh, sw), (top, left) = p.size[n].tolist(), p.offset[n].tolist()
        tie_r = ((2 * (torch.arange(H) + top) + 1) * H) % (2 * sh) == 0
        tie_c = ((2 * (torch.arange(W) + left) + 1) * W) % (2 * sw) == 0
        tie = tie_r[:, None] | tie_c[None, :]
        differ = out["label"][n] != ref
        assert not (differ & ~tie).any() and differ.float().mean() < 0.05


def test_crop_is_a_slice():
    batch = make_batch()
    out, p = JointCrop((20, 24))(batch, KINDS, gen(1))
    assert out["rgb"].shape == (N, 3, 20, 24) and out["label"].shape == (N, 20, 24)
    assert len(set(map(tuple, p.offset.tolist()))) > 1  # offsets vary per sample
    for n in range(N):
        t, l = p.offset[n].tolist()
        assert 0 <= t <= H - 20 and 0 <= l <= W - 24
        for key in ("rgb", "hha", "soft", "label", "weight"):
            assert torch.equal(out[key][n], batch[key][n][..., t:t + 20, l:l + 24]), key
    video = torch.randn(N, 4, 3, H, W)  # [N, T, C, H, W] frames: an "image" with more leading axes
    moved = JointScale().apply(JointScale()(batch, KINDS, gen(1))[1], video, "image")
    assert moved.shape == video.shape and not torch.equal(moved, video)
    t, l = p.offset[0].tolist()
    assert torch.equal(JointCrop((20, 24)).apply(p, video, "image")[0], video[0, ..., t:t + 20, l:l + 24])


def test_flip_mirrors_exactly_the_drawn_samples():
    batch = make_batch()
    out, p = JointFlip(0.5)(batch, KINDS, gen(0))
    assert 0 < int(p.flip.sum()) < N
    for n in range(N):
        for key in ("rgb", "soft", "label", "weight"):
            want = batch[key][n].flip(-1) if p.flip[n] else batch[key][n]
            assert torch.equal(out[key][n], want), (key, n)
    out, p = JointFlip(1.0)(batch, KINDS, gen(0))
    assert p.flip.all() and torch.equal(out["label"], batch["label"].flip(-1))


# Alignment ---------------------------------------------------------------------------------

@pytest.mark.parametrize("aug", [
    JointFlip(0.5), JointScale(0.5, 1.75), JointCrop((24, 30)),
    Compose(JointFlip(0.5), JointScale(0.5, 1.75), JointCrop((24, 40))),
], ids=["flip", "scale", "crop", "compose"])
def test_marker_lands_at_the_same_place_in_every_map(aug):
    batch = marker_batch()
    out, p = aug(batch, KINDS, gen(5))
    checked = 0
    for n in range(N):
        (ey, ex), (oh, ow) = map_point(aug, p, n, sum(ROWS) / 2, sum(COLS) / 2, (H, W))
        scale = (p.parts[1] if isinstance(aug, Compose) else p)
        scale = scale.scale[n].item() if isinstance(scale, WindowParams) else 1.0
        half = 2 * scale + 1.5  # half the marker's rescaled size, and a margin
        if not (half <= ey <= oh - half and half <= ex <= ow - half):
            continue  # the crop cut the marker off this sample
        checked += 1
        img = centroid(out["rgb"][n, 0])
        lab = centroid((out["label"][n] == MARK).float())
        soft = centroid(out["soft"][n, 2])
        for got, tol in ((img, 0.35), (soft, 0.35), (lab, 0.8)):
            assert got[0] == pytest.approx(ey, abs=tol) and got[1] == pytest.approx(ex, abs=tol), (n, got, ey, ex)
        # and the maps agree where the marker is: label MARK exactly where the soft map favours class 2
        sure = (out["soft"][n, 2] > 0.9) | (out["soft"][n, 0] > 0.9)
        assert torch.equal((out["label"][n] == MARK)[sure], (out["soft"][n, 2] > 0.9)[sure])
        assert torch.equal(out["rgb"][n, 0][sure] > 0.5, (out["soft"][n, 2] > 0.5)[sure])
    assert checked >= N // 2


def test_flipping_twice_with_the_same_params_is_the_identity():
    batch = make_batch()
    aug = JointFlip(0.5)
    once, p = aug(batch, KINDS, gen(2))
    assert not torch.equal(once["rgb"], batch["rgb"])
    for key, kind in KINDS.items():
        assert torch.equal(aug.apply(p, once[key], kind), batch[key]), key


# Labels, padding, distributions ------------------------------------------------------------

def test_scaled_labels_hold_only_original_values_or_ignore_index():
    batch = make_batch()
    batch["label"] = (batch["label"] * 3 + 1).to(torch.uint8)  # values {1, 4, 7, 10, 13}: interpolation would show
    for aug in (JointScale(0.5, 1.75), JointScale(0.5, 0.7, ignore_index=250)):
        out, _ = aug(batch, KINDS, gen(4))
        assert out["label"].dtype == torch.uint8
        allowed = set(batch["label"].unique().tolist()) | {aug.ignore_index}
        assert set(out["label"].unique().tolist()) <= allowed
        assert aug.ignore_index in out["label"].unique().tolist() if aug.high < 1 else True


def test_padding_is_ignore_label_zero_weight_zero_soft():
    batch = make_batch()
    out, p = JointScale(0.5, 0.8)(batch, KINDS, gen(6))
    for n in range(N):
        (sh, sw), (top, left) = p.size[n].tolist(), p.offset[n].tolist()
        assert top <= 0 and left <= 0 and -top + sh <= H and -left + sw <= W
        inside = torch.zeros(H, W, dtype=torch.bool)
        inside[-top:-top + sh, -left:-left + sw] = True
        pad = ~inside
        assert pad.sum() == H * W - sh * sw > 0
        assert (out["label"][n][pad] == 255).all() and (out["label"][n][inside] != 255).all()
        assert (out["weight"][n][pad] == 0).all() and (out["weight"][n][inside] > 0).all()
        assert (out["soft"][n][:, pad] == 0).all() and (out["rgb"][n][:, pad] == 0).all()
        # a map of ones of kind "weight" flags the pixels that came from the sample
    ones = JointScale().apply(p, torch.ones(N, H, W), "weight")
    assert torch.equal(ones > 0, out["label"] != 255)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_soft_maps_stay_distributions(dtype):
    batch = make_batch(soft_dtype=dtype)
    aug = paper_segmentation_augment(KINDS)
    out, _ = aug(batch, generator=gen(7))
    soft = out["soft"]
    assert soft.dtype == dtype
    counted = (out["weight"] > 0) & (out["label"] != 255)
    assert counted.any() and (~counted).any()
    sums = soft.float().sum(1)
    assert (sums[counted] - 1).abs().max() < 1e-3
    assert (soft.float() >= 0).all() and (sums[~counted] == 0).all()
    # computed in float32 and cast back once: the same as augmenting the float32 map
    ref, _ = aug({**batch, "soft": batch["soft"].float()}, generator=gen(7))
    assert torch.equal(soft, ref["soft"].to(dtype))


# Strength 0, determinism, apply ------------------------------------------------------------

@pytest.mark.parametrize("aug", [
    JointFlip(0.0), JointScale(1.0, 1.0), Photometric("rgb", 0.0, 0.0),
    Compose(JointFlip(0.0), JointScale(1.0, 1.0), Photometric("hha")),
], ids=["flip", "scale", "photometric", "compose"])
def test_strength_zero_is_the_exact_identity_and_draws_nothing(aug):
    batch = make_batch(soft_dtype=torch.float16)
    g = gen(0)
    state = g.get_state()
    assert aug.is_identity
    out, p = aug(batch, KINDS, g)
    assert torch.equal(g.get_state(), state)
    for key in batch:
        assert torch.equal(out[key], batch[key]) and out[key].dtype == batch[key].dtype, key
        assert torch.equal(aug.apply(p, batch[key], KINDS[key]), batch[key]), key


def test_modality_drop_blanks_whole_samples_of_one_key_only():
    batch = make_batch()
    g = gen(3)
    state = g.get_state()
    out, p = ModalityDrop("rgb", 0.0)(batch, KINDS, g)
    assert torch.equal(g.get_state(), state) and torch.equal(out["rgb"], batch["rgb"])
    big = {k: v.repeat(50, *([1] * (v.dim() - 1))) for k, v in batch.items()}
    out, p = ModalityDrop("rgb", 0.4)(big, KINDS, gen(3))
    blank = (out["rgb"] == 0).flatten(1).all(1)
    kept = (out["rgb"] == big["rgb"]).flatten(1).all(1)
    assert bool((blank ^ kept).all())  # each sample whole: blanked or untouched
    assert 0.25 < blank.float().mean() < 0.55  # about p of them
    assert all(torch.equal(out[k], big[k]) for k in big if k != "rgb")  # geometry and other keys untouched
    with pytest.raises(ValueError, match="ModalityDrop.p"):
        ModalityDrop("rgb", 1.0)


def test_non_identity_flags():
    assert not JointFlip(0.1).is_identity and not JointScale(1.0, 1.2).is_identity
    assert not JointScale(0.8, 0.8).is_identity and not Photometric("rgb", contrast=0.1).is_identity
    assert not Compose(JointFlip(0.0), JointScale()).is_identity


def test_full_size_crop_and_unit_scale_window_copy_exactly():
    batch = make_batch()
    out, _ = JointCrop((H, W))(batch, KINDS, gen(0))
    assert all(torch.equal(out[k], batch[k]) for k in batch)
    params = WindowParams(torch.ones(N, dtype=torch.float64), torch.tensor([H, W]).repeat(N, 1),
                          torch.zeros(N, 2, dtype=torch.long), (H, W), (H, W))
    soft = torch.softmax(torch.randn(N, K, H, W), 1)
    # not short-circuited: through the resampler, still bit-exact
    params_shifted = WindowParams(params.scale, params.size, torch.tensor([[0, 1]]).repeat(N, 1), (H, W), (H, W))
    moved = JointScale().apply(params_shifted, soft, "soft")
    assert torch.equal(moved[..., :-1], soft[..., 1:]) and (moved[..., -1] == 0).all()


@pytest.mark.parametrize("make", [lambda: JointFlip(), lambda: JointScale(), lambda: JointCrop(20),
                                  lambda: Photometric("rgb", 0.4, 0.4), paper_segmentation_augment])
def test_same_seed_same_result_different_seed_different(make):
    batch = make_batch()
    a, pa = make()(batch, KINDS, gen(11))
    b, pb = make()(batch, KINDS, gen(11))
    c, _ = make()(batch, KINDS, gen(12))
    for key in batch:
        assert torch.equal(a[key], b[key]), key
    assert not torch.equal(a["rgb"], c["rgb"])


def test_apply_equals_transforming_inside_the_batch():
    batch = make_batch()
    aug = Compose(JointFlip(), Photometric("rgb", 0.3, 0.3), JointScale(), JointCrop((24, 36)))
    logits = torch.randn(N, 5, H, W, requires_grad=True)  # the clean model's output, K differs from "soft"
    out, p = aug(batch, KINDS, gen(9))
    inside, _ = aug({**batch, "logits": logits}, {**KINDS, "logits": "soft"}, gen(9))
    applied = aug.apply(p, logits, "soft")
    assert applied.shape == (N, 5, 24, 36)
    assert torch.equal(applied, inside["logits"])
    assert torch.equal(aug.apply(p, batch["label"], "label"), out["label"])
    assert not torch.equal(applied, logits[..., :24, :36])
    applied.sum().backward()  # the consistency term's gradient reaches the clean branch
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_scale_parameters_are_per_sample_and_in_range():
    out, p = JointScale(0.5, 1.75)(make_batch(), KINDS, gen(13))
    assert ((p.scale >= 0.5) & (p.scale <= 1.75)).all() and p.scale.unique().numel() == N
    assert torch.equal(p.size, torch.round(p.scale[:, None] * torch.tensor([H, W])).long())
    span = (p.size - torch.tensor([H, W])).abs()
    crop = p.size >= torch.tensor([H, W])
    assert (p.offset.abs() <= span).all() and ((p.offset >= 0) | ~crop).all() and ((p.offset <= 0) | crop).all()
    assert (p.offset > 0).any() and (p.offset < 0).any()
    assert out["rgb"].shape == (N, 3, H, W) and torch.equal(out["idx"], torch.arange(N))


# Photometric -------------------------------------------------------------------------------

def test_photometric_touches_one_image_only():
    batch = make_batch()
    aug = Photometric("rgb", brightness=0.4, contrast=0.4)
    out, p = aug(batch, KINDS, gen(3))
    for key in batch:
        if key != "rgb":
            assert out[key] is batch[key], key
    assert not torch.equal(out["rgb"], batch["rgb"])
    assert ((p.brightness - 1).abs() <= 0.4).all() and ((p.contrast - 1).abs() <= 0.4).all()
    assert p.brightness.unique().numel() == N  # per sample
    assert torch.equal(aug.apply(p, batch["label"], "label"), batch["label"])
    torch.testing.assert_close(out["rgb"], aug.adjust(p, batch["rgb"]))


def test_photometric_brightness_scales_contrast_keeps_the_mean():
    batch = make_batch()
    out, p = Photometric("hha", brightness=0.5)(batch, KINDS, gen(1))
    ratio = out["hha"] / batch["hha"]
    torch.testing.assert_close(ratio, p.brightness.float().view(N, 1, 1, 1).expand_as(ratio), rtol=1e-5, atol=1e-6)
    out, p = Photometric("hha", contrast=0.5)(batch, KINDS, gen(1))
    x, y = batch["hha"].flatten(1), out["hha"].flatten(1)
    torch.testing.assert_close(y.mean(1), x.mean(1), rtol=0, atol=1e-5)
    torch.testing.assert_close(y.std(1) / x.std(1), p.contrast.float(), rtol=1e-4, atol=0)


# Errors ------------------------------------------------------------------------------------

def test_unknown_key_raises_naming_it():
    batch = make_batch()
    batch["depth_raw"] = torch.zeros(N, H, W)
    with pytest.raises(ValueError, match="depth_raw"):
        JointFlip()(batch, KINDS, gen(0))
    with pytest.raises(ValueError, match="no kinds"):
        JointFlip()(make_batch())


@pytest.mark.parametrize("key, value, match", [
    ("label", torch.zeros(N, 1, H, W, dtype=torch.long), "label"),
    ("label", torch.zeros(N, H, W), "label"),
    ("rgb", torch.zeros(N, H, W), "rgb"),
    ("soft", torch.zeros(N, K, H, W, 2), "soft"),
    ("weight", torch.zeros(N, H, W - 1), "weight"),
    ("hha", torch.zeros(N - 1, 3, H, W), "hha"),
])
def test_wrong_shape_or_dtype_raises_naming_the_key(key, value, match):
    batch = make_batch()
    batch[key] = value
    for aug in (JointFlip(), JointScale(), Compose(JointCrop(8))):
        with pytest.raises(ValueError, match=match):
            aug(batch, KINDS, gen(0))


def test_misuse_raises():
    batch = make_batch()
    with pytest.raises(ValueError, match="weird"):
        JointFlip()(batch, {**KINDS, "rgb": "weird"}, gen(0))
    with pytest.raises(ValueError, match="larger"):
        JointCrop((H + 1, W))(batch, KINDS, gen(0))
    with pytest.raises(ValueError, match="label"):
        Photometric("label", 0.2)(batch, KINDS, gen(0))
    _, p = JointScale()(batch, KINDS, gen(0))
    with pytest.raises(ValueError, match="spatial size"):
        JointScale().apply(p, torch.zeros(N, 5, H // 2, W // 2), "soft")
    with pytest.raises(ValueError, match="batch size"):
        JointScale().apply(p, torch.zeros(N + 1, H, W), "weight")
    with pytest.raises(ValueError, match="does not fit"):
        JointScale(0.5, 0.6)({"l": torch.zeros(N, H, W, dtype=torch.int8)}, {"l": "label"}, gen(0))
    for bad in (lambda: JointFlip(1.5), lambda: JointScale(1.5, 1.0), lambda: Photometric("rgb", -0.1)):
        with pytest.raises(ValueError):
            bad()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    batch = make_batch(soft_dtype=torch.float16)
    aug = Compose(JointFlip(), JointScale(), JointCrop((24, 36)), Photometric("rgb", 0.3, 0.3))
    cpu, _ = aug(batch, KINDS, gen(4))
    gpu, _ = aug({k: v.cuda() for k, v in batch.items()}, KINDS, gen(4))
    for key in batch:
        assert gpu[key].device.type == "cuda" and gpu[key].dtype == cpu[key].dtype
        torch.testing.assert_close(gpu[key].cpu(), cpu[key], atol=2e-3 if key == "soft" else 1e-5, rtol=0)
    assert torch.equal(gpu["label"].cpu(), cpu["label"])
