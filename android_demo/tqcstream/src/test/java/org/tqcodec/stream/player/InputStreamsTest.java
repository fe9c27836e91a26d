package org.tqcodec.stream.player;

import org.junit.Test;

import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

public class InputStreamsTest {
    @Test
    public void skipsExactlyEvenWhenReadsAndSkipsComeShort() throws IOException {
        byte[] data = new byte[20_000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        InputStream trickle = new FilterInputStream(new ByteArrayInputStream(data)) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return super.read(b, off, Math.min(len, 7)); // a network read: a few bytes at a time
            }

            @Override
            public long skip(long n) {
                return 0; // allowed by InputStream's contract
            }
        };
        InputStreams.skipFully(trickle, 12_345, "song.tqc");
        assertEquals(data[12_345] & 0xff, trickle.read());
    }

    @Test
    public void aStreamShorterThanTheOffsetIsOneClearErrorAndIsClosed() {
        final boolean[] closed = {false};
        InputStream in = new ByteArrayInputStream(new byte[100]) {
            @Override
            public void close() {
                closed[0] = true;
            }
        };
        try {
            InputStreams.skipFully(in, 500, "song.tqc");
            fail("skipped past the end");
        } catch (IOException e) {
            assertEquals("song.tqc: ends at byte 100, before the seek offset 500", e.getMessage());
        }
        assertTrue(closed[0]);
    }
}
