package org.tqcodec.stream.player;

import java.io.IOException;
import java.io.InputStream;

/** Starting a stream at a byte offset (a seek) when its source can only be read from the start. */
public final class InputStreams {
    private InputStreams() {
    }

    /**
     * Read past the first {@code n} bytes ({@link InputStream#skip} may skip fewer, or none, and
     * not say why); closes {@code in} and names {@code name} if it ends first.
     */
    public static void skipFully(InputStream in, long n, String name) throws IOException {
        byte[] scratch = new byte[8192];
        long left = n;
        try {
            while (left > 0) {
                int k = in.read(scratch, 0, (int) Math.min(scratch.length, left));
                if (k < 0) {
                    throw new IOException(name + ": ends at byte " + (n - left) + ", before the seek offset " + n);
                }
                left -= k;
            }
        } catch (IOException e) {
            in.close();
            throw e;
        }
    }
}
