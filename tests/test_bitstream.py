"""The `.tqc` stream format: layout, round trips, golden vectors, damage, atomic writes."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import re
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from tqcodec import bitstream as bs
from tqcodec.bitstream import StreamHeader, StreamReader, TQCError

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text())
FP = bs.weights_fingerprint(b"test weights")


def random_codes(header: StreamHeader, frames: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, header.codebook_size, (header.channels, header.n_q, frames))


def stream(header: StreamHeader, codes) -> bytes:
    return bs.encode_header(header) + bs.encode_packets(header, codes)


def feed_all(reader: StreamReader, data: bytes, splits=None) -> list[bs.Packet]:
    pieces = [data] if splits is None else [data[a:b] for a, b in zip([0, *splits], [*splits, len(data)])]
    packets = []
    for piece in pieces:
        packets += reader.feed(piece)
    return packets + reader.finish()


def summary(err: TQCError | None):
    return None if err is None else {"kind": err.kind, "offset": err.offset, "packet": err.packet}


# --------------------------------------------------------------------------- layout


def test_header_layout_matches_the_documented_offsets():
    h = StreamHeader(channels=2, n_q=10, fingerprint=bytes(range(16)), sample_rate=48_000, hop_length=120,
                     codebook_size=300, bits=10, frames_per_packet=17, total_samples=123_456_789_012)
    b = bs.encode_header(h)
    assert len(b) == bs.HEADER_SIZE == 52
    assert b[0:4] == b"TQCS"
    assert struct.unpack_from("<HHIIIBBBBQ", b, 4) == (1, 0, 48_000, 120, 300, 2, 10, 10, 17, 123_456_789_012)
    assert b[32:48] == bytes(range(16))
    assert struct.unpack_from("<I", b, 48)[0] == zlib.crc32(b[:48])
    assert bs.decode_header(b) == h


def test_unknown_length_is_all_ones():
    h = StreamHeader(channels=1, n_q=10, fingerprint=FP)
    b = bs.encode_header(h)
    assert b[24:32] == b"\xff" * 8
    assert bs.decode_header(b).total_samples is None and h.n_frames is None


def test_packet_layout():
    h = StreamHeader(channels=1, n_q=10, fingerprint=FP)
    codes = random_codes(h, 32)
    pkt = bs.encode_packet(h, 70_000, codes)  # sequence numbers wrap at 2**16
    assert len(pkt) == h.packet_size() == 5 + 360 + 4
    assert pkt[:2] == bs.SYNC and struct.unpack_from("<HB", pkt, 2) == (70_000 - 65_536, 32)
    hb = bs.encode_header(h)
    assert struct.unpack_from("<I", pkt, len(pkt) - 4)[0] == zlib.crc32(hb[:24] + hb[32:48] + pkt[:-4])
    assert pkt[5:-4] == bs.pack_codes(codes.transpose(2, 0, 1), 9)  # frame-major, channel, codebook


def test_frame_major_code_order():
    h = StreamHeader(channels=2, n_q=3, fingerprint=FP, bits=8, codebook_size=256)
    codes = np.arange(2 * 3 * 4).reshape(2, 3, 4)  # value = 12*channel + 4*codebook + frame
    payload = bs.encode_packet(h, 0, codes)[5:-4]
    expected = [12 * c + 4 * q + f for f in range(4) for c in range(2) for q in range(3)]
    assert list(payload) == expected


def test_defaults_are_tqcodecs():
    from tqcodec.configs import CONFIGS

    cfg = CONFIGS["tq64"]
    h = StreamHeader(channels=1, n_q=cfg.n_codebooks, fingerprint=FP)
    assert (h.sample_rate, h.hop_length, h.codebook_size) == (cfg.sample_rate, cfg.hop_length, cfg.codebook_size)
    assert 2 ** h.bits == cfg.codebook_size and h.frame_rate == cfg.frame_rate == 689.0625
    assert bs.bitrate(h).code_bps == pytest.approx(1000 * cfg.kbps_per_channel)


def test_fingerprint_helper():
    assert bs.weights_fingerprint(b"abc") == hashlib.sha256(b"abc").digest()[:16]


@pytest.mark.parametrize("field, value", [
    ("channels", 0), ("channels", 256), ("n_q", 0), ("bits", 0), ("bits", 17), ("codebook_size", 513),
    ("codebook_size", 0), ("frames_per_packet", 0), ("frames_per_packet", 256), ("sample_rate", 0),
    ("hop_length", 0), ("total_samples", -1), ("total_samples", 2 ** 64 - 1), ("fingerprint", b"short"),
    ("channels", 1.0), ("n_q", True),
])
def test_invalid_header_fields(field, value):
    kw = dict(channels=1, n_q=10, fingerprint=FP)
    kw[field] = value
    with pytest.raises(TQCError) as e:
        StreamHeader(**kw)
    assert e.value.kind == "bad_header_field" and field in str(e.value)


# --------------------------------------------------------------------------- bit packing


def test_pack_bit_order_worked_example():
    # The example in docs/bitstream.md: ten 9-bit codes, LSB first, 6 pad bits.
    codes = [0, 1, 2, 3, 100, 256, 300, 400, 510, 511]
    assert bs.pack_codes(codes, 9).hex() == "000208184006204bc8feff03"


@pytest.mark.parametrize("bits", range(1, 17))
def test_pack_unpack_round_trip(bits):
    rng = np.random.default_rng(bits)
    for n in (0, 1, 7, 8, 9, 1001):
        codes = rng.integers(0, 1 << bits, n)
        packed = bs.pack_codes(codes, bits)
        assert len(packed) == (n * bits + 7) // 8
        assert np.array_equal(bs.unpack_codes(packed, bits, n), codes)
        # the reference definition: code i occupies bits i*bits .. i*bits+bits-1, LSB first
        as_int = int.from_bytes(packed, "little")
        assert [(as_int >> (i * bits)) & ((1 << bits) - 1) for i in range(n)] == codes.tolist()


def test_pack_rejects_bad_input():
    with pytest.raises(TQCError) as e:
        bs.pack_codes([512], 9)
    assert e.value.kind == "code_out_of_range"
    with pytest.raises(TQCError) as e:
        bs.pack_codes([-1], 9)
    assert e.value.kind == "code_out_of_range"
    for bad in ([0.5], ["a"]):
        with pytest.raises(TQCError) as e:
            bs.pack_codes(bad, 9)
        assert e.value.kind == "invalid_argument"
    with pytest.raises(TQCError):
        bs.pack_codes([1], 0)
    with pytest.raises(TQCError):
        bs.unpack_codes(b"\x00", 9, 1)


def test_pack_is_fast_for_minutes_of_stereo_tq128():
    # 2 channels * 20 codebooks * 40,000 frames (58 s) = 1.6 M codes.
    h = StreamHeader(channels=2, n_q=20, fingerprint=FP)
    codes = random_codes(h, 40_000)
    t0 = time.perf_counter()
    data = stream(h, codes)
    h2, back = bs.decode_stream(data)
    elapsed = time.perf_counter() - t0
    assert h2 == h and np.array_equal(back, codes)
    assert elapsed < 5.0, f"1.6 M codes took {elapsed:.2f} s to write and read"


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("channels, n_q", [(1, 5), (1, 10), (2, 10), (2, 20), (3, 1)])
@pytest.mark.parametrize("fpp", [1, 7, 32])
@pytest.mark.parametrize("frames_of", [lambda f: 0, lambda f: 1, lambda f: f, lambda f: 3 * f + (f > 1)])
@pytest.mark.parametrize("live", [False, True])
def test_round_trip(tmp_path, channels, n_q, fpp, frames_of, live):
    frames = frames_of(fpp)
    h = StreamHeader(channels=channels, n_q=n_q, fingerprint=FP, frames_per_packet=fpp,
                     total_samples=None if live else max(0, frames * 64 - 5))
    codes = random_codes(h, frames, seed=frames)
    path = tmp_path / "x.tqc"
    bs.write_stream(path, h, codes)
    h2, back = bs.read_stream(path, expected_fingerprint=FP)
    assert h2 == h and back.shape == codes.shape and np.array_equal(back, codes)
    n_packets = -(-frames // fpp)
    assert path.stat().st_size == bs.HEADER_SIZE + n_packets * bs.PACKET_OVERHEAD + sum(
        h.payload_size(min(fpp, frames - k * fpp)) for k in range(n_packets))
    assert os.listdir(tmp_path) == ["x.tqc"]


@pytest.mark.parametrize("bits, codebook_size", [(1, 2), (9, 500), (11, 1500), (16, 65536)])
def test_round_trip_other_code_widths(bits, codebook_size):
    h = StreamHeader(channels=2, n_q=3, fingerprint=FP, bits=bits, codebook_size=codebook_size,
                     frames_per_packet=5, total_samples=23 * 64)
    codes = random_codes(h, 23)
    assert np.array_equal(bs.decode_stream(stream(h, codes))[1], codes)


def test_random_splits_equal_whole_reading():
    rng = np.random.default_rng(5)
    h = StreamHeader(channels=2, n_q=10, fingerprint=FP, frames_per_packet=16, total_samples=None)
    codes = random_codes(h, 150)
    data = stream(h, codes)
    whole = feed_all(StreamReader(), data)
    for trial in range(30):
        splits = sorted(rng.choice(np.arange(1, len(data)), size=int(rng.integers(1, 60)), replace=False))
        parts = feed_all(StreamReader(), data, splits=list(splits))
        assert [(p.sequence, p.offset, p.lost_before) for p in parts] == [
            (p.sequence, p.offset, p.lost_before) for p in whole]
        assert np.array_equal(np.concatenate([p.codes for p in parts], axis=2), codes)
    one_by_one = feed_all(StreamReader(), data, splits=list(range(1, len(data))))
    assert len(one_by_one) == len(whole)


def test_packets_arrive_as_soon_as_complete():
    h = StreamHeader(channels=1, n_q=10, fingerprint=FP, frames_per_packet=8)
    data = stream(h, random_codes(h, 24))
    r = StreamReader(strict=True)
    first_packet_end = bs.HEADER_SIZE + h.packet_size()
    assert r.feed(data[:first_packet_end - 1]) == []
    assert [p.sequence for p in r.feed(data[first_packet_end - 1:first_packet_end])] == [0]
    assert [p.sequence for p in r.feed(data[first_packet_end:])] == [1, 2]
    assert r.finish() == []


def test_iter_packets_from_a_seek_point(tmp_path):
    h = StreamHeader(channels=2, n_q=10, fingerprint=FP, frames_per_packet=8, total_samples=60 * 64)
    codes = random_codes(h, 60)
    path = tmp_path / "s.tqc"
    bs.write_stream(path, h, codes)
    with open(path, "rb") as f:
        header = bs.decode_header(f.read(bs.HEADER_SIZE))
        f.seek(bs.packet_offset(header, 3))
        packets = list(bs.iter_packets(f, header, first_sequence=3, chunk_size=17))
    assert [p.sequence for p in packets] == [3, 4, 5, 6, 7]
    assert packets[0].offset == bs.packet_offset(header, 3)
    assert np.array_equal(np.concatenate([p.codes for p in packets], axis=2), codes[:, :, 24:])
    assert packets[-1].frames == 4


def test_sequence_numbers_wrap():
    h = StreamHeader(channels=1, n_q=2, fingerprint=FP, frames_per_packet=2)
    codes = random_codes(h, 20)
    data = bs.encode_packets(h, codes, first_sequence=65_530)
    r = StreamReader(strict=True, header=h, first_sequence=65_530)
    packets = feed_all(r, data)
    assert [p.sequence for p in packets] == [65_530 + i for i in range(6)] + [0, 1, 2, 3]
    # a packet lost across the wrap is a gap of one, not of 65,535
    sizes = h.packet_size()
    dropped = data[:6 * sizes] + data[7 * sizes:]
    r = StreamReader(strict=False, header=h, first_sequence=65_530)
    packets = feed_all(r, dropped)
    assert [p.lost_before for p in packets] == [0] * 6 + [1, 0, 0]
    assert [e.kind for e in r.events] == ["sequence_gap"] and r.lost_packets == 1


# --------------------------------------------------------------------------- bitrate


def test_overhead_at_the_default_packet_size():
    assert bs.DEFAULT_FRAMES_PER_PACKET == 32
    mono = bs.bitrate(StreamHeader(channels=1, n_q=10, fingerprint=FP))
    stereo = bs.bitrate(StreamHeader(channels=2, n_q=10, fingerprint=FP))
    # 369-byte packets carry 360 bytes of codes; 729 carry 720.
    assert mono.overhead == pytest.approx(9 / 360) and mono.overhead < 0.03
    assert stereo.overhead == pytest.approx(9 / 720)
    assert mono.code_bps == 62_015.625 and mono.stream_bps == 369 * 8 * 689.0625 / 32
    assert stereo.stream_bps == 729 * 8 * 689.0625 / 32 and stereo.stream_bps_per_channel == stereo.stream_bps / 2
    assert "kbps" in mono.describe()


def test_stream_bitrate_of_a_whole_file():
    h = StreamHeader(channels=2, n_q=10, fingerprint=FP, total_samples=100 * 64)
    data = stream(h, random_codes(h, 100))
    rate = bs.stream_bitrate(h, len(data), 100)
    assert rate.stream_bps == pytest.approx(len(data) * 8 / (100 * 64 / 44_100))
    assert rate.overhead > bs.bitrate(h).overhead  # the file header and the partial packet's padding


# --------------------------------------------------------------------------- golden vectors


def load_codes(doc) -> np.ndarray:
    h = doc["header"]
    return np.array(doc["codes"], dtype=np.int64).reshape(h["channels"], h["n_q"], doc["frames"])


@pytest.mark.parametrize("name", MANIFEST["valid"])
def test_valid_vector_decodes_to_its_json(name):
    doc = json.loads((VECTORS / name).read_text())
    path = VECTORS / Path(name).parent / doc["file"]
    header, codes = bs.read_stream(path, expected_fingerprint=bytes.fromhex(doc["header"]["fingerprint"]))
    assert header.to_dict() == doc["header"] and header == StreamHeader.from_dict(doc["header"])
    assert np.array_equal(codes, load_codes(doc))
    assert path.stat().st_size == doc["size"]
    packets = feed_all(StreamReader(strict=True), path.read_bytes())
    assert [{"sequence": p.sequence, "offset": p.offset, "frames": p.frames} for p in packets] == doc["packets"]
    rate = bs.bitrate(header)
    for key, value in doc["bitrate"].items():
        assert getattr(rate, key) == pytest.approx(value, rel=1e-12)


def run(case, data: bytes, strict: bool, splits=None):
    """(error, recovered sequences, events) as the manifest states them."""
    header = None
    if case["header_from"]:
        header = StreamHeader.from_dict(json.loads((VECTORS / case["header_from"]).read_text())["header"])
    fp = bytes.fromhex(case["expected_fingerprint"]) if case["expected_fingerprint"] else None
    packets, error, r = [], None, None
    try:
        r = StreamReader(strict=strict, header=header, expected_fingerprint=fp,
                         first_sequence=None if header else 0)
        pieces = [data] if splits is None else [data[a:b] for a, b in zip([0, *splits], [*splits, len(data)])]
        for piece in pieces:
            packets += r.feed(piece)
        packets += r.finish()
    except TQCError as e:
        error = e
    return error, packets, ([] if r is None else r.events)


@pytest.mark.parametrize("case", MANIFEST["cases"], ids=lambda c: Path(c["file"]).stem)
def test_damaged_vector(case):
    data = (VECTORS / case["file"]).read_bytes()
    ref = json.loads((VECTORS / case["reference"]).read_text())
    ref_codes, fpp = load_codes(ref), ref["header"]["frames_per_packet"]

    error, packets, _ = run(case, data, strict=True)
    assert summary(error) == case["strict"]
    if error is None:
        assert [p.sequence for p in packets] == case["streaming"]["recovered"]
    rng = np.random.default_rng(len(data))
    for splits in (None, sorted(rng.choice(np.arange(1, max(2, len(data))), size=min(9, max(0, len(data) - 1)),
                                           replace=False).tolist()), list(range(1, len(data)))):
        error, packets, events = run(case, data, strict=False, splits=splits)
        got = {"fatal": summary(error), "recovered": [p.sequence for p in packets],
               "events": [summary(e) for e in events]}
        assert got == case["streaming"]
        if error is None:  # every recovered packet holds exactly the reference frames the manifest names
            assert case["reference_frames"] == [p.sequence * fpp for p in packets] or "jump" in case["reference"]
            for p, start in zip(packets, case["reference_frames"], strict=True):
                assert np.array_equal(p.codes, ref_codes[:, :, start:start + p.frames])


def test_strict_errors_name_the_file(tmp_path):
    for case in MANIFEST["cases"]:
        if case["strict"] is None or case["header_from"]:
            continue
        path = VECTORS / case["file"]
        fp = bytes.fromhex(case["expected_fingerprint"]) if case["expected_fingerprint"] else None
        with pytest.raises(TQCError) as e:
            bs.read_stream(path, expected_fingerprint=fp)
        err = e.value
        assert summary(err) == case["strict"]
        assert err.path == str(path) and str(path) in str(err) and err.message == str(err)
        assert f"byte {err.offset}" in str(err)
        if err.packet is not None:
            assert f"packet {err.packet}" in str(err)
        assert "expected" in str(err)


def test_vectors_are_up_to_date():
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    files = mod.build()
    on_disk = {p.relative_to(VECTORS).as_posix() for p in VECTORS.rglob("*")
               if p.is_file() and p.suffix in (".tqc", ".json")}
    assert on_disk == set(files), "run python tests/vectors/make_vectors.py"
    for rel, data in files.items():
        assert (VECTORS / rel).read_bytes() == data, f"{rel} is stale: run python tests/vectors/make_vectors.py"
    assert sum(p.stat().st_size for p in VECTORS.rglob("*") if p.is_file()) < 200_000


def test_vector_coverage():
    kinds = {c["strict"]["kind"] for c in MANIFEST["cases"] if c["strict"]}
    kinds |= {e["kind"] for c in MANIFEST["cases"] for e in c["streaming"]["events"]}
    # what no file alone can show: I/O, API misuse, and a decoder that does not fit the stream
    assert bs.KINDS - kinds == {"io_error", "invalid_argument", "decoder_mismatch"}
    docs = [json.loads((VECTORS / n).read_text()) for n in MANIFEST["valid"]]
    assert {d["header"]["n_q"] for d in docs} >= {5, 10, 20}
    assert {d["header"]["channels"] for d in docs} >= {1, 2}
    assert any(d["header"]["total_samples"] is None for d in docs)
    assert any(d["packets"] and d["packets"][-1]["frames"] < d["header"]["frames_per_packet"] for d in docs)


def test_every_kind_is_documented():
    text = (ROOT / "docs" / "bitstream.md").read_text()
    table = set(re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.M))
    assert table == set(bs.KINDS)


# --------------------------------------------------------------------------- errors and modes


def test_streaming_mode_reports_through_the_callback():
    h = StreamHeader(channels=1, n_q=10, fingerprint=FP, frames_per_packet=4)
    data = bytearray(stream(h, random_codes(h, 40)))
    data[bs.HEADER_SIZE + 10] ^= 0xFF
    seen = []
    r = StreamReader(strict=False, on_event=seen.append)
    packets = feed_all(r, bytes(data))
    assert [e.kind for e in seen] == ["bad_crc", "sequence_gap"] and seen == r.events
    assert [p.sequence for p in packets] == list(range(1, 10)) and packets[0].lost_before == 1
    assert r.lost_packets == 1 and r.frames_read == 36


def test_strict_errors_are_sticky_and_feed_after_finish_is_refused():
    r = StreamReader(strict=True)
    with pytest.raises(TQCError):
        r.feed(b"NOPE" + bytes(60))
    with pytest.raises(TQCError) as e:
        r.feed(b"more")
    assert e.value.kind == "bad_magic"
    r = StreamReader(strict=True)
    r.feed(bs.encode_header(StreamHeader(channels=1, n_q=1, fingerprint=FP)))
    r.finish()
    with pytest.raises(TQCError) as e:
        r.feed(b"x")
    assert e.value.kind == "invalid_argument"
    with pytest.raises(TQCError) as e:
        StreamReader().feed("text")
    assert e.value.kind == "invalid_argument"


def test_expected_fingerprint_checks():
    h = StreamHeader(channels=1, n_q=1, fingerprint=FP)
    data = bs.encode_header(h)
    with pytest.raises(TQCError) as e:
        bs.decode_stream(data, expected_fingerprint=b"short")
    assert e.value.kind == "invalid_argument"
    with pytest.raises(TQCError) as e:
        StreamReader(header=h, expected_fingerprint=bytes(16))
    assert e.value.kind == "fingerprint_mismatch" and e.value.offset is None
    assert bs.decode_stream(data, expected_fingerprint=FP)[0] == h


def test_errors_pickle():
    err = TQCError("bad_crc", "packet CRC-32 expected 0x1, found 0x2", path="a.tqc", offset=7, packet=3)
    back = pickle.loads(pickle.dumps(err))
    assert (back.kind, back.path, back.offset, back.packet, str(back)) == (
        "bad_crc", "a.tqc", 7, 3, str(err))
    with pytest.raises(ValueError):
        TQCError("no_such_kind", "x")


def test_garbage_is_scanned_quickly_in_bounded_memory():
    h = StreamHeader(channels=1, n_q=10, fingerprint=FP, frames_per_packet=8)
    codes = random_codes(h, 16)
    good = stream(h, codes)
    # sync words with plausible frame counts make every candidate cost a CRC
    rng = np.random.default_rng(0)
    junk = bytearray(rng.integers(0, 256, 2_000_000, dtype=np.uint8).tobytes())
    junk[::7] = b"\xa5" * len(junk[::7])
    junk[1::7] = b"\x5a" * len(junk[1::7])
    junk[4::7] = b"\x08" * len(junk[4::7])
    r = StreamReader(strict=False)
    t0 = time.perf_counter()
    packets = r.feed(good[:bs.HEADER_SIZE + h.packet_size()])
    for i in range(0, len(junk), 65_536):
        packets += r.feed(bytes(junk[i:i + 65_536]))
        assert len(r._buf) < 3 * 65_536
    packets += feed_all(r, good[bs.HEADER_SIZE + h.packet_size():])
    assert time.perf_counter() - t0 < 10
    assert [p.sequence for p in packets] == [0, 1]
    assert [e.kind for e in r.events] == ["bad_crc"]  # the junk starts with a sync word: one event


# --------------------------------------------------------------------------- writing


def test_write_rejects_bad_codes(tmp_path):
    h = StreamHeader(channels=2, n_q=10, fingerprint=FP, codebook_size=500, total_samples=10 * 64)
    path = tmp_path / "bad.tqc"
    cases = [(np.zeros((2, 9, 10), int), "invalid_argument"), (np.zeros((2, 10), int), "invalid_argument"),
             (np.full((2, 10, 10), 500), "code_out_of_range"), (np.zeros((2, 10, 11), int), "length_mismatch"),
             (np.zeros((2, 10, 10)), "invalid_argument")]
    for codes, kind in cases:
        with pytest.raises(TQCError) as e:
            bs.write_stream(path, h, codes)
        assert e.value.kind == kind
    assert os.listdir(tmp_path) == []
    with pytest.raises(TQCError) as e:
        bs.encode_packet(h, 0, np.zeros((2, 10, 33), int))
    assert e.value.kind == "invalid_argument"


def test_unwritable_and_unreadable_paths_are_named(tmp_path):
    h = StreamHeader(channels=1, n_q=1, fingerprint=FP)
    codes = np.zeros((1, 1, 3), int)
    target = tmp_path / "no_such_dir" / "x.tqc"
    with pytest.raises(TQCError) as e:
        bs.write_stream(target, h, codes)
    assert e.value.kind == "io_error" and str(target) in str(e.value) and e.value.path == str(target)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(TQCError) as e:
        bs.write_stream(tmp_path / "file" / "x.tqc", h, codes)  # a file used as a folder
    assert e.value.kind == "io_error"
    with pytest.raises(TQCError) as e:
        bs.read_stream(tmp_path / "missing.tqc")
    assert e.value.kind == "io_error" and "missing.tqc" in str(e.value)


def test_written_stream_mode_follows_umask(tmp_path):
    """mkstemp alone makes 0600 files; the one atomic write honours the umask."""
    h = StreamHeader(channels=1, n_q=10, fingerprint=FP)
    old = os.umask(0o022)
    try:
        bs.write_stream(tmp_path / "a.tqc", h, random_codes(h, 10))
    finally:
        os.umask(old)
    assert (tmp_path / "a.tqc").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, failing):
    h = StreamHeader(channels=1, n_q=10, fingerprint=FP)
    path = tmp_path / "song.tqc"
    path.write_bytes(b"previous version")

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    import tqcodec.atomic as atomic  # write_stream writes through the one atomic write
    if failing == "write":
        class FailingFile:
            def __init__(self, *args, **kwargs):
                self.f = open(*args, **kwargs)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            write = staticmethod(boom)

        monkeypatch.setattr(atomic, "open", FailingFile, raising=False)
    else:
        monkeypatch.setattr(atomic.os, failing, boom)
    with pytest.raises(TQCError) as e:
        bs.write_stream(path, h, random_codes(h, 100))
    assert e.value.kind == "io_error" and "No space left" in str(e.value)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["song.tqc"] and path.read_bytes() == b"previous version"
