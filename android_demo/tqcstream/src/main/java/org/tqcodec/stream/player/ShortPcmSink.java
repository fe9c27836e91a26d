package org.tqcodec.stream.player;

/**
 * An {@link AudioSink} for 16-bit outputs: converts float samples to {@code short} (clamped to
 * [-1, 1], scaled by 32767, rounded) and hands them to {@link #writeShorts}.
 */
public abstract class ShortPcmSink implements AudioSink {
    private short[] scratch = new short[0];

    /** Write interleaved 16-bit samples without blocking; return samples written. */
    protected abstract int writeShorts(short[] interleaved, int offset, int samples);

    @Override
    public final int write(float[] interleaved, int offset, int samples) {
        if (scratch.length < samples) {
            scratch = new short[samples];
        }
        for (int i = 0; i < samples; i++) {
            scratch[i] = toShort(interleaved[offset + i]);
        }
        return writeShorts(scratch, 0, samples);
    }

    /** One float sample as 16-bit PCM. NaN becomes 0. */
    public static short toShort(float x) {
        if (!(x > -1f)) {
            return x != x ? 0 : (short) -32767;
        }
        if (x >= 1f) {
            return 32767;
        }
        return (short) Math.round(x * 32767f);
    }
}
