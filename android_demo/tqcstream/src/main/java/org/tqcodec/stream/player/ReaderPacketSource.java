package org.tqcodec.stream.player;

import org.tqcodec.stream.Packet;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.StreamReader;
import org.tqcodec.stream.TqcException;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;

/**
 * Packets from an {@link InputStream} (file or network) through a {@link StreamReader}; for a
 * player, build the reader in streaming mode ({@code strict(false)}) with the artifact's
 * expected fingerprint. Reads in chunks of {@code chunkSize} bytes as packets are asked for.
 * The caller owns the stream: closing it from another thread unblocks a pending read.
 */
public final class ReaderPacketSource implements PacketSource {
    private final InputStream in;
    private final StreamReader reader;
    private final byte[] chunk;
    private final ArrayDeque<Packet> ready = new ArrayDeque<>();
    private boolean ended;

    public ReaderPacketSource(InputStream in, StreamReader reader, int chunkSize) {
        if (chunkSize < 1) {
            throw new IllegalArgumentException("chunkSize must be positive");
        }
        this.in = in;
        this.reader = reader;
        this.chunk = new byte[chunkSize];
    }

    public ReaderPacketSource(InputStream in, StreamReader reader) {
        this(in, reader, 4096);
    }

    @Override
    public StreamHeader header() throws TqcException {
        while (reader.header() == null && !ended) {
            readMore();
        }
        return reader.header(); // finish() has thrown truncated_header if it never came
    }

    @Override
    public Packet next() throws TqcException {
        while (ready.isEmpty() && !ended) {
            readMore();
        }
        return ready.poll();
    }

    @Override
    public int eventCount() {
        return reader.events().size();
    }

    public StreamReader reader() {
        return reader;
    }

    private void readMore() throws TqcException {
        int n;
        try {
            n = in.read(chunk);
        } catch (IOException e) {
            throw new TqcException("io_error", "cannot read: " + e.getMessage());
        }
        if (n < 0) {
            ended = true;
            ready.addAll(reader.finish());
        } else {
            ready.addAll(reader.feed(chunk, 0, n));
        }
    }
}
