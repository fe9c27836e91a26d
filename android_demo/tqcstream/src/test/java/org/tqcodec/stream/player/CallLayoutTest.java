package org.tqcodec.stream.player;

import org.junit.Test;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

public class CallLayoutTest {
    static CallLayout layout(String json) throws ManifestException {
        return CallLayout.of(Manifest.parse(json));
    }

    @Test
    public void laysOutTheExportersCall() throws ManifestException {
        CallLayout l = layout(ManifestTest.EXAMPLE);
        assertEquals(4, l.inputCount());
        assertEquals(4, l.outputCount());
        assertEquals(3, l.stateCount());
        assertEquals(CallLayout.DType.INT32, l.codesType());
        assertEquals(CallLayout.DType.INT32, l.inputType(0));
        assertEquals(CallLayout.DType.FLOAT32, l.inputType(3));
        assertArrayEquals(new long[] {1, 10, 16}, l.inputShape(0));
        assertArrayEquals(new long[] {1, 64, 6}, l.inputShape(1));
        assertArrayEquals(new long[] {1, 1, 1024}, l.outputShape(0));
        assertArrayEquals(new long[] {1, 128}, l.outputShape(3));
        assertEquals(160, l.inputSize(0));
        assertEquals(384, l.inputSize(1));
        assertEquals(1024, l.samplesPerChunk());
        assertEquals("lstm0_h", l.inputName(2));
        assertEquals("next_lstm0_h", l.outputName(2));
        // shapes are copies: a caller cannot change the layout
        l.inputShape(0)[1] = 99;
        assertArrayEquals(new long[] {1, 10, 16}, l.inputShape(0));
    }

    @Test
    public void acceptsInt64CodesAndNothingElse() throws ManifestException {
        String int64 = ManifestTest.EXAMPLE.replace("\"name\": \"codes\", \"shape\": [1, 10, 16], \"dtype\": \"int32\"",
                "\"name\": \"codes\", \"shape\": [1, 10, 16], \"dtype\": \"int64\"");
        assertEquals(CallLayout.DType.INT64, layout(int64).codesType());
        assertRefused(ManifestTest.EXAMPLE.replace("\"shape\": [1, 10, 16], \"dtype\": \"int32\"",
                "\"shape\": [1, 10, 16], \"dtype\": \"uint8\""), "uint8");
    }

    @Test
    public void refusesWhatTheWrappersCannotFeed() {
        // a float16 state tensor (inputs and state agree, so Manifest accepts it)
        assertRefused(ManifestTest.EXAMPLE.replace("{\"name\": \"lstm0_c\", \"shape\": [1, 128], \"dtype\": \"float32\"}",
                "{\"name\": \"lstm0_c\", \"shape\": [1, 128], \"dtype\": \"float16\"}"), "float16");
        assertRefused(ManifestTest.EXAMPLE.replace("{\"name\": \"audio\", \"shape\": [1, 1, 1024], \"dtype\": \"float32\"}",
                "{\"name\": \"audio\", \"shape\": [1, 1, 1024], \"dtype\": \"int16\"}"), "int16");
        assertRefused(ManifestTest.EXAMPLE.replace("\"name\": \"codes\"", "\"name\": \"tokens\""), "tokens");
        assertRefused(ManifestTest.EXAMPLE.replace("\"name\": \"audio\"", "\"name\": \"pcm\""), "pcm");
    }

    static void assertRefused(String json, String mentions) {
        try {
            layout(json);
            fail("accepted a manifest with " + mentions);
        } catch (ManifestException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(mentions));
        }
    }

    @Test
    public void packsCodesRowMajor() throws ManifestException {
        CallLayout l = layout(ManifestTest.EXAMPLE);
        int[][][] codes = new int[1][10][16];
        for (int q = 0; q < 10; q++) {
            for (int k = 0; k < 16; k++) {
                codes[0][q][k] = 100 * q + k;
            }
        }
        int[] flat = new int[160];
        l.packCodes(codes, flat);
        for (int i = 0; i < 160; i++) {
            assertEquals(100 * (i / 16) + i % 16, flat[i]);
        }
        try {
            l.packCodes(new int[1][9][16], flat);
            fail("packed 9 codebooks");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("10 codebooks"));
        }
        try {
            l.packCodes(new int[1][10][15], flat);
            fail("packed 15 frames");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("16 frames"));
        }
        try {
            l.packCodes(codes, new int[159]);
            fail("packed into a short array");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("159"));
        }
    }

    @Test
    public void packsStereoCodesChannelByChannelAndSplitsItsAudio() throws ManifestException {
        CallLayout l = layout(ManifestTest.EXAMPLE_STEREO);
        assertEquals(2, l.channels());
        assertEquals(1024, l.samplesPerChunk());
        assertEquals(2048, l.outputSize(0));
        assertArrayEquals(new long[] {2, 128}, l.inputShape(2));
        int[][][] codes = new int[2][10][16];
        for (int c = 0; c < 2; c++) {
            for (int q = 0; q < 10; q++) {
                for (int k = 0; k < 16; k++) {
                    codes[c][q][k] = 10000 * c + 100 * q + k;
                }
            }
        }
        int[] flat = new int[320];
        l.packCodes(codes, flat);
        for (int i = 0; i < 320; i++) { // [C, n_q, K] row-major: (c·n_q + q)·K + k
            assertEquals(10000 * (i / 160) + 100 * (i / 16 % 10) + i % 16, flat[i]);
        }
        try {
            l.packCodes(new int[1][10][16], flat);
            fail("packed one channel into a stereo call");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("2 channels"));
        }
        float[] audio = new float[2048];
        for (int i = 0; i < audio.length; i++) {
            audio[i] = i;
        }
        float[][] rows = l.splitAudio(audio);
        assertEquals(2, rows.length);
        assertEquals(0f, rows[0][0], 0f);
        assertEquals(1023f, rows[0][1023], 0f);
        assertEquals(1024f, rows[1][0], 0f);
        assertEquals(2047f, rows[1][1023], 0f);
        try {
            l.splitAudio(new float[1024]);
            fail("split a mono chunk as stereo");
        } catch (IllegalStateException expected) {
            assertTrue(expected.getMessage().contains("2048"));
        }
    }

    @Test
    public void checksStateAndOutputsAgainstTheManifest() throws ManifestException {
        CallLayout l = layout(ManifestTest.EXAMPLE);
        Manifest m = l.manifest();
        float[][] zero = m.zeroState();
        for (int k = 0; k < l.stateCount(); k++) {
            l.checkState(k, zero[k]);
        }
        try {
            l.checkState(1, new float[127]);
            fail("accepted a short state");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("lstm0_h"));
        }
        l.checkOutput(0, new long[] {1, 1, 1024}, 1024);
        try {
            l.checkOutput(0, new long[] {1, 1, 512}, 512);
            fail("accepted half a chunk");
        } catch (IllegalStateException expected) {
            assertTrue(expected.getMessage().contains("audio"));
        }
        try {
            l.checkOutput(1, new long[] {1, 64, 6}, 383);
            fail("accepted a wrong element count");
        } catch (IllegalStateException expected) {
            assertTrue(expected.getMessage().contains("next_conv_in"));
        }
    }

    @Test
    public void namesTheArtifact() throws ManifestException {
        Manifest m = Manifest.parse(ManifestTest.EXAMPLE);
        assertEquals("tq64_int8.tflite", m.artifact());
        assertEquals(ManifestTest.ARTIFACT_SHA256, m.artifactSha256());
        Manifest none = Manifest.parse(ManifestTest.EXAMPLE.replace("\"artifact\": \"tq64_int8.tflite\",", "")
                .replace("\"artifact_sha256\": \"" + ManifestTest.ARTIFACT_SHA256 + "\",", ""));
        assertNull(none.artifact());
        assertNull(none.artifactSha256());
    }
}
