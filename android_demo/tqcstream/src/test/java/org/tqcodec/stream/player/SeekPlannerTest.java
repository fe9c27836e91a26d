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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** The seek rule of docs/bitstream.md on the shared vectors, and a session that plays from a seek. */
public class SeekPlannerTest {
    @Test
    public void theRuleOnAHeader() throws TqcException {
        // hop 64 at 44.1 kHz, 32 frames per packet, 1000 frames
        StreamHeader h = new StreamHeader.Builder(1, 10, TestStreams.fingerprint(1)).hopLength(64)
                .framesPerPacket(32).totalSamples(1000 * 64).build();
        SeekPlanner.Plan p = SeekPlanner.plan(h, 1.0, 64);
        assertEquals(689, p.targetFrame);              // floor(44100 / 64)
        assertEquals(19, p.startPacket);               // floor((689 − 64) / 32)
        assertEquals(608, p.firstFrame);
        assertEquals((689 - 608) * 64, p.dropSamples);  // the pre-roll: at least 64 frames
        assertEquals(689 * 64, p.startSample);
        assertEquals(h.packetOffset(19), p.byteOffset);
        SeekPlanner.Plan start = SeekPlanner.plan(h, 0.5e-3, 64); // inside the pre-roll of frame 0
        assertEquals(0, start.startPacket);
        assertEquals(0, start.targetFrame);
        assertEquals(0, start.dropSamples);
        assertEquals(999, SeekPlanner.plan(h, 999.5 * 64 / 44100, 64).targetFrame); // the last frame
        for (double bad : new double[] {-3, Double.NaN, Double.POSITIVE_INFINITY, 1000.0 * 64 / 44100, 3600}) {
            try {
                SeekPlanner.plan(h, bad, 64);
                fail("planned a seek to " + bad + " s");
            } catch (TqcException e) {
                assertEquals("invalid_argument", e.kind()); // negative, non-finite, at or past the end
            }
        }
        assertEquals(SeekPlanner.plan(h, 1.0, SeekPlanner.SEEK_PREROLL_FRAMES).startPacket,
                SeekPlanner.plan(h, 1.0).startPacket);
    }

    /**
     * Hostile input on a live stream (no total_samples, so no end to refuse at): a seek whose
     * frame, first sample or byte offset does not fit in a long is {@code invalid_argument}, not a
     * silently wrapped (negative) offset.
     */
    @Test
    public void farSeeksOnALiveStreamAreRefusedNotWrapped() throws TqcException {
        StreamHeader live = new StreamHeader.Builder(1, 10, TestStreams.fingerprint(1)).hopLength(64)
                .framesPerPacket(32).build(); // 369-byte packets
        assertFalse(live.hasTotalSamples());
        assertEquals(369, live.packetSize());
        // 1e15 s: the frame fits, f · 64 does not; the rest are past a long's frames
        for (double bad : new double[] {1e300, Double.MAX_VALUE, 1e19, 0x1p63, 1e17, 1e15}) {
            assertRefused(live, bad);
        }
        // large but valid: 10^9 s (about 32 years) into a live stream
        SeekPlanner.Plan far = SeekPlanner.plan(live, 1e9);
        assertEquals(689_062_500_000L, far.targetFrame); // 10^9 · 44100 / 64
        assertEquals((689_062_500_000L - SeekPlanner.SEEK_PREROLL_FRAMES) / 32, far.startPacket);
        assertEquals(52 + (689_062_500_000L - SeekPlanner.SEEK_PREROLL_FRAMES) / 32 * 369, far.byteOffset);
        assertEquals(689_062_500_000L * 64, far.startSample);
        assertEquals(689_062_500_000L - far.startPacket * 32, far.dropSamples / 64);

        // hop 1, one frame per packet (21 bytes): f · hop fits, so the byte offset is what overflows
        StreamHeader dense = new StreamHeader.Builder(1, 10, TestStreams.fingerprint(1)).hopLength(1)
                .framesPerPacket(1).build();
        assertEquals(21, dense.packetSize());
        for (double bad : new double[] {1e14, 1e15, 1e300, Double.MAX_VALUE}) { // 1e14: frame 4.41e18 fits
            assertRefused(dense, bad);
        }
        SeekPlanner.Plan ok = SeekPlanner.plan(dense, 1e12);
        assertEquals(44_100_000_000_000_000L - SeekPlanner.SEEK_PREROLL_FRAMES, ok.startPacket);
        assertEquals(52 + (44_100_000_000_000_000L - SeekPlanner.SEEK_PREROLL_FRAMES) * 21, ok.byteOffset);

        // packetOffset itself is checked for every caller
        long maxPacket = (Long.MAX_VALUE - 52) / 21; // the last packet whose offset fits
        assertEquals(52, dense.packetOffset(0));
        assertEquals(52 + maxPacket * 21, dense.packetOffset(maxPacket));
        for (long bad : new long[] {-1, Long.MIN_VALUE, maxPacket + 1, Long.MAX_VALUE}) {
            try {
                long offset = dense.packetOffset(bad);
                fail("packet " + bad + " at byte " + offset);
            } catch (TqcException e) {
                assertEquals("invalid_argument", e.kind());
            }
        }
    }

    private static void assertRefused(StreamHeader h, double seconds) {
        try {
            fail("planned a seek to " + seconds + " s: " + SeekPlanner.plan(h, seconds));
        } catch (TqcException e) {
            assertEquals(seconds + " s: " + e.getMessage(), "invalid_argument", e.kind());
        }
    }

    /** Every valid vector, several targets: the packet at the plan's offset is the plan's packet. */
    @Test
    public void aReaderJoiningAtThePlansOffsetGetsThePlansPacketOnTheSharedVectors() throws TqcException {
        int checked = 0;
        for (Object v : Json.asList(Vectors.manifest().get("valid"), "valid")) {
            Map<String, Object> vec = Vectors.json(Json.asString(v, "valid"));
            StreamHeader h = Vectors.header(Json.asObject(vec.get("header"), "header"));
            byte[] data = Vectors.bytes("valid/" + Json.asString(vec.get("file"), "file"));
            int[][][] ref = Vectors.codes(vec);
            int frames = ref.length == 0 || ref[0].length == 0 ? 0 : ref[0][0].length;
            if (frames == 0) {
                continue; // the empty stream has nothing to seek in
            }
            double duration = (double) frames * h.hopLength() / h.sampleRate();
            for (double t : new double[] {0, duration / 3, duration / 2, duration * 0.99}) {
                SeekPlanner.Plan p = SeekPlanner.plan(h, t, SeekPlanner.SEEK_PREROLL_FRAMES);
                assertTrue(p.targetFrame < frames);
                assertTrue(p.firstFrame <= Math.max(0, p.targetFrame - SeekPlanner.SEEK_PREROLL_FRAMES));
                assertTrue(p.targetFrame - p.firstFrame < SeekPlanner.SEEK_PREROLL_FRAMES + h.framesPerPacket());
                StreamReader r = new StreamReader.Builder().strict(false).header(h).firstSequence(null)
                        .offset(p.byteOffset).build();
                List<Packet> got = Vectors.feedAll(r, Arrays.copyOfRange(data, (int) p.byteOffset, data.length),
                        new int[0]);
                assertTrue(r.events().isEmpty());
                Packet first = got.get(0);
                assertEquals(p.startPacket, first.sequence());
                int[][][] want = Vectors.slice(ref, (int) p.firstFrame, (int) p.firstFrame + first.frames());
                for (int c = 0; c < want.length; c++) {
                    for (int q = 0; q < want[c].length; q++) {
                        assertArrayEquals(want[c][q], first.codes()[c][q]);
                    }
                }
                checked++;
            }
        }
        assertTrue("checked " + checked, checked >= 40);
    }

    /** With a decoder whose audio depends on the codes only, a seek plays exactly the tail of the whole. */
    @Test(timeout = 20_000)
    public void aSessionPlaysFromTheSeekTargetDroppingThePreRoll() throws Exception {
        int frames = 300;
        StreamHeader h = PlayerSessionTest.header(2, frames);
        int[][][] codes = TestStreams.randomCodes(h, frames, 9);
        byte[] bytes = TestStreams.stream(h, codes);
        double t = 150.5 * PlayerSessionTest.HOP / 44100; // frame 150
        SeekPlanner.Plan plan = SeekPlanner.plan(h, t, 20);
        assertEquals(150, plan.targetFrame);
        assertEquals(16, plan.startPacket); // floor(130 / 8)
        PlayerSessionTest.Device dev = new PlayerSessionTest.Device(2, 50);
        PlayerSessionTest.Ending end = new PlayerSessionTest.Ending();
        byte[] tail = Arrays.copyOfRange(bytes, (int) plan.byteOffset, bytes.length);
        PlayerSession s = PlayerSessionTest.session(new ByteArrayInputStream(tail), new PlayerSessionTest.CodeEcho(),
                PlayerSessionTest.FP, dev, end).seek(h, plan).build();
        assertEquals(150.0 * PlayerSessionTest.HOP / 44100, s.positionSeconds(), 1e-12);
        s.start();
        assertTrue(s.awaitEnd(20, TimeUnit.SECONDS));
        assertNull(end.failure.get());
        float[] whole = PlayerSessionTest.expected(codes, null);
        float[] want = Arrays.copyOfRange(whole, 150 * PlayerSessionTest.HOP * 2, whole.length);
        assertTrue(Arrays.equals(want, dev.samples()));
        assertEquals(frames * PlayerSessionTest.HOP / 44100.0, s.positionSeconds(), 1e-12);
        assertEquals(frames * PlayerSessionTest.HOP / 44100.0, s.durationSeconds(), 1e-12);
        assertFalse(s.isPaused());
    }
}
