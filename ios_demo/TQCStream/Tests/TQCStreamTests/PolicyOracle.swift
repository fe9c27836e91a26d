import Foundation
@testable import TQCStream

/// docs/bitstream.md's concealment policy written out a second time, literally, for the tests:
/// the steps of each packet, the frames the decoder is fed, which chunk of which segment each
/// frame lands in, and the gain of every output sample (a line-by-line port of
/// `tqcodec/concealment.py: apply_fades`). The decode loop's output is checked against this.
enum PolicyOracle {
    static let maxConcealFrames = 256
    static let fadeSamples = 256

    /// `["decode", seq, n]`, `["conceal", n]`, `["reset"]` as (kind, sequence, frames).
    struct Step: Equatable {
        let kind: String
        let sequence: Int
        let frames: Int
    }

    static func steps(_ packets: [Packet], fpp: Int, hop: Int) -> [Step] {
        var out: [Step] = []
        for p in packets {
            let gap = p.lostBefore * fpp
            if gap > maxConcealFrames {
                out += [Step(kind: "conceal", sequence: -1, frames: (fadeSamples + hop - 1) / hop),
                        Step(kind: "reset", sequence: -1, frames: 0)]
            } else if gap > 0 {
                out.append(Step(kind: "conceal", sequence: -1, frames: gap))
            }
            out.append(Step(kind: "decode", sequence: p.sequence, frames: p.frames))
        }
        return out
    }

    /// apply_fades: the gain of each output sample.
    static func gains(_ steps: [Step], hop: Int) -> [Float] {
        var gains: [Float] = []
        var level: Float = 0
        var fadeFrom: Int?
        for step in steps where step.kind != "reset" {
            let pos = gains.count
            let n = step.frames * hop
            if step.kind == "conceal" {
                let length = min(fadeSamples, n)
                for i in 0..<n {
                    gains.append(i < length ? level * Float(0.5 * (1 + cos(Double.pi * Double(i) / Double(length)))) : 0)
                }
                level = 0
                fadeFrom = pos + n
            } else {
                var last: Float = 1
                for i in 0..<n {
                    var g: Float = 1
                    if let from = fadeFrom, pos + i - from < fadeSamples {
                        g = Float(0.5 * (1 - cos(Double.pi * Double(pos + i - from) / Double(fadeSamples))))
                    }
                    gains.append(g)
                    last = g
                }
                level = n > 0 ? last : level
            }
        }
        return gains
    }

    /// What the decode loop must write with DecodeLoopTests.FakeDecoder: per output frame the
    /// codebook-0 code of each channel (concealed frames repeat the last one), the chunk index
    /// within its segment (a reset starts a new segment from a fresh state), and per sample the
    /// gain; interleaved, cut to `limit` samples per channel after dropping `drop`.
    static func output(_ packets: [Packet], fpp: Int, hop: Int, k: Int, outputChannels: Int,
                       limit: Int = .max, drop: Int = 0) -> [Float] {
        let steps = steps(packets, fpp: fpp, hop: hop)
        let gain = gains(steps, hop: hop)
        let channels = packets.first?.channels ?? 1
        var rows = Array(repeating: [Int](), count: channels)
        var chunk: [Int] = []
        var segmentStart = 0
        var last = Array(repeating: 0, count: channels)
        var byStep = packets.makeIterator()
        var packet: Packet?
        for step in steps {
            switch step.kind {
            case "reset":
                segmentStart = rows[0].count
            case "conceal":
                for _ in 0..<step.frames {
                    chunk.append((rows[0].count - segmentStart) / k)
                    for c in 0..<channels {
                        rows[c].append(last[c])
                    }
                }
            default:
                packet = byStep.next()
                for f in 0..<step.frames {
                    chunk.append((rows[0].count - segmentStart) / k)
                    for c in 0..<channels {
                        last[c] = Int(packet![c, 0, f])
                        rows[c].append(last[c])
                    }
                }
            }
        }
        var out: [Float] = []
        let total = rows[0].count * hop
        for s in drop..<min(total, drop + limit) {
            let f = s / hop
            for o in 0..<outputChannels {
                let c = channels == 1 ? 0 : o
                out.append(gain[s] * DecodeLoopTests.sample(channel: c, chunk: chunk[f], code: rows[c][f], index: s % hop))
            }
        }
        return out
    }
}
