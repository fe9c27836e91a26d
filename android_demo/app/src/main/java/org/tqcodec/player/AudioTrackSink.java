package org.tqcodec.player;

import android.media.AudioAttributes;
import android.media.AudioFormat;
import android.media.AudioTrack;
import android.os.SystemClock;

import org.tqcodec.stream.player.AudioOutput;

/**
 * The device: an {@link AudioTrack} in streaming mode, 32-bit float PCM, written without ever
 * blocking ({@link AudioTrack#WRITE_NON_BLOCKING}) from the session's audio thread.
 *
 * <p>{@link #writableFrames()} is the room left in the track's buffer, counted from the frames
 * written minus the playback head. The track starts playing after its first write, so it does
 * not begin with an underrun of its own.
 */
final class AudioTrackSink implements AudioOutput {
    private final AudioTrack track;
    private final int channels;
    private final int sampleRate;
    private final int capacityFrames;
    private long framesWritten;
    private boolean playing;
    private volatile boolean released;
    private volatile int underrunsAtRelease;

    /**
     * @param bufferSeconds the track's buffer (at least the device's minimum): what the audio
     *     thread may write ahead of the speaker
     */
    AudioTrackSink(int sampleRate, int channels, double bufferSeconds) {
        if (channels != 1 && channels != 2) {
            throw new IllegalArgumentException("mono or stereo output only, not " + channels + " channels");
        }
        this.channels = channels;
        this.sampleRate = sampleRate;
        int mask = channels == 1 ? AudioFormat.CHANNEL_OUT_MONO : AudioFormat.CHANNEL_OUT_STEREO;
        int minBytes = AudioTrack.getMinBufferSize(sampleRate, mask, AudioFormat.ENCODING_PCM_FLOAT);
        if (minBytes <= 0) {
            throw new IllegalStateException("this device cannot play " + sampleRate + " Hz float PCM ("
                    + minBytes + ")");
        }
        int bytes = Math.max(minBytes, (int) Math.ceil(bufferSeconds * sampleRate) * channels * 4);
        track = new AudioTrack.Builder()
                .setAudioAttributes(new AudioAttributes.Builder()
                        .setUsage(AudioAttributes.USAGE_MEDIA)
                        .setContentType(AudioAttributes.CONTENT_TYPE_MUSIC)
                        .build())
                .setAudioFormat(new AudioFormat.Builder()
                        .setEncoding(AudioFormat.ENCODING_PCM_FLOAT)
                        .setSampleRate(sampleRate)
                        .setChannelMask(mask)
                        .build())
                .setTransferMode(AudioTrack.MODE_STREAM)
                .setBufferSizeInBytes(bytes)
                .build();
        if (track.getState() != AudioTrack.STATE_INITIALIZED) {
            track.release();
            throw new IllegalStateException("AudioTrack did not initialise (" + sampleRate + " Hz, " + channels
                    + " channels, float)");
        }
        capacityFrames = track.getBufferSizeInFrames();
    }

    @Override
    public int channels() {
        return channels;
    }

    /** Frames the track has been given and not yet played. */
    private int framesQueued() {
        // the head is an unsigned 32-bit frame count that wraps; the queue is far shorter than 2^32
        long head = track.getPlaybackHeadPosition() & 0xFFFFFFFFL;
        return (int) ((framesWritten - head) & 0xFFFFFFFFL);
    }

    @Override
    public int writableFrames() {
        return Math.max(0, capacityFrames - framesQueued());
    }

    @Override
    public int write(float[] interleaved, int offset, int samples) {
        int n = track.write(interleaved, offset, samples, AudioTrack.WRITE_NON_BLOCKING);
        if (n < 0) {
            throw new IllegalStateException("AudioTrack.write failed with code " + n);
        }
        framesWritten += n / channels;
        if (!playing && n > 0) {
            track.play();
            playing = true;
        }
        return n;
    }

    @Override
    public int bufferFrames() {
        return capacityFrames;
    }

    /** The session was paused: hold the track where it is (what was written stays queued). */
    @Override
    public void pause() {
        if (playing) {
            track.pause();
        }
    }

    @Override
    public void resume() {
        if (playing) {
            track.play();
        }
    }

    /** Ducking (audio focus): 0..1. Any thread; AudioTrack.setVolume is. */
    void setVolume(float volume) {
        if (!released) {
            track.setVolume(volume);
        }
    }

    /** The track's own underrun count (the device ran dry inside its buffer). Any thread. */
    int deviceUnderruns() {
        return released ? underrunsAtRelease : track.getUnderrunCount();
    }

    @Override
    public void finish(boolean playToEnd) {
        try {
            if (playToEnd && playing) {
                // let the queue play out while the head still counts (stop() resets it to zero)
                long deadline = SystemClock.uptimeMillis() + 1000L * framesQueued() / sampleRate + 500;
                while (framesQueued() > 0 && SystemClock.uptimeMillis() < deadline) {
                    SystemClock.sleep(10);
                }
                // what is left never started (below the device's start threshold) or stalled: in
                // streaming mode stop() plays it first; give it that long before release()
                int left = framesQueued();
                track.stop();
                if (left > 0) {
                    SystemClock.sleep(1000L * left / sampleRate + 100);
                }
            } else {
                track.pause();
                track.flush();
                track.stop();
            }
        } catch (IllegalStateException ignored) {
            // never played or already stopped: nothing to stop
        } finally {
            underrunsAtRelease = track.getUnderrunCount();
            released = true;
            track.release();
        }
    }
}
