"""The ``.tqc`` stream: TQCodec codes in versioned, packetised, CRC-protected form.

Why a packet stream and not one blob: music is streamed over networks that cut, drop
and corrupt.  Every packet carries a sync word, a sequence number, its frame count and
a CRC-32, so a player can decode packets as they arrive, notice what was lost, skip
what was damaged and pick the stream up again at the next good packet.  The file
header carries everything needed to interpret the packets, including a fingerprint of
the decoder weights, so codes are never played through the wrong model.

The normative description (byte offsets, CRC coverage, resync rule, error kinds) is
``docs/bitstream.md``; this module is its reference implementation and knows nothing
of models or torch.  Every failure on bad input is a :class:`TQCError` with a stable
``kind`` string that the Java and Swift readers mirror on ``tests/vectors/``.
"""
from __future__ import annotations

import hashlib
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, Mapping

import numpy as np

from .atomic import atomic_write

__all__ = [
    "MAGIC", "FORMAT_VERSION", "HEADER_SIZE", "SYNC", "PACKET_HEADER_SIZE", "PACKET_CRC_SIZE",
    "PACKET_OVERHEAD", "SEQUENCE_MODULUS", "UNKNOWN_TOTAL_SAMPLES", "DEFAULT_FRAMES_PER_PACKET",
    "KINDS", "FATAL_KINDS", "PACKET_KINDS", "TQCError", "StreamHeader", "Packet", "Bitrate",
    "encode_header", "decode_header", "encode_packet", "encode_packets", "pack_codes", "unpack_codes",
    "write_stream", "read_stream", "decode_stream", "StreamReader", "iter_packets", "packet_offset",
    "bitrate", "stream_bitrate", "weights_fingerprint", "packet_crc_seed", "DecoderGeometry",
    "check_stream_fits", "read_header",
]

MAGIC = b"TQCS"
FORMAT_VERSION = 1
UNKNOWN_TOTAL_SAMPLES = 0xFFFF_FFFF_FFFF_FFFF  # sentinel for live streams of unknown length
DEFAULT_FRAMES_PER_PACKET = 32  # 46.4 ms at 689.0625 frames/s; 2.5 % overhead for tq64 mono
FINGERPRINT_SIZE = 16
MAX_BITS = 16

# magic, version, flags, sample_rate, hop_length, codebook_size, channels, n_q, bits,
# frames_per_packet, total_samples, fingerprint; then the header CRC-32.
_HEADER = struct.Struct("<4sHHIIIBBBBQ16s")
_CRC = struct.Struct("<I")
HEADER_SIZE = _HEADER.size + _CRC.size  # 52
# Byte offset of every header field (docs/bitstream.md, "File header").
_FIELD_OFFSET = {
    "magic": 0, "version": 4, "flags": 6, "sample_rate": 8, "hop_length": 12, "codebook_size": 16,
    "channels": 20, "n_q": 21, "bits": 22, "frames_per_packet": 23, "total_samples": 24,
    "fingerprint": 32, "header_crc": 48,
}

SYNC = b"\xA5\x5A"
_PACKET = struct.Struct("<2sHB")  # sync, sequence, frame_count
PACKET_HEADER_SIZE = _PACKET.size  # 5
PACKET_CRC_SIZE = _CRC.size  # 4, trailing
PACKET_OVERHEAD = PACKET_HEADER_SIZE + PACKET_CRC_SIZE  # 9 bytes per packet
SEQUENCE_MODULUS = 1 << 16  # sequence numbers wrap, as RTP's do
_HALF_SEQUENCE = SEQUENCE_MODULUS // 2

# Header-level kinds: nothing can be decoded, so they are raised in both reading modes.
FATAL_KINDS = frozenset({
    "io_error", "invalid_argument", "bad_magic", "unsupported_version", "truncated_header",
    "bad_header_crc", "bad_header_field", "fingerprint_mismatch", "decoder_mismatch",
})
# Packet-level kinds: raised in strict mode, reported as events in streaming mode
# (length_mismatch and truncated_stream are checked in strict mode only).
PACKET_KINDS = frozenset({
    "bad_sync", "bad_frame_count", "truncated_packet", "bad_crc", "sequence_gap", "out_of_order",
    "code_out_of_range", "length_mismatch", "truncated_stream",
})
KINDS = FATAL_KINDS | PACKET_KINDS


class TQCError(Exception):
    """The one exception for bad streams and bad input.

    ``kind`` is a stable identifier (see ``KINDS`` and docs/bitstream.md) that other
    readers reproduce; ``offset`` is the byte offset in the stream where the problem
    starts, ``packet`` the sequence number the reader expected there (None when
    unknown).  ``str(err)`` names the file, offset, packet and what was expected.
    """

    def __init__(self, kind: str, detail: str, *, path: str | os.PathLike | None = None,
                 offset: int | None = None, packet: int | None = None):
        if kind not in KINDS:
            raise ValueError(f"undocumented TQCError kind {kind!r}")
        self.kind = kind
        self.detail = detail
        self.path = None if path is None else os.fspath(path)
        self.offset = offset
        self.packet = packet
        super().__init__(kind, detail)

    @property
    def message(self) -> str:
        return str(self)

    def located(self, *, path=None, offset_shift: int = 0) -> "TQCError":
        """A copy placed in a file: ``path`` set and the offset moved by ``offset_shift``."""
        return TQCError(self.kind, self.detail, path=path if path is not None else self.path,
                        offset=None if self.offset is None else self.offset + offset_shift,
                        packet=self.packet)

    def __str__(self) -> str:
        where = [self.path if self.path is not None else "<stream>"]
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        if self.packet is not None:
            where.append(f"packet {self.packet}")
        return f"{', '.join(where)}: {self.detail} [{self.kind}]"

    def __reduce__(self):
        return (_rebuild_error, (self.kind, self.detail, self.path, self.offset, self.packet))


def _rebuild_error(kind, detail, path, offset, packet) -> TQCError:
    return TQCError(kind, detail, path=path, offset=offset, packet=packet)


def _field_error(field: str, detail: str) -> TQCError:
    return TQCError("bad_header_field", f"header field {field}: {detail}", offset=_FIELD_OFFSET[field])


# --------------------------------------------------------------------------- header


@dataclass(frozen=True, kw_only=True)
class StreamHeader:
    """What a reader must know to interpret the packets; always valid once constructed.

    Defaults are TQCodec's (44.1 kHz, hop 64, 512-entry codebooks = 9 bits).
    ``total_samples=None`` marks a live stream of unknown length.
    """

    channels: int
    n_q: int
    fingerprint: bytes
    sample_rate: int = 44_100
    hop_length: int = 64
    codebook_size: int = 512
    bits: int = 9
    frames_per_packet: int = DEFAULT_FRAMES_PER_PACKET
    total_samples: int | None = None

    def __post_init__(self):
        def whole(name, lo, hi):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
                raise _field_error(name, f"expected an integer in [{lo}, {hi}], got {v!r}")
            object.__setattr__(self, name, int(v))

        whole("sample_rate", 1, 0xFFFF_FFFF)
        whole("hop_length", 1, 0xFFFF_FFFF)
        whole("channels", 1, 255)
        whole("n_q", 1, 255)
        whole("bits", 1, MAX_BITS)
        whole("codebook_size", 1, 1 << self.bits)
        whole("frames_per_packet", 1, 255)
        if self.total_samples is not None:
            whole("total_samples", 0, UNKNOWN_TOTAL_SAMPLES - 1)
        fp = self.fingerprint
        if not isinstance(fp, (bytes, bytearray)) or len(fp) != FINGERPRINT_SIZE:
            raise _field_error("fingerprint", f"expected {FINGERPRINT_SIZE} bytes, got {fp!r}")
        object.__setattr__(self, "fingerprint", bytes(fp))

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop_length

    @property
    def codes_per_frame(self) -> int:
        """Codes in one frame of all channels: channels * n_q."""
        return self.channels * self.n_q

    @property
    def n_frames(self) -> int | None:
        """Frames the stream must hold, ceil(total_samples / hop_length); None if live."""
        if self.total_samples is None:
            return None
        return -(-self.total_samples // self.hop_length)

    def payload_size(self, frames: int) -> int:
        """Bytes of bit-packed codes in a packet of ``frames`` frames (padded to a byte)."""
        return (frames * self.codes_per_frame * self.bits + 7) // 8

    def packet_size(self, frames: int | None = None) -> int:
        """Bytes of a whole packet of ``frames`` frames (default: a full packet)."""
        frames = self.frames_per_packet if frames is None else frames
        return PACKET_OVERHEAD + self.payload_size(frames)

    def to_dict(self) -> dict:
        """JSON-friendly form (fingerprint as lowercase hex), the schema of tests/vectors."""
        order = ("sample_rate", "hop_length", "codebook_size", "channels", "n_q", "bits",
                 "frames_per_packet", "total_samples")  # the order of the fields on the wire
        return {"version": FORMAT_VERSION, **{k: getattr(self, k) for k in order},
                "fingerprint": self.fingerprint.hex()}

    @staticmethod
    def from_dict(d: dict) -> "StreamHeader":
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        version = d.pop("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise TQCError("unsupported_version", f"expected version {FORMAT_VERSION}, got {version!r}")
        try:
            d["fingerprint"] = bytes.fromhex(d["fingerprint"])
            return StreamHeader(**d)
        except (KeyError, TypeError, ValueError) as e:
            raise TQCError("invalid_argument", f"not a header dict: {e}") from None


def encode_header(header: StreamHeader) -> bytes:
    """The 52-byte file header, its last 4 bytes the CRC-32 of the first 48."""
    total = UNKNOWN_TOTAL_SAMPLES if header.total_samples is None else header.total_samples
    body = _HEADER.pack(MAGIC, FORMAT_VERSION, 0, header.sample_rate, header.hop_length,
                        header.codebook_size, header.channels, header.n_q, header.bits,
                        header.frames_per_packet, total, header.fingerprint)
    return body + _CRC.pack(zlib.crc32(body))


def decode_header(data: bytes, *, path: str | None = None) -> StreamHeader:
    """Parse the header at the start of ``data``; checks run in the documented order.

    Magic first (so a wrong file is named as such even when short), then the version
    (so a newer layout is reported as unsupported, not as damage), then length, CRC
    and field values.
    """
    data = bytes(data[:HEADER_SIZE])
    n = len(data)

    def fail(kind, detail, offset):
        raise TQCError(kind, detail, path=path, offset=offset)

    if data[:4] != MAGIC[:min(n, 4)]:
        fail("bad_magic", f"expected magic {MAGIC!r} ({MAGIC.hex(' ')}), found {data[:4].hex(' ')}", 0)
    if n >= 6:
        (version,) = struct.unpack_from("<H", data, 4)
        if version != FORMAT_VERSION:
            fail("unsupported_version", f"expected format version {FORMAT_VERSION}, found {version}", 4)
    if n < HEADER_SIZE:
        fail("truncated_header", f"expected a {HEADER_SIZE}-byte header, stream has only {n} bytes", 0)
    (stored,) = _CRC.unpack_from(data, _HEADER.size)
    actual = zlib.crc32(data[:_HEADER.size])
    if stored != actual:
        fail("bad_header_crc", f"header CRC-32 expected 0x{actual:08x} over bytes 0..47, found 0x{stored:08x}",
             _FIELD_OFFSET["header_crc"])
    (_, _, flags, sample_rate, hop, codebook_size, channels, n_q, bits, fpp, total,
     fingerprint) = _HEADER.unpack_from(data)
    if flags != 0:
        fail("bad_header_field", f"header field flags: expected 0 (reserved), found 0x{flags:04x}",
             _FIELD_OFFSET["flags"])
    try:
        return StreamHeader(channels=channels, n_q=n_q, fingerprint=fingerprint, sample_rate=sample_rate,
                            hop_length=hop, codebook_size=codebook_size, bits=bits, frames_per_packet=fpp,
                            total_samples=None if total == UNKNOWN_TOTAL_SAMPLES else total)
    except TQCError as e:
        raise e.located(path=path) from None


def read_header(path: str | os.PathLike) -> StreamHeader:
    """Only the header of a ``.tqc`` file (52 bytes read): what a decoder checks before any work."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read(HEADER_SIZE)
    except OSError as e:
        raise TQCError("io_error", f"cannot read {path!r}: {e.strerror or e}", path=path) from e
    return decode_header(data, path=path)


@dataclass(frozen=True, kw_only=True)
class DecoderGeometry:
    """What a decoder can play: the stream's header must fit it before any decoding.

    Why: the header's fingerprint says which weights made the codes, but a forged or
    damaged file can carry the right fingerprint with any geometry, and a decoder fed
    the wrong n_q, codebook size, hop or rate crashes or writes nonsense.
    """

    sample_rate: int
    hop_length: int
    n_q: int
    codebook_size: int
    fingerprint: bytes
    max_channels: int = 2

    @staticmethod
    def from_config(cfg, fingerprint: bytes) -> "DecoderGeometry":
        """From a ``CodecConfig`` (anything with sample_rate, hop_length, n_codebooks, codebook_size)
        and the weights hash (its first 16 bytes are the fingerprint)."""
        return DecoderGeometry(sample_rate=cfg.sample_rate, hop_length=cfg.hop_length, n_q=cfg.n_codebooks,
                               codebook_size=cfg.codebook_size, fingerprint=bytes(fingerprint)[:FINGERPRINT_SIZE])

    @staticmethod
    def from_manifest(manifest: Mapping, path: str | os.PathLike | None = None) -> "DecoderGeometry":
        """From an exported artifact's manifest (keys sample_rate, hop, n_codebooks,
        codebook_size, checkpoint_sha256); a missing or malformed key is ``invalid_argument``."""
        try:
            return DecoderGeometry(sample_rate=int(manifest["sample_rate"]), hop_length=int(manifest["hop"]),
                                   n_q=int(manifest["n_codebooks"]), codebook_size=int(manifest["codebook_size"]),
                                   fingerprint=bytes.fromhex(manifest["checkpoint_sha256"])[:FINGERPRINT_SIZE])
        except TQCError as e:
            raise e.located(path=path) from None
        except (KeyError, TypeError, ValueError) as e:
            raise TQCError("invalid_argument", f"artifact manifest lacks a usable {e} entry (needs sample_rate, "
                           f"hop, n_codebooks, codebook_size, checkpoint_sha256)", path=path) from None

    def __post_init__(self):
        if len(self.fingerprint) != FINGERPRINT_SIZE:
            raise TQCError("invalid_argument", f"a decoder needs the {FINGERPRINT_SIZE}-byte fingerprint of its "
                           f"weights to check streams against, got {self.fingerprint.hex() or 'none'}")


def check_stream_fits(header: StreamHeader, geometry: DecoderGeometry, path=None, *,
                      header_offset: int | None = 0) -> None:
    """Raise unless ``geometry``'s decoder can play this stream: first the fingerprint
    (``fingerprint_mismatch``: another model's stream), then every field the decoder
    depends on (``decoder_mismatch``, at the field's offset, expected and found).

    ``header_offset``: where the header sits in the stream (None: it came separately).
    """
    _check_fingerprint(header, geometry.fingerprint, path, offset=header_offset)
    checks = (("sample_rate", header.sample_rate, geometry.sample_rate, "Hz"),
              ("hop_length", header.hop_length, geometry.hop_length, "samples per frame"),
              ("n_q", header.n_q, geometry.n_q, "codebooks per channel"),
              ("codebook_size", header.codebook_size, geometry.codebook_size, "entries per codebook"))
    for field, found, expected, unit in checks:
        if found != expected:
            raise TQCError("decoder_mismatch", f"header field {field}: this decoder takes {expected} {unit}, "
                           f"the stream has {found}", path=path,
                           offset=None if header_offset is None else header_offset + _FIELD_OFFSET[field])
    if header.channels > geometry.max_channels:
        raise TQCError("decoder_mismatch", f"header field channels: this decoder plays at most "
                       f"{geometry.max_channels} channels, the stream has {header.channels}", path=path,
                       offset=None if header_offset is None else header_offset + _FIELD_OFFSET["channels"])


def weights_fingerprint(weights: bytes) -> bytes:
    """First 16 bytes of the SHA-256 of the decoder's weight file: what the header stores."""
    return hashlib.sha256(weights).digest()[:FINGERPRINT_SIZE]


def _check_fingerprint(header: StreamHeader, expected: bytes | None, path, offset: int | None) -> None:
    """``offset``: where the header starts in the stream (None: the header came separately)."""
    if expected is None:
        return
    if not isinstance(expected, (bytes, bytearray)) or len(expected) != FINGERPRINT_SIZE:
        raise TQCError("invalid_argument", f"expected_fingerprint must be {FINGERPRINT_SIZE} bytes, "
                       f"got {expected!r}", path=path)
    if header.fingerprint != bytes(expected):
        raise TQCError("fingerprint_mismatch", f"stream was made by decoder weights "
                       f"{header.fingerprint.hex()}, expected {bytes(expected).hex()}",
                       path=path, offset=None if offset is None else offset + _FIELD_OFFSET["fingerprint"])


# --------------------------------------------------------------------------- bit packing


def _check_bits(bits: int) -> None:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= MAX_BITS:
        raise TQCError("invalid_argument", f"bits must be an integer in [1, {MAX_BITS}], got {bits!r}")


def _as_codes(codes, limit: int, what: str) -> np.ndarray:
    """Codes as an integer array, each checked to lie in [0, limit)."""
    a = np.asarray(codes)
    if a.dtype.kind not in "iu":
        raise TQCError("invalid_argument", f"{what} must be integers, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= limit):
        bad = a[(a < 0) | (a >= limit)].ravel()[0]
        raise TQCError("code_out_of_range", f"{what} must lie in [0, {limit}), found {int(bad)}")
    return a


def _bit_matrix(codes: np.ndarray, bits: int) -> np.ndarray:
    """[..., n] codes -> [..., n * bits] bits, least significant bit of each code first."""
    le16 = codes.astype("<u2")[..., None].view(np.uint8)  # [..., n, 2], low byte first
    return np.unpackbits(le16, axis=-1, bitorder="little")[..., :bits].reshape(
        *codes.shape[:-1], codes.shape[-1] * bits)


def pack_codes(codes, bits: int) -> bytes:
    """Concatenate codes at ``bits`` bits each, LSB-first, zero-padded to a whole byte.

    Code ``i`` occupies stream bits ``i*bits .. i*bits+bits-1``; stream bit ``j`` is bit
    ``j % 8`` of byte ``j // 8``.  Vectorised: a few hundred ms for 10**7 codes.
    """
    _check_bits(bits)
    a = _as_codes(codes, 1 << bits, "codes").ravel()
    return np.packbits(_bit_matrix(a, bits), bitorder="little").tobytes()


def unpack_codes(data, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: the first ``count`` codes of ``data`` as int64."""
    _check_bits(bits)
    need = (count * bits + 7) // 8
    if count < 0 or len(data) < need:
        raise TQCError("invalid_argument", f"{count} codes of {bits} bits need {need} bytes, got {len(data)}")
    raw = np.frombuffer(data, dtype=np.uint8, count=need)
    bit = np.unpackbits(raw, bitorder="little", count=count * bits).reshape(count, bits)
    le16 = np.zeros((count, 2), dtype=np.uint8)
    le16[:, : (bits + 7) // 8] = np.packbits(bit, axis=1, bitorder="little")
    return le16.view("<u2")[:, 0].astype(np.int64)


# --------------------------------------------------------------------------- writing


def _check_codes(header: StreamHeader, codes, *, partial: bool) -> np.ndarray:
    a = np.asarray(codes)
    expected = (header.channels, header.n_q)
    if a.ndim != 3 or a.shape[:2] != expected:
        raise TQCError("invalid_argument", f"codes must have shape [channels={expected[0]}, "
                       f"n_q={expected[1]}, frames], got {list(a.shape)}")
    if partial and not 1 <= a.shape[2] <= header.frames_per_packet:
        raise TQCError("invalid_argument", f"a packet holds 1..{header.frames_per_packet} frames, "
                       f"got {a.shape[2]}")
    return _as_codes(a, header.codebook_size, "codes")


def _frame_major(codes: np.ndarray) -> np.ndarray:
    """[channels, n_q, frames] -> [frames, channels * n_q]: the order codes take in a packet."""
    return codes.transpose(2, 0, 1).reshape(codes.shape[2], codes.shape[0] * codes.shape[1])


def packet_crc_seed(header: StreamHeader) -> int:
    """CRC-32 of the header's identity bytes (0..23 and 32..47: all but total_samples and CRC).

    A packet's CRC-32 runs over these 40 bytes and then the packet, so a packet spliced in
    from another stream (other model, other geometry) fails its CRC instead of being
    decoded as this stream's codes.  total_samples is left out so that a recorded live
    stream can be finalised by rewriting the header alone.
    """
    h = encode_header(header)
    return zlib.crc32(h[:24] + h[32:48])


def _assemble(seed: int, sequence: int, frames: int, payload: bytes) -> bytes:
    body = _PACKET.pack(SYNC, sequence % SEQUENCE_MODULUS, frames) + payload
    return body + _CRC.pack(zlib.crc32(body, seed))


def encode_packet(header: StreamHeader, sequence: int, codes) -> bytes:
    """One packet of 1..frames_per_packet frames, codes shaped [channels, n_q, frames].

    For live encoders; sequence numbers are taken modulo 2**16.
    """
    a = _check_codes(header, codes, partial=True)
    return _assemble(packet_crc_seed(header), sequence, a.shape[2], pack_codes(_frame_major(a), header.bits))


def encode_packets(header: StreamHeader, codes, first_sequence: int = 0) -> bytes:
    """All packets for codes [channels, n_q, frames]: full packets, then one partial.

    The full packets are bit-packed together in one vectorised pass.
    """
    a = _check_codes(header, codes, partial=False)
    fpp = header.frames_per_packet
    rows = _frame_major(a)
    n_full = rows.shape[0] // fpp
    seed = packet_crc_seed(header)
    out = []
    if n_full:
        per_packet = rows[: n_full * fpp].reshape(n_full, fpp * header.codes_per_frame)
        payloads = np.packbits(_bit_matrix(per_packet, header.bits), axis=1, bitorder="little")
        out = [_assemble(seed, first_sequence + i, fpp, payloads[i].tobytes()) for i in range(n_full)]
    if rows.shape[0] > n_full * fpp:
        tail = rows[n_full * fpp:]
        out.append(_assemble(seed, first_sequence + n_full, tail.shape[0], pack_codes(tail, header.bits)))
    return b"".join(out)


def write_stream(path: str | os.PathLike, header: StreamHeader, codes) -> None:
    """Write a whole ``.tqc`` file atomically: temp file in the same folder, fsync, rename.

    A reader never sees a half-written file, and a failure leaves no temp file behind.
    """
    path = os.fspath(path)
    a = _check_codes(header, codes, partial=False)
    if header.n_frames is not None and a.shape[2] != header.n_frames:
        raise TQCError("length_mismatch", f"total_samples={header.total_samples} at hop "
                       f"{header.hop_length} needs {header.n_frames} frames, codes have {a.shape[2]}",
                       path=path)
    data = encode_header(header) + encode_packets(header, a)
    try:
        atomic_write(path, data)
    except OSError as e:
        raise TQCError("io_error", f"cannot write {path!r}: {e.strerror or e}", path=path) from e


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Packet:
    """One decoded packet.

    ``codes`` is [channels, n_q, frames]; ``offset`` the byte offset of its sync word;
    ``lost_before`` how many packets the reader found missing just before this one
    (a player conceals ``lost_before * frames_per_packet`` frames).
    """

    sequence: int
    offset: int
    codes: np.ndarray
    lost_before: int = 0

    @property
    def frames(self) -> int:
        return self.codes.shape[2]


# Outcomes of probing for a packet at one position.
_OK, _NEED_MORE, _TRUNCATED, _NOT_SYNC, _BAD_COUNT, _BAD_CRC = range(6)


class StreamReader:
    """Incremental reader: ``feed`` bytes as they arrive, get packets as they complete.

    ``strict=True`` raises :class:`TQCError` at the first problem.  ``strict=False``
    (streaming mode) raises only for a bad header (nothing could be decoded) and
    otherwise records each problem in ``events`` (and calls ``on_event``), drops the
    damaged packet, scans for the next sync word and goes on; lost packets show up as
    ``Packet.lost_before`` and a ``sequence_gap`` event.  Work per byte is bounded, so
    arbitrary input never hangs it; memory is bounded by one packet plus one feed.

    To start mid-stream, pass the ``header`` (read earlier or elsewhere), the stream
    ``offset`` of the first byte fed, and ``first_sequence`` (None: accept any).
    """

    def __init__(self, *, strict: bool = True, header: StreamHeader | None = None,
                 expected_fingerprint: bytes | None = None, first_sequence: int | None = 0,
                 offset: int = 0, path: str | os.PathLike | None = None,
                 on_event: Callable[[TQCError], None] | None = None):
        self.strict = strict
        self.path = None if path is None else os.fspath(path)
        self.events: list[TQCError] = []
        self.lost_packets = 0
        self.frames_read = 0
        self._on_event = on_event
        self._expected_fingerprint = expected_fingerprint
        self._expected = None if first_sequence is None else first_sequence % SEQUENCE_MODULUS
        self._buf = bytearray()
        self._base = offset  # stream offset of self._buf[0]
        self._pos = 0
        self._in_sync = True
        self._after_partial = False
        self._error: TQCError | None = None
        self._finished = False
        # Only a reader that sees the stream from its header can check the total length.
        self._whole_stream = header is None
        self.header: StreamHeader | None = None
        if header is not None:
            _check_fingerprint(header, expected_fingerprint, self.path, offset=None)
            self._set_header(header)

    def _set_header(self, header: StreamHeader) -> None:
        self.header = header
        self._seed = packet_crc_seed(header)
        self._sizes = [0] + [header.packet_size(k) for k in range(1, header.frames_per_packet + 1)]

    def feed(self, data: bytes) -> list[Packet]:
        """Add bytes; return the packets they completed (possibly none)."""
        if self._error is not None:
            raise self._error
        if self._finished:
            raise TQCError("invalid_argument", "feed() after finish()", path=self.path)
        try:
            self._buf += data
        except TypeError:
            raise TQCError("invalid_argument", f"feed() takes bytes, got {type(data).__name__}",
                           path=self.path) from None
        return self._guarded(eof=False)

    def finish(self) -> list[Packet]:
        """Declare the end of input: decide what was waiting for more bytes."""
        if self._finished:
            return []
        self._finished = True
        return self._guarded(eof=True)

    def _guarded(self, eof: bool) -> list[Packet]:
        if self._error is not None:
            raise self._error
        out: list[Packet] = []
        try:
            self._run(out, eof)
        except TQCError as e:
            self._error = e
            raise
        return out

    def _run(self, out: list[Packet], eof: bool) -> None:
        if self.header is None and not self._read_header(eof):
            return
        while self._step(out, eof):
            pass
        if self._pos and (self._pos == len(self._buf) or self._pos >= 65536):  # drop consumed bytes
            del self._buf[: self._pos]
            self._base += self._pos
            self._pos = 0
        if eof and self.strict and self._whole_stream:
            n = self.header.n_frames
            if n is not None and self.frames_read < n:
                self._problem("truncated_stream", self._base + self._pos,
                              f"expected {n} frames (total_samples={self.header.total_samples}), "
                              f"stream ends after {self.frames_read}")

    def _read_header(self, eof: bool) -> bool:
        try:
            header = decode_header(self._buf, path=self.path)
        except TQCError as e:
            if e.kind == "truncated_header" and not eof:
                return False
            raise e.located(offset_shift=self._base) from None
        _check_fingerprint(header, self._expected_fingerprint, self.path, offset=self._base)
        self._set_header(header)
        self._pos = HEADER_SIZE
        return True

    def _problem(self, kind: str, offset: int, detail: str, packet: int | None = None) -> None:
        """Raise in strict mode; record an event in streaming mode.

        ``packet`` defaults to the sequence number the reader expected at this point.
        """
        err = TQCError(kind, detail, path=self.path, offset=offset,
                       packet=self._expected if packet is None else packet)
        if self.strict:
            raise err
        self.events.append(err)
        if self._on_event is not None:
            self._on_event(err)

    def _probe(self, p: int, eof: bool):
        """Is there a complete, intact packet at buffer position ``p``?"""
        buf = self._buf
        avail = len(buf) - p
        short = _TRUNCATED if eof else _NEED_MORE
        if buf[p:p + 2] != SYNC[:min(avail, 2)]:
            return _NOT_SYNC, None
        if avail < PACKET_HEADER_SIZE:
            return short, None
        _, seq, count = _PACKET.unpack_from(buf, p)
        if not 1 <= count <= self.header.frames_per_packet:
            return _BAD_COUNT, (seq, count)
        size = self._sizes[count]
        if avail < size:
            return short, (seq, count, size)
        (stored,) = _CRC.unpack_from(buf, p + size - PACKET_CRC_SIZE)
        actual = zlib.crc32(buf[p:p + size - PACKET_CRC_SIZE], self._seed)
        if stored != actual:
            return _BAD_CRC, (seq, count, size, stored, actual)
        return _OK, (seq, count, size)

    def _step(self, out: list[Packet], eof: bool) -> bool:
        """Handle the bytes at the current position; False when more input is needed."""
        p = self._pos
        if p >= len(self._buf):
            return False
        status, info = self._probe(p, eof)
        if status == _NEED_MORE:
            return False
        if status == _OK:
            self._in_sync = True
            self._accept(p, *info, out)
            self._pos = p + info[2]
            return True
        if self._in_sync:  # damage where a packet should start: report once, then scan
            offset = self._base + p
            h = self.header
            if status == _NOT_SYNC:
                got = self._buf[p:p + 2].hex(" ")
                self._problem("bad_sync", offset, f"expected sync word {SYNC.hex(' ')} at a packet "
                              f"boundary, found {got}")
            elif status == _BAD_COUNT:
                self._problem("bad_frame_count", offset, f"expected a frame count in "
                              f"[1, {h.frames_per_packet}], found {info[1]}")
            elif status == _BAD_CRC:
                self._problem("bad_crc", offset, f"packet CRC-32 expected 0x{info[4]:08x}, "
                              f"found 0x{info[3]:08x}")
            else:
                need = f"{info[2]} bytes" if info else f"a {PACKET_HEADER_SIZE}-byte packet header"
                self._problem("truncated_packet", offset, f"expected {need}, stream ends after "
                              f"{len(self._buf) - p}")
            self._in_sync = False
        nxt = self._buf.find(SYNC, p + 1)
        # Keep a last byte that may be the first half of a sync word split across feeds.
        self._pos = nxt if nxt >= 0 else max(p + 1, len(self._buf) - 1)
        return True

    def _accept(self, p: int, seq: int, count: int, size: int, out: list[Packet]) -> None:
        h = self.header
        offset = self._base + p
        if self._after_partial and self.strict:
            self._problem("bad_frame_count", offset, f"expected the previous packet to be full "
                          f"({h.frames_per_packet} frames) since another follows it, found "
                          f"{self._last_count} frames (only the last packet may be partial)")
        lost = 0
        if self._expected is not None and seq != self._expected:
            d = (seq - self._expected) % SEQUENCE_MODULUS
            if d >= _HALF_SEQUENCE:
                self._problem("out_of_order", offset, f"expected sequence {self._expected}, found "
                              f"{seq} (a late or duplicated packet)")
                return
            self._problem("sequence_gap", offset, f"expected sequence {self._expected}, found {seq}: "
                          f"{d} packet(s) lost")
            lost = d
            self.lost_packets += d
        self._expected = (seq + 1) % SEQUENCE_MODULUS
        start = p + PACKET_HEADER_SIZE
        flat = unpack_codes(self._buf[start:start + h.payload_size(count)], h.bits, count * h.codes_per_frame)
        if h.codebook_size < (1 << h.bits) and flat.size and flat.max() >= h.codebook_size:
            self._problem("code_out_of_range", offset, f"expected codes below codebook_size="
                          f"{h.codebook_size}, found {int(flat.max())}", packet=seq)
            return
        n = h.n_frames
        if self.strict and self._whole_stream and n is not None and self.frames_read + count > n:
            self._problem("length_mismatch", offset, f"expected {n} frames (total_samples="
                          f"{h.total_samples}), this packet brings the stream to "
                          f"{self.frames_read + count}", packet=seq)
        codes = flat.reshape(count, h.channels, h.n_q).transpose(1, 2, 0)
        self.frames_read += count
        self._after_partial = count < h.frames_per_packet
        self._last_count = count
        out.append(Packet(sequence=seq, offset=offset, codes=codes, lost_before=lost))


def decode_stream(data: bytes, *, expected_fingerprint: bytes | None = None,
                  path: str | None = None) -> tuple[StreamHeader, np.ndarray]:
    """Strictly decode a whole stream held in memory: (header, codes [channels, n_q, frames])."""
    reader = StreamReader(strict=True, expected_fingerprint=expected_fingerprint, path=path)
    packets = reader.feed(data)
    packets += reader.finish()
    h = reader.header
    if not packets:
        return h, np.zeros((h.channels, h.n_q, 0), dtype=np.int64)
    return h, np.concatenate([pk.codes for pk in packets], axis=2)


def read_stream(path: str | os.PathLike, expected_fingerprint: bytes | None = None
                ) -> tuple[StreamHeader, np.ndarray]:
    """Strictly read a ``.tqc`` file: any damage raises :class:`TQCError` naming the file."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise TQCError("io_error", f"cannot read {path!r}: {e.strerror or e}", path=path) from e
    return decode_stream(data, expected_fingerprint=expected_fingerprint, path=path)


def packet_offset(header: StreamHeader, index: int) -> int:
    """Byte offset of packet ``index`` in a file: every packet but the last is full size."""
    return HEADER_SIZE + index * header.packet_size()


def iter_packets(f: BinaryIO, header: StreamHeader, *, offset: int | None = None,
                 first_sequence: int | None = None, strict: bool = True,
                 on_event: Callable[[TQCError], None] | None = None, path: str | None = None,
                 chunk_size: int = 1 << 16) -> Iterator[Packet]:
    """Yield packets from a binary file positioned at a packet boundary, header known.

    For seeking (``f.seek(packet_offset(header, k))``) or joining a stream mid-way.
    ``offset`` defaults to ``f.tell()`` so error offsets name true file positions.
    """
    if offset is None:
        try:
            offset = f.tell()
        except (OSError, AttributeError):
            offset = 0
    reader = StreamReader(strict=strict, header=header, first_sequence=first_sequence,
                          offset=offset, path=path, on_event=on_event)
    while True:
        try:
            chunk = f.read(chunk_size)
        except OSError as e:
            raise TQCError("io_error", f"cannot read: {e.strerror or e}", path=path) from e
        if not chunk:
            break
        yield from reader.feed(chunk)
    yield from reader.finish()


# --------------------------------------------------------------------------- bitrate


@dataclass(frozen=True)
class Bitrate:
    """Bit rates in bits per second; ``overhead`` = extra bits / raw code bits."""

    frame_rate: float
    code_bps: float  # raw codes, all channels: channels * n_q * bits * frame_rate
    code_bps_per_channel: float
    stream_bps: float  # what is sent or stored, all channels, overhead included
    stream_bps_per_channel: float  # stream_bps / channels (overhead shared equally)
    overhead: float

    def describe(self) -> str:
        return (f"{self.stream_bps / 1000:.3f} kbps ({self.stream_bps_per_channel / 1000:.3f} per channel; "
                f"codes {self.code_bps / 1000:.3f} kbps, overhead {100 * self.overhead:.2f} %)")


def _bitrate(header: StreamHeader, stream_bits: float, frames: float) -> Bitrate:
    code = header.codes_per_frame * header.bits * header.frame_rate
    stream = stream_bits * header.frame_rate / frames if frames else 0.0
    return Bitrate(frame_rate=header.frame_rate, code_bps=code, code_bps_per_channel=code / header.channels,
                   stream_bps=stream, stream_bps_per_channel=stream / header.channels,
                   overhead=stream / code - 1.0 if frames else 0.0)


def bitrate(header: StreamHeader) -> Bitrate:
    """Steady-state rate of a stream of full packets (what a network link must carry)."""
    return _bitrate(header, 8 * header.packet_size(), header.frames_per_packet)


def stream_bitrate(header: StreamHeader, stream_bytes: int, frames: int) -> Bitrate:
    """Exact average rate of a whole stream: its bytes (file header included) over its duration."""
    return _bitrate(header, 8 * stream_bytes, frames)
