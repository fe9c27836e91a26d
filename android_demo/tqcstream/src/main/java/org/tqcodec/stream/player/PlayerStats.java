package org.tqcodec.stream.player;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters shared by the decode thread (everything but underruns) and the audio thread
 * (underruns); read from any thread, e.g. a UI refreshing twice a second.
 */
public final class PlayerStats {
    final AtomicLong chunksDecoded = new AtomicLong();
    final AtomicLong packetsDecoded = new AtomicLong();
    final AtomicLong damagedPackets = new AtomicLong();
    final AtomicLong concealedFrames = new AtomicLong();
    final AtomicLong streamEvents = new AtomicLong();
    final AtomicLong decodeNanos = new AtomicLong();
    final AtomicLong decodedFrames = new AtomicLong();
    final AtomicLong underruns = new AtomicLong();
    final AtomicLong playedFrames = new AtomicLong();
    final AtomicLong decoderResets = new AtomicLong();
    final AtomicLong audioWakeups = new AtomicLong();
    private volatile long lastChunkNanos;
    private volatile long maxChunkNanos;
    private volatile double chunkSeconds; // audio per chunk, K·hop / sample_rate
    private volatile double frameSeconds; // seconds per codec frame, hop / sample_rate
    private volatile RingBuffer ring;
    private volatile int ringChannels = 1;
    private volatile int sampleRate;

    void setFrameSeconds(double s) {
        frameSeconds = s;
    }

    void setChunkSeconds(double s) {
        chunkSeconds = s;
    }

    /** Decode thread: one chunk (all channels) took {@code nanos} and yielded {@code frames} frames. */
    void chunkDecoded(long nanos, int frames) {
        decodeNanos.addAndGet(nanos);
        chunksDecoded.incrementAndGet();
        decodedFrames.addAndGet(frames);
        lastChunkNanos = nanos;
        if (nanos > maxChunkNanos) {
            maxChunkNanos = nanos;
        }
    }

    void setBuffer(RingBuffer ring, int channels, int sampleRate) {
        this.ringChannels = channels;
        this.sampleRate = sampleRate;
        this.ring = ring;
    }

    /** Decoded audio waiting in the ring buffer, in frames (samples per channel). */
    public int bufferedFrames() {
        RingBuffer r = ring;
        return r == null ? 0 : r.available() / ringChannels;
    }

    /** What the ring buffer holds when full, in frames (0 before the stream starts). */
    public int bufferCapacityFrames() {
        RingBuffer r = ring;
        return r == null ? 0 : r.capacity() / ringChannels;
    }

    /** Decoded audio waiting in the ring buffer, in seconds (0 before the stream starts). */
    public double bufferedSeconds() {
        int sr = sampleRate;
        return sr > 0 ? (double) bufferedFrames() / sr : 0.0;
    }

    /** Chunks of K frames (per channel, all channels together) that went through the decoder. */
    public long chunksDecoded() { return chunksDecoded.get(); }

    /** Good packets taken from the source. */
    public long packetsDecoded() { return packetsDecoded.get(); }

    /** Packets lost or damaged in the stream, whose frames were concealed. */
    public long damagedPackets() { return damagedPackets.get(); }

    /** Frames concealed (muted, decoder state carried by repeating the last good frame). */
    public long concealedFrames() { return concealedFrames.get(); }

    /** Problems the stream reader reported (bad CRC, lost sync, gaps, ...). */
    public long streamEvents() { return streamEvents.get(); }

    /** Codec frames decoded (concealed ones included, padding of the last chunk not). */
    public long decodedFrames() { return decodedFrames.get(); }

    /** Wall-clock time spent inside {@link ChunkDecoder#decode}, in seconds. */
    public double decodeSeconds() { return decodeNanos.get() / 1e9; }

    /** Seconds of audio decoded. */
    public double audioSeconds() { return decodedFrames.get() * frameSeconds; }

    /**
     * Decode time over audio time: below 1 the decoder keeps up (0.25 = four times faster than
     * real time). NaN before the first chunk.
     */
    public double realTimeFactor() {
        double audio = audioSeconds();
        return audio > 0 ? decodeSeconds() / audio : Double.NaN;
    }

    /** Times the audio thread found the buffer empty while playing (each stall counts once). */
    public long underruns() { return underruns.get(); }

    /** Audio frames (samples per channel) handed to the sink. */
    public long playedFrames() { return playedFrames.get(); }

    /** Gaps too long to conceal: the decoder state was reset and the missing time skipped. */
    public long decoderResets() { return decoderResets.get(); }

    /** Times the decode thread woke while waiting for room in a full ring. */
    public long decodeWakeups() {
        RingBuffer r = ring;
        return r == null ? 0 : r.producerWakeups();
    }

    /** Times the audio thread woke from a wait (for decoded audio, for room in the device, or in pause). */
    public long audioWakeups() {
        RingBuffer r = ring;
        return audioWakeups.get() + (r == null ? 0 : r.consumerWakeups());
    }

    /** Wall-clock time of the last chunk's decode (all channels), seconds; 0 before the first. */
    public double lastChunkSeconds() { return lastChunkNanos / 1e9; }

    /** The slowest chunk so far, seconds. */
    public double maxChunkSeconds() { return maxChunkNanos / 1e9; }

    /** Mean decode time per chunk, seconds; NaN before the first. */
    public double meanChunkSeconds() {
        long n = chunksDecoded.get();
        return n > 0 ? decodeNanos.get() / 1e9 / n : Double.NaN;
    }

    /** Audio per chunk, seconds: the budget a chunk's decode must stay under (0 before the stream starts). */
    public double chunkSeconds() { return chunkSeconds; }

    @Override
    public String toString() {
        return String.format("chunks %d, packets %d, damaged %d (%d frames concealed), events %d, RTF %.3f,"
                        + " buffer %.3f s, underruns %d", chunksDecoded(), packetsDecoded(), damagedPackets(),
                concealedFrames(), streamEvents(), realTimeFactor(), bufferedSeconds(), underruns());
    }
}
