package org.tqcodec.player;

import android.Manifest;
import android.app.Activity;
import android.content.Intent;
import android.content.SharedPreferences;
import android.content.pm.PackageManager;
import android.database.Cursor;
import android.net.Uri;
import android.os.Build;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.os.Process;
import android.provider.OpenableColumns;
import android.widget.ArrayAdapter;
import android.widget.Button;
import android.widget.EditText;
import android.widget.SeekBar;
import android.widget.Spinner;
import android.widget.TextView;

import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TqcException;
import org.tqcodec.stream.player.DecoderUnavailableException;
import org.tqcodec.stream.player.GuardedDecoder;
import org.tqcodec.stream.player.ManifestException;
import org.tqcodec.stream.player.PlayerSession;
import org.tqcodec.stream.player.SeekPlanner;
import org.tqcodec.stream.player.StatusLines;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The demo's one screen: pick a decoder and a stream (packaged, pushed, picked from storage, or
 * a URL), play, pause and seek it, and watch the position, the decoder's real-time factor and
 * per-chunk decode times, the buffer, underruns, the bit rate and the damage the stream took.
 *
 * <p>Threads: the main thread only touches views and asks for things; one worker thread loads
 * the decoder and opens sources (both block); a {@link PlayerSession} runs the network, decode
 * and audio threads. A newer request (a new stream, a seek) supersedes an older one still
 * connecting. A seek is a new session that starts at the {@link SeekPlanner}'s packet.
 *
 * <p>Play and pause go through the {@link PlaybackService} (foreground service, MediaSession,
 * audio focus, headphones unplugged), which calls back into this activity as its
 * {@link PlaybackService.Player}; a new session starts held until the service says play.
 */
public final class MainActivity extends Activity implements PlaybackService.Player {
    private static final int REQUEST_OPEN_DOCUMENT = 1;
    private static final int REQUEST_NOTIFICATIONS = 2;
    private static final int SEEK_BAR_MAX = 1000;
    private static final long REFRESH_MS = 250;
    /** XNNPACK threads: one, as the exports are benchmarked (manifest real_time_factor). */
    private static final int DECODER_THREADS = 1;
    private static final double RING_SECONDS = 2.0;
    private static final double PREBUFFER_SECONDS = 0.5;
    private static final double TRACK_BUFFER_SECONDS = 0.1;
    private static final int OUTPUT_CHANNELS = 2;
    private static final String PREFS = "player";
    private static final String PREF_URL = "url";

    private final Handler ui = new Handler(Looper.getMainLooper());
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "tqc-worker"));
    private final AtomicInteger request = new AtomicInteger();

    private ModelStore models;
    private Spinner modelSpinner;
    private Spinner streamSpinner;
    private EditText urlField;
    private TextView status;
    private TextView realTime;
    private TextView buffer;
    private TextView underruns;
    private TextView bitrate;
    private TextView damage;
    private TextView streamInfo;
    private TextView notes;
    private TextView position;
    private TextView chunkTimes;
    private SeekBar seekBar;
    private Button pauseButton;
    private boolean seeking; // the user is dragging the seek bar
    private PlayerSession announced; // the session whose length the MediaSession has been told

    // the current stream, for seeks (main thread)
    private ModelStore.Model currentModel;
    private StreamSource currentSource;

    // set by the worker, read on the main thread
    private volatile PlayerSession session;
    private volatile AudioTrackSink sink;
    // loaded and replaced by the worker; closed from the main thread too (onDestroy), which the
    // guard makes safe while a decode call runs
    private volatile GuardedDecoder decoder;
    private String decoderKey; // the worker's alone

    private final Runnable refresh = new Runnable() {
        @Override
        public void run() {
            showStats();
            ui.postDelayed(this, REFRESH_MS);
        }
    };

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        models = new ModelStore(this);
        modelSpinner = findViewById(R.id.model_spinner);
        streamSpinner = findViewById(R.id.stream_spinner);
        urlField = findViewById(R.id.url);
        status = findViewById(R.id.status);
        realTime = findViewById(R.id.real_time);
        buffer = findViewById(R.id.buffer);
        underruns = findViewById(R.id.underruns);
        bitrate = findViewById(R.id.bitrate);
        damage = findViewById(R.id.damage);
        streamInfo = findViewById(R.id.stream_info);
        notes = findViewById(R.id.notes);
        position = findViewById(R.id.position);
        chunkTimes = findViewById(R.id.chunk_times);
        seekBar = findViewById(R.id.seek);
        seekBar.setMax(SEEK_BAR_MAX);
        seekBar.setOnSeekBarChangeListener(new SeekBar.OnSeekBarChangeListener() {
            @Override
            public void onProgressChanged(SeekBar bar, int value, boolean fromUser) {
            }

            @Override
            public void onStartTrackingTouch(SeekBar bar) {
                seeking = true;
            }

            @Override
            public void onStopTrackingTouch(SeekBar bar) {
                seeking = false;
                PlayerSession s = session;
                if (s != null) {
                    seekTo(StatusLines.seekBarSeconds(bar.getProgress(), SEEK_BAR_MAX, s.durationSeconds()));
                }
            }
        });
        pauseButton = findViewById(R.id.pause);
        pauseButton.setOnClickListener(v -> PlaybackService.command(this, PlaybackService.ACTION_TOGGLE));
        PlaybackService.player = this;
        if (Build.VERSION.SDK_INT >= 33
                && checkSelfPermission(Manifest.permission.POST_NOTIFICATIONS) != PackageManager.PERMISSION_GRANTED) {
            // the media notification; playback works without it
            requestPermissions(new String[] {Manifest.permission.POST_NOTIFICATIONS}, REQUEST_NOTIFICATIONS);
        }
        urlField.setText(getSharedPreferences(PREFS, MODE_PRIVATE).getString(PREF_URL, ""));

        Button playLocal = findViewById(R.id.play_local);
        Button openFile = findViewById(R.id.open_file);
        Button playUrl = findViewById(R.id.play_url);
        Button stop = findViewById(R.id.stop);
        playLocal.setOnClickListener(v -> {
            StreamSource s = (StreamSource) streamSpinner.getSelectedItem();
            if (s == null) {
                status.setText("No local stream: push one to files/streams/ or pick a file (README.md)");
            } else {
                play(s);
            }
        });
        openFile.setOnClickListener(v -> {
            Intent pick = new Intent(Intent.ACTION_OPEN_DOCUMENT);
            pick.addCategory(Intent.CATEGORY_OPENABLE);
            pick.setType("*/*");
            startActivityForResult(pick, REQUEST_OPEN_DOCUMENT);
        });
        playUrl.setOnClickListener(v -> {
            String url = urlField.getText().toString().trim();
            SharedPreferences.Editor e = getSharedPreferences(PREFS, MODE_PRIVATE).edit();
            e.putString(PREF_URL, url);
            e.apply();
            play(StreamSource.url(url));
        });
        stop.setOnClickListener(v -> PlaybackService.command(this, PlaybackService.ACTION_STOP));
    }

    @Override
    protected void onResume() {
        super.onResume();
        refreshLists(); // files pushed while the app was away show up
    }

    @Override
    protected void onStart() {
        super.onStart();
        ui.post(refresh);
    }

    @Override
    protected void onStop() {
        ui.removeCallbacks(refresh);
        super.onStop();
    }

    @Override
    protected void onDestroy() {
        if (PlaybackService.player == this) {
            PlaybackService.player = null;
        }
        stopService(new Intent(this, PlaybackService.class));
        request.incrementAndGet();
        PlayerSession s = session;
        if (s != null) {
            s.stop();
        }
        GuardedDecoder d = decoder;
        if (d != null) {
            d.close(0, TimeUnit.MILLISECONDS); // never waits or throws; a running call frees it on return
        }
        worker.execute(this::releaseDecoder); // anything the worker loads meanwhile
        worker.shutdown();
        super.onDestroy();
    }

    @Override
    protected void onActivityResult(int requestCode, int resultCode, Intent data) {
        super.onActivityResult(requestCode, resultCode, data);
        if (requestCode == REQUEST_OPEN_DOCUMENT && resultCode == RESULT_OK && data != null && data.getData() != null) {
            Uri uri = data.getData();
            play(StreamSource.document(uri, displayName(uri)));
        }
    }

    private String displayName(Uri uri) {
        try (Cursor c = getContentResolver().query(uri, new String[] {OpenableColumns.DISPLAY_NAME}, null, null, null)) {
            if (c != null && c.moveToFirst() && !c.isNull(0)) {
                return c.getString(0);
            }
        } catch (RuntimeException ignored) {
            // a provider without a display name: fall back to the URI
        }
        String last = uri.getLastPathSegment();
        return last != null ? last : uri.toString();
    }

    /** Fill the two lists, keeping the selections that still exist. */
    private void refreshLists() {
        List<String> problems = new ArrayList<>();
        List<ModelStore.Model> modelList = models.list(problems);
        List<StreamSource> streams = StreamSource.local(this);
        Object model = modelSpinner.getSelectedItem();
        Object stream = streamSpinner.getSelectedItem();
        modelSpinner.setAdapter(adapter(modelList));
        streamSpinner.setAdapter(adapter(streams));
        select(modelSpinner, modelList, model);
        select(streamSpinner, streams, stream);
        StringBuilder text = new StringBuilder();
        File pushed = models.pushedDir();
        text.append("Decoders: ").append(pushed == null ? "(no external storage)" : pushed.getPath())
                .append(" or assets/models/. Streams: ")
                .append(pushed == null ? "" : new File(pushed.getParentFile(), StreamSource.DIR).getPath())
                .append(" or assets/streams/.");
        if (modelList.isEmpty()) {
            text.append("\nNo ExecuTorch decoder found: push a .pte with its .manifest.json (README.md).");
        }
        for (String p : problems) {
            text.append("\nskipped ").append(p);
        }
        notes.setText(text);
    }

    private <T> ArrayAdapter<T> adapter(List<T> items) {
        ArrayAdapter<T> a = new ArrayAdapter<>(this, android.R.layout.simple_spinner_item, items);
        a.setDropDownViewResource(android.R.layout.simple_spinner_dropdown_item);
        return a;
    }

    private static <T> void select(Spinner spinner, List<T> items, Object previous) {
        if (previous == null) {
            return;
        }
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i).toString().equals(previous.toString())) {
                spinner.setSelection(i);
                return;
            }
        }
    }

    private void play(StreamSource source) {
        ModelStore.Model model = (ModelStore.Model) modelSpinner.getSelectedItem();
        if (model == null) {
            status.setText("No decoder: push a .pte and its manifest first (README.md)");
            return;
        }
        startRequest(model, source, null, 0);
    }

    private void startRequest(ModelStore.Model model, StreamSource source, StreamHeader header, double seekSeconds) {
        int id = request.incrementAndGet();
        PlayerSession old = session;
        if (old != null) {
            old.stop();
        }
        currentModel = model;
        currentSource = source;
        status.setText((header == null ? "Opening " : "Seeking in ") + source.label + " …");
        worker.execute(() -> start(id, model, source, header, seekSeconds));
    }

    // PlaybackService.Player: the service's calls, on the main thread

    @Override
    public void play() {
        PlayerSession s = session;
        if (s != null) {
            s.resume();
        }
        pauseButton.setText(R.string.pause);
    }

    @Override
    public void pause() {
        PlayerSession s = session;
        if (s != null) {
            s.pause();
        }
        pauseButton.setText(R.string.resume);
    }

    /**
     * A new session from the packet the seek rule names, with the header the current one read.
     * The seek bar's end (and a MediaSession seek past it) means the last frame: the rule
     * refuses a start at or past the end.
     */
    @Override
    public void seekTo(double seconds) {
        PlayerSession s = session;
        StreamHeader h = s == null ? null : s.header();
        if (h == null || currentSource == null || currentModel == null) {
            return; // nothing playing, or its header has not arrived: nothing to seek in
        }
        double target = Math.max(0, seconds);
        if (h.hasTotalSamples()) {
            target = Math.min(target, (double) Math.max(0, h.nFrames() - 1) * h.hopLength() / h.sampleRate());
        }
        startRequest(currentModel, currentSource, h, target);
    }

    @Override
    public void stop() {
        request.incrementAndGet();
        PlayerSession s = session;
        if (s != null) {
            s.stop();
            status.setText("Stopping …");
        }
    }

    @Override
    public void setVolume(float volume) {
        AudioTrackSink out = sink;
        if (out != null) {
            out.setVolume(volume);
        }
    }

    @Override
    public double positionSeconds() {
        PlayerSession s = session;
        return s == null ? 0 : s.positionSeconds();
    }

    @Override
    public double durationSeconds() {
        PlayerSession s = session;
        return s == null ? Double.NaN : s.durationSeconds();
    }

    @Override
    public String title() {
        return currentSource == null ? getString(R.string.app_name) : currentSource.label;
    }

    /**
     * Worker thread: end the old session, load the decoder, open the source (at the seek's
     * packet when {@code header} is given), and start the session held: the service says play.
     */
    private void start(int id, ModelStore.Model model, StreamSource source, StreamHeader header, double seekSeconds) {
        endSession();
        if (id != request.get()) {
            return; // superseded or stopped while waiting
        }
        InputStream in = null;
        AudioTrackSink out = null;
        try {
            GuardedDecoder dec = decoderFor(model);
            post(id, "Connecting to " + source.label + " …");
            SeekPlanner.Plan plan = header == null ? null : SeekPlanner.plan(header, seekSeconds);
            in = source.open(this, plan == null ? 0 : plan.byteOffset);
            out = new AudioTrackSink(model.manifest.sampleRate(), OUTPUT_CHANNELS, TRACK_BUFFER_SECONDS);
            PlayerSession.Builder b = new PlayerSession.Builder(in, dec, model.manifest, out)
                    .name(source.label)
                    .ringSeconds(RING_SECONDS)
                    .prebufferSeconds(PREBUFFER_SECONDS)
                    .decodeThreads(threads("tqc-decode", Process.THREAD_PRIORITY_AUDIO))
                    .audioThreads(threads("tqc-audio", Process.THREAD_PRIORITY_URGENT_AUDIO))
                    .networkThreads(threads("tqc-net", Process.THREAD_PRIORITY_DEFAULT))
                    .listener((ended, failure, stopped) -> ui.post(() -> onEnded(ended, failure, stopped)));
            if (plan != null) {
                b.seek(header, plan);
            }
            PlayerSession s = b.build();
            if (id != request.get()) {
                throw new InterruptedException("superseded");
            }
            sink = out;
            session = s;
            in = null; // the session owns both now
            out = null;
            // posted before start: the main thread then shows it before any end of the session
            post(id, "Playing " + source.label + " with " + model.label
                    + (plan == null ? "" : " from " + String.format(java.util.Locale.ROOT, "%.1f s", seekSeconds)));
            s.pause(); // held until the service has audio focus
            s.start();
            ui.post(() -> {
                if (id == request.get()) {
                    PlaybackService.command(this, PlaybackService.ACTION_PLAY);
                }
            });
        } catch (IOException | ManifestException | TqcException | DecoderUnavailableException | RuntimeException e) {
            post(id, "Cannot play " + source.label + ": " + describe(e));
        } catch (InterruptedException e) {
            // a newer request owns the player
        } finally {
            if (in != null) {
                try {
                    in.close();
                } catch (IOException ignored) {
                    // it was never read
                }
            }
            if (out != null) {
                out.finish(false);
            }
        }
    }

    /**
     * Worker thread: stop the current session and wait for it to end (bounded by the session's
     * stop wait; a decoder call still running then finishes on its own, and the guard keeps the
     * next session's calls from overlapping it).
     */
    private void endSession() {
        PlayerSession s = session;
        if (s == null) {
            return;
        }
        s.stop();
        try {
            s.awaitEnd(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Worker thread: the loaded decoder for this model, loading it (and freeing another) if needed. */
    private GuardedDecoder decoderFor(ModelStore.Model model)
            throws IOException, ManifestException, DecoderUnavailableException {
        String key = model.label + "|" + model.manifest.artifactSha256();
        GuardedDecoder d = decoder;
        if (d != null && !d.isClosing() && key.equals(decoderKey)) {
            return d;
        }
        releaseDecoder();
        File pte = models.programFile(model);
        d = GuardedDecoder.of(ExecuTorchChunkDecoder.load(pte, model.manifest, DECODER_THREADS,
                Build.SUPPORTED_ABIS));
        decoder = d;
        decoderKey = key;
        return d;
    }

    /** Worker thread: end the session and free the decoder (once its running call, if any, returns). */
    private void releaseDecoder() {
        endSession();
        GuardedDecoder d = decoder;
        if (d != null) {
            d.close(1, TimeUnit.SECONDS);
            decoder = null;
            decoderKey = null;
        }
    }

    private static ThreadFactory threads(String name, int priority) {
        return r -> {
            Thread t = new Thread(() -> {
                Process.setThreadPriority(priority);
                r.run();
            }, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Show a status line for request {@code id}, unless a newer request has replaced it. */
    private void post(int id, String text) {
        ui.post(() -> {
            if (id == request.get()) {
                status.setText(text);
            }
        });
    }

    private void onEnded(PlayerSession ended, Throwable failure, boolean stopped) {
        if (ended != session) {
            return;
        }
        showStats();
        PlaybackService.command(this, PlaybackService.ACTION_ENDED);
        status.setText(stopped ? "Stopped" : failure == null ? "Finished" : "Ended by an error: " + describe(failure));
    }

    private static String describe(Throwable e) {
        if (e instanceof TqcException || e instanceof IOException || e instanceof ManifestException
                || e instanceof DecoderUnavailableException) {
            return e.getMessage();
        }
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private void showStats() {
        PlayerSession s = session;
        if (s == null) {
            return;
        }
        AudioTrackSink out = sink;
        StatusLines lines = StatusLines.of(s, out == null ? -1 : out.deviceUnderruns());
        position.setText(lines.position);
        chunkTimes.setText(lines.chunkTimes);
        if (!seeking) {
            seekBar.setProgress(StatusLines.seekBarValue(s.positionSeconds(), s.durationSeconds(), SEEK_BAR_MAX));
        }
        seekBar.setEnabled(!Double.isNaN(s.durationSeconds()));
        if (announced != s && !Double.isNaN(s.durationSeconds())) {
            announced = s; // the header has arrived: the lock screen and notification get the length
            PlaybackService.command(this, PlaybackService.ACTION_UPDATE);
        }
        realTime.setText(lines.realTime);
        buffer.setText(lines.buffer);
        underruns.setText(lines.underruns);
        bitrate.setText(lines.bitrate);
        damage.setText(lines.damage);
        streamInfo.setText(lines.stream);
    }
}
