import Foundation
import XCTest
@testable import TQCStream

final class RingBufferTests: XCTestCase {
    private func write(_ ring: FloatRingBuffer, _ values: [Float]) -> Int {
        ring.write(values, range: values.indices)
    }

    private func read(_ ring: FloatRingBuffer, _ count: Int) -> [Float] {
        var out = [Float](repeating: -1, count: count)
        let n = out.withUnsafeMutableBufferPointer { ring.read(into: $0) }
        return Array(out[0..<n])
    }

    func testCapacityIsAPowerOfTwo() {
        XCTAssertEqual(FloatRingBuffer(minimumCapacity: 1).capacity, 1)
        XCTAssertEqual(FloatRingBuffer(minimumCapacity: 5).capacity, 8)
        XCTAssertEqual(FloatRingBuffer(minimumCapacity: 1024).capacity, 1024)
    }

    func testWritesAndReadsWhatFitsAcrossTheWrap() {
        let ring = FloatRingBuffer(minimumCapacity: 8)
        XCTAssertEqual(write(ring, [1, 2, 3, 4, 5, 6]), 6)
        XCTAssertEqual(read(ring, 4), [1, 2, 3, 4])
        XCTAssertEqual(write(ring, [7, 8, 9, 10, 11, 12, 13]), 6) // 2 left + 6 free
        XCTAssertEqual(ring.available, 8)
        XCTAssertEqual(ring.free, 0)
        XCTAssertEqual(write(ring, [1]), 0)
        XCTAssertEqual(read(ring, 100), [5, 6, 7, 8, 9, 10, 11, 12])
        XCTAssertEqual(read(ring, 1), [])
        XCTAssertFalse(ring.isDrained)
        ring.close()
        XCTAssertTrue(ring.isClosed)
        XCTAssertTrue(ring.isDrained)
    }

    func testTwoThreadStress() {
        let total = 1_000_000 // exact in a Float: every value below 2^24 is
        let ring = FloatRingBuffer(minimumCapacity: 1000)
        let producerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var rng = SplitMix64(seed: 1)
            var chunk = [Float](repeating: 0, count: 700)
            var next = 0
            while next < total {
                let n = min(total - next, Int.random(in: 1...chunk.count, using: &rng))
                for i in 0..<n {
                    chunk[i] = Float(next + i)
                }
                var offset = 0
                while offset < n {
                    let w = ring.write(chunk, range: offset..<n)
                    if w == 0 {
                        sched_yield()
                    }
                    offset += w
                }
                next += n
            }
            ring.close()
            producerDone.signal()
        }
        var rng = SplitMix64(seed: 2)
        var buffer = [Float](repeating: 0, count: 900)
        var expected = 0
        var problem: String?
        while !ring.isDrained {
            let want = Int.random(in: 1...buffer.count, using: &rng)
            let n = buffer.withUnsafeMutableBufferPointer { ring.read(into: UnsafeMutableBufferPointer(rebasing: $0[0..<want])) }
            if n == 0 {
                sched_yield()
            }
            for i in 0..<n where problem == nil && buffer[i] != Float(expected + i) {
                problem = "sample \(expected + i) read as \(buffer[i])"
            }
            expected += n
            let available = ring.available
            if problem == nil && (available < 0 || available > ring.capacity) {
                problem = "available = \(available)"
            }
        }
        producerDone.wait()
        XCTAssertNil(problem)
        XCTAssertEqual(expected, total)
    }
}
