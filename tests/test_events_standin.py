"""The event-classification stand-in: layout, determinism, the structure it builds in, its knobs."""
import time

import numpy as np
import pytest

from mke.data.events_standin import (EVENT_NAMES, GROUP_SPREAD, GROUPS, PROFILES, SPLITS, StandinEvents,
                                     StandinEventsConfig, class_groups, generate, log_spectrograms, profile,
                                     prototypes)

QUICK = PROFILES["quick"]
TINY = profile("quick", n_dl=46, n_du=46, n_test=46)  # one clip a class: for determinism only


@pytest.fixture(scope="module")
def quick():
    start = time.perf_counter()
    data = generate(QUICK)
    print(f"\nquick profile: {sum(QUICK.sizes().values())} clips generated in {time.perf_counter() - start:.1f} s "
          f"({data.nbytes / 1e6:.1f} MB)")
    return data


@pytest.fixture(scope="module")
def control():
    return generate(profile("quick", video_informative=False))


def audio_features(split):
    """Per-frequency mean and spread over time of the log spectrogram."""
    x = split.spec.astype(np.float32)
    return np.concatenate([x.mean(-1), x.std(-1)], 1)


def video_features(split):
    """A colour histogram (4 levels per channel) over all frames: blind to where the object is."""
    q = (split.frames // 64).astype(np.int64)
    code = (q[:, :, 0] * 16 + q[:, :, 1] * 4 + q[:, :, 2]).reshape(len(q), -1)
    return np.sqrt(np.stack([np.bincount(c, minlength=64) for c in code]) / code.shape[1])


def nearest_mean(train_x, train_y, x, n_classes, allowed=None):
    """Nearest class mean in features standardised on the training split; ``allowed`` [N, K]
    restricts each sample's choice (to its group's classes)."""
    mu, sd = train_x.mean(0), train_x.std(0) + 1e-6
    means = np.stack([((train_x - mu) / sd)[train_y == k].mean(0) for k in range(n_classes)])
    dist = (((x - mu) / sd)[:, None, :] - means[None]) ** 2
    dist = dist.sum(-1)
    if allowed is not None:
        dist = np.where(allowed, dist, np.inf)
    return dist.argmin(1)


def test_profiles_have_the_stated_geometry():
    book, paper = PROFILES["book"], PROFILES["paper"]
    assert (book.sr, book.seconds, book.hop) == (8000, 2.0, 200)
    assert (book.freq_bins, book.n_cols, book.crop_cols) == (64, 79, 63)
    assert (book.n_dl, book.n_du, book.n_test, book.n_classes) == (3710, 3748, 1937, 46)
    assert book.nbytes() < 1e9  # 211 MB: 9,395 clips of 64 x 79 float16 and 4 x 3 x 32 x 32 bytes
    # the paper's VGGSound features: 257 bins, a 5 s crop of 10 s at 16 kHz is 500 columns
    assert (paper.freq_bins, paper.n_cols, paper.crop_cols) == (257, 1004, 500)
    assert (paper.n_frames, paper.frame_size) == (8, (112, 112))
    assert QUICK.n_cols == 39
    for name in ("basketball bounce", "dog growling", "people belly laughing", "sliding door", "lawn mowing"):
        assert name in EVENT_NAMES  # the paper's Table 5
    assert len(EVENT_NAMES) == len(set(EVENT_NAMES)) == 46


def test_shapes_dtypes_and_split_sizes(quick):
    assert isinstance(quick, StandinEvents) and quick.names == EVENT_NAMES
    for name in SPLITS:
        s = quick[name]
        n = QUICK.sizes()[name]
        assert s.spec.shape == (n, 64, 39) and s.spec.dtype == np.float16
        assert s.frames.shape == (n, 2, 3, 16, 16) and s.frames.dtype == np.uint8
        for a in (s.y, s.y_true, s.group):
            assert a.shape == (n,) and a.dtype == np.int64
        assert np.isfinite(s.spec.astype(np.float32)).all()
        assert s.spec.min() >= np.float16(np.log(1e-7)) - 0.01  # log(power + 1e-7): never below the floor
        assert (s.group == quick.group_of_class[s.y]).all()
    assert quick.nbytes == QUICK.nbytes()
    with pytest.raises(KeyError, match="val"):
        quick["val"]


def test_every_class_is_in_every_split(quick):
    for name in SPLITS:
        assert (np.bincount(quick[name].y_true, minlength=46) >= 9).all()
        assert (np.bincount(quick[name].y, minlength=46) > 0).all()


def test_generation_is_a_pure_function_of_the_config():
    a, b = generate(TINY), generate(TINY)
    other = generate(profile("quick", n_dl=46, n_du=46, n_test=46, seed=1))
    for name in SPLITS:
        for field in ("spec", "frames", "y", "y_true", "offscreen"):
            assert np.array_equal(getattr(a[name], field), getattr(b[name], field))
        assert not np.array_equal(a[name].spec, other[name].spec)
        assert not np.array_equal(a[name].frames, other[name].frames)


def test_arrays_round_trip(quick):
    back = StandinEvents.from_arrays(QUICK, quick.arrays())
    assert back.groups == quick.groups and np.array_equal(back.group_of_class, quick.group_of_class)
    for name in SPLITS:
        assert np.array_equal(back[name].spec, quick[name].spec) and np.array_equal(back[name].y, quick[name].y)


def test_groups_and_prototypes_are_as_documented():
    groups = class_groups()
    confusable = [g for g in groups if g.confusable]
    assert len(confusable) == 10 and all(3 <= len(g.classes) <= 4 for g in confusable)
    assert groups[-1].name == "unique" and len(groups[-1].classes) == 8
    assert sorted(k for g in groups for k in g.classes) == list(range(46))
    for confusion in (0.0, 0.8, 1.0):
        protos = prototypes(profile("book", confusion=confusion))
        for g in confusable:
            k = len(g.classes)
            d = [np.linalg.norm(protos[i][1] - protos[j][1]) for i in g.classes for j in g.classes if i < j]
            # a regular simplex: every pair equally far apart, closer as confusion grows
            assert np.allclose(d, (1 - confusion) * GROUP_SPREAD * np.sqrt(2 * k / (k - 1)))
            assert {protos[i][0] for i in g.classes} == {GROUPS[g.name][0]}
    # a name the table does not know takes a free row; groups left with one class become unique
    names = ("dog growling", "dog barking", "thunder", "a new class")
    assert [(g.name, g.classes, g.confusable) for g in class_groups(names)] == [
        ("animals", (0, 1), True), ("unique", (2, 3), False)]


def test_label_noise_stays_in_the_group_at_the_configured_rate(quick):
    dl = quick["D_l"]
    flipped = dl.y != dl.y_true
    assert flipped.sum() == round(QUICK.label_noise * QUICK.n_dl) == 46
    gof = quick.group_of_class
    assert (gof[dl.y] == gof[dl.y_true]).all()
    assert not flipped[~np.array([g.confusable for g in quick.groups])[gof[dl.y_true]]].any()
    for name in ("D_u", "test"):
        assert np.array_equal(quick[name].y, quick[name].y_true) and not quick[name].offscreen.any()
    assert 0.2 < dl.offscreen.mean() < 0.4  # offscreen_rate 0.3
    clean = generate(profile("quick", n_dl=46, n_du=46, n_test=46, label_noise=0.0))
    assert np.array_equal(clean["D_l"].y, clean["D_l"].y_true)


def test_uninformative_video_permutes_frames_and_keeps_audio_and_labels(quick, control):
    assert np.array_equal(control["D_l"].frames, quick["D_l"].frames)  # D_l frames are left alone
    for name in SPLITS:
        assert np.array_equal(control[name].spec, quick[name].spec)
        assert np.array_equal(control[name].y, quick[name].y)
    for name in ("D_u", "test"):
        informative, shuffled = quick[name].frames, control[name].frames
        where = {f.tobytes(): i for i, f in enumerate(informative)}
        perm = np.array([where[f.tobytes()] for f in shuffled])  # every control clip's frames come from ...
        assert sorted(perm) == list(range(len(perm)))  # ... a distinct informative clip ...
        assert (perm != np.arange(len(perm))).all()  # ... never its own


def test_frames_carry_the_class_unless_the_control_breaks_the_link(quick, control):
    accuracy = {}
    for label, data in (("informative", quick), ("control", control)):
        pred = nearest_mean(video_features(data["D_u"]), data["D_u"].y, video_features(data["test"]), 46)
        accuracy[label] = (pred == data["test"].y).mean()
    assert accuracy["informative"] > 0.12  # chance is 1/46 = 0.022 (0.17-0.22 over seeds 0-3)
    assert accuracy["control"] < 0.06


def _within_group_accuracy(data, features):
    train, test = data["D_u"], data["test"]
    gof = data.group_of_class
    allowed = gof[None, :] == gof[test.y][:, None]
    pred = nearest_mean(features(train), train.y, features(test), 46, allowed)
    confusable = np.array([g.confusable for g in data.groups])[gof[test.y]]
    return (pred == test.y)[confusable].mean()


def test_within_a_group_audio_confuses_what_video_tells_apart(quick):
    audio, video = _within_group_accuracy(quick, audio_features), _within_group_accuracy(quick, video_features)
    assert video > 0.7 and audio < 0.55 and video - audio > 0.25  # 0.90-0.94 vs 0.32 (0.37-0.41 at 20 dB); chance ~0.27
    # and the groups themselves are easy by audio (a nearest mean over all 46 classes lands in the right group)
    train, test = quick["D_u"], quick["test"]
    pred = nearest_mean(audio_features(train), train.y, audio_features(test), 46)
    assert (quick.group_of_class[pred] == quick.group_of_class[test.y]).mean() > 0.7  # 0.83-0.85 over seeds


def test_confusion_sets_how_alike_a_groups_sounds_are():
    # on clean sound (20 dB above the background, not the default 5 dB), where confusion alone decides
    apart = generate(profile("quick", n_dl=46, confusion=0.0, du_snr_db=20.0))
    default = _within_group_accuracy(generate(profile("quick", n_dl=46, du_snr_db=20.0)), audio_features)
    assert _within_group_accuracy(apart, audio_features) > max(0.75, default + 0.3)  # 0.85 vs 0.37-0.41


def test_d_l_audio_is_noisier_than_d_u_audio(quick):
    train = quick["D_u"]
    acc = {}
    for name in ("test", "D_l"):
        pred = nearest_mean(audio_features(train), train.y, audio_features(quick[name]), 46)
        acc[name] = (pred == quick[name].y_true).mean()
    assert acc["test"] > 0.25 and acc["D_l"] < acc["test"] - 0.15  # 0.37-0.39 vs 0.07-0.14 over seeds 0-3


def test_log_spectrogram_of_a_sine_peaks_in_its_bin():
    cfg = PROFILES["book"]  # 8 kHz, nperseg 256: bins 31.25 Hz apart, pooled in pairs
    t = np.arange(cfg.n_samples) / cfg.sr
    spec = log_spectrograms(0.5 * np.sin(2 * np.pi * 1000.0 * t)[None], cfg)
    assert spec.shape == (1, 64, 79)
    assert (spec[0].argmax(0) == 16).all()  # 1000 Hz is bin 32, pooled bin 16
    assert np.isclose(spec.min(), np.log(1e-7), atol=0.5)  # far from the tone: the floor


def test_log_spectrogram_matches_the_real_loaders():
    events = pytest.importorskip("mke.data.events")
    cfg = PROFILES["book"]
    x = np.random.default_rng(0).normal(0, 0.1, (2, cfg.n_samples))
    ours = log_spectrograms(x, cfg)
    theirs = events.log_spectrogram(x[1], cfg.sr, cfg.nperseg, cfg.noverlap, cfg.n_freq)
    assert np.allclose(ours[1], theirs, atol=1e-5)


@pytest.mark.parametrize("field, value", [
    ("confusion", 1.5), ("label_noise", 0.7), ("offscreen_rate", -0.1), ("video_noise", 2.0),
    ("n_test", 10), ("n_dl", 45), ("names", ("a", "a")), ("names", ("solo",)), ("n_freq", 3),
    ("channels", 2), ("crop_seconds", 3.0), ("noverlap", 256), ("n_frames", 0), ("frame_size", (4, 4)),
    ("dl_min_duration", 0.0), ("dl_snr_db", 100.0), ("sr", 100), ("dl_interference", 1.1),
])
def test_bad_config_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"StandinEventsConfig.{field}"):
        StandinEventsConfig(**{field: value})
    with pytest.raises(ValueError, match="profile must be one of"):
        profile("huge")
    with pytest.raises(ValueError, match="unknown StandinEventsConfig fields"):
        profile("quick", colour=True)


def test_label_noise_needs_a_group():
    with pytest.raises(ValueError, match="StandinEventsConfig.label_noise"):
        StandinEventsConfig(names=("thunder", "cat meowing"), n_dl=4, n_du=4, n_test=4)
    StandinEventsConfig(names=("thunder", "cat meowing"), n_dl=4, n_du=4, n_test=4, label_noise=0.0)
