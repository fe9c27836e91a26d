import Foundation
import XCTest
@testable import TQCStream

/// The producer side of a full ring sleeps until the audio side has made room, instead of
/// polling: wake-ups are counted while nothing is read (a paused player, a full buffer).
final class WaitForSpaceTests: XCTestCase {
    func testWaitReturnsAtOnceWithRoomAndTimesOutWithout() {
        let ring = FloatRingBuffer(minimumCapacity: 16)
        XCTAssertTrue(ring.waitForSpace(16, timeout: 5))
        XCTAssertEqual(ring.producerWakeups, 0) // no sleep
        XCTAssertEqual(ring.write([Float](repeating: 1, count: 16), range: 0..<16), 16)
        let started = Date()
        XCTAssertFalse(ring.waitForSpace(4, timeout: 0.05))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.04)
        XCTAssertEqual(ring.producerWakeups, 1)
    }

    func testAReadThatMakesEnoughRoomWakesTheProducerAtOnce() {
        let ring = FloatRingBuffer(minimumCapacity: 64)
        XCTAssertEqual(ring.write([Float](repeating: 1, count: 64), range: 0..<64), 64)
        final class Outcome: @unchecked Sendable { // written before `woke` is signalled, read after
            var waited = 0.0
            var hadRoom = false
        }
        let woke = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        Thread.detachNewThread {
            let started = Date()
            outcome.hadRoom = ring.waitForSpace(32, timeout: 30) // the timeout is not what ends this wait
            outcome.waited = Date().timeIntervalSince(started)
            woke.signal()
        }
        let asleep = Date().addingTimeInterval(10)
        while !ring.producerIsWaiting && Date() < asleep {
            usleep(1000)
        }
        XCTAssertTrue(ring.producerIsWaiting)
        var out = [Float](repeating: 0, count: 8)
        // 8 samples of room: not enough for the 32 asked, no wake-up
        XCTAssertEqual(out.withUnsafeMutableBufferPointer { ring.read(into: $0) }, 8)
        XCTAssertEqual(woke.wait(timeout: .now() + 0.1), .timedOut)
        for _ in 0..<3 { // 32 samples of room now
            XCTAssertEqual(out.withUnsafeMutableBufferPointer { ring.read(into: $0) }, 8)
        }
        XCTAssertEqual(woke.wait(timeout: .now() + 5), .success)
        XCTAssertTrue(outcome.hadRoom)
        XCTAssertLessThan(outcome.waited, 5)
        XCTAssertEqual(ring.producerWakeups, 1)
    }

    /// The sleep / signal handshake under a fast consumer: 2^20 samples through a 256-sample
    /// ring, the producer always sleeping with a 10 s timeout. A lost wake-up would show as a
    /// wait that timed out (or a run of seconds); the samples arrive intact and in order.
    func testNoWakeUpIsLost() {
        let seconds = handshake(ring: FloatRingBuffer(minimumCapacity: 256), total: 1 << 20, block: 96, maxRead: 37,
                                waitTimeout: 10, seed: 41)
        XCTAssertLessThan(seconds, 10)
    }

    /// The race CI once hit (a producer asleep until its timeout, the stream stalled): the reader
    /// judges request A, the producer ends that sleep on its own re-check, writes, and sleeps again
    /// on request B; the reader's clear must not erase B without a signal. A 4-sample ring with
    /// 3-sample blocks makes that interleaving common (the old exchange-based clear stalled in 1
    /// of 3 runs here); any wait that ends on its timeout fails.
    func testANewRequestIsNeverClearedWithoutASignal() {
        handshake(ring: FloatRingBuffer(minimumCapacity: 4), total: 1 << 18, block: 3, maxRead: 3, waitTimeout: 2,
                  seed: 7)
    }

    /// A producer thread writes `total` consecutive sample values in `block`-sized pieces, sleeping
    /// in `waitForSpace` whenever the ring is full; this thread reads random 1...`maxRead` pieces and
    /// checks every value. Fails on a wrong or missing sample, a stall, or any wait that timed out.
    /// Returns the seconds it took.
    @discardableResult
    private func handshake(ring: FloatRingBuffer, total: Int, block: Int, maxRead: Int, waitTimeout: TimeInterval,
                           seed: UInt64, file: StaticString = #filePath, line: UInt = #line) -> TimeInterval {
        final class Count: @unchecked Sendable { // written by the producer before `done`, read after
            var timedOut = 0
        }
        let count = Count()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var piece = [Float](repeating: 0, count: block)
            var next = 0
            while next < total {
                let n = min(piece.count, total - next)
                for i in 0..<n {
                    piece[i] = Float(next + i)
                }
                var written = 0
                while written < n {
                    written += ring.write(piece, range: written..<n)
                    if written < n && !ring.waitForSpace(n - written, timeout: waitTimeout) {
                        count.timedOut += 1
                    }
                }
                next += n
            }
            ring.close()
            done.signal()
        }
        let started = Date()
        var out = [Float](repeating: 0, count: maxRead)
        var expected = 0
        var rng = SplitMix64(seed: seed)
        while expected < total && Date().timeIntervalSince(started) < 60 {
            let want = Int.random(in: 1...out.count, using: &rng)
            let n = out.withUnsafeMutableBufferPointer { ring.read(into: UnsafeMutableBufferPointer(rebasing: $0[0..<want])) }
            for i in 0..<n where out[i] != Float(expected + i) {
                XCTFail("sample \(expected + i) read as \(out[i])", file: file, line: line)
                return Date().timeIntervalSince(started)
            }
            expected += n
        }
        XCTAssertEqual(expected, total, "stalled at sample \(expected)", file: file, line: line)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, file: file, line: line)
        XCTAssertEqual(count.timedOut, 0, "a producer slept until its timeout: a wake-up was lost", file: file, line: line)
        let seconds = Date().timeIntervalSince(started)
        print("handshake (ring \(ring.capacity), blocks of \(block)): \(total) samples, \(ring.producerWakeups) "
            + "producer wake-ups, " + String(format: "%.2f s", seconds))
        return seconds
    }

    /// A decode loop whose ring is full and nobody reads (a paused player): before, it woke every
    /// millisecond (~200 wake-ups in 200 ms); now it sleeps, waking only on its safety timeout.
    func testAFullRingCostsAHandfulOfWakeUpsNotOnePerMillisecond() throws {
        let h = try StreamHeader(channels: 1, nQ: 1, fingerprint: TestStreams.fingerprint(5), hopLength: 4,
                                 codebookSize: 500, framesPerPacket: 4)
        let ring = FloatRingBuffer(minimumCapacity: 256)
        let loop = DecodeLoop(source: DecodeLoopTests.EndlessSource(h), decoder: DecodeLoopTests.FakeDecoder(k: 4), ring: ring,
                              chunkFrames: 4, hop: 4, outputChannels: 1)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            loop.run()
            done.signal()
        }
        let end = Date().addingTimeInterval(10)
        while ring.free > 0 && Date() < end {
            usleep(1000)
        }
        XCTAssertEqual(ring.free, 0)
        let before = ring.producerWakeups
        usleep(200_000)
        let wakeups = ring.producerWakeups - before
        print("full ring, nothing read for 200 ms: \(wakeups) producer wake-up(s)")
        XCTAssertLessThanOrEqual(wakeups, 3, "the producer woke \(wakeups) times in 200 ms with a full ring")
        XCTAssertEqual(ring.free, 0)

        // playing resumes: reads make room and the producer refills the ring promptly
        var out = [Float](repeating: 0, count: 128)
        XCTAssertEqual(out.withUnsafeMutableBufferPointer { ring.read(into: $0) }, 128)
        let refill = Date().addingTimeInterval(2)
        while ring.free > 0 && Date() < refill {
            usleep(1000)
        }
        XCTAssertEqual(ring.free, 0, "the producer did not refill within 2 s (its safety timeout is 0.25 s)")

        // stop() wakes a sleeping producer at once
        let stopped = Date()
        loop.stop()
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 0.2)
        XCTAssertTrue(ring.isClosed)
    }
}
