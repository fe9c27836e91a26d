/// Bit rates in bits per second; `overhead` = extra bits / raw code bits (Python's `Bitrate`).
public struct Bitrate: Equatable, Sendable {
    public let frameRate: Double
    /// Raw codes, all channels: channels * n_q * bits * frame_rate.
    public let codeBitsPerSecond: Double
    public let codeBitsPerSecondPerChannel: Double
    /// What is sent or stored, all channels, packet overhead included.
    public let streamBitsPerSecond: Double
    public let streamBitsPerSecondPerChannel: Double
    public let overhead: Double

    init(header: StreamHeader, streamBits: Double, frames: Double) {
        let code = Double(header.codesPerFrame * header.bits) * header.frameRate
        let stream = frames > 0 ? streamBits * header.frameRate / frames : 0
        frameRate = header.frameRate
        codeBitsPerSecond = code
        codeBitsPerSecondPerChannel = code / Double(header.channels)
        streamBitsPerSecond = stream
        streamBitsPerSecondPerChannel = stream / Double(header.channels)
        overhead = frames > 0 ? stream / code - 1 : 0
    }
}

extension StreamHeader {
    /// Steady-state rate of a stream of full packets (what a network link must carry).
    public var bitrate: Bitrate {
        Bitrate(header: self, streamBits: Double(8 * packetSize()), frames: Double(framesPerPacket))
    }

    /// Exact average rate of a whole stream: its bytes (file header included) over its duration.
    public func streamBitrate(streamBytes: Int, frames: Int) -> Bitrate {
        Bitrate(header: self, streamBits: Double(8 * streamBytes), frames: Double(frames))
    }
}
