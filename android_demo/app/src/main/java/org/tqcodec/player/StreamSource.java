package org.tqcodec.player;

import android.content.Context;
import android.net.Uri;

import org.tqcodec.stream.player.HttpStreams;
import org.tqcodec.stream.player.InputStreams;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where a {@code .tqc} stream's bytes come from: a packaged asset, a file pushed to the app's
 * folder, a document the user picked (storage access framework), or an HTTP(S) URL. Every kind
 * opens as a plain {@link InputStream} that the player reads as bytes arrive, from the start or
 * from a byte offset (a seek: HTTP asks for a range, the others read past the start).
 */
abstract class StreamSource {
    static final String DIR = "streams";
    static final String SUFFIX = ".tqc";
    static final int CONNECT_TIMEOUT_MS = 10_000;
    static final int READ_TIMEOUT_MS = 30_000;

    final String label;

    private StreamSource(String label) {
        this.label = label;
    }

    /** Open the bytes from {@code fromByte} on. May block (network): call off the UI thread. */
    final InputStream open(Context context, long fromByte) throws IOException {
        if (this instanceof Url) {
            return ((Url) this).openAt(fromByte);
        }
        InputStream in = open(context);
        if (fromByte > 0) {
            InputStreams.skipFully(in, fromByte, label);
        }
        return in;
    }

    /** Open the bytes from the start. */
    abstract InputStream open(Context context) throws IOException;

    @Override
    public String toString() {
        return label;
    }

    static StreamSource asset(final String path) {
        return new StreamSource(path.substring(path.lastIndexOf('/') + 1) + " (packaged)") {
            @Override
            InputStream open(Context context) throws IOException {
                return context.getAssets().open(path);
            }
        };
    }

    static StreamSource file(final File file) {
        return new StreamSource(file.getName() + " (pushed)") {
            @Override
            InputStream open(Context context) throws IOException {
                return new FileInputStream(file);
            }
        };
    }

    static StreamSource document(final Uri uri, String name) {
        return new StreamSource(name) {
            @Override
            InputStream open(Context context) throws IOException {
                InputStream in = context.getContentResolver().openInputStream(uri);
                if (in == null) {
                    throw new IOException("cannot open " + uri);
                }
                return in;
            }
        };
    }

    static StreamSource url(String url) {
        return new Url(url);
    }

    /** HTTP(S): a seek is a Range request, not a download of everything before it. */
    private static final class Url extends StreamSource {
        private final String url;

        Url(String url) {
            super(url);
            this.url = url;
        }

        @Override
        InputStream open(Context context) throws IOException {
            return openAt(0);
        }

        InputStream openAt(long fromByte) throws IOException {
            return HttpStreams.open(url, CONNECT_TIMEOUT_MS, READ_TIMEOUT_MS, fromByte);
        }
    }

    /** The local streams: pushed ones ({@code files/streams/*.tqc}), then packaged ones. */
    static List<StreamSource> local(Context context) {
        List<StreamSource> out = new ArrayList<>();
        File dir = context.getExternalFilesDir(DIR);
        File[] files = dir == null ? null : dir.listFiles();
        if (files != null) {
            Arrays.sort(files);
            for (File f : files) {
                if (f.isFile() && f.getName().endsWith(SUFFIX)) {
                    out.add(file(f));
                }
            }
        }
        try {
            String[] names = context.getAssets().list(DIR);
            if (names != null) {
                Arrays.sort(names);
                for (String n : names) {
                    if (n.endsWith(SUFFIX)) {
                        out.add(asset(DIR + "/" + n));
                    }
                }
            }
        } catch (IOException ignored) {
            // no packaged streams
        }
        return out;
    }
}
