package org.tqcodec.stream.player;

import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TqcException;
import org.tqcodec.stream.json.Json;
import org.tqcodec.stream.json.JsonException;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * The exporter's {@code manifest.json} ({@code mobile_export/manifest.py}, {@code build_manifest}):
 * what the app needs to drive an artifact without hard-coding shapes.
 *
 * <p>Checked on reading: {@code samples_per_chunk = chunk_frames · hop}; {@code channels} C
 * (1 or 2) and {@code channel_layout} {@code planar}: every tensor's shape starts with C;
 * {@code inputs[0]} is the codes tensor {@code [C, n_codebooks, chunk_frames]}; {@code outputs[0]}
 * the audio {@code [C, 1, samples_per_chunk]}; the rest of {@code inputs} is {@code state}, and
 * the rest of {@code outputs} is {@code state} renamed {@code next_<name>}, in the same order
 * (the call contract: {@code outputs = model(codes, *state); audio = outputs[0]; state =
 * outputs[1:]}). Other keys (verification, MACs, ...) are kept in {@link #raw()}.
 */
public final class Manifest {
    private final Map<String, Object> raw;
    private final String format;
    private final String precision;
    private final String config;
    private final String checkpointSha256;
    private final int sampleRate;
    private final int hop;
    private final int chunkFrames;
    private final int samplesPerChunk;
    private final int channels;
    private final int nCodebooks;
    private final int codebookSize;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final List<TensorSpec> state;

    private Manifest(Map<String, Object> m) throws ManifestException {
        raw = Collections.unmodifiableMap(m);
        format = Json.asString(Json.get(m, "format", "manifest"), "format");
        precision = Json.asString(Json.get(m, "precision", "manifest"), "precision");
        config = Json.asString(Json.get(m, "config", "manifest"), "config");
        Object sha = Json.get(m, "checkpoint_sha256", "manifest");
        String shaText = sha == null ? "" : Json.asString(sha, "checkpoint_sha256").toLowerCase();
        // The exporter writes "" when the checkpoint is unknown: no fingerprint to check, like null.
        checkpointSha256 = shaText.isEmpty() ? null : shaText;
        if (checkpointSha256 != null && !checkpointSha256.matches("[0-9a-f]{64}")) {
            throw new ManifestException("checkpoint_sha256: expected 64 hex digits, got '" + checkpointSha256 + "'");
        }
        sampleRate = positive(m, "sample_rate");
        hop = positive(m, "hop");
        chunkFrames = positive(m, "chunk_frames");
        samplesPerChunk = positive(m, "samples_per_chunk");
        channels = Json.asInt(Json.get(m, "channels", "manifest"), "channels");
        if (channels < 1 || channels > ExportContract.MAX_CHANNELS) {
            throw new ManifestException("channels: expected 1 to " + ExportContract.MAX_CHANNELS
                    + " (channels one call decodes), got " + channels);
        }
        Object layout = Json.get(m, "channel_layout", "manifest");
        if (!ExportContract.CHANNEL_LAYOUT_PLANAR.equals(layout)) {
            throw new ManifestException("channel_layout: only '" + ExportContract.CHANNEL_LAYOUT_PLANAR
                    + "' is supported, got " + (layout instanceof String ? "'" + layout + "'" : String.valueOf(layout)));
        }
        nCodebooks = positive(m, "n_codebooks");
        codebookSize = positive(m, "codebook_size");
        inputs = specs(m, "inputs");
        outputs = specs(m, "outputs");
        state = specs(m, "state");
        if ((long) chunkFrames * hop != samplesPerChunk) {
            throw new ManifestException("samples_per_chunk " + samplesPerChunk + " is not chunk_frames "
                    + chunkFrames + " x hop " + hop);
        }
        if (m.containsKey("state_init") && !ExportContract.STATE_INIT_ZEROS.equals(m.get("state_init"))) {
            throw new ManifestException("state_init: only 'zeros' is supported, got " + m.get("state_init"));
        }
        checkContract();
    }

    /** Parse manifest text. */
    public static Manifest parse(String json) throws ManifestException {
        try {
            return new Manifest(Json.asObject(Json.parse(json), "manifest"));
        } catch (JsonException e) {
            throw new ManifestException("bad manifest: " + e.getMessage(), e);
        }
    }

    /** Read and parse a manifest file (UTF-8). */
    public static Manifest read(File file) throws ManifestException {
        String text;
        try {
            text = new String(Files.readAllBytes(file.toPath()), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ManifestException("cannot read " + file + ": " + e.getMessage(), e);
        }
        try {
            return parse(text);
        } catch (ManifestException e) {
            throw new ManifestException(file + ": " + e.getMessage(), e);
        }
    }

    private void checkContract() throws ManifestException {
        if (inputs.isEmpty() || outputs.isEmpty()) {
            throw new ManifestException("inputs and outputs must each list at least one tensor");
        }
        channelsFirst(inputs, "inputs");
        channelsFirst(outputs, "outputs");
        channelsFirst(state, "state");
        expectShape(inputs.get(0), "inputs[0] (codes)", channels, nCodebooks, chunkFrames);
        expectShape(outputs.get(0), "outputs[0] (audio)", channels, 1, samplesPerChunk);
        if (!inputs.subList(1, inputs.size()).equals(state)) {
            throw new ManifestException("inputs after the codes must be the state tensors, in order: "
                    + inputs.subList(1, inputs.size()) + " vs state " + state);
        }
        if (outputs.size() != state.size() + 1) {
            throw new ManifestException("outputs must be the audio and one next_ tensor per state tensor");
        }
        for (int k = 0; k < state.size(); k++) {
            TensorSpec s = state.get(k), o = outputs.get(k + 1);
            if (!o.name().equals(ExportContract.NEXT_PREFIX + s.name()) || !java.util.Arrays.equals(o.shape(), s.shape())) {
                throw new ManifestException("outputs[" + (k + 1) + "] must be " + ExportContract.NEXT_PREFIX + s.name()
                        + " shaped like " + s + ", got " + o);
            }
        }
    }

    /** Planar: every tensor's first dimension is the call's channels. */
    private void channelsFirst(List<TensorSpec> specs, String group) throws ManifestException {
        for (int i = 0; i < specs.size(); i++) {
            int[] shape = specs.get(i).shape();
            if (shape.length == 0 || shape[0] != channels) {
                throw new ManifestException(group + "[" + i + "] (" + specs.get(i).name() + "): shape must start with channels = "
                        + channels + " (channel_layout " + ExportContract.CHANNEL_LAYOUT_PLANAR + "), got "
                        + java.util.Arrays.toString(shape));
            }
        }
    }

    private static void expectShape(TensorSpec t, String what, int... shape) throws ManifestException {
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new ManifestException(what + ": expected shape " + java.util.Arrays.toString(shape) + ", got " + t);
        }
    }

    private static int positive(Map<String, Object> m, String key) throws ManifestException {
        int v = Json.asInt(Json.get(m, key, "manifest"), key);
        if (v < 1) {
            throw new ManifestException(key + ": expected a positive integer, got " + v);
        }
        return v;
    }

    private static List<TensorSpec> specs(Map<String, Object> m, String key) throws ManifestException {
        List<TensorSpec> out = new ArrayList<>();
        List<Object> list = Json.asList(Json.get(m, key, "manifest"), key);
        for (int i = 0; i < list.size(); i++) {
            String what = key + "[" + i + "]";
            Map<String, Object> t = Json.asObject(list.get(i), what);
            List<Object> dims = Json.asList(Json.get(t, "shape", what), what + ".shape");
            int[] shape = new int[dims.size()];
            long size = 1;
            for (int d = 0; d < shape.length; d++) {
                shape[d] = Json.asInt(dims.get(d), what + ".shape");
                if (shape[d] < 0) {
                    throw new ManifestException(what + ".shape: negative dimension " + shape[d]);
                }
                size *= shape[d];
            }
            if (size > Integer.MAX_VALUE) {
                throw new ManifestException(what + ": tensor too large");
            }
            out.add(new TensorSpec(Json.asString(Json.get(t, "name", what), what + ".name"), shape,
                    Json.asString(Json.get(t, "dtype", what), what + ".dtype")));
        }
        return Collections.unmodifiableList(out);
    }

    /**
     * The stream fingerprint of the weights these codes need: the first 16 bytes of
     * {@code checkpoint_sha256} (as {@code tqcodec decode --artifact} uses it), or null if unknown.
     */
    public byte[] fingerprint() {
        if (checkpointSha256 == null) {
            return null;
        }
        byte[] fp = new byte[StreamHeader.FINGERPRINT_SIZE];
        for (int i = 0; i < fp.length; i++) {
            fp[i] = (byte) Integer.parseInt(checkpointSha256.substring(2 * i, 2 * i + 2), 16);
        }
        return fp;
    }

    /**
     * Zero state for the {@link #channels()} channels of one call, one flat float array per state
     * tensor in call order ({@code state_init: zeros}).
     */
    public float[][] zeroState() {
        float[][] s = new float[state.size()][];
        for (int k = 0; k < s.length; k++) {
            s[k] = new float[state.get(k).size()];
        }
        return s;
    }

    /**
     * Can this artifact decode that stream? Same sample rate, hop and number of codebooks, and
     * every code the stream may hold has a row in the model's codebooks.
     *
     * @throws TqcException {@code invalid_argument} naming the first field that differs
     */
    public void checkCompatible(StreamHeader h) throws TqcException {
        String bad = null;
        if (h.sampleRate() != sampleRate) {
            bad = "sample_rate " + h.sampleRate() + " vs the model's " + sampleRate;
        } else if (h.hopLength() != hop) {
            bad = "hop_length " + h.hopLength() + " vs the model's " + hop;
        } else if (h.nQ() != nCodebooks) {
            bad = "n_q " + h.nQ() + " vs the model's " + nCodebooks + " codebooks";
        } else if (h.codebookSize() > codebookSize) {
            bad = "codebook_size " + h.codebookSize() + " vs the model's " + codebookSize;
        }
        if (bad != null) {
            throw new TqcException("invalid_argument", "stream does not fit the decoder (" + config + ", "
                    + format + "): " + bad);
        }
    }

    /**
     * The artifact's file name ({@code artifact}, beside the manifest), or null if the manifest
     * does not name one.
     */
    public String artifact() {
        Object a = raw.get(ExportContract.KEY_ARTIFACT);
        return a instanceof String ? (String) a : null;
    }

    /** The artifact's SHA-256 ({@code artifact_sha256}, lowercase hex), or null if not given. */
    public String artifactSha256() {
        Object a = raw.get(ExportContract.KEY_ARTIFACT_SHA256);
        return a instanceof String ? ((String) a).toLowerCase(java.util.Locale.ROOT) : null;
    }

    public Map<String, Object> raw() { return raw; }
    public String format() { return format; }
    public String precision() { return precision; }
    public String config() { return config; }
    /** Lowercase hex, or null. */
    public String checkpointSha256() { return checkpointSha256; }
    public int sampleRate() { return sampleRate; }
    public int hop() { return hop; }
    public int chunkFrames() { return chunkFrames; }
    /** Samples per call per channel. */
    public int samplesPerChunk() { return samplesPerChunk; }
    /** C, channels one call decodes (the first dimension of every tensor). */
    public int channels() { return channels; }
    public int nCodebooks() { return nCodebooks; }
    public int codebookSize() { return codebookSize; }
    public List<TensorSpec> inputs() { return inputs; }
    public List<TensorSpec> outputs() { return outputs; }
    public List<TensorSpec> state() { return state; }
}
