"""Fuzzing the `.tqc` readers the way Opus fuzzes its decoder: damage, loss, splices, garbage.

Properties, over 1,600 generated streams:
- strict reading raises nothing but TQCError;
- streaming reading raises nothing but a header-level TQCError before the header is
  accepted, and nothing at all after it; it never delivers a packet that differs from
  the packet the writer wrote under that sequence number;
- streaming results do not depend on how the bytes were split into feeds;
- every stream is done in well under a second (no hang, bounded scanning).
"""
from __future__ import annotations

import time

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tqcodec import bitstream as bs
from tqcodec.bitstream import StreamHeader, StreamReader, TQCError


def _base(seed, frames, **fields):
    header = StreamHeader(fingerprint=bs.weights_fingerprint(str(seed).encode()), **fields)
    codes = np.random.default_rng(seed).integers(0, header.codebook_size,
                                                 (header.channels, header.n_q, frames))
    data = bs.encode_header(header) + bs.encode_packets(header, codes)
    fpp = header.frames_per_packet
    by_sequence = {k: codes[:, :, k * fpp:(k + 1) * fpp] for k in range(-(-frames // fpp))}
    return header, data, by_sequence


# Distinct packet layouts, so a spliced packet can only pass its CRC in its own stream.
BASES = [
    _base(1, 20, channels=1, n_q=10, codebook_size=500, frames_per_packet=4, total_samples=20 * 64 - 3),
    _base(2, 13, channels=2, n_q=5, frames_per_packet=3),
    _base(3, 9, channels=3, n_q=2, bits=11, codebook_size=1500, frames_per_packet=2, total_samples=9 * 64),
    _base(4, 12, channels=1, n_q=1, bits=1, codebook_size=2, frames_per_packet=1),
]
EXPECTED = {h: by_seq for h, _, by_seq in BASES}
MAX_SECONDS = 2.0

pos = st.integers(0, 1 << 20)  # reduced modulo the current length
mutation = st.one_of(
    st.tuples(st.just("flip"), pos, st.integers(0, 7)),
    st.tuples(st.just("overwrite"), pos, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("truncate"), pos),
    st.tuples(st.just("delete"), pos, st.integers(1, 120)),
    st.tuples(st.just("insert"), pos, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("fake_packet"), pos, st.integers(0, 0xFFFF), st.integers(0, 255),
              st.binary(max_size=40)),
    st.tuples(st.just("duplicate"), pos, st.integers(1, 200), pos),
    st.tuples(st.just("splice"), st.integers(0, len(BASES) - 1), pos, pos),
)


def mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op in ops:
        kind, n = op[0], len(b)
        at = op[1] % (n + 1) if kind != "splice" else 0
        if kind == "flip" and n:
            b[at % n] ^= 1 << op[2]
        elif kind == "overwrite":
            b[at:at + len(op[2])] = op[2]
        elif kind == "truncate":
            del b[at:]
        elif kind == "delete":
            del b[at:at + op[2]]
        elif kind == "insert":
            b[at:at] = op[2]
        elif kind == "fake_packet":
            b[at:at] = bs.SYNC + op[2].to_bytes(2, "little") + bytes([op[3]]) + op[4]
        elif kind == "duplicate":
            b[op[3] % (n + 1):op[3] % (n + 1)] = b[at:at + op[2]]
        elif kind == "splice":
            other = BASES[op[1]][1]
            b = b[:op[2] % (n + 1)] + bytearray(other[op[3] % (len(other) + 1):])
    return bytes(b)


def chunked(data: bytes, cuts) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


def strict_read(data: bytes, **kw):
    try:
        r = StreamReader(strict=True, **kw)
        r.feed(data)
        r.finish()
    except TQCError as e:
        assert e.kind in bs.KINDS
        return e.kind
    return None


def streaming_read(pieces, **kw):
    """Feed ``pieces``; return (fatal kind, packets, events) and check the invariants."""
    r = StreamReader(strict=False, **kw)
    packets, fatal = [], None
    try:
        for piece in pieces:
            packets += r.feed(piece)
        packets += r.finish()
    except TQCError as e:
        # Only a header can stop a streaming reader, and only before it is accepted.
        assert e.kind in bs.FATAL_KINDS and r.header is None, e
        fatal = e.kind
    for e in r.events:
        assert e.kind in bs.PACKET_KINDS - {"length_mismatch", "truncated_stream"}
    if packets:
        expected = EXPECTED[r.header]  # a header that passed its CRC is one a writer wrote
        for p in packets:
            assert p.sequence in expected and np.array_equal(p.codes, expected[p.sequence]), p
    return fatal, [(p.sequence, p.offset, p.lost_before) for p in packets], \
        [(e.kind, e.offset, e.packet) for e in r.events]


FUZZ = settings(max_examples=1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(base=st.integers(0, len(BASES) - 1), ops=st.lists(mutation, min_size=1, max_size=6),
       keep_header=st.sampled_from([True, True, True, False]),
       cuts=st.lists(st.integers(0, 1 << 20), max_size=12))
def test_damaged_streams(base, ops, keep_header, cuts):
    data = BASES[base][1]
    if keep_header:  # most cases damage only the packets, so the resync paths get the work
        data = data[:bs.HEADER_SIZE] + mutate(data[bs.HEADER_SIZE:], ops)
    else:
        data = mutate(data, ops)
    t0 = time.perf_counter()
    strict_read(data)
    whole = streaming_read([data])
    assert streaming_read(chunked(data, cuts)) == whole  # feed boundaries change nothing
    assert time.perf_counter() - t0 < MAX_SECONDS


@settings(FUZZ, max_examples=300)
@given(prefix=st.sampled_from([b""] + [bs.encode_header(h) for h, _, _ in BASES]),
       noise=st.binary(max_size=2000), cuts=st.lists(st.integers(0, 1 << 20), max_size=8))
def test_arbitrary_bytes(prefix, noise, cuts):
    data = prefix + noise
    t0 = time.perf_counter()
    strict_read(data)
    assert streaming_read(chunked(data, cuts)) == streaming_read([data])
    assert time.perf_counter() - t0 < MAX_SECONDS


@settings(FUZZ, max_examples=300)
@given(base=st.integers(0, len(BASES) - 1), start=pos, ops=st.lists(mutation, max_size=3),
       cuts=st.lists(st.integers(0, 1 << 20), max_size=8))
def test_joining_mid_stream(base, start, ops, cuts):
    header, data, _ = BASES[base]
    data = mutate(data[bs.HEADER_SIZE:], ops)
    data = data[start % (len(data) + 1):]
    t0 = time.perf_counter()
    strict_read(data, header=header, first_sequence=None)
    fatal, packets, events = streaming_read(chunked(data, cuts), header=header, first_sequence=None)
    assert fatal is None  # with the header known, nothing is fatal
    assert (fatal, packets, events) == streaming_read([data], header=header, first_sequence=None)
    assert time.perf_counter() - t0 < MAX_SECONDS
