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
    /** Per-chunk decode times against the chunk's own length (the real-time budget). */
    public final String chunkTimes;
    /** Where playback is, of how long. */
    public final String position;

    private StatusLines(String realTime, String buffer, String underruns, String bitrate, String damage, String stream,
                        String chunkTimes, String position) {
        this.chunkTimes = chunkTimes;
        this.position = position;
        this.realTime = realTime;
        this.buffer = buffer;
        this.underruns = underruns;
        this.bitrate = bitrate;
        this.damage = damage;
        this.stream = stream;
    }

    /** The lines for a session now. {@code deviceUnderruns} < 0: the device does not say. */
    public static StatusLines of(PlayerSession s, int deviceUnderruns) {
        return of(s.stats(), s.header(), s.bytesReceived(), s.elapsedSeconds(), s.isBuffering(), deviceUnderruns,
                s.positionSeconds(), s.durationSeconds(), s.isPaused());
    }

    /** Without a position (NaN) or pause. */
    public static StatusLines of(PlayerStats st, StreamHeader header, long bytesReceived, double elapsedSeconds,
                                 boolean buffering, int deviceUnderruns) {
        return of(st, header, bytesReceived, elapsedSeconds, buffering, deviceUnderruns, Double.NaN, Double.NaN, false);
    }

    /**
     * A seek bar's value, 0..{@code max}, for a position in a stream of {@code durationSeconds}
     * (0 when the length is unknown).
     */
    public static int seekBarValue(double positionSeconds, double durationSeconds, int max) {
        if (!(durationSeconds > 0) || Double.isNaN(positionSeconds)) {
            return 0;
        }
        return (int) Math.max(0, Math.min(max, Math.round(positionSeconds / durationSeconds * max)));
    }

    /** The seek target in seconds for a seek bar's value (the inverse of {@link #seekBarValue}). */
    public static double seekBarSeconds(int value, int max, double durationSeconds) {
        return durationSeconds > 0 && max > 0 ? durationSeconds * Math.max(0, Math.min(max, value)) / max : 0.0;
    }

    /** m:ss.s */
    static String clock(double seconds) {
        long tenths = Math.round(seconds * 10);
        return f("%d:%04.1f", tenths / 600, (tenths % 600) / 10.0);
    }

    /**
     * @param header the stream's header, null until it has arrived
     * @param bytesReceived bytes read from the source so far
     * @param elapsedSeconds since the session started
     */
    public static StatusLines of(PlayerStats st, StreamHeader header, long bytesReceived, double elapsedSeconds,
                                 boolean buffering, int deviceUnderruns, double positionSeconds,
                                 double durationSeconds, boolean paused) {
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
                st.concealedFrames(), st.streamEvents())
                + (st.decoderResets() > 0 ? f("; %d long gaps skipped", st.decoderResets()) : "");
        String chunkTimes = st.chunksDecoded() == 0
                ? "chunk decode: –"
                : f("chunk decode: last %.1f ms, mean %.1f ms, max %.1f ms (a chunk is %.1f ms of audio)",
                1e3 * st.lastChunkSeconds(), 1e3 * st.meanChunkSeconds(), 1e3 * st.maxChunkSeconds(),
                1e3 * st.chunkSeconds());
        String position = Double.isNaN(positionSeconds) ? "position: –"
                : "position: " + clock(positionSeconds)
                + (durationSeconds >= 0 ? " / " + clock(durationSeconds) : " (length unknown)")
                + (paused ? " (paused)" : "");
        return new StatusLines(realTime, buffer, underruns, bitrate, damage, stream, chunkTimes, position);
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    @Override
    public String toString() {
        return position + "\n" + realTime + "\n" + chunkTimes + "\n" + buffer + "\n" + underruns + "\n" + bitrate
                + "\n" + damage + "\n" + stream;
    }
}
