package org.tqcodec.stream.player;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.tqcodec.stream.Packet;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.StreamReader;
import org.tqcodec.stream.TqcException;
import org.tqcodec.stream.Vectors;
import org.tqcodec.stream.json.Json;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;

/**
 * The concealment policy against Python's: for every damage case of tests/vectors/manifest.json,
 * the Java reader and {@link ConcealmentPlanner} give exactly the case's {@code concealment}
 * plan and output length, and the {@link DecodeLoop} really outputs that many frames (cut at
 * total_samples). A case without a plan must be one whose stream is fatal.
 */
@RunWith(Parameterized.class)
public class ConcealmentVectorsTest {
    @Parameters(name = "{0}")
    public static Collection<Object[]> cases() {
        List<Object[]> out = new ArrayList<>();
        for (Map<String, Object> cs : Vectors.cases()) {
            out.add(new Object[] {Json.asString(cs.get("file"), "file"), cs});
        }
        return out;
    }

    private final String file;
    private final Map<String, Object> cs;

    public ConcealmentVectorsTest(String file, Map<String, Object> cs) {
        this.file = file;
        this.cs = cs;
    }

    private StreamReader reader() throws TqcException {
        return Vectors.caseReader(cs, false);
    }

    private static String stepText(Object step) {
        StringBuilder b = new StringBuilder("[");
        for (Object o : Json.asList(step, "plan step")) {
            b.append(b.length() > 1 ? ", " : "").append(o instanceof String ? "\"" + o + "\"" : String.valueOf(o));
        }
        return b.append("]").toString();
    }

    @Test
    public void theReaderAndPlannerGiveThePythonPlan() throws TqcException {
        Object concealment = cs.get("concealment");
        Object fatal = Json.asObject(cs.get("streaming"), "streaming").get("fatal");
        if (concealment == null) {
            assertNotNull(file + " has no concealment plan, so its stream must be fatal", fatal);
            return;
        }
        Map<String, Object> want = Json.asObject(concealment, "concealment");
        StreamReader r = reader();
        List<Packet> packets = Vectors.feedAll(r, Vectors.bytes(file), new int[0]);
        StreamHeader h = r.header();
        ConcealmentPlanner planner = new ConcealmentPlanner(h.framesPerPacket(), (int) h.hopLength());
        List<ConcealmentPlanner.Step> steps = new ArrayList<>();
        for (Packet p : packets) {
            steps.addAll(planner.plan(p.sequence(), p.frames(), p.lostBefore()));
        }
        List<String> wantText = new ArrayList<>();
        for (Object s : Json.asList(want.get("plan"), "plan")) {
            wantText.add(stepText(s));
        }
        List<String> gotText = new ArrayList<>();
        for (ConcealmentPlanner.Step s : steps) {
            gotText.add(s.toString());
        }
        assertEquals(wantText, gotText);
        assertEquals(Json.asLong(want.get("output_frames"), "output_frames"), ConcealmentPlanner.outputFrames(steps));
    }

    @Test
    public void theDecodeLoopOutputsThePlannedLength() throws TqcException {
        Object concealment = cs.get("concealment");
        if (concealment == null) {
            return; // fatal: checked above
        }
        long outputFrames = Json.asLong(Json.asObject(concealment, "concealment").get("output_frames"), "output_frames");
        StreamReader r = reader();
        ReaderPacketSource src = new ReaderPacketSource(new ByteArrayInputStream(Vectors.bytes(file)), r, 97);
        StreamHeader h = src.header();
        final int hop = (int) h.hopLength(), k = 16;
        ChunkDecoder silence = new ChunkDecoder() {
            @Override
            public int channels() {
                return 1;
            }

            @Override
            public float[][] initState() {
                return new float[0][];
            }

            @Override
            public DecodedChunk decode(int[][][] codes, float[][] state) {
                return new DecodedChunk(new float[][] {new float[k * hop]}, state);
            }
        };
        RingBuffer ring = new RingBuffer(1 << 22);
        DecodeLoop loop = new DecodeLoop.Builder(src, silence, ring, k, hop).outputChannels(h.channels())
                .trimToTotalSamples(cs.get("header_from") == null).build();
        loop.run();
        assertNull(loop.failure());
        assertEquals(outputFrames, loop.stats().decodedFrames());
        long samples = outputFrames * hop;
        if (cs.get("header_from") == null && h.hasTotalSamples()) {
            samples = Math.min(samples, h.totalSamples());
        }
        assertEquals(samples * h.channels(), ring.available());
    }
}
