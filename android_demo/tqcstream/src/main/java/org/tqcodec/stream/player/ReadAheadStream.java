package org.tqcodec.stream.player;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.ThreadFactory;

/**
 * The network's side of the player: a reader thread pulls bytes from a source (an HTTP body)
 * into a bounded buffer, and the decode thread reads them from this stream. A stalled network
 * then stalls only the reader thread; the decode thread goes on with what is buffered, and
 * blocks only when the buffer is empty.
 *
 * <p>Back-pressure: when the buffer is full the reader thread waits until the decode thread has
 * read, so memory stays at {@code capacity} bytes plus one read chunk however fast the source
 * is. Both sides wait on the buffer's monitor and are woken by the other side (no polling).
 * The end of the source, or its {@link IOException}, reaches the decode thread after the bytes
 * before it. {@link #close()} (any thread) closes the source, which ends a read blocked on the
 * network, and wakes both sides.
 */
public final class ReadAheadStream extends InputStream {
    private final InputStream source;
    private final byte[] buf;
    private final int readChunk;
    private final Thread reader;
    private int head;      // next byte to hand out
    private int count;     // bytes buffered
    private boolean ended; // the source ended (or failed: failure set)
    private IOException failure;
    private boolean closed;
    private boolean started;
    private long sourceBytes; // read from the source so far

    /**
     * @param capacity bytes buffered at most
     * @param readChunk bytes asked of the source per read
     * @param threads where the reader thread comes from
     */
    public ReadAheadStream(InputStream source, int capacity, int readChunk, ThreadFactory threads) {
        if (capacity < 1 || readChunk < 1) {
            throw new IllegalArgumentException("capacity and readChunk must be positive, got " + capacity + ", "
                    + readChunk);
        }
        this.source = source;
        this.buf = new byte[capacity];
        this.readChunk = readChunk;
        this.reader = threads.newThread(new Runnable() {
            @Override
            public void run() {
                pull();
            }
        });
    }

    /** Start the reader thread. Once. */
    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("already started");
        }
        started = true;
        reader.start();
    }

    /** Bytes waiting in the buffer now. */
    public synchronized int buffered() {
        return count;
    }

    /** Bytes read from the source so far. */
    public synchronized long sourceBytes() {
        return sourceBytes;
    }

    public int capacity() {
        return buf.length;
    }

    private void pull() {
        byte[] chunk = new byte[readChunk];
        IOException error = null;
        try {
            while (true) {
                int n = source.read(chunk, 0, chunk.length);
                if (n < 0) {
                    break;
                }
                if (!put(chunk, n)) {
                    return; // closed
                }
            }
        } catch (IOException e) {
            error = e;
        } catch (InterruptedException e) {
            return;
        }
        synchronized (this) {
            ended = true;
            failure = closed ? null : error;
            notifyAll();
        }
    }

    /** Reader thread: append n bytes, waiting while the buffer is full. False once closed. */
    private synchronized boolean put(byte[] chunk, int n) throws InterruptedException {
        sourceBytes += n;
        int off = 0;
        while (off < n) {
            while (count == buf.length && !closed) {
                wait();
            }
            if (closed) {
                return false;
            }
            int tail = (head + count) % buf.length;
            int k = Math.min(n - off, Math.min(buf.length - count, buf.length - tail));
            System.arraycopy(chunk, off, buf, tail, k);
            count += k;
            off += k;
            notifyAll();
        }
        return true;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    /** Decode thread: what is buffered (at most len), waiting only while nothing is. */
    @Override
    public synchronized int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (count == 0 && !ended && !closed) {
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for the network");
            }
        }
        if (closed) {
            throw new IOException("stream closed");
        }
        if (count == 0) {
            if (failure != null) {
                throw failure;
            }
            return -1;
        }
        int k = Math.min(len, Math.min(count, buf.length - head));
        System.arraycopy(buf, head, b, off, k);
        head = (head + k) % buf.length;
        count -= k;
        notifyAll();
        return k;
    }

    @Override
    public synchronized int available() {
        return count;
    }

    /** Close the source (ending a blocked network read) and wake both sides. Any thread, idempotent. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            notifyAll();
        }
        reader.interrupt();
        source.close();
    }
}
