package org.tqcodec.player;

import org.pytorch.executorch.EValue;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;
import org.tqcodec.stream.player.CallLayout;
import org.tqcodec.stream.player.ChunkDecoder;
import org.tqcodec.stream.player.DecodedChunk;
import org.tqcodec.stream.player.DecoderUnavailableException;
import org.tqcodec.stream.player.ExportContract;
import org.tqcodec.stream.player.Manifest;
import org.tqcodec.stream.player.ManifestException;

import java.io.Closeable;
import java.io.File;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;

/**
 * An exported decoder ({@code .pte}, {@code mobile_export/executorch.py}) run by ExecuTorch's
 * Android runtime, one chunk of the manifest's {@code channels} (1 or 2, planar rows) per call.
 *
 * <p>Every input tensor is made once, from the manifest's shapes and dtypes ({@link CallLayout}),
 * over a direct buffer that ExecuTorch reads in place; a call copies the codes {@code [C, n_q, K]}
 * and the channels' state into those buffers, runs the program's {@value ExportContract#METHOD}
 * method, and returns the audio split into rows and the next state (outputs 1.. in the
 * manifest's order) as fresh arrays. Nothing is kept between calls, so one instance serves every
 * call: the decode loop hands each call's own state back in.
 *
 * <p>Not thread-safe, and {@code Module.destroy()} throws while a call runs: the app wraps it in
 * a {@link org.tqcodec.stream.player.GuardedDecoder}, which serialises calls and frees the
 * native program ({@link #close()}) only when no call is running.
 */
public final class ExecuTorchChunkDecoder implements ChunkDecoder, Closeable {
    /** The ABIs the ExecuTorch AAR has native code for; app/build.gradle.kts packages only these. */
    static final String[] SHIPPED_ABIS = {"arm64-v8a", "x86_64"};

    private final Module module;
    private final CallLayout layout;
    private final Manifest manifest;
    private final EValue[] inputs;
    private final IntBuffer codesInt;   // input 0 when int32
    private final LongBuffer codesLong; // input 0 when int64
    private final FloatBuffer[] stateIn;
    private final int[] codesFlat;
    private boolean outputsChecked;

    private ExecuTorchChunkDecoder(Module module, Manifest manifest) throws ManifestException {
        this.module = module;
        this.manifest = manifest;
        this.layout = CallLayout.of(manifest);
        inputs = new EValue[layout.inputCount()];
        codesFlat = new int[layout.inputSize(0)];
        if (layout.codesType() == CallLayout.DType.INT64) {
            codesInt = null;
            codesLong = Tensor.allocateLongBuffer(layout.inputSize(0));
            inputs[0] = EValue.from(Tensor.fromBlob(codesLong, layout.inputShape(0)));
        } else {
            codesLong = null;
            codesInt = Tensor.allocateIntBuffer(layout.inputSize(0));
            inputs[0] = EValue.from(Tensor.fromBlob(codesInt, layout.inputShape(0)));
        }
        stateIn = new FloatBuffer[layout.stateCount()];
        for (int k = 0; k < stateIn.length; k++) {
            stateIn[k] = Tensor.allocateFloatBuffer(layout.inputSize(1 + k));
            inputs[1 + k] = EValue.from(Tensor.fromBlob(stateIn[k], layout.inputShape(1 + k)));
        }
    }

    /**
     * Load a {@code .pte} and check it has the method the manifest's contract calls.
     *
     * @param pte the program on disk (ExecuTorch loads from a path, not a stream)
     * @param manifest the artifact's own manifest ({@code <stem>.manifest.json})
     * @param threads CPU threads for XNNPACK (1 keeps the decoder off the other cores; 0 lets
     *     ExecuTorch choose)
     * @param deviceAbis the device's ABIs ({@code Build.SUPPORTED_ABIS}), named if the runtime
     *     does not load (a parameter: this class stays free of android.* so it is type-checked
     *     against ExecuTorch's API off-device)
     * @throws ManifestException if the manifest describes a call this wrapper cannot make
     * @throws IllegalStateException if the program has no {@value ExportContract#METHOD} method
     *     or cannot be loaded (ExecuTorch's own exception, a RuntimeException, is the cause)
     * @throws DecoderUnavailableException if ExecuTorch's native library does not load on this
     *     device (an {@link UnsatisfiedLinkError} from a 32-bit-only device, for one)
     */
    public static ExecuTorchChunkDecoder load(File pte, Manifest manifest, int threads, String[] deviceAbis)
            throws ManifestException, DecoderUnavailableException {
        CallLayout.of(manifest); // refuse an unusable manifest before loading anything
        Module module;
        try {
            module = Module.load(pte.getAbsolutePath(), Module.LOAD_MODE_FILE, threads); // a few MB: read it whole
        } catch (LinkageError e) { // the first touch of Module loads libexecutorch.so
            throw DecoderUnavailableException.of("ExecuTorch", e, deviceAbis, SHIPPED_ABIS);
        } catch (RuntimeException e) {
            throw new IllegalStateException("ExecuTorch cannot load " + pte + ": " + e.getMessage(), e);
        }
        try {
            String[] methods = module.getMethods();
            if (!Arrays.asList(methods).contains(ExportContract.METHOD)) {
                throw new IllegalStateException(pte.getName() + " has no '" + ExportContract.METHOD + "' method (it has "
                        + Arrays.toString(methods) + ")");
            }
            module.loadMethod(ExportContract.METHOD); // now, not in the first chunk's time
            return new ExecuTorchChunkDecoder(module, manifest);
        } catch (RuntimeException | ManifestException e) {
            module.destroy();
            throw e;
        }
    }

    public Manifest manifest() {
        return manifest;
    }

    @Override
    public int channels() {
        return layout.channels();
    }

    @Override
    public float[][] initState() {
        return manifest.zeroState();
    }

    @Override
    public DecodedChunk decode(int[][][] codes, float[][] state) {
        if (state.length != stateIn.length) {
            throw new IllegalArgumentException("expected " + stateIn.length + " state tensors, got " + state.length);
        }
        layout.packCodes(codes, codesFlat);
        if (codesInt != null) {
            codesInt.clear();
            codesInt.put(codesFlat);
        } else {
            codesLong.clear();
            for (int c : codesFlat) {
                codesLong.put(c);
            }
        }
        for (int k = 0; k < stateIn.length; k++) {
            layout.checkState(k, state[k]);
            stateIn[k].clear();
            stateIn[k].put(state[k]);
        }
        EValue[] out = module.execute(ExportContract.METHOD, inputs);
        if (out.length != layout.outputCount()) {
            throw new IllegalStateException("the program returned " + out.length + " outputs, the manifest lists "
                    + layout.outputCount());
        }
        Tensor[] tensors = new Tensor[out.length];
        for (int i = 0; i < out.length; i++) {
            if (!out[i].isTensor()) {
                throw new IllegalStateException("output " + i + " (" + layout.outputName(i) + ") is not a tensor");
            }
            tensors[i] = out[i].toTensor();
        }
        if (!outputsChecked) { // the program's shapes are fixed: once is enough
            for (int i = 0; i < tensors.length; i++) {
                layout.checkOutput(i, tensors[i].shape(), tensors[i].numel());
            }
            outputsChecked = true;
        }
        float[][] audio = layout.splitAudio(tensors[0].getDataAsFloatArray());
        float[][] next = new float[stateIn.length][];
        for (int k = 0; k < next.length; k++) {
            next[k] = tensors[1 + k].getDataAsFloatArray();
        }
        return new DecodedChunk(audio, next);
    }

    /** Free the native program. Only when no {@link #decode} call runs (GuardedDecoder sees to it). */
    @Override
    public void close() {
        module.destroy();
    }
}
