package org.tqcodec.stream.player;

/** What {@link ChunkDecoder#decode} returns: the chunk's audio, one row per channel, and the next state. */
public final class DecodedChunk {
    /** {@code [C][samples]}: row c is channel c. */
    public final float[][] audio;
    public final float[][] state;

    public DecodedChunk(float[][] audio, float[][] state) {
        this.audio = audio;
        this.state = state;
    }
}
