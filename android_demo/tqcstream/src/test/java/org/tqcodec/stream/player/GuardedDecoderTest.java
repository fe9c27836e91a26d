package org.tqcodec.stream.player;

import org.junit.Test;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TestStreams;

import java.io.ByteArrayInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * Closing a decoder while a call runs, as an activity's onDestroy does: the backend is freed
 * exactly once, only after the running call returned, and closing never throws or hangs.
 */
public class GuardedDecoderTest {
    /** A backend like ExecuTorch's Module: freeing it during a call throws; its calls can be held. */
    static class BlockingBackend implements ChunkDecoder, Closeable {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch proceed = new CountDownLatch(1);
        final AtomicInteger running = new AtomicInteger();
        final AtomicInteger destroys = new AtomicInteger();
        final AtomicInteger callsReturned = new AtomicInteger();
        volatile int callsReturnedAtDestroy = -1;
        final PlayerSessionTest.CodeEcho echo = new PlayerSessionTest.CodeEcho();

        @Override
        public int channels() {
            return echo.channels();
        }

        @Override
        public float[][] initState() {
            return echo.initState();
        }

        @Override
        public DecodedChunk decode(int[][][] codes, float[][] state) {
            running.incrementAndGet();
            try {
                entered.countDown();
                boolean interrupted = false;
                while (proceed.getCount() > 0) { // a native call does not notice interrupts
                    try {
                        proceed.await();
                    } catch (InterruptedException e) {
                        interrupted = true;
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
                return echo.decode(codes, state);
            } finally {
                running.decrementAndGet();
                callsReturned.incrementAndGet();
            }
        }

        @Override
        public void close() {
            if (running.get() != 0) {
                throw new IllegalStateException("destroy() during forward"); // what ExecuTorch does
            }
            callsReturnedAtDestroy = callsReturned.get();
            destroys.incrementAndGet();
        }
    }

    @Test(timeout = 10_000)
    public void closeDuringACallFreesTheBackendOnceAfterTheCallReturns() throws Exception {
        final BlockingBackend backend = new BlockingBackend();
        final GuardedDecoder guard = GuardedDecoder.of(backend);
        final AtomicReference<Throwable> callError = new AtomicReference<>();
        Thread decodeThread = new Thread(new Runnable() {
            @Override
            public void run() {
                try {
                    guard.decode(new int[1][2][5], guard.initState());
                } catch (Throwable t) {
                    callError.set(t);
                }
            }
        });
        decodeThread.start();
        assertTrue(backend.entered.await(5, TimeUnit.SECONDS));

        long t0 = System.nanoTime();
        assertFalse("a running call keeps the backend", guard.close(50, TimeUnit.MILLISECONDS));
        assertTrue("close waits a bounded time", System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2));
        assertTrue(guard.isClosing());
        assertEquals(0, backend.destroys.get());

        backend.proceed.countDown(); // the call returns; the decode thread frees the backend
        decodeThread.join(5000);
        assertNull("the running call completes normally", callError.get());
        assertEquals(1, backend.destroys.get());
        assertEquals(1, backend.callsReturnedAtDestroy);
        assertTrue(guard.isReleased());
        assertNull(guard.closeFailure());

        assertTrue(guard.close(0, TimeUnit.MILLISECONDS)); // again: nothing more to do
        assertEquals(1, backend.destroys.get());
        try {
            guard.decode(new int[1][2][5], guard.initState());
            fail("a call after close must be refused");
        } catch (GuardedDecoder.DecoderClosedException expected) {
            // the decode loop takes this as the end of the session
        }
        assertEquals(1, backend.destroys.get());
    }

    @Test
    public void closeWithNoCallRunningFreesAtOnceAndAFailingFreeIsKeptNotThrown() {
        final AtomicInteger frees = new AtomicInteger();
        final IOException boom = new IOException("native free failed");
        GuardedDecoder guard = new GuardedDecoder(new PlayerSessionTest.CodeEcho(), new Closeable() {
            @Override
            public void close() throws IOException {
                frees.incrementAndGet();
                throw boom;
            }
        });
        assertTrue(guard.close(0, TimeUnit.MILLISECONDS));
        assertTrue(guard.close(0, TimeUnit.MILLISECONDS));
        assertEquals(1, frees.get());
        assertSame(boom, guard.closeFailure());
    }

    /** The app's endSession + onDestroy: stop, wait for the end briefly, close the decoder. */
    @Test(timeout = 20_000)
    public void aStoppedSessionEndsPromptlyWhileItsDecoderCallIsStillRunning() throws Exception {
        StreamHeader h = PlayerSessionTest.header(1, 200);
        byte[] bytes = TestStreams.stream(h, TestStreams.randomCodes(h, 200, 4));
        BlockingBackend backend = new BlockingBackend();
        GuardedDecoder guard = GuardedDecoder.of(backend);
        PlayerSessionTest.Device dev = new PlayerSessionTest.Device(2, 64);
        PlayerSessionTest.Ending end = new PlayerSessionTest.Ending();
        PlayerSession s = PlayerSessionTest.session(new ByteArrayInputStream(bytes), guard, PlayerSessionTest.FP,
                dev, end).stopWaitMillis(100).build();
        s.start();
        assertTrue(backend.entered.await(5, TimeUnit.SECONDS));

        long t0 = System.nanoTime();
        s.stop();
        assertTrue(s.awaitEnd(2, TimeUnit.SECONDS));
        boolean freedNow = guard.close(0, TimeUnit.MILLISECONDS); // onDestroy: never waits, never throws
        double endMillis = (System.nanoTime() - t0) / 1e6;
        assertTrue("stop + end + close took " + endMillis + " ms", endMillis < 1000);
        assertFalse(freedNow);
        assertEquals(1, end.calls.get());
        assertTrue(end.stopped);
        assertNull(end.failure.get());
        assertEquals(0, backend.destroys.get());

        backend.proceed.countDown();
        for (int i = 0; i < 500 && backend.destroys.get() == 0; i++) {
            Thread.sleep(10);
        }
        assertEquals(1, backend.destroys.get());
        assertTrue(backend.callsReturnedAtDestroy >= 1);
        assertNull(guard.closeFailure());
    }

    /** Two sessions sharing one decoder (the old one finishing its last chunk): calls never overlap. */
    @Test(timeout = 20_000)
    public void callsFromTwoThreadsNeverOverlap() throws Exception {
        final AtomicInteger inside = new AtomicInteger();
        final AtomicInteger overlaps = new AtomicInteger();
        final GuardedDecoder guard = GuardedDecoder.of(new BlockingBackend() {
            @Override
            public DecodedChunk decode(int[][][] codes, float[][] state) {
                if (inside.incrementAndGet() > 1) {
                    overlaps.incrementAndGet();
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                inside.decrementAndGet();
                return echo.decode(codes, state);
            }
        });
        Thread[] threads = new Thread[2];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(new Runnable() {
                @Override
                public void run() {
                    for (int i = 0; i < 100; i++) {
                        guard.decode(new int[1][2][5], guard.initState());
                    }
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(0, overlaps.get());
    }
}
