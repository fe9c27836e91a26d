package org.tqcodec.stream.player;

/**
 * What a music player does about audio focus and headphones, as a state machine fed events:
 * the Android shell maps {@code AudioManager} focus changes, {@code ACTION_AUDIO_BECOMING_NOISY}
 * and the user's buttons (on screen, notification, MediaSession) to {@link Event}s, and carries
 * out the {@link Decision} it gets back. The rules (Android's "Manage audio focus" guidance):
 *
 * <ul>
 *   <li>play asks for focus first, and plays once it is granted;</li>
 *   <li>a permanent loss pauses, gives focus up, and does not resume by itself;</li>
 *   <li>a transient loss pauses, and a gain resumes if it was playing;</li>
 *   <li>a transient loss that allows ducking lowers the volume, and a gain restores it;</li>
 *   <li>headphones unplugged ("becoming noisy") pause, and nothing resumes by itself.</li>
 * </ul>
 *
 * Not thread-safe: feed it from one thread (the main thread, where Android delivers all three).
 */
public final class PlaybackFocus {
    /** The volume while ducked. */
    public static final float DUCK_VOLUME = 0.2f;

    /** What happened. */
    public enum Event {
        USER_PLAY, USER_PAUSE, USER_STOP,
        FOCUS_GRANTED, FOCUS_DENIED,
        FOCUS_LOSS, FOCUS_LOSS_TRANSIENT, FOCUS_LOSS_TRANSIENT_CAN_DUCK,
        BECOMING_NOISY
    }

    /** What the shell does now; everything false / unchanged means nothing to do. */
    public static final class Decision {
        public final boolean play;
        public final boolean pause;
        public final boolean requestFocus;
        public final boolean abandonFocus;
        /** The output volume to set, or NaN to leave it. */
        public final float volume;

        Decision(boolean play, boolean pause, boolean requestFocus, boolean abandonFocus, float volume) {
            this.play = play;
            this.pause = pause;
            this.requestFocus = requestFocus;
            this.abandonFocus = abandonFocus;
            this.volume = volume;
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder();
            if (play) b.append("play ");
            if (pause) b.append("pause ");
            if (requestFocus) b.append("request-focus ");
            if (abandonFocus) b.append("abandon-focus ");
            if (!Float.isNaN(volume)) b.append("volume=").append(volume).append(' ');
            return b.length() == 0 ? "nothing" : b.toString().trim();
        }
    }

    private boolean playing;      // the output runs
    private boolean hasFocus;
    private boolean playWhenGranted;
    private boolean resumeOnGain; // paused by a transient loss
    private boolean ducked;

    public boolean isPlaying() { return playing; }

    public boolean hasFocus() { return hasFocus; }

    public boolean isDucked() { return ducked; }

    public Decision on(Event e) {
        boolean play = false, pause = false, request = false, abandon = false;
        float volume = Float.NaN;
        switch (e) {
            case USER_PLAY:
                resumeOnGain = false;
                if (hasFocus) {
                    play = !playing;
                } else {
                    playWhenGranted = true;
                    request = true;
                }
                break;
            case USER_PAUSE:
                pause = playing;
                playWhenGranted = false;
                resumeOnGain = false;
                break;
            case FOCUS_GRANTED:
                hasFocus = true;
                if (ducked) {
                    ducked = false;
                    volume = 1f;
                }
                if ((playWhenGranted || resumeOnGain) && !playing) {
                    play = true;
                }
                playWhenGranted = false;
                resumeOnGain = false;
                break;
            case FOCUS_DENIED:
                playWhenGranted = false;
                break;
            case USER_STOP:
            case FOCUS_LOSS: // both end the session: pause and give focus up for good
                pause = playing;
                abandon = hasFocus;
                hasFocus = false;
                playWhenGranted = false;
                resumeOnGain = false;
                break;
            case FOCUS_LOSS_TRANSIENT:
                resumeOnGain = playing || resumeOnGain;
                pause = playing;
                hasFocus = false;
                break;
            case FOCUS_LOSS_TRANSIENT_CAN_DUCK:
                if (playing && !ducked) {
                    ducked = true;
                    volume = DUCK_VOLUME;
                }
                break;
            case BECOMING_NOISY:
                pause = playing;
                resumeOnGain = false;
                playWhenGranted = false;
                break;
            default:
                throw new IllegalArgumentException(String.valueOf(e));
        }
        if (play) {
            playing = true;
        }
        if (pause) {
            playing = false;
        }
        return new Decision(play, pause, request, abandon, volume);
    }
}
