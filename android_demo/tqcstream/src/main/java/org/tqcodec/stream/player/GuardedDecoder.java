package org.tqcodec.stream.player;

import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link ChunkDecoder} whose native backend can be closed from any thread at any time, even
 * while a call is running: the backend is closed exactly once, and never under a running call.
 *
 * <p>Why: ExecuTorch's {@code Module.destroy()} throws while a {@code forward} is running, and an
 * activity's {@code onDestroy} cannot wait for a chunk that may take a while. Calls hold a lock
 * for their whole length; {@link #close(long, TimeUnit)} marks the decoder closing (later calls
 * fail with {@link DecoderClosedException}, which the decode loop takes as "stop"), waits a
 * bounded time for the running call, and closes the backend if it got the lock. If the call is
 * still running when the wait ends, the decode thread closes the backend itself as the call
 * returns. Closing never throws: a backend's own failure to close is kept for
 * {@link #closeFailure()}.
 *
 * <p>The lock also keeps two sessions that share one decoder (the old one still finishing its
 * last chunk, the new one starting) from running calls at the same time.
 */
public final class GuardedDecoder implements ChunkDecoder {
    private final ChunkDecoder backend;
    private final Closeable release;
    private final ReentrantLock callLock = new ReentrantLock();
    private volatile boolean closing;
    private boolean released;              // under callLock
    private volatile Throwable closeFailure;

    /**
     * @param backend the decoder; its calls are serialised by this guard
     * @param release frees the backend's native resources (e.g. {@code module::destroy})
     */
    public GuardedDecoder(ChunkDecoder backend, Closeable release) {
        if (backend == null || release == null) {
            throw new NullPointerException("backend and release are required");
        }
        this.backend = backend;
        this.release = release;
    }

    /** For a backend that is its own {@link Closeable}. */
    public static <D extends ChunkDecoder & Closeable> GuardedDecoder of(D backend) {
        return new GuardedDecoder(backend, backend);
    }

    @Override
    public int channels() {
        return backend.channels(); // a fact of the artifact: no native call
    }

    @Override
    public float[][] initState() {
        return backend.initState(); // plain arrays: no native call
    }

    /** @throws DecoderClosedException once {@link #close} has been called */
    @Override
    public DecodedChunk decode(int[][][] codes, float[][] state) {
        callLock.lock();
        try {
            if (closing) {
                throw new DecoderClosedException();
            }
            return backend.decode(codes, state);
        } finally {
            if (closing) { // close() gave up waiting for this call: free the backend now that it returned
                releaseOnce();
            }
            callLock.unlock();
        }
    }

    /**
     * Stop accepting calls and free the backend, waiting at most {@code timeout} for a running
     * call. Any thread, any number of times; never throws.
     *
     * @return true if the backend is freed on return; false if a call was still running (the
     *     decode thread then frees it as that call returns) or this thread was interrupted
     */
    public boolean close(long timeout, TimeUnit unit) {
        closing = true;
        boolean locked;
        try {
            locked = callLock.tryLock(timeout, unit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        if (!locked) {
            return false;
        }
        try {
            releaseOnce();
            return true;
        } finally {
            callLock.unlock();
        }
    }

    public boolean isClosing() {
        return closing;
    }

    /** True once the backend has been freed. */
    public boolean isReleased() {
        callLock.lock();
        try {
            return released;
        } finally {
            callLock.unlock();
        }
    }

    /** What the backend threw when it was freed, or null. */
    public Throwable closeFailure() {
        return closeFailure;
    }

    private void releaseOnce() { // callers hold callLock
        if (released) {
            return;
        }
        released = true;
        try {
            release.close();
        } catch (IOException | RuntimeException e) {
            closeFailure = e;
        }
    }

    /** A call after {@link #close}: the session that made it is ending. */
    public static final class DecoderClosedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        public DecoderClosedException() {
            super("the decoder was closed");
        }
    }
}
