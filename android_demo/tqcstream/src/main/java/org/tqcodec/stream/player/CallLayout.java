package org.tqcodec.stream.player;

import java.util.List;

/**
 * How one call of an exported decoder is laid out, read from its {@link Manifest}: what a runtime
 * wrapper (ExecuTorch, LiteRT) needs to build its input tensors and check its outputs without a
 * shape, dtype or position written into the app.
 *
 * <p>Positions follow the manifest's call contract: input 0 is the codes
 * ({@value ExportContract#CODES}, int32 or int64, {@code [C, n_q, K]}), inputs 1.. the state
 * tensors in {@code state} order (float32); output 0 the audio ({@value ExportContract#AUDIO},
 * float32, {@code [C, 1, K·hop]}), outputs 1.. the next state, {@code next_<name>}, same order and
 * shapes. C is the manifest's {@code channels}, row c of every tensor channel c (planar). Anything
 * else is refused when the layout is made, so a wrapper never meets it mid-stream.
 */
public final class CallLayout {
    /** Element type of a tensor, as the runtime wrappers must create it. */
    public enum DType {
        INT32(ExportContract.INT32),
        INT64(ExportContract.INT64),
        FLOAT32(ExportContract.FLOAT32);

        /** The manifest's spelling. */
        public final String manifestName;

        DType(String manifestName) {
            this.manifestName = manifestName;
        }

        static DType of(String manifestName) {
            for (DType d : values()) {
                if (d.manifestName.equals(manifestName)) {
                    return d;
                }
            }
            return null;
        }
    }

    private final Manifest manifest;
    private final int channels;
    private final int nQ;
    private final int chunkFrames;
    private final DType codesType;
    private final long[][] inputShapes;
    private final long[][] outputShapes;
    private final int[] inputSizes;
    private final int[] outputSizes;
    private final String[] inputNames;
    private final String[] outputNames;

    private CallLayout(Manifest m) throws ManifestException {
        manifest = m;
        channels = m.channels();
        nQ = m.nCodebooks();
        chunkFrames = m.chunkFrames();
        List<TensorSpec> in = m.inputs(), out = m.outputs();
        TensorSpec codes = in.get(0), audio = out.get(0);
        if (!ExportContract.CODES.equals(codes.name())) {
            throw new ManifestException("inputs[0] must be the codes tensor '" + ExportContract.CODES + "', got " + codes);
        }
        if (!ExportContract.AUDIO.equals(audio.name())) {
            throw new ManifestException("outputs[0] must be the audio tensor '" + ExportContract.AUDIO + "', got " + audio);
        }
        codesType = DType.of(codes.dtype());
        if (codesType != DType.INT32 && codesType != DType.INT64) {
            throw new ManifestException("inputs[0] (codes): dtype must be " + ExportContract.INT32 + " or "
                    + ExportContract.INT64 + ", got '" + codes.dtype() + "'");
        }
        for (int i = 1; i < in.size(); i++) {
            requireFloat(in.get(i), "inputs[" + i + "]");
        }
        for (int i = 0; i < out.size(); i++) {
            requireFloat(out.get(i), "outputs[" + i + "]");
        }
        inputShapes = shapes(in);
        outputShapes = shapes(out);
        inputSizes = sizes(in);
        outputSizes = sizes(out);
        inputNames = names(in);
        outputNames = names(out);
    }

    /** The layout of a manifest that {@link Manifest#parse} accepted (which checked the contract). */
    public static CallLayout of(Manifest m) throws ManifestException {
        return new CallLayout(m);
    }

    private static void requireFloat(TensorSpec t, String what) throws ManifestException {
        if (!ExportContract.FLOAT32.equals(t.dtype())) {
            throw new ManifestException(what + " (" + t.name() + "): dtype must be " + ExportContract.FLOAT32
                    + ", got '" + t.dtype() + "'");
        }
    }

    private static long[][] shapes(List<TensorSpec> specs) {
        long[][] out = new long[specs.size()][];
        for (int i = 0; i < out.length; i++) {
            int[] s = specs.get(i).shape();
            out[i] = new long[s.length];
            for (int d = 0; d < s.length; d++) {
                out[i][d] = s[d];
            }
        }
        return out;
    }

    private static int[] sizes(List<TensorSpec> specs) {
        int[] out = new int[specs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = specs.get(i).size();
        }
        return out;
    }

    private static String[] names(List<TensorSpec> specs) {
        String[] out = new String[specs.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = specs.get(i).name();
        }
        return out;
    }

    public Manifest manifest() { return manifest; }

    /** Inputs per call: the codes and every state tensor. */
    public int inputCount() { return inputShapes.length; }

    /** Outputs per call: the audio and every next-state tensor. */
    public int outputCount() { return outputShapes.length; }

    /** State tensors (inputs 1.., outputs 1..). */
    public int stateCount() { return inputShapes.length - 1; }

    /** dtype of input 0. */
    public DType codesType() { return codesType; }

    /** dtype of input {@code i}: {@link #codesType()} for 0, float32 for the state. */
    public DType inputType(int i) {
        checkIndex(i, inputShapes.length);
        return i == 0 ? codesType : DType.FLOAT32;
    }

    /** Shape of input {@code i}, a fresh copy (ExecuTorch and LiteRT take {@code long[]}/{@code int[]}). */
    public long[] inputShape(int i) {
        checkIndex(i, inputShapes.length);
        return inputShapes[i].clone();
    }

    /** Shape of output {@code i}, a fresh copy. */
    public long[] outputShape(int i) {
        checkIndex(i, outputShapes.length);
        return outputShapes[i].clone();
    }

    /** Elements of input {@code i}. */
    public int inputSize(int i) {
        checkIndex(i, inputSizes.length);
        return inputSizes[i];
    }

    /** Elements of output {@code i}. */
    public int outputSize(int i) {
        checkIndex(i, outputSizes.length);
        return outputSizes[i];
    }

    public String inputName(int i) {
        checkIndex(i, inputNames.length);
        return inputNames[i];
    }

    public String outputName(int i) {
        checkIndex(i, outputNames.length);
        return outputNames[i];
    }

    /** C, channels per call: the first dimension of every tensor. */
    public int channels() { return channels; }

    /** Samples of audio per call per channel (output 0's size / C). */
    public int samplesPerChunk() { return outputSizes[0] / channels; }

    /**
     * Flatten the codes {@code [C][n_q][K]} into {@code dst} in the row-major order of the codes
     * tensor {@code [C, n_q, K]}: {@code dst[(c·n_q + q)·K + k] = codes[c][q][k]}.
     *
     * @throws IllegalArgumentException if {@code codes} is not {@code C × n_q × K} or {@code dst} is too short
     */
    public void packCodes(int[][][] codes, int[] dst) {
        if (codes.length != channels) {
            throw new IllegalArgumentException("codes: expected " + channels + " channels, got " + codes.length);
        }
        if (dst.length < channels * nQ * chunkFrames) {
            throw new IllegalArgumentException("dst holds " + dst.length + " codes, a chunk has "
                    + channels * nQ * chunkFrames);
        }
        for (int c = 0; c < channels; c++) {
            if (codes[c].length != nQ) {
                throw new IllegalArgumentException("codes[" + c + "]: expected " + nQ + " codebooks, got "
                        + codes[c].length);
            }
            for (int q = 0; q < nQ; q++) {
                if (codes[c][q].length != chunkFrames) {
                    throw new IllegalArgumentException("codes[" + c + "][" + q + "]: expected " + chunkFrames
                            + " frames, got " + codes[c][q].length);
                }
                System.arraycopy(codes[c][q], 0, dst, (c * nQ + q) * chunkFrames, chunkFrames);
            }
        }
    }

    /**
     * Split output 0 as a runtime returns it, flat {@code [C, 1, samples]}, into one row per channel.
     *
     * @throws IllegalStateException if it does not hold output 0's size
     */
    public float[][] splitAudio(float[] flat) {
        if (flat == null || flat.length != outputSizes[0]) {
            throw new IllegalStateException("output 0 (" + outputNames[0] + "): expected " + outputSizes[0]
                    + " samples, got " + (flat == null ? "none" : String.valueOf(flat.length)));
        }
        int n = samplesPerChunk();
        float[][] rows = new float[channels][];
        for (int c = 0; c < channels; c++) {
            rows[c] = java.util.Arrays.copyOfRange(flat, c * n, (c + 1) * n);
        }
        return rows;
    }

    /**
     * Check one state array against input {@code 1 + k}'s size.
     *
     * @throws IllegalArgumentException naming the tensor if the length differs
     */
    public void checkState(int k, float[] state) {
        int want = inputSize(1 + k);
        if (state == null || state.length != want) {
            throw new IllegalArgumentException("state " + inputNames[1 + k] + ": expected " + want + " floats, got "
                    + (state == null ? "null" : String.valueOf(state.length)));
        }
    }

    /**
     * Check what a runtime returned for output {@code i}.
     *
     * @param shape the runtime's shape of it
     * @param elements the number of elements it holds
     * @throws IllegalStateException naming the tensor if either differs from the manifest
     */
    public void checkOutput(int i, long[] shape, long elements) {
        checkIndex(i, outputShapes.length);
        if (!java.util.Arrays.equals(shape, outputShapes[i]) || elements != outputSizes[i]) {
            throw new IllegalStateException("output " + i + " (" + outputNames[i] + "): the artifact returned shape "
                    + java.util.Arrays.toString(shape) + " with " + elements + " elements, the manifest says "
                    + java.util.Arrays.toString(outputShapes[i]) + " (is the manifest the artifact's own?)");
        }
    }

    private static void checkIndex(int i, int n) {
        if (i < 0 || i >= n) {
            throw new IndexOutOfBoundsException("tensor " + i + " of " + n);
        }
    }
}
