package org.tqcodec.stream;

import java.io.ByteArrayOutputStream;
import java.util.Random;
import java.util.zip.CRC32;

/** A writer for tests (the app only reads): packets exactly as docs/bitstream.md lays them out. */
public final class TestStreams {
    private TestStreams() {
    }

    /** One packet of codes[C][nQ][frames], frame-major, LSB-first, CRC over identity bytes + packet. */
    public static byte[] packet(StreamHeader h, int sequence, int[][][] codes) {
        int frames = codes[0][0].length;
        int[] flat = new int[frames * h.codesPerFrame()];
        int i = 0;
        for (int f = 0; f < frames; f++) {
            for (int c = 0; c < h.channels(); c++) {
                for (int q = 0; q < h.nQ(); q++) {
                    flat[i++] = codes[c][q][f];
                }
            }
        }
        byte[] p = new byte[h.packetSize(frames)];
        p[0] = (byte) 0xA5;
        p[1] = 0x5A;
        p[2] = (byte) sequence;
        p[3] = (byte) (sequence >>> 8);
        p[4] = (byte) frames;
        CodeUnpacker.pack(flat, 0, flat.length, h.bits(), p, 5);
        CRC32 crc = new CRC32();
        crc.update(h.identityBytes());
        crc.update(p, 0, p.length - 4);
        StreamHeader.put(p, p.length - 4, crc.getValue(), 4);
        return p;
    }

    /** All packets for codes[C][nQ][T]: full ones, then a partial one. */
    public static byte[] packets(StreamHeader h, int[][][] codes, int firstSequence) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int total = codes[0][0].length, fpp = h.framesPerPacket();
        for (int k = 0, at = 0; at < total; k++, at += fpp) {
            byte[] p = packet(h, (firstSequence + k) & 0xFFFF, Vectors.slice(codes, at, Math.min(total, at + fpp)));
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }

    /** Header then packets. */
    public static byte[] stream(StreamHeader h, int[][][] codes) {
        byte[] head = h.encode(), body = packets(h, codes, 0);
        byte[] all = new byte[head.length + body.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    public static int[][][] randomCodes(StreamHeader h, int frames, long seed) {
        Random rnd = new Random(seed);
        int[][][] codes = new int[h.channels()][h.nQ()][frames];
        for (int[][] ch : codes) {
            for (int[] row : ch) {
                for (int f = 0; f < frames; f++) {
                    row[f] = rnd.nextInt(h.codebookSize());
                }
            }
        }
        return codes;
    }

    public static byte[] fingerprint(int seed) {
        byte[] fp = new byte[16];
        new Random(seed).nextBytes(fp);
        return fp;
    }
}
