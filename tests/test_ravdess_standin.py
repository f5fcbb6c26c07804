"""The RAVDESS stand-in's structure and its uninformative-voice knob (calibration is pending)."""
import numpy as np
import pytest

pytest.importorskip("librosa", reason="librosa is not installed (pip install -e .[media])")

from mke.data.ravdess_standin import StandinConfig, generate, ravdess_codes  # noqa: E402

SMALL = dict(n_images=2, size=16, seconds=0.5)


def test_codes_have_ravdess_structure():
    codes = ravdess_codes()
    assert len(codes) == 1440
    labels = np.array([c.label for c in codes])
    assert np.bincount(labels).tolist() == [96] + [192] * 7
    assert np.bincount([c.actor for c in codes])[1:].tolist() == [60] * 24
    assert not any(c.emotion == 1 and c.intensity == 2 for c in codes)


@pytest.fixture(scope="module")
def informative():
    return generate(StandinConfig(**SMALL), n_mfcc=20, n_frames=16)


def test_generation_is_deterministic_and_well_formed(informative):
    imgs, mf, y, actors, codes = informative
    assert imgs.shape == (1440, 2, 16, 16) and mf.shape == (1440, 20, 16)
    assert np.isfinite(mf).all() and imgs.min() >= 0 and imgs.max() <= 1
    again = generate(StandinConfig(**SMALL), n_mfcc=20, n_frames=16)
    assert np.array_equal(imgs, again[0]) and np.array_equal(mf, again[1])


def _voice_probe(mf, y):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(mf.mean(-1))  # per-coefficient means over time
    return cross_val_score(LogisticRegression(max_iter=500), X, y, cv=3).mean()


def test_uninformative_voice_carries_no_emotion(informative):
    _, mf, y, _, _ = informative
    _, mf_off, y_off, _, _ = generate(StandinConfig(**SMALL, voice_informative=False), n_mfcc=20, n_frames=16)
    assert _voice_probe(mf, y) > 0.5  # the voice tells emotions apart ...
    assert _voice_probe(mf_off, y_off) < 0.25  # ... unless the knob is off (chance is 1/8)
