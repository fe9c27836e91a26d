package org.tqcodec.stream.player;

/**
 * Where PCM goes (on Android an {@code AudioTrack} in streaming mode). Interleaved samples,
 * {@link #channels()} per frame. Called from one thread, the consumer's.
 */
public interface AudioSink {
    /** Samples per frame (2 for stereo). */
    int channels();

    /** Frames the sink accepts right now without blocking. Must not block. */
    int writableFrames();

    /**
     * Write interleaved float samples in [-1, 1] without blocking.
     *
     * @param samples a multiple of {@link #channels()}, at most {@code writableFrames() * channels()}
     * @return samples written (a multiple of {@link #channels()})
     */
    int write(float[] interleaved, int offset, int samples);

    /**
     * Frames the sink's own buffer holds when full, or 0 if it does not say. A full sink is
     * waited on for half of this (it then still holds half a buffer), not polled.
     */
    default int bufferFrames() {
        return 0;
    }
}
