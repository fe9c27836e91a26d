package org.tqcodec.stream.player;

import org.tqcodec.stream.Bitrate;
import org.tqcodec.stream.StreamHeader;

import java.util.Locale;

/**
 * What the player shows about a running session, one line per figure, from its
 * {@link PlayerStats}: the decoder's real-time factor, the buffer, underruns, the bit rate, and
 * the damage the stream took. Plain text so that the UI only sets it; read from any thread.
 */
public final class StatusLines {
    public final String realTime;
    public final String buffer;
    public final String underruns;
    public final String bitrate;
    public final String damage;
    public final String stream;

    private StatusLines(String realTime, String buffer, String underruns, String bitrate, String damage, String stream) {
        this.realTime = realTime;
        this.buffer = buffer;
        this.underruns = underruns;
        this.bitrate = bitrate;
        this.damage = damage;
        this.stream = stream;
    }

    /** The lines for a session now. {@code deviceUnderruns} < 0: the device does not say. */
    public static StatusLines of(PlayerSession s, int deviceUnderruns) {
        return of(s.stats(), s.header(), s.bytesReceived(), s.elapsedSeconds(), s.isBuffering(), deviceUnderruns);
    }

    /**
     * @param header the stream's header, null until it has arrived
     * @param bytesReceived bytes read from the source so far
     * @param elapsedSeconds since the session started
     */
    public static StatusLines of(PlayerStats st, StreamHeader header, long bytesReceived, double elapsedSeconds,
                                 boolean buffering, int deviceUnderruns) {
        double rtf = st.realTimeFactor();
        String realTime = Double.isNaN(rtf)
                ? "decode real-time factor: –"
                : f("decode real-time factor: %.3f (%.1f× real time, %d chunks)", rtf, rtf > 0 ? 1 / rtf : 0.0,
                st.chunksDecoded());
        String buffer = f("buffer: %.2f s%s", st.bufferedSeconds(), buffering ? " (filling)" : "");
        String underruns = "underruns: " + st.underruns()
                + (deviceUnderruns >= 0 ? " (AudioTrack: " + deviceUnderruns + ")" : "");
        String received = elapsedSeconds > 0
                ? f("received %.1f kbps", bytesReceived * 8 / elapsedSeconds / 1000)
                : "received –";
        String bitrate;
        String stream;
        if (header == null) {
            bitrate = "bitrate: waiting for the header; " + received;
            stream = "stream: –";
        } else {
            Bitrate b = Bitrate.of(header);
            bitrate = f("bitrate: %.1f kbps (codes %.1f, overhead %.2f %%); ", b.streamBps / 1000, b.codeBps / 1000,
                    100 * b.overhead) + received;
            stream = f("stream: %d Hz, %s, %d codebooks × %d bits, %d frames per packet", header.sampleRate(),
                    header.channels() == 1 ? "mono" : header.channels() == 2 ? "stereo" : header.channels() + " channels",
                    header.nQ(), header.bits(), header.framesPerPacket());
        }
        String damage = f("damaged packets: %d (%d frames concealed; %d reader events)", st.damagedPackets(),
                st.concealedFrames(), st.streamEvents());
        return new StatusLines(realTime, buffer, underruns, bitrate, damage, stream);
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    @Override
    public String toString() {
        return realTime + "\n" + buffer + "\n" + underruns + "\n" + bitrate + "\n" + damage + "\n" + stream;
    }
}
