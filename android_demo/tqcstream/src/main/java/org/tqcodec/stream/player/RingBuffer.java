package org.tqcodec.stream.player;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Lock-free single-producer single-consumer ring of floats (the decode thread writes, the audio
 * thread reads). Neither side ever blocks or allocates: {@link #write} and {@link #read} move
 * what fits and say how much. Exactly one thread may write and one may read.
 *
 * <p>Positions are running 64-bit counts; a side publishes its position with a release store
 * ({@code lazySet}) after copying, and reads the other side's with an acquire load, so the
 * samples are visible before the position that covers them. {@link #close()} (producer, after
 * its last write) marks the end of the stream.
 */
public final class RingBuffer {
    private final float[] data;
    private final int mask;
    private final AtomicLong writePos = new AtomicLong(); // written by the producer only
    private final AtomicLong readPos = new AtomicLong();  // written by the consumer only
    private volatile boolean closed;

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
        writePos.lazySet(w + n);
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
        readPos.lazySet(r + n);
        return n;
    }

    /** Producer: no more writes will come. */
    public void close() {
        closed = true;
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
