package org.tqcodec.stream.player;

import org.tqcodec.stream.Packet;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TqcException;

import java.util.concurrent.locks.LockSupport;

/**
 * The decode thread's work: packets in, interleaved PCM into a {@link RingBuffer}.
 *
 * <p>Frames from the {@link PacketSource} are gathered into chunks of K = chunk_frames frames per
 * channel. Each full chunk goes through the {@link ChunkDecoder} once per channel, each channel
 * carrying its own state from chunk to chunk; the channels are interleaved (a mono stream is
 * copied to every output channel) and written to the ring, waiting while it is full. At the
 * end, a last partial chunk is padded with code 0 and only its real frames are kept, and the
 * audio is cut to total_samples when the header knows it (as {@code tqcodec decode} does).
 *
 * <p><b>Concealment</b>, as {@code tqcodec decode --lenient} does it: before a packet with
 * {@code lostBefore = n}, {@code n · frames_per_packet} frames are inserted that repeat the last
 * good frame's codes (zeros before any), so the decoder state stays continuous, and their audio is
 * zeroed afterwards. The number of missing packets is also read from the sequence numbers of
 * consecutive packets: a packet the reader dropped as {@code code_out_of_range} carries no
 * {@code lostBefore} on the next one but leaves a hole in the numbering, and is concealed too.
 *
 * <p>{@link #run()} returns at the end of the stream, on {@link #stop()}, or on an error, which
 * {@link #failure()} then holds; in every case it closes the ring so the consumer can drain it.
 * {@link #stop()} cannot interrupt a source blocked in a read: close its stream or interrupt the
 * thread as well.
 */
public final class DecodeLoop implements Runnable {
    private static final int SEQUENCE_MODULUS = 1 << 16;

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
        private long fullWaitNanos = 1_000_000;

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
        /** How long the producer parks when the ring is full (default 1 ms). */
        public Builder fullWaitNanos(long v) { fullWaitNanos = v; return this; }

        public DecodeLoop build() {
            if (outputChannels < 1) {
                throw new IllegalArgumentException("outputChannels must be positive");
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

    private volatile boolean stopRequested;
    private volatile boolean done;
    private volatile Throwable failure;
    private volatile StreamHeader header;

    // decode-thread state
    private int channels, nQ, framesPerPacket;
    private int[][][] pending;  // [channel][q][K]: the chunk being gathered
    private boolean[] muted;    // per frame of the chunk: concealed
    private int fill;
    private int[][] last;       // [channel][q]: last good frame
    private float[][][] states; // per channel
    private float[][] audio;    // per channel, K·hop
    private float[] interleaved;
    private long samplesLeft;   // per channel, before the cut at total_samples

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
    }

    public PlayerStats stats() { return stats; }

    /** The stream's header once the loop has it, else null. */
    public StreamHeader header() { return header; }

    /** Ask the loop to end after the current chunk; it then closes the ring. */
    public void stop() { stopRequested = true; }

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
        int lastSeq = -1;
        while (!stopRequested) {
            Packet p = source.next();
            stats.streamEvents.set(source.eventCount());
            if (p == null) {
                flush();
                break;
            }
            long lost = p.lostBefore();
            if (lastSeq >= 0) {
                int hole = Math.floorMod(p.sequence() - lastSeq - 1, SEQUENCE_MODULUS);
                if (hole < SEQUENCE_MODULUS / 2 && hole > lost) {
                    lost = hole;
                }
            }
            if (lost > 0) {
                stats.damagedPackets.addAndGet(lost);
                conceal(lost * framesPerPacket);
            }
            int[][][] codes = p.codes();
            int frames = p.frames();
            for (int f = 0; f < frames && !stopRequested; f++) {
                for (int c = 0; c < channels; c++) {
                    for (int q = 0; q < nQ; q++) {
                        last[c][q] = codes[c][q][f];
                    }
                }
                append(last, false);
            }
            lastSeq = p.sequence();
            stats.packetsDecoded.incrementAndGet();
        }
    }

    private void start(StreamHeader h) {
        header = h;
        channels = h.channels();
        nQ = h.nQ();
        framesPerPacket = h.framesPerPacket();
        pending = new int[channels][nQ][chunkFrames];
        muted = new boolean[chunkFrames];
        last = new int[channels][nQ];
        states = new float[channels][][];
        for (int c = 0; c < channels; c++) {
            states[c] = decoder.initState();
        }
        audio = new float[channels][chunkFrames * hop];
        interleaved = new float[chunkFrames * hop * outChannels];
        samplesLeft = trim && h.hasTotalSamples() && h.totalSamples() >= 0 ? h.totalSamples() : Long.MAX_VALUE;
        stats.setFrameSeconds((double) hop / h.sampleRate());
        stats.setBuffer(ring, outChannels, (int) Math.min(Integer.MAX_VALUE, h.sampleRate()));
    }

    private void conceal(long frames) throws InterruptedException {
        stats.concealedFrames.addAndGet(frames);
        for (long k = 0; k < frames && !stopRequested; k++) {
            append(last, true);
        }
    }

    private void append(int[][] frame, boolean mute) throws InterruptedException {
        for (int c = 0; c < channels; c++) {
            for (int q = 0; q < nQ; q++) {
                pending[c][q][fill] = frame[c][q];
            }
        }
        muted[fill] = mute;
        if (++fill == chunkFrames) {
            decodeChunk(chunkFrames);
        }
    }

    /** At the end: pad the partial chunk with code 0 (as the offline decoder does) and keep its frames. */
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
            muted[f] = false;
        }
        decodeChunk(frames);
    }

    private void decodeChunk(int frames) throws InterruptedException {
        int samples = chunkFrames * hop;
        long t0 = System.nanoTime();
        for (int c = 0; c < channels; c++) {
            DecodedChunk out = decoder.decode(pending[c], states[c]);
            if (out == null || out.audio == null || out.audio.length < samples || out.state == null) {
                throw new IllegalStateException("decoder returned " + (out == null || out.audio == null ? "no audio"
                        : out.state == null ? "no state" : out.audio.length + " samples, expected " + samples));
            }
            System.arraycopy(out.audio, 0, audio[c], 0, samples); // the decoder may reuse its array
            states[c] = out.state;
        }
        stats.decodeNanos.addAndGet(System.nanoTime() - t0);
        stats.chunksDecoded.incrementAndGet();
        stats.decodedFrames.addAndGet(frames);

        int n = (int) Math.min((long) frames * hop, samplesLeft);
        samplesLeft -= n;
        int k = 0;
        for (int i = 0; i < n; i++) {
            boolean silent = muted[i / hop];
            for (int o = 0; o < outChannels; o++) {
                interleaved[k++] = silent ? 0f : audio[channels == 1 ? 0 : o][i];
            }
        }
        fill = 0;
        java.util.Arrays.fill(muted, false);
        writeAll(interleaved, k);
    }

    private void writeAll(float[] data, int length) throws InterruptedException {
        int off = 0;
        while (off < length && !stopRequested) {
            int n = ring.write(data, off, length - off);
            off += n;
            if (n == 0) {
                LockSupport.parkNanos(fullWaitNanos);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
        }
    }
}
