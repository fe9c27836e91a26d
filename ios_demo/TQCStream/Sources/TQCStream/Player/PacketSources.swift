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
/// producer calls `append` (or `write` from async code) / `finish` / `fail`, the decode thread
/// blocks in `header()` and `next()` until there is something to return. The reader is fed on
/// the producer's thread, so a packet is ready as soon as its last byte has arrived.
///
/// **Bounded, with back-pressure.** A download is usually faster than playback; without a
/// bound, a long stream would pile up in memory. Packets parsed but not yet taken by the
/// decode thread are counted in bytes (`queuedBytes`); once they reach `capacityBytes`,
/// `append` blocks and `write` suspends until the decode thread has taken some (which it does
/// only as fast as the ring buffer drains, i.e. in real time), so the network side slows to
/// the playback rate. Memory stays within `capacityBytes` + one append + one packet (the
/// reader's partial packet); damaged bytes are dropped by the reader and never queue.
///
/// Thread-safe (an `NSCondition`; neither side is the audio render thread). Errors come in
/// order: packets parsed before a failure are delivered first, then the failure is thrown.
public final class PushPacketSource: PacketSource, @unchecked Sendable {
    /// Default bound: 256 KiB, 33 s of tq64 mono (63.6 kbps), 17 s of stereo.
    public static let defaultCapacityBytes = 256 * 1024

    public let capacityBytes: Int
    private let condition = NSCondition()
    private let reader: StreamReader
    private var ready: [Packet] = []
    private var readyIndex = 0
    private var queued = 0
    private var ended = false
    private var failure: Error?
    private var received = 0
    private var events = 0
    private var spaceWaiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameter capacityBytes: packet bytes queued for the decode thread before the producer waits.
    public init(reader: StreamReader, capacityBytes: Int = PushPacketSource.defaultCapacityBytes) {
        precondition(capacityBytes >= 1, "capacityBytes must be positive")
        self.reader = reader
        self.capacityBytes = capacityBytes
    }

    /// Producer: more bytes of the stream, waiting (blocking this thread) while the queue is
    /// full. Returns false once the source has failed or been cancelled (the producer can stop
    /// downloading then).
    @discardableResult
    public func append<Bytes: Sequence>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        let chunk = Array(bytes)
        condition.lock()
        defer { condition.unlock() }
        while queued >= capacityBytes && failure == nil && !ended {
            condition.wait()
        }
        return feedLocked(chunk)
    }

    /// Producer in async code (a URLSession byte stream): as `append`, but suspends instead of
    /// blocking a thread of the cooperative pool while the queue is full.
    public func write(_ bytes: [UInt8]) async -> Bool {
        while true {
            if let accepted = feedIfRoom(bytes) {
                return accepted
            }
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                waitForRoom(waiter)
            }
        }
    }

    /// Feed `chunk` unless the queue is full (nil).
    private func feedIfRoom(_ chunk: [UInt8]) -> Bool? {
        condition.lock()
        defer { condition.unlock() }
        guard queued < capacityBytes || failure != nil || ended else {
            return nil
        }
        return feedLocked(chunk)
    }

    /// Resume `waiter` once there is room (at once if there is already).
    private func waitForRoom(_ waiter: CheckedContinuation<Void, Never>) {
        condition.lock()
        if queued < capacityBytes || failure != nil || ended {
            condition.unlock()
            waiter.resume()
        } else {
            spaceWaiters.append(waiter)
            condition.unlock()
        }
    }

    /// Lock held: feed the reader, queue its packets, wake the consumer.
    private func feedLocked(_ chunk: [UInt8]) -> Bool {
        guard failure == nil && !ended else {
            return false
        }
        received += chunk.count
        do {
            let packets = try reader.feed(chunk)
            queued += packets.reduce(0) { $0 + $1.byteCount }
            ready += packets
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
        guard failure == nil && !ended else {
            condition.unlock()
            return
        }
        do {
            let packets = try reader.finish()
            queued += packets.reduce(0) { $0 + $1.byteCount }
            ready += packets
        } catch {
            failure = error
        }
        events = reader.events.count
        ended = true
        wakeAllLocked()
    }

    /// Producer: the download failed (network error, HTTP status, ...).
    public func fail(_ error: Error) {
        condition.lock()
        if failure == nil && !ended {
            failure = error
        }
        wakeAllLocked()
    }

    /// Either side: give up; a consumer blocked in `header()`/`next()` wakes up with nil (or
    /// `invalid_argument` from `header()`), a producer waiting for room wakes up, and
    /// `append`/`write` return false from now on.
    public func cancel() {
        condition.lock()
        if failure == nil {
            ended = true
            ready.removeAll()
            readyIndex = 0
            queued = 0
        }
        wakeAllLocked()
    }

    /// Lock held: wake everyone, then unlock (continuations resume outside the lock).
    private func wakeAllLocked() {
        condition.broadcast()
        let waiters = spaceWaiters
        spaceWaiters.removeAll()
        condition.unlock()
        for waiter in waiters {
            waiter.resume()
        }
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
            let wasFull = queued >= capacityBytes
            queued -= packet.byteCount
            if wasFull && queued < capacityBytes {
                wakeAllLocked() // room again: release a waiting producer
            } else {
                condition.unlock()
            }
            return packet
        }
        defer { condition.unlock() }
        if let failure {
            throw failure
        }
        return nil
    }

    /// Packet bytes parsed and waiting for the decode thread.
    public var queuedBytes: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued
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
