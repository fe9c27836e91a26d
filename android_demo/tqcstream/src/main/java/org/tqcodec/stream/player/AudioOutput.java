package org.tqcodec.stream.player;

/**
 * An {@link AudioSink} with an end: what a {@link PlayerSession} plays into (on Android an
 * {@code AudioTrack}). Every call comes from the session's audio thread.
 */
public interface AudioOutput extends AudioSink {
    /**
     * Called once, after the last {@link #write}: release the device.
     *
     * @param playToEnd true when the stream ended by itself (let what was written finish
     *     playing first, which may block this thread for the buffer's length); false when the
     *     session was stopped or failed (stop at once)
     */
    void finish(boolean playToEnd);

    /** Hold playback where it is (the session was paused); what was written stays queued. */
    default void pause() {
    }

    /** Go on after {@link #pause()}. */
    default void resume() {
    }
}
