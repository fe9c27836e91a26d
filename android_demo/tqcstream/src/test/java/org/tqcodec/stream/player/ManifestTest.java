package org.tqcodec.stream.player;

import org.junit.Test;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TqcException;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

public class ManifestTest {
    /** EXAMPLE's artifact_sha256 (made up; other tests replace or compare it). */
    static final String ARTIFACT_SHA256 = "4c1d9e07a2b5f3860d7e1c2b9a4f6e5d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a87";

    /**
     * A complete manifest as the exporter writes it (values made up): tests/test_manifest_schema.py
     * validates it against mobile_export/manifest.schema.json and checks it is the Swift tests' sample
     * but for the backend's own keys (format, artifact, artifact_sha256, toolchain, verification.runtime).
     */
    static final String EXAMPLE = "{\n"
            + "  \"manifest_version\": 1,\n"
            + "  \"format\": \"litert\",\n"
            + "  \"artifact\": \"tq64_int8.tflite\",\n"
            + "  \"artifact_sha256\": \"4c1d9e07a2b5f3860d7e1c2b9a4f6e5d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a87\",\n"
            + "  \"artifact_bytes\": 1234567,\n"
            + "  \"precision\": \"int8\",\n"
            + "  \"config\": \"tq64\",\n"
            + "  \"config_detail\": {\"name\": \"tq64\", \"n_codebooks\": 10},\n"
            + "  \"checkpoint_sha256\": \"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\",\n"
            + "  \"checkpoint_trained\": true,\n"
            + "  \"sample_rate\": 44100,\n"
            + "  \"hop\": 64,\n"
            + "  \"chunk_frames\": 16,\n"
            + "  \"samples_per_chunk\": 1024,\n"
            + "  \"channels\": 1,\n"
            + "  \"channel_layout\": \"planar\",\n"
            + "  \"n_codebooks\": 10,\n"
            + "  \"codebook_size\": 512,\n"
            + "  \"inputs\": [\n"
            + "    {\"name\": \"codes\", \"shape\": [1, 10, 16], \"dtype\": \"int32\"},\n"
            + "    {\"name\": \"conv_in\", \"shape\": [1, 64, 6], \"dtype\": \"float32\"},\n"
            + "    {\"name\": \"lstm0_h\", \"shape\": [1, 128], \"dtype\": \"float32\"},\n"
            + "    {\"name\": \"lstm0_c\", \"shape\": [1, 128], \"dtype\": \"float32\"}\n"
            + "  ],\n"
            + "  \"outputs\": [\n"
            + "    {\"name\": \"audio\", \"shape\": [1, 1, 1024], \"dtype\": \"float32\"},\n"
            + "    {\"name\": \"next_conv_in\", \"shape\": [1, 64, 6], \"dtype\": \"float32\"},\n"
            + "    {\"name\": \"next_lstm0_h\", \"shape\": [1, 128], \"dtype\": \"float32\"},\n"
            + "    {\"name\": \"next_lstm0_c\", \"shape\": [1, 128], \"dtype\": \"float32\"}\n"
            + "  ],\n"
            + "  \"state\": [\n"
            + "    {\"name\": \"conv_in\", \"shape\": [1, 64, 6], \"dtype\": \"float32\"},\n"
            + "    {\"name\": \"lstm0_h\", \"shape\": [1, 128], \"dtype\": \"float32\"},\n"
            + "    {\"name\": \"lstm0_c\", \"shape\": [1, 128], \"dtype\": \"float32\"}\n"
            + "  ],\n"
            + "  \"state_init\": \"zeros\",\n"
            + "  \"call\": \"outputs = model(codes, *state); audio = outputs[0]; state = outputs[1:]\",\n"
            + "  \"gmacs_per_s\": 1.5,\n"
            + "  \"verification\": {\n"
            + "    \"snr_db_vs_float\": 31.2,\n"
            + "    \"lsd_delta\": 0.0021,\n"
            + "    \"max_abs_err\": 0.0615,\n"
            + "    \"lsd_float_vs_music\": 1.974,\n"
            + "    \"lsd_artifact_vs_music\": 1.9761,\n"
            + "    \"seconds_of_music\": 2.32,\n"
            + "    \"chunks\": 100,\n"
            + "    \"thresholds\": {\"snr_db_vs_float\": 25.0, \"lsd_delta\": 0.05},\n"
            + "    \"passed\": true,\n"
            + "    \"failures\": [],\n"
            + "    \"snr_db_by_quarter\": [30.4, 31.0, 31.5, 32.1],\n"
            + "    \"runtime\": \"ai-edge-litert Interpreter(model_path, num_threads).get_signature_runner('serving_default'); feed inputs by name, read outputs by name\",\n"
            + "    \"method\": \"chunk by chunk with state carried from zeros, every excerpt of the calibration music; SNR = 10*log10(sum ref^2 / sum (ref - art)^2) against the float PyTorch decoder\"\n"
            + "  },\n"
            + "  \"quantization\": {\n"
            + "    \"scheme\": \"PT2E static: weights int8 symmetric per-channel, activations int8 per-tensor (histogram observer) on every conv and linear outside keep_float; elementwise ops and state tensors in float32\",\n"
            + "    \"keep_float\": [\"conv_out\"],\n"
            + "    \"int8_mac_share\": 0.91,\n"
            + "    \"calibration_seconds_per_excerpt\": 1.16,\n"
            + "    \"sensitivity\": null\n"
            + "  },\n"
            + "  \"calibration\": {\n"
            + "    \"sources\": [\"chaos_god_clip.ogg[ch0]\", \"chaos_god_clip.ogg[ch1]\"],\n"
            + "    \"label\": \"shipped clip\",\n"
            + "    \"seconds_verified\": 2.32,\n"
            + "    \"state\": \"carried chunk by chunk from zeros\"\n"
            + "  },\n"
            + "  \"toolchain\": {\"torch\": \"2.13.0+cpu\", \"litert-torch\": \"0.10.0\", \"ai-edge-litert\": \"2.3.0\"}\n"
            + "}\n";

    /**
     * {@link #EXAMPLE} for a stereo artifact: {@code channels} 2, every shape starting with 2 (one
     * call decodes both channels, planar), as an exporter's C = 2 manifest differs from its C = 1 one.
     * tests/test_manifest_schema.py validates it too, and checks it equals the Swift tests' stereo sample.
     */
    static final String EXAMPLE_STEREO = stereo(EXAMPLE);

    /** A mono sample made stereo: {@code "channels": 2} and the first dimension of every tensor 2. */
    static String stereo(String mono) {
        return mono.replace("\"channels\": 1,", "\"channels\": 2,").replace("\"shape\": [1,", "\"shape\": [2,");
    }

    @Test
    public void readsTheExportersManifest() throws ManifestException {
        Manifest m = Manifest.parse(EXAMPLE);
        assertEquals("litert", m.format());
        assertEquals("int8", m.precision());
        assertEquals("tq64", m.config());
        assertEquals(44100, m.sampleRate());
        assertEquals(64, m.hop());
        assertEquals(16, m.chunkFrames());
        assertEquals(1024, m.samplesPerChunk());
        assertEquals(10, m.nCodebooks());
        assertEquals(512, m.codebookSize());
        assertEquals(4, m.inputs().size());
        assertEquals("next_lstm0_c", m.outputs().get(3).name());
        assertEquals(3, m.state().size());
        assertArrayEquals(new int[] {1, 64, 6}, m.state().get(0).shape());
        float[][] zero = m.zeroState();
        assertEquals(384, zero[0].length);
        assertEquals(128, zero[2].length);
        byte[] fp = m.fingerprint();
        assertEquals(16, fp.length);
        assertEquals((byte) 0x01, fp[0]);
        assertEquals((byte) 0xef, fp[7]);
        assertEquals(31.2, ((java.util.Map<?, ?>) m.raw().get("verification")).get("snr_db_vs_float"));
    }

    /** The message {@code json} is refused with; {@code what} says why it must be refused. */
    private static String refusal(String json, String what) {
        try {
            Manifest.parse(json);
        } catch (ManifestException e) {
            return e.getMessage();
        }
        throw new AssertionError("accepted a manifest " + what);
    }

    private static void assertRejected(String json, String because) {
        String message = refusal(json, "with " + because);
        assertTrue(message, message.length() > 0);
    }

    @Test
    public void rejectsBrokenContracts() {
        assertRejected(EXAMPLE.replace("\"samples_per_chunk\": 1024", "\"samples_per_chunk\": 1000"), "a bad chunk size");
        assertRejected(EXAMPLE.replace("[1, 10, 16]", "[1, 16, 10]"), "transposed codes");
        assertRejected(EXAMPLE.replace("\"next_lstm0_h\"", "\"lstm0_h_out\""), "a misnamed state output");
        assertRejected(EXAMPLE.replace("\"hop\": 64,", ""), "no hop");
        assertRejected(EXAMPLE.replace("\"hop\": 64", "\"hop\": \"64\""), "a string hop");
        assertRejected(EXAMPLE.replace("0123456789ABCDEF", "xyz"), "a bad sha");
        assertRejected(EXAMPLE.replace("\"zeros\"", "\"random\""), "an unknown state init");
        assertRejected(EXAMPLE.substring(0, 200), "truncated text");
        assertRejected(EXAMPLE.replace("{\"name\": \"lstm0_c\", \"shape\": [1, 128], \"dtype\": \"float32\"}\n  ],\n  \"outputs\"",
                "{\"name\": \"lstm0_x\", \"shape\": [1, 128], \"dtype\": \"float32\"}\n  ],\n  \"outputs\""),
                "inputs that are not the state");
    }

    @Test
    public void readsChannelsAndTheirLayout() throws ManifestException {
        assertEquals(1, Manifest.parse(EXAMPLE).channels());
        Manifest m = Manifest.parse(EXAMPLE_STEREO);
        assertEquals(2, m.channels());
        assertEquals(1024, m.samplesPerChunk()); // per channel
        assertArrayEquals(new int[] {2, 10, 16}, m.inputs().get(0).shape());
        float[][] zero = m.zeroState(); // both rows of every state tensor
        assertEquals(768, zero[0].length);
        assertEquals(256, zero[2].length);
    }

    private static void assertRejectedSaying(String json, String says) {
        String message = refusal(json, "that should fail with '" + says + "'");
        assertTrue(message, message.contains(says));
    }

    @Test
    public void refusesChannelsItCannotDrive() {
        assertRejectedSaying(EXAMPLE.replace("  \"channels\": 1,\n", ""), "missing key 'channels'");
        assertRejectedSaying(EXAMPLE.replace("\"channels\": 1", "\"channels\": 0"), "channels: expected 1 to 2");
        assertRejectedSaying(EXAMPLE.replace("\"channels\": 1", "\"channels\": 3"), "got 3");
        assertRejectedSaying(EXAMPLE.replace("\"channels\": 1", "\"channels\": \"1\""), "channels");
        assertRejectedSaying(EXAMPLE.replace("  \"channel_layout\": \"planar\",\n", ""), "missing key 'channel_layout'");
        assertRejectedSaying(EXAMPLE.replace("\"planar\"", "\"interleaved\""), "only 'planar'");
        // shapes that do not start with channels: a mono manifest marked stereo, and each tensor kind
        assertRejectedSaying(EXAMPLE.replace("\"channels\": 1", "\"channels\": 2"), "inputs[0] (codes): shape must start with channels = 2");
        assertRejectedSaying(EXAMPLE_STEREO.replace("\"channels\": 2", "\"channels\": 1"), "start with channels = 1");
        assertRejectedSaying(EXAMPLE_STEREO.replace("{\"name\": \"audio\", \"shape\": [2,", "{\"name\": \"audio\", \"shape\": [1,"),
                "outputs[0] (audio): shape must start with channels = 2");
        String[] stateKinds = {"{\"name\": \"lstm0_h\", \"shape\": [2,", "{\"name\": \"next_lstm0_h\", \"shape\": [2,"};
        for (String t : stateKinds) {
            String oneRow = t.replace("[2,", "[1,");
            assertRejectedSaying(EXAMPLE_STEREO.replace(t, oneRow), "lstm0_h): shape must start with channels = 2");
        }
        // the state list itself (inputs still say [2, ...])
        assertRejectedSaying(EXAMPLE_STEREO.replace("{\"name\": \"lstm0_c\", \"shape\": [2, 128], \"dtype\": \"float32\"}\n  ],\n  \"state_init\"",
                "{\"name\": \"lstm0_c\", \"shape\": [1, 128], \"dtype\": \"float32\"}\n  ],\n  \"state_init\""),
                "state[2] (lstm0_c): shape must start with channels = 2");
    }

    @Test
    public void unknownCheckpointHasNoFingerprint() throws ManifestException {
        Manifest m = Manifest.parse(EXAMPLE.replaceAll("\"checkpoint_sha256\": \"[0-9a-fA-F]+\"", "\"checkpoint_sha256\": null"));
        assertNull(m.fingerprint());
        // what build_manifest writes for a checkpoint of unknown origin
        Manifest empty = Manifest.parse(EXAMPLE.replaceAll("\"checkpoint_sha256\": \"[0-9a-fA-F]+\"", "\"checkpoint_sha256\": \"\""));
        assertNull(empty.fingerprint());
    }

    @Test
    public void checksThatAStreamFitsTheModel() throws Exception {
        Manifest m = Manifest.parse(EXAMPLE);
        byte[] fp = m.fingerprint();
        m.checkCompatible(new StreamHeader.Builder(2, 10, fp).build());
        m.checkCompatible(new StreamHeader.Builder(1, 10, fp).codebookSize(500).build());
        for (StreamHeader bad : new StreamHeader[] {
                new StreamHeader.Builder(2, 5, fp).build(),
                new StreamHeader.Builder(2, 10, fp).sampleRate(48000).build(),
                new StreamHeader.Builder(2, 10, fp).hopLength(32).build(),
                new StreamHeader.Builder(2, 10, fp).bits(10).codebookSize(1024).build()}) {
            try {
                m.checkCompatible(bad);
                fail("accepted " + bad);
            } catch (TqcException e) {
                assertEquals("invalid_argument", e.kind());
            }
        }
    }

    @Test
    public void readsAFileAndNamesItInErrors() throws Exception {
        java.io.File f = java.io.File.createTempFile("manifest", ".json");
        try {
            java.nio.file.Files.write(f.toPath(), EXAMPLE.getBytes("UTF-8"));
            assertEquals(16, Manifest.read(f).chunkFrames());
            java.nio.file.Files.write(f.toPath(), "{".getBytes("UTF-8"));
            try {
                Manifest.read(f);
                fail();
            } catch (ManifestException e) {
                assertTrue(e.getMessage().startsWith(f.toString()));
            }
        } finally {
            assertTrue(f.delete());
        }
        try {
            Manifest.read(new java.io.File("/nonexistent/manifest.json"));
            fail();
        } catch (ManifestException e) {
            assertTrue(e.getMessage().contains("cannot read"));
        }
    }
}
