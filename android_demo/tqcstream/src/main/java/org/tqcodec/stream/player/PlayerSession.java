package org.tqcodec.stream.player;

import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.StreamReader;
import org.tqcodec.stream.TqcException;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * One stream played once: an {@link InputStream} (file, asset, HTTP body) read ahead by a
 * network thread into a bounded {@link ReadAheadStream}, through the streaming reader and a
 * {@link DecodeLoop} on a decode thread, into a {@link RingBuffer}, and from there through a
 * {@link PlaybackPump} into an {@link AudioOutput} on an audio thread. A network stall stalls
 * only the network thread; decoding never waits for the device and the device never waits for
 * the decoder (an empty ring is an underrun, counted). A thread that cannot go on sleeps until
 * the other side signals it (a timeout is only a safety net): a full ring or a paused session
 * costs no polling.
 *
 * <p>{@link #pause()} and {@link #resume()} hold and restart the output; decoding runs on until
 * the ring is full. Once {@link #pause()} has returned, nothing more is written to the output
 * (and {@link #positionSeconds()} stands still) until {@link #resume()}. A session built with
 * {@link Builder#seek} plays from a seek target ({@link SeekPlanner}): its input starts at the
 * plan's packet, and the pre-roll is dropped.
 *
 * <p>The reader runs in streaming mode with the manifest's fingerprint: damaged or lost packets
 * are skipped and concealed (counted in the stats), a stream made for other weights is refused.
 * Playback starts once {@code prebufferSeconds} are decoded, so a network stream plays long
 * before it has all arrived.
 *
 * <p>The session ends when the stream has been played to its end, when {@link #stop()} is
 * called, or when decoding fails (what was decoded is still played); then the output is
 * {@linkplain AudioOutput#finish finished}, the input stream is closed, and the
 * {@link Listener} hears once, from the audio thread.
 */
public final class PlayerSession {
    /** How a session ended. */
    public interface Listener {
        /**
         * Called once, from the audio thread, after the output was finished and decoding ended
         * (or, for a stopped session, after at most {@code stopWaitMillis} while one decoder call
         * still runs), and before {@link #awaitEnd} returns (so it must not wait for the session
         * itself).
         *
         * @param failure why decoding or playback failed ({@link TqcException} for the stream), or
         *     null when the stream played to its end or the session was stopped
         * @param stopped true if {@link #stop()} ended it
         */
        void onEnd(PlayerSession session, Throwable failure, boolean stopped);
    }

    /** Options. */
    public static final class Builder {
        private final InputStream in;
        private final ChunkDecoder decoder;
        private final Manifest manifest;
        private final AudioOutput output;
        private double ringSeconds = 2.0;
        private double prebufferSeconds = 0.5;
        private int maxWriteFrames = 1024;
        private int readChunkBytes = 4096;
        private int readAheadBytes = 64 * 1024;
        private long idleWaitNanos = 2_000_000;
        private long stopWaitMillis = 200;
        private String name;
        private Listener listener;
        private ThreadFactory decodeThreads = named("tqc-decode");
        private ThreadFactory audioThreads = named("tqc-audio");
        private ThreadFactory networkThreads = named("tqc-net");
        private StreamHeader seekHeader;
        private SeekPlanner.Plan seekPlan;

        /**
         * @param in the stream's bytes; the session owns it and closes it
         * @param decoder the artifact described by {@code manifest}
         * @param output where the audio goes; {@link AudioSink#channels()} output channels
         */
        public Builder(InputStream in, ChunkDecoder decoder, Manifest manifest, AudioOutput output) {
            if (in == null || decoder == null || manifest == null || output == null) {
                throw new NullPointerException("in, decoder, manifest and output are required");
            }
            this.in = in;
            this.decoder = decoder;
            this.manifest = manifest;
            this.output = output;
        }

        /** Decoded audio the ring holds (default 2 s); the decoder runs at most this far ahead. */
        public Builder ringSeconds(double v) { ringSeconds = v; return this; }
        /** Audio decoded before playback starts, and restarts after an underrun (default 0.5 s). */
        public Builder prebufferSeconds(double v) { prebufferSeconds = v; return this; }
        /** The most frames handed to the output in one write (default 1024). */
        public Builder maxWriteFrames(int v) { maxWriteFrames = v; return this; }
        /** Bytes asked of the input stream per read (default 4096). */
        public Builder readChunkBytes(int v) { readChunkBytes = v; return this; }
        /**
         * Bytes the network thread reads ahead of the decoder (default 64 KiB, 8 s of a 64 kbps
         * stream): a network stall is bridged by this much before the decoder waits.
         */
        public Builder readAheadBytes(int v) { readAheadBytes = v; return this; }
        /**
         * How long the audio thread sleeps when the output takes nothing and does not say how
         * big its buffer is (default 2 ms); an output that does ({@link AudioSink#bufferFrames})
         * is waited on for half its buffer.
         */
        public Builder idleWaitNanos(long v) { idleWaitNanos = v; return this; }
        /**
         * How long a stopped session waits for a decoder call still running (default 200 ms)
         * before it ends anyway; the call's audio is dropped when it returns.
         */
        public Builder stopWaitMillis(long v) { stopWaitMillis = v; return this; }
        /** The stream's name in error messages. */
        public Builder name(String v) { name = v; return this; }
        public Builder listener(Listener v) { listener = v; return this; }
        /** Where the decode thread comes from (e.g. to set its priority). */
        public Builder decodeThreads(ThreadFactory v) { decodeThreads = v; return this; }
        /** Where the audio thread comes from (on Android: one at THREAD_PRIORITY_AUDIO). */
        public Builder audioThreads(ThreadFactory v) { audioThreads = v; return this; }
        /** Where the thread that reads the input stream ahead of the decoder comes from. */
        public Builder networkThreads(ThreadFactory v) { networkThreads = v; return this; }

        /**
         * Play from a seek target: the input stream starts at {@code plan.byteOffset} of a stream
         * with this header (read from it before, e.g. by the session being replaced).
         */
        public Builder seek(StreamHeader header, SeekPlanner.Plan plan) {
            if (header == null || plan == null) {
                throw new NullPointerException("header and plan are required");
            }
            seekHeader = header;
            seekPlan = plan;
            return this;
        }

        /**
         * @throws IllegalArgumentException for sizes that cannot work
         * @throws TqcException {@code invalid_argument} if the manifest's fingerprint is unusable
         */
        public PlayerSession build() throws TqcException {
            if (!(ringSeconds > 0) || !(prebufferSeconds >= 0) || prebufferSeconds > ringSeconds
                    || maxWriteFrames < 1 || readChunkBytes < 1 || readAheadBytes < 1 || idleWaitNanos < 0
                    || stopWaitMillis < 1) {
                throw new IllegalArgumentException("bad session sizes: ring " + ringSeconds + " s, prebuffer "
                        + prebufferSeconds + " s, max write " + maxWriteFrames + ", read chunk " + readChunkBytes);
            }
            return new PlayerSession(this);
        }
    }

    private static ThreadFactory named(final String name) {
        return new ThreadFactory() {
            @Override
            public Thread newThread(Runnable r) {
                Thread t = new Thread(r, name);
                t.setDaemon(true);
                return t;
            }
        };
    }

    /** The longest a thread sleeps without being signalled (ms): the safety net for a lost wake-up. */
    static final long SAFETY_NET_MILLIS = 100;

    private final CountingInputStream in;
    private final ReadAheadStream readAhead;
    private final RingBuffer ring;
    private final long sinkWaitNanos;
    private final int sampleRate;
    private final long startFrameSample; // the first played sample's index in the stream (a seek's target)
    private final Object wake = new Object(); // the audio thread's sleeps: stop, pause and resume notify it
    private boolean pauseRequested;           // under wake
    // Held by the audio thread for each look at pauseRequested and the pump() it allows, and taken
    // by pause() after it sets the flag: so pause() returns only once a block the audio thread
    // had already taken from the ring has been written, and no write starts after that.
    private final Object pumping = new Object();
    private final AudioOutput output;
    private final PlayerStats stats = new PlayerStats();
    private final DecodeLoop loop;
    private final PlaybackPump pump;
    private final long idleWaitNanos;
    private final long stopWaitMillis;
    private final Listener listener;
    private final Thread decodeThread;
    private final Thread audioThread;
    private final CountDownLatch ended = new CountDownLatch(1);
    private final Object startLock = new Object();
    private boolean started;
    private volatile boolean stopRequested;
    private volatile Throwable failure;
    private volatile long startNanos;

    private PlayerSession(Builder b) throws TqcException {
        in = new CountingInputStream(b.in);
        readAhead = new ReadAheadStream(in, b.readAheadBytes, b.readChunkBytes, b.networkThreads);
        output = b.output;
        idleWaitNanos = b.idleWaitNanos;
        stopWaitMillis = b.stopWaitMillis;
        listener = b.listener;
        int channels = output.channels();
        int rate = b.manifest.sampleRate();
        sampleRate = rate;
        ring = new RingBuffer((int) Math.min(1 << 30, Math.ceil(b.ringSeconds * rate) * channels));
        StreamReader.Builder rb = new StreamReader.Builder().strict(false)
                .expectedFingerprint(b.manifest.fingerprint()).path(b.name);
        if (b.seekPlan != null) { // joining mid-stream at a packet boundary: any first sequence number
            rb.header(b.seekHeader).firstSequence(null).offset(b.seekPlan.byteOffset);
        }
        DecodeLoop.Builder lb = new DecodeLoop.Builder(new ReaderPacketSource(readAhead, rb.build(), b.readChunkBytes),
                b.decoder, ring, b.manifest).outputChannels(channels).stats(stats);
        if (b.seekPlan != null) {
            lb.startAt(b.seekPlan.firstFrame, b.seekPlan.dropSamples);
        }
        loop = lb.build();
        startFrameSample = b.seekPlan == null ? 0 : b.seekPlan.startSample;
        int prebuffer = (int) Math.min(ring.capacity() / channels, Math.round(b.prebufferSeconds * rate));
        pump = new PlaybackPump(ring, output, stats, prebuffer, b.maxWriteFrames);
        int sinkFrames = output.bufferFrames();
        sinkWaitNanos = sinkFrames > 0 ? (long) (sinkFrames / 2 * 1e9 / rate) : idleWaitNanos;
        decodeThread = b.decodeThreads.newThread(new Runnable() {
            @Override
            public void run() {
                try {
                    loop.run();
                } finally {
                    closeInput();
                }
            }
        });
        audioThread = b.audioThreads.newThread(new Runnable() {
            @Override
            public void run() {
                audioLoop();
            }
        });
    }

    /** Start the network, decode and audio threads. Once only. */
    public void start() {
        synchronized (startLock) {
            if (started) {
                throw new IllegalStateException("a session plays once");
            }
            started = true;
        }
        startNanos = System.nanoTime();
        readAhead.start();
        decodeThread.start();
        audioThread.start();
    }

    /**
     * End the session soon: decoding stops after the current chunk, the input stream is closed
     * (which ends a read blocked on the network) and the output is stopped. Returns at once;
     * {@link #awaitEnd} waits for it. Any thread.
     */
    public void stop() {
        synchronized (wake) {
            stopRequested = true;
            wake.notifyAll();
        }
        loop.stop();
        closeInput();
        decodeThread.interrupt();
        synchronized (startLock) {
            if (!started) { // nothing will run: end here
                started = true;
                ended.countDown();
            }
        }
    }

    /**
     * Hold the output (the audio thread sleeps until {@link #resume()}); decoding fills the ring
     * and waits. Any thread. When this returns, nothing more is written to the output until
     * {@link #resume()}: a write the audio thread had already begun (one {@code pump()}, which
     * never blocks: at most {@code maxWriteFrames}) is finished first, so this may wait that long.
     * The output's own {@link AudioOutput#pause()} follows soon after, on the audio thread.
     */
    public void pause() {
        synchronized (wake) {
            pauseRequested = true;
            wake.notifyAll();
        }
        synchronized (pumping) {
            // nothing to do: holding the lock once means the audio thread is not inside a pump()
            // that began before the flag was set, and every later one sees the flag
        }
    }

    /** Restart the output after {@link #pause()}. Any thread. */
    public void resume() {
        synchronized (wake) {
            pauseRequested = false;
            wake.notifyAll();
        }
    }

    public boolean isPaused() {
        synchronized (wake) {
            return pauseRequested;
        }
    }

    /**
     * Where playback is, in seconds from the start of the stream: the seek target plus the
     * audio handed to the output (ahead of the speaker by the device's buffer).
     */
    public double positionSeconds() {
        return (startFrameSample + stats.playedFrames()) / (double) sampleRate;
    }

    /** The stream's length in seconds from its header's total_samples; NaN if unknown or not yet read. */
    public double durationSeconds() {
        StreamHeader h = loop.header();
        return h != null && h.hasTotalSamples() ? h.totalSamples() / (double) h.sampleRate() : Double.NaN;
    }

    /** Wait until the session has ended (output finished, decoding ended or abandoned after a stop, listener called). */
    public boolean awaitEnd(long timeout, TimeUnit unit) throws InterruptedException {
        return ended.await(timeout, unit);
    }

    public boolean isEnded() {
        return ended.getCount() == 0;
    }

    public PlayerStats stats() { return stats; }

    /** The stream's header once it has arrived, else null. */
    public StreamHeader header() { return loop.header(); }

    /** Bytes read from the input stream so far (by the network thread: read ahead of the decoder). */
    public long bytesReceived() { return in.count(); }

    /** Bytes read from the input and not yet taken by the decoder. */
    public int bytesBuffered() { return readAhead.buffered(); }

    /** Seconds since {@link #start()} (0 before). */
    public double elapsedSeconds() {
        long t = startNanos;
        return t == 0 ? 0.0 : (System.nanoTime() - t) / 1e9;
    }

    /** Waiting for the buffer to fill (at the start or after an underrun). Audio thread's view. */
    public boolean isBuffering() { return pump.isBuffering(); }

    /** Why the session failed, once it has ended; null if it played to the end or was stopped. */
    public Throwable failure() { return failure; }

    /** If a pause is asked: hold the output, sleep until resume or stop, restart it. True if it paused. */
    private boolean holdWhilePaused() throws InterruptedException {
        synchronized (wake) {
            if (!pauseRequested) {
                return false;
            }
        }
        output.pause();
        synchronized (wake) {
            while (pauseRequested && !stopRequested) {
                wake.wait(10 * SAFETY_NET_MILLIS); // a safety net: resume() and stop() notify
                stats.audioWakeups.incrementAndGet();
            }
        }
        if (!stopRequested) {
            output.resume();
        }
        return true;
    }

    private void sleepUnlessWoken(long nanos) throws InterruptedException {
        synchronized (wake) {
            if (!stopRequested && !pauseRequested) {
                wake.wait(Math.max(1, nanos / 1_000_000), 0);
            }
            stats.audioWakeups.incrementAndGet();
        }
    }

    /**
     * Wait for the decode thread: without limit when the stream played to its end (it has
     * ended), at most {@code limitMillis} when the session was stopped or failed, since a decoder
     * call cannot be interrupted; the thread then ends by itself when that call returns (a
     * {@link GuardedDecoder} frees the decoder only after it). 0 means no limit.
     *
     * @return whether this thread was interrupted while waiting
     */
    private boolean joinDecodeThread(long limitMillis) {
        boolean interrupted = false;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limitMillis);
        while (decodeThread.isAlive()) {
            long left = limitMillis == 0 ? 0 : TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (limitMillis != 0 && left <= 0) {
                break;
            }
            try {
                decodeThread.join(left);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        return interrupted;
    }

    private void closeInput() {
        try {
            readAhead.close(); // closes the source too
        } catch (IOException ignored) {
            // closing is all that is asked; a stream that cannot close has nothing left to give
        }
    }

    private void audioLoop() {
        Throwable err = null;
        try {
            while (!stopRequested) {
                if (holdWhilePaused()) {
                    continue;
                }
                int frames;
                synchronized (pumping) {
                    if (isPaused()) { // asked since the look above: pause() waits on this lock
                        continue;
                    }
                    frames = pump.pump();
                }
                if (pump.isFinished()) {
                    break;
                }
                if (frames == 0) {
                    int need = pump.samplesAwaited();
                    if (need > 0) { // buffering: sleep until the decoder has written that much
                        ring.awaitAvailable(need, SAFETY_NET_MILLIS, TimeUnit.MILLISECONDS);
                    } else {        // the device is full: it plays half its buffer meanwhile
                        sleepUnlessWoken(sinkWaitNanos);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // nobody interrupts this thread but its owner: end
        } catch (RuntimeException e) { // the output failed: nothing more can be played
            err = e;
            loop.stop();
            closeInput();
        }
        boolean played = pump.isFinished() && !stopRequested && err == null;
        try {
            output.finish(played);
        } catch (RuntimeException e) {
            if (err == null) {
                err = e;
            }
        }
        if (!played) {
            loop.stop();
            closeInput();
            decodeThread.interrupt();
        }
        boolean interrupted = joinDecodeThread(played ? 0 : stopWaitMillis);
        boolean stopped = stopRequested;
        if (err == null && !stopped) {
            err = loop.failure();
        }
        failure = stopped ? null : err;
        try {
            if (listener != null) {
                listener.onEnd(this, failure, stopped);
            }
        } finally {
            ended.countDown();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
