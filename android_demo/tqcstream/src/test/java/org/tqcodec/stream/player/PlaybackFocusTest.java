package org.tqcodec.stream.player;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.tqcodec.stream.player.PlaybackFocus.Event.BECOMING_NOISY;
import static org.tqcodec.stream.player.PlaybackFocus.Event.FOCUS_DENIED;
import static org.tqcodec.stream.player.PlaybackFocus.Event.FOCUS_GRANTED;
import static org.tqcodec.stream.player.PlaybackFocus.Event.FOCUS_LOSS;
import static org.tqcodec.stream.player.PlaybackFocus.Event.FOCUS_LOSS_TRANSIENT;
import static org.tqcodec.stream.player.PlaybackFocus.Event.FOCUS_LOSS_TRANSIENT_CAN_DUCK;
import static org.tqcodec.stream.player.PlaybackFocus.Event.USER_PAUSE;
import static org.tqcodec.stream.player.PlaybackFocus.Event.USER_PLAY;
import static org.tqcodec.stream.player.PlaybackFocus.Event.USER_STOP;

public class PlaybackFocusTest {
    static String on(PlaybackFocus f, PlaybackFocus.Event e) {
        return f.on(e).toString();
    }

    static PlaybackFocus playing() {
        PlaybackFocus f = new PlaybackFocus();
        assertEquals("request-focus", on(f, USER_PLAY));
        assertEquals("play", on(f, FOCUS_GRANTED));
        assertTrue(f.isPlaying() && f.hasFocus());
        return f;
    }

    @Test
    public void playAsksForFocusAndPlaysWhenGrantedNotBefore() {
        PlaybackFocus f = new PlaybackFocus();
        assertEquals("request-focus", on(f, USER_PLAY));
        assertFalse(f.isPlaying());
        assertEquals("nothing", on(f, FOCUS_DENIED));
        assertEquals("nothing", on(f, FOCUS_GRANTED)); // a late grant after a denial does not start playing
        assertFalse(f.isPlaying());
        assertEquals("play", on(f, USER_PLAY));       // holding focus: play at once
        assertEquals("nothing", on(f, USER_PLAY));
    }

    @Test
    public void aPermanentLossPausesGivesFocusUpAndNeverResumesByItself() {
        PlaybackFocus f = playing();
        assertEquals("pause abandon-focus", on(f, FOCUS_LOSS));
        assertEquals("nothing", on(f, FOCUS_GRANTED));
        assertFalse(f.isPlaying());
        assertEquals("play", on(f, USER_PLAY)); // the grant above gave focus back; the user restarts
    }

    @Test
    public void aTransientLossPausesAndTheGainResumes() {
        PlaybackFocus f = playing();
        assertEquals("pause", on(f, FOCUS_LOSS_TRANSIENT)); // a phone call
        assertEquals("play", on(f, FOCUS_GRANTED));
        // ... but not if the user paused in between
        assertEquals("pause", on(f, FOCUS_LOSS_TRANSIENT));
        assertEquals("nothing", on(f, USER_PAUSE));
        assertEquals("nothing", on(f, FOCUS_GRANTED));
        assertFalse(f.isPlaying());
        // ... and not if it was paused when the loss came
        assertEquals("nothing", on(f, FOCUS_LOSS_TRANSIENT));
        assertEquals("nothing", on(f, FOCUS_GRANTED));
        assertFalse(f.isPlaying());
    }

    @Test
    public void aDuckableLossLowersTheVolumeAndTheGainRestoresIt() {
        PlaybackFocus f = playing();
        assertEquals("volume=0.2", on(f, FOCUS_LOSS_TRANSIENT_CAN_DUCK)); // a notification sound
        assertTrue(f.isDucked() && f.isPlaying());
        assertEquals("nothing", on(f, FOCUS_LOSS_TRANSIENT_CAN_DUCK));
        assertEquals("volume=1.0", on(f, FOCUS_GRANTED));
        assertFalse(f.isDucked());
        assertTrue(f.isPlaying());
    }

    @Test
    public void headphonesUnpluggedPauseAndNothingResumesByItself() {
        PlaybackFocus f = playing();
        assertEquals("pause", on(f, BECOMING_NOISY));
        assertEquals("nothing", on(f, FOCUS_GRANTED));
        assertEquals("nothing", on(f, BECOMING_NOISY));
        assertFalse(f.isPlaying());
    }

    @Test
    public void stopPausesAndGivesFocusUp() {
        PlaybackFocus f = playing();
        assertEquals("pause abandon-focus", on(f, USER_STOP));
        assertFalse(f.hasFocus());
        assertEquals("request-focus", on(f, USER_PLAY));
    }
}
