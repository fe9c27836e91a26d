package org.tqcodec.stream.player;

import org.junit.Test;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TestStreams;
import org.tqcodec.stream.TqcException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

/**
 * The whole player pipeline on the JVM: bytes in (whole, damaged, arriving over a pipe), the
 * real reader and decode loop on the decode thread, a fake model, and a fake audio device on the
 * audio thread that takes a little at a time.
 */
public class PlayerSessionTest {
    static final int HOP = 4, K = 5, NQ = 2, FPP = 8;
    static final byte[] FP = TestStreams.fingerprint(11);

    /** Every sample of frame f of channel c is c·1000 + its codebook-0 code; state counts chunks. */
    static final class CodeEcho implements ChunkDecoder {
        final AtomicInteger calls = new AtomicInteger();
        volatile RuntimeException fail;

        @Override
        public int channels() {
            return 1;
        }

        @Override
        public float[][] initState() {
            return new float[][] {{0f}};
        }

        @Override
        public DecodedChunk decode(int[][][] codes, float[][] state) {
            calls.incrementAndGet();
            if (fail != null) {
                throw fail;
            }
            float[] audio = new float[K * HOP];
            for (int f = 0; f < K; f++) {
                Arrays.fill(audio, f * HOP, (f + 1) * HOP, codes[0][0][f]);
            }
            return new DecodedChunk(new float[][] {audio}, new float[][] {{state[0][0] + 1}});
        }
    }

    /** Takes at most {@code perCall} frames a call; channel c's samples must be c·1000 + code. */
    static final class Device implements AudioOutput {
        final int channels;
        final int perCall;
        float[] got = new float[0];
        volatile int n;
        final AtomicInteger finishes = new AtomicInteger();
        volatile Boolean playedToEnd;
        volatile RuntimeException failOnWrite;
        final CountDownLatch firstWrite = new CountDownLatch(1);

        Device(int channels, int perCall) {
            this.channels = channels;
            this.perCall = perCall;
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
            if (failOnWrite != null) {
                throw failOnWrite;
            }
            assertTrue(samples % channels == 0 && samples <= perCall * channels);
            if (n + samples > got.length) {
                got = Arrays.copyOf(got, Math.max(2 * got.length, n + samples));
            }
            System.arraycopy(interleaved, offset, got, n, samples);
            n += samples;
            firstWrite.countDown();
            return samples;
        }

        @Override
        public void finish(boolean playToEnd) {
            playedToEnd = playToEnd;
            finishes.incrementAndGet();
        }

        float[] samples() {
            return Arrays.copyOf(got, n);
        }
    }

    /** Records the one onEnd call. */
    static final class Ending implements PlayerSession.Listener {
        final AtomicInteger calls = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile boolean stopped;

        @Override
        public void onEnd(PlayerSession session, Throwable f, boolean s) {
            assertFalse(session.isEnded()); // awaitEnd returns only after this
            assertSame(f, session.failure());
            failure.set(f);
            stopped = s;
            calls.incrementAndGet();
        }
    }

    static String manifest(byte[] fingerprint) {
        StringBuilder sha = new StringBuilder();
        for (byte b : fingerprint) {
            sha.append(String.format("%02x", b & 0xff));
        }
        while (sha.length() < 64) {
            sha.append('0');
        }
        return "{\"format\": \"test\", \"precision\": \"fp32\", \"config\": \"toy\", \"checkpoint_sha256\": \"" + sha
                + "\", \"sample_rate\": 44100, \"hop\": " + HOP + ", \"chunk_frames\": " + K
                + ", \"samples_per_chunk\": " + K * HOP + ", \"n_codebooks\": " + NQ + ", \"codebook_size\": 512,"
                + " \"channels\": 1, \"channel_layout\": \"planar\","
                + " \"inputs\": [{\"name\": \"codes\", \"shape\": [1, " + NQ + ", " + K + "], \"dtype\": \"int32\"}],"
                + " \"outputs\": [{\"name\": \"audio\", \"shape\": [1, 1, " + K * HOP + "], \"dtype\": \"float32\"}],"
                + " \"state\": [], \"state_init\": \"zeros\"}";
    }

    static StreamHeader header(int channels, long frames) throws TqcException {
        return new StreamHeader.Builder(channels, NQ, FP).hopLength(HOP).framesPerPacket(FPP).codebookSize(500)
                .totalSamples(frames * HOP).build();
    }

    /** The device's samples for codes [C][NQ][F] times per-sample gains (null: all 1), stereo out. */
    static float[] expected(int[][][] codes, float[] gains) {
        int frames = codes[0][0].length;
        float[] out = new float[frames * HOP * 2];
        for (int s = 0; s < frames * HOP; s++) {
            int f = s / HOP;
            for (int o = 0; o < 2; o++) {
                int c = codes.length == 1 ? 0 : o;
                out[2 * s + o] = (gains == null ? 1f : gains[s]) * codes[c][0][f];
            }
        }
        return out;
    }

    static PlayerSession.Builder session(InputStream in, ChunkDecoder dec, byte[] fp, Device dev, Ending end)
            throws ManifestException {
        return new PlayerSession.Builder(in, dec, Manifest.parse(manifest(fp)), dev).listener(end)
                .ringSeconds(0.01).prebufferSeconds(0.002).maxWriteFrames(64).idleWaitNanos(100_000).name("toy.tqc");
    }

    @Test
    public void playsAWholeStreamThroughBothThreads() throws Exception {
        StreamHeader h = header(2, 203);
        int[][][] codes = TestStreams.randomCodes(h, 203, 1);
        byte[] bytes = TestStreams.stream(h, codes);
        Device dev = new Device(2, 37);
        Ending end = new Ending();
        PlayerSession s = session(new ByteArrayInputStream(bytes), new CodeEcho(), FP, dev, end).build();
        s.start();
        assertTrue(s.awaitEnd(20, TimeUnit.SECONDS));
        assertNull(s.failure());
        assertEquals(1, end.calls.get());
        assertNull(end.failure.get());
        assertFalse(end.stopped);
        assertEquals(1, dev.finishes.get());
        assertEquals(Boolean.TRUE, dev.playedToEnd);
        assertTrue(Arrays.equals(expected(codes, null), dev.samples()));
        PlayerStats st = s.stats();
        assertEquals(26, st.packetsDecoded()); // ceil(203 / 8)
        assertEquals(41, st.chunksDecoded()); // ceil(203 / 5)
        assertEquals(0, st.damagedPackets());
        assertEquals(203, st.playedFrames() / HOP);
        assertEquals(bytes.length, s.bytesReceived());
        assertEquals(h, s.header());
        assertTrue(s.elapsedSeconds() > 0);
    }

    @Test
    public void damagedPacketsAreCountedAndConcealedNotFatal() throws Exception {
        StreamHeader h = header(1, 64);
        int[][][] codes = TestStreams.randomCodes(h, 64, 2);
        byte[] bytes = TestStreams.stream(h, codes);
        int packet2 = StreamHeader.HEADER_SIZE + 2 * h.packetSize();
        bytes[packet2 + StreamHeader.PACKET_HEADER_SIZE + 3] ^= 0x40; // payload bit: CRC fails
        Device dev = new Device(2, 1000);
        Ending end = new Ending();
        PlayerSession s = session(new ByteArrayInputStream(bytes), new CodeEcho(), FP, dev, end).build();
        s.start();
        assertTrue(s.awaitEnd(20, TimeUnit.SECONDS));
        assertNull(end.failure.get());
        assertEquals(1, s.stats().damagedPackets());
        assertEquals(FPP, s.stats().concealedFrames());
        assertTrue(s.stats().streamEvents() >= 1);
        float[] gains = DecodeLoopTest.specGains(64, HOP, new int[] {2 * FPP, FPP});
        int[][][] played = {{DecodeLoopTest.concealedRow(codes[0][0], FPP, 2)}}; // the gap repeats the frame before
        assertTrue(Arrays.equals(expected(played, gains), dev.samples()));
        assertEquals(Boolean.TRUE, dev.playedToEnd);
    }

    @Test
    public void aStreamForOtherWeightsIsRefusedWithItsKind() throws Exception {
        StreamHeader h = header(2, 20);
        byte[] bytes = TestStreams.stream(h, TestStreams.randomCodes(h, 20, 3));
        Device dev = new Device(2, 1000);
        Ending end = new Ending();
        PlayerSession s = session(new ByteArrayInputStream(bytes), new CodeEcho(), TestStreams.fingerprint(12), dev, end)
                .build();
        s.start();
        assertTrue(s.awaitEnd(20, TimeUnit.SECONDS));
        assertTrue(String.valueOf(end.failure.get()), end.failure.get() instanceof TqcException);
        assertEquals("fingerprint_mismatch", ((TqcException) end.failure.get()).kind());
        assertSame(end.failure.get(), s.failure());
        assertEquals(0, dev.n);
        assertEquals(1, dev.finishes.get());
    }

    @Test
    public void playbackStartsBeforeTheStreamHasArrivedAndFinishesWhenItHas() throws Exception {
        StreamHeader h = header(2, 400);
        int[][][] codes = TestStreams.randomCodes(h, 400, 4);
        byte[] bytes = TestStreams.stream(h, codes);
        PipedInputStream in = new PipedInputStream(1 << 16);
        PipedOutputStream net = new PipedOutputStream(in);
        int firstPart = StreamHeader.HEADER_SIZE + 10 * h.packetSize(); // 80 of 400 frames
        net.write(bytes, 0, firstPart);
        net.flush();
        Device dev = new Device(2, 1000);
        Ending end = new Ending();
        PlayerSession s = session(in, new CodeEcho(), FP, dev, end).build();
        s.start();
        assertTrue("nothing played from the first part", dev.firstWrite.await(20, TimeUnit.SECONDS));
        assertFalse(s.isEnded());
        assertEquals(firstPart, s.bytesReceived());
        net.write(bytes, firstPart, bytes.length - firstPart);
        net.close();
        assertTrue(s.awaitEnd(20, TimeUnit.SECONDS));
        assertNull(end.failure.get());
        assertTrue(Arrays.equals(expected(codes, null), dev.samples()));
    }

    @Test
    public void stopEndsASessionBlockedOnTheNetwork() throws Exception {
        StreamHeader h = header(2, 400);
        byte[] bytes = TestStreams.stream(h, TestStreams.randomCodes(h, 400, 5));
        final PipedInputStream in = new PipedInputStream(1 << 16);
        PipedOutputStream net = new PipedOutputStream(in); // kept open: the reader blocks for more
        net.write(bytes, 0, StreamHeader.HEADER_SIZE + 4 * h.packetSize());
        net.flush();
        Device dev = new Device(2, 1000);
        Ending end = new Ending();
        PlayerSession s = session(in, new CodeEcho(), FP, dev, end).build();
        s.start();
        assertTrue(dev.firstWrite.await(20, TimeUnit.SECONDS));
        s.stop();
        assertTrue("stop did not end the session", s.awaitEnd(20, TimeUnit.SECONDS));
        assertEquals(1, end.calls.get());
        assertTrue(end.stopped);
        assertNull(end.failure.get()); // the closed pipe's io_error is the stop, not a failure
        assertEquals(Boolean.FALSE, dev.playedToEnd);
        assertEquals(1, dev.finishes.get());
        try {
            in.read();
            assertTrue("the session did not close its input", false);
        } catch (IOException expected) {
            // closed
        }
    }

    @Test
    public void aFailingModelOrDeviceEndsTheSessionWithItsError() throws Exception {
        StreamHeader h = header(2, 100);
        byte[] bytes = TestStreams.stream(h, TestStreams.randomCodes(h, 100, 6));
        CodeEcho model = new CodeEcho();
        model.fail = new IllegalStateException("model crashed");
        Device dev = new Device(2, 1000);
        Ending end = new Ending();
        PlayerSession s = session(new ByteArrayInputStream(bytes), model, FP, dev, end).build();
        s.start();
        assertTrue(s.awaitEnd(20, TimeUnit.SECONDS));
        assertSame(model.fail, end.failure.get());

        Device broken = new Device(2, 1000);
        broken.failOnWrite = new IllegalStateException("device gone");
        Ending end2 = new Ending();
        PlayerSession s2 = session(new ByteArrayInputStream(bytes), new CodeEcho(), FP, broken, end2).build();
        s2.start();
        assertTrue(s2.awaitEnd(20, TimeUnit.SECONDS));
        assertSame(broken.failOnWrite, end2.failure.get());
        assertEquals(Boolean.FALSE, broken.playedToEnd);
    }

    @Test
    public void aSessionPlaysOnce() throws Exception {
        StreamHeader h = header(1, 8);
        byte[] bytes = TestStreams.stream(h, TestStreams.randomCodes(h, 8, 7));
        PlayerSession s = session(new ByteArrayInputStream(bytes), new CodeEcho(), FP, new Device(2, 100), new Ending())
                .build();
        s.start();
        try {
            s.start();
            assertTrue("started twice", false);
        } catch (IllegalStateException expected) {
            // once only
        }
        assertTrue(s.awaitEnd(20, TimeUnit.SECONDS));
    }
}
