package org.tqcodec.stream.player;

import org.tqcodec.stream.Packet;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TqcException;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The decode thread's work: packets in, interleaved PCM into a {@link RingBuffer}.
 *
 * <p>Frames from the {@link PacketSource} are gathered into chunks of K = chunk_frames frames per
 * channel. Each full chunk goes through the {@link ChunkDecoder}, each channel carrying its own
 * state from chunk to chunk; the channels are interleaved (a mono stream is copied to every
 * output channel) and written to the ring, sleeping while it is full until the audio thread has
 * made room.
 *
 * <p><b>Calls per chunk</b>: the decoder takes C channels per call (planar rows, the manifest's
 * {@code channels}), the stream has S. Call i of a chunk carries stream channels iC .. iC + C − 1
 * with a state of its own, so S == C is one call (a stereo artifact decodes a stereo chunk in
 * one call) and C = 1, S = 2 two calls, one state per channel. C = 2, S = 1 puts the mono codes
 * in both rows and plays row 0: one call, but a stereo call's cost (gmacs_per_s is per channel,
 * so twice a mono artifact's); a mono artifact is the cheaper one for mono streams. At the end, a last partial chunk is padded with code 0 and only
 * its real frames are kept, and the audio is cut to total_samples when the header knows it (as
 * {@code tqcodec decode} does).
 *
 * <p><b>Concealment</b> follows the one policy ({@link ConcealmentPlanner}): each packet becomes
 * plan steps. {@code conceal G} feeds the decoder G frames repeating the last frame's codes
 * (zeros before any), so its state stays continuous, and their audio fades out (half-cosine over
 * min(FADE_SAMPLES, G·hop) samples from the level of the sample before, then silence); the
 * decoded audio after a gap fades in over FADE_SAMPLES samples. {@code reset} decodes the partial
 * chunk gathered so far and returns every channel's state to its initial value; the time of a
 * gap that long is not inserted.
 *
 * <p><b>Seeking</b>: a loop built with {@link Builder#startAt} reads a stream that starts at
 * frame {@code firstFrame} (a {@link SeekPlanner.Plan}'s start packet) and drops the pre-roll
 * samples before the seek target.
 *
 * <p>{@link #run()} returns at the end of the stream, on {@link #stop()}, or on an error, which
 * {@link #failure()} then holds; in every case it closes the ring so the consumer can drain it.
 * {@link #stop()} cannot interrupt a source blocked in a read: close its stream or interrupt the
 * thread as well.
 */
public final class DecodeLoop implements Runnable {
    /** Options. */
    public static final class Builder {
        private final PacketSource source;
        private final ChunkDecoder decoder;
        private final RingBuffer ring;
        private final int chunkFrames;
        private final int hop;
        private int outputChannels = 2;
        private PlayerStats stats = new PlayerStats();
        private Manifest manifest;
        private boolean trimToTotalSamples = true;
        private long fullWaitNanos = 100_000_000;
        private long firstFrame;
        private long dropSamples;

        public Builder(PacketSource source, ChunkDecoder decoder, RingBuffer ring, int chunkFrames, int hop) {
            if (chunkFrames < 1 || hop < 1) {
                throw new IllegalArgumentException("chunkFrames and hop must be positive");
            }
            this.source = source;
            this.decoder = decoder;
            this.ring = ring;
            this.chunkFrames = chunkFrames;
            this.hop = hop;
        }

        /** Chunk size and hop from the manifest, which also checks that each stream fits the model. */
        public Builder(PacketSource source, ChunkDecoder decoder, RingBuffer ring, Manifest manifest) {
            this(source, decoder, ring, manifest.chunkFrames(), manifest.hop());
            this.manifest = manifest;
        }

        /** Interleaved channels written to the ring (default 2); the stream's count, or any for mono. */
        public Builder outputChannels(int v) { outputChannels = v; return this; }
        public Builder stats(PlayerStats v) { stats = v; return this; }
        /** Cut the audio to total_samples (default true); turn off for a source that starts mid-stream. */
        public Builder trimToTotalSamples(boolean v) { trimToTotalSamples = v; return this; }
        /**
         * The safety net of a wait for room in a full ring (default 100 ms): the audio thread
         * wakes the decode thread as soon as it has read enough, so this only bounds a lost
         * wake-up.
         */
        public Builder fullWaitNanos(long v) { fullWaitNanos = v; return this; }

        /**
         * The source starts at frame {@code firstFrame} of the stream (total_samples then caps
         * what follows it), and the first {@code dropSamples} samples per channel are decoded
         * but not played (a seek's pre-roll).
         */
        public Builder startAt(long firstFrame, long dropSamples) {
            if (firstFrame < 0 || dropSamples < 0) {
                throw new IllegalArgumentException("firstFrame and dropSamples must not be negative");
            }
            this.firstFrame = firstFrame;
            this.dropSamples = dropSamples;
            return this;
        }

        public DecodeLoop build() {
            if (outputChannels < 1) {
                throw new IllegalArgumentException("outputChannels must be positive");
            }
            int c = decoder.channels();
            if (c < 1 || (manifest != null && c != manifest.channels())) {
                throw new IllegalArgumentException("the decoder takes " + c + " channels per call"
                        + (manifest != null ? ", its manifest says " + manifest.channels() : ""));
            }
            return new DecodeLoop(this);
        }
    }

    private final PacketSource source;
    private final ChunkDecoder decoder;
    private final RingBuffer ring;
    private final int chunkFrames;
    private final int hop;
    private final int outChannels;
    private final PlayerStats stats;
    private final Manifest manifest;
    private final boolean trim;
    private final long fullWaitNanos;
    private final long firstFrame;

    private volatile boolean stopRequested;
    private volatile boolean done;
    private volatile Throwable failure;
    private volatile StreamHeader header;

    // decode-thread state
    private int channels, nQ;     // the stream's
    private int callChannels;     // C, the decoder's rows per call
    private int[][][][] callCodes; // [call][row]: a stream channel's pending codes (row ≥ S: channel S − 1)
    private ConcealmentPlanner planner;
    private int[][][] pending;    // [channel][q][K]: the chunk being gathered
    private int[] concealAt;      // per frame of the chunk: its first sample's offset in a conceal step, or -1
    private int[] concealLength;  // ... that step's fade-out length L
    private float[] concealLevel; // ... and the gain its fade-out starts from
    private int[] fadeInAt;       // per decoded frame: its first sample's offset after a gap, or -1 (gain 1)
    private int fill;
    private int[][] last;         // [channel][q]: the last frame's codes
    private float[][][] states;   // per call
    private float[][] audio;      // per channel, K·hop
    private float[] interleaved;
    private long samplesLeft;     // per channel, before the cut at total_samples
    private long dropLeft;        // per channel, pre-roll still to drop
    private float level;          // gain of the last decoded sample (0 before any)
    private long sinceGap = Long.MAX_VALUE; // samples decoded since the last conceal step

    private DecodeLoop(Builder b) {
        source = b.source;
        decoder = b.decoder;
        ring = b.ring;
        chunkFrames = b.chunkFrames;
        hop = b.hop;
        outChannels = b.outputChannels;
        stats = b.stats;
        manifest = b.manifest;
        trim = b.trimToTotalSamples;
        fullWaitNanos = b.fullWaitNanos;
        firstFrame = b.firstFrame;
        dropLeft = b.dropSamples;
    }

    public PlayerStats stats() { return stats; }

    /** The stream's header once the loop has it, else null. */
    public StreamHeader header() { return header; }

    /** Ask the loop to end after the current chunk (a wait for room ends at once); it then closes the ring. */
    public void stop() {
        stopRequested = true;
        ring.abortWaits();
    }

    /** True once {@link #run()} has returned. */
    public boolean isDone() { return done; }

    /** The error that ended the loop ({@link TqcException} for stream problems), or null. */
    public Throwable failure() { return failure; }

    @Override
    public void run() {
        try {
            loop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (GuardedDecoder.DecoderClosedException e) {
            stopRequested = true; // the decoder was closed under us: the session is ending, not failing
        } catch (TqcException | RuntimeException e) {
            failure = e;
        } finally {
            ring.close();
            done = true;
        }
    }

    private void loop() throws TqcException, InterruptedException {
        StreamHeader h = source.header();
        if (manifest != null) {
            manifest.checkCompatible(h);
        }
        if (h.hopLength() != hop) {
            throw new TqcException("invalid_argument", "stream hop_length " + h.hopLength()
                    + " differs from the decoder's hop " + hop);
        }
        if (h.channels() != outChannels && h.channels() != 1) {
            throw new TqcException("invalid_argument", "cannot play " + h.channels() + " channels on "
                    + outChannels + " output channels");
        }
        start(h);
        while (!stopRequested) {
            Packet p = source.next();
            stats.streamEvents.set(source.eventCount());
            if (p == null) {
                flush();
                break;
            }
            stats.damagedPackets.addAndGet(p.lostBefore());
            List<ConcealmentPlanner.Step> steps = planner.plan(p.sequence(), p.frames(), p.lostBefore());
            for (int i = 0; i < steps.size() && !stopRequested; i++) {
                ConcealmentPlanner.Step s = steps.get(i);
                switch (s.kind) {
                    case CONCEAL:
                        conceal((int) s.frames);
                        break;
                    case RESET:
                        resetState();
                        break;
                    default:
                        decodeFrames(p);
                }
            }
            stats.packetsDecoded.incrementAndGet();
        }
    }

    private void start(StreamHeader h) {
        header = h;
        channels = h.channels();
        nQ = h.nQ();
        planner = new ConcealmentPlanner(h.framesPerPacket(), hop);
        pending = new int[channels][nQ][chunkFrames];
        concealAt = new int[chunkFrames];
        concealLength = new int[chunkFrames];
        concealLevel = new float[chunkFrames];
        fadeInAt = new int[chunkFrames];
        last = new int[channels][nQ];
        callChannels = decoder.channels();
        int calls = (channels + callChannels - 1) / callChannels;
        callCodes = new int[calls][callChannels][][];
        for (int i = 0; i < calls; i++) {
            for (int r = 0; r < callChannels; r++) {
                callCodes[i][r] = pending[Math.min(i * callChannels + r, channels - 1)];
            }
        }
        states = new float[calls][][];
        resetStates();
        audio = new float[channels][chunkFrames * hop];
        interleaved = new float[chunkFrames * hop * outChannels];
        samplesLeft = trim && h.hasTotalSamples() && h.totalSamples() >= 0
                ? Math.max(0, h.totalSamples() - firstFrame * hop) : Long.MAX_VALUE;
        stats.setFrameSeconds((double) hop / h.sampleRate());
        stats.setChunkSeconds((double) chunkFrames * hop / h.sampleRate());
        stats.setBuffer(ring, outChannels, (int) Math.min(Integer.MAX_VALUE, h.sampleRate()));
    }

    private void decodeFrames(Packet p) throws InterruptedException {
        int[][][] codes = p.codes();
        int frames = p.frames();
        for (int f = 0; f < frames && !stopRequested; f++) {
            for (int c = 0; c < channels; c++) {
                for (int q = 0; q < nQ; q++) {
                    last[c][q] = codes[c][q][f];
                }
            }
            concealAt[fill] = -1;
            if (sinceGap < ConcealmentPlanner.FADE_SAMPLES) {
                fadeInAt[fill] = (int) sinceGap;
                level = ConcealmentPlanner.fadeIn(sinceGap + hop - 1);
            } else {
                fadeInAt[fill] = -1;
                level = 1f;
            }
            sinceGap = sinceGap >= Long.MAX_VALUE - hop ? Long.MAX_VALUE : sinceGap + hop;
            append();
        }
    }

    /** {@code frames} frames repeating the last codes, fading out from the current level. */
    private void conceal(int frames) throws InterruptedException {
        stats.concealedFrames.addAndGet(frames);
        int length = (int) Math.min(ConcealmentPlanner.FADE_SAMPLES, (long) frames * hop);
        float from = level;
        for (int k = 0; k < frames && !stopRequested; k++) {
            concealAt[fill] = k * hop;
            concealLength[fill] = length;
            concealLevel[fill] = from;
            fadeInAt[fill] = -1;
            append();
        }
        level = 0f;
        sinceGap = 0;
    }

    /** The plan's reset: finish the frames gathered so far, then start every channel's state afresh. */
    private void resetState() throws InterruptedException {
        stats.decoderResets.incrementAndGet();
        flush();
        resetStates();
    }

    private void resetStates() {
        for (int i = 0; i < states.length; i++) { // call 0 (channel 0) first
            states[i] = decoder.initState();
        }
    }

    private void append() throws InterruptedException {
        for (int c = 0; c < channels; c++) {
            for (int q = 0; q < nQ; q++) {
                pending[c][q][fill] = last[c][q];
            }
        }
        if (++fill == chunkFrames) {
            decodeChunk(chunkFrames);
        }
    }

    /** Pad the partial chunk with code 0 (as the offline decoder does at the end) and keep its frames. */
    private void flush() throws InterruptedException {
        if (fill == 0) {
            return;
        }
        int frames = fill;
        for (int f = fill; f < chunkFrames; f++) {
            for (int c = 0; c < channels; c++) {
                for (int q = 0; q < nQ; q++) {
                    pending[c][q][f] = 0;
                }
            }
        }
        decodeChunk(frames);
    }

    private float gain(int frame, int i) {
        int at = concealAt[frame];
        if (at >= 0) {
            return concealLevel[frame] * ConcealmentPlanner.fadeOut(at + i, concealLength[frame]);
        }
        int in = fadeInAt[frame];
        return in >= 0 ? ConcealmentPlanner.fadeIn(in + i) : 1f;
    }

    private void decodeChunk(int frames) throws InterruptedException {
        int samples = chunkFrames * hop;
        long t0 = System.nanoTime();
        for (int i = 0; i < callCodes.length; i++) {
            DecodedChunk out = decoder.decode(callCodes[i], states[i]);
            String bad = out == null || out.audio == null ? "no audio" : out.state == null ? "no state"
                    : out.audio.length != callChannels ? out.audio.length + " audio rows, expected " + callChannels : null;
            for (int r = 0; bad == null && r < callChannels; r++) {
                int c = i * callChannels + r;
                float[] row = out.audio[r];
                if (row == null || row.length < samples) {
                    bad = (row == null ? "no" : String.valueOf(row.length)) + " samples in row " + r + ", expected " + samples;
                } else if (c < channels) { // a row past the stream's channels is a copy: not played
                    System.arraycopy(row, 0, audio[c], 0, samples); // the decoder may reuse its array
                }
            }
            if (bad != null) {
                throw new IllegalStateException("decoder returned " + bad);
            }
            states[i] = out.state;
        }
        stats.chunkDecoded(System.nanoTime() - t0, frames);

        int n = (int) Math.min((long) frames * hop, samplesLeft);
        samplesLeft -= n;
        int from = (int) Math.min(n, dropLeft);
        dropLeft -= from;
        int k = 0;
        for (int i = from; i < n; i++) {
            int f = i / hop;
            float g = gain(f, i - f * hop);
            for (int o = 0; o < outChannels; o++) {
                interleaved[k++] = g * audio[channels == 1 ? 0 : o][i];
            }
        }
        fill = 0;
        writeAll(interleaved, k);
    }

    /** Write the chunk, sleeping while the ring is full until the audio thread has made room for all of it. */
    private void writeAll(float[] data, int length) throws InterruptedException {
        int off = 0;
        while (off < length && !stopRequested) {
            int n = ring.write(data, off, length - off);
            off += n;
            if (off < length) {
                ring.awaitFree(length - off, fullWaitNanos, TimeUnit.NANOSECONDS);
            }
        }
    }
}
