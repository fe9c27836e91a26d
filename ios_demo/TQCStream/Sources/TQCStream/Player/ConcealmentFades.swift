import Foundation

/// The gains of the concealment policy, sample by sample, so a gap neither clicks nor mutes
/// hard (docs/bitstream.md; `tqcodec/concealment.py: apply_fades` is the reference).
///
/// A conceal step of G frames fades out over L = min(fadeSamples, G·hop) samples with the
/// half-cosine 0.5·(1 + cos(π·n/L)), starting from the gain of the sample before it (0 when
/// nothing was played), and is silent after that. The decoded samples that follow fade in over
/// fadeSamples samples with 0.5·(1 − cos(π·n/fadeSamples)), across packet boundaries, until the
/// next conceal step. Everything else has gain 1. A reset step changes no gain.
///
/// Fed the plan's steps in order (`begin`), then asked for one gain per output sample
/// (`next()`), so the decode loop can apply it while it gathers frames into chunks.
public struct ConcealmentFades: Sendable {
    public let fadeSamples: Int
    private let rise: [Float]          // the fade-in, one value per sample
    private var level: Float = 0       // gain of the last sample handed out
    private var concealing = false
    private var concealLength = 0      // L of the current conceal step
    private var concealStart: Float = 0
    private var position = 0           // samples into the current conceal step, or since the last one
    private var afterGap = false       // a conceal step came before this decode run

    public init(fadeSamples: Int = ConcealmentPlanner.fadeSamples) {
        precondition(fadeSamples >= 1, "fadeSamples must be positive")
        self.fadeSamples = fadeSamples
        rise = (0..<fadeSamples).map { Float(ConcealmentFades.fadeIn($0, length: fadeSamples)) }
    }

    /// 0.5·(1 + cos(π·n/length)): from 1 towards 0.
    public static func fadeOut(_ n: Int, length: Int) -> Double {
        0.5 * (1 + cos(Double.pi * Double(n) / Double(length)))
    }

    /// 0.5·(1 − cos(π·n/length)): from 0 towards 1.
    public static func fadeIn(_ n: Int, length: Int) -> Double {
        0.5 * (1 - cos(Double.pi * Double(n) / Double(length)))
    }

    /// Start a step; its `outputFrames · hop` gains follow from `next()`.
    public mutating func begin(_ step: ConcealmentPlanner.Step, hop: Int) {
        switch step {
        case let .conceal(frames):
            concealing = true
            concealLength = min(fadeSamples, frames * hop)
            concealStart = level
            position = 0
            afterGap = true
        case .decode:
            if concealing {
                concealing = false
                position = 0
            }
        case .reset:
            break
        }
    }

    /// The gain of the next output sample.
    public mutating func next() -> Float {
        let gain: Float
        if concealing {
            gain = position < concealLength
                ? concealStart * Float(ConcealmentFades.fadeOut(position, length: concealLength)) : 0
            position += 1
            level = 0 // the next fade-out, if any, starts from silence (as apply_fades does)
            return gain
        }
        if afterGap && position < fadeSamples {
            gain = rise[position]
            position += 1
        } else {
            afterGap = false
            gain = 1
        }
        level = gain
        return gain
    }
}
