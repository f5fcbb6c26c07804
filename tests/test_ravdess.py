"""The RAVDESS loader on tiny files in RAVDESS's format, made here with PyAV."""
import numpy as np
import pytest

av = pytest.importorskip("av", reason="PyAV is not installed (pip install -e .[media])")
pytest.importorskip("librosa", reason="librosa is not installed (pip install -e .[media])")

from mke.data import ravdess as rv  # noqa: E402


def write_media(path, seconds=2.0, fps=4, video=True, audio=True, tone=440.0, level=128, sr=44100):
    """An .mp4 (mpeg4 video, aac audio) or a .wav (pcm) with a flat grey picture and a tone."""
    container = av.open(str(path), "w")
    vs = as_ = None
    if video:
        vs = container.add_stream("mpeg4", rate=fps)
        vs.width, vs.height, vs.pix_fmt = 32, 32, "yuv420p"
    if audio:
        as_ = container.add_stream("pcm_s16le" if str(path).endswith(".wav") else "aac", rate=sr, layout="mono")
    if video:
        for i in range(int(seconds * fps)):
            img = np.full((32, 32, 3), level, np.uint8)
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in vs.encode():
            container.mux(packet)
    if audio:
        t = np.arange(int(seconds * sr)) / sr
        wave = 0.5 * np.sin(2 * np.pi * tone * t)
        fmt = "s16" if str(path).endswith(".wav") else "fltp"
        for start in range(0, len(wave), 1024):
            chunk = wave[start:start + 1024]
            data = (chunk * 32767).astype(np.int16)[None] if fmt == "s16" else chunk.astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
            frame.sample_rate, frame.pts = sr, start
            for packet in as_.encode(frame):
                container.mux(packet)
        for packet in as_.encode():
            container.mux(packet)
    container.close()


@pytest.fixture
def corpus(tmp_path):
    """Two actors: audio-video mp4s, a video-only + audio-only pair, a song, junk and a bad file."""
    for actor in (1, 2):
        folder = tmp_path / f"Actor_{actor:02d}"
        folder.mkdir()
        for emotion in (1, 2, 6, 8):
            code = rv.ClipCode(1, 1, emotion, 1, 1, 1, actor)
            write_media(folder / f"{code.name()}.mp4", level=30 * emotion)
    a2 = tmp_path / "Actor_02"
    write_media(a2 / "02-01-05-02-02-01-02.mp4", audio=False)  # video-only ...
    write_media(a2 / "03-01-05-02-02-01-02.wav", video=False, sr=48000)  # ... and its audio
    write_media(a2 / "01-02-03-01-01-01-02.mp4")  # song: not speech
    (a2 / "notes.mp4").write_bytes(b"x")  # malformed name
    (a2 / "01-01-03-01-01-02-02.mp4").write_bytes(b"not a video")  # unreadable
    write_media(a2 / "01-01-03-01-01-01-01.mp4")  # actor code 01 in folder Actor_02
    return tmp_path


def test_parse_name_and_codes():
    c = rv.parse_name("Actor_12/02-01-06-01-02-01-12.mp4")
    assert (c.modality, c.vocal_channel, c.emotion, c.intensity, c.statement, c.repetition, c.actor) == (2, 1, 6, 1, 2, 1, 12)
    assert c.emotion_name == "fearful" and c.label == 5 and c.name() == "02-01-06-01-02-01-12"


@pytest.mark.parametrize("name, match", [("03-01-09-01-01-01-01.wav", "emotion code 09"),
                                         ("01-01-01-02-01-01-01.mp4", "neutral"),
                                         ("01-01-01-01-01-01.mp4", "seven two-digit codes"),
                                         ("01-01-02-01-01-01-25.mp4", "actor code 25")])
def test_malformed_names_are_rejected_with_the_reason(name, match):
    with pytest.raises(rv.RavdessNameError, match=match):
        rv.parse_name(name)


def test_scan_pairs_modalities_and_counts_skips(corpus):
    report = rv.scan(corpus)
    assert len(report.clips) == 4 + 4 + 1 + 1  # 8 AV, 1 video+audio pair, 1 unreadable (found at decode)
    pair = [c for c in report.clips if c.code.emotion == 5][0]
    assert pair.video.name.startswith("02-") and pair.audio.suffix == ".wav"
    reasons = " | ".join(report.skipped.values())
    assert "seven two-digit codes" in reasons and "actor code 01 in folder Actor_02" in reasons
    assert all(c.code.vocal_channel == 1 for c in report.clips)  # the song is not speech
    with pytest.raises(FileNotFoundError, match="no Actor_XX folders"):
        rv.scan(corpus / "Actor_01")


def test_decoding_frames_audio_and_mfcc(corpus):
    clip = corpus / "Actor_01" / "01-01-06-01-01-01-01.mp4"
    frames = rv.decode_frames(clip, every=0.5, size=16)
    assert frames.shape == (4, 16, 16)  # 2 s, one frame every 0.5 s
    assert frames.mean() == pytest.approx(30 * 6 / 255, abs=0.08)  # the grey level written
    audio = rv.decode_audio(clip, sr=16000)
    assert len(audio) == pytest.approx(2.0 * 16000, rel=0.06)
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(len(audio), 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=5)
    wav = rv.decode_audio(corpus / "Actor_02" / "03-01-05-02-02-01-02.wav", sr=16000)  # 48 kHz resampled
    assert len(wav) == pytest.approx(2.0 * 16000, rel=0.01)
    assert rv.mfcc(audio, 16000, n_mfcc=20, n_frames=50).shape == (20, 50)


def test_load_features_skips_and_counts_unreadable_files(corpus):
    feats = rv.load_features(corpus, n_images=4, size=16, n_mfcc=20, n_frames=40)
    assert feats.images.shape == (9, 4, 16, 16) and feats.mfcc.shape == (9, 20, 40)
    assert sorted(set(feats.y)) == [0, 1, 4, 5, 7]
    unreadable = [p for p, why in feats.report.skipped.items() if why.startswith("unreadable")]
    assert len(unreadable) == 1 and unreadable[0].endswith("01-01-03-01-01-02-02.mp4")


def test_splits_follow_the_paper_and_by_actor():
    # RAVDESS speech: 24 actors x 60 clips (neutral 4, each other emotion 8) = 1440
    per_actor = np.array([0] * 4 + [e for e in range(1, 8) for _ in range(8)])
    y, actor = np.tile(per_actor, 24), np.repeat(np.arange(1, 25), 60)
    s = rv.split_indices(y, actor, seed=0)
    sizes = {k: len(v) for k, v in s.items()}
    assert sizes == {"D_l": 288, "D_u": 921, "val": 115, "test": 116}
    assert len(np.unique(np.concatenate(list(s.values())))) == 1440
    expected = np.bincount(y) * 0.2
    assert np.all(np.abs(np.bincount(y[s["D_l"]]) - expected) <= 1)  # stratified
    assert all(np.array_equal(s[k], rv.split_indices(y, actor, seed=0)[k]) for k in s)  # seeded
    by = rv.split_indices(y, actor, seed=0, by_actor=True)
    groups = [set(actor[v]) for v in by.values()]
    assert all(not (a & b) for i, a in enumerate(groups) for b in groups[i + 1:])  # no actor in two splits
