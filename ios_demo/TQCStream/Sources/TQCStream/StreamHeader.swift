/// The 52-byte `.tqc` file header (docs/bitstream.md, "File header"); always valid once built.
///
/// Integers are kept as `Int` (every platform this runs on is 64-bit, so each u32 field fits);
/// `totalSamples` is a u64, `nil` for a live stream of unknown length (all ones on the wire).
public struct StreamHeader: Hashable, Sendable, CustomStringConvertible {
    public static let magic: [UInt8] = [0x54, 0x51, 0x43, 0x53] // "TQCS"
    public static let formatVersion = 1
    public static let size = 52
    public static let fingerprintSize = 16
    public static let maxBits = 16
    public static let defaultFramesPerPacket = 32
    public static let packetHeaderSize = 5
    public static let packetCRCSize = 4
    public static let packetOverhead = packetHeaderSize + packetCRCSize
    static let unknownTotalSamples = UInt64.max
    static let u32Max = 0xFFFF_FFFF

    /// Byte offsets of the header fields: the offsets that `bad_header_field` reports.
    public enum Field: Int, Sendable {
        case magic = 0
        case version = 4
        case flags = 6
        case sampleRate = 8
        case hopLength = 12
        case codebookSize = 16
        case channels = 20
        case nQ = 21
        case bits = 22
        case framesPerPacket = 23
        case totalSamples = 24
        case fingerprint = 32
        case headerCRC = 48

        /// The field's name in the spec and in Python's messages.
        public var name: String {
            switch self {
            case .magic: return "magic"
            case .version: return "version"
            case .flags: return "flags"
            case .sampleRate: return "sample_rate"
            case .hopLength: return "hop_length"
            case .codebookSize: return "codebook_size"
            case .channels: return "channels"
            case .nQ: return "n_q"
            case .bits: return "bits"
            case .framesPerPacket: return "frames_per_packet"
            case .totalSamples: return "total_samples"
            case .fingerprint: return "fingerprint"
            case .headerCRC: return "header_crc"
            }
        }
    }

    public let sampleRate: Int
    public let hopLength: Int
    public let codebookSize: Int
    public let channels: Int
    public let nQ: Int
    public let bits: Int
    public let framesPerPacket: Int
    /// Audio length in samples; nil for a live stream of unknown length.
    public let totalSamples: UInt64?
    /// First 16 bytes of the SHA-256 of the decoder weights the codes are for.
    public let fingerprint: [UInt8]

    /// Defaults are TQCodec's (44.1 kHz, hop 64, 512 codes of 9 bits, 32 frames per packet, live).
    /// - Throws: `TQCError` `bad_header_field` with the first out-of-range field's offset, checked
    ///   in Python's order: sample_rate, hop_length, channels, n_q, bits, codebook_size,
    ///   frames_per_packet, total_samples, fingerprint.
    public init(channels: Int, nQ: Int, fingerprint: [UInt8], sampleRate: Int = 44_100, hopLength: Int = 64,
                codebookSize: Int = 512, bits: Int = 9, framesPerPacket: Int = 32,
                totalSamples: UInt64? = nil) throws {
        func check(_ field: Field, _ value: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard range.contains(value) else {
                throw StreamHeader.fieldError(field, "expected an integer in [\(range.lowerBound), "
                    + "\(range.upperBound)], got \(value)")
            }
            return value
        }
        self.sampleRate = try check(.sampleRate, sampleRate, 1...StreamHeader.u32Max)
        self.hopLength = try check(.hopLength, hopLength, 1...StreamHeader.u32Max)
        self.channels = try check(.channels, channels, 1...255)
        self.nQ = try check(.nQ, nQ, 1...255)
        self.bits = try check(.bits, bits, 1...StreamHeader.maxBits)
        self.codebookSize = try check(.codebookSize, codebookSize, 1...(1 << bits))
        self.framesPerPacket = try check(.framesPerPacket, framesPerPacket, 1...255)
        if let totalSamples, totalSamples == StreamHeader.unknownTotalSamples {
            throw StreamHeader.fieldError(.totalSamples, "expected an integer in [0, \(UInt64.max - 1)], "
                + "got \(totalSamples)")
        }
        self.totalSamples = totalSamples
        guard fingerprint.count == StreamHeader.fingerprintSize else {
            throw StreamHeader.fieldError(.fingerprint, "expected \(StreamHeader.fingerprintSize) bytes, "
                + "got \(fingerprint.count)")
        }
        self.fingerprint = fingerprint
    }

    static func fieldError(_ field: Field, _ detail: String) -> TQCError {
        TQCError(.badHeaderField, "header field \(field.name): \(detail)", offset: field.rawValue)
    }

    /// Parse the header at the start of `data`; checks run in the documented order: magic (on
    /// the bytes present), version (once 6 bytes are present), length, CRC, flags, fields.
    /// Only the first 52 bytes are looked at.
    public static func decode(_ data: [UInt8], path: String? = nil) throws -> StreamHeader {
        let n = min(data.count, size)
        for i in 0..<min(n, 4) where data[i] != magic[i] {
            throw TQCError(.badMagic, "expected magic b'TQCS' (54 51 43 53), found "
                + hexString(data[0..<min(n, 4)], separator: " "), path: path, offset: Field.magic.rawValue)
        }
        if n >= 6 {
            let version = data.u16LE(at: Field.version.rawValue)
            if version != formatVersion {
                throw TQCError(.unsupportedVersion, "expected format version \(formatVersion), found \(version)",
                               path: path, offset: Field.version.rawValue)
            }
        }
        if n < size {
            throw TQCError(.truncatedHeader, "expected a \(size)-byte header, stream has only \(n) bytes",
                           path: path, offset: 0)
        }
        let stored = data.u32LE(at: Field.headerCRC.rawValue)
        var crc = CRC32()
        crc.update(data, range: 0..<Field.headerCRC.rawValue)
        if stored != crc.value {
            throw TQCError(.badHeaderCRC, "header CRC-32 expected 0x\(hexPadded(crc.value, width: 8)) over bytes 0..47, "
                + "found 0x\(hexPadded(stored, width: 8))", path: path, offset: Field.headerCRC.rawValue)
        }
        let flags = data.u16LE(at: Field.flags.rawValue)
        if flags != 0 {
            throw TQCError(.badHeaderField, "header field flags: expected 0 (reserved), found 0x\(hexPadded(flags, width: 4))",
                           path: path, offset: Field.flags.rawValue)
        }
        let total = data.u64LE(at: Field.totalSamples.rawValue)
        let fp = Field.fingerprint.rawValue
        do {
            return try StreamHeader(
                channels: Int(data[Field.channels.rawValue]),
                nQ: Int(data[Field.nQ.rawValue]),
                fingerprint: Array(data[fp..<(fp + fingerprintSize)]),
                sampleRate: Int(data.u32LE(at: Field.sampleRate.rawValue)),
                hopLength: Int(data.u32LE(at: Field.hopLength.rawValue)),
                codebookSize: Int(data.u32LE(at: Field.codebookSize.rawValue)),
                bits: Int(data[Field.bits.rawValue]),
                framesPerPacket: Int(data[Field.framesPerPacket.rawValue]),
                totalSamples: total == unknownTotalSamples ? nil : total)
        } catch let error as TQCError {
            throw error.located(path: path)
        } catch {
            throw error
        }
    }

    /// The 52 bytes: fields, then the CRC-32 of the first 48.
    public func encode() -> [UInt8] {
        var h = [UInt8](repeating: 0, count: StreamHeader.size)
        h.replaceSubrange(0..<4, with: StreamHeader.magic)
        h.putLE(UInt64(StreamHeader.formatVersion), at: Field.version.rawValue, size: 2)
        h.putLE(UInt64(sampleRate), at: Field.sampleRate.rawValue, size: 4)
        h.putLE(UInt64(hopLength), at: Field.hopLength.rawValue, size: 4)
        h.putLE(UInt64(codebookSize), at: Field.codebookSize.rawValue, size: 4)
        h[Field.channels.rawValue] = UInt8(channels)
        h[Field.nQ.rawValue] = UInt8(nQ)
        h[Field.bits.rawValue] = UInt8(bits)
        h[Field.framesPerPacket.rawValue] = UInt8(framesPerPacket)
        h.putLE(totalSamples ?? StreamHeader.unknownTotalSamples, at: Field.totalSamples.rawValue, size: 8)
        h.replaceSubrange(Field.fingerprint.rawValue..<Field.headerCRC.rawValue, with: fingerprint)
        var crc = CRC32()
        crc.update(h, range: 0..<Field.headerCRC.rawValue)
        h.putLE(UInt64(crc.value), at: Field.headerCRC.rawValue, size: 4)
        return h
    }

    /// Header bytes 0..23 then 32..47 (all but total_samples and the CRC): the 40 bytes every
    /// packet CRC covers first.
    public var identityBytes: [UInt8] {
        let h = encode()
        return Array(h[0..<Field.totalSamples.rawValue]) + Array(h[Field.fingerprint.rawValue..<Field.headerCRC.rawValue])
    }

    /// CRC-32 of `identityBytes` (Python's `packet_crc_seed`).
    public var packetCRCSeed: UInt32 {
        CRC32.checksum(identityBytes)
    }

    /// Frames per second, sample_rate / hop_length.
    public var frameRate: Double {
        Double(sampleRate) / Double(hopLength)
    }

    /// Codes in one frame of all channels.
    public var codesPerFrame: Int {
        channels * nQ
    }

    /// Frames the stream must hold, ceil(total_samples / hop_length); nil when the length is unknown.
    public var frameCount: UInt64? {
        guard let totalSamples else {
            return nil
        }
        let hop = UInt64(hopLength)
        return totalSamples / hop + (totalSamples % hop == 0 ? 0 : 1)
    }

    /// Bytes of packed codes in a packet of `frames` frames (padded to a byte).
    public func payloadSize(frames: Int) -> Int {
        (frames * codesPerFrame * bits + 7) / 8
    }

    /// Bytes of a whole packet of `frames` frames (default: a full packet).
    public func packetSize(frames: Int? = nil) -> Int {
        StreamHeader.packetOverhead + payloadSize(frames: frames ?? framesPerPacket)
    }

    /// Byte offset of packet `index` in a file: every packet but the last is full size.
    /// - Throws: `invalid_argument` for a negative index, or one whose offset does not fit in an
    ///   `Int` (a far seek on a live stream): overflow-checked, so hostile input cannot trap.
    public func packetOffset(_ index: Int) throws -> Int {
        guard index >= 0 else {
            throw TQCError(.invalidArgument, "a packet index must not be negative, got \(index)")
        }
        let (body, overflowed) = index.multipliedReportingOverflow(by: packetSize())
        let (offset, past) = body.addingReportingOverflow(StreamHeader.size)
        guard !overflowed, !past else {
            throw TQCError(.invalidArgument, "the byte offset of packet \(index) (\(packetSize()) bytes each) "
                + "does not fit in a 64-bit integer")
        }
        return offset
    }

    public var description: String {
        "StreamHeader(sample_rate=\(sampleRate), hop_length=\(hopLength), codebook_size=\(codebookSize), "
            + "channels=\(channels), n_q=\(nQ), bits=\(bits), frames_per_packet=\(framesPerPacket), "
            + "total_samples=\(totalSamples.map { String($0) } ?? "unknown"), fingerprint=\(hexString(fingerprint)))"
    }
}

/// `v` in lowercase hex, zero-padded to `width` digits.
func hexPadded<T: BinaryInteger>(_ v: T, width: Int) -> String {
    let digits = String(v, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
