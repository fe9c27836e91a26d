package org.tqcodec.stream.player;

import org.junit.Test;
import org.tqcodec.stream.StreamHeader;
import org.tqcodec.stream.StreamReader;
import org.tqcodec.stream.TestStreams;
import org.tqcodec.stream.TqcException;
import org.tqcodec.stream.Vectors;
import org.tqcodec.stream.json.Json;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * A stereo artifact (C = 2: one call per chunk) plays exactly what a mono artifact (C = 1: one
 * call per channel) plays. Both fakes run one per-channel function whose every sample depends on
 * that channel's whole history, so a swapped row, a shared or reset state, or a lost call changes
 * the audio. The golden stereo vectors are checked against an oracle written from that function.
 */
public class StereoDecodeLoopTest {
    static final int K = 16;

    /** The per-channel function: row {@code r} of the codes and of the two state tensors in, row r of the audio out. */
    static void channel(int[][] codes, int hop, float[][] state, int r, float[] audio, float[][] next) {
        long acc = (long) state[0][r];
        int chunk = (int) state[1][2 * r], last = (int) state[1][2 * r + 1];
        for (int f = 0; f < K; f++) {
            int sum = 0;
            for (int q = 0; q < codes.length; q++) {
                sum += codes[q][f] * (q + 1);
            }
            for (int i = 0; i < hop; i++) { // below 2^16: exact in a float
                audio[f * hop + i] = (acc * 7 + chunk * 131L + last + sum + i) % 65536;
            }
            acc = (acc * 31 + sum + 1) % 65521;
            last = sum % 1000;
        }
        next[0][r] = acc;
        next[1][2 * r] = chunk + 1;
        next[1][2 * r + 1] = last;
    }

    /** An artifact of C planar channels: state tensors {@code acc [C, 1]} and {@code pos [C, 2]}. */
    static final class PlanarFake implements ChunkDecoder {
        final int c;
        final int hop;
        int calls;
        int statesMade;
        boolean rowsAlwaysEqual = true; // every call's rows held the same codes

        PlanarFake(int c, int hop) {
            this.c = c;
            this.hop = hop;
        }

        @Override
        public int channels() {
            return c;
        }

        @Override
        public float[][] initState() {
            statesMade++;
            return new float[][] {new float[c], new float[2 * c]};
        }

        @Override
        public DecodedChunk decode(int[][][] codes, float[][] state) {
            assertEquals(c, codes.length);
            calls++;
            float[][] audio = new float[c][K * hop];
            float[][] next = {new float[c], new float[2 * c]};
            for (int r = 0; r < c; r++) {
                channel(codes[r], hop, state, r, audio[r], next);
                rowsAlwaysEqual &= Arrays.deepEquals(codes[r], codes[0]);
            }
            return new DecodedChunk(audio, next);
        }
    }

    /** What one run of the loop played (interleaved stereo) and counted. */
    static final class Played {
        final float[] pcm;
        final PlayerStats stats;

        Played(float[] pcm, PlayerStats stats) {
            this.pcm = pcm;
            this.stats = stats;
        }
    }

    /** The whole stream through a streaming reader and the loop, to a stereo output. */
    static Played play(byte[] stream, ChunkDecoder dec) throws TqcException {
        StreamHeader h = StreamHeader.decode(stream, 0, stream.length, null);
        return play(new StreamReader.Builder().strict(false).build(), stream, dec, (int) h.hopLength(), 0, 0);
    }

    static Played play(StreamReader r, byte[] bytes, ChunkDecoder dec, int hop, long firstFrame, long drop) {
        ReaderPacketSource src = new ReaderPacketSource(new ByteArrayInputStream(bytes), r, 97);
        RingBuffer ring = new RingBuffer(1 << 22);
        DecodeLoop loop = new DecodeLoop.Builder(src, dec, ring, K, hop).outputChannels(2)
                .trimToTotalSamples(firstFrame == 0).startAt(firstFrame, drop).build();
        loop.run();
        assertNull(loop.failure());
        float[] pcm = new float[ring.available()];
        assertEquals(pcm.length, ring.read(pcm, 0, pcm.length));
        return new Played(pcm, loop.stats());
    }

    /** Mono (two calls a chunk) and stereo (one) artifacts on one stream: the same samples, the calls counted. */
    static Played compare(String what, byte[] stream, int streamChannels) throws TqcException {
        StreamHeader h = StreamHeader.decode(stream, 0, stream.length, null);
        PlanarFake mono = new PlanarFake(1, (int) h.hopLength()), stereo = new PlanarFake(2, (int) h.hopLength());
        Played a = play(stream, mono), b = play(stream, stereo);
        assertArrayEquals(what, a.pcm, b.pcm, 0f);
        long chunks = b.stats.chunksDecoded();
        assertEquals(what, chunks, a.stats.chunksDecoded());
        assertEquals(what + ": stereo artifact, one call per chunk", chunks, stereo.calls);
        assertEquals(what + ": mono artifact, one call per channel", chunks * streamChannels, mono.calls);
        assertEquals(what, mono.statesMade, streamChannels * stereo.statesMade);
        return b;
    }

    /** The oracle: each channel alone through {@link #channel}, chunk by chunk, zero-padded, cut, interleaved. */
    static float[] oracle(int[][][] codes, int hop, long totalSamples) {
        int channels = codes.length, nQ = codes[0].length, frames = codes[0][0].length;
        int n = (int) Math.min((long) frames * hop, totalSamples);
        float[] out = new float[2 * n];
        for (int c = 0; c < channels; c++) {
            float[][] state = {new float[1], new float[2]};
            float[] audio = new float[K * hop];
            for (int at = 0; at < frames; at += K) {
                int[][] chunk = new int[nQ][K];
                for (int q = 0; q < nQ; q++) {
                    System.arraycopy(codes[c][q], at, chunk[q], 0, Math.min(K, frames - at));
                }
                float[][] next = {new float[1], new float[2]};
                channel(chunk, hop, state, 0, audio, next);
                state = next;
                for (int s = 0; s < K * hop && at * hop + s < n; s++) {
                    for (int o = 0; o < 2; o++) {
                        if (o == c || channels == 1) {
                            out[2 * (at * hop + s) + o] = audio[s];
                        }
                    }
                }
            }
        }
        return out;
    }

    static List<Map<String, Object>> validVectors(int channels) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object name : Json.asList(Vectors.manifest().get("valid"), "valid")) {
            Map<String, Object> v = Vectors.json(Json.asString(name, "valid"));
            if (Json.asInt(Json.asObject(v.get("header"), "header").get("channels"), "channels") == channels) {
                out.add(v);
            }
        }
        return out;
    }

    @Test
    public void theStereoVectorsPlayTheSameInOneCallPerChunk() throws TqcException {
        List<Map<String, Object>> stereo = validVectors(2);
        assertTrue("the golden vectors hold stereo streams", stereo.size() >= 2);
        for (Map<String, Object> v : stereo) {
            String file = "valid/" + Json.asString(v.get("file"), "file");
            byte[] bytes = Vectors.bytes(file);
            StreamHeader h = StreamHeader.decode(bytes, 0, bytes.length, file);
            Played p = compare(file, bytes, 2);
            long frames = Json.asLong(v.get("frames"), "frames");
            assertEquals(file, (frames + K - 1) / K, p.stats.chunksDecoded());
            long total = h.hasTotalSamples() ? h.totalSamples() : Long.MAX_VALUE;
            assertArrayEquals(file, oracle(Vectors.codes(v), (int) h.hopLength(), total), p.pcm, 0f);
            boolean differ = false;
            for (int s = 0; s < p.pcm.length; s += 2) {
                differ |= p.pcm[s] != p.pcm[s + 1];
            }
            assertEquals(file + ": left and right differ, so a swap would show", frames > 0, differ);
        }
    }

    @Test
    public void aLostStereoPacketIsConcealedAlikeInBothArtifacts() throws TqcException {
        Map<String, Object> v = Vectors.json("valid/stereo_tq64.json");
        byte[] whole = Vectors.bytes("valid/" + Json.asString(v.get("file"), "file"));
        List<Object> packets = Json.asList(v.get("packets"), "packets");
        int from = Json.asInt(Json.asObject(packets.get(1), "packet").get("offset"), "offset");
        int to = Json.asInt(Json.asObject(packets.get(2), "packet").get("offset"), "offset");
        byte[] damaged = new byte[whole.length - (to - from)]; // packet 1 (32 frames) lost
        System.arraycopy(whole, 0, damaged, 0, from);
        System.arraycopy(whole, to, damaged, from, whole.length - to);
        Played p = compare("stereo_tq64 without packet 1", damaged, 2);
        assertEquals(70 * 64 * 2, p.pcm.length);
        assertEquals(1, p.stats.damagedPackets());
        assertEquals(32, p.stats.concealedFrames());
        assertEquals(0, p.stats.decoderResets());
        Played intact = play(whole, new PlanarFake(2, 64));
        assertEquals(intact.pcm.length, p.pcm.length); // concealed time is played
        assertFalse(Arrays.equals(intact.pcm, p.pcm));
    }

    @Test
    public void aLongStereoGapResetsEveryChannelAlikeInBothArtifacts() throws TqcException {
        StreamHeader h = new StreamHeader.Builder(2, 4, TestStreams.fingerprint(5)).hopLength(8).framesPerPacket(32)
                .codebookSize(512).build();
        int[][][] codes = TestStreams.randomCodes(h, 64, 17);
        byte[] head = h.encode();
        byte[] first = TestStreams.packet(h, 0, Vectors.slice(codes, 0, 32));
        byte[] later = TestStreams.packet(h, 10, Vectors.slice(codes, 32, 64)); // 9 packets, 288 frames lost
        byte[] stream = new byte[head.length + first.length + later.length];
        System.arraycopy(head, 0, stream, 0, head.length);
        System.arraycopy(first, 0, stream, head.length, first.length);
        System.arraycopy(later, 0, stream, head.length + first.length, later.length);
        Played p = compare("a gap over the concealment limit", stream, 2);
        assertEquals((64 + ConcealmentPlanner.fadeFrames(8)) * 8 * 2, p.pcm.length); // a fade tail, no time inserted
        assertEquals(1, p.stats.decoderResets());
        assertEquals(9, p.stats.damagedPackets());
    }

    @Test
    public void aMonoStreamOnAStereoArtifactTakesOneCallWithItsCodesInBothRows() throws TqcException {
        List<Map<String, Object>> monos = validVectors(1);
        assertTrue(monos.size() >= 2);
        for (Map<String, Object> v : monos) {
            String file = "valid/" + Json.asString(v.get("file"), "file");
            byte[] bytes = Vectors.bytes(file);
            StreamHeader h = StreamHeader.decode(bytes, 0, bytes.length, file);
            PlanarFake mono = new PlanarFake(1, (int) h.hopLength()), stereo = new PlanarFake(2, (int) h.hopLength());
            Played a = play(bytes, mono), b = play(bytes, stereo);
            assertArrayEquals(file, a.pcm, b.pcm, 0f);
            assertEquals(file, b.stats.chunksDecoded(), stereo.calls);
            assertEquals(file, mono.calls, stereo.calls);
            assertTrue(file, stereo.rowsAlwaysEqual);
        }
    }

    @Test
    public void aStereoSeekPlaysAlikeInBothArtifacts() throws TqcException {
        int frames = 300;
        StreamHeader h = new StreamHeader.Builder(2, 3, TestStreams.fingerprint(6)).hopLength(8).framesPerPacket(8)
                .codebookSize(512).totalSamples(frames * 8L).build();
        byte[] bytes = TestStreams.stream(h, TestStreams.randomCodes(h, frames, 23));
        SeekPlanner.Plan plan = SeekPlanner.plan(h, 150.5 * 8 / 44100);
        assertEquals((150 - SeekPlanner.SEEK_PREROLL_FRAMES) / 8, plan.startPacket); // floor((150 - preroll) / 8)
        byte[] tail = Arrays.copyOfRange(bytes, (int) plan.byteOffset, bytes.length);
        float[][] got = new float[2][];
        int[] calls = new int[2];
        for (int c = 1; c <= 2; c++) {
            StreamReader r = new StreamReader.Builder().strict(false).header(h).firstSequence(null)
                    .offset(plan.byteOffset).build();
            PlanarFake dec = new PlanarFake(c, 8);
            got[c - 1] = play(r, tail, dec, 8, plan.firstFrame, plan.dropSamples).pcm;
            calls[c - 1] = dec.calls;
        }
        assertEquals((frames - 150) * 8 * 2, got[0].length);
        assertArrayEquals(got[0], got[1], 0f);
        assertEquals(2 * calls[1], calls[0]);
    }

    @Test
    public void aDecoderThatIsNotTheManifestsIsRefused() throws Exception {
        Manifest stereo = Manifest.parse(ManifestTest.EXAMPLE_STEREO);
        try {
            new DecodeLoop.Builder(new DecodeLoopTest.ListSource(null, new ArrayList<>()), new PlanarFake(1, 64),
                    new RingBuffer(1024), stereo).build();
            fail("a mono decoder driven by a stereo manifest");
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("1 channels per call, its manifest says 2"));
        }
    }

    @Test
    public void aStereoCallThatReturnsOneRowEndsTheLoop() throws TqcException {
        byte[] bytes = Vectors.bytes("valid/stereo_tq64.tqc");
        ChunkDecoder oneRow = new DecodeLoopTest.AudioRewritten(new PlanarFake(2, 64)) {
            @Override
            float[][] audio(int[][][] codes, float[][] state, DecodedChunk decoded) {
                return new float[][] {decoded.audio[0]};
            }
        };
        RingBuffer ring = new RingBuffer(1 << 16);
        DecodeLoop loop = new DecodeLoop.Builder(new ReaderPacketSource(new ByteArrayInputStream(bytes),
                new StreamReader.Builder().strict(false).build(), 97), oneRow, ring, K, 64).build();
        loop.run();
        assertTrue(String.valueOf(loop.failure()), loop.failure() instanceof IllegalStateException
                && loop.failure().getMessage().contains("1 audio rows, expected 2"));
    }
}
