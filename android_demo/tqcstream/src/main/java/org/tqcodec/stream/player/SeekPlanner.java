package org.tqcodec.stream.player;

import org.tqcodec.stream.StreamHeader;

/**
 * The one seek rule of docs/bitstream.md ("Seeking: pre-roll with state from zero"), shared with
 * Python and Swift: to play from {@code t} seconds, decode from a packet at least
 * {@link #SEEK_PREROLL_FRAMES} frames before the target with the decoder state at its initial
 * value, and drop the audio before the target. The pre-roll lets the state settle, so the audio
 * at the target is close to a continuous decode's (the model card has the measured SNR).
 */
public final class SeekPlanner {
    /** Frames decoded and dropped before a seek target; the policy block of tests/vectors/manifest.json. */
    public static final int SEEK_PREROLL_FRAMES = 64;

    /** Where to start reading and what to drop for one seek. */
    public static final class Plan {
        /** The target frame f = floor(t · sample_rate / hop_length), within the stream. */
        public final long targetFrame;
        /** The packet decoding starts at: k = max(0, floor((f − pre-roll) / frames_per_packet)). */
        public final long startPacket;
        /** Its byte offset in a file with a header ({@link StreamHeader#packetOffset}). */
        public final long byteOffset;
        /** The stream frame that packet starts with, k · frames_per_packet. */
        public final long firstFrame;
        /** Samples per channel decoded and dropped before the target, (f − k · frames_per_packet) · hop. */
        public final long dropSamples;
        /** The first sample played, f · hop. */
        public final long startSample;

        Plan(long targetFrame, long startPacket, long byteOffset, long firstFrame, long dropSamples, long startSample) {
            this.targetFrame = targetFrame;
            this.startPacket = startPacket;
            this.byteOffset = byteOffset;
            this.firstFrame = firstFrame;
            this.dropSamples = dropSamples;
            this.startSample = startSample;
        }

        @Override
        public String toString() {
            return "seek to frame " + targetFrame + ": packet " + startPacket + " at byte " + byteOffset + ", drop "
                    + dropSamples + " samples";
        }
    }

    private SeekPlanner() {
    }

    /**
     * @param seconds the target; negative is 0, beyond the end (when the header knows it) is the
     *     last frame
     * @param prerollFrames {@link #SEEK_PREROLL_FRAMES} unless testing another value
     */
    public static Plan plan(StreamHeader h, double seconds, int prerollFrames) {
        if (prerollFrames < 0 || Double.isNaN(seconds)) {
            throw new IllegalArgumentException("bad seek: " + seconds + " s, pre-roll " + prerollFrames);
        }
        long f = (long) Math.floor(Math.max(0.0, seconds) * h.sampleRate() / h.hopLength());
        if (h.hasTotalSamples()) {
            f = Math.min(f, Math.max(0, h.nFrames() - 1));
        }
        int fpp = h.framesPerPacket();
        long k = Math.max(0, Math.floorDiv(f - prerollFrames, fpp));
        long first = k * fpp;
        return new Plan(f, k, h.packetOffset(k), first, (f - first) * h.hopLength(), f * h.hopLength());
    }

    public static Plan plan(StreamHeader h, double seconds) {
        return plan(h, seconds, SEEK_PREROLL_FRAMES);
    }
}
