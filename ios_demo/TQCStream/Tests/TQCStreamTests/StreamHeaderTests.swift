import XCTest
@testable import TQCStream

final class StreamHeaderTests: XCTestCase {
    private let fp = TestStreams.fingerprint(2)

    func testDefaultsAreTQCodecs() throws {
        let h = try StreamHeader(channels: 2, nQ: 10, fingerprint: fp)
        XCTAssertEqual(h.sampleRate, 44_100)
        XCTAssertEqual(h.hopLength, 64)
        XCTAssertEqual(h.codebookSize, 512)
        XCTAssertEqual(h.bits, 9)
        XCTAssertEqual(h.framesPerPacket, 32)
        XCTAssertNil(h.totalSamples)
        XCTAssertEqual(h.frameRate, 689.0625)
        XCTAssertEqual(h.packetSize(), 729) // the spec's stereo tq64 example
        XCTAssertEqual(try h.packetOffset(3), 52 + 3 * 729)
        XCTAssertEqual(h.bitrate.streamBitsPerSecond, 729 * 8 * 689.0625 / 32)
        XCTAssertEqual(h.bitrate.overhead, 9.0 / 720.0, accuracy: 1e-12)
    }

    func testUnknownLengthIsAllOnesOnTheWire() throws {
        let bytes = try StreamHeader(channels: 1, nQ: 1, fingerprint: fp).encode()
        XCTAssertEqual(Array(bytes[24..<32]), [UInt8](repeating: 0xFF, count: 8))
        XCTAssertNil(try StreamHeader.decode(bytes).totalSamples)
    }

    func testRoundTripAndFrameCount() throws {
        let h = try StreamHeader(channels: 3, nQ: 7, fingerprint: fp, sampleRate: 48_000, hopLength: 120,
                                 codebookSize: 1500, bits: 11, framesPerPacket: 7, totalSamples: 121)
        XCTAssertEqual(try StreamHeader.decode(h.encode(), path: "x"), h)
        XCTAssertEqual(h.frameCount, 2)
        let huge = try StreamHeader(channels: 1, nQ: 1, fingerprint: fp, hopLength: 1, totalSamples: UInt64.max - 1)
        XCTAssertEqual(huge.frameCount, UInt64.max - 1)
        XCTAssertEqual(try StreamHeader.decode(huge.encode()).totalSamples, UInt64.max - 1)
    }

    func testFieldChecksRunInTheDocumentedOrder() {
        // every field bad at once: the first in the order sample_rate, hop_length, channels,
        // n_q, bits, codebook_size, frames_per_packet is named
        let order = ["sample_rate", "hop_length", "channels", "n_q", "bits", "codebook_size", "frames_per_packet"]
        let offsets = [8, 12, 20, 21, 22, 16, 23]
        for k in 0..<order.count {
            XCTAssertThrowsError(try StreamHeader(
                channels: k <= 2 ? 0 : 1, nQ: k <= 3 ? 0 : 1, fingerprint: fp, sampleRate: k <= 0 ? 0 : 1,
                hopLength: k <= 1 ? 0 : 1, codebookSize: k <= 5 ? 17 : 16, bits: k <= 4 ? 17 : 4,
                framesPerPacket: 0)) { error in
                let e = error as? TQCError
                XCTAssertEqual(e?.kind, .badHeaderField)
                XCTAssertEqual(e?.offset, offsets[k], "\(String(describing: e))")
                XCTAssertTrue(e?.detail.hasPrefix("header field \(order[k]):") == true, "\(String(describing: e))")
            }
        }
        XCTAssertThrowsError(try StreamHeader(channels: 1, nQ: 1, fingerprint: [UInt8](repeating: 0, count: 15))) {
            XCTAssertEqual(($0 as? TQCError)?.offset, 32)
        }
        XCTAssertThrowsError(try StreamHeader(channels: 1, nQ: 1, fingerprint: fp, totalSamples: UInt64.max)) {
            XCTAssertEqual(($0 as? TQCError)?.offset, 24)
        }
    }

    func testFlagsAreCheckedAfterTheCRC() throws {
        var b = try StreamHeader(channels: 1, nQ: 1, fingerprint: fp).encode()
        b[6] = 1 // flags
        b[20] = 0 // channels too
        XCTAssertThrowsError(try StreamHeader.decode(b)) { error in
            XCTAssertEqual((error as? TQCError)?.kind, .badHeaderCRC)
            XCTAssertEqual((error as? TQCError)?.offset, 48)
        }
        var crc = CRC32()
        crc.update(b, range: 0..<48)
        b.putLE(UInt64(crc.value), at: 48, size: 4)
        XCTAssertThrowsError(try StreamHeader.decode(b, path: "f.tqc")) { error in
            let e = error as? TQCError
            XCTAssertEqual(e?.kind, .badHeaderField)
            XCTAssertEqual(e?.offset, 6)
            XCTAssertEqual(e?.path, "f.tqc")
        }
    }

    func testWorkedExampleOfTheSpec() throws {
        // docs/bitstream.md, "Worked example": the single_frame vector
        let data = try Vectors.bytes("valid/single_frame.tqc")
        let json = try Vectors.vector("valid/single_frame.json")
        let h = try StreamHeader.decode(data)
        XCTAssertEqual(h, try Vectors.header(json.header))
        XCTAssertEqual(h.packetCRCSeed, 0x6155_C40D) // the seed the spec quotes
        XCTAssertEqual(data.u32LE(at: 48), 0x1828_6DA8)
        let identity = h.identityBytes
        XCTAssertEqual(Array(identity[0..<24]), Array(data[0..<24]))
        XCTAssertEqual(Array(identity[24..<40]), Array(data[32..<48]))
    }
}
