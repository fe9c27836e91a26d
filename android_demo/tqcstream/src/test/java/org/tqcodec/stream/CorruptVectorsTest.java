package org.tqcodec.stream;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.tqcodec.stream.json.Json;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.fail;

/**
 * Every damage case of tests/vectors/manifest.json, run as its README says: the strict error (or
 * success), and in streaming mode the fatal error or the recovered packets and events, with the
 * file fed whole, in random pieces and one byte at a time.
 */
@RunWith(Parameterized.class)
public class CorruptVectorsTest {
    @Parameters(name = "{0} ({1})")
    public static Collection<Object[]> cases() {
        List<Object[]> out = new ArrayList<>();
        for (Map<String, Object> cs : Vectors.cases()) {
            for (String mode : new String[] {"whole", "pieces", "bytes"}) {
                out.add(new Object[] {Json.asString(cs.get("file"), "file"), mode, cs});
            }
        }
        return out;
    }

    private final String file;
    private final String mode;
    private final Map<String, Object> cs;
    private final byte[] data;
    private final Map<String, Object> reference;

    public CorruptVectorsTest(String file, String mode, Map<String, Object> cs) {
        this.file = file;
        this.mode = mode;
        this.cs = cs;
        this.data = Vectors.bytes(file);
        this.reference = Vectors.json(Json.asString(cs.get("reference"), "reference"));
    }

    private StreamReader reader(boolean strict) throws TqcException {
        return Vectors.caseReader(cs, strict);
    }

    private int[] cuts() {
        return Vectors.cuts(mode, data.length, file.hashCode() * 31L + 7);
    }

    private static void assertError(Map<String, Object> expected, TqcException e) {
        assertEquals(e.toString(), expected.get("kind"), e.kind());
        assertEquals(e.toString(), Json.asLong(expected.get("offset"), "offset"), e.offset());
        Object packet = expected.get("packet");
        assertEquals(e.toString(), packet == null ? -1L : Json.asLong(packet, "packet"), e.packet());
    }

    @Test
    public void strict() throws TqcException {
        Object expected = cs.get("strict");
        StreamReader r = reader(true);
        List<Packet> packets;
        try {
            packets = Vectors.feedAll(r, data, cuts());
        } catch (TqcException e) {
            if (expected == null) {
                throw e;
            }
            assertError(Json.asObject(expected, "strict"), e);
            // a strict reader stays failed: every later call raises the same error
            try {
                r.feed(new byte[] {1});
                fail("feed after an error must raise");
            } catch (TqcException again) {
                assertSame(e, again);
            }
            return;
        }
        if (expected != null) {
            fail("expected " + expected + ", strict decoding succeeded");
        }
        checkRecovered(packets, r);
    }

    @Test
    public void streaming() throws TqcException {
        Map<String, Object> expected = Json.asObject(cs.get("streaming"), "streaming");
        Object fatal = expected.get("fatal");
        StreamReader r;
        List<Packet> packets;
        try {
            r = reader(false);
            packets = Vectors.feedAll(r, data, cuts());
        } catch (TqcException e) {
            if (fatal == null) {
                throw e;
            }
            assertError(Json.asObject(fatal, "fatal"), e);
            assertEquals(e.toString(), true, e.isFatal());
            return;
        }
        if (fatal != null) {
            fail("expected the fatal error " + fatal + ", streaming decoding succeeded");
        }
        checkRecovered(packets, r);
        List<Object> events = Json.asList(expected.get("events"), "events");
        List<TqcException> got = r.events();
        List<String> gotText = new ArrayList<>();
        for (TqcException e : got) {
            gotText.add(e.kind() + "@" + e.offset() + "/" + e.packet());
        }
        assertEquals("events " + gotText, events.size(), got.size());
        for (int i = 0; i < events.size(); i++) {
            assertError(Json.asObject(events.get(i), "event"), got.get(i));
        }
    }

    /** The recovered sequences, each holding frames s·F .. s·F+n−1 of the reference codes. */
    private void checkRecovered(List<Packet> packets, StreamReader r) {
        List<Object> recovered = Json.asList(Json.asObject(cs.get("streaming"), "streaming").get("recovered"),
                "recovered");
        List<Long> got = new ArrayList<>();
        for (Packet p : packets) {
            got.add((long) p.sequence());
        }
        assertEquals(recovered, got);
        int[][][] ref = Vectors.codes(reference);
        int fpp = Json.asInt(Json.asObject(reference.get("header"), "header").get("frames_per_packet"), "fpp");
        assertNotNull(r.header());
        // where each recovered packet's frames are in the reference: s·F, unless the case says
        // (a forged sequence jump numbers its packets far from their place)
        List<Object> starts = cs.containsKey("reference_frames")
                ? Json.asList(cs.get("reference_frames"), "reference_frames") : null;
        if (starts != null) {
            assertEquals("reference_frames", packets.size(), starts.size());
        }
        for (int i = 0; i < packets.size(); i++) {
            Packet p = packets.get(i);
            int from = starts != null ? Json.asInt(starts.get(i), "reference_frames") : p.sequence() * fpp;
            int[][][] want = Vectors.slice(ref, from, from + p.frames());
            for (int c = 0; c < want.length; c++) {
                for (int q = 0; q < want[c].length; q++) {
                    assertArrayEquals("packet " + p.sequence() + " codes[" + c + "][" + q + "]", want[c][q],
                            p.codes()[c][q]);
                }
            }
        }
    }
}
