package org.tqcodec.stream;

/**
 * LSB-first bit unpacking (docs/bitstream.md, "Bit packing"): code {@code i} fills stream bits
 * {@code i*bits .. i*bits+bits-1}, least significant bit first, and stream bit {@code j} is bit
 * {@code j % 8} of byte {@code j / 8}. One pass through a 64-bit accumulator, no allocation.
 */
public final class CodeUnpacker {
    private CodeUnpacker() {
    }

    /** Bytes that {@code count} codes of {@code bits} bits occupy, padded to a whole byte. */
    public static int packedSize(int count, int bits) {
        return (int) (((long) count * bits + 7) / 8);
    }

    /**
     * Unpack {@code count} codes of {@code bits} (1..16) bits from {@code data[off..]} into
     * {@code out[outOff..outOff+count)}.
     *
     * @return the largest code seen (-1 when count is 0), so a caller can range-check cheaply
     * @throws IllegalArgumentException if bits is out of range or data is too short
     */
    public static int unpack(byte[] data, int off, int bits, int count, int[] out, int outOff) {
        if (bits < 1 || bits > StreamHeader.MAX_BITS) {
            throw new IllegalArgumentException("bits must be in [1, 16], got " + bits);
        }
        int need = packedSize(count, bits);
        if (count < 0 || off < 0 || data.length - off < need || out.length - outOff < count) {
            throw new IllegalArgumentException(count + " codes of " + bits + " bits need " + need
                    + " bytes from offset " + off + ", have " + (data.length - off));
        }
        final int mask = (1 << bits) - 1;
        long acc = 0;
        int have = 0;
        int in = off;
        int max = -1;
        for (int i = 0; i < count; i++) {
            while (have < bits) {
                acc |= (long) (data[in++] & 0xFF) << have;
                have += 8;
            }
            int code = (int) acc & mask;
            acc >>>= bits;
            have -= bits;
            out[outOff + i] = code;
            if (code > max) {
                max = code;
            }
        }
        return max;
    }

    /**
     * The inverse, for encoders and tests: pack {@code count} codes (each in [0, 2^bits)) into
     * {@code out[outOff..outOff+packedSize)}, zero-padding the last byte.
     */
    public static void pack(int[] codes, int codesOff, int count, int bits, byte[] out, int outOff) {
        if (bits < 1 || bits > StreamHeader.MAX_BITS) {
            throw new IllegalArgumentException("bits must be in [1, 16], got " + bits);
        }
        long acc = 0;
        int have = 0;
        int o = outOff;
        for (int i = 0; i < count; i++) {
            int code = codes[codesOff + i];
            if (code < 0 || code >= 1 << bits) {
                throw new IllegalArgumentException("code " + code + " does not fit in " + bits + " bits");
            }
            acc |= (long) code << have;
            have += bits;
            while (have >= 8) {
                out[o++] = (byte) acc;
                acc >>>= 8;
                have -= 8;
            }
        }
        if (have > 0) {
            out[o] = (byte) acc;
        }
    }
}
