package org.tqcodec.stream.player;

import org.junit.Test;

import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

public class RingBufferTest {
    @Test
    public void capacityIsAPowerOfTwo() {
        assertEquals(1, new RingBuffer(1).capacity());
        assertEquals(8, new RingBuffer(5).capacity());
        assertEquals(1024, new RingBuffer(1024).capacity());
    }

    @Test
    public void writesAndReadsWhatFitsAcrossTheWrap() {
        RingBuffer r = new RingBuffer(8);
        float[] in = {1, 2, 3, 4, 5, 6};
        assertEquals(6, r.write(in, 0, 6));
        float[] out = new float[8];
        assertEquals(4, r.read(out, 0, 4));
        assertEquals(4f, out[3], 0);
        assertEquals(6, r.write(new float[] {7, 8, 9, 10, 11, 12, 13}, 0, 7)); // 2 left + 6 free
        assertEquals(8, r.available());
        assertEquals(0, r.free());
        assertEquals(0, r.write(in, 0, 1));
        assertEquals(8, r.read(out, 0, 100));
        float[] want = {5, 6, 7, 8, 9, 10, 11, 12};
        for (int i = 0; i < 8; i++) {
            assertEquals(want[i], out[i], 0);
        }
        assertEquals(0, r.read(out, 0, 1));
        assertFalse(r.isDrained());
        r.close();
        assertTrue(r.isDrained());
    }

    @Test(timeout = 60_000)
    public void twoThreadStress() throws Exception {
        final int total = 3_000_000;
        final RingBuffer ring = new RingBuffer(1000);
        final AtomicReference<String> problem = new AtomicReference<>();
        Thread producer = new Thread(() -> {
            Random rnd = new Random(1);
            float[] chunk = new float[700];
            int next = 0;
            while (next < total) {
                int n = Math.min(total - next, 1 + rnd.nextInt(chunk.length));
                for (int i = 0; i < n; i++) {
                    chunk[i] = next + i;
                }
                int off = 0;
                while (off < n) {
                    int w = ring.write(chunk, off, n - off);
                    if (w == 0) {
                        Thread.yield();
                    }
                    off += w;
                }
                next += n;
            }
            ring.close();
        }, "producer");
        producer.start();
        Random rnd = new Random(2);
        float[] buf = new float[900];
        int expected = 0;
        while (!ring.isDrained()) {
            int n = ring.read(buf, 0, 1 + rnd.nextInt(buf.length));
            if (n == 0) {
                Thread.yield();
            }
            for (int i = 0; i < n; i++) {
                if (buf[i] != expected + i && problem.get() == null) {
                    problem.set("sample " + (expected + i) + " read as " + buf[i]);
                }
            }
            expected += n;
            int avail = ring.available();
            if ((avail < 0 || avail > ring.capacity()) && problem.get() == null) {
                problem.set("available() = " + avail);
            }
        }
        producer.join();
        assertNull(problem.get());
        assertEquals(total, expected);
    }

    @Test(timeout = 10_000)
    public void aBlockedProducerSleepsUntilTheConsumerMakesRoomThenWakesOnce() throws Exception {
        final RingBuffer r = new RingBuffer(8);
        assertEquals(8, r.write(new float[8], 0, 8));
        final java.util.concurrent.CountDownLatch woke = new java.util.concurrent.CountDownLatch(1);
        final AtomicReference<Boolean> result = new AtomicReference<>();
        Thread producer = new Thread(new Runnable() {
            @Override
            public void run() {
                try {
                    result.set(r.awaitFree(3, 10, java.util.concurrent.TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    result.set(null);
                }
                woke.countDown();
            }
        });
        producer.start();
        Thread.sleep(100);
        assertEquals(1, woke.getCount());
        assertEquals(2, r.read(new float[2], 0, 2)); // not enough room yet: no wake-up
        Thread.sleep(50);
        assertEquals(1, woke.getCount());
        assertEquals(1, r.read(new float[1], 0, 1)); // now 3 free: the producer wakes
        assertTrue(woke.await(5, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(Boolean.TRUE, result.get());
        assertEquals(1, r.producerWakeups());
    }

    @Test(timeout = 10_000)
    public void aConsumerWaitEndsOnDataOnCloseOrOnAbortAndTimesOut() throws Exception {
        RingBuffer r = new RingBuffer(16);
        long t0 = System.nanoTime();
        assertFalse(r.awaitAvailable(4, 30, java.util.concurrent.TimeUnit.MILLISECONDS));
        assertTrue(System.nanoTime() - t0 >= 25_000_000L);
        r.write(new float[4], 0, 4);
        assertTrue(r.awaitAvailable(4, 1, java.util.concurrent.TimeUnit.SECONDS));
        r.close();
        assertFalse(r.awaitAvailable(8, 10, java.util.concurrent.TimeUnit.SECONDS)); // closed: no waiting
        RingBuffer full = new RingBuffer(4);
        full.write(new float[4], 0, 4);
        full.abortWaits();
        t0 = System.nanoTime();
        assertFalse(full.awaitFree(1, 10, java.util.concurrent.TimeUnit.SECONDS)); // aborted: no waiting
        assertTrue(System.nanoTime() - t0 < 1_000_000_000L);
    }
}
