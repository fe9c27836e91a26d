package org.tqcodec.stream;

import org.junit.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** Reader behaviours beyond the golden vectors (they mirror tests/test_bitstream.py). */
public class StreamReaderTest {
    private static final byte[] FP = TestStreams.fingerprint(1);

    private static StreamHeader header(int channels, int nQ, int fpp, long totalSamples) throws TqcException {
        return new StreamHeader.Builder(channels, nQ, FP).framesPerPacket(fpp).totalSamples(totalSamples).build();
    }

    private static String summary(List<Packet> packets) {
        StringBuilder sb = new StringBuilder();
        for (Packet p : packets) {
            sb.append(p.sequence()).append('@').append(p.offset()).append('-').append(p.lostBefore()).append(' ');
        }
        return sb.toString();
    }

    private static TqcException expectError(ThrowingRunnable r) {
        try {
            r.run();
        } catch (TqcException e) {
            return e;
        }
        throw new AssertionError("expected a TqcException");
    }

    interface ThrowingRunnable {
        void run() throws TqcException;
    }

    @Test
    public void randomSplitsEqualWholeReading() throws TqcException {
        StreamHeader h = header(2, 10, 16, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        int[][][] codes = TestStreams.randomCodes(h, 150, 5);
        byte[] data = TestStreams.stream(h, codes);
        String whole = summary(Vectors.feedAll(StreamReader.strict(), data, new int[0]));
        for (int trial = 0; trial < 30; trial++) {
            List<Packet> parts = Vectors.feedAll(StreamReader.strict(), data, Vectors.cuts("pieces", data.length, trial));
            assertEquals(whole, summary(parts));
            int[][][] back = Vectors.concat(parts, 2, 10);
            for (int c = 0; c < 2; c++) {
                assertArrayEquals(codes[c], back[c]);
            }
        }
        assertEquals(whole, summary(Vectors.feedAll(StreamReader.strict(), data, Vectors.cuts("bytes", data.length, 0))));
    }

    @Test
    public void packetsArriveAsSoonAsComplete() throws TqcException {
        StreamHeader h = header(1, 10, 8, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        byte[] data = TestStreams.stream(h, TestStreams.randomCodes(h, 24, 2));
        StreamReader r = StreamReader.strict();
        int end = StreamHeader.HEADER_SIZE + h.packetSize();
        assertTrue(r.feed(data, 0, end - 1).isEmpty());
        assertEquals(1, r.feed(data, end - 1, 1).size());
        assertEquals(2, r.feed(data, end, data.length - end).size());
        assertTrue(r.finish().isEmpty());
        assertTrue(r.finish().isEmpty()); // a second finish is harmless
    }

    @Test
    public void strictErrorsAreStickyAndFeedAfterFinishIsRefused() throws TqcException {
        final StreamReader r = StreamReader.strict();
        TqcException first = expectError(() -> r.feed(new byte[] {'R', 'I', 'F', 'F'}));
        assertEquals("bad_magic", first.kind());
        assertSame(first, expectError(() -> r.feed(new byte[] {1})));
        assertSame(first, expectError(r::finish));

        StreamHeader h = header(1, 2, 4, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        final StreamReader done = StreamReader.strict();
        done.feed(h.encode());
        done.finish();
        TqcException late = expectError(() -> done.feed(new byte[] {1}));
        assertEquals("invalid_argument", late.kind());
        assertEquals(-1, late.offset());
    }

    @Test
    public void headerErrorsComeAsSoonAsTheBytesShowThem() throws TqcException {
        StreamReader r = StreamReader.strict();
        assertTrue(r.feed(new byte[] {'T', 'Q'}).isEmpty()); // a prefix of the magic: wait
        assertEquals("bad_magic", expectError(() -> r.feed(new byte[] {'X'})).kind());

        byte[] v2 = header(1, 1, 1, 0).encode();
        v2[4] = 2; // a newer version, not damage: reported before length and CRC
        StreamReader r2 = StreamReader.strict();
        TqcException e = expectError(() -> r2.feed(v2, 0, 6));
        assertEquals("unsupported_version", e.kind());
        assertEquals(4, e.offset());
        assertEquals(-1, e.packet());

        StreamReader r3 = new StreamReader.Builder().strict(false).build();
        assertTrue(r3.feed(v2, 0, 3).isEmpty());
        assertEquals("truncated_header", expectError(r3::finish).kind()); // fatal in streaming mode too
    }

    @Test
    public void sequenceNumbersWrap() throws TqcException {
        StreamHeader h = header(1, 2, 2, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        int[][][] codes = TestStreams.randomCodes(h, 20, 3);
        byte[] data = TestStreams.packets(h, codes, 65530);
        List<Packet> ps = Vectors.feedAll(new StreamReader.Builder().header(h).firstSequence(65530).build(),
                data, new int[0]);
        int[] seqs = new int[ps.size()];
        for (int i = 0; i < seqs.length; i++) {
            seqs[i] = ps.get(i).sequence();
        }
        assertArrayEquals(new int[] {65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3}, seqs);

        // a packet lost across the wrap is a gap of one, not of 65535
        int size = h.packetSize();
        byte[] dropped = new byte[data.length - size];
        System.arraycopy(data, 0, dropped, 0, 6 * size);
        System.arraycopy(data, 7 * size, dropped, 6 * size, data.length - 7 * size);
        StreamReader r = new StreamReader.Builder().strict(false).header(h).firstSequence(65530).build();
        ps = Vectors.feedAll(r, dropped, new int[0]);
        int[] lost = new int[ps.size()];
        for (int i = 0; i < lost.length; i++) {
            lost[i] = ps.get(i).lostBefore();
        }
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0, 1, 0, 0}, lost);
        assertEquals(1, r.events().size());
        assertEquals("sequence_gap", r.events().get(0).kind());
        assertEquals(1, r.lostPackets());
    }

    @Test
    public void startsAtASeekPointWithTrueOffsets() throws TqcException {
        StreamHeader h = header(2, 10, 8, 60 * 64);
        int[][][] codes = TestStreams.randomCodes(h, 60, 4);
        byte[] data = TestStreams.stream(h, codes);
        int at = (int) h.packetOffset(3);
        StreamReader r = new StreamReader.Builder().header(h).firstSequence(3).offset(at).build();
        List<Packet> ps = Vectors.feedAll(r, Arrays.copyOfRange(data, at, data.length), Vectors.cuts("pieces", 100, 9));
        assertEquals(5, ps.size());
        assertEquals(3, ps.get(0).sequence());
        assertEquals(at, ps.get(0).offset());
        assertEquals(4, ps.get(4).frames());
        int[][][] back = Vectors.concat(ps, 2, 10);
        assertArrayEquals(Vectors.slice(codes, 24, 60)[1], back[1]);
        // no total-length check for a reader that did not see the whole stream
        assertEquals(36, r.framesRead());
    }

    @Test
    public void eventsReachTheListenerInOrder() throws TqcException {
        StreamHeader h = header(1, 3, 4, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        byte[] data = TestStreams.stream(h, TestStreams.randomCodes(h, 40, 6));
        data[StreamHeader.HEADER_SIZE + h.packetSize() + 7] ^= 1; // damage packet 1
        final List<String> seen = new ArrayList<>();
        StreamReader r = new StreamReader.Builder().strict(false).listener(e -> seen.add(e.kind())).build();
        List<Packet> ps = Vectors.feedAll(r, data, new int[0]);
        assertEquals(Arrays.asList("bad_crc", "sequence_gap"), seen);
        assertEquals(9, ps.size());
        assertEquals(1, ps.get(1).lostBefore());
        assertEquals(r.events().get(0).toString(), "<stream>, byte " + (StreamHeader.HEADER_SIZE + h.packetSize())
                        + ", packet 1: " + r.events().get(0).detail() + " [bad_crc]",
                r.events().get(0).getMessage());
    }

    @Test
    public void fingerprintChecks() throws TqcException {
        StreamHeader h = header(1, 2, 4, 0);
        TqcException e = expectError(() -> new StreamReader.Builder().expectedFingerprint(new byte[3]).build());
        assertEquals("invalid_argument", e.kind());
        e = expectError(() -> new StreamReader.Builder().header(h).expectedFingerprint(new byte[16]).build());
        assertEquals("fingerprint_mismatch", e.kind());
        assertEquals(-1, e.offset()); // the header came separately: no stream offset
        e = expectError(() -> new StreamReader.Builder().offset(1000).expectedFingerprint(new byte[16]).build()
                .feed(h.encode()));
        assertEquals("fingerprint_mismatch", e.kind());
        assertEquals(1032, e.offset());
        assertEquals(0, Vectors.feedAll(new StreamReader.Builder().expectedFingerprint(FP).build(), h.encode(),
                new int[0]).size());
    }

    @Test
    public void garbageIsScannedQuicklyInBoundedMemory() throws TqcException {
        StreamHeader h = header(2, 10, 32, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        StreamReader r = new StreamReader.Builder().strict(false).build();
        r.feed(h.encode());
        Random rnd = new Random(7);
        byte[] junk = new byte[1 << 16];
        long t0 = System.nanoTime();
        int packets = 0;
        for (int i = 0; i < 64; i++) { // 4 MiB of noise, many false sync words among it
            rnd.nextBytes(junk);
            for (int k = 0; k < junk.length; k += 97) {
                junk[k] = (byte) 0xA5;
                junk[k + 1] = 0x5A;
            }
            packets += r.feed(junk).size();
        }
        r.finish();
        assertEquals(0, packets);
        assertEquals(1, r.events().size()); // one damaged region, one event
        assertEquals(StreamHeader.HEADER_SIZE, r.events().get(0).offset()); // where the noise starts
        assertTrue("scanning 4 MiB took too long", System.nanoTime() - t0 < 10_000_000_000L);
    }

    @Test
    public void aByteSplitSyncWordIsFoundAcrossFeeds() throws TqcException {
        StreamHeader h = header(1, 2, 4, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        byte[] good = TestStreams.stream(h, TestStreams.randomCodes(h, 8, 8));
        byte[] data = new byte[good.length + 3];
        int firstPacket = StreamHeader.HEADER_SIZE;
        System.arraycopy(good, 0, data, 0, firstPacket);
        data[firstPacket] = 1;
        data[firstPacket + 1] = 2;
        data[firstPacket + 2] = 3; // garbage, then the packets
        System.arraycopy(good, firstPacket, data, firstPacket + 3, good.length - firstPacket);
        for (int cut = firstPacket; cut < firstPacket + 6; cut++) {
            StreamReader r = new StreamReader.Builder().strict(false).build();
            List<Packet> ps = Vectors.feedAll(r, data, new int[] {cut});
            assertEquals("cut at " + cut, 2, ps.size());
            assertEquals(firstPacket + 3, ps.get(0).offset());
            assertEquals(1, r.events().size());
        }
    }

    @Test
    public void codeOutOfRangeInAWideCodebook() throws TqcException {
        // codebook_size < 2^bits: a code >= codebook_size with a good CRC is a writer bug
        StreamHeader h = new StreamHeader.Builder(1, 1, FP).bits(4).codebookSize(10).framesPerPacket(2).build();
        int[][][] codes = {{{3, 12, 5, 6}}};
        byte[] data = concat(h.encode(), TestStreams.packet(h, 0, Vectors.slice(codes, 0, 2)),
                TestStreams.packet(h, 1, Vectors.slice(codes, 2, 4)));
        TqcException e = expectError(() -> Vectors.feedAll(StreamReader.strict(), data, new int[0]));
        assertEquals("code_out_of_range", e.kind());
        assertEquals(0, e.packet());
        StreamReader r = new StreamReader.Builder().strict(false).build();
        List<Packet> ps = Vectors.feedAll(r, data, new int[0]);
        assertEquals(1, ps.size());
        assertEquals(1, ps.get(0).sequence());
        assertEquals(0, ps.get(0).lostBefore()); // the dropped packet still counts as received
    }

    @Test
    public void truncatedHeaderWaitsUntilTheEnd() throws TqcException {
        StreamReader r = StreamReader.strict();
        byte[] h = header(1, 1, 1, 0).encode();
        assertTrue(r.feed(h, 0, 51).isEmpty());
        assertNull(r.header());
        TqcException e = expectError(r::finish);
        assertEquals("truncated_header", e.kind());
        assertEquals(0, e.offset());
    }

    @Test
    public void invalidFeedArguments() throws TqcException {
        StreamReader r = StreamReader.strict();
        assertEquals("invalid_argument", expectError(() -> r.feed(new byte[4], 2, 3)).kind());
        assertEquals("invalid_argument", expectError(() -> r.feed(null, 0, 0)).kind());
        try {
            new TqcException("no_such_kind", "x");
            fail("undocumented kinds are refused");
        } catch (IllegalArgumentException expected) {
            // good
        }
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
