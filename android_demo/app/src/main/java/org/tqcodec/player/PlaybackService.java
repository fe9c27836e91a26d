package org.tqcodec.player;

import android.app.Notification;
import android.app.NotificationChannel;
import android.app.NotificationManager;
import android.app.PendingIntent;
import android.app.Service;
import android.content.BroadcastReceiver;
import android.content.Context;
import android.content.Intent;
import android.content.IntentFilter;
import android.content.pm.ServiceInfo;
import android.graphics.drawable.Icon;
import android.media.AudioAttributes;
import android.media.AudioFocusRequest;
import android.media.AudioManager;
import android.media.MediaMetadata;
import android.media.session.MediaSession;
import android.media.session.PlaybackState;
import android.os.Build;
import android.os.Handler;
import android.os.IBinder;
import android.os.Looper;

import org.tqcodec.stream.player.PlaybackFocus;

/**
 * Background playback: a foreground service of type {@code mediaPlayback} (so the process keeps
 * playing with the screen off or another app in front), a {@link MediaSession} (lock screen,
 * headset buttons, Bluetooth and the media notification send play / pause / seek / stop here),
 * audio focus and {@code ACTION_AUDIO_BECOMING_NOISY}.
 *
 * <p>Thin on purpose: every decision is {@link PlaybackFocus}'s (tested on the JVM); this class
 * only turns Android's callbacks into its events and its decisions into calls on the
 * {@link Player}, which the activity registers. Everything runs on the main thread.
 */
public final class PlaybackService extends Service {
    /** What the service drives (the activity's player). Main thread. */
    interface Player {
        void play();

        void pause();

        void seekTo(double seconds);

        /** Stop and end the session (the user's stop, from the notification or a headset). */
        void stop();

        void setVolume(float volume);

        double positionSeconds();

        /** NaN when unknown. */
        double durationSeconds();

        String title();
    }

    static final String ACTION_PLAY = "org.tqcodec.player.PLAY";
    static final String ACTION_PAUSE = "org.tqcodec.player.PAUSE";
    static final String ACTION_TOGGLE = "org.tqcodec.player.TOGGLE";
    static final String ACTION_STOP = "org.tqcodec.player.STOP";
    /** The session ended by itself: give focus up and leave the foreground. */
    static final String ACTION_ENDED = "org.tqcodec.player.ENDED";
    /** Position or title changed: refresh the notification and the MediaSession. */
    static final String ACTION_UPDATE = "org.tqcodec.player.UPDATE";

    private static final String CHANNEL = "playback";
    private static final int NOTIFICATION_ID = 1;

    /** Set by the activity while it has a player; null otherwise. Main thread. */
    static Player player;

    private final PlaybackFocus focus = new PlaybackFocus();
    private AudioManager audio;
    private AudioFocusRequest focusRequest;
    private MediaSession media;
    private boolean noisyRegistered;

    private final BroadcastReceiver noisy = new BroadcastReceiver() {
        @Override
        public void onReceive(Context context, Intent intent) {
            if (AudioManager.ACTION_AUDIO_BECOMING_NOISY.equals(intent.getAction())) {
                apply(focus.on(PlaybackFocus.Event.BECOMING_NOISY));
            }
        }
    };

    /** Send an action; ACTION_PLAY starts the service in the foreground. Main thread. */
    static void command(Context context, String action) {
        Intent i = new Intent(context, PlaybackService.class).setAction(action);
        try {
            if (ACTION_PLAY.equals(action)) {
                context.startForegroundService(i);
            } else {
                context.startService(i);
            }
        } catch (IllegalStateException e) {
            // the app is in the background with no service running: nothing to pause or stop
        }
    }

    @Override
    public void onCreate() {
        super.onCreate();
        audio = getSystemService(AudioManager.class);
        focusRequest = new AudioFocusRequest.Builder(AudioManager.AUDIOFOCUS_GAIN)
                .setAudioAttributes(new AudioAttributes.Builder()
                        .setUsage(AudioAttributes.USAGE_MEDIA)
                        .setContentType(AudioAttributes.CONTENT_TYPE_MUSIC)
                        .build())
                .setWillPauseWhenDucked(false) // PlaybackFocus ducks by itself
                .setOnAudioFocusChangeListener(this::onFocusChange, new Handler(Looper.getMainLooper()))
                .build();
        media = new MediaSession(this, "tqc-player");
        media.setCallback(new MediaSession.Callback() {
            @Override
            public void onPlay() {
                play();
            }

            @Override
            public void onPause() {
                apply(focus.on(PlaybackFocus.Event.USER_PAUSE));
            }

            @Override
            public void onSeekTo(long positionMs) {
                Player p = player;
                if (p != null) {
                    p.seekTo(positionMs / 1000.0);
                }
            }

            @Override
            public void onStop() {
                stopByUser();
            }
        });
        media.setActive(true);
        getSystemService(NotificationManager.class).createNotificationChannel(
                new NotificationChannel(CHANNEL, getString(R.string.playback_channel), NotificationManager.IMPORTANCE_LOW));
        registerReceiver(noisy, new IntentFilter(AudioManager.ACTION_AUDIO_BECOMING_NOISY)); // a system broadcast
        noisyRegistered = true;
    }

    @Override
    public int onStartCommand(Intent intent, int flags, int startId) {
        if (Build.VERSION.SDK_INT >= 29) { // within the few seconds startForegroundService allows
            startForeground(NOTIFICATION_ID, notification(), ServiceInfo.FOREGROUND_SERVICE_TYPE_MEDIA_PLAYBACK);
        } else {
            startForeground(NOTIFICATION_ID, notification());
        }
        String action = intent == null ? null : intent.getAction();
        if (ACTION_PLAY.equals(action)) {
            play();
        } else if (ACTION_PAUSE.equals(action)) {
            apply(focus.on(PlaybackFocus.Event.USER_PAUSE));
        } else if (ACTION_TOGGLE.equals(action)) {
            if (focus.isPlaying()) {
                apply(focus.on(PlaybackFocus.Event.USER_PAUSE));
            } else {
                play();
            }
        } else if (ACTION_STOP.equals(action)) {
            stopByUser();
        } else if (ACTION_ENDED.equals(action)) {
            apply(focus.on(PlaybackFocus.Event.USER_STOP));
            leave();
        } else {
            refresh();
        }
        return START_NOT_STICKY; // a player without its activity has nothing to play
    }

    private void play() {
        apply(focus.on(PlaybackFocus.Event.USER_PLAY));
        Player p = player;
        if (focus.isPlaying() && p != null) {
            p.play(); // a new session (after a seek) starts held: play it if focus says so
        }
    }

    private void stopByUser() {
        apply(focus.on(PlaybackFocus.Event.USER_STOP));
        Player p = player;
        if (p != null) {
            p.stop();
        }
        leave();
    }

    private void leave() {
        stopForeground(STOP_FOREGROUND_REMOVE);
        stopSelf();
    }

    private void onFocusChange(int change) {
        switch (change) {
            case AudioManager.AUDIOFOCUS_GAIN:
                apply(focus.on(PlaybackFocus.Event.FOCUS_GRANTED));
                break;
            case AudioManager.AUDIOFOCUS_LOSS:
                apply(focus.on(PlaybackFocus.Event.FOCUS_LOSS));
                break;
            case AudioManager.AUDIOFOCUS_LOSS_TRANSIENT:
                apply(focus.on(PlaybackFocus.Event.FOCUS_LOSS_TRANSIENT));
                break;
            case AudioManager.AUDIOFOCUS_LOSS_TRANSIENT_CAN_DUCK:
                apply(focus.on(PlaybackFocus.Event.FOCUS_LOSS_TRANSIENT_CAN_DUCK));
                break;
            default:
                break;
        }
    }

    /** Carry out a decision (a focus request answers at once: its answer is fed back in). */
    private void apply(PlaybackFocus.Decision d) {
        Player p = player;
        if (d.requestFocus) {
            int r = audio.requestAudioFocus(focusRequest);
            apply(focus.on(r == AudioManager.AUDIOFOCUS_REQUEST_GRANTED
                    ? PlaybackFocus.Event.FOCUS_GRANTED : PlaybackFocus.Event.FOCUS_DENIED));
        }
        if (d.abandonFocus) {
            audio.abandonAudioFocusRequest(focusRequest);
        }
        if (p != null) {
            if (!Float.isNaN(d.volume)) {
                p.setVolume(d.volume);
            }
            if (d.play) {
                p.play();
            }
            if (d.pause) {
                p.pause();
            }
        }
        refresh();
    }

    /** The MediaSession's state and metadata, and the notification, from the player now. */
    private void refresh() {
        Player p = player;
        long positionMs = p == null ? 0 : (long) (1000 * p.positionSeconds());
        double duration = p == null ? Double.NaN : p.durationSeconds();
        media.setPlaybackState(new PlaybackState.Builder()
                .setActions(PlaybackState.ACTION_PLAY | PlaybackState.ACTION_PAUSE | PlaybackState.ACTION_PLAY_PAUSE
                        | PlaybackState.ACTION_STOP | (Double.isNaN(duration) ? 0 : PlaybackState.ACTION_SEEK_TO))
                .setState(focus.isPlaying() ? PlaybackState.STATE_PLAYING : PlaybackState.STATE_PAUSED, positionMs,
                        focus.isPlaying() ? 1f : 0f)
                .build());
        MediaMetadata.Builder meta = new MediaMetadata.Builder()
                .putString(MediaMetadata.METADATA_KEY_TITLE, p == null ? getString(R.string.app_name) : p.title());
        if (!Double.isNaN(duration)) {
            meta.putLong(MediaMetadata.METADATA_KEY_DURATION, (long) (1000 * duration));
        }
        media.setMetadata(meta.build());
        getSystemService(NotificationManager.class).notify(NOTIFICATION_ID, notification());
    }

    private Notification notification() {
        Player p = player;
        boolean playing = focus.isPlaying();
        PendingIntent toggle = PendingIntent.getService(this, 1,
                new Intent(this, PlaybackService.class).setAction(ACTION_TOGGLE),
                PendingIntent.FLAG_IMMUTABLE | PendingIntent.FLAG_UPDATE_CURRENT);
        PendingIntent stop = PendingIntent.getService(this, 2,
                new Intent(this, PlaybackService.class).setAction(ACTION_STOP),
                PendingIntent.FLAG_IMMUTABLE | PendingIntent.FLAG_UPDATE_CURRENT);
        PendingIntent open = PendingIntent.getActivity(this, 3, new Intent(this, MainActivity.class),
                PendingIntent.FLAG_IMMUTABLE | PendingIntent.FLAG_UPDATE_CURRENT);
        return new Notification.Builder(this, CHANNEL)
                .setSmallIcon(playing ? android.R.drawable.ic_media_play : android.R.drawable.ic_media_pause)
                .setContentTitle(p == null ? getString(R.string.app_name) : p.title())
                .setContentText(getString(playing ? R.string.playing : R.string.paused))
                .setContentIntent(open)
                .setOngoing(playing)
                .setVisibility(Notification.VISIBILITY_PUBLIC)
                .addAction(new Notification.Action.Builder(Icon.createWithResource(this,
                        playing ? android.R.drawable.ic_media_pause : android.R.drawable.ic_media_play),
                        getString(playing ? R.string.pause : R.string.resume), toggle).build())
                .addAction(new Notification.Action.Builder(Icon.createWithResource(this,
                        android.R.drawable.ic_menu_close_clear_cancel), getString(R.string.stop), stop).build())
                .setStyle(new Notification.MediaStyle().setMediaSession(media.getSessionToken())
                        .setShowActionsInCompactView(0, 1))
                .build();
    }

    @Override
    public void onDestroy() {
        if (noisyRegistered) {
            unregisterReceiver(noisy);
            noisyRegistered = false;
        }
        audio.abandonAudioFocusRequest(focusRequest);
        media.setActive(false);
        media.release();
        super.onDestroy();
    }

    @Override
    public IBinder onBind(Intent intent) {
        return null; // started, not bound
    }
}
