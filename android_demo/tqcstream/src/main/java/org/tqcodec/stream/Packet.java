package org.tqcodec.stream;

/**
 * One good packet, as a {@link StreamReader} delivers it.
 *
 * <p>{@code codes[c][q][f]}: channel {@code c}, codebook {@code q}, frame {@code f} of this
 * packet. {@code offset} is the stream offset of its sync word; {@code lostBefore} the number
 * of packets the reader found missing just before it (a player conceals
 * {@code lostBefore * frames_per_packet} frames). Arrays are handed over, not copied.
 */
public final class Packet {
    private final int sequence;
    private final long offset;
    private final int[][][] codes;
    private final int lostBefore;

    public Packet(int sequence, long offset, int[][][] codes, int lostBefore) {
        this.sequence = sequence;
        this.offset = offset;
        this.codes = codes;
        this.lostBefore = lostBefore;
    }

    /** Sequence number, 0..65535. */
    public int sequence() { return sequence; }

    /** Stream offset of the sync word. */
    public long offset() { return offset; }

    /** {@code [channels][n_q][frames]}; not copied. */
    public int[][][] codes() { return codes; }

    /** Packets lost just before this one (0 normally). */
    public int lostBefore() { return lostBefore; }

    public int channels() { return codes.length; }

    public int frames() { return codes.length == 0 || codes[0].length == 0 ? 0 : codes[0][0].length; }

    @Override
    public String toString() {
        return "Packet(sequence=" + sequence + ", offset=" + offset + ", frames=" + frames()
                + ", lost_before=" + lostBefore + ")";
    }
}
