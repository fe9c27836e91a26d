package org.tqcodec.stream.player;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Single-producer single-consumer ring of floats (the decode thread writes, the audio thread
 * reads). {@link #write} and {@link #read} never block or allocate: they move what fits and say
 * how much. Exactly one thread may write and one may read.
 *
 * <p>A side that can make no progress waits in {@link #awaitFree} or {@link #awaitAvailable}
 * instead of polling: it sleeps until the other side has moved far enough to let it continue,
 * which that side signals (only then, and only when someone waits), with the timeout only as a
 * safety net. A full ring therefore costs the decode thread no wake-ups at all.
 *
 * <p>Positions are running 64-bit counts, published with volatile stores after copying, so the
 * samples are visible before the position that covers them; the waiter publishes the position
 * it waits for before it checks the other side's position, and the mover checks it after
 * publishing its own, so a wake-up is never lost. {@link #close()} (producer, after its last
 * write) marks the end of the stream; {@link #abortWaits()} ends every wait for good (the
 * session is stopping).
 */
public final class RingBuffer {
    private static final long NONE = Long.MIN_VALUE;

    private final float[] data;
    private final int mask;
    private final AtomicLong writePos = new AtomicLong(); // written by the producer only
    private final AtomicLong readPos = new AtomicLong();  // written by the consumer only
    private volatile boolean closed;
    private volatile boolean aborted;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition moved = lock.newCondition();
    private volatile long producerWaitsFor = NONE; // the read position that frees the room it needs
    private volatile long consumerWaitsFor = NONE; // the write position that brings the samples it needs
    private final AtomicLong producerWakeups = new AtomicLong();
    private final AtomicLong consumerWakeups = new AtomicLong();

    /** @param minCapacity samples; rounded up to a power of two */
    public RingBuffer(int minCapacity) {
        if (minCapacity < 1 || minCapacity > (1 << 30)) {
            throw new IllegalArgumentException("capacity must be in [1, 2^30], got " + minCapacity);
        }
        int cap = Integer.highestOneBit(minCapacity);
        if (cap < minCapacity) {
            cap <<= 1;
        }
        data = new float[cap];
        mask = cap - 1;
    }

    public int capacity() {
        return data.length;
    }

    /** Samples ready to read (exact for the consumer, a lower bound for the producer). */
    public int available() {
        return (int) (writePos.get() - readPos.get());
    }

    /** Room to write (exact for the producer, a lower bound for the consumer). */
    public int free() {
        return data.length - available();
    }

    /** Producer: copy up to {@code len} samples in; return how many fit. */
    public int write(float[] src, int off, int len) {
        long w = writePos.get();
        int n = Math.min(len, data.length - (int) (w - readPos.get()));
        if (n <= 0) {
            return 0;
        }
        int at = (int) w & mask;
        int first = Math.min(n, data.length - at);
        System.arraycopy(src, off, data, at, first);
        System.arraycopy(src, off + first, data, 0, n - first);
        writePos.set(w + n);
        long waits = consumerWaitsFor;
        if (waits != NONE && w + n >= waits) {
            signal();
        }
        return n;
    }

    /** Consumer: copy up to {@code len} samples out; return how many there were. */
    public int read(float[] dst, int off, int len) {
        long r = readPos.get();
        int n = Math.min(len, (int) (writePos.get() - r));
        if (n <= 0) {
            return 0;
        }
        int at = (int) r & mask;
        int first = Math.min(n, data.length - at);
        System.arraycopy(data, at, dst, off, first);
        System.arraycopy(data, 0, dst, off + first, n - first);
        readPos.set(r + n);
        long waits = producerWaitsFor;
        if (waits != NONE && r + n >= waits) {
            signal();
        }
        return n;
    }

    /** Producer: no more writes will come. */
    public void close() {
        closed = true;
        signal();
    }

    /** Any thread: end every wait now and make later ones return at once (the session is stopping). */
    public void abortWaits() {
        aborted = true;
        signal();
    }

    /**
     * Producer: wait until {@code samples} (at most the capacity) can be written, the waits are
     * aborted, or the timeout passes.
     *
     * @return true if there is room now
     */
    public boolean awaitFree(int samples, long timeout, TimeUnit unit) throws InterruptedException {
        long target = writePos.get() + Math.min(samples, data.length) - data.length; // readPos must reach it
        if (readPos.get() >= target || aborted) {
            return readPos.get() >= target;
        }
        lock.lockInterruptibly();
        try {
            long left = unit.toNanos(timeout);
            producerWaitsFor = target;
            while (readPos.get() < target && !aborted && left > 0) {
                left = moved.awaitNanos(left);
                producerWakeups.incrementAndGet();
            }
            return readPos.get() >= target;
        } finally {
            producerWaitsFor = NONE;
            lock.unlock();
        }
    }

    /**
     * Consumer: wait until {@code samples} (at most the capacity) can be read, the stream is
     * closed, the waits are aborted, or the timeout passes.
     *
     * @return true if that many samples are there now
     */
    public boolean awaitAvailable(int samples, long timeout, TimeUnit unit) throws InterruptedException {
        long target = readPos.get() + Math.min(samples, data.length); // writePos must reach it
        if (writePos.get() >= target || closed || aborted) {
            return writePos.get() >= target;
        }
        lock.lockInterruptibly();
        try {
            long left = unit.toNanos(timeout);
            consumerWaitsFor = target;
            while (writePos.get() < target && !closed && !aborted && left > 0) {
                left = moved.awaitNanos(left);
                consumerWakeups.incrementAndGet();
            }
            return writePos.get() >= target;
        } finally {
            consumerWaitsFor = NONE;
            lock.unlock();
        }
    }

    /** Times the producer woke up inside {@link #awaitFree} (a signal or the safety-net timeout). */
    public long producerWakeups() {
        return producerWakeups.get();
    }

    /** Times the consumer woke up inside {@link #awaitAvailable}. */
    public long consumerWakeups() {
        return consumerWakeups.get();
    }

    private void signal() {
        lock.lock();
        try {
            moved.signalAll();
        } finally {
            lock.unlock();
        }
    }

    public boolean isClosed() {
        return closed;
    }

    /** Consumer: closed and everything read. */
    public boolean isDrained() {
        boolean c = closed; // read the flag first: writes before close() are then visible
        return c && available() == 0;
    }
}
