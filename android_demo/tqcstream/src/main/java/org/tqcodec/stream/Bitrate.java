package org.tqcodec.stream;

/**
 * Bit rates of a stream, in bits per second: Java's {@code bitrate(header)} and
 * {@code stream_bitrate(header, bytes, frames)} of {@code tqcodec/bitstream.py}
 * (docs/bitstream.md, "Overhead and bitrate").
 */
public final class Bitrate {
    /** Raw codes, all channels: channels · n_q · bits · frame rate. */
    public final double codeBps;
    /** What is sent or stored, all channels, overhead included. */
    public final double streamBps;
    /** {@code streamBps} / channels (overhead shared equally). */
    public final double streamBpsPerChannel;
    /** Extra bits over the raw code bits (0.0125 = 1.25 %); 0 for an empty stream. */
    public final double overhead;

    private Bitrate(StreamHeader h, double streamBits, double frames) {
        codeBps = (double) h.codesPerFrame() * h.bits() * h.frameRate();
        streamBps = frames > 0 ? streamBits * h.frameRate() / frames : 0.0;
        streamBpsPerChannel = streamBps / h.channels();
        overhead = frames > 0 ? streamBps / codeBps - 1.0 : 0.0;
    }

    /** Steady-state rate of a stream of full packets: what a network link must carry. */
    public static Bitrate of(StreamHeader h) {
        return new Bitrate(h, 8.0 * h.packetSize(), h.framesPerPacket());
    }

    /** Exact average rate of a whole stream: its bytes (header included) over its frames. */
    public static Bitrate ofStream(StreamHeader h, long streamBytes, long frames) {
        return new Bitrate(h, 8.0 * streamBytes, frames);
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%.3f kbps (codes %.3f kbps, overhead %.2f %%)",
                streamBps / 1000, codeBps / 1000, 100 * overhead);
    }
}
