package org.tqcodec.stream.player;

import org.junit.Test;
import org.tqcodec.stream.Packet;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.StreamReader;
import org.tqcodec.stream.TestStreams;
import org.tqcodec.stream.TqcException;
import org.tqcodec.stream.Vectors;
import org.tqcodec.stream.json.Json;

import java.io.ByteArrayInputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

/**
 * The decode loop with a fake decoder whose every sample names its channel, the chunk index
 * (read from the state it was handed) and the code of its frame, so a dropped, reordered or
 * stateless chunk, or a channel mix-up, shows in the audio.
 */
public class DecodeLoopTest {
    static final int HOP = 4;
    static final byte[] FP = TestStreams.fingerprint(3);

    /** sample = channelTag·2^20 + chunk·2^11 + code·2 + (i mod 2): exact in a float. */
    static float sample(int channel, int chunk, int code, int i) {
        return channel * (1 << 20) + chunk * (1 << 11) + code * 2 + (i % 2);
    }

    /** State {tag, chunks decoded}; the first initState() is channel 0, the next channel 1. */
    static final class FakeDecoder implements ChunkDecoder {
        final int k;
        int channelsSeen;
        boolean reuseOutput;
        RuntimeException failAt;
        int calls;
        final List<int[]> fedCodeRow0 = new ArrayList<>(); // codes[0] of each call
        private final float[] shared;

        FakeDecoder(int k) {
            this.k = k;
            shared = new float[k * HOP];
        }

        @Override
        public int channels() {
            return 1;
        }

        @Override
        public float[][] initState() {
            return new float[][] {{channelsSeen++, 0f}};
        }

        @Override
        public DecodedChunk decode(int[][][] channelCodes, float[][] state) {
            int[][] codes = channelCodes[0];
            if (failAt != null && calls == 3) {
                throw failAt;
            }
            calls++;
            int tag = (int) state[0][0], chunk = (int) state[0][1];
            fedCodeRow0.add(codes[0].clone());
            float[] audio = reuseOutput ? shared : new float[k * HOP];
            for (int f = 0; f < k; f++) {
                for (int i = 0; i < HOP; i++) {
                    audio[f * HOP + i] = sample(tag, chunk, codes[0][f], i);
                }
            }
            return new DecodedChunk(new float[][] {audio}, new float[][] {{tag, chunk + 1}});
        }
    }

    static final class ListSource implements PacketSource {
        final StreamHeader header;
        final ArrayDeque<Packet> packets;
        int events;

        ListSource(StreamHeader header, List<Packet> packets) {
            this.header = header;
            this.packets = new ArrayDeque<>(packets);
        }

        @Override
        public StreamHeader header() {
            return header;
        }

        @Override
        public Packet next() throws TqcException, InterruptedException {
            return packets.poll();
        }

        @Override
        public int eventCount() {
            return events;
        }
    }

    /** Collects what it is given; takes at most {@code perCall} frames each time. */
    static final class FakeSink implements AudioSink {
        final int channels;
        int perCall = Integer.MAX_VALUE / 4;
        float[] got = new float[0];
        int n;

        FakeSink(int channels) {
            this.channels = channels;
        }

        @Override
        public int channels() {
            return channels;
        }

        @Override
        public int writableFrames() {
            return perCall;
        }

        @Override
        public int write(float[] interleaved, int offset, int samples) {
            assertTrue(samples <= perCall * channels && samples % channels == 0);
            if (n + samples > got.length) {
                got = Arrays.copyOf(got, Math.max(2 * got.length, n + samples));
            }
            System.arraycopy(interleaved, offset, got, n, samples);
            n += samples;
            return samples;
        }

        float[] samples() {
            return Arrays.copyOf(got, n);
        }
    }

    /**
     * The oracle: frames[c][f] codes of codebook 0 per channel (concealed frames included),
     * times the concealment gains, chunks of k, zero-padded at the end, cut to {@code limit}
     * samples, interleaved.
     */
    static float[] expected(int[][] frames, float[] gains, int k, long limit, int outChannels) {
        int channels = frames.length, total = frames[0].length;
        int n = (int) Math.min((long) total * HOP, limit);
        float[] out = new float[n * outChannels];
        for (int s = 0; s < n; s++) {
            int f = s / HOP;
            for (int o = 0; o < outChannels; o++) {
                int c = channels == 1 ? 0 : o;
                out[s * outChannels + o] = gains[s] * sample(c, f / k, frames[c][f], s % HOP);
            }
        }
        return out;
    }

    /** Gain 1 everywhere: no concealment. */
    static float[] unity(int frames, int hop) {
        float[] g = new float[frames * hop];
        Arrays.fill(g, 1f);
        return g;
    }

    /**
     * The gains docs/bitstream.md prescribes for {@code frames} output frames with concealed
     * runs {@code gaps} = {first frame, frame count}, written from the spec's formulas: a gap of
     * G frames fades out by 0.5·(1 + cos(π·n/L)), L = min(256, G·hop), from the gain of the
     * sample before it (0 if none), and is silent after; the samples after it fade in by
     * 0.5·(1 − cos(π·m/256)) for m < 256.
     */
    static float[] specGains(int frames, int hop, int[]... gaps) {
        float[] g = new float[frames * hop];
        float before = 0f;
        long sinceGap = 1 << 30; // no gap yet: no fade-in
        int s = 0;
        for (int gi = 0; gi <= gaps.length; gi++) {
            int end = gi < gaps.length ? gaps[gi][0] * hop : g.length;
            for (; s < end; s++, sinceGap++) {
                g[s] = sinceGap < 256 ? (float) (0.5 * (1 - Math.cos(Math.PI * sinceGap / 256.0))) : 1f;
                before = g[s];
            }
            if (gi < gaps.length) {
                int len = Math.min(256, gaps[gi][1] * hop);
                for (int n = 0; n < gaps[gi][1] * hop; n++, s++) {
                    g[s] = n < len ? before * (float) (0.5 * (1 + Math.cos(Math.PI * n / len))) : 0f;
                }
                before = 0f;
                sinceGap = 0;
            }
        }
        return g;
    }

    static StreamHeader header(int channels, int nQ, int fpp, long totalSamples) throws TqcException {
        return new StreamHeader.Builder(channels, nQ, FP).hopLength(HOP).framesPerPacket(fpp)
                .codebookSize(500).totalSamples(totalSamples).build();
    }

    /** Packets of codes[C][nQ][T], the i-th with sequence seqs[i] and lostBefore lost[i]. */
    static List<Packet> packets(int[][][] codes, int fpp, int[] seqs, int[] lost) {
        List<Packet> out = new ArrayList<>();
        for (int i = 0; i < seqs.length; i++) {
            int from = seqs[i] * fpp, to = Math.min(codes[0][0].length, from + fpp);
            out.add(new Packet(seqs[i], 0, Vectors.slice(codes, from, to), lost[i]));
        }
        return out;
    }

    static float[] drain(RingBuffer ring) {
        float[] all = new float[ring.available()];
        ring.read(all, 0, all.length);
        assertTrue(ring.isDrained());
        return all;
    }

    @Test
    public void decodesEveryChunkInOrderCarryingEachChannelsState() throws Exception {
        StreamHeader h = header(2, 3, 8, 37 * HOP - 2); // 37 frames, the last one cut short
        int[][][] codes = TestStreams.randomCodes(h, 37, 1);
        FakeDecoder dec = new FakeDecoder(6);
        RingBuffer ring = new RingBuffer(1 << 12);
        DecodeLoop loop = new DecodeLoop.Builder(new ListSource(h, packets(codes, 8, new int[] {0, 1, 2, 3, 4},
                new int[5])), dec, ring, 6, HOP).build();
        loop.run();
        assertNull(loop.failure());
        assertTrue(loop.isDone());
        float[] want = expected(new int[][] {codes[0][0], codes[1][0]}, unity(37, HOP), 6, 37 * HOP - 2, 2);
        assertArrayEquals(want, drain(ring), 0f);
        PlayerStats s = loop.stats();
        assertEquals(7, s.chunksDecoded()); // ceil(37 / 6)
        assertEquals(5, s.packetsDecoded());
        assertEquals(37, s.decodedFrames());
        assertEquals(0, s.damagedPackets());
        assertEquals(14, dec.calls);
        // the last chunk was padded with code 0
        int[] lastFed = dec.fedCodeRow0.get(13);
        assertArrayEquals(new int[] {codes[1][0][36], 0, 0, 0, 0, 0}, lastFed);
        assertTrue(s.realTimeFactor() >= 0);
        assertEquals(37.0 * HOP / 44100, s.audioSeconds(), 1e-12);
    }

    @Test
    public void aDecoderThatReusesItsOutputArrayIsCopiedInTime() throws Exception {
        StreamHeader h = header(2, 1, 4, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        int[][][] codes = TestStreams.randomCodes(h, 16, 2);
        FakeDecoder dec = new FakeDecoder(4);
        dec.reuseOutput = true;
        RingBuffer ring = new RingBuffer(1 << 10);
        new DecodeLoop.Builder(new ListSource(h, packets(codes, 4, new int[] {0, 1, 2, 3}, new int[4])), dec, ring,
                4, HOP).build().run();
        assertArrayEquals(expected(new int[][] {codes[0][0], codes[1][0]}, unity(16, HOP), 4, Long.MAX_VALUE, 2),
                drain(ring), 0f);
    }

    /** Codes row 0 of channel c with packet `lostSeq` replaced by repeats of the frame before it. */
    static int[] concealedRow(int[] row, int fpp, int lostSeq) {
        int[] out = row.clone();
        int start = lostSeq * fpp;
        int last = start > 0 ? row[start - 1] : 0;
        for (int f = start; f < Math.min(row.length, start + fpp); f++) {
            out[f] = last;
        }
        return out;
    }

    @Test
    public void aLostPacketIsConcealedAndTheStateCarriedThrough() throws Exception {
        StreamHeader h = header(2, 2, 8, 40 * HOP);
        int[][][] codes = TestStreams.randomCodes(h, 40, 3);
        FakeDecoder dec = new FakeDecoder(6);
        RingBuffer ring = new RingBuffer(1 << 12);
        ListSource src = new ListSource(h, packets(codes, 8, new int[] {0, 1, 3, 4}, new int[] {0, 0, 1, 0}));
        src.events = 1;
        DecodeLoop loop = new DecodeLoop.Builder(src, dec, ring, 6, HOP).build();
        loop.run();
        assertNull(loop.failure());
        int[][] rows = {concealedRow(codes[0][0], 8, 2), concealedRow(codes[1][0], 8, 2)};
        float[] gains = specGains(40, HOP, new int[] {16, 8});
        assertEquals(1f, gains[16 * HOP], 0f); // the fade-out starts at full level ...
        assertEquals(0f, gains[24 * HOP], 0f); // ... and the fade-in at silence
        assertTrue(gains[24 * HOP + 1] > 0 && gains[40 * HOP - 1] < 1);
        assertArrayEquals(expected(rows, gains, 6, 40 * HOP, 2), drain(ring), 0f);
        // the decoder saw the last good frame repeated (state continuity), not zeros
        int[] fed = new int[0];
        for (int i = 0; i < dec.fedCodeRow0.size(); i += 2) {
            int[] chunk = dec.fedCodeRow0.get(i);
            int old = fed.length;
            fed = Arrays.copyOf(fed, old + chunk.length);
            System.arraycopy(chunk, 0, fed, old, chunk.length);
        }
        assertArrayEquals(rows[0], Arrays.copyOf(fed, 40));
        PlayerStats s = loop.stats();
        assertEquals(1, s.damagedPackets());
        assertEquals(8, s.concealedFrames());
        assertEquals(4, s.packetsDecoded());
        assertEquals(1, s.streamEvents());
        assertEquals(7, s.chunksDecoded());
    }

    @Test
    public void aHoleInTheSequenceNumbersWithoutLostBeforeIsNotConcealed() throws Exception {
        // as after a code_out_of_range packet, which the reader drops: the policy plays what is
        // delivered and conceals only what lost_before says (the code_out_of_range vector's plan)
        StreamHeader h = header(1, 1, 4, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        int[][][] codes = TestStreams.randomCodes(h, 16, 4);
        RingBuffer ring = new RingBuffer(1 << 10);
        DecodeLoop loop = new DecodeLoop.Builder(new ListSource(h, packets(codes, 4, new int[] {0, 1, 3},
                new int[3])), new FakeDecoder(4), ring, 4, HOP).outputChannels(1).build();
        loop.run();
        assertEquals(0, loop.stats().damagedPackets());
        assertEquals(0, loop.stats().concealedFrames());
        int[] row = new int[12];
        System.arraycopy(codes[0][0], 0, row, 0, 8);
        System.arraycopy(codes[0][0], 12, row, 8, 4);
        assertArrayEquals(expected(new int[][] {row}, unity(12, HOP), 4, Long.MAX_VALUE, 1), drain(ring), 0f);
    }

    @Test
    public void aGapLongerThanTheLimitGetsAFadeTailAndAResetAndNoInsertedTime() throws Exception {
        // 4 frames per packet, hop 4: a 65-packet gap is 260 frames > 256; the tail is 256/4 = 64 frames
        StreamHeader h = header(1, 1, 4, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        int[][][] codes = TestStreams.randomCodes(h, 8, 6);
        Packet first = new Packet(0, 0, Vectors.slice(codes, 0, 4), 0);
        Packet after = new Packet(66, 0, Vectors.slice(codes, 4, 8), 65);
        RingBuffer ring = new RingBuffer(1 << 12);
        FakeDecoder dec = new FakeDecoder(4);
        DecodeLoop loop = new DecodeLoop.Builder(new ListSource(h, Arrays.asList(first, after)), dec, ring, 4, HOP)
                .outputChannels(1).build();
        loop.run();
        assertNull(loop.failure());
        PlayerStats st = loop.stats();
        assertEquals(65, st.damagedPackets());
        assertEquals(64, st.concealedFrames());
        assertEquals(1, st.decoderResets());
        assertEquals(4 + 64 + 4, st.decodedFrames());
        float[] got = drain(ring);
        assertEquals((4 + 64 + 4) * HOP, got.length);
        float[] gains = specGains(72, HOP, new int[] {4, 64});
        int[] row = new int[72];
        System.arraycopy(codes[0][0], 0, row, 0, 4);
        Arrays.fill(row, 4, 68, codes[0][0][3]); // the tail repeats the last frame
        System.arraycopy(codes[0][0], 4, row, 68, 4);
        for (int s = 0; s < got.length; s++) {
            int f = s / HOP;
            // after the reset the fake's state starts again: a fresh tag (1) and chunk count 0
            float want = gains[s] * (f < 68 ? sample(0, f / 4, row[f], s % HOP) : sample(1, (f - 68) / 4, row[f], s % HOP));
            assertEquals("sample " + s, want, got[s], 0f);
        }
        assertEquals(2, dec.channelsSeen); // initState again at the reset
    }

    @Test
    public void monoIsCopiedToBothOutputChannels() throws Exception {
        StreamHeader h = header(1, 2, 5, 12 * HOP);
        int[][][] codes = TestStreams.randomCodes(h, 12, 5);
        RingBuffer ring = new RingBuffer(1 << 10);
        DecodeLoop loop = new DecodeLoop.Builder(new ListSource(h, packets(codes, 5, new int[] {0, 1, 2}, new int[3])),
                new FakeDecoder(4), ring, 4, HOP).build();
        loop.run();
        assertArrayEquals(expected(new int[][] {codes[0][0]}, unity(12, HOP), 4, 12 * HOP, 2), drain(ring), 0f);
    }

    @Test
    public void aDamagedVectorPlaysThroughTheRealReader() throws Exception {
        // corrupt/bad_crc.tqc: packet 1 of corrupt_base damaged; the player conceals its 8 frames
        byte[] data = Vectors.bytes("corrupt/bad_crc.tqc");
        Map<String, Object> ref = Vectors.json("valid/corrupt_base.json");
        int[][][] codes = Vectors.codes(ref);
        StreamHeader h = Vectors.header(Json.asObject(ref.get("header"), "header"));
        StreamReader reader = new StreamReader.Builder().strict(false).expectedFingerprint(h.fingerprint()).build();
        ReaderPacketSource src = new ReaderPacketSource(new ByteArrayInputStream(data), reader, 7);
        int k = 16;
        RingBuffer ring = new RingBuffer(1 << 16);
        FakeDecoder dec = new FakeDecoder(k);
        // corrupt_base has hop 64: run the fake at the stream's hop through a scaled oracle
        DecodeLoop loop = new DecodeLoop.Builder(src, new ScaledHop(dec, (int) h.hopLength()), ring, k,
                (int) h.hopLength()).outputChannels(1).build();
        loop.run();
        assertNull(loop.failure());
        int frames = codes[0][0].length;
        float[] gains = specGains(frames, (int) h.hopLength(), new int[] {8, 8});
        int[] row = concealedRow(codes[0][0], 8, 1);
        float[] got = drain(ring);
        long limit = h.totalSamples();
        assertEquals(limit, got.length);
        int hop = (int) h.hopLength();
        for (int s = 0; s < got.length; s++) {
            int f = s / hop;
            float want = gains[s] * sample(0, f / k, row[f], s % hop);
            if (want != got[s]) {
                throw new AssertionError("sample " + s + ": expected " + want + ", got " + got[s]);
            }
        }
        assertEquals(1, loop.stats().damagedPackets());
        assertEquals(2, loop.stats().streamEvents()); // bad_crc, then sequence_gap
        assertEquals(4, loop.stats().packetsDecoded());
    }

    /**
     * Another decoder's channels, state and calls, with the audio of each chunk it decodes replaced
     * by {@link #audio} (given the call's codes and state, and what the inner decoder returned).
     */
    abstract static class AudioRewritten implements ChunkDecoder {
        final ChunkDecoder inner;

        AudioRewritten(ChunkDecoder inner) {
            this.inner = inner;
        }

        abstract float[][] audio(int[][][] codes, float[][] state, DecodedChunk decoded);

        @Override
        public int channels() {
            return inner.channels();
        }

        @Override
        public float[][] initState() {
            return inner.initState();
        }

        @Override
        public DecodedChunk decode(int[][][] codes, float[][] state) {
            DecodedChunk d = inner.decode(codes, state);
            return new DecodedChunk(audio(codes, state, d), d.state);
        }
    }

    /** The fake decoder at another hop (same formula per sample). */
    static final class ScaledHop extends AudioRewritten {
        final FakeDecoder fake;
        final int hop;

        ScaledHop(FakeDecoder fake, int hop) {
            super(fake);
            this.fake = fake;
            this.hop = hop;
        }

        @Override
        float[][] audio(int[][][] codes, float[][] state, DecodedChunk decoded) {
            float[] audio = new float[fake.k * hop];
            for (int s = 0; s < audio.length; s++) {
                audio[s] = sample((int) state[0][0], (int) state[0][1], codes[0][0][s / hop], s % hop);
            }
            return new float[][] {audio};
        }
    }

    /** Delivers the first {@code before} packets, then blocks until released. */
    static final class StallingSource implements PacketSource {
        final ListSource inner;
        final int before;
        final CountDownLatch release = new CountDownLatch(1);
        int given;

        StallingSource(ListSource inner, int before) {
            this.inner = inner;
            this.before = before;
        }

        @Override
        public StreamHeader header() {
            return inner.header();
        }

        @Override
        public Packet next() throws TqcException, InterruptedException {
            if (given++ == before) {
                release.await();
            }
            return inner.next();
        }

        @Override
        public int eventCount() {
            return 0;
        }
    }

    private static void pumpUntil(PlaybackPump pump, java.util.function.BooleanSupplier done, long timeoutMs)
            throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!done.getAsBoolean()) {
            if (pump.pump() == 0) {
                Thread.sleep(1);
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out");
            }
        }
    }

    @Test(timeout = 30_000)
    public void underrunsAreCountedWhenTheSourceStallsAndNothingIsLost() throws Exception {
        StreamHeader h = header(2, 2, 8, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        int[][][] codes = TestStreams.randomCodes(h, 64, 6);
        int[] seqs = {0, 1, 2, 3, 4, 5, 6, 7};
        StallingSource src = new StallingSource(new ListSource(h, packets(codes, 8, seqs, new int[8])), 2);
        RingBuffer ring = new RingBuffer(64); // small: the producer also waits for room
        DecodeLoop loop = new DecodeLoop.Builder(src, new FakeDecoder(6), ring, 6, HOP).build();
        FakeSink sink = new FakeSink(2);
        sink.perCall = 5;
        PlaybackPump pump = new PlaybackPump(ring, sink, loop.stats(), 4, 7);
        Thread t = new Thread(loop, "decode");
        t.start();
        try {
            pumpUntil(pump, () -> loop.stats().underruns() >= 1, 10_000);
            assertEquals(1, loop.stats().underruns()); // one stall counts once
            assertTrue(pump.isBuffering());
            src.release.countDown();
            pumpUntil(pump, pump::isFinished, 10_000);
        } finally {
            src.release.countDown();
            t.join(5_000);
        }
        assertNull(loop.failure());
        assertTrue(loop.stats().underruns() >= 1);
        float[] want = expected(new int[][] {codes[0][0], codes[1][0]}, unity(64, HOP), 6, Long.MAX_VALUE, 2);
        assertArrayEquals(want, sink.samples(), 0f);
        assertEquals(64 * HOP, loop.stats().playedFrames());
    }

    @Test(timeout = 30_000)
    public void noUnderrunWhenTheBufferNeverRunsDry() throws Exception {
        StreamHeader h = header(2, 2, 8, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        int[][][] codes = TestStreams.randomCodes(h, 40, 7);
        RingBuffer ring = new RingBuffer(1 << 12);
        DecodeLoop loop = new DecodeLoop.Builder(new ListSource(h, packets(codes, 8, new int[] {0, 1, 2, 3, 4},
                new int[5])), new FakeDecoder(6), ring, 6, HOP).build();
        loop.run(); // everything decoded before playback starts
        FakeSink sink = new FakeSink(2);
        sink.perCall = 3;
        PlaybackPump pump = new PlaybackPump(ring, sink, loop.stats(), 1000, 16);
        assertTrue(loop.stats().bufferedFrames() == 40 * HOP);
        pumpUntil(pump, pump::isFinished, 10_000);
        assertEquals(0, loop.stats().underruns());
        assertEquals(0, loop.stats().bufferedFrames());
        assertArrayEquals(expected(new int[][] {codes[0][0], codes[1][0]}, unity(40, HOP), 6, Long.MAX_VALUE, 2),
                sink.samples(), 0f);
    }

    @Test(timeout = 30_000)
    public void stopEndsTheLoopAndClosesTheRing() throws Exception {
        final StreamHeader h = header(1, 1, 4, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        PacketSource endless = new PacketSource() {
            int seq;

            @Override
            public StreamHeader header() {
                return h;
            }

            @Override
            public Packet next() {
                return new Packet(seq++ & 0xFFFF, 0, new int[][][] {{{1, 2, 3, 4}}}, 0);
            }

            @Override
            public int eventCount() {
                return 0;
            }
        };
        RingBuffer ring = new RingBuffer(256);
        DecodeLoop loop = new DecodeLoop.Builder(endless, new FakeDecoder(4), ring, 4, HOP).build();
        Thread t = new Thread(loop, "decode");
        t.start();
        while (ring.free() > 0) {
            Thread.sleep(1); // the ring fills and the producer waits for room
        }
        loop.stop();
        t.join(10_000);
        assertTrue(loop.isDone());
        assertTrue(ring.isClosed());
        assertNull(loop.failure());
    }

    @Test
    public void errorsEndTheLoopAndAreKept() throws Exception {
        StreamHeader h = header(2, 1, 4, StreamHeader.UNKNOWN_TOTAL_SAMPLES);
        int[][][] codes = TestStreams.randomCodes(h, 16, 8);
        FakeDecoder dec = new FakeDecoder(4);
        dec.failAt = new IllegalStateException("backend crashed");
        RingBuffer ring = new RingBuffer(1 << 10);
        DecodeLoop loop = new DecodeLoop.Builder(new ListSource(h, packets(codes, 4, new int[] {0, 1, 2, 3},
                new int[4])), dec, ring, 4, HOP).build();
        loop.run();
        assertSame(dec.failAt, loop.failure());
        assertTrue(ring.isClosed());
        assertEquals(1, loop.stats().chunksDecoded()); // chunk 0 made it (2 calls), chunk 1 did not

        // a strict reader's stream error ends the loop with that error
        byte[] bad = Vectors.bytes("corrupt/bad_crc.tqc");
        ReaderPacketSource src = new ReaderPacketSource(new ByteArrayInputStream(bad), StreamReader.strict());
        RingBuffer ring2 = new RingBuffer(1 << 16);
        DecodeLoop strict = new DecodeLoop.Builder(src, new FakeDecoder(8), ring2, 8, 64).outputChannels(1).build();
        strict.run();
        assertEquals("bad_crc", ((TqcException) strict.failure()).kind());
        assertTrue(ring2.isClosed());

        // a stream the model cannot decode is refused before any decoding
        DecodeLoop wrong = new DecodeLoop.Builder(new ListSource(h, new ArrayList<Packet>()), new FakeDecoder(16),
                new RingBuffer(16), Manifest.parse(ManifestTest.EXAMPLE)).build();
        wrong.run();
        assertEquals("invalid_argument", ((TqcException) wrong.failure()).kind());
    }

    @Test
    public void shortPcmConversion() {
        assertEquals(0, ShortPcmSink.toShort(0f));
        assertEquals(32767, ShortPcmSink.toShort(1f));
        assertEquals(32767, ShortPcmSink.toShort(3f));
        assertEquals(-32767, ShortPcmSink.toShort(-1.5f));
        assertEquals(0, ShortPcmSink.toShort(Float.NaN));
        assertEquals(16384, ShortPcmSink.toShort(0.5f));
        final short[][] seen = new short[1][];
        ShortPcmSink sink = new ShortPcmSink() {
            @Override
            protected int writeShorts(short[] interleaved, int offset, int samples) {
                seen[0] = Arrays.copyOfRange(interleaved, offset, offset + samples);
                return samples;
            }

            @Override
            public int channels() {
                return 2;
            }

            @Override
            public int writableFrames() {
                return 10;
            }
        };
        assertEquals(4, sink.write(new float[] {9f, 0.25f, -0.25f, 0f, 1f}, 1, 4));
        assertArrayEquals(new short[] {8192, -8192, 0, 32767}, seen[0]);
    }
}
