package org.tqcodec.stream;

import org.junit.Test;
import org.tqcodec.stream.json.Json;

import java.util.Map;
import java.util.Random;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

public class CodeUnpackerTest {
    @Test
    public void workedExamplePayload() {
        // single_frame.tqc: ten 9-bit codes in bytes 57..68 (docs/bitstream.md)
        byte[] data = Vectors.bytes("valid/single_frame.tqc");
        Map<String, Object> json = Vectors.json("valid/single_frame.json");
        int[][][] codes = Vectors.codes(json);
        int[] expected = new int[10];
        for (int q = 0; q < 10; q++) {
            expected[q] = codes[0][q][0];
        }
        int[] out = new int[10];
        int max = CodeUnpacker.unpack(data, 57, 9, 10, out, 0);
        assertArrayEquals(expected, out);
        assertEquals(511, max);
        assertEquals(12, CodeUnpacker.packedSize(10, 9));
        byte[] packed = new byte[12];
        CodeUnpacker.pack(expected, 0, 10, 9, packed, 0);
        assertArrayEquals(java.util.Arrays.copyOfRange(data, 57, 69), packed);
        assertEquals(9L, Json.asLong(Json.asObject(json.get("header"), "h").get("bits"), "bits"));
    }

    @Test
    public void roundTripEveryWidth() {
        Random rnd = new Random(11);
        for (int bits = 1; bits <= 16; bits++) {
            for (int count : new int[] {0, 1, 7, 8, 9, 1000}) {
                int[] codes = new int[count];
                for (int i = 0; i < count; i++) {
                    codes[i] = rnd.nextInt(1 << bits);
                }
                if (count > 0) {
                    codes[count - 1] = (1 << bits) - 1; // all ones at the very end
                }
                byte[] packed = new byte[CodeUnpacker.packedSize(count, bits) + 3];
                CodeUnpacker.pack(codes, 0, count, bits, packed, 3);
                int[] back = new int[count];
                CodeUnpacker.unpack(packed, 3, bits, count, back, 0);
                assertArrayEquals("bits " + bits, codes, back);
                int pad = CodeUnpacker.packedSize(count, bits) * 8 - count * bits;
                if (count > 0) { // the padding bits are zero
                    int lastByte = packed[packed.length - 1] & 0xFF;
                    assertEquals(0, lastByte >>> (8 - pad));
                }
            }
        }
    }

    @Test
    public void littleEndianIntegerView() {
        // the payload read as one little-endian integer is sum(code_i * 2^(i*bits))
        int[] codes = {5, 1, 0x3FF};
        byte[] packed = new byte[CodeUnpacker.packedSize(3, 10)];
        CodeUnpacker.pack(codes, 0, 3, 10, packed, 0);
        long value = 0;
        for (int i = packed.length - 1; i >= 0; i--) {
            value = value << 8 | (packed[i] & 0xFF);
        }
        assertEquals(5L + (1L << 10) + (0x3FFL << 20), value);
    }

    @Test(expected = IllegalArgumentException.class)
    public void refusesShortData() {
        CodeUnpacker.unpack(new byte[2], 0, 9, 2, new int[2], 0);
    }

    @Test
    public void unpacksMinutesOfStereoQuickly() {
        // 60 s of stereo tq128: 689 frames/s x 2 x 20 codes
        int count = 689 * 60 * 40;
        byte[] data = new byte[CodeUnpacker.packedSize(count, 9)];
        new Random(3).nextBytes(data);
        int[] out = new int[count];
        long t0 = System.nanoTime();
        for (int i = 0; i < 5; i++) {
            CodeUnpacker.unpack(data, 0, 9, count, out, 0);
        }
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L);
    }
}
