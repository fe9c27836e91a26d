package org.tqcodec.stream.player;

import org.tqcodec.stream.Packet;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TqcException;

/** Where the decode loop gets packets: a file, a socket, a test. Called from the decode thread. */
public interface PacketSource {
    /** The stream's header; may block until it has arrived. */
    StreamHeader header() throws TqcException, InterruptedException;

    /** The next good packet, in stream order, or null at the end of the stream; may block. */
    Packet next() throws TqcException, InterruptedException;

    /** Damage reports so far (streaming-mode events of the reader behind it). */
    int eventCount();
}
