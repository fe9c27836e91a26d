"""Regenerate the ``.tqc`` golden vectors and their JSON, byte for byte.

    python tests/vectors/make_vectors.py          # rewrite tests/vectors/
    python tests/vectors/make_vectors.py --check  # exit 1 if the files on disk differ

Why this exists: the Python, Java and Swift readers must agree on the same bytes.  Every
file is built from fixed seeds; the damaged streams are made by editing a good stream
at known offsets, and the errors each reader must report are written here by hand from
that construction (not copied from the reader), then checked against the reader before
anything is written.  The schema is described in tests/vectors/README.md.
"""
from __future__ import annotations

import argparse
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, when run as a script

from tqcodec import bitstream as bs  # noqa: E402
from tqcodec.concealment import (FADE_SAMPLES, MAX_CONCEAL_FRAMES, SEEK_PREROLL_FRAMES,  # noqa: E402
                                 plan_concealment)

VALID, CORRUPT = "valid", "corrupt"


def fingerprint(name: str) -> bytes:
    return bs.weights_fingerprint(f"tqcodec test vector weights: {name}".encode())


# name: (description, header fields, frames, seed)
VALID_SPECS = {
    "mono_tq64": ("tq64 mono: two full packets and a partial last packet of 16 frames",
                  dict(channels=1, n_q=10, total_samples=80 * 64 - 13), 80, 1),
    "stereo_tq64": ("tq64 stereo, frames interleaved left then right; partial last packet of 6 frames",
                    dict(channels=2, n_q=10, total_samples=70 * 64), 70, 2),
    "mono_tq32": ("tq32 mono (n_q=5): exactly two full packets, no partial packet",
                  dict(channels=1, n_q=5, total_samples=64 * 64), 64, 3),
    "stereo_tq128": ("tq128 stereo (n_q=20): one full packet and a partial packet of 8 frames",
                     dict(channels=2, n_q=20, total_samples=40 * 64 - 1), 40, 4),
    "live_unknown_length": ("live stream: total_samples unknown (all ones), 16 frames per packet",
                            dict(channels=1, n_q=10, frames_per_packet=16, total_samples=None), 50, 5),
    "nondefault_fields": ("every header field away from its default: 48 kHz, hop 120, 3 channels, "
                          "n_q=4, 11-bit codes from a 1500-entry codebook, 7 frames per packet",
                          dict(channels=3, n_q=4, sample_rate=48_000, hop_length=120, codebook_size=1500,
                               bits=11, frames_per_packet=7, total_samples=23 * 120 - 5), 23, 6),
    "single_frame": ("one sample of audio: one packet holding one frame (the worked example "
                     "in docs/bitstream.md)", dict(channels=1, n_q=10, total_samples=1), 1, 7),
    "empty": ("zero samples: the header and no packet", dict(channels=2, n_q=10, total_samples=0), 0, 8),
    "bits1": ("1-bit codes from a 2-entry codebook, 5 frames per packet, live",
              dict(channels=1, n_q=3, bits=1, codebook_size=2, frames_per_packet=5), 13, 9),
    "bits16": ("16-bit codes from a 65536-entry codebook, stereo, 4 frames per packet",
               dict(channels=2, n_q=2, bits=16, codebook_size=65536, frames_per_packet=4,
                    total_samples=9 * 64), 9, 10),
    "one_frame_per_packet": ("1 frame per packet (the smallest packets)",
                             dict(channels=1, n_q=2, frames_per_packet=1, total_samples=5 * 64), 5, 11),
    "jump_base_32": ("the source of the sequence-jump cases at 32 frames per packet: tq64 mono, live, "
                     "one partial packet of 16 frames", dict(channels=1, n_q=10, total_samples=None), 16, 13),
    "jump_base_255": ("the source of the sequence-jump cases at 255 frames per packet: tq64 mono, live, "
                      "one partial packet of 11 frames", dict(channels=1, n_q=10, frames_per_packet=255,
                                                              total_samples=None), 11, 14),
    "corrupt_base": ("the good stream every damaged case is cut from: tq64 mono, 8 frames per packet, "
                     "codebook_size 500 (so 9-bit values 500..511 are out of range), 5 packets of 99 bytes",
                     dict(channels=1, n_q=10, codebook_size=500, frames_per_packet=8,
                          total_samples=40 * 64), 40, 12),
}

# Round numbers where a person checks the bits by hand (docs/bitstream.md).
EXPLICIT_CODES = {"single_frame": [0, 1, 2, 3, 100, 256, 300, 400, 510, 511]}


def make_valid(name: str):
    description, fields, frames, seed = VALID_SPECS[name]
    header = bs.StreamHeader(fingerprint=fingerprint(name), **fields)
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, header.codebook_size, (header.channels, header.n_q, frames), dtype=np.int64)
    if name in EXPLICIT_CODES:
        codes[:] = np.array(EXPLICIT_CODES[name]).reshape(codes.shape)
    if frames:  # make sure the extremes are exercised
        codes[0, 0, 0] = 0
        codes[-1, -1, -1] = header.codebook_size - 1
    data = bs.encode_header(header) + bs.encode_packets(header, codes)
    fpp = header.frames_per_packet
    packets, offset = [], bs.HEADER_SIZE
    for i, start in enumerate(range(0, frames, fpp)):
        n = min(fpp, frames - start)
        packets.append({"sequence": i, "offset": offset, "frames": n})
        offset += header.packet_size(n)
    assert offset == len(data)
    rate = bs.bitrate(header)
    doc = {
        "file": f"{name}.tqc",
        "description": description,
        "header": header.to_dict(),
        "frames": frames,
        "size": len(data),
        "packets": packets,
        "bitrate": {"stream_bps": rate.stream_bps, "stream_bps_per_channel": rate.stream_bps_per_channel,
                    "code_bps": rate.code_bps, "overhead": rate.overhead},
        "codes": codes.tolist(),
    }
    return header, codes, data, doc


# ------------------------------------------------------------------ damaged streams
# corrupt_base layout: header 0..51, packet k at 52 + 99*k (k = 0..4), end at 547.
H = bs.HEADER_SIZE
P = 99
PK = [H + P * k for k in range(5)]
END = H + 5 * P


def _with_header_field(data: bytes, offset: int, fmt: str, value) -> bytes:
    """Change one header field and recompute the header CRC, so only that field is wrong."""
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<I", b, 48, zlib.crc32(bytes(b[:48])))
    return bytes(b)


def _flip(data: bytes, offset: int, bit: int = 0) -> bytes:
    b = bytearray(data)
    b[offset] ^= 1 << bit
    return bytes(b)


def _packet(data: bytes, k: int) -> bytes:
    return data[PK[k]:PK[k] + P]


def _repacket(header: bs.StreamHeader, body: bytes) -> bytes:
    """Recompute a packet's trailing CRC after editing its body (so the CRC passes)."""
    return body + struct.pack("<I", zlib.crc32(body, bs.packet_crc_seed(header)))


def _err(kind, offset, packet):
    return {"kind": kind, "offset": offset, "packet": packet}


def make_cases(base: bytes, header: bs.StreamHeader, codes: np.ndarray):
    """(name, description, bytes, extra manifest fields, strict, streaming) per case."""
    rng = np.random.default_rng(99)
    garbage = bytes(rng.integers(0, 256, 37, dtype=np.uint8))
    garbage = garbage.replace(bs.SYNC, b"\x00\x00")
    assert garbage[0] != bs.SYNC[0]
    packets = [_packet(base, k) for k in range(5)]
    all_ok = {"fatal": None, "recovered": [0, 1, 2, 3, 4], "events": []}

    def fatal(kind, offset):
        return {"fatal": _err(kind, offset, None), "recovered": [], "events": []}

    cases = []

    def case(name, description, data, strict, streaming, **extra):
        cases.append((name, description, data, extra, strict, streaming))

    # --- header damage: fatal in both modes
    case("bad_magic", "first four bytes are 'RIFF'", b"RIFF" + base[4:],
         _err("bad_magic", 0, None), fatal("bad_magic", 0))
    case("unsupported_version", "version field 2 (header CRC valid)", _with_header_field(base, 4, "<H", 2),
         _err("unsupported_version", 4, None), fatal("unsupported_version", 4))
    case("empty_file", "zero bytes", b"", _err("truncated_header", 0, None), fatal("truncated_header", 0))
    case("truncated_header", "the first 30 bytes of the header only", base[:30],
         _err("truncated_header", 0, None), fatal("truncated_header", 0))
    case("bad_header_crc", "one bit flipped in sample_rate", _flip(base, 9, 3),
         _err("bad_header_crc", 48, None), fatal("bad_header_crc", 48))
    case("bad_header_field", "channels = 0 (header CRC valid)", _with_header_field(base, 20, "<B", 0),
         _err("bad_header_field", 20, None), fatal("bad_header_field", 20))
    other = fingerprint("some other decoder")
    case("fingerprint_mismatch", "an intact stream read with another decoder's fingerprint expected", base,
         _err("fingerprint_mismatch", 32, None), fatal("fingerprint_mismatch", 32),
         expected_fingerprint=other.hex())

    # --- packet damage: strict raises, streaming recovers
    case("garbage_between_packets", "37 random bytes between packets 1 and 2",
         base[:PK[2]] + garbage + base[PK[2]:],
         _err("bad_sync", PK[2], 2), {**all_ok, "events": [_err("bad_sync", PK[2], 2)]})
    false_packet = bs.SYNC + struct.pack("<HB", 2, 8) + garbage[:20]
    case("false_sync_in_garbage", "garbage holding a sync word and a plausible packet header "
         "(sequence 2, 8 frames) before packet 2; its CRC cannot match",
         base[:PK[2]] + false_packet + base[PK[2]:],
         _err("bad_crc", PK[2], 2), {**all_ok, "events": [_err("bad_crc", PK[2], 2)]})
    case("trailing_garbage", "37 random bytes after the last packet", base + garbage,
         _err("bad_sync", END, 5), {**all_ok, "events": [_err("bad_sync", END, 5)]})
    case("truncated_packet", "the file ends 40 bytes before the end of packet 4", base[:END - 40],
         _err("truncated_packet", PK[4], 4),
         {"fatal": None, "recovered": [0, 1, 2, 3], "events": [_err("truncated_packet", PK[4], 4)]})
    case("bad_crc", "one bit flipped in the codes of packet 1", _flip(base, PK[1] + 30, 5),
         _err("bad_crc", PK[1], 1),
         {"fatal": None, "recovered": [0, 2, 3, 4],
          "events": [_err("bad_crc", PK[1], 1), _err("sequence_gap", PK[2], 1)]})
    case("bad_crc_in_sequence_field", "one bit flipped in the sequence number of packet 3",
         _flip(base, PK[3] + 2, 4), _err("bad_crc", PK[3], 3),
         {"fatal": None, "recovered": [0, 1, 2, 4],
          "events": [_err("bad_crc", PK[3], 3), _err("sequence_gap", PK[4], 3)]})
    burst = bytearray(base)
    burst[PK[1] + 80:PK[1] + 120] = bytes(40)
    case("burst_damage", "40 zero bytes over the end of packet 1 and the start of packet 2", bytes(burst),
         _err("bad_crc", PK[1], 1),
         {"fatal": None, "recovered": [0, 3, 4],
          "events": [_err("bad_crc", PK[1], 1), _err("sequence_gap", PK[3], 1)]})
    case("dropped_packet", "packet 2 removed", base[:PK[2]] + base[PK[3]:],
         _err("sequence_gap", PK[2], 2),
         {"fatal": None, "recovered": [0, 1, 3, 4], "events": [_err("sequence_gap", PK[2], 2)]})
    case("duplicate_packet", "packet 1 sent twice", base[:PK[2]] + packets[1] + base[PK[2]:],
         _err("out_of_order", PK[2], 2), {**all_ok, "events": [_err("out_of_order", PK[2], 2)]})
    case("reordered_packets", "packets 2 and 3 swapped",
         base[:PK[2]] + packets[3] + packets[2] + base[PK[4]:],
         _err("sequence_gap", PK[2], 2),
         {"fatal": None, "recovered": [0, 1, 3, 4],
          "events": [_err("sequence_gap", PK[2], 2), _err("out_of_order", PK[3], 4)]})
    bad_codes = codes.copy()
    bad_codes[0, 3, 2 * 8 + 5] = 505  # a 9-bit value at or above codebook_size 500
    body = packets[2][:bs.PACKET_HEADER_SIZE] + bs.pack_codes(bad_codes[:, :, 16:24].transpose(2, 0, 1), 9)
    case("code_out_of_range", "packet 2 holds code 505 with codebook_size 500 (its CRC is valid)",
         base[:PK[2]] + _repacket(header, body) + base[PK[3]:],
         _err("code_out_of_range", PK[2], 2),
         {"fatal": None, "recovered": [0, 1, 3, 4], "events": [_err("code_out_of_range", PK[2], 2)]})
    body = bytearray(packets[2][:-4])
    body[4] = 200
    case("bad_frame_count", "packet 2 claims 200 frames (over frames_per_packet 8; its CRC is valid)",
         base[:PK[2]] + _repacket(header, bytes(body)) + base[PK[3]:],
         _err("bad_frame_count", PK[2], 2),
         {"fatal": None, "recovered": [0, 1, 3, 4],
          "events": [_err("bad_frame_count", PK[2], 2), _err("sequence_gap", PK[3], 2)]})
    short = bs.encode_packet(header, 1, codes[:, :, 8:13])
    case("partial_not_last", "packet 1 holds 5 frames (the first 5 of the reference's packet 1) "
         "and packets 2..4 follow it", base[:PK[1]] + short + base[PK[2]:],
         _err("bad_frame_count", PK[1] + len(short), 2), all_ok)
    case("truncated_stream", "packet 4 missing at the end while total_samples declares 40 frames",
         base[:PK[4]], _err("truncated_stream", PK[4], 4),
         {"fatal": None, "recovered": [0, 1, 2, 3], "events": []})
    case("length_mismatch", "total_samples declares 30 frames, the packets hold 40",
         _with_header_field(base, 24, "<Q", 30 * 64), _err("length_mismatch", PK[3], 3), all_ok)

    # --- headerless: joined mid-stream, header known from the reference
    case("headerless_from_packet_2", "packets 2..4 only, no file header: a reader joining a live stream "
         "at a packet boundary", base[PK[2]:], None,
         {"fatal": None, "recovered": [2, 3, 4], "events": []}, header_from=f"{VALID}/corrupt_base.json")
    case("headerless_mid_packet", "no file header, starting 10 bytes into packet 2: a reader joining "
         "at an arbitrary byte", base[PK[2] + 10:], _err("bad_sync", 0, None),
         {"fatal": None, "recovered": [3, 4], "events": [_err("bad_sync", 0, None)]},
         header_from=f"{VALID}/corrupt_base.json")
    return cases


def make_policy_cases(refs: dict):
    """Forged-but-valid streams for the concealment policy (docs/bitstream.md): every packet
    passes its CRC, only the sequence numbers lie.  Same tuples as ``make_cases``, plus, by
    hand, the frames of the reference each packet holds and the plan a player must follow."""
    cases = []

    def case(name, description, ref, packets, strict, events, plan):
        """``packets``: (sequence, first reference frame, frames) in stream order."""
        header, codes, _ = refs[ref]
        data = bs.encode_header(header) + b"".join(
            bs.encode_packet(header, seq, codes[:, :, f:f + n]) for seq, f, n in packets)
        streaming = {"fatal": None, "recovered": [seq for seq, _, _ in packets], "events": events}
        cases.append((name, description, data,
                      {"reference": f"{VALID}/{ref}.json", "reference_frames": [f for _, f, _ in packets],
                       "concealment": plan}, strict, streaming))

    def gap(offset, packet):
        return _err("sequence_gap", offset, packet)

    def partial(offset):  # strict mode stops earlier: a partial packet is followed by another
        return _err("bad_frame_count", offset, 1)

    at32 = H + 99  # jump_base_32: a packet of 8 frames is 9 + 90 bytes
    case("sequence_jump_32", "two packets of 8 frames numbered 0 and 32767 (32 frames per packet): "
         "a claimed gap of 32766 packets, 1048512 frames; the player fades out and resets",
         "jump_base_32", [(0, 0, 8), (32767, 8, 8)], partial(at32), [gap(at32, 1)],
         {"plan": [["decode", 0, 8], ["conceal", 4], ["reset"], ["decode", 32767, 8]], "output_frames": 20})
    at255 = H + 21  # jump_base_255: a packet of 1 frame is 9 + 12 bytes
    case("sequence_jump_255", "94 bytes: two one-frame packets numbered 0 and 32767 at 255 frames per "
         "packet, a claimed gap of 8355330 frames (over 3 hours)", "jump_base_255",
         [(0, 0, 1), (32767, 1, 1)], partial(at255), [gap(at255, 1)],
         {"plan": [["decode", 0, 1], ["conceal", 4], ["reset"], ["decode", 32767, 1]], "output_frames": 6})
    seqs = [(i % 2) * 32768 for i in range(11)]
    case("ten_sequence_jumps", "283 bytes: eleven one-frame packets numbered 0, 32768, 0, 32768 ... at 255 "
         "frames per packet: ten gaps of 32767 packets, the largest a reader accepts",
         "jump_base_255", [(s, i, 1) for i, s in enumerate(seqs)], partial(at255),
         [gap(H + 21 * i, (seqs[i - 1] + 1) % 65536) for i in range(1, 11)],
         {"plan": [["decode", 0, 1]] + [step for i in range(1, 11)
                                         for step in (["conceal", 4], ["reset"], ["decode", seqs[i], 1])],
          "output_frames": 51})
    case("short_gap_concealed", "packets 0 and 3 of 8 frames at 32 frames per packet: 2 packets (64 frames) "
         "lost, concealed without a reset", "jump_base_32", [(0, 0, 8), (3, 8, 8)], partial(at32), [gap(at32, 1)],
         {"plan": [["decode", 0, 8], ["conceal", 64], ["decode", 3, 8]], "output_frames": 80})
    case("gap_at_conceal_limit", "packets 0 and 9 at 32 frames per packet: 8 packets lost, exactly "
         "MAX_CONCEAL_FRAMES = 256 frames, still concealed", "jump_base_32", [(0, 0, 8), (9, 8, 8)],
         partial(at32), [gap(at32, 1)],
         {"plan": [["decode", 0, 8], ["conceal", 256], ["decode", 9, 8]], "output_frames": 272})
    case("gap_over_conceal_limit", "packets 0 and 10 at 32 frames per packet: 9 packets lost, 288 frames, "
         "one packet over the limit: fade out and reset", "jump_base_32", [(0, 0, 8), (10, 8, 8)],
         partial(at32), [gap(at32, 1)],
         {"plan": [["decode", 0, 8], ["conceal", 4], ["reset"], ["decode", 10, 8]], "output_frames": 20})
    return cases


# ------------------------------------------------------------------ running a case


def run_case(data: bytes, *, expected_fingerprint: bytes | None = None,
             header: bs.StreamHeader | None = None, chunks=None, packets_out: list | None = None):
    """What the reference reader reports: (strict error or None, streaming result).

    ``packets_out`` receives the packets the streaming reader delivered."""
    def reader(strict):
        first = 0 if header is None else None
        return bs.StreamReader(strict=strict, header=header, first_sequence=first,
                               expected_fingerprint=expected_fingerprint)

    strict = None
    try:
        r = reader(True)
        r.feed(data)
        r.finish()
    except bs.TQCError as e:
        strict = _err(e.kind, e.offset, e.packet)
    r = reader(False)
    delivered, fatal = [] if packets_out is None else packets_out, None
    try:
        pieces = [data] if chunks is None else chunks
        for piece in pieces:
            delivered += r.feed(piece)
        delivered += r.finish()
    except bs.TQCError as e:
        fatal = _err(e.kind, e.offset, e.packet)
    streaming = {"fatal": fatal, "recovered": [p.sequence for p in delivered],
                 "events": [_err(e.kind, e.offset, e.packet) for e in r.events]}
    return strict, streaming


# ------------------------------------------------------------------ output


def _dumps(obj, indent: int = 0) -> str:
    """Indented JSON in which lists and objects of plain values stay on one line."""
    if isinstance(obj, list) and all(not isinstance(v, (list, dict)) for v in obj):
        return json.dumps(obj, separators=(",", ":"))
    if isinstance(obj, dict) and all(not isinstance(v, (list, dict)) for v in obj.values()) and len(obj) <= 4:
        return json.dumps(obj, separators=(", ", ": "))
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, list):
        return "[\n" + ",\n".join(inner + _dumps(v, indent + 1) for v in obj) + "\n" + pad + "]"
    if isinstance(obj, dict):
        items = (inner + json.dumps(k) + ": " + _dumps(v, indent + 1) for k, v in obj.items())
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    return json.dumps(obj)


def to_json(doc) -> bytes:
    return (_dumps(doc) + "\n").encode()


def build() -> dict[str, bytes]:
    """Every file under tests/vectors that this script owns, by relative path."""
    files: dict[str, bytes] = {}
    valid_index, refs = [], {}
    for name in VALID_SPECS:
        header, codes, data, doc = make_valid(name)
        h2, c2 = bs.decode_stream(data)
        assert h2 == header and np.array_equal(c2, codes), name
        files[f"{VALID}/{name}.tqc"] = data
        files[f"{VALID}/{name}.json"] = to_json(doc)
        valid_index.append(f"{VALID}/{name}.json")
        refs[name] = (header, codes, data)
    base_header, base_codes, base = refs["corrupt_base"]
    assert len(base) == END
    case_index = []
    for name, description, data, extra, strict, streaming in (make_cases(base, base_header, base_codes)
                                                              + make_policy_cases(refs)):
        expected_fp = bytes.fromhex(extra["expected_fingerprint"]) if "expected_fingerprint" in extra else None
        header = base_header if "header_from" in extra else None
        delivered: list = []
        got = run_case(data, expected_fingerprint=expected_fp, header=header, packets_out=delivered)
        if got != (strict, streaming):
            raise AssertionError(f"{name}: reader disagrees with the construction:\n"
                                 f"  expected {(strict, streaming)}\n  got      {got}")
        reference = extra.get("reference", f"{VALID}/corrupt_base.json")
        ref_header, ref_codes, _ = refs[Path(reference).stem]
        frames = extra.get("reference_frames", [p.sequence * ref_header.frames_per_packet for p in delivered])
        for p, f in zip(delivered, frames, strict=True):
            assert np.array_equal(p.codes, ref_codes[:, :, f:f + p.frames]), (name, p.sequence)
        plan = None
        if streaming["fatal"] is None:
            plan = plan_concealment(delivered, ref_header.frames_per_packet, ref_header.hop_length).to_dict()
            if "concealment" in extra and extra["concealment"] != plan:
                raise AssertionError(f"{name}: planner disagrees with the policy:\n"
                                     f"  expected {extra['concealment']}\n  got      {plan}")
        files[f"{CORRUPT}/{name}.tqc"] = data
        case_index.append({
            "file": f"{CORRUPT}/{name}.tqc",
            "description": description,
            "reference": reference,
            "reference_frames": None if streaming["fatal"] else frames,
            "header_from": extra.get("header_from"),
            "expected_fingerprint": extra.get("expected_fingerprint"),
            "strict": strict,
            "streaming": streaming,
            "concealment": plan,
        })
    policy = {"max_conceal_frames": MAX_CONCEAL_FRAMES, "fade_samples": FADE_SAMPLES,
              "seek_preroll_frames": SEEK_PREROLL_FRAMES}
    files["manifest.json"] = to_json({"format_version": bs.FORMAT_VERSION, "policy": policy,
                                      "valid": valid_index, "cases": case_index})
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = ap.parse_args(argv)
    files = build()
    owned = {p.relative_to(HERE).as_posix() for d in (VALID, CORRUPT) for p in (HERE / d).glob("*")}
    owned |= {"manifest.json"} if (HERE / "manifest.json").exists() else set()
    stale = sorted(owned - set(files))
    differ = sorted(p for p, b in files.items() if not (HERE / p).exists() or (HERE / p).read_bytes() != b)
    if args.check:
        for p in differ + stale:
            print(f"out of date: tests/vectors/{p}")
        return 1 if differ or stale else 0
    for p in stale:
        (HERE / p).unlink()
    for p in differ:
        (HERE / p).parent.mkdir(parents=True, exist_ok=True)
        (HERE / p).write_bytes(files[p])
    total = sum(len(b) for b in files.values())
    print(f"{len(files)} files, {total} bytes; {len(differ)} written, {len(stale)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
