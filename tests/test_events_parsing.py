"""mke.data.events pinned value by value: what `make mutation` found the loader tests let through.

tests/test_events_data.py checks that the real formats load; these check the exact values the
parsing and selection produce (every field of a row, every message naming the offending value,
every counter and its reason, the boundaries of every check, the defaults), so that a changed
constant, comparison or message fails a test (issue 10). The tiny files are written in the real
formats with the helpers of tests/test_events_data.py.
"""
import builtins
import importlib.util
import types
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import scipy.signal

from mke.data import events as ev
from test_events_data import BASKET, GROWL, SEGMENTS, VGGSOUND, _can_encode, needs_av, write_mp4, write_wav

needs_x264 = pytest.mark.skipif(importlib.util.find_spec("av") is None or not _can_encode("libx264"),
                                reason="needs PyAV with an h264 encoder (libx264)")

# --- the classes ---------------------------------------------------------------------------------


def _tiny_meta():
    """events_classes.json in miniature: "dog growling", "people belly laughing" and "lawn mowing"
    are no AudioSet name here (so the hand map applies); dog (800 clips) ranks first, then cat
    and "playing violin, fiddle" tie at 500 (alphabetical); "made up" matches no AudioSet name."""
    return {"audioset_classes": [[0, "/m/bb", "Basketball bounce"], [1, "/m/sd", "Sliding door"],
                                 [2, "/m/vf", "Violin, fiddle"], [3, "/m/ca", "Cat"], [4, "/m/do", "Dog"],
                                 [5, "/m/sp", "Speech"]],
            "vggsound_classes": [["basketball bounce", 1050, "sports"], ["cat", 500, "animals"],
                                 ["dog", 800, "animals"], ["dog growling", 700, "animals"],
                                 ["lawn mowing", 600, "vehicle"], ["made up", 900, "other"],
                                 ["people belly laughing", 650, "people"], ["playing violin, fiddle", 500, "music"],
                                 ["sliding door", 550, "home"]],
            "vggsound_classes_in_audioset": ["playing violin, fiddle", "cat", "dog", "basketball bounce", "made up"]}


def test_derive_event_classes_applies_the_rule_to_the_lists_it_is_given():
    """The rule runs on the lists passed (not the shipped ones): Table 5 by name or hand map, then
    the largest matching classes, ties alphabetical; the result is in alphabetical order."""
    chosen = ev.derive_event_classes(_tiny_meta(), n=7)
    assert list(chosen.items()) == [("basketball bounce", ("/m/bb",)), ("cat", ("/m/ca",)), ("dog", ("/m/do",)),
                                    ("dog growling", ("/m/0ghcn6",)), ("lawn mowing", ("/m/01yg9g",)),
                                    ("people belly laughing", ("/m/07sq110",)), ("sliding door", ("/m/sd",))]


def test_derive_event_classes_boundary_and_errors():
    """n = every class the rule admits (8) works; one more is refused with the count; a display
    name that two AudioSet classes share (ignoring case) is refused, as the rule needs one."""
    chosen = ev.derive_event_classes(_tiny_meta(), n=8)
    assert len(chosen) == 8 and chosen["playing violin, fiddle"] == ("/m/vf",)
    with pytest.raises(ValueError) as info:
        ev.derive_event_classes(_tiny_meta(), n=9)
    assert str(info.value) == "only 8 classes satisfy the rule, n=9 asked"
    meta = _tiny_meta()
    meta["audioset_classes"].append([6, "/m/sp2", "speech"])
    with pytest.raises(ValueError) as info:
        ev.derive_event_classes(meta, n=7)
    assert str(info.value) == "AudioSet display name 'speech' is not unique"


# --- reports -------------------------------------------------------------------------------------


def test_skip_report_counts_and_summary_word_for_word():
    """Each skip counts (twice is 2), is listed in order, and the summary sorts reasons within
    the three groups (skipped, noted, left out by design); empty groups and source are omitted."""
    report = ev.SkipReport("src", kept=3)
    report.skip("a", "missing clip")
    report.skip("b", "missing clip")
    report.skip("c", "empty file")
    report.note("d", "padded")
    report.filter("other split", 2)
    report.filter("no chapter class")
    assert report.counts == {"missing clip": 2, "empty file": 1, "padded": 1, "other split": 2, "no chapter class": 1}
    assert report.items == [("a", "missing clip"), ("b", "missing clip"), ("c", "empty file"), ("d", "padded")]
    assert report.skipped == 3
    assert report.summary() == ("src: 3 kept, 3 skipped (empty file: 1, missing clip: 2); noted: padded: 1; "
                                "left out by design: no chapter class: 1, other split: 2")
    assert ev.SkipReport().summary() == "0 kept, 0 skipped"
    notes = ev.SkipReport(kept=2)
    notes.note("x", "padded")
    notes.note("y", "cut")
    assert notes.summary() == "2 kept, 0 skipped; noted: cut: 1, padded: 1"


# --- CSV files -----------------------------------------------------------------------------------


def test_indented_comment_and_blank_lines_are_not_rows(tmp_path):
    """A '#' line is a comment even when indented, and lines of spaces are blank; line numbers in
    messages still count every physical line."""
    (tmp_path / "seg.csv").write_text('  # a note, indented\n   \nabc, 0.000, 10.000, "/m/018w8"\n'
                                      '\t# another\nbad, x, 10.000, "/m/018w8"\n')
    with pytest.raises(ValueError) as info:
        ev.read_audioset_segments(tmp_path / "seg.csv")
    assert str(info.value).startswith(f"{tmp_path / 'seg.csv'}, line 5: ['bad', 'x', '10.000', '/m/018w8']")
    (tmp_path / "seg.csv").write_text('  # a note, indented\n   \nabc, 0.000, 10.000, "/m/018w8"\n')
    assert ev.read_audioset_segments(tmp_path / "seg.csv") == [ev.AudioSetSegment("abc", 0.0, 10.0, ("/m/018w8",))]


def test_csv_opened_as_the_csv_module_requires(tmp_path):
    """newline='': a quoted field that spans a CRLF line break keeps it byte for byte (a
    translating open would turn it into '\\n'); the next row's line number counts both lines."""
    (tmp_path / "classes.csv").write_bytes(b'index,mid,display_name\r\n0,/m/09x0r,Speech\r\n'
                                           b'1,/m/05zppz,"Male speech,\r\nman speaking"\r\n2,/m/02zsn,Female\r\n')
    classes = ev.read_class_indices(tmp_path / "classes.csv")
    assert classes == [ev.AudioSetClass(0, "/m/09x0r", "Speech"),
                       ev.AudioSetClass(1, "/m/05zppz", "Male speech,\r\nman speaking"),
                       ev.AudioSetClass(2, "/m/02zsn", "Female")]
    (tmp_path / "bad.csv").write_bytes(b'0,/m/09x0r,"Speech,\r\nand more"\r\nx,/m/05zppz,Male\r\n')
    with pytest.raises(ValueError, match=r"bad\.csv, line 3: \['x'"):
        ev.read_class_indices(tmp_path / "bad.csv")


def test_csv_files_are_read_as_utf8_whatever_the_locale(tmp_path, monkeypatch):
    """The CSVs are UTF-8 (the datasets ship them so): they are decoded as UTF-8 even where the
    locale's default encoding is another (simulated here: open() without an encoding gets latin-1)."""
    def latin1_default_open(*args, encoding=None, **kwargs):
        return builtins.open(*args, encoding=encoding or "latin-1", **kwargs)

    (tmp_path / "classes.csv").write_text("0,/m/0x,Café\n", encoding="utf-8")
    (tmp_path / "vggsound.csv").write_text("abc,0,crème brûlée,train\n", encoding="utf-8")
    monkeypatch.setattr(ev, "open", latin1_default_open, raising=False)
    assert ev.read_class_indices(tmp_path / "classes.csv") == [ev.AudioSetClass(0, "/m/0x", "Café")]
    assert ev.read_vggsound(tmp_path / "vggsound.csv") == [ev.VGGSoundRow("abc", 0, "crème brûlée", "train")]


def test_class_list_errors_name_the_file_line_row_and_format(tmp_path):
    """Every malformed row of class_labels_indices.csv is refused with file, line, the row and
    the expected format: a mid without '/', a fourth field, an index that is not a number; a
    file with no rows and a missing file are named too."""
    path = tmp_path / "classes.csv"
    for row, shown in [("0,m09x0r,Speech", "['0', 'm09x0r', 'Speech']"),
                       ("0,/m/09x0r,Speech,extra", "['0', '/m/09x0r', 'Speech', 'extra']"),
                       ("x,/m/09x0r,Speech", "['x', '/m/09x0r', 'Speech']")]:
        path.write_text(f"index,mid,display_name\n{row}\n")
        with pytest.raises(ValueError) as info:
            ev.read_class_indices(path)
        assert str(info.value) == f"{path}, line 2: {shown} is not index,mid,display_name"
    path.write_text("index,mid,display_name\n")
    with pytest.raises(ValueError) as info:
        ev.read_class_indices(path)
    assert str(info.value) == f"{path}: no classes (expected rows index,mid,display_name)"
    with pytest.raises(FileNotFoundError) as info:
        ev.read_class_indices(tmp_path / "none.csv")
    assert str(info.value) == (f"AudioSet class list {str(tmp_path / 'none.csv')!r} is not a file "
                               "(expected class_labels_indices.csv: index,mid,display_name)")


def test_audioset_segment_errors_word_for_word(tmp_path):
    """A row with a wrong field count and one whose times are not numbers: file, line, row, the
    format and why; a missing file names the format (it once printed a truncated 'gment: YTID')."""
    path = tmp_path / "seg.csv"
    fmt = 'an AudioSet segment: YTID, start_seconds, end_seconds, "/m/..,/m/.."'
    path.write_text("# header\nabc, 0.000, 10.000, /m/018w8,/m/09x0r\n")
    with pytest.raises(ValueError) as info:
        ev.read_audioset_segments(path)
    assert str(info.value) == (f"{path}, line 2: ['abc', '0.000', '10.000', '/m/018w8', '/m/09x0r'] is not {fmt}: "
                               "5 fields (is the label list quoted?)")
    path.write_text('# header\nok, 0.000, 10.000, "/m/018w8"\nabc, zero, 10.000, "/m/018w8"\n')
    with pytest.raises(ValueError) as info:
        ev.read_audioset_segments(path)
    assert str(info.value) == (f"{path}, line 3: ['abc', 'zero', '10.000', '/m/018w8'] is not {fmt}: "
                               "start or end is not a number")
    with pytest.raises(FileNotFoundError) as info:
        ev.read_audioset_segments(tmp_path / "none.csv")
    assert str(info.value) == (f"AudioSet segments CSV {str(tmp_path / 'none.csv')!r} is not a file (expected "
                               "balanced_train_segments.csv style rows "
                               'YTID, start_seconds, end_seconds, "/m/..,/m/..")')


def test_audioset_segment_fields_exactly(tmp_path):
    """Times are floats (fractions kept); the label list is split on commas, spaces and empty
    entries dropped, order kept."""
    (tmp_path / "seg.csv").write_text('abc, 12.500, 22.250, " /m/018w8 , , /m/09x0r,"\n')
    assert ev.read_audioset_segments(tmp_path / "seg.csv") == [
        ev.AudioSetSegment("abc", 12.5, 22.25, ("/m/018w8", "/m/09x0r"))]


def test_vggsound_header_is_skipped_and_errors_word_for_word(tmp_path):
    """A copy with a 'YTID,...' header reads like one without; a row with five fields, a
    fractional start or another split is refused with file, line, row, format and why."""
    path = tmp_path / "vggsound.csv"
    path.write_text("YTID,start_seconds,label,split\nabc,7,dog growling,train\n")
    assert ev.read_vggsound(path) == [ev.VGGSoundRow("abc", 7, "dog growling", "train")]
    fmt = "a VGGSound row: YTID,start_seconds,label,split"
    for row, shown, why in [("abc,0,bird chirping, tweeting,train",
                             "['abc', '0', 'bird chirping', 'tweeting', 'train']",
                             "5 fields (is a label with a comma unquoted?)"),
                            ("abc,1.5,dog growling,train", "['abc', '1.5', 'dog growling', 'train']",
                             "start_seconds is not a whole number"),
                            ("abc,1,dog growling,val", "['abc', '1', 'dog growling', 'val']",
                             "split is not train or test")]:
        path.write_text(f"ok,0,dog growling,test\n{row}\n")
        with pytest.raises(ValueError) as info:
            ev.read_vggsound(path)
        assert str(info.value) == f"{path}, line 2: {shown} is not {fmt}: {why}"
    with pytest.raises(FileNotFoundError) as info:
        ev.read_vggsound(tmp_path / "none.csv")
    assert str(info.value) == (f"VGGSound CSV {str(tmp_path / 'none.csv')!r} is not a file "
                               "(expected vggsound.csv rows YTID,start_seconds,label,split)")


# --- selection -----------------------------------------------------------------------------------


def test_fractional_starts_in_names_and_patterns():
    """A start that is not whole: '{start}' shows it as a float, clip ids keep 3 decimals, and a
    whole-number format ('06d') is refused naming the value and the format."""
    assert ev.audio_path("f", "abc", 30.5, "{ytid}_{start}.wav") == Path("f/abc_30.5.wav")
    assert ev.audio_path("f", "abc", 30.0, "{ytid}_{start}.wav") == Path("f/abc_30.wav")
    assert ev.clip_id("abc", 30.5) == "abc_30.500" and ev.clip_id("abc", 30.0) == "abc_000030"
    with pytest.raises(ValueError) as info:
        ev.audio_path("f", "abc", 30.5, "{ytid}_{start:06d}.mp4")
    assert str(info.value) == "start/end 30.5 is not a whole number of seconds for format '06d'"


def test_end_defaults_to_start_plus_ten_seconds():
    """AudioSet and VGGSound clips are 10 s: without an end, '{end}' is start + 10; a given end
    is used as given."""
    assert ev.audio_path("f", "abc", 30.0, "{ytid}_{end}.wav") == Path("f/abc_40.wav")
    assert ev.audio_path("f", "abc", 30.0, "{ytid}_{end}.wav", 35.0) == Path("f/abc_35.wav")


def test_bad_patterns_list_the_fields_found():
    """The message says what a pattern must contain and which fields it has ('no fields' when
    it has none)."""
    rule = ("must contain {ytid} and may contain only {ytid}, {start}, {end} "
            "(e.g. 'Y{ytid}.wav', '{ytid}_{start:06d}.mp4'); found")
    for pattern, found in [("plain.wav", "no fields"), ("{ytid}_{foo}.wav", "['foo', 'ytid']")]:
        with pytest.raises(ValueError) as info:
            ev.check_pattern(pattern)
        assert str(info.value) == f"file-name pattern {pattern!r} {rule} {found}"


def test_class_to_mid_maps_are_checked():
    """A class without mids and a mid given to two classes are refused, naming them."""
    with pytest.raises(ValueError) as info:
        ev.select_audioset([], classes=("a", "b"), mids={"a": ("/m/1",)})
    assert str(info.value) == "class 'b' has no AudioSet mids (pass mids=...)"
    with pytest.raises(ValueError) as info:
        ev.select_audioset([], classes=("a", "b"), mids={"a": ("/m/1",), "b": ("/m/2", "/m/1")})
    assert str(info.value) == "AudioSet mid /m/1 is mapped to both 'a' and 'b'"


def _segments():
    return [ev.AudioSetSegment(*r) for r in [("-0Ab1_x-yz", 30.0, 40.0, ("/m/018w8", "/m/09x0r")),
                                             ("twoClasses1", 10.0, 20.0, ("/m/05r5c", "/m/02y_763")),
                                             ("unknownMid1", 5.0, 15.0, ("/m/018w8", "/m/zzzzzz")),
                                             ("-0Ab1_x-yz", 30.0, 40.0, ("/m/018w8",)),
                                             ("dogGrowl001", 0.0, 10.0, ("/m/0ghcn6",))]]


def test_select_audioset_lists_each_skip_and_uses_the_class_list_given():
    """Skipped rows are listed by clip id and reason; the report is named; a class list passed
    in decides which mids are known (Speech is unknown to a list without it)."""
    kept, report = ev.select_audioset(_segments())
    assert [(s.ytid, y) for s, y in kept] == [("-0Ab1_x-yz", BASKET), ("dogGrowl001", GROWL)]
    assert report.items == [("twoClasses1_000010", "several chapter classes"), ("unknownMid1_000005", "unknown label"),
                            ("-0Ab1_x-yz_000030", "duplicate row")]
    assert report.source == "AudioSet rows" and report.kept == 2
    known = [c for c in ev.audioset_classes() if c.name != "Speech"]
    kept, report = ev.select_audioset(_segments(), known)
    assert [(s.ytid, y) for s, y in kept] == [("-0Ab1_x-yz", BASKET), ("dogGrowl001", GROWL)]
    assert kept[0][0].labels == ("/m/018w8",)  # the later row: the first now has an unknown label
    assert report.items == [("-0Ab1_x-yz_000030", "unknown label"), ("twoClasses1_000010", "several chapter classes"),
                            ("unknownMid1_000005", "unknown label")]


def test_select_vggsound_lists_each_skip_and_names_the_split(tmp_path):
    """An unknown label is listed with the label (a known non-chapter one is only counted), a
    duplicate by clip id; the report is named after the split; a third split is refused."""
    (tmp_path / "vggsound.csv").write_text(VGGSOUND)
    kept, report = ev.select_vggsound(ev.read_vggsound(tmp_path / "vggsound.csv"), "train")
    assert report.items == [("vidUnknown1_000000 'made up sound'", "unknown label"),
                            ("vidBasket01_000030", "duplicate row")]
    assert report.source == "VGGSound train rows" and report.kept == len(kept) == 5
    assert report.summary() == ("VGGSound train rows: 5 kept, 2 skipped (duplicate row: 1, unknown label: 1); "
                                "left out by design: not a chapter class: 1, other split: 2")
    with pytest.raises(ValueError) as info:
        ev.select_vggsound([], "val")
    assert str(info.value) == "split must be 'train' or 'test' (VGGSound's splits), got 'val'"


# --- decoding ------------------------------------------------------------------------------------


def test_media_error_message():
    """'path: reason', with ' (detail)' only when there is one."""
    plain = ev.MediaError("clips/a.mp4", "missing clip")
    assert str(plain) == "clips/a.mp4: missing clip" and plain.detail == "" and plain.path == Path("clips/a.mp4")
    detailed = ev.MediaError("clips/a.mp4", "undecodable", "moov atom not found")
    assert str(detailed) == "clips/a.mp4: undecodable (moov atom not found)" and detailed.reason == "undecodable"


def _garbage_stream(path, codec, kind, n=10):
    """A Matroska file whose one stream (``codec``) carries random bytes: it opens, and decoding fails."""
    import av

    rng = np.random.default_rng(0)
    container = av.open(str(path), "w")
    if kind == "video":
        stream = container.add_stream(codec, rate=4)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
    else:
        stream = container.add_stream(codec, rate=16000, layout="mono")
    step, base = (1, Fraction(1, 4)) if kind == "video" else (1024, Fraction(1, 16000))
    for i in range(n):
        packet = av.Packet(rng.integers(0, 256, 200, dtype=np.uint8).tobytes())
        packet.stream, packet.pts, packet.dts, packet.time_base = stream, i * step, i * step, base
        container.mux(packet)
    container.close()


def _ffmpeg_error(fn):
    import av

    with pytest.raises(av.FFmpegError) as info:
        fn()
    return str(info.value)


@needs_av
def test_undecodable_clips_carry_ffmpegs_message(tmp_path):
    """A file FFmpeg cannot open and streams whose packets it cannot decode (aac, mpeg4) are
    'undecodable', with the path and FFmpeg's own message as detail."""
    import av

    (tmp_path / "junk.mp4").write_bytes(b"not a video" * 10)
    _garbage_stream(tmp_path / "audio.mkv", "aac", "audio")
    _garbage_stream(tmp_path / "video.mkv", "mpeg4", "video")

    def decode_all(path, kind):
        with av.open(str(path)) as c:
            return list(c.decode(getattr(c.streams, kind)[0]))

    cases = [(tmp_path / "junk.mp4", ev.decode_audio, lambda: av.open(str(tmp_path / "junk.mp4"))),
             (tmp_path / "audio.mkv", ev.decode_audio, lambda: decode_all(tmp_path / "audio.mkv", "audio")),
             (tmp_path / "video.mkv", lambda p: ev.decode_frames(p, 2, (8, 8)),
              lambda: decode_all(tmp_path / "video.mkv", "video"))]
    for path, fn, direct in cases:
        detail = _ffmpeg_error(direct)
        with pytest.raises(ev.MediaError) as info:
            fn(path)
        assert (info.value.path, info.value.reason, info.value.detail) == (path, "undecodable", detail)
        assert str(info.value) == f"{path}: undecodable ({detail})"


@needs_av
def test_decode_audio_of_zero_and_one_sample(tmp_path):
    """A WAV with no samples is 'no audio decoded' (path kept); one sample is a clip of one sample."""
    scipy.io.wavfile.write(tmp_path / "none.wav", 16000, np.zeros(0, np.int16))
    scipy.io.wavfile.write(tmp_path / "one.wav", 16000, np.array([16384], np.int16))
    with pytest.raises(ev.MediaError) as info:
        ev.decode_audio(tmp_path / "none.wav")
    assert (info.value.path, info.value.reason, str(info.value)) == (
        tmp_path / "none.wav", "no audio decoded", f"{tmp_path / 'none.wav'}: no audio decoded")
    assert ev.decode_audio(tmp_path / "one.wav").tolist() == [0.5]


@needs_av
def test_decode_audio_counts_samples_not_frames(tmp_path, monkeypatch):
    """Decoded frames that hold no samples are still no audio (simulated: a resampler whose flush
    returns an empty frame; PyAV 18 returns none, but nothing promises it)."""
    import av

    real = av.AudioResampler

    class EmptyFlush:
        def __init__(self, **kwargs):
            self._resampler = real(**kwargs)

        def resample(self, frame):
            out = self._resampler.resample(frame)
            empty = types.SimpleNamespace(to_ndarray=lambda: np.zeros((1, 0), np.float32))
            return out if frame is not None else list(out) + [empty]

    scipy.io.wavfile.write(tmp_path / "none.wav", 16000, np.zeros(0, np.int16))
    monkeypatch.setattr(av, "AudioResampler", EmptyFlush)
    with pytest.raises(ev.MediaError, match="no audio decoded"):
        ev.decode_audio(tmp_path / "none.wav")


COLOURS = [(16 + 30 * i, 220 - 28 * i, 60 + 20 * (i % 3)) for i in range(8)]


def _shown(frames):
    """Which of COLOURS each decoded frame [T, 3, h, w] shows (nearest colour at the centre)."""
    centre = frames[:, :, frames.shape[2] // 2, frames.shape[3] // 2].astype(float)
    return [int(np.argmin(((np.asarray(COLOURS) - c) ** 2).sum(1))) for c in centre]


def write_frames(path, pts, rate, fmt=None, codec="mpeg4"):
    """Frames i = 0, 1, ... of colour COLOURS[i] at the given pts (time base 1/rate)."""
    import av

    container = av.open(str(path), "w", format=fmt)
    stream = container.add_stream(codec, rate=rate)
    stream.width, stream.height, stream.pix_fmt = 32, 24, "yuv420p"
    for i, p in enumerate(pts):
        frame = av.VideoFrame.from_ndarray(np.full((24, 32, 3), COLOURS[i], np.uint8), format="rgb24")
        frame.pts = p
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


@needs_av
def test_frames_picked_over_the_whole_clip_and_windows(tmp_path):
    """8 frames at 4 fps (0 .. 1.75 s). Frame i shows what is on screen at the centre of part i
    of the window; the window ends at the last frame + one frame's duration, or at ``end``;
    frames outside [start, end) are never shown (before the first one in the window, it is shown)."""
    write_mp4(tmp_path / "v.mp4", colours=COLOURS)
    path = tmp_path / "v.mp4"
    assert _shown(ev.decode_frames(path, 8, (24, 32))) == [0, 1, 2, 3, 4, 5, 6, 7]
    assert _shown(ev.decode_frames(path, 4, (24, 32), end=0.8)) == [0, 1, 2, 2]  # centres 0.1, 0.3, 0.5, 0.7
    # centres 0.22, 0.46, .. 1.88 s of [0.1, 2.0); nothing before 0.1 s is used, so the first shows frame 1
    assert _shown(ev.decode_frames(path, 8, (24, 32), start=0.1)) == [1, 1, 2, 3, 4, 5, 6, 7]


@needs_av
def test_frame_window_edges_have_a_microsecond_tolerance(tmp_path):
    """Times within 1e-6 s count as equal: a frame 1 us before ``start`` is in the window, one
    1 us before ``end`` is not (so a window ending 1 us after the first frame is empty), and a
    frame 1 us after a part's centre is the one on screen."""
    write_mp4(tmp_path / "v.mp4", colours=COLOURS)
    path = tmp_path / "v.mp4"
    assert _shown(ev.decode_frames(path, 2, (24, 32), start=1.75 + 1e-6)) == [7, 7]
    with pytest.raises(ev.MediaError) as info:
        ev.decode_frames(path, 2, (24, 32), end=1e-6)
    assert (info.value.path, info.value.reason) == (path, "no video frames decoded")
    start, end = 0.5, 1.5 - 2e-6  # one part: its centre is start + (end - start) / 2; find it 1e-6 before 1.0
    for _ in range(10_000):
        centre = start + 0.5 * (end - start)
        if centre + 1e-6 == 1.0:
            break
        end = float(np.nextafter(end, 2.0 if centre + 1e-6 < 1.0 else 0.0))
    assert centre + 1e-6 == 1.0 and centre < 1.0
    assert _shown(ev.decode_frames(path, 1, (24, 32), start=start, end=end)) == [4]  # the frame at 1.0 s


@needs_av
def test_frames_of_a_variable_frame_rate_clip(tmp_path):
    """Frames at 0, .25, .5, .75 and 2 s: the last frame lasts 1 / average rate (20/9 fps:
    0.45 s, not the usual 0.25 s gap), so the window is [0, 2.45) and the 4th centre (2.14 s) shows it."""
    write_frames(tmp_path / "vfr.mp4", [0, 1, 2, 3, 8], 4)
    assert _shown(ev.decode_frames(tmp_path / "vfr.mp4", 4, (24, 32))) == [1, 3, 3, 4]


@needs_av
def test_frames_of_a_clip_without_a_frame_rate(tmp_path):
    """NUT files of irregular frames report no average rate: a frame then lasts the median gap
    between frames (one frame alone: 1 s), and this raises no warnings."""
    write_frames(tmp_path / "five.nut", [0, 250, 500, 750, 2000], 1000)  # 0, .25, .5, .75, 2 s
    write_frames(tmp_path / "two.nut", [0, 1], 4)  # 0, .25 s
    write_frames(tmp_path / "one.nut", [0], 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # window [0, 2.25): centres .28, .84, 1.41, 1.97 s
        assert _shown(ev.decode_frames(tmp_path / "five.nut", 4, (24, 32))) == [1, 3, 3, 3]
        assert _shown(ev.decode_frames(tmp_path / "two.nut", 2, (24, 32))) == [0, 1]  # centres .125, .375 s
        assert _shown(ev.decode_frames(tmp_path / "one.nut", 2, (24, 32))) == [0, 0]


@needs_av
def test_frame_times_come_from_the_frames(tmp_path):
    """A clip whose first frame is at 1 s: frames are placed by their own times (not by their
    index at the frame rate), so the window [1, 2) holds the first four."""
    write_frames(tmp_path / "late.mp4", [4, 5, 6, 7, 8, 9, 10, 11], 4)
    assert _shown(ev.decode_frames(tmp_path / "late.mp4", 4, (24, 32), start=1.0, end=2.0)) == [0, 1, 2, 3]


@needs_x264
def test_frames_without_timestamps(tmp_path, monkeypatch):
    """A raw h264 stream has no timestamps: frame k is at k / rate (25 fps, the demuxer's
    default); with no rate either, at k seconds."""
    write_frames(tmp_path / "raw.h264", range(8), 4, fmt="h264", codec="libx264")
    assert _shown(ev.decode_frames(tmp_path / "raw.h264", 8, (24, 32))) == [0, 1, 2, 3, 4, 5, 6, 7]
    assert _shown(ev.decode_frames(tmp_path / "raw.h264", 4, (24, 32), end=0.16)) == [0, 1, 2, 3]
    real_open = ev._open

    class NoRate:
        """The container, its video stream reporting no average rate (which PyAV cannot write)."""
        def __init__(self, path):
            self._container = real_open(path)
            self._stream = self._container.streams.video[0]
            self.streams = types.SimpleNamespace(video=[types.SimpleNamespace(average_rate=None)])

        def decode(self, stream):
            return self._container.decode(self._stream)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._container.close()

    monkeypatch.setattr(ev, "_open", NoRate)
    assert _shown(ev.decode_frames(tmp_path / "raw.h264", 4, (24, 32), end=4.0)) == [0, 1, 2, 3]


# --- features ------------------------------------------------------------------------------------


def test_feature_config_bounds_are_inclusive_where_documented():
    """The smallest valid settings are accepted (sr 1, noverlap 0, a crop of exactly nperseg
    samples, max_seconds = crop_seconds, n_frames 0, 1 x 1 frames); just past them is refused,
    each with a message naming the value."""
    assert ev.EventFeatureConfig(sr=1, crop_seconds=600, max_seconds=600).crop_samples == 600
    assert ev.EventFeatureConfig(noverlap=0).hop == 512
    assert ev.EventFeatureConfig(crop_seconds=0.032).crop_cols == 1  # 512 samples: one segment
    assert ev.EventFeatureConfig(max_seconds=5.0).max_samples == 80000
    assert ev.EventFeatureConfig(n_frames=0, frame_size=(1, 1)).n_frames == 0
    assert ev.EventFeatureConfig(nperseg=256, noverlap=56, n_freq=1).freq_bins == 1
    refused = [(dict(sr=0), "sr must be positive, got 0"),
               (dict(noverlap=-1), "noverlap must be in [0, nperseg=512), got -1"),
               (dict(crop_seconds=0.01), "crop_seconds=0.01 gives 160 samples at sr=16000, fewer than nperseg=512"),
               (dict(max_seconds=4.0), "max_seconds=4.0 must be at least crop_seconds=5.0"),
               (dict(n_freq=100), "n_freq=100 must be None, 257 (no pooling) or a divisor of 256 "
                                  "(the 257 bins less the Nyquist bin, averaged in groups of adjacent bins)"),
               (dict(n_freq=0), "n_freq=0 must be None, 257 (no pooling) or a divisor of 256 "
                                "(the 257 bins less the Nyquist bin, averaged in groups of adjacent bins)"),
               (dict(n_frames=-1), "n_frames must be >= 0 and frame_size (h, w) positive, got -1, (112, 112)"),
               (dict(frame_size=(0, 32)), "n_frames must be >= 0 and frame_size (h, w) positive, got 8, (0, 32)"),
               (dict(frame_size=(32, 32, 3)),
                "n_frames must be >= 0 and frame_size (h, w) positive, got 8, (32, 32, 3)")]
    for kwargs, message in refused:
        with pytest.raises(ValueError) as info:
            ev.EventFeatureConfig(**kwargs)
        assert str(info.value) == message, kwargs


def test_pooling_to_one_and_to_pairs_of_bins():
    """n_freq=1 averages all bins but Nyquist's (128 of 129) in power; n_freq=64, pairs."""
    y = np.random.default_rng(5).uniform(-1, 1, 2000)
    _, _, power = scipy.signal.spectrogram(y, 8000, nperseg=256, noverlap=56)
    one = ev.log_spectrogram(y, 8000, 256, 56, n_freq=1)
    np.testing.assert_allclose(one, np.log(power[:128].mean(0, keepdims=True) + 1e-7), rtol=1e-5)
    pairs = ev.log_spectrogram(y, 8000, 256, 56, n_freq=64)
    np.testing.assert_allclose(pairs, np.log(power[:128].reshape(64, 2, -1).mean(1) + 1e-7), rtol=1e-5)


def test_log_spectrogram_precision_shape_checks_and_eps():
    """Computed in float64 whatever the input's dtype, returned as float32; one segment needs
    exactly nperseg samples; 2-D or shorter input is refused with its shape; a config's eps is
    the floor of the log (silence -> log(eps))."""
    y = np.random.default_rng(6).uniform(-1, 1, 4000).astype(np.float32)
    out = ev.log_spectrogram(y, 8000, 256, 56)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, ev.log_spectrogram(y.astype(np.float64), 8000, 256, 56))
    assert ev.log_spectrogram(np.ones(512)).shape == (257, 1)
    for bad, shape in [(np.zeros((2, 600)), "(2, 600)"), (np.zeros(511), "(511,)")]:
        with pytest.raises(ValueError) as info:
            ev.log_spectrogram(bad)
        assert str(info.value) == ("log_spectrogram needs a 1-D signal of at least nperseg=512 samples, "
                                   f"got shape {shape}")
    cfg = ev.EventFeatureConfig(sr=8000, crop_seconds=1.6, nperseg=256, noverlap=56, eps=1e-3)
    np.testing.assert_array_equal(cfg.spectrogram(np.zeros(2000)), np.float32(np.log(1e-3)))


def test_standardise_returns_float32_and_guards_a_tiny_std():
    """float32 out whatever comes in; the 1e-9 is added to the std (values 0 and 2e-9: std 1e-9,
    so +-1e-9 / 2e-9 = +-0.5, not a division by ~0)."""
    assert ev.standardise(np.arange(6.0).reshape(2, 3)).dtype == np.float32
    assert ev.standardise(np.arange(6, dtype=np.float16).reshape(2, 3)).dtype == np.float32
    np.testing.assert_allclose(ev.standardise(np.array([[0.0, 2e-9]])), [[-0.5, 0.5]], rtol=1e-3)


def test_crops_of_a_batch_of_spectrograms():
    """crop_columns counts columns on the last axis of [..., F, T] (here F = 5 < T = 10)."""
    spec = np.arange(2 * 5 * 10.0).reshape(2, 5, 10)
    np.testing.assert_array_equal(ev.crop_columns(spec, 4, 6), spec[..., 6:10])
    with pytest.raises(ValueError) as info:
        ev.crop_columns(spec, 4, 7)
    assert str(info.value) == "crop of 4 columns at 7 does not fit 10 columns"


def test_random_start_of_a_clip_that_just_fits():
    """A clip of exactly one crop (or shorter, padded) has one start: 0."""
    rng = np.random.default_rng(0)
    assert {ev.random_start(63, 63, rng) for _ in range(50)} == {0}
    assert {ev.random_start(40, 63, rng) for _ in range(50)} == {0}


def test_fit_length_leaves_lengths_at_the_bounds_alone():
    """Exactly n_min or n_max samples: returned as they are, no note."""
    for n in (15, 20):
        y, note = ev.fit_length(np.arange(float(n)), 15, 20)
        assert note is None and y.tolist() == list(range(n))


def test_waveforms_are_clipped_to_unit_range_before_features():
    """Samples beyond [-1, 1] are clipped (as VGGSound) in both pipelines, at -1 and 1 exactly."""
    cpu = ev.CPU_FEATURES
    y = 3.0 * np.sin(np.linspace(0, 40 * np.pi, 16000)) + np.random.default_rng(7).uniform(-0.1, 0.1, 16000)
    clipped = np.clip(y, -1.0, 1.0)
    spec, note = ev.clip_spectrogram(y, cpu)
    assert note is None
    np.testing.assert_array_equal(spec, cpu.spectrogram(clipped))
    start = (16000 - cpu.crop_samples) // 2
    np.testing.assert_array_equal(ev.audio_features(y, cpu),
                                  ev.standardise(cpu.spectrogram(clipped[start:start + cpu.crop_samples])))


def test_event_clips_audio_random_crop():
    """With an rng, clip i's crop starts where random_start says (same rng state), not centred."""
    spec = np.random.default_rng(8).normal(size=(1, 64, 100)).astype(np.float16)
    clips = ev.EventClips(spec, np.array([100]), np.array([0]), ["a"], ev.SkipReport(), ev.CPU_FEATURES)
    start = ev.random_start(100, 63, np.random.default_rng(9))
    assert start != ev.centre_start(100, 63)
    np.testing.assert_array_equal(clips.audio(0, rng=np.random.default_rng(9)),
                                  ev.standardise(spec[0][:, start:start + 63]))


# --- loading -------------------------------------------------------------------------------------


@needs_av
def test_load_audioset_defaults_a_users_class_list_and_segment_ends(tmp_path):
    """The default pattern is 'Y{ytid}.wav'; a class list passed in decides the known mids (one
    with only the chapter's: Speech unknown); '{end}' is the row's end; each clip's whole log
    spectrogram is stored (float16) and the report is named after the CSV."""
    (tmp_path / "seg.csv").write_text('# header\n-0Ab1_x-yz, 30.000, 35.000, "/m/018w8"\n'
                                      'speechBask1, 0.000, 10.000, "/m/018w8,/m/09x0r"\n')
    (tmp_path / "classes.csv").write_text("".join(f"{i},{mid},class {i}\n" for i, mid in enumerate(
        sorted({m for ms in ev.AUDIOSET_MIDS.values() for m in ms}))))
    audio = tmp_path / "audio"
    audio.mkdir()
    write_wav(audio / "Y-0Ab1_x-yz.wav", 2.0)
    write_wav(audio / "YspeechBask1.wav", 2.0)
    write_wav(audio / "-0Ab1_x-yz_30_35.wav", 2.0)
    clips = ev.load_audioset(tmp_path / "seg.csv", audio, class_csv=tmp_path / "classes.csv", cfg=ev.CPU_FEATURES)
    assert clips.ids == ["-0Ab1_x-yz_000030"] and clips.y.tolist() == [BASKET]
    assert clips.report.items == [("speechBask1_000000", "unknown label")]
    assert clips.report.source == "AudioSet seg.csv"
    whole, _ = ev.clip_spectrogram(ev.decode_audio(audio / "Y-0Ab1_x-yz.wav", 8000), ev.CPU_FEATURES)
    np.testing.assert_array_equal(clips.spec[0], whole.astype(np.float16))
    ends = ev.load_audioset(tmp_path / "seg.csv", audio, "{ytid}_{start}_{end}.wav", cfg=ev.CPU_FEATURES)
    assert ends.ids == ["-0Ab1_x-yz_000030"]  # read from -0Ab1_x-yz_30_35.wav
    assert ends.report.items == [("speechBask1_000000", "missing clip")]  # speechBask1_0_10.wav


@needs_av
def test_loader_errors_word_for_word(tmp_path):
    """Each refusal of the loaders names the path or value and what was expected; a split where
    no clip loads says which and why, with the report's summary."""
    (tmp_path / "seg.csv").write_text(SEGMENTS)
    (tmp_path / "vggsound.csv").write_text(VGGSOUND)
    folder = tmp_path / "empty"
    folder.mkdir()
    nowhere, missing = tmp_path / "nowhere", tmp_path / "missing.csv"
    cases = [(lambda: ev.load_audioset(tmp_path / "seg.csv", nowhere), FileNotFoundError,
              f"AudioSet audio folder {str(nowhere)!r} is not a folder"),
             (lambda: ev.load_audioset(missing, folder), FileNotFoundError,
              f"AudioSet segments CSV {str(missing)!r} is not a file "
              "(expected balanced_train_segments.csv style rows)"),
             (lambda: ev.load_audioset(tmp_path / "seg.csv", folder, cfg={}), TypeError,
              "cfg must be an EventFeatureConfig, got dict"),
             (lambda: ev.load_audioset(tmp_path / "seg.csv", folder, cfg=ev.CPU_FEATURES), ValueError,
              "no AudioSet clip could be loaded (AudioSet seg.csv: 0 kept, 6 skipped (missing clip: 4, "
              "several chapter classes: 1, unknown label: 1); left out by design: no chapter class: 1)"),
             (lambda: ev.load_vggsound(missing, folder, "train"), FileNotFoundError,
              f"VGGSound CSV {str(missing)!r} is not a file "
              "(expected vggsound.csv rows YTID,start_seconds,label,split)"),
             (lambda: ev.load_vggsound(tmp_path / "vggsound.csv", folder, "train", cfg="paper"), TypeError,
              "cfg must be an EventFeatureConfig, got str"),
             (lambda: ev.load_vggsound(tmp_path / "vggsound.csv", folder, "train", ev.EventFeatureConfig(n_frames=0)),
              ValueError, "with_frames needs cfg.n_frames >= 1"),
             (lambda: ev.load_vggsound(tmp_path / "vggsound.csv", folder, "test", ev.CPU_FEATURES), ValueError,
              "no VGGSound test clip could be loaded (VGGSound vggsound.csv (test): 0 kept, 1 skipped "
              "(missing clip: 1); left out by design: not a chapter class: 1, other split: 8)")]
    for fn, kind, message in cases:
        with pytest.raises(kind) as info:
            fn()
        assert str(info.value) == message
    (tmp_path / "classes.csv").write_text("0,/m/09x0r,Speech\n")
    with pytest.raises(ValueError) as info:
        ev.load_audioset(tmp_path / "seg.csv", folder, class_csv=tmp_path / "classes.csv")
    assert str(info.value).startswith(f"class list {str(tmp_path / 'classes.csv')!r} lacks the chapter's "
                                      "AudioSet mids ['/m/")


def test_one_frame_per_clip_is_enough(tmp_path):
    """with_frames needs n_frames >= 1, and 1 will do: the (bad) CSV is read next and refused."""
    (tmp_path / "v").mkdir()
    (tmp_path / "vggsound.csv").write_text("abc,0,bird chirping, tweeting,train\n")
    with pytest.raises(ValueError, match="5 fields"):
        ev.load_vggsound(tmp_path / "vggsound.csv", tmp_path / "v", "train", ev.EventFeatureConfig(n_frames=1))

