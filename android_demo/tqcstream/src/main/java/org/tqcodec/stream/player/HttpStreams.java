package org.tqcodec.stream.player;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLConnection;

/**
 * A {@code .tqc} stream over HTTP(S): the response body as an {@link InputStream} that a
 * {@link PlayerSession} reads as it arrives (no buffering of the whole file), and that closes
 * the connection when closed.
 */
public final class HttpStreams {
    private HttpStreams() {
    }

    /**
     * Connect and check the response; blocks for the connection and the response headers, so
     * call it off the UI thread.
     *
     * @param connectTimeoutMs time to connect (0: no limit)
     * @param readTimeoutMs the longest a read may wait for the next bytes before failing (0: no
     *     limit); a live stream that pauses longer than this ends with an {@code io_error}
     * @throws IOException for a URL that is not http(s), a failed connection, or a status other
     *     than 200
     */
    public static InputStream open(String url, int connectTimeoutMs, int readTimeoutMs) throws IOException {
        return open(url, connectTimeoutMs, readTimeoutMs, 0);
    }

    /**
     * The body from byte {@code fromByte} on (a seek): asked for with a {@code Range} request; a
     * server that ignores it (200, the whole body) is read past the first {@code fromByte} bytes.
     *
     * @throws IOException also for a 206 whose Content-Range starts elsewhere
     */
    public static InputStream open(String url, int connectTimeoutMs, int readTimeoutMs, long fromByte)
            throws IOException {
        if (fromByte < 0) {
            throw new IllegalArgumentException("fromByte must not be negative, got " + fromByte);
        }
        URL u;
        try {
            u = new URL(url.trim());
        } catch (MalformedURLException e) {
            throw new IOException("not a URL: '" + url + "'", e);
        }
        String scheme = u.getProtocol();
        if (!"http".equals(scheme) && !"https".equals(scheme)) {
            throw new IOException("only http and https URLs can be streamed, not " + scheme + ":");
        }
        URLConnection c = u.openConnection();
        final HttpURLConnection http = (HttpURLConnection) c;
        http.setConnectTimeout(connectTimeoutMs);
        http.setReadTimeout(readTimeoutMs);
        http.setInstanceFollowRedirects(true);
        http.setUseCaches(false);
        http.setRequestProperty("Accept", "application/octet-stream, */*");
        http.setRequestProperty("Accept-Encoding", "identity"); // bytes as sent: the reader checks CRCs
        if (fromByte > 0) {
            http.setRequestProperty("Range", "bytes=" + fromByte + "-");
        }
        int code;
        try {
            code = http.getResponseCode();
        } catch (IOException e) {
            http.disconnect();
            throw e;
        }
        boolean partial = fromByte > 0 && code == HttpURLConnection.HTTP_PARTIAL;
        if (code != HttpURLConnection.HTTP_OK && !partial) {
            String msg = http.getResponseMessage();
            http.disconnect();
            throw new IOException(url + ": HTTP " + code + (msg == null ? "" : " " + msg));
        }
        String range = http.getHeaderField("Content-Range");
        if (partial && range != null && !range.trim().startsWith("bytes " + fromByte + "-")) {
            http.disconnect();
            throw new IOException(url + ": asked for bytes from " + fromByte + ", got Content-Range '" + range + "'");
        }
        InputStream body = new FilterInputStream(http.getInputStream()) {
            @Override
            public void close() throws IOException {
                try {
                    super.close();
                } finally {
                    http.disconnect();
                }
            }
        };
        if (fromByte > 0 && !partial) {
            InputStreams.skipFully(body, fromByte, url);
        }
        return body;
    }
}
