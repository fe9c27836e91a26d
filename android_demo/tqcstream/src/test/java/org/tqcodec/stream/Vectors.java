package org.tqcodec.stream;

import org.tqcodec.stream.json.Json;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Access to the repository's golden vectors, tests/vectors (README.md there): found through the
 * system property {@code tqc.vectors} (run_jvm_tests.sh and Gradle set it), else relative to the
 * working directory. Expectations always come from these files, never from copies.
 */
public final class Vectors {
    private Vectors() {
    }

    public static File dir() {
        String prop = System.getProperty("tqc.vectors");
        if (prop != null) {
            File d = new File(prop);
            if (new File(d, "manifest.json").isFile()) {
                return d;
            }
            throw new IllegalStateException("tqc.vectors=" + prop + " holds no manifest.json");
        }
        for (String guess : new String[] {"../tests/vectors", "../../tests/vectors", "tests/vectors"}) {
            File d = new File(guess);
            if (new File(d, "manifest.json").isFile()) {
                return d;
            }
        }
        throw new IllegalStateException("golden vectors not found: set -Dtqc.vectors=<repo>/tests/vectors");
    }

    public static byte[] bytes(File f) {
        try {
            return Files.readAllBytes(f.toPath());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static byte[] bytes(String relative) {
        return bytes(new File(dir(), relative));
    }

    public static Map<String, Object> json(File f) {
        return Json.asObject(Json.parse(new String(bytes(f), StandardCharsets.UTF_8)), f.getName());
    }

    public static Map<String, Object> json(String relative) {
        return json(new File(dir(), relative));
    }

    public static Map<String, Object> manifest() {
        return json("manifest.json");
    }

    /** The damage cases of manifest.json, each the JSON object README.md describes. */
    public static List<Map<String, Object>> cases() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object c : Json.asList(manifest().get("cases"), "cases")) {
            out.add(Json.asObject(c, "case"));
        }
        return out;
    }

    /**
     * The reader a damage case is read with: strict or streaming, with the case's
     * {@code header_from} header (a stream joined mid-way, no header of its own) and its
     * {@code expected_fingerprint}, where it names them.
     */
    public static StreamReader caseReader(Map<String, Object> cs, boolean strict) throws TqcException {
        StreamReader.Builder b = new StreamReader.Builder().strict(strict).path(Json.asString(cs.get("file"), "file"));
        Object headerFrom = cs.get("header_from");
        if (headerFrom != null) {
            Map<String, Object> hj = Json.asObject(json(Json.asString(headerFrom, "header_from")).get("header"),
                    "header");
            b.header(header(hj)).firstSequence(null).offset(0);
        }
        Object fp = cs.get("expected_fingerprint");
        if (fp != null) {
            b.expectedFingerprint(hex(Json.asString(fp, "expected_fingerprint")));
        }
        return b.build();
    }

    public static byte[] hex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    /** A header from a vector JSON's {@code header} object (Python's StreamHeader.from_dict). */
    public static StreamHeader header(Map<String, Object> h) throws TqcException {
        Object total = h.get("total_samples");
        return new StreamHeader.Builder(Json.asInt(h.get("channels"), "channels"), Json.asInt(h.get("n_q"), "n_q"),
                hex(Json.asString(h.get("fingerprint"), "fingerprint")))
                .sampleRate(Json.asLong(h.get("sample_rate"), "sample_rate"))
                .hopLength(Json.asLong(h.get("hop_length"), "hop_length"))
                .codebookSize(Json.asLong(h.get("codebook_size"), "codebook_size"))
                .bits(Json.asInt(h.get("bits"), "bits"))
                .framesPerPacket(Json.asInt(h.get("frames_per_packet"), "frames_per_packet"))
                .totalSamples(total == null ? StreamHeader.UNKNOWN_TOTAL_SAMPLES : Json.asLong(total, "total_samples"))
                .build();
    }

    /** {@code codes[c][q][f]} of a valid vector JSON. */
    public static int[][][] codes(Map<String, Object> vector) {
        List<Object> chans = Json.asList(vector.get("codes"), "codes");
        int[][][] out = new int[chans.size()][][];
        for (int c = 0; c < out.length; c++) {
            List<Object> qs = Json.asList(chans.get(c), "codes[c]");
            out[c] = new int[qs.size()][];
            for (int q = 0; q < qs.size(); q++) {
                List<Object> fs = Json.asList(qs.get(q), "codes[c][q]");
                out[c][q] = new int[fs.size()];
                for (int f = 0; f < fs.size(); f++) {
                    out[c][q][f] = Json.asInt(fs.get(f), "code");
                }
            }
        }
        return out;
    }

    /** Frames [from, to) of codes [C][nQ][F]. */
    public static int[][][] slice(int[][][] codes, int from, int to) {
        int[][][] out = new int[codes.length][][];
        for (int c = 0; c < codes.length; c++) {
            out[c] = new int[codes[c].length][];
            for (int q = 0; q < codes[c].length; q++) {
                out[c][q] = java.util.Arrays.copyOfRange(codes[c][q], from, to);
            }
        }
        return out;
    }

    /** Packets' codes joined along frames, [C][nQ][sum of frames]. */
    public static int[][][] concat(List<Packet> packets, int channels, int nQ) {
        int total = 0;
        for (Packet p : packets) {
            total += p.frames();
        }
        int[][][] out = new int[channels][nQ][total];
        int at = 0;
        for (Packet p : packets) {
            for (int c = 0; c < channels; c++) {
                for (int q = 0; q < nQ; q++) {
                    System.arraycopy(p.codes()[c][q], 0, out[c][q], at, p.frames());
                }
            }
            at += p.frames();
        }
        return out;
    }

    /** Feed {@code data} split at {@code cuts} (sorted positions), then finish; collect packets. */
    public static List<Packet> feedAll(StreamReader r, byte[] data, int[] cuts) throws TqcException {
        List<Packet> out = new ArrayList<>();
        int prev = 0;
        for (int cut : cuts) {
            out.addAll(r.feed(data, prev, cut - prev));
            prev = cut;
        }
        out.addAll(r.feed(data, prev, data.length - prev));
        out.addAll(r.finish());
        return out;
    }

    /** Cut positions: none ("whole"), every byte ("bytes"), or random pieces from a seed. */
    public static int[] cuts(String mode, int length, long seed) {
        if (mode.equals("whole")) {
            return new int[0];
        }
        if (mode.equals("bytes")) {
            int[] c = new int[Math.max(0, length - 1)];
            for (int i = 0; i < c.length; i++) {
                c[i] = i + 1;
            }
            return c;
        }
        java.util.Random rnd = new java.util.Random(seed);
        java.util.TreeSet<Integer> set = new java.util.TreeSet<>();
        int n = length > 1 ? 1 + rnd.nextInt(Math.min(40, length - 1)) : 0;
        while (set.size() < n) {
            set.add(1 + rnd.nextInt(length - 1));
        }
        int[] c = new int[set.size()];
        int i = 0;
        for (int x : set) {
            c[i++] = x;
        }
        return c;
    }
}
