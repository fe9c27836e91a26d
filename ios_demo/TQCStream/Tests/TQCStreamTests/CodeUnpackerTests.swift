import XCTest
@testable import TQCStream

final class CodeUnpackerTests: XCTestCase {
    func testWorkedExamplePayload() throws {
        // single_frame.tqc: ten 9-bit codes in bytes 57..<69 (docs/bitstream.md)
        let data = try Vectors.bytes("valid/single_frame.tqc")
        let json = try Vectors.vector("valid/single_frame.json")
        let expected = (0..<10).map { Int32(json.codes[0][$0][0]) }
        var out = [Int32](repeating: -1, count: 10)
        let largest = CodeUnpacker.unpack(data, offset: 57, bits: 9, count: 10, into: &out)
        XCTAssertEqual(out, expected)
        XCTAssertEqual(largest, 511)
        XCTAssertEqual(CodeUnpacker.packedSize(count: 10, bits: 9), 12)
        XCTAssertEqual(CodeUnpacker.pack(expected, bits: 9), Array(data[57..<69]))
    }

    func testRoundTripEveryWidth() {
        var rng = SplitMix64(seed: 11)
        for bits in 1...16 {
            for count in [0, 1, 7, 8, 9, 1000] {
                var codes = (0..<count).map { _ in Int32(Int.random(in: 0..<(1 << bits), using: &rng)) }
                if count > 0 {
                    codes[count - 1] = Int32((1 << bits) - 1) // all ones at the very end
                }
                let packed = [9, 9, 9] + CodeUnpacker.pack(codes, bits: bits)
                XCTAssertEqual(packed.count, 3 + CodeUnpacker.packedSize(count: count, bits: bits))
                var back = [Int32](repeating: 0, count: count)
                CodeUnpacker.unpack(packed, offset: 3, bits: bits, count: count, into: &back)
                XCTAssertEqual(back, codes, "bits \(bits)")
                let pad = CodeUnpacker.packedSize(count: count, bits: bits) * 8 - count * bits
                if count > 0 { // the padding bits are zero
                    XCTAssertEqual(Int(packed[packed.count - 1]) >> (8 - pad), 0, "bits \(bits), count \(count)")
                }
            }
        }
    }
}
