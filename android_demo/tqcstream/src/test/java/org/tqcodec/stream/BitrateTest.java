package org.tqcodec.stream;

import org.junit.Test;
import org.tqcodec.stream.json.Json;

import java.io.File;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;

public class BitrateTest {
    @Test
    public void matchesTheDocumentedTq64Rates() throws TqcException {
        byte[] fp = TestStreams.fingerprint(1);
        Bitrate mono = Bitrate.of(new StreamHeader.Builder(1, 10, fp).bits(9).build());
        Bitrate stereo = Bitrate.of(new StreamHeader.Builder(2, 10, fp).bits(9).build());
        // docs/bitstream.md, "Overhead and bitrate"
        assertEquals(62016.0, mono.codeBps, 0.5);
        assertEquals(63566.0, mono.streamBps, 0.5);
        assertEquals(0.025, mono.overhead, 1e-12);
        assertEquals(124031.25, stereo.codeBps, 1e-6);
        assertEquals(125581.640625, stereo.streamBps, 1e-6);
        assertEquals(62790.8203125, stereo.streamBpsPerChannel, 1e-6);
        assertEquals(0.0125, stereo.overhead, 1e-12);
    }

    /** Python's bitrate(header) as recorded in every valid vector. */
    @Test
    public void matchesEveryVectorsRecordedBitrate() throws TqcException {
        List<Object> valid = Json.asList(Vectors.manifest().get("valid"), "valid");
        for (Object rel : valid) {
            Map<String, Object> v = Vectors.json(Json.asString(rel, "valid[]"));
            Map<String, Object> want = Json.asObject(v.get("bitrate"), "bitrate");
            Bitrate got = Bitrate.of(Vectors.header(Json.asObject(v.get("header"), "header")));
            String name = new File(Json.asString(rel, "")).getName();
            assertEquals(name, ((Number) want.get("code_bps")).doubleValue(), got.codeBps, 1e-6);
            assertEquals(name, ((Number) want.get("stream_bps")).doubleValue(), got.streamBps, 1e-6);
            assertEquals(name, ((Number) want.get("stream_bps_per_channel")).doubleValue(), got.streamBpsPerChannel, 1e-6);
            assertEquals(name, ((Number) want.get("overhead")).doubleValue(), got.overhead, 1e-9);
        }
    }

    @Test
    public void averagesAWholeStream() throws TqcException {
        StreamHeader h = new StreamHeader.Builder(2, 10, TestStreams.fingerprint(2)).bits(9).build();
        Bitrate b = Bitrate.ofStream(h, 1654, 70); // stereo_tq64.tqc: 1654 bytes, 70 frames
        assertEquals(1654 * 8 * (44100.0 / 64) / 70, b.streamBps, 1e-6);
        assertEquals(0.0, Bitrate.ofStream(h, 52, 0).streamBps, 0.0);
    }
}
