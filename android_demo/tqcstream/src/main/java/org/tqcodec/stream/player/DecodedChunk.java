package org.tqcodec.stream.player;

/** What {@link ChunkDecoder#decode} returns: one channel's audio for the chunk, and its next state. */
public final class DecodedChunk {
    public final float[] audio;
    public final float[][] state;

    public DecodedChunk(float[] audio, float[][] state) {
        this.audio = audio;
        this.state = state;
    }
}
