package org.tqcodec.stream;

import org.junit.Test;
import org.tqcodec.stream.json.Json;

import java.util.Arrays;
import java.util.Map;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.fail;

public class StreamHeaderTest {
    private static final byte[] FP = TestStreams.fingerprint(2);

    @Test
    public void defaultsAreTqcodecs() throws TqcException {
        StreamHeader h = new StreamHeader.Builder(2, 10, FP).build();
        assertEquals(44100, h.sampleRate());
        assertEquals(64, h.hopLength());
        assertEquals(512, h.codebookSize());
        assertEquals(9, h.bits());
        assertEquals(32, h.framesPerPacket());
        assertFalse(h.hasTotalSamples());
        assertEquals(689.0625, h.frameRate(), 0);
        assertEquals(729, h.packetSize()); // the spec's stereo tq64 example
        assertEquals(52 + 3 * 729, h.packetOffset(3));
    }

    @Test
    public void unknownLengthIsAllOnesOnTheWire() throws TqcException {
        byte[] b = new StreamHeader.Builder(1, 1, FP).build().encode();
        for (int i = 24; i < 32; i++) {
            assertEquals((byte) 0xFF, b[i]);
        }
        assertFalse(StreamHeader.decode(b, 0, b.length, null).hasTotalSamples());
    }

    @Test
    public void roundTripAndNFrames() throws TqcException {
        StreamHeader h = new StreamHeader.Builder(3, 7, FP).sampleRate(48000).hopLength(120).bits(11)
                .codebookSize(1500).framesPerPacket(7).totalSamples(121).build();
        byte[] b = h.encode();
        assertEquals(h, StreamHeader.decode(b, 0, b.length, "x"));
        assertEquals(2, h.nFrames());
        StreamHeader huge = new StreamHeader.Builder(1, 1, FP).hopLength(1).totalSamples(-2L).build();
        assertEquals(-2L, huge.nFrames()); // 2^64 - 2 frames, unsigned
    }

    @Test
    public void fieldChecksRunInTheDocumentedOrder() {
        // every field bad at once: the first in the order sample_rate, hop_length, channels,
        // n_q, bits, codebook_size, frames_per_packet is named
        String[] order = {"sample_rate", "hop_length", "channels", "n_q", "bits", "codebook_size", "frames_per_packet"};
        int[] offsets = {8, 12, 20, 21, 22, 16, 23};
        for (int k = 0; k < order.length; k++) {
            StreamHeader.Builder b = new StreamHeader.Builder(k <= 2 ? 0 : 1, k <= 3 ? 0 : 1, FP)
                    .sampleRate(k <= 0 ? 0 : 1).hopLength(k <= 1 ? 0 : 1).bits(k <= 4 ? 17 : 4)
                    .codebookSize(k <= 5 ? 17 : 16).framesPerPacket(0);
            try {
                b.build();
                fail("expected bad_header_field for " + order[k]);
            } catch (TqcException e) {
                assertEquals("bad_header_field", e.kind());
                assertEquals(e.getMessage(), offsets[k], e.offset());
                assertEquals(e.getMessage(), true, e.detail().startsWith("header field " + order[k] + ":"));
            }
        }
        try {
            new StreamHeader.Builder(1, 1, new byte[15]).build();
            fail();
        } catch (TqcException e) {
            assertEquals(32, e.offset());
        }
    }

    @Test
    public void flagsAreCheckedFirstAndTheCrcBeforeThat() throws TqcException {
        byte[] b = new StreamHeader.Builder(1, 1, FP).build().encode();
        b[6] = 1; // flags
        b[20] = 0; // channels too
        try {
            StreamHeader.decode(b, 0, b.length, null);
            fail();
        } catch (TqcException e) {
            assertEquals("bad_header_crc", e.kind());
            assertEquals(48, e.offset());
        }
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(b, 0, 48);
        StreamHeader.put(b, 48, crc.getValue(), 4);
        try {
            StreamHeader.decode(b, 0, b.length, "f.tqc");
            fail();
        } catch (TqcException e) {
            assertEquals("bad_header_field", e.kind());
            assertEquals(6, e.offset());
            assertEquals("f.tqc", e.path());
        }
    }

    @Test
    public void workedExampleOfTheSpec() throws TqcException {
        // docs/bitstream.md, "Worked example": the single_frame vector
        byte[] data = Vectors.bytes("valid/single_frame.tqc");
        Map<String, Object> json = Vectors.json("valid/single_frame.json");
        StreamHeader h = StreamHeader.decode(data, 0, data.length, null);
        assertEquals(Vectors.header(Json.asObject(json.get("header"), "header")), h);
        assertEquals(0x6155c40dL, h.packetCrcSeed()); // the seed the spec quotes
        assertEquals(0x18286da8L, StreamHeader.u32(data, 48));
        byte[] id = h.identityBytes();
        assertArrayEquals(Arrays.copyOfRange(data, 0, 24), Arrays.copyOfRange(id, 0, 24));
        assertArrayEquals(Arrays.copyOfRange(data, 32, 48), Arrays.copyOfRange(id, 24, 40));
    }
}
