/// Incremental `.tqc` reader: `feed` bytes as they arrive, get packets as they complete.
///
/// A mirror of `StreamReader` in `tqcodec/bitstream.py` (and of the Java port): the same checks
/// in the same order, the same kinds, offsets and packet numbers (docs/bitstream.md, "Reading").
///
/// - **strict** (the default): the first problem throws `TQCError`; the reader then stays failed
///   and every later `feed`/`finish` throws the same error.
/// - **streaming** (`strict: false`): header problems still throw (nothing can be decoded);
///   packet problems are recorded in `events` (and passed to `onEvent`), the damaged region is
///   skipped by scanning for the next sync word, and lost packets show as `Packet.lostBefore`.
///
/// The outcome depends only on the bytes, never on how they are split into feeds. Memory is
/// bounded by one packet plus one feed (plus at most 64 KiB of consumed bytes between
/// compactions). Not thread-safe: one thread feeds.
///
/// To start mid-stream, give the `header` (read earlier or elsewhere), the stream `offset` of
/// the first byte fed and `firstSequence` (`nil`: accept any). Such a reader skips the
/// total-length checks.
public final class StreamReader {
    public static let sequenceModulus = 1 << 16
    static let halfSequence = sequenceModulus / 2
    static let sync: (UInt8, UInt8) = (0xA5, 0x5A)
    static let compactAt = 1 << 16

    public let isStrict: Bool
    public let path: String?
    /// The header, or nil until it has been read.
    public private(set) var header: StreamHeader?
    /// Packet problems recorded in streaming mode, in order.
    public private(set) var events: [TQCError] = []
    /// Packets found missing so far (the sum of `lostBefore`).
    public private(set) var lostPackets = 0
    /// Frames delivered so far.
    public private(set) var framesRead = 0

    private let onEvent: ((TQCError) -> Void)?
    private let expectedFingerprint: [UInt8]?
    private let wholeStream: Bool
    private var crcSeed: UInt32 = 0
    private var sizes: [Int] = []
    private var flat: [Int32] = []

    private var buffer: [UInt8] = []
    private var base: Int // stream offset of buffer[0]
    private var position = 0
    private var expected: Int? // the sequence number expected next; nil: any
    private var inSync = true
    private var afterPartial = false
    private var lastCount = 0
    private var failure: TQCError?
    private var finished = false

    /// Options and defaults are Python's: strict, header from the stream, first sequence 0, offset 0.
    /// - Throws: `invalid_argument` for an expected fingerprint that is not 16 bytes long (checked
    ///   here, not when the header arrives); `fingerprint_mismatch` (no offset) if a given header
    ///   fails the expected fingerprint.
    public init(strict: Bool = true, header: StreamHeader? = nil, expectedFingerprint: [UInt8]? = nil,
                firstSequence: Int? = 0, offset: Int = 0, path: String? = nil,
                onEvent: ((TQCError) -> Void)? = nil) throws {
        isStrict = strict
        self.path = path
        self.onEvent = onEvent
        self.expectedFingerprint = expectedFingerprint
        if let expectedFingerprint, expectedFingerprint.count != StreamHeader.fingerprintSize {
            throw TQCError(.invalidArgument, "expected_fingerprint must be \(StreamHeader.fingerprintSize) bytes, "
                + "got \(expectedFingerprint.count)", path: path)
        }
        expected = firstSequence.map { StreamReader.wrap($0) }
        base = offset
        wholeStream = header == nil // only a reader that sees the header can check the total length
        if let header {
            try checkFingerprint(header, headerOffset: nil)
            setHeader(header)
        }
    }

    /// Add bytes; return the packets they completed (possibly none).
    public func feed<Bytes: Sequence>(_ bytes: Bytes) throws -> [Packet] where Bytes.Element == UInt8 {
        if let failure {
            throw failure
        }
        if finished {
            throw TQCError(.invalidArgument, "feed() after finish()", path: path)
        }
        buffer.append(contentsOf: bytes)
        return try guarded(eof: false)
    }

    /// Declare the end of input and decide what was waiting for more bytes. A second call returns nothing.
    public func finish() throws -> [Packet] {
        if finished {
            return []
        }
        finished = true
        return try guarded(eof: true)
    }

    // MARK: - internals

    static func wrap(_ sequence: Int) -> Int {
        sequence & (sequenceModulus - 1)
    }

    private func setHeader(_ h: StreamHeader) {
        header = h
        crcSeed = h.packetCRCSeed
        sizes = (0...h.framesPerPacket).map { $0 == 0 ? 0 : h.packetSize(frames: $0) }
        flat = [Int32](repeating: 0, count: h.framesPerPacket * h.codesPerFrame)
    }

    /// `headerOffset`: where the header starts in the stream (nil: the header came separately).
    private func checkFingerprint(_ h: StreamHeader, headerOffset: Int?) throws {
        guard let expectedFingerprint, expectedFingerprint != h.fingerprint else {
            return
        }
        throw TQCError(.fingerprintMismatch, "stream was made by decoder weights \(hexString(h.fingerprint)), "
            + "expected \(hexString(expectedFingerprint))", path: path,
            offset: headerOffset.map { $0 + StreamHeader.Field.fingerprint.rawValue })
    }

    private func guarded(eof: Bool) throws -> [Packet] {
        if let failure {
            throw failure
        }
        var out: [Packet] = []
        do {
            try run(&out, eof: eof)
        } catch let error as TQCError {
            failure = error
            throw error
        }
        return out
    }

    private func run(_ out: inout [Packet], eof: Bool) throws {
        if header == nil {
            guard try readHeader(eof: eof) else {
                return
            }
        }
        while try step(&out, eof: eof) {
            // each step consumes or skips at least one byte, or asks for more input
        }
        if position > 0 && (position == buffer.count || position >= StreamReader.compactAt) {
            buffer.removeSubrange(0..<position)
            base += position
            position = 0
        }
        if eof, isStrict, wholeStream, let n = header?.frameCount, UInt64(framesRead) < n {
            try problem(.truncatedStream, offset: base + position, "expected \(n) frames (total_samples="
                + "\(header?.totalSamples ?? 0)), stream ends after \(framesRead)", packet: expected)
        }
    }

    private func readHeader(eof: Bool) throws -> Bool {
        let h: StreamHeader
        do {
            h = try StreamHeader.decode(buffer, path: path)
        } catch {
            guard let error = error as? TQCError else {
                throw error
            }
            if error.kind == .truncatedHeader && !eof {
                return false
            }
            throw error.located(path: path, offsetShift: base)
        }
        try checkFingerprint(h, headerOffset: base)
        setHeader(h)
        position = StreamHeader.size
        return true
    }

    /// Raise in strict mode; record an event in streaming mode.
    private func problem(_ kind: TQCError.Kind, offset: Int, _ detail: String, packet: Int?) throws {
        let error = TQCError(kind, detail, path: path, offset: offset, packet: packet)
        if isStrict {
            throw error
        }
        events.append(error)
        onEvent?(error)
    }

    /// What sits at one buffer position (Python's `_OK`, `_NEED_MORE`, ...).
    private enum Probe {
        case ok(sequence: Int, count: Int, size: Int)
        case needMore
        case truncated(size: Int?)
        case notSync
        case badCount(Int)
        case badCRC(stored: UInt32, actual: UInt32)
    }

    /// Is there a complete, intact packet at buffer position `p`?
    private func probe(_ p: Int, eof: Bool, header h: StreamHeader) -> Probe {
        let available = buffer.count - p
        if buffer[p] != StreamReader.sync.0 || (available >= 2 && buffer[p + 1] != StreamReader.sync.1) {
            return .notSync
        }
        if available < StreamHeader.packetHeaderSize {
            return eof ? .truncated(size: nil) : .needMore
        }
        let sequence = buffer.u16LE(at: p + 2)
        let count = Int(buffer[p + 4])
        guard count >= 1 && count <= h.framesPerPacket else {
            return .badCount(count)
        }
        let size = sizes[count]
        if available < size {
            return eof ? .truncated(size: size) : .needMore
        }
        let crcAt = p + size - StreamHeader.packetCRCSize
        let stored = buffer.u32LE(at: crcAt)
        var crc = CRC32(seed: crcSeed)
        crc.update(buffer, range: p..<crcAt)
        return stored == crc.value ? .ok(sequence: sequence, count: count, size: size)
            : .badCRC(stored: stored, actual: crc.value)
    }

    /// Handle the bytes at the current position; false when more input is needed.
    private func step(_ out: inout [Packet], eof: Bool) throws -> Bool {
        guard let h = header else {
            return false
        }
        let p = position
        if p >= buffer.count {
            return false
        }
        let result = probe(p, eof: eof, header: h)
        switch result {
        case .needMore:
            return false
        case let .ok(sequence, count, size):
            inSync = true
            try accept(p, sequence: sequence, count: count, size: size, header: h, into: &out)
            position = p + size
            return true
        default:
            break
        }
        if inSync { // damage where a packet should start: report once, then scan
            let offset = base + p
            switch result {
            case .notSync:
                let found = hexString(buffer[p..<min(p + 2, buffer.count)], separator: " ")
                try problem(.badSync, offset: offset, "expected sync word a5 5a at a packet boundary, found \(found)",
                            packet: expected)
            case let .badCount(count):
                try problem(.badFrameCount, offset: offset, "expected a frame count in [1, \(h.framesPerPacket)], "
                    + "found \(count)", packet: expected)
            case let .badCRC(stored, actual):
                try problem(.badCRC, offset: offset, "packet CRC-32 expected 0x\(hexPadded(actual, width: 8)), "
                    + "found 0x\(hexPadded(stored, width: 8))", packet: expected)
            case let .truncated(size):
                let need = size.map { "\($0) bytes" } ?? "a \(StreamHeader.packetHeaderSize)-byte packet header"
                try problem(.truncatedPacket, offset: offset, "expected \(need), stream ends after "
                    + "\(buffer.count - p)", packet: expected)
            case .ok, .needMore:
                break
            }
            inSync = false
        }
        // Keep a last byte that may be the first half of a sync word split across feeds.
        position = nextSync(from: p + 1) ?? max(p + 1, buffer.count - 1)
        return true
    }

    private func nextSync(from start: Int) -> Int? {
        var i = start
        while i < buffer.count - 1 {
            if buffer[i] == StreamReader.sync.0 && buffer[i + 1] == StreamReader.sync.1 {
                return i
            }
            i += 1
        }
        return nil
    }

    private func accept(_ p: Int, sequence: Int, count: Int, size: Int, header h: StreamHeader,
                        into out: inout [Packet]) throws {
        let offset = base + p
        if afterPartial && isStrict {
            try problem(.badFrameCount, offset: offset, "expected the previous packet to be full "
                + "(\(h.framesPerPacket) frames) since another follows it, found \(lastCount) frames "
                + "(only the last packet may be partial)", packet: expected)
        }
        var lost = 0
        if let want = expected, sequence != want {
            let d = StreamReader.wrap(sequence - want)
            if d >= StreamReader.halfSequence {
                try problem(.outOfOrder, offset: offset, "expected sequence \(want), found \(sequence) "
                    + "(a late or duplicated packet)", packet: want)
                return
            }
            try problem(.sequenceGap, offset: offset, "expected sequence \(want), found \(sequence): "
                + "\(d) packet(s) lost", packet: want)
            lost = d
            lostPackets += d
        }
        expected = StreamReader.wrap(sequence + 1)
        let n = count * h.codesPerFrame
        let largest = CodeUnpacker.unpack(buffer, offset: p + StreamHeader.packetHeaderSize, bits: h.bits,
                                          count: n, into: &flat)
        if h.codebookSize < 1 << h.bits && largest >= h.codebookSize {
            try problem(.codeOutOfRange, offset: offset, "expected codes below codebook_size=\(h.codebookSize), "
                + "found \(largest)", packet: sequence)
            return
        }
        if isStrict, wholeStream, let total = h.frameCount, UInt64(framesRead + count) > total {
            try problem(.lengthMismatch, offset: offset, "expected \(total) frames (total_samples="
                + "\(h.totalSamples ?? 0)), this packet brings the stream to \(framesRead + count)", packet: sequence)
        }
        // frame-major on the wire → [channel][codebook][frame]
        var codes = [Int32](repeating: 0, count: n)
        var i = 0
        for f in 0..<count {
            for c in 0..<h.channels {
                for q in 0..<h.nQ {
                    codes[(c * h.nQ + q) * count + f] = flat[i]
                    i += 1
                }
            }
        }
        framesRead += count
        afterPartial = count < h.framesPerPacket
        lastCount = count
        out.append(Packet(sequence: sequence, offset: offset, channels: h.channels, nQ: h.nQ, frames: count,
                          codes: codes, lostBefore: lost, byteCount: size))
    }
}

extension StreamReader {
    /// Strictly decode a whole stream held in memory: the header and every packet
    /// (Python's `decode_stream`, packets kept apart).
    public static func decodeAll(_ data: [UInt8], expectedFingerprint: [UInt8]? = nil,
                                 path: String? = nil) throws -> (header: StreamHeader, packets: [Packet]) {
        let reader = try StreamReader(expectedFingerprint: expectedFingerprint, path: path)
        var packets = try reader.feed(data)
        packets += try reader.finish()
        guard let header = reader.header else { // finish() has thrown truncated_header otherwise
            throw TQCError(.truncatedHeader, "no header", path: path, offset: 0)
        }
        return (header, packets)
    }
}
