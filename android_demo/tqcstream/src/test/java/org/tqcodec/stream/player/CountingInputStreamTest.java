package org.tqcodec.stream.player;

import org.junit.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

public class CountingInputStreamTest {
    @Test
    public void countsEveryByteReadOrSkipped() throws IOException {
        CountingInputStream in = new CountingInputStream(new ByteArrayInputStream(new byte[100]));
        assertEquals(0, in.read());
        assertEquals(1, in.count());
        assertEquals(10, in.read(new byte[10]));
        assertEquals(11, in.count());
        assertEquals(5, in.read(new byte[20], 3, 5));
        assertEquals(16, in.count());
        assertEquals(20, in.skip(20));
        assertEquals(36, in.count());
        assertEquals(64, in.read(new byte[200]));
        assertEquals(-1, in.read(new byte[1]));
        assertEquals(-1, in.read());
        assertEquals(100, in.count());
        assertFalse(in.markSupported());
    }
}
