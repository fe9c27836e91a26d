package org.tqcodec.stream;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;
import org.tqcodec.stream.json.Json;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/**
 * Every valid vector in tests/vectors/manifest.json decodes strictly, with its own fingerprint
 * expected, to exactly its JSON's header, packets and codes, however the bytes are split.
 */
@RunWith(Parameterized.class)
public class ValidVectorsTest {
    @Parameters(name = "{0} ({1})")
    public static Collection<Object[]> vectors() {
        List<Object[]> out = new ArrayList<>();
        for (Object v : Json.asList(Vectors.manifest().get("valid"), "valid")) {
            for (String mode : new String[] {"whole", "pieces", "bytes"}) {
                out.add(new Object[] {Json.asString(v, "valid[]"), mode});
            }
        }
        return out;
    }

    private final String name;
    private final String mode;
    private final Map<String, Object> vector;
    private final byte[] data;

    public ValidVectorsTest(String name, String mode) {
        this.name = name;
        this.mode = mode;
        File json = new File(Vectors.dir(), name);
        vector = Vectors.json(json);
        data = Vectors.bytes(new File(json.getParentFile(), Json.asString(vector.get("file"), "file")));
    }

    @Test
    public void decodesToItsJson() throws TqcException {
        Map<String, Object> hj = Json.asObject(vector.get("header"), "header");
        StreamHeader expectedHeader = Vectors.header(hj);
        assertEquals(1L, Json.asLong(hj.get("version"), "version"));
        StreamReader r = new StreamReader.Builder().expectedFingerprint(expectedHeader.fingerprint()).build();
        List<Packet> packets = Vectors.feedAll(r, data, Vectors.cuts(mode, data.length, name.hashCode()));

        assertEquals(expectedHeader, r.header());
        assertEquals(Json.asLong(vector.get("size"), "size"), data.length);
        List<Object> pj = Json.asList(vector.get("packets"), "packets");
        assertEquals(pj.size(), packets.size());
        for (int k = 0; k < pj.size(); k++) {
            Map<String, Object> e = Json.asObject(pj.get(k), "packet");
            Packet p = packets.get(k);
            assertEquals("sequence of packet " + k, Json.asLong(e.get("sequence"), "sequence"), p.sequence());
            assertEquals("offset of packet " + k, Json.asLong(e.get("offset"), "offset"), p.offset());
            assertEquals("frames of packet " + k, Json.asLong(e.get("frames"), "frames"), p.frames());
            assertEquals(0, p.lostBefore());
            assertEquals(r.header().packetOffset(k), p.offset()); // seekable without an index
        }
        int[][][] expected = Vectors.codes(vector);
        int[][][] got = Vectors.concat(packets, expectedHeader.channels(), expectedHeader.nQ());
        assertEquals(Json.asLong(vector.get("frames"), "frames"), got[0][0].length);
        for (int c = 0; c < expected.length; c++) {
            for (int q = 0; q < expected[c].length; q++) {
                assertArrayEquals("codes[" + c + "][" + q + "]", expected[c][q], got[c][q]);
            }
        }
        assertTrue(r.events().isEmpty());
        assertEquals(0, r.lostPackets());
    }

    @Test
    public void writingTheJsonGivesTheFileBytes() throws TqcException {
        if (!mode.equals("whole")) {
            return; // byte equality does not depend on how a reader is fed
        }
        StreamHeader h = Vectors.header(Json.asObject(vector.get("header"), "header"));
        assertArrayEquals(Arrays.copyOf(data, StreamHeader.HEADER_SIZE), h.encode());
        assertArrayEquals(data, TestStreams.stream(h, Vectors.codes(vector)));
    }
}
