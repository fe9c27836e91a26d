import Foundation

/// The one error for bad `.tqc` streams and bad API use: Swift's `TQCError` of
/// `tqcodec/bitstream.py`.
///
/// `kind` is one of the stable identifiers of docs/bitstream.md ("Errors"), with the same
/// strings as Python and Java. `offset` is the byte offset in the stream where the problem
/// starts and `packet` the sequence number the reader expected there; both are `nil` where
/// Python has `None`. `description` reads like Python's `str(err)`:
/// `"song.tqc, byte 151, packet 1: packet CRC-32 expected ..., found ... [bad_crc]"`.
public struct TQCError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Every kind of docs/bitstream.md; the raw values are the wire-stable strings.
    public enum Kind: String, CaseIterable, Sendable {
        case ioError = "io_error"
        case invalidArgument = "invalid_argument"
        case badMagic = "bad_magic"
        case unsupportedVersion = "unsupported_version"
        case truncatedHeader = "truncated_header"
        case badHeaderCRC = "bad_header_crc"
        case badHeaderField = "bad_header_field"
        case fingerprintMismatch = "fingerprint_mismatch"
        /// The stream's geometry (sample rate, hop, codebooks, channels) is not the decoder's.
        case decoderMismatch = "decoder_mismatch"
        case badSync = "bad_sync"
        case badFrameCount = "bad_frame_count"
        case truncatedPacket = "truncated_packet"
        case badCRC = "bad_crc"
        case sequenceGap = "sequence_gap"
        case outOfOrder = "out_of_order"
        case codeOutOfRange = "code_out_of_range"
        case lengthMismatch = "length_mismatch"
        case truncatedStream = "truncated_stream"

        /// Header-level kinds (and API/IO errors): raised in both reading modes, because
        /// nothing can be decoded. Python's `FATAL_KINDS`.
        public static let fatal: Set<Kind> = [
            .ioError, .invalidArgument, .badMagic, .unsupportedVersion, .truncatedHeader,
            .badHeaderCRC, .badHeaderField, .fingerprintMismatch, .decoderMismatch,
        ]

        /// Packet-level kinds: raised in strict mode, recorded as events in streaming mode.
        /// Python's `PACKET_KINDS`.
        public static var packet: Set<Kind> {
            Set(allCases).subtracting(fatal)
        }

        public var isFatal: Bool {
            Kind.fatal.contains(self)
        }
    }

    public let kind: Kind
    /// What was expected and what was found, without the location.
    public let detail: String
    /// The file, or nil.
    public let path: String?
    /// Byte offset in the stream where the problem starts; nil when unknown.
    public let offset: Int?
    /// Sequence number the reader expected (or the packet's own, see the spec); nil when unknown.
    public let packet: Int?

    public init(_ kind: Kind, _ detail: String, path: String? = nil, offset: Int? = nil, packet: Int? = nil) {
        self.kind = kind
        self.detail = detail
        self.path = path
        self.offset = offset
        self.packet = packet
    }

    /// True for kinds that end reading in streaming mode too.
    public var isFatal: Bool {
        kind.isFatal
    }

    public var description: String {
        var location = [path ?? "<stream>"]
        if let offset {
            location.append("byte \(offset)")
        }
        if let packet {
            location.append("packet \(packet)")
        }
        return "\(location.joined(separator: ", ")): \(detail) [\(kind.rawValue)]"
    }

    /// A copy placed in a file: `path` set (if non-nil) and the offset moved by `offsetShift`.
    func located(path newPath: String?, offsetShift: Int = 0) -> TQCError {
        TQCError(kind, detail, path: newPath ?? path, offset: offset.map { $0 + offsetShift }, packet: packet)
    }
}

extension TQCError: LocalizedError {
    public var errorDescription: String? {
        description
    }
}
