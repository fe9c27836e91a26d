package org.tqcodec.stream;

import java.util.Arrays;
import java.util.zip.CRC32;

/**
 * The 52-byte {@code .tqc} file header (docs/bitstream.md, "File header"); always valid once built.
 *
 * <p>Numbers are unsigned on the wire. {@code sampleRate} and {@code hopLength} are u32 and kept
 * in a {@code long}; {@code totalSamples} is a u64 kept in a {@code long} read as unsigned, with
 * {@link #UNKNOWN_TOTAL_SAMPLES} ({@code -1L}, all ones on the wire) meaning a live stream of
 * unknown length. Build one with {@link Builder} (Python's defaults) or {@link #decode}.
 */
public final class StreamHeader {
    public static final byte[] MAGIC = {'T', 'Q', 'C', 'S'};
    public static final int FORMAT_VERSION = 1;
    public static final int HEADER_SIZE = 52;
    public static final int FINGERPRINT_SIZE = 16;
    public static final int MAX_BITS = 16;
    public static final int DEFAULT_FRAMES_PER_PACKET = 32;
    /** {@code 0xFFFFFFFFFFFFFFFF}: total length unknown (a live stream). */
    public static final long UNKNOWN_TOTAL_SAMPLES = -1L;
    public static final int PACKET_HEADER_SIZE = 5;
    public static final int PACKET_CRC_SIZE = 4;
    public static final int PACKET_OVERHEAD = PACKET_HEADER_SIZE + PACKET_CRC_SIZE;

    /** Byte offsets of the header fields (the offsets that {@code bad_header_field} reports). */
    public static final int OFF_MAGIC = 0, OFF_VERSION = 4, OFF_FLAGS = 6, OFF_SAMPLE_RATE = 8,
            OFF_HOP_LENGTH = 12, OFF_CODEBOOK_SIZE = 16, OFF_CHANNELS = 20, OFF_N_Q = 21, OFF_BITS = 22,
            OFF_FRAMES_PER_PACKET = 23, OFF_TOTAL_SAMPLES = 24, OFF_FINGERPRINT = 32, OFF_HEADER_CRC = 48;

    private static final long U32_MAX = 0xFFFFFFFFL;

    private final long sampleRate;
    private final long hopLength;
    private final int codebookSize;
    private final int channels;
    private final int nQ;
    private final int bits;
    private final int framesPerPacket;
    private final long totalSamples;
    private final byte[] fingerprint;

    private StreamHeader(Builder b) throws TqcException {
        // The order of Python's StreamHeader.__post_init__ (= the documented field-check order).
        sampleRate = whole("sample_rate", OFF_SAMPLE_RATE, b.sampleRate, 1, U32_MAX);
        hopLength = whole("hop_length", OFF_HOP_LENGTH, b.hopLength, 1, U32_MAX);
        channels = (int) whole("channels", OFF_CHANNELS, b.channels, 1, 255);
        nQ = (int) whole("n_q", OFF_N_Q, b.nQ, 1, 255);
        bits = (int) whole("bits", OFF_BITS, b.bits, 1, MAX_BITS);
        codebookSize = (int) whole("codebook_size", OFF_CODEBOOK_SIZE, b.codebookSize, 1, 1L << bits);
        framesPerPacket = (int) whole("frames_per_packet", OFF_FRAMES_PER_PACKET, b.framesPerPacket, 1, 255);
        totalSamples = b.totalSamples; // every u64 but the sentinel is a valid length
        if (b.fingerprint == null || b.fingerprint.length != FINGERPRINT_SIZE) {
            throw fieldError("fingerprint", OFF_FINGERPRINT, "expected " + FINGERPRINT_SIZE + " bytes, got "
                    + (b.fingerprint == null ? "null" : b.fingerprint.length + " bytes"));
        }
        fingerprint = b.fingerprint.clone();
    }

    private static long whole(String name, int offset, long v, long lo, long hi) throws TqcException {
        if (v < lo || v > hi) {
            throw fieldError(name, offset, "expected an integer in [" + lo + ", " + hi + "], got " + v);
        }
        return v;
    }

    private static TqcException fieldError(String field, int offset, String detail) {
        return new TqcException("bad_header_field", "header field " + field + ": " + detail, null, offset, -1);
    }

    /** Builder with TQCodec's defaults (44.1 kHz, hop 64, 512 codes of 9 bits, 32 frames/packet, live). */
    public static final class Builder {
        private long sampleRate = 44100, hopLength = 64, codebookSize = 512, channels, nQ, bits = 9;
        private long framesPerPacket = DEFAULT_FRAMES_PER_PACKET, totalSamples = UNKNOWN_TOTAL_SAMPLES;
        private byte[] fingerprint;

        public Builder(int channels, int nQ, byte[] fingerprint) {
            this.channels = channels;
            this.nQ = nQ;
            this.fingerprint = fingerprint;
        }

        public Builder sampleRate(long v) { sampleRate = v; return this; }
        public Builder hopLength(long v) { hopLength = v; return this; }
        public Builder codebookSize(long v) { codebookSize = v; return this; }
        public Builder bits(int v) { bits = v; return this; }
        public Builder framesPerPacket(int v) { framesPerPacket = v; return this; }
        /** u64 read as unsigned; {@link #UNKNOWN_TOTAL_SAMPLES} for a live stream. */
        public Builder totalSamples(long v) { totalSamples = v; return this; }

        /** @throws TqcException {@code bad_header_field} (the field's offset) for a value out of range */
        public StreamHeader build() throws TqcException {
            return new StreamHeader(this);
        }
    }

    /**
     * Parse the header at {@code data[off..off+len)}; checks run in the documented order:
     * magic (on the bytes present), version (once 6 bytes are present), length, CRC, fields.
     * Offsets in errors are relative to {@code off}.
     */
    public static StreamHeader decode(byte[] data, int off, int len, String path) throws TqcException {
        int n = Math.min(len, HEADER_SIZE);
        for (int i = 0; i < Math.min(n, 4); i++) {
            if (data[off + i] != MAGIC[i]) {
                throw new TqcException("bad_magic", "expected magic b'TQCS' (54 51 43 53), found "
                        + hex(data, off, Math.min(n, 4)), path, 0, -1);
            }
        }
        if (n >= 6) {
            int version = u16(data, off + OFF_VERSION);
            if (version != FORMAT_VERSION) {
                throw new TqcException("unsupported_version", "expected format version " + FORMAT_VERSION
                        + ", found " + version, path, OFF_VERSION, -1);
            }
        }
        if (n < HEADER_SIZE) {
            throw new TqcException("truncated_header", "expected a " + HEADER_SIZE
                    + "-byte header, stream has only " + n + " bytes", path, 0, -1);
        }
        long stored = u32(data, off + OFF_HEADER_CRC);
        CRC32 crc = new CRC32();
        crc.update(data, off, OFF_HEADER_CRC);
        long actual = crc.getValue();
        if (stored != actual) {
            throw new TqcException("bad_header_crc", String.format("header CRC-32 expected 0x%08x over bytes"
                    + " 0..47, found 0x%08x", actual, stored), path, OFF_HEADER_CRC, -1);
        }
        int flags = u16(data, off + OFF_FLAGS);
        if (flags != 0) {
            throw new TqcException("bad_header_field", String.format("header field flags: expected 0 "
                    + "(reserved), found 0x%04x", flags), path, OFF_FLAGS, -1);
        }
        Builder b = new Builder(data[off + OFF_CHANNELS] & 0xFF, data[off + OFF_N_Q] & 0xFF,
                Arrays.copyOfRange(data, off + OFF_FINGERPRINT, off + OFF_FINGERPRINT + FINGERPRINT_SIZE))
                .sampleRate(u32(data, off + OFF_SAMPLE_RATE))
                .hopLength(u32(data, off + OFF_HOP_LENGTH))
                .codebookSize(u32(data, off + OFF_CODEBOOK_SIZE))
                .bits(data[off + OFF_BITS] & 0xFF)
                .framesPerPacket(data[off + OFF_FRAMES_PER_PACKET] & 0xFF)
                .totalSamples(u64(data, off + OFF_TOTAL_SAMPLES));
        try {
            return b.build();
        } catch (TqcException e) {
            throw e.located(path, 0);
        }
    }

    /** The 52 bytes: fields, then the CRC-32 of the first 48. */
    public byte[] encode() {
        byte[] h = new byte[HEADER_SIZE];
        System.arraycopy(MAGIC, 0, h, 0, 4);
        put(h, OFF_VERSION, FORMAT_VERSION, 2);
        put(h, OFF_FLAGS, 0, 2);
        put(h, OFF_SAMPLE_RATE, sampleRate, 4);
        put(h, OFF_HOP_LENGTH, hopLength, 4);
        put(h, OFF_CODEBOOK_SIZE, codebookSize, 4);
        h[OFF_CHANNELS] = (byte) channels;
        h[OFF_N_Q] = (byte) nQ;
        h[OFF_BITS] = (byte) bits;
        h[OFF_FRAMES_PER_PACKET] = (byte) framesPerPacket;
        put(h, OFF_TOTAL_SAMPLES, totalSamples, 8);
        System.arraycopy(fingerprint, 0, h, OFF_FINGERPRINT, FINGERPRINT_SIZE);
        CRC32 crc = new CRC32();
        crc.update(h, 0, OFF_HEADER_CRC);
        put(h, OFF_HEADER_CRC, crc.getValue(), 4);
        return h;
    }

    /**
     * The header's identity bytes, 0..23 then 32..47 (all but total_samples and the CRC):
     * the first 40 bytes that every packet CRC covers.
     */
    public byte[] identityBytes() {
        byte[] h = encode();
        byte[] id = new byte[40];
        System.arraycopy(h, 0, id, 0, 24);
        System.arraycopy(h, 32, id, 24, 16);
        return id;
    }

    /** CRC-32 of {@link #identityBytes()} (Python's {@code packet_crc_seed}). */
    public long packetCrcSeed() {
        CRC32 crc = new CRC32();
        crc.update(identityBytes());
        return crc.getValue();
    }

    public long sampleRate() { return sampleRate; }
    public long hopLength() { return hopLength; }
    public int codebookSize() { return codebookSize; }
    public int channels() { return channels; }
    public int nQ() { return nQ; }
    public int bits() { return bits; }
    public int framesPerPacket() { return framesPerPacket; }
    public byte[] fingerprint() { return fingerprint.clone(); }

    /** Raw u64 (compare with {@link Long#compareUnsigned}); {@link #UNKNOWN_TOTAL_SAMPLES} if live. */
    public long totalSamples() { return totalSamples; }

    public boolean hasTotalSamples() { return totalSamples != UNKNOWN_TOTAL_SAMPLES; }

    /** Frames per second, sample_rate / hop_length. */
    public double frameRate() { return (double) sampleRate / hopLength; }

    /** Codes in one frame of all channels. */
    public int codesPerFrame() { return channels * nQ; }

    /**
     * Frames the stream must hold, ceil(total_samples / hop_length), as an unsigned long;
     * -1 (all ones, unreachable as a real count) when the length is unknown.
     */
    public long nFrames() {
        if (!hasTotalSamples()) {
            return -1;
        }
        long q = Long.divideUnsigned(totalSamples, hopLength);
        return Long.remainderUnsigned(totalSamples, hopLength) != 0 ? q + 1 : q;
    }

    /** Bytes of packed codes in a packet of {@code frames} frames. */
    public int payloadSize(int frames) {
        return (int) (((long) frames * codesPerFrame() * bits + 7) / 8);
    }

    /** Bytes of a whole packet of {@code frames} frames. */
    public int packetSize(int frames) {
        return PACKET_OVERHEAD + payloadSize(frames);
    }

    /** Bytes of a full packet. */
    public int packetSize() {
        return packetSize(framesPerPacket);
    }

    /**
     * Byte offset of packet {@code index} in a file (every packet but the last is full).
     *
     * @throws TqcException {@code invalid_argument} for a negative index, or one whose offset does
     *     not fit in a {@code long} (a far seek on a live stream): checked, never a silent wrap
     */
    public long packetOffset(long index) throws TqcException {
        if (index < 0) {
            throw new TqcException("invalid_argument", "a packet index must not be negative, got " + index);
        }
        try {
            return Math.addExact(HEADER_SIZE, Math.multiplyExact(index, (long) packetSize()));
        } catch (ArithmeticException e) {
            throw new TqcException("invalid_argument", "the byte offset of packet " + index + " (" + packetSize()
                    + " bytes each) does not fit in a 64-bit integer");
        }
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof StreamHeader)) {
            return false;
        }
        StreamHeader h = (StreamHeader) o;
        return sampleRate == h.sampleRate && hopLength == h.hopLength && codebookSize == h.codebookSize
                && channels == h.channels && nQ == h.nQ && bits == h.bits && framesPerPacket == h.framesPerPacket
                && totalSamples == h.totalSamples && Arrays.equals(fingerprint, h.fingerprint);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(encode());
    }

    @Override
    public String toString() {
        return "StreamHeader(sample_rate=" + sampleRate + ", hop_length=" + hopLength + ", codebook_size="
                + codebookSize + ", channels=" + channels + ", n_q=" + nQ + ", bits=" + bits
                + ", frames_per_packet=" + framesPerPacket + ", total_samples="
                + (hasTotalSamples() ? Long.toUnsignedString(totalSamples) : "unknown")
                + ", fingerprint=" + hex(fingerprint, 0, FINGERPRINT_SIZE).replace(" ", "") + ")";
    }

    // ---- little-endian helpers, shared with the reader

    static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) | (b[i + 1] & 0xFF) << 8;
    }

    static long u32(byte[] b, int i) {
        return ((long) u16(b, i) | (long) u16(b, i + 2) << 16) & U32_MAX;
    }

    static long u64(byte[] b, int i) {
        return u32(b, i) | u32(b, i + 4) << 32;
    }

    static void put(byte[] b, int i, long v, int size) {
        for (int k = 0; k < size; k++) {
            b[i + k] = (byte) (v >>> (8 * k));
        }
    }

    static String hex(byte[] b, int off, int len) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < len; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(String.format("%02x", b[off + i] & 0xFF));
        }
        return sb.toString();
    }
}
