import Foundation

/// Packets pulled through a `StreamReader` from a byte source that the decode thread reads
/// itself as it needs packets: a file (`FileHandle`), an in-memory stream, a test.
///
/// `read` returns the next bytes (any count, possibly blocking) or nil at the end of input.
/// For a player, build the reader in streaming mode (`strict: false`) with the artifact's
/// expected fingerprint.
public final class ReaderPacketSource: PacketSource {
    public let reader: StreamReader
    private let read: () throws -> [UInt8]?
    private var ready: [Packet] = []
    private var readyIndex = 0
    private var ended = false
    public private(set) var bytesReceived = 0

    public init(reader: StreamReader, read: @escaping () throws -> [UInt8]?) {
        self.reader = reader
        self.read = read
    }

    /// Bytes in memory, handed over `chunkSize` at a time.
    public convenience init(reader: StreamReader, bytes: [UInt8], chunkSize: Int = 4096) {
        precondition(chunkSize >= 1, "chunkSize must be positive")
        var at = 0
        self.init(reader: reader) {
            guard at < bytes.count else {
                return nil
            }
            let end = min(bytes.count, at + chunkSize)
            defer { at = end }
            return Array(bytes[at..<end])
        }
    }

    public func header() throws -> StreamHeader {
        while reader.header == nil && !ended {
            try readMore()
        }
        guard let header = reader.header else { // finish() has thrown truncated_header otherwise
            throw TQCError(.truncatedHeader, "the stream ended before its header", path: reader.path, offset: 0)
        }
        return header
    }

    public func next() throws -> Packet? {
        while readyIndex == ready.count && !ended {
            try readMore()
        }
        guard readyIndex < ready.count else {
            return nil
        }
        let packet = ready[readyIndex]
        readyIndex += 1
        if readyIndex == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
        }
        return packet
    }

    public var eventCount: Int {
        reader.events.count
    }

    private func readMore() throws {
        let chunk: [UInt8]?
        do {
            chunk = try read()
        } catch let error as TQCError {
            throw error
        } catch {
            throw TQCError(.ioError, "cannot read: \(error.localizedDescription)", path: reader.path)
        }
        if let chunk {
            bytesReceived += chunk.count
            ready += try reader.feed(chunk)
        } else {
            ended = true
            ready += try reader.finish()
        }
    }
}

/// Packets from bytes that another thread pushes as they arrive (a network download): the
/// producer calls `append` / `finish` / `fail`, the decode thread blocks in `header()` and
/// `next()` until there is something to return. The reader is fed on the producer's thread, so
/// a packet is ready as soon as its last byte has arrived.
///
/// Thread-safe (an `NSCondition`; neither side is the audio render thread). Errors come in
/// order: packets parsed before a failure are delivered first, then the failure is thrown.
public final class PushPacketSource: PacketSource, @unchecked Sendable {
    private let condition = NSCondition()
    private let reader: StreamReader
    private var ready: [Packet] = []
    private var readyIndex = 0
    private var ended = false
    private var failure: Error?
    private var received = 0
    private var events = 0

    public init(reader: StreamReader) {
        self.reader = reader
    }

    /// Producer: more bytes of the stream. Returns false once the source has failed or been
    /// cancelled (the producer can stop downloading then).
    @discardableResult
    public func append<Bytes: Sequence>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        let chunk = Array(bytes)
        condition.lock()
        defer { condition.unlock() }
        guard failure == nil && !ended else {
            return false
        }
        received += chunk.count
        do {
            ready += try reader.feed(chunk)
        } catch {
            failure = error
        }
        events = reader.events.count
        condition.broadcast()
        return failure == nil
    }

    /// Producer: the stream ended normally.
    public func finish() {
        condition.lock()
        defer { condition.unlock() }
        guard failure == nil && !ended else {
            return
        }
        do {
            ready += try reader.finish()
        } catch {
            failure = error
        }
        events = reader.events.count
        ended = true
        condition.broadcast()
    }

    /// Producer: the download failed (network error, HTTP status, ...).
    public func fail(_ error: Error) {
        condition.lock()
        defer { condition.unlock() }
        if failure == nil && !ended {
            failure = error
        }
        condition.broadcast()
    }

    /// Either side: give up; a consumer blocked in `header()`/`next()` wakes up with nil (or
    /// `invalid_argument` from `header()`), and `append` returns false from now on.
    public func cancel() {
        condition.lock()
        defer { condition.unlock() }
        if failure == nil {
            ended = true
            ready.removeAll()
            readyIndex = 0
        }
        condition.broadcast()
    }

    public func header() throws -> StreamHeader {
        condition.lock()
        defer { condition.unlock() }
        while reader.header == nil && failure == nil && !ended {
            condition.wait()
        }
        if let header = reader.header {
            return header
        }
        if let failure {
            throw failure
        }
        throw TQCError(.invalidArgument, "the stream was cancelled before its header arrived", path: reader.path)
    }

    public func next() throws -> Packet? {
        condition.lock()
        defer { condition.unlock() }
        while readyIndex == ready.count && failure == nil && !ended {
            condition.wait()
        }
        if readyIndex < ready.count {
            let packet = ready[readyIndex]
            readyIndex += 1
            if readyIndex == ready.count {
                ready.removeAll(keepingCapacity: true)
                readyIndex = 0
            }
            return packet
        }
        if let failure {
            throw failure
        }
        return nil
    }

    public var eventCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return events
    }

    public var bytesReceived: Int {
        condition.lock()
        defer { condition.unlock() }
        return received
    }
}
