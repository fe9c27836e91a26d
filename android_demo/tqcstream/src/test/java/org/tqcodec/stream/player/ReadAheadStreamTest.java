package org.tqcodec.stream.player;

import org.junit.Test;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TestStreams;

import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** The network thread's buffer: a stalled source does not hold back what is buffered; memory is bounded. */
public class ReadAheadStreamTest {
    static final ThreadFactory THREADS = new ThreadFactory() {
        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(r, "test-net");
            t.setDaemon(true);
            return t;
        }
    };

    /** Byte i is (i mod 251); gives {@code before} bytes, then blocks until released or closed, then {@code after}. */
    static class StallingSource extends InputStream {
        final long before, after;
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch stalled = new CountDownLatch(1);
        final AtomicLong handedOut = new AtomicLong();
        volatile boolean closed;

        StallingSource(long before, long after) {
            this.before = before;
            this.after = after;
        }

        @Override
        public int read() {
            throw new UnsupportedOperationException();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            long at = handedOut.get();
            if (at == before) {
                stalled.countDown();
                try {
                    while (!closed && !release.await(10, TimeUnit.MILLISECONDS)) {
                        // a network read blocked on a silent peer; close() ends it, as a socket's does
                    }
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
                if (closed) {
                    throw new IOException("socket closed");
                }
            }
            if (at >= before + after) {
                return -1;
            }
            int n = (int) Math.min(len, (at < before ? before : before + after) - at);
            for (int i = 0; i < n; i++) {
                b[off + i] = (byte) ((at + i) % 251);
            }
            handedOut.addAndGet(n);
            return n;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    static long readAll(InputStream in, long expectFrom, long count) throws IOException {
        byte[] buf = new byte[333];
        long got = 0;
        while (got < count) {
            int n = in.read(buf, 0, (int) Math.min(buf.length, count - got));
            if (n < 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                assertEquals((byte) ((expectFrom + got + i) % 251), buf[i]);
            }
            got += n;
        }
        return got;
    }

    @Test(timeout = 10_000)
    public void aStalledSourceDoesNotHoldBackWhatIsBuffered() throws Exception {
        StallingSource src = new StallingSource(10_000, 5_000);
        ReadAheadStream in = new ReadAheadStream(src, 64 * 1024, 4096, THREADS);
        in.start();
        assertTrue(src.stalled.await(5, TimeUnit.SECONDS)); // the network has stopped after 10 000 bytes
        long t0 = System.nanoTime();
        assertEquals(10_000, readAll(in, 0, 10_000));      // ... and the decoder still gets all of them at once
        assertTrue((System.nanoTime() - t0) < TimeUnit.SECONDS.toNanos(2));
        assertEquals(0, in.available());
        src.release.countDown();
        assertEquals(5_000, readAll(in, 10_000, 5_000));
        assertEquals(-1, in.read(new byte[10], 0, 10));
        in.close();
    }

    @Test(timeout = 10_000)
    public void memoryIsBoundedAFastSourceWaitsForTheReader() throws Exception {
        StallingSource src = new StallingSource(Long.MAX_VALUE / 2, 0); // endless and fast
        ReadAheadStream in = new ReadAheadStream(src, 10_000, 1000, THREADS);
        in.start();
        Thread.sleep(200);
        // the buffer plus the one chunk the network thread holds, however long it ran
        assertTrue("read from the source: " + src.handedOut.get(), src.handedOut.get() <= 10_000 + 1000);
        assertEquals(10_000, in.buffered());
        assertEquals(50_000, readAll(in, 0, 50_000)); // reading makes room: back-pressure, nothing lost
        Thread.sleep(100);
        assertTrue(src.handedOut.get() <= 50_000 + 10_000 + 1000);
        in.close();
        assertTrue(src.closed);
    }

    @Test(timeout = 10_000)
    public void aSourceErrorArrivesAfterItsBytesAndCloseEndsABlockedRead() throws Exception {
        InputStream failing = new InputStream() {
            int n;

            @Override
            public int read() throws IOException {
                if (n < 3) {
                    return n++;
                }
                throw new IOException("connection reset");
            }
        };
        ReadAheadStream in = new ReadAheadStream(failing, 100, 10, THREADS);
        in.start();
        byte[] b = new byte[10];
        int got = 0;
        try {
            while (true) {
                int n = in.read(b, got, b.length - got);
                got += n;
            }
        } catch (IOException e) {
            assertEquals("connection reset", e.getMessage());
        }
        assertEquals(3, got);

        final StallingSource src = new StallingSource(0, 10);
        final ReadAheadStream stalled = new ReadAheadStream(src, 100, 10, THREADS);
        stalled.start();
        Thread closer = new Thread(new Runnable() {
            @Override
            public void run() {
                try {
                    Thread.sleep(100);
                    stalled.close();
                } catch (InterruptedException | IOException e) {
                    throw new AssertionError(e);
                }
            }
        });
        closer.start();
        try {
            stalled.read(b, 0, 10); // blocks: nothing buffered, the network silent
            fail("a closed stream cannot be read");
        } catch (IOException expected) {
            // stop() closes the input: the decode thread leaves its read
        }
        closer.join();
        assertTrue(src.closed);
    }

    /** A session whose network stalls after 20 packets plays all 20 while the read is still blocked. */
    @Test(timeout = 20_000)
    public void aSessionPlaysEverythingThatArrivedWhileTheNetworkIsStalled() throws Exception {
        StreamHeader h = PlayerSessionTest.header(1, 400);
        int[][][] codes = TestStreams.randomCodes(h, 400, 12);
        final byte[] bytes = TestStreams.stream(h, codes);
        final int arrived = StreamHeader.HEADER_SIZE + 20 * h.packetSize(); // 20 packets of 8 frames
        StallingSource net = new StallingSource(arrived, 0) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                long at = handedOut.get();
                int n = super.read(b, off, len); // the pattern bytes; replaced by the stream's own
                if (n > 0) {
                    System.arraycopy(bytes, (int) at, b, off, n);
                }
                return n;
            }
        };
        PlayerSessionTest.Device dev = new PlayerSessionTest.Device(2, 64);
        PlayerSessionTest.Ending end = new PlayerSessionTest.Ending();
        PlayerSession s = PlayerSessionTest.session(net, new PlayerSessionTest.CodeEcho(), PlayerSessionTest.FP, dev,
                end).ringSeconds(1).prebufferSeconds(0).build(); // no refill threshold: play all that is decoded
        s.start();
        assertTrue(net.stalled.await(5, TimeUnit.SECONDS));
        long want = 20L * 8 * PlayerSessionTest.HOP * 2; // every arrived frame, stereo
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (dev.n < want && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals("played while the network read is still blocked (" + s.stats() + ", buffered " + s.bytesBuffered() + ")", want, dev.n);
        assertTrue(!s.isEnded());
        long t0 = System.nanoTime();
        s.stop(); // closes the source: the blocked read ends
        assertTrue(s.awaitEnd(5, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(2));
        assertTrue(net.closed);
        assertEquals(arrived, s.bytesReceived());
    }
}
