package org.tqcodec.stream;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Incremental {@code .tqc} reader: {@link #feed} bytes as they arrive, get packets as they complete.
 *
 * <p>A line-by-line mirror of {@code StreamReader} in {@code tqcodec/bitstream.py}: same checks in
 * the same order, same kinds, offsets and packet numbers (docs/bitstream.md, "Reading").
 * <ul>
 *   <li><b>strict</b> (default): the first problem throws {@link TqcException}; the reader then
 *       stays failed and every later {@code feed}/{@code finish} throws the same error.</li>
 *   <li><b>streaming</b> ({@code strict(false)}): header problems still throw (nothing can be
 *       decoded); packet problems are recorded in {@link #events()} (and passed to the
 *       {@link EventListener}), the damaged region is skipped by scanning for the next sync
 *       word, and lost packets show as {@link Packet#lostBefore()}.</li>
 * </ul>
 * The outcome depends only on the bytes, never on how they are split into feeds. Memory is
 * bounded by one packet plus one feed (plus at most 64 KiB of consumed bytes kept between
 * compactions). Not thread-safe: one thread feeds.
 *
 * <p>To start mid-stream, give the {@link Builder#header header} (read earlier or elsewhere),
 * the stream {@link Builder#offset offset} of the first byte fed and the
 * {@link Builder#firstSequence first sequence} ({@code null}: accept any). Such a reader skips
 * the total-length checks.
 *
 * <p>One deliberate difference from Python: an expected fingerprint that is not 16 bytes long is
 * rejected ({@code invalid_argument}) when the reader is built, not when the header arrives.
 */
public final class StreamReader {
    /** Receives each streaming-mode event as it is recorded. */
    public interface EventListener {
        void onEvent(TqcException event);
    }

    public static final int SEQUENCE_MODULUS = 1 << 16;
    private static final int HALF_SEQUENCE = SEQUENCE_MODULUS / 2;
    private static final byte SYNC0 = (byte) 0xA5, SYNC1 = (byte) 0x5A;
    private static final int COMPACT_AT = 1 << 16;

    // outcomes of probing for a packet at one position (Python's _OK, _NEED_MORE, ...)
    private static final int OK = 0, NEED_MORE = 1, TRUNCATED = 2, NOT_SYNC = 3, BAD_COUNT = 4, BAD_CRC = 5;

    /** Options; defaults are Python's: strict, header from the stream, first sequence 0, offset 0. */
    public static final class Builder {
        private boolean strict = true;
        private StreamHeader header;
        private byte[] expectedFingerprint;
        private Integer firstSequence = 0;
        private long offset;
        private String path;
        private EventListener listener;

        public Builder strict(boolean v) { strict = v; return this; }
        /** The header, given separately: the bytes fed start at a packet (or any byte) after it. */
        public Builder header(StreamHeader v) { header = v; return this; }
        /** 16 bytes, or null for no check. */
        public Builder expectedFingerprint(byte[] v) { expectedFingerprint = v == null ? null : v.clone(); return this; }
        /** Sequence number of the first packet; null accepts any. Taken modulo 65536. */
        public Builder firstSequence(Integer v) { firstSequence = v; return this; }
        /** Stream offset of the first byte fed (for error offsets and {@link Packet#offset()}). */
        public Builder offset(long v) { offset = v; return this; }
        /** File name used in error messages. */
        public Builder path(String v) { path = v; return this; }
        public Builder listener(EventListener v) { listener = v; return this; }

        /**
         * @throws TqcException {@code invalid_argument} for a fingerprint not 16 bytes long;
         *     {@code fingerprint_mismatch} (offset -1) if a given header fails the expected fingerprint
         */
        public StreamReader build() throws TqcException {
            return new StreamReader(this);
        }
    }

    private final boolean strict;
    private final String path;
    private final EventListener listener;
    private final byte[] expectedFingerprint;
    private final boolean wholeStream;
    private final List<TqcException> events = new ArrayList<>();
    private final CRC32 crc = new CRC32();

    private StreamHeader header;
    private byte[] identity;
    private int[] sizes;
    private int[] flat = new int[0];

    private byte[] buf = new byte[4096];
    private int len;
    private long base; // stream offset of buf[0]
    private int pos;
    private int expected; // expected sequence number, -1 for none
    private boolean inSync = true;
    private boolean afterPartial;
    private int lastCount;
    private long lostPackets;
    private long framesRead;
    private TqcException error;
    private boolean finished;

    private StreamReader(Builder b) throws TqcException {
        strict = b.strict;
        path = b.path;
        listener = b.listener;
        expectedFingerprint = b.expectedFingerprint;
        if (expectedFingerprint != null && expectedFingerprint.length != StreamHeader.FINGERPRINT_SIZE) {
            throw new TqcException("invalid_argument", "expected_fingerprint must be 16 bytes, got "
                    + expectedFingerprint.length, path, -1, -1);
        }
        expected = b.firstSequence == null ? -1 : Math.floorMod(b.firstSequence, SEQUENCE_MODULUS);
        base = b.offset;
        wholeStream = b.header == null; // only a reader that sees the header can check the length
        if (b.header != null) {
            checkFingerprint(b.header, -1);
            setHeader(b.header);
        }
    }

    /** A strict reader that parses the header from the stream. */
    public static StreamReader strict() {
        try {
            return new Builder().build();
        } catch (TqcException e) {
            throw new AssertionError(e); // no argument to reject
        }
    }

    /** Add {@code data[off..off+len)}; return the packets they completed (possibly none). */
    public List<Packet> feed(byte[] data, int off, int length) throws TqcException {
        if (error != null) {
            throw error;
        }
        if (finished) {
            throw new TqcException("invalid_argument", "feed() after finish()", path, -1, -1);
        }
        if (data == null || off < 0 || length < 0 || off > data.length - length) {
            throw new TqcException("invalid_argument", "feed() takes a byte range inside the array", path, -1, -1);
        }
        append(data, off, length);
        return guarded(false);
    }

    public List<Packet> feed(byte[] data) throws TqcException {
        return feed(data, 0, data == null ? 0 : data.length);
    }

    /** Declare the end of input and decide what was waiting for more bytes. A second call returns nothing. */
    public List<Packet> finish() throws TqcException {
        if (finished) {
            return Collections.emptyList();
        }
        finished = true;
        return guarded(true);
    }

    /** The header, or null until it has been read. */
    public StreamHeader header() { return header; }

    /** Packet problems recorded in streaming mode, in order (read-only view). */
    public List<TqcException> events() { return Collections.unmodifiableList(events); }

    /** Packets found missing so far (sum of {@code lostBefore}). */
    public long lostPackets() { return lostPackets; }

    /** Frames delivered so far. */
    public long framesRead() { return framesRead; }

    public boolean isStrict() { return strict; }

    // ------------------------------------------------------------------ internals

    private void setHeader(StreamHeader h) {
        header = h;
        identity = h.identityBytes();
        sizes = new int[h.framesPerPacket() + 1];
        for (int k = 1; k <= h.framesPerPacket(); k++) {
            sizes[k] = h.packetSize(k);
        }
        flat = new int[h.framesPerPacket() * h.codesPerFrame()];
    }

    private void checkFingerprint(StreamHeader h, long headerOffset) throws TqcException {
        if (expectedFingerprint == null || Arrays.equals(expectedFingerprint, h.fingerprint())) {
            return;
        }
        throw new TqcException("fingerprint_mismatch", "stream was made by decoder weights "
                + hexString(h.fingerprint()) + ", expected " + hexString(expectedFingerprint), path,
                headerOffset < 0 ? -1 : headerOffset + StreamHeader.OFF_FINGERPRINT, -1);
    }

    private void append(byte[] data, int off, int length) {
        if (len + length > buf.length && pos > 0) {
            compact();
        }
        if (len + length > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(len + length, buf.length * 2));
        }
        System.arraycopy(data, off, buf, len, length);
        len += length;
    }

    private void compact() {
        System.arraycopy(buf, pos, buf, 0, len - pos);
        len -= pos;
        base += pos;
        pos = 0;
    }

    private List<Packet> guarded(boolean eof) throws TqcException {
        if (error != null) {
            throw error;
        }
        List<Packet> out = new ArrayList<>();
        try {
            run(out, eof);
        } catch (TqcException e) {
            error = e;
            throw e;
        }
        return out;
    }

    private void run(List<Packet> out, boolean eof) throws TqcException {
        if (header == null && !readHeader(eof)) {
            return;
        }
        while (step(out, eof)) {
            // each step consumes or skips at least one byte, or asks for more input
        }
        if (pos > 0 && (pos == len || pos >= COMPACT_AT)) {
            compact();
        }
        if (eof && strict && wholeStream && header.hasTotalSamples()) {
            long n = header.nFrames();
            if (Long.compareUnsigned(framesRead, n) < 0) {
                problem("truncated_stream", base + pos, "expected " + Long.toUnsignedString(n)
                        + " frames (total_samples=" + Long.toUnsignedString(header.totalSamples())
                        + "), stream ends after " + framesRead, expected);
            }
        }
    }

    private boolean readHeader(boolean eof) throws TqcException {
        StreamHeader h;
        try {
            h = StreamHeader.decode(buf, 0, len, path);
        } catch (TqcException e) {
            if (e.kind().equals("truncated_header") && !eof) {
                return false;
            }
            throw e.located(path, base);
        }
        checkFingerprint(h, base);
        setHeader(h);
        pos = StreamHeader.HEADER_SIZE;
        return true;
    }

    /** Raise in strict mode; record an event in streaming mode. */
    private void problem(String kind, long offset, String detail, int packet) throws TqcException {
        TqcException err = new TqcException(kind, detail, path, offset, packet);
        if (strict) {
            throw err;
        }
        events.add(err);
        if (listener != null) {
            listener.onEvent(err);
        }
    }

    // filled by probe()
    private int pSeq, pCount, pSize;
    private long pStored, pActual;

    /** Is there a complete, intact packet at buffer position p? */
    private int probe(int p, boolean eof) {
        int avail = len - p;
        int shortResult = eof ? TRUNCATED : NEED_MORE;
        pSize = -1;
        if (buf[p] != SYNC0 || (avail >= 2 && buf[p + 1] != SYNC1)) {
            return NOT_SYNC;
        }
        if (avail < StreamHeader.PACKET_HEADER_SIZE) {
            return shortResult;
        }
        pSeq = StreamHeader.u16(buf, p + 2);
        pCount = buf[p + 4] & 0xFF;
        if (pCount < 1 || pCount > header.framesPerPacket()) {
            return BAD_COUNT;
        }
        pSize = sizes[pCount];
        if (avail < pSize) {
            return shortResult;
        }
        int crcAt = p + pSize - StreamHeader.PACKET_CRC_SIZE;
        pStored = StreamHeader.u32(buf, crcAt);
        crc.reset();
        crc.update(identity, 0, identity.length);
        crc.update(buf, p, crcAt - p);
        pActual = crc.getValue();
        return pStored != pActual ? BAD_CRC : OK;
    }

    /** Handle the bytes at the current position; false when more input is needed. */
    private boolean step(List<Packet> out, boolean eof) throws TqcException {
        int p = pos;
        if (p >= len) {
            return false;
        }
        int status = probe(p, eof);
        if (status == NEED_MORE) {
            return false;
        }
        if (status == OK) {
            inSync = true;
            int size = pSize;
            accept(p, pSeq, pCount, out);
            pos = p + size;
            return true;
        }
        if (inSync) { // damage where a packet should start: report once, then scan
            long offset = base + p;
            if (status == NOT_SYNC) {
                problem("bad_sync", offset, "expected sync word a5 5a at a packet boundary, found "
                        + StreamHeader.hex(buf, p, Math.min(2, len - p)), expected);
            } else if (status == BAD_COUNT) {
                problem("bad_frame_count", offset, "expected a frame count in [1, "
                        + header.framesPerPacket() + "], found " + pCount, expected);
            } else if (status == BAD_CRC) {
                problem("bad_crc", offset, String.format("packet CRC-32 expected 0x%08x, found 0x%08x",
                        pActual, pStored), expected);
            } else {
                String need = pSize >= 0 ? pSize + " bytes"
                        : "a " + StreamHeader.PACKET_HEADER_SIZE + "-byte packet header";
                problem("truncated_packet", offset, "expected " + need + ", stream ends after " + (len - p),
                        expected);
            }
            inSync = false;
        }
        int next = findSync(p + 1);
        // keep a last byte that may be the first half of a sync word split across feeds
        pos = next >= 0 ? next : Math.max(p + 1, len - 1);
        return true;
    }

    private int findSync(int from) {
        for (int i = from; i < len - 1; i++) {
            if (buf[i] == SYNC0 && buf[i + 1] == SYNC1) {
                return i;
            }
        }
        return -1;
    }

    private void accept(int p, int seq, int count, List<Packet> out) throws TqcException {
        StreamHeader h = header;
        long offset = base + p;
        if (afterPartial && strict) {
            problem("bad_frame_count", offset, "expected the previous packet to be full ("
                    + h.framesPerPacket() + " frames) since another follows it, found " + lastCount
                    + " frames (only the last packet may be partial)", expected);
        }
        int lost = 0;
        if (expected >= 0 && seq != expected) {
            int d = Math.floorMod(seq - expected, SEQUENCE_MODULUS);
            if (d >= HALF_SEQUENCE) {
                problem("out_of_order", offset, "expected sequence " + expected + ", found " + seq
                        + " (a late or duplicated packet)", expected);
                return;
            }
            problem("sequence_gap", offset, "expected sequence " + expected + ", found " + seq + ": "
                    + d + " packet(s) lost", expected);
            lost = d;
            lostPackets += d;
        }
        expected = (seq + 1) % SEQUENCE_MODULUS;
        int channels = h.channels(), nQ = h.nQ(), n = count * h.codesPerFrame();
        int max = CodeUnpacker.unpack(buf, p + StreamHeader.PACKET_HEADER_SIZE, h.bits(), n, flat, 0);
        if (h.codebookSize() < (1 << h.bits()) && max >= h.codebookSize()) {
            problem("code_out_of_range", offset, "expected codes below codebook_size=" + h.codebookSize()
                    + ", found " + max, seq);
            return;
        }
        if (strict && wholeStream && h.hasTotalSamples()
                && Long.compareUnsigned(framesRead + count, h.nFrames()) > 0) {
            problem("length_mismatch", offset, "expected " + Long.toUnsignedString(h.nFrames())
                    + " frames (total_samples=" + Long.toUnsignedString(h.totalSamples())
                    + "), this packet brings the stream to " + (framesRead + count), seq);
        }
        int[][][] codes = new int[channels][nQ][count];
        int i = 0;
        for (int f = 0; f < count; f++) { // frame-major on the wire
            for (int c = 0; c < channels; c++) {
                int[][] cc = codes[c];
                for (int q = 0; q < nQ; q++) {
                    cc[q][f] = flat[i++];
                }
            }
        }
        framesRead += count;
        afterPartial = count < h.framesPerPacket();
        lastCount = count;
        out.add(new Packet(seq, offset, codes, lost));
    }

    private static String hexString(byte[] b) {
        return StreamHeader.hex(b, 0, b.length).replace(" ", "");
    }
}
