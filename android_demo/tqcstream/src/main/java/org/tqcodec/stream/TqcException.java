package org.tqcodec.stream;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;

/**
 * The one exception for bad {@code .tqc} streams and bad API use: Java's {@code TQCError}.
 *
 * <p>{@link #kind()} is one of the stable identifiers of docs/bitstream.md ("Errors"), the
 * same strings as {@code tqcodec/bitstream.py}. {@link #offset()} is the byte offset in the
 * stream where the problem starts and {@link #packet()} the sequence number the reader
 * expected there; both are {@code -1} where Python has {@code None} (unknown or not
 * applicable). {@link #getMessage()} reads like Python's {@code str(err)}:
 * {@code "song.tqc, byte 151, packet 1: packet CRC-32 expected ..., found ... [bad_crc]"}.
 */
public final class TqcException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Header-level kinds (and API/IO errors): raised in both reading modes. */
    public static final Set<String> FATAL_KINDS = set(
            "io_error", "invalid_argument", "bad_magic", "unsupported_version", "truncated_header",
            "bad_header_crc", "bad_header_field", "fingerprint_mismatch");
    /** Packet-level kinds: raised in strict mode, recorded as events in streaming mode. */
    public static final Set<String> PACKET_KINDS = set(
            "bad_sync", "bad_frame_count", "truncated_packet", "bad_crc", "sequence_gap", "out_of_order",
            "code_out_of_range", "length_mismatch", "truncated_stream");
    /** Every kind. */
    public static final Set<String> KINDS;

    static {
        Set<String> all = new HashSet<>(FATAL_KINDS);
        all.addAll(PACKET_KINDS);
        KINDS = Collections.unmodifiableSet(all);
    }

    private final String kind;
    private final String detail;
    private final String path;
    private final long offset;
    private final int packet;

    /**
     * @param offset byte offset, or -1 when unknown
     * @param packet expected sequence number (0..65535), or -1 when unknown
     * @throws IllegalArgumentException for a kind that docs/bitstream.md does not list
     */
    public TqcException(String kind, String detail, String path, long offset, int packet) {
        super(format(kind, detail, path, offset, packet));
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("undocumented TqcException kind '" + kind + "'");
        }
        this.kind = kind;
        this.detail = detail;
        this.path = path;
        this.offset = offset;
        this.packet = packet;
    }

    public TqcException(String kind, String detail) {
        this(kind, detail, null, -1, -1);
    }

    /** A copy with {@code path} set (if non-null) and the offset moved by {@code shift}. */
    TqcException located(String newPath, long shift) {
        return new TqcException(kind, detail, newPath != null ? newPath : path,
                offset < 0 ? -1 : offset + shift, packet);
    }

    /** Stable identifier, e.g. {@code "bad_crc"}. */
    public String kind() {
        return kind;
    }

    /** What was expected and what was found, without the location. */
    public String detail() {
        return detail;
    }

    /** The file, or null. */
    public String path() {
        return path;
    }

    /** Byte offset in the stream where the problem starts; -1 for none (Python's None). */
    public long offset() {
        return offset;
    }

    /** Sequence number the reader expected (or the packet's own, see the spec); -1 for none. */
    public int packet() {
        return packet;
    }

    /** True for kinds that end reading in streaming mode too. */
    public boolean isFatal() {
        return FATAL_KINDS.contains(kind);
    }

    private static String format(String kind, String detail, String path, long offset, int packet) {
        StringBuilder sb = new StringBuilder(path != null ? path : "<stream>");
        if (offset >= 0) {
            sb.append(", byte ").append(offset);
        }
        if (packet >= 0) {
            sb.append(", packet ").append(packet);
        }
        return sb.append(": ").append(detail).append(" [").append(kind).append(']').toString();
    }

    private static Set<String> set(String... kinds) {
        return Collections.unmodifiableSet(new HashSet<>(Arrays.asList(kinds)));
    }
}
