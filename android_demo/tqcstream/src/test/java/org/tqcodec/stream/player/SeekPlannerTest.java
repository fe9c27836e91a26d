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
