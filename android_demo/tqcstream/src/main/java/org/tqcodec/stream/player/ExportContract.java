package org.tqcodec.stream.player;

/**
 * The names an exported decoder and its manifest are built with ({@code mobile_export/}): the one
 * place the player spells them. {@code tests/test_android_demo.py} checks every constant here
 * against a manifest built by the exporter's own code path, so a rename on either side fails a
 * test instead of a phone.
 */
public final class ExportContract {
    private ExportContract() {
    }

    /** The program method an ExecuTorch {@code .pte} runs ({@code ExecuTorchChunkRunner} loads it). */
    public static final String METHOD = "forward";

    /** {@code inputs[0]}: the codes of one chunk, {@code [channels, n_codebooks, chunk_frames]}. */
    public static final String CODES = "codes";

    /** {@code outputs[0]}: the audio of one chunk, {@code [channels, 1, samples_per_chunk]}. */
    public static final String AUDIO = "audio";

    /** {@code outputs[1 + k]} is named this prefix plus the name of {@code state[k]}. */
    public static final String NEXT_PREFIX = "next_";

    /**
     * The only {@code channel_layout} there is: channel c is row c (the first dimension) of the
     * codes, the audio and every state tensor, each channel with its own state.
     */
    public static final String CHANNEL_LAYOUT_PLANAR = "planar";

    /** The most {@code channels} one call of an artifact decodes (left and right). */
    public static final int MAX_CHANNELS = 2;

    /** The only {@code state_init} there is: every state tensor starts at zero. */
    public static final String STATE_INIT_ZEROS = "zeros";

    /** dtype of the codes tensor. */
    public static final String INT32 = "int32";

    /** dtype of the codes tensor in exports that keep PyTorch's default integer type. */
    public static final String INT64 = "int64";

    /** dtype of the audio and of every state tensor. */
    public static final String FLOAT32 = "float32";

    /** {@code format} of an ExecuTorch (XNNPACK) manifest; its {@code artifact} is a {@code .pte}. */
    public static final String FORMAT_EXECUTORCH = "executorch-xnnpack";

    /** Manifest key naming the artifact file, beside the manifest. */
    public static final String KEY_ARTIFACT = "artifact";

    /** Manifest key holding the artifact's SHA-256 (lowercase hex). */
    public static final String KEY_ARTIFACT_SHA256 = "artifact_sha256";

    /** Manifests are {@code <stem>.manifest.json} beside {@code <stem>.pte} ({@code .tflite}, ...). */
    public static final String MANIFEST_SUFFIX = ".manifest.json";
}
