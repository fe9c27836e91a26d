package org.tqcodec.stream.player;

/**
 * One exported decoder artifact, one channel at a time: K frames of codes plus state in, K·hop
 * samples plus the next state out (the manifest's call contract). The platform shell wraps its
 * backend (LiteRT, ExecuTorch, ...) in this; the tested core drives it.
 *
 * <p>The decode loop never modifies the arrays it is given or returns: it copies the audio out
 * before the next call and passes the returned state back unchanged on the next call for the
 * same channel. It reuses the {@code codes} arrays after the call returns, so an implementation
 * must not keep them. Calls come from one thread.
 */
public interface ChunkDecoder {
    /** A fresh state, one flat float array per state tensor in the manifest's order (zeros). */
    float[][] initState();

    /**
     * @param codes {@code [n_q][K]} codes of one channel (K = the manifest's chunk_frames)
     * @param state this channel's state from {@link #initState()} or the previous call
     * @return at least K·hop samples of audio (the first K·hop are used) and the next state
     */
    DecodedChunk decode(int[][] codes, float[][] state);
}
