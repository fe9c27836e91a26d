import Foundation
import XCTest
@testable import TQCStream

/// The concealment policy of docs/bitstream.md from its own text: the planner's steps for each
/// kind of gap, its bounds, and the fades' gains.
final class ConcealmentTests: XCTestCase {
    typealias Step = ConcealmentPlanner.Step

    func testTheConstantsAreTheSpecs() {
        XCTAssertEqual(ConcealmentPlanner.maxConcealFrames, 256)
        XCTAssertEqual(ConcealmentPlanner.fadeSamples, 256)
        XCTAssertEqual(ConcealmentPlanner(framesPerPacket: 32, hopLength: 64).fadeTailFrames, 4)
        XCTAssertEqual(ConcealmentPlanner(framesPerPacket: 32, hopLength: 100).fadeTailFrames, 3) // rounded up
        XCTAssertEqual(ConcealmentPlanner(framesPerPacket: 32, hopLength: 512).fadeTailFrames, 1)
    }

    func testEachKindOfGap() {
        let planner = ConcealmentPlanner(framesPerPacket: 32, hopLength: 64)
        XCTAssertEqual(planner.steps(sequence: 5, frames: 32, lostBefore: 0), [.decode(sequence: 5, frames: 32)])
        XCTAssertEqual(planner.steps(sequence: 7, frames: 20, lostBefore: 2),
                       [.conceal(frames: 64), .decode(sequence: 7, frames: 20)])
        // exactly MAX_CONCEAL_FRAMES is still concealed; one packet more is a long gap
        XCTAssertEqual(planner.steps(sequence: 9, frames: 8, lostBefore: 8), [.conceal(frames: 256), .decode(sequence: 9, frames: 8)])
        XCTAssertEqual(planner.steps(sequence: 10, frames: 8, lostBefore: 9),
                       [.conceal(frames: 4), .reset, .decode(sequence: 10, frames: 8)])
        XCTAssertEqual(planner.steps(sequence: 32767, frames: 1, lostBefore: 32766),
                       [.conceal(frames: 4), .reset, .decode(sequence: 32767, frames: 1)])
        XCTAssertEqual(Step.decode(sequence: 3, frames: 8).description, "[\"decode\", 3, 8]")
        XCTAssertEqual(Step.conceal(frames: 4).description, "[\"conceal\", 4]")
        XCTAssertEqual(Step.reset.description, "[\"reset\"]")
    }

    func testEveryPacketAddsABoundedAmountWhateverItClaims() {
        for fpp in [1, 8, 32, 255] {
            for hop in [1, 64, 300] {
                let planner = ConcealmentPlanner(framesPerPacket: fpp, hopLength: hop)
                for lost in [0, 1, 2, 7, 8, 9, 255, 256, 257, 1000, 32767] {
                    let steps = planner.steps(sequence: 0, frames: fpp, lostBefore: lost)
                    let added = steps.reduce(0) { $0 + $1.outputFrames }
                    XCTAssertLessThanOrEqual(added, fpp + max(ConcealmentPlanner.maxConcealFrames, planner.fadeTailFrames),
                                             "fpp \(fpp) hop \(hop) lost \(lost)")
                    XCTAssertEqual(steps.last, .decode(sequence: 0, frames: fpp))
                    XCTAssertEqual(steps.contains(.reset), lost * fpp > ConcealmentPlanner.maxConcealFrames)
                }
            }
        }
    }

    func testAPlanSumsItsOutputFrames() {
        let planner = ConcealmentPlanner(framesPerPacket: 8, hopLength: 64)
        let packets = [
            Packet(sequence: 0, offset: 0, channels: 1, nQ: 1, frames: 8, codes: Array(repeating: 0, count: 8)),
            Packet(sequence: 2, offset: 0, channels: 1, nQ: 1, frames: 8, codes: Array(repeating: 0, count: 8), lostBefore: 1),
            Packet(sequence: 50, offset: 0, channels: 1, nQ: 1, frames: 3, codes: Array(repeating: 0, count: 3), lostBefore: 47),
        ]
        let plan = planner.plan(packets)
        XCTAssertEqual(plan.steps, [.decode(sequence: 0, frames: 8), .conceal(frames: 8), .decode(sequence: 2, frames: 8),
                                    .conceal(frames: 4), .reset, .decode(sequence: 50, frames: 3)])
        XCTAssertEqual(plan.outputFrames, 8 + 8 + 8 + 4 + 3)
    }

    /// Gains for a plan, one per output sample, from ConcealmentFades.
    private func gains(_ steps: [Step], hop: Int) -> [Float] {
        var fades = ConcealmentFades()
        var out: [Float] = []
        for step in steps {
            fades.begin(step, hop: hop)
            for _ in 0..<(step.outputFrames * hop) {
                out.append(fades.next())
            }
        }
        return out
    }

    func testAShortGapFadesOutThenInWithHalfCosines() {
        let hop = 64
        let g = gains([.decode(sequence: 0, frames: 8), .conceal(frames: 8), .decode(sequence: 2, frames: 8)], hop: hop)
        XCTAssertEqual(g.count, 24 * hop)
        XCTAssertEqual(Array(g[0..<512]), Array(repeating: 1, count: 512)) // untouched before the gap
        // fade-out over L = min(256, 8·64) = 256 samples from the full level, then silence
        for n in 0..<256 {
            XCTAssertEqual(Double(g[512 + n]), 0.5 * (1 + cos(Double.pi * Double(n) / 256)), accuracy: 1e-6)
        }
        XCTAssertEqual(g[(512 + 256)..<1024].filter { $0 != 0 }.count, 0)
        // fade-in over the first 256 samples of the packet after the gap
        for n in 0..<256 {
            XCTAssertEqual(Double(g[1024 + n]), 0.5 * (1 - cos(Double.pi * Double(n) / 256)), accuracy: 1e-6)
        }
        XCTAssertEqual(Array(g[1280...]), Array(repeating: 1, count: 256))
        // no click: neighbouring gains never jump by more than the steepest half-cosine step
        for i in 1..<g.count {
            XCTAssertLessThanOrEqual(abs(g[i] - g[i - 1]), Float(Double.pi / 512) + 1e-6, "at sample \(i)")
        }
    }

    func testAGapShorterThanTheFadeFadesOverItsOwnLength() {
        let hop = 4 // 8 frames = 32 samples < 256
        let g = gains([.decode(sequence: 0, frames: 2), .conceal(frames: 8), .decode(sequence: 2, frames: 2)], hop: hop)
        for n in 0..<32 {
            XCTAssertEqual(Double(g[8 + n]), 0.5 * (1 + cos(Double.pi * Double(n) / 32)), accuracy: 1e-6)
        }
        // the fade-in runs on across the next packets until it has taken 256 samples
        let more = gains([.decode(sequence: 0, frames: 2), .conceal(frames: 8), .decode(sequence: 2, frames: 2),
                          .decode(sequence: 3, frames: 100)], hop: hop)
        for n in 0..<256 {
            XCTAssertEqual(Double(more[40 + n]), 0.5 * (1 - cos(Double.pi * Double(n) / 256)), accuracy: 1e-6)
        }
        XCTAssertEqual(more[40 + 256], 1)
    }

    func testAFadeOutStartsFromTheCurrentGain() {
        // a second gap inside the fade-in starts its fade-out from where the fade-in had got to
        let hop = 4
        let g = gains([.decode(sequence: 0, frames: 2), .conceal(frames: 2), .decode(sequence: 2, frames: 4),
                       .conceal(frames: 2), .decode(sequence: 4, frames: 2)], hop: hop)
        let level = g[16 + 15] // the last sample of the 16-sample decode, mid fade-in
        XCTAssertEqual(level, Float(0.5 * (1 - cos(Double.pi * 15 / 256))), accuracy: 1e-7)
        XCTAssertEqual(g[32], level) // fade-out gain at n = 0 is the level itself
        XCTAssertEqual(Double(g[33]), Double(level) * 0.5 * (1 + cos(Double.pi / 8)), accuracy: 1e-7)
    }

    func testAGapBeforeAnythingPlayedIsSilentAndAResetKeepsTheGains() {
        let hop = 64
        let g = gains([.conceal(frames: 4), .reset, .decode(sequence: 40, frames: 8)], hop: hop)
        XCTAssertEqual(g[0..<256].filter { $0 != 0 }.count, 0)
        XCTAssertEqual(g[256], 0)
        XCTAssertEqual(Double(g[256 + 128]), 0.5, accuracy: 1e-6)
        XCTAssertEqual(g[512], 1)
        // no gap at all: every gain is 1
        XCTAssertEqual(gains([.decode(sequence: 0, frames: 3)], hop: hop), Array(repeating: 1, count: 192))
    }

    func testTheOracleAgreesWithTheFades() {
        // the tests' literal port of apply_fades and ConcealmentFades give the same gains
        let steps: [PolicyOracle.Step] = [
            .init(kind: "decode", sequence: 0, frames: 3), .init(kind: "conceal", sequence: -1, frames: 1),
            .init(kind: "decode", sequence: 2, frames: 5), .init(kind: "conceal", sequence: -1, frames: 4),
            .init(kind: "reset", sequence: -1, frames: 0), .init(kind: "decode", sequence: 90, frames: 9),
        ]
        let mine: [Step] = [.decode(sequence: 0, frames: 3), .conceal(frames: 1), .decode(sequence: 2, frames: 5),
                            .conceal(frames: 4), .reset, .decode(sequence: 90, frames: 9)]
        XCTAssertEqual(gains(mine, hop: 64), PolicyOracle.gains(steps, hop: 64))
    }
}
