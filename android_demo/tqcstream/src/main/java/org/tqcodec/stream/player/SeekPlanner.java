package org.tqcodec.stream.player;

import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TqcException;

/**
 * The one seek rule of docs/bitstream.md ("Seeking: pre-roll with state from zero"), shared with
 * Python and Swift: to play from {@code t} seconds, decode from a packet at least
 * {@link #SEEK_PREROLL_FRAMES} frames before the target with the decoder state at its initial
 * value, and drop the audio before the target. The pre-roll lets the state settle, so the audio
 * at the target is close to a continuous decode's (docs/bitstream.md has the measured SNR:
 * 52 dB mean with 128 frames on the shipped checkpoint). Python's {@code tqcodec.concealment.seek_point} is the same rule.
 */
public final class SeekPlanner {
    /** Frames decoded and dropped before a seek target; the policy block of tests/vectors/manifest.json. */
    public static final int SEEK_PREROLL_FRAMES = 128;

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
     * @param seconds the target
     * @param prerollFrames {@link #SEEK_PREROLL_FRAMES} unless testing another value
     * @throws TqcException {@code invalid_argument} for a negative or non-finite time, one at
     *     or past the end of a stream of known length (the spec's rule), or (a live stream) one
     *     whose frame, first sample f · hop or byte offset does not fit in a {@code long}
     */
    public static Plan plan(StreamHeader h, double seconds, int prerollFrames) throws TqcException {
        if (prerollFrames < 0) {
            throw new IllegalArgumentException("pre-roll must not be negative, got " + prerollFrames);
        }
        if (Double.isNaN(seconds) || Double.isInfinite(seconds) || seconds < 0) {
            throw new TqcException("invalid_argument", "a start time must be a finite number of seconds >= 0, got "
                    + seconds);
        }
        double frame = Math.floor(seconds * h.sampleRate() / h.hopLength());
        if (frame >= 0x1p63) { // (long) would saturate to Long.MAX_VALUE: a live stream's far seek
            throw new TqcException("invalid_argument", "cannot start at " + seconds + " s (frame " + frame
                    + "): past any representable stream position");
        }
        long f = (long) frame;
        if (h.hasTotalSamples() && f >= h.nFrames()) {
            throw new TqcException("invalid_argument", "cannot start at " + seconds + " s (frame " + f
                    + "): the stream has " + h.nFrames() + " frames ("
                    + (double) h.totalSamples() / h.sampleRate() + " s)");
        }
        long startSample;
        try {
            startSample = Math.multiplyExact(f, h.hopLength()); // (f − first) · hop ≤ this
        } catch (ArithmeticException e) {
            throw new TqcException("invalid_argument", "cannot start at " + seconds + " s (frame " + f
                    + "): its first sample (frame × hop " + h.hopLength() + ") does not fit in a 64-bit integer");
        }
        int fpp = h.framesPerPacket();
        long k = Math.max(0, Math.floorDiv(f - prerollFrames, fpp));
        long first = k * fpp;
        return new Plan(f, k, h.packetOffset(k), first, (f - first) * h.hopLength(), startSample);
    }

    public static Plan plan(StreamHeader h, double seconds) throws TqcException {
        return plan(h, seconds, SEEK_PREROLL_FRAMES);
    }
}
