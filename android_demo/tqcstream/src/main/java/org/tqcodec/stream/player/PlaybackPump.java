package org.tqcodec.stream.player;

/**
 * The audio thread's side: moves decoded PCM from the {@link RingBuffer} to the {@link AudioSink}
 * without blocking, and counts underruns.
 *
 * <p>Playback starts (and restarts after an underrun) once {@code prebufferFrames} frames are
 * buffered, or the stream has ended. An underrun is counted when the pump, while playing, finds
 * the buffer empty before the end of the stream; a stall counts once however long it lasts,
 * because the pump then waits to refill to {@code prebufferFrames} again. Call {@link #pump()}
 * from one thread, in a loop that, when it returns 0, waits for what {@link #samplesAwaited()}
 * names: that many samples in the ring ({@link RingBuffer#awaitAvailable}), or room in the sink.
 */
public final class PlaybackPump {
    private final RingBuffer ring;
    private final AudioSink sink;
    private final PlayerStats stats;
    private final int channels;
    private final int prebufferFrames;
    private final float[] scratch;
    private int held;      // samples in scratch that the sink has not taken yet
    private int heldOff;
    private boolean buffering = true;
    private boolean finished;
    private int awaited;   // after a pump() that moved nothing: ring samples wanted, 0 = the sink is full

    /**
     * @param prebufferFrames frames to gather before playing (and after an underrun); at most the
     *     ring's capacity in frames
     * @param maxWriteFrames the most frames handed to the sink in one write
     */
    public PlaybackPump(RingBuffer ring, AudioSink sink, PlayerStats stats, int prebufferFrames, int maxWriteFrames) {
        this.ring = ring;
        this.sink = sink;
        this.stats = stats;
        this.channels = sink.channels();
        if (channels < 1 || maxWriteFrames < 1 || prebufferFrames < 0
                || (long) prebufferFrames * channels > ring.capacity()) {
            throw new IllegalArgumentException("bad pump sizes: channels " + channels + ", prebuffer "
                    + prebufferFrames + ", max write " + maxWriteFrames + ", ring " + ring.capacity());
        }
        this.prebufferFrames = prebufferFrames;
        this.scratch = new float[maxWriteFrames * channels];
    }

    /**
     * Hand the sink what it can take now. Never blocks.
     *
     * @return frames written to the sink
     */
    public int pump() {
        if (finished) {
            return 0;
        }
        awaited = 0;
        int written = flushHeld();
        if (held > 0) {
            return written; // the sink is full
        }
        boolean closed = ring.isClosed(); // first: what was written before close() is then visible
        int availFrames = ring.available() / channels;
        if (availFrames == 0 && closed) {
            finished = true;
            return written;
        }
        if (buffering) {
            if (availFrames < prebufferFrames && !closed) {
                awaited = prebufferFrames * channels;
                return written;
            }
            buffering = false;
        }
        if (availFrames == 0) { // playing, and nothing to play: the decoder fell behind
            stats.underruns.incrementAndGet();
            buffering = true;
            awaited = Math.max(1, prebufferFrames) * channels;
            return written;
        }
        int frames = Math.min(Math.min(availFrames, sink.writableFrames()), scratch.length / channels);
        if (frames <= 0) {
            return written; // the sink is full
        }
        held = ring.read(scratch, 0, frames * channels);
        heldOff = 0;
        return written + flushHeld();
    }

    private int flushHeld() {
        if (held == 0) {
            return 0;
        }
        int can = Math.min(held, sink.writableFrames() * channels);
        int n = can > 0 ? sink.write(scratch, heldOff, can) : 0;
        held -= n;
        heldOff += n;
        stats.playedFrames.addAndGet(n / channels);
        return n / channels;
    }

    /**
     * What the last {@link #pump()} waits for: the ring samples it needs before it can go on
     * (the prebuffer, after a start or an underrun), or 0 when it waits for room in the sink.
     */
    public int samplesAwaited() {
        return awaited;
    }

    /** The stream has ended and everything reached the sink. */
    public boolean isFinished() {
        return finished;
    }

    /** Waiting to (re)fill before playing. */
    public boolean isBuffering() {
        return buffering;
    }
}
