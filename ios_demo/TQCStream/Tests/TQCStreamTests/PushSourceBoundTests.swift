import Foundation
import XCTest
@testable import TQCStream

/// The download side is bounded: once `capacityBytes` of packets wait for the decode thread,
/// the producer blocks (`append`) or suspends (`write`) until packets are taken.
final class PushSourceBoundTests: XCTestCase {
    private func stream(packets: Int) throws -> (StreamHeader, [UInt8], [[[Int]]]) {
        let h = try StreamHeader(channels: 1, nQ: 4, fingerprint: TestStreams.fingerprint(21), codebookSize: 500,
                                 framesPerPacket: 8)
        let codes = TestStreams.randomCodes(h, frames: 8 * packets, seed: 22)
        return (h, TestStreams.stream(h, codes: codes), codes)
    }

    /// Set from the producer thread, read by the test.
    final class Progress: @unchecked Sendable {
        private let lock = NSLock()
        private var appendedValue = 0
        private var doneValue = false

        var appended: Int {
            lock.lock()
            defer { lock.unlock() }
            return appendedValue
        }

        var done: Bool {
            lock.lock()
            defer { lock.unlock() }
            return doneValue
        }

        func add(_ n: Int) {
            lock.lock()
            appendedValue += n
            lock.unlock()
        }

        func finish() {
            lock.lock()
            doneValue = true
            lock.unlock()
        }
    }

    func testAFullQueueBlocksTheProducerUntilTheDecoderTakesPackets() throws {
        let (h, data, codes) = try stream(packets: 40)
        let packetBytes = h.packetSize()
        let source = PushPacketSource(reader: try StreamReader(strict: false), capacityBytes: 4 * packetBytes)
        let progress = Progress()
        Thread.detachNewThread {
            var at = 0
            while at < data.count { // one packet's worth per append, as a network delivers it
                let end = min(data.count, at + packetBytes)
                guard source.append(data[at..<end]) else {
                    return
                }
                progress.add(end - at)
                at = end
            }
            progress.finish() // before finish(): the consumer sees the end only after this
            source.finish()
        }
        let settle = Date().addingTimeInterval(5)
        while source.queuedBytes < 4 * packetBytes && Date() < settle {
            usleep(1000)
        }
        usleep(100_000) // the producer has had time to run ahead, if it could
        XCTAssertFalse(progress.done)
        XCTAssertLessThanOrEqual(source.queuedBytes, 5 * packetBytes) // capacity + one append
        XCTAssertLessThan(progress.appended, 7 * packetBytes)
        // the decode thread takes packets: the producer goes on, and everything arrives in order
        var got: [Packet] = []
        XCTAssertEqual(try source.header(), h)
        while let packet = try source.next() {
            got.append(packet)
            XCTAssertLessThanOrEqual(source.queuedBytes, 5 * packetBytes)
        }
        XCTAssertTrue(progress.done)
        XCTAssertEqual(got.map(\.sequence), Array(0..<40))
        XCTAssertEqual(Vectors.concat(got, channels: 1, nQ: 4), codes)
        XCTAssertEqual(source.bytesReceived, data.count)
        XCTAssertEqual(source.queuedBytes, 0)
    }

    func testAnAsyncProducerSuspendsWhenFullAndCancelReleasesIt() async throws {
        let (h, data, _) = try stream(packets: 20)
        let packetBytes = h.packetSize()
        let source = PushPacketSource(reader: try StreamReader(strict: false), capacityBytes: 2 * packetBytes)
        let progress = Progress()
        let producer = Task.detached {
            var at = 0
            while at < data.count {
                let end = min(data.count, at + packetBytes)
                guard await source.write(Array(data[at..<end])) else {
                    return false
                }
                progress.add(end - at)
                at = end
            }
            source.finish()
            return true
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        XCTAssertLessThanOrEqual(source.queuedBytes, 3 * packetBytes)
        XCTAssertLessThan(progress.appended, 5 * packetBytes)
        // taking two packets lets it write more, then it suspends again
        XCTAssertNotNil(try source.next())
        XCTAssertNotNil(try source.next())
        try await Task.sleep(nanoseconds: 100_000_000)
        XCTAssertLessThanOrEqual(source.queuedBytes, 3 * packetBytes)
        XCTAssertLessThan(progress.appended, 7 * packetBytes)
        // playback stops: the suspended producer is released and told to stop downloading
        source.cancel()
        let finished = await producer.value
        XCTAssertFalse(finished)
        XCTAssertNil(try source.next())
        let late = await source.write([1, 2, 3])
        XCTAssertFalse(late)
    }

    func testCancelReleasesABlockedProducer() throws {
        let (h, data, _) = try stream(packets: 10)
        let source = PushPacketSource(reader: try StreamReader(strict: false), capacityBytes: h.packetSize())
        let released = DispatchSemaphore(value: 0)
        let outcome = Progress()
        Thread.detachNewThread {
            if !source.append(data) || !source.append(data) { // the second append waits: the queue is full
                outcome.finish()
            }
            released.signal()
        }
        XCTAssertEqual(released.wait(timeout: .now() + 0.1), .timedOut)
        source.cancel()
        XCTAssertEqual(released.wait(timeout: .now() + 5), .success)
        XCTAssertTrue(outcome.done) // append returned false: stop downloading
    }
}
