/// The audio thread's side: moves decoded PCM from the `FloatRingBuffer` to the output, counts
/// underruns, and never allocates, locks or blocks.
///
/// Two ways to drive it, one state machine:
/// - **pull** (`render`): an audio callback (`AVAudioSourceNode`) asks for N frames now; what
///   the ring cannot give is silence.
/// - **push** (`pump(into:)`): hand an `AudioSink` what it can take now (the Java player's
///   AudioTrack model; the tests' fake sink).
///
/// Playback starts (and restarts after an underrun) once `prebufferFrames` frames are
/// buffered, or the stream has ended. An underrun is counted when the pump, while playing,
/// finds the buffer empty before the end of the stream; a stall counts once however long it
/// lasts, because the pump then waits to refill to `prebufferFrames` again.
public final class PlaybackPump: @unchecked Sendable {
    public let channels: Int
    public let prebufferFrames: Int
    private let ring: FloatRingBuffer
    private let stats: PlayerStats
    private let scratch: UnsafeMutablePointer<Float>
    private let scratchFrames: Int
    private var held = 0 // push: samples in scratch the sink has not taken yet
    private var heldOffset = 0
    private var buffering = true
    private var finished = false
    private let bufferingFlag = AtomicFlag(true) // mirrors for other threads
    private let finishedFlag = AtomicFlag()

    /// - Parameters:
    ///   - channels: interleaved channels in the ring (the decode loop's outputChannels).
    ///   - prebufferFrames: frames to gather before playing (and after an underrun); at most
    ///     the ring's capacity in frames.
    ///   - maxFramesPerCall: frames moved per internal copy (larger requests take several).
    public init(ring: FloatRingBuffer, channels: Int, stats: PlayerStats, prebufferFrames: Int, maxFramesPerCall: Int) {
        precondition(channels >= 1 && maxFramesPerCall >= 1 && prebufferFrames >= 0
                     && prebufferFrames * channels <= ring.capacity,
                     "bad pump sizes: channels \(channels), prebuffer \(prebufferFrames), "
                        + "max frames \(maxFramesPerCall), ring \(ring.capacity)")
        self.ring = ring
        self.channels = channels
        self.stats = stats
        self.prebufferFrames = prebufferFrames
        scratchFrames = maxFramesPerCall
        scratch = UnsafeMutablePointer<Float>.allocate(capacity: maxFramesPerCall * channels)
        scratch.initialize(repeating: 0, count: maxFramesPerCall * channels)
    }

    deinit {
        scratch.deallocate()
    }

    /// The stream has ended and everything reached the output.
    public var isFinished: Bool {
        finishedFlag.isSet
    }

    /// Waiting to (re)fill before playing.
    public var isBuffering: Bool {
        bufferingFlag.isSet
    }

    /// Pull: fill `frameCount` frames of `channelCount` deinterleaved channels, channel `c`
    /// starting at `destination(c)`; silence where the ring has nothing (buffering, underrun,
    /// end). Output channels beyond the ring's are silent.
    /// - Returns: frames of real audio written (the rest is silence).
    @discardableResult
    public func render(frameCount: Int, channelCount: Int,
                       into destination: (Int) -> UnsafeMutablePointer<Float>) -> Int {
        var produced = 0
        while produced < frameCount {
            let n = take(upTo: frameCount - produced)
            if n == 0 {
                break
            }
            for c in 0..<channelCount {
                let out = destination(c) + produced
                if c < channels {
                    for i in 0..<n {
                        out[i] = scratch[i * channels + c]
                    }
                } else {
                    out.update(repeating: 0, count: n)
                }
            }
            produced += n
        }
        if produced < frameCount {
            for c in 0..<channelCount {
                (destination(c) + produced).update(repeating: 0, count: frameCount - produced)
            }
        }
        stats.add(.playedFrames, produced)
        return produced
    }

    /// Push: hand the sink what it can take now.
    /// - Returns: frames written to the sink.
    @discardableResult
    public func pump(into sink: AudioSink) -> Int {
        precondition(sink.channels == channels, "the sink has \(sink.channels) channels, the pump \(channels)")
        if finished {
            return 0
        }
        var written = flushHeld(to: sink)
        if held > 0 {
            return written // the sink is full
        }
        let frames = take(upTo: sink.writableFrames())
        if frames > 0 {
            held = frames * channels
            heldOffset = 0
            written += flushHeld(to: sink)
        }
        return written
    }

    /// The state machine: up to `maxFrames` frames from the ring into `scratch`, or 0.
    private func take(upTo maxFrames: Int) -> Int {
        if finished {
            return 0
        }
        let closed = ring.isClosed // first: what was written before close() is then visible
        let availableFrames = ring.available / channels
        if availableFrames == 0 && closed {
            finished = true
            finishedFlag.set()
            return 0
        }
        if buffering {
            if availableFrames < prebufferFrames && !closed {
                return 0
            }
            buffering = false
            bufferingFlag.set(false)
        }
        if availableFrames == 0 { // playing, and nothing to play: the decoder fell behind
            stats.add(.underruns, 1)
            buffering = true
            bufferingFlag.set(true)
            return 0
        }
        let frames = min(availableFrames, maxFrames, scratchFrames)
        if frames <= 0 {
            return 0
        }
        return ring.read(into: UnsafeMutableBufferPointer(start: scratch, count: frames * channels)) / channels
    }

    private func flushHeld(to sink: AudioSink) -> Int {
        if held == 0 {
            return 0
        }
        let can = min(held, sink.writableFrames() * channels)
        let n = can > 0 ? sink.write(UnsafeBufferPointer(start: UnsafePointer(scratch + heldOffset), count: can)) : 0
        held -= n
        heldOffset += n
        stats.add(.playedFrames, n / channels)
        return n / channels
    }
}
