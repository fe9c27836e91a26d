package org.tqcodec.stream.player;

import org.junit.After;
import org.junit.Test;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.TestStreams;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * HTTP on the loopback interface only: a one-request server that sends the response headers and
 * the first part of a stream, then waits for the test's go-ahead before sending the rest.
 */
public class HttpStreamsTest {
    private ServerSocket server;
    private Thread serving;
    private volatile String request = "";

    /** Serve one request: status line, then body[0, split), wait for {@code rest}, then the remainder. */
    private String serve(final String status, final byte[] body, final int split, final CountDownLatch rest)
            throws IOException {
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        serving = new Thread(() -> {
            try (Socket s = server.accept()) {
                s.setSoTimeout(20000);
                InputStream in = s.getInputStream();
                int crlf = 0; // read the request up to the blank line
                StringBuilder req = new StringBuilder();
                while (crlf < 4) {
                    int b = in.read();
                    if (b < 0) {
                        return;
                    }
                    req.append((char) b);
                    crlf = (b == '\r' || b == '\n') ? crlf + 1 : 0;
                }
                request = req.toString();
                OutputStream out = s.getOutputStream();
                out.write(("HTTP/1.1 " + status + "\r\nContent-Type: application/octet-stream\r\nContent-Length: "
                        + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body, 0, split);
                out.flush();
                if (rest != null && !rest.await(20, TimeUnit.SECONDS)) {
                    return;
                }
                out.write(body, split, body.length - split);
                out.flush();
            } catch (IOException | InterruptedException ignored) {
                // the client went away: the test says what it expected
            }
        }, "http-test-server");
        serving.setDaemon(true);
        serving.start();
        return "http://127.0.0.1:" + server.getLocalPort() + "/song.tqc";
    }

    @After
    public void close() throws Exception {
        if (server != null) {
            server.close();
        }
        if (serving != null) {
            serving.join(20000);
        }
    }

    @Test
    public void playsAStreamWhileItIsStillArriving() throws Exception {
        StreamHeader h = PlayerSessionTest.header(2, 300);
        int[][][] codes = TestStreams.randomCodes(h, 300, 21);
        byte[] bytes = TestStreams.stream(h, codes);
        CountDownLatch rest = new CountDownLatch(1);
        int split = StreamHeader.HEADER_SIZE + 8 * h.packetSize();
        String url = serve("200 OK", bytes, split, rest);
        PlayerSessionTest.Device dev = new PlayerSessionTest.Device(2, 1000);
        PlayerSessionTest.Ending end = new PlayerSessionTest.Ending();
        PlayerSession s = PlayerSessionTest.session(HttpStreams.open(url, 5000, 20000), new PlayerSessionTest.CodeEcho(),
                PlayerSessionTest.FP, dev, end).build();
        s.start();
        assertTrue("playback waited for the whole stream", dev.firstWrite.await(20, TimeUnit.SECONDS));
        assertFalse(s.isEnded());
        rest.countDown();
        assertTrue(s.awaitEnd(20, TimeUnit.SECONDS));
        assertNull(end.failure.get());
        assertEquals(bytes.length, s.bytesReceived());
        assertTrue(Arrays.equals(PlayerSessionTest.expected(codes, null), dev.samples()));
    }

    static byte[] readAll(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] b = new byte[1000];
        for (int n; (n = in.read(b)) >= 0; ) {
            out.write(b, 0, n);
        }
        in.close();
        return out.toByteArray();
    }

    @Test
    public void aSeekAsksForARangeAndTakesA206AsTheTail() throws Exception {
        byte[] body = new byte[5000];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) (i * 7);
        }
        byte[] tail = Arrays.copyOfRange(body, 1234, body.length);
        String url = serve("206 Partial Content", tail, tail.length, null);
        assertTrue(Arrays.equals(tail, readAll(HttpStreams.open(url, 5000, 5000, 1234))));
        assertTrue(request, request.contains("Range: bytes=1234-"));
    }

    @Test
    public void aServerThatIgnoresTheRangeIsReadPastTheStart() throws Exception {
        byte[] body = new byte[5000];
        for (int i = 0; i < body.length; i++) {
            body[i] = (byte) (i * 7);
        }
        String url = serve("200 OK", body, body.length, null);
        assertTrue(Arrays.equals(Arrays.copyOfRange(body, 1234, body.length),
                readAll(HttpStreams.open(url, 5000, 5000, 1234))));
    }

    @Test
    public void anHttpErrorIsAnIOExceptionNamingTheStatus() throws Exception {
        String url = serve("404 Not Found", "no such stream".getBytes(StandardCharsets.US_ASCII), 14, null);
        try {
            HttpStreams.open(url, 5000, 5000).close();
            fail("opened a 404");
        } catch (IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("404"));
        }
    }

    @Test
    public void onlyHttpAndHttpsAreStreamed() {
        for (String bad : new String[] {"file:///sdcard/song.tqc", "ftp://host/song.tqc", "song.tqc", ""}) {
            try {
                HttpStreams.open(bad, 1000, 1000).close();
                fail("opened " + bad);
            } catch (IOException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().contains("http") || expected.getMessage()
                        .contains("URL"));
            }
        }
    }
}
