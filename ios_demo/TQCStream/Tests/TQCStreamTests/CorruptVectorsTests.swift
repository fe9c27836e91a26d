import XCTest
@testable import TQCStream

/// Every damage case of tests/vectors/manifest.json, run as its README says: the strict error
/// (or success), and in streaming mode the fatal error or the recovered packets and events,
/// with the file fed whole, in random pieces and one byte at a time. Kinds, offsets and packet
/// numbers must be those of the Python reader, as the manifest records them.
final class CorruptVectorsTests: XCTestCase {
    func testEveryDamageCase() throws {
        let index = try Vectors.index()
        XCTAssertFalse(index.cases.isEmpty)
        for damage in index.cases {
            let data = try Vectors.bytes(damage.file)
            let reference = try Vectors.vector(damage.reference)
            for mode in FeedMode.allCases {
                let context = "\(damage.file) (\(mode.rawValue))"
                let cuts = Vectors.cuts(mode, length: data.count, seed: Vectors.seed(damage.file))
                try checkStrict(damage, data: data, cuts: cuts, reference: reference, context: context)
                try checkStreaming(damage, data: data, cuts: cuts, reference: reference, context: context)
            }
        }
    }

    private func reader(_ damage: DamageCase, strict: Bool) throws -> StreamReader {
        var header: StreamHeader?
        if let from = damage.headerFrom {
            header = try Vectors.header(Vectors.vector(from).header)
        }
        let fingerprint = damage.expectedFingerprint.flatMap { bytesFromHex($0) }
        // A headerless file: header given, any first sequence, offset 0, no total-length checks.
        return try StreamReader(strict: strict, header: header, expectedFingerprint: fingerprint,
                                firstSequence: header == nil ? 0 : nil, offset: 0, path: damage.file)
    }

    private func checkStrict(_ damage: DamageCase, data: [UInt8], cuts: [Int], reference: ValidVector,
                             context: String) throws {
        let r = try reader(damage, strict: true)
        let packets: [Packet]
        do {
            packets = try Vectors.feedAll(r, data, cuts: cuts)
        } catch {
            guard let error = error as? TQCError else {
                throw error
            }
            guard let expected = damage.strict else {
                XCTFail("\(context): strict decoding raised \(error), expected success")
                return
            }
            assertError(error, expected, "\(context) strict")
            // a strict reader stays failed: every later call raises the same error
            XCTAssertThrowsError(try r.feed([1])) { again in
                XCTAssertEqual(again as? TQCError, error, "\(context): the error is sticky")
            }
            return
        }
        if let expected = damage.strict {
            XCTFail("\(context): expected \(expected), strict decoding succeeded")
            return
        }
        checkRecovered(packets, damage, reference: reference, context: "\(context) strict")
    }

    private func checkStreaming(_ damage: DamageCase, data: [UInt8], cuts: [Int], reference: ValidVector,
                                context: String) throws {
        let expected = damage.streaming
        let r: StreamReader
        let packets: [Packet]
        do {
            r = try reader(damage, strict: false)
            packets = try Vectors.feedAll(r, data, cuts: cuts)
        } catch {
            guard let error = error as? TQCError else {
                throw error
            }
            guard let fatal = expected.fatal else {
                XCTFail("\(context): streaming decoding raised \(error)")
                return
            }
            assertError(error, fatal, "\(context) streaming")
            XCTAssertTrue(error.isFatal, "\(context): \(error) ended streaming mode but is not a fatal kind")
            return
        }
        if let fatal = expected.fatal {
            XCTFail("\(context): expected the fatal error \(fatal), streaming decoding succeeded")
            return
        }
        checkRecovered(packets, damage, reference: reference, context: "\(context) streaming")
        let got = r.events.map(summary)
        XCTAssertEqual(r.events.count, expected.events.count, "\(context): events \(got) vs \(expected.events)")
        for (event, want) in zip(r.events, expected.events) {
            assertError(event, want, "\(context) event")
            XCTAssertFalse(event.isFatal, context)
        }
    }

    /// The recovered sequences, each holding its frames of the reference codes (from
    /// `reference_frames`: sequence numbers of forged streams say nothing about position).
    private func checkRecovered(_ packets: [Packet], _ damage: DamageCase, reference: ValidVector, context: String) {
        XCTAssertEqual(packets.map(\.sequence), damage.streaming.recovered, context)
        guard let starts = damage.referenceFrames, starts.count == packets.count else {
            XCTFail("\(context): reference_frames \(String(describing: damage.referenceFrames)) does not give "
                + "one start per recovered packet (\(packets.count))")
            return
        }
        for (p, from) in zip(packets, starts) {
            guard from + p.frames <= reference.frames else {
                XCTFail("\(context): packet \(p.sequence) claims reference frames \(from)..<\(from + p.frames) "
                    + "of \(reference.frames)")
                continue
            }
            let want = Vectors.slice(reference.codes, from..<(from + p.frames))
            XCTAssertEqual(Vectors.concat([p], channels: p.channels, nQ: p.nQ), want,
                           "\(context): codes of packet \(p.sequence)")
        }
    }

    /// kind@offset/packet, as ExpectedError prints itself.
    private func summary(_ error: TQCError) -> String {
        let offset = error.offset.map { String($0) } ?? "none"
        let packet = error.packet.map { String($0) } ?? "none"
        return "\(error.kind.rawValue)@\(offset)/\(packet)"
    }

    private func assertError(_ error: TQCError, _ expected: ExpectedError, _ context: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(error.kind.rawValue, expected.kind, "\(context): \(error)", file: file, line: line)
        XCTAssertEqual(error.offset, expected.offset, "\(context): \(error)", file: file, line: line)
        XCTAssertEqual(error.packet, expected.packet, "\(context): \(error)", file: file, line: line)
    }
}
