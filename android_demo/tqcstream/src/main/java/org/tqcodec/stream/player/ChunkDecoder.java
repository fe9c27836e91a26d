package org.tqcodec.stream.player;

/**
 * One exported decoder artifact: one chunk of K frames for all of its {@link #channels()}
 * channels per call, codes plus state in, K·hop samples per channel plus the next state out (the
 * manifest's call contract). The platform shell wraps its backend (LiteRT, ExecuTorch, ...) in
 * this; the tested core drives it. A mono artifact is the case C = 1, so mono and stereo
 * artifacts go through the same code.
 *
 * <p>Layout is planar ({@code channel_layout}): channel c is row c of the codes, of the audio
 * and of every state tensor. A state is one flat float array per state tensor in the manifest's
 * order, each holding all C rows ({@code [C, ...]} row-major), exactly what the runtime's
 * tensors hold; the decode loop never looks inside it.
 *
 * <p>The decode loop never modifies the arrays it is given or returns: it copies the audio out
 * before the next call and passes the returned state back unchanged on the next call for the
 * same channels. It reuses the {@code codes} arrays after the call returns, so an implementation
 * must not keep them. Calls come from one thread.
 */
public interface ChunkDecoder {
    /** C, the channels one call decodes (the manifest's {@code channels}: 1 or 2). */
    int channels();

    /** A fresh state for the C channels of one call ({@code state_init: zeros}). */
    float[][] initState();

    /**
     * @param codes {@code [C][n_q][K]} codes, row c for channel c (K = the manifest's chunk_frames)
     * @param state these channels' state from {@link #initState()} or the previous call
     * @return {@code [C][≥ K·hop]} audio (the first K·hop samples of each row are used) and the next state
     */
    DecodedChunk decode(int[][][] codes, float[][] state);
}
