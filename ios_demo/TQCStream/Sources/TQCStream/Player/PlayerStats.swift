import Foundation

/// Counters shared by the decode thread (most of them) and the audio thread (underruns, played
/// frames), read from any thread, e.g. a UI refreshing a few times a second.
///
/// Counters are `AtomicInt64`s, so the audio thread updates them without a lock; the stream
/// facts that are set once (sample rate, nominal bitrate) sit behind an `NSLock` that only the
/// decode thread and readers take.
public final class PlayerStats: @unchecked Sendable {
    enum Counter: Int, CaseIterable {
        case chunksDecoded, packetsDecoded, damagedPackets, concealedFrames, streamEvents
        case decodeNanoseconds, decodedFrames, underruns, playedFrames, bytesReceived
        case packetBytes, packetFrames, decoderResets, lastChunkNanoseconds, maxChunkNanoseconds
        case startSample
    }

    private let counters: [AtomicInt64] = Counter.allCases.map { _ in AtomicInt64() }
    private let lock = NSLock()
    private var header: StreamHeader?
    private var ring: FloatRingBuffer?
    private var ringChannels = 1

    public init() {}

    @inline(__always)
    func add(_ counter: Counter, _ delta: Int) {
        counters[counter.rawValue].add(Int64(delta))
    }

    func set(_ counter: Counter, _ value: Int) {
        counters[counter.rawValue].store(Int64(value))
    }

    func value(_ counter: Counter) -> Int {
        Int(counters[counter.rawValue].load())
    }

    func attach(ring: FloatRingBuffer, channels: Int) {
        lock.lock()
        defer { lock.unlock() }
        self.ring = ring
        ringChannels = max(1, channels)
    }

    /// The stream's header, and the sample (per channel) playing starts at: 0, or a seek's target.
    func setStream(_ header: StreamHeader, startSample: Int = 0) {
        lock.lock()
        self.header = header
        lock.unlock()
        set(.startSample, startSample)
    }

    /// One chunk through the decoder (all channels): its wall-clock time and real frames.
    func recordChunk(nanoseconds: Int, frames: Int) {
        add(.decodeNanoseconds, nanoseconds)
        add(.chunksDecoded, 1)
        add(.decodedFrames, frames)
        set(.lastChunkNanoseconds, nanoseconds)
        if nanoseconds > value(.maxChunkNanoseconds) { // only the decode thread writes it
            set(.maxChunkNanoseconds, nanoseconds)
        }
    }

    /// Chunks of K frames (all channels together) that went through the decoder.
    public var chunksDecoded: Int { value(.chunksDecoded) }
    /// Good packets taken from the source.
    public var packetsDecoded: Int { value(.packetsDecoded) }
    /// Packets lost or damaged in the stream, whose frames were concealed.
    public var damagedPackets: Int { value(.damagedPackets) }
    /// Frames concealed (muted, decoder state carried by repeating the last good frame).
    public var concealedFrames: Int { value(.concealedFrames) }
    /// Decoder state resets: gaps too long to conceal (over `ConcealmentPlanner.maxConcealFrames`).
    public var decoderResets: Int { value(.decoderResets) }
    /// Problems the stream reader reported (bad CRC, lost sync, gaps, ...).
    public var streamEvents: Int { value(.streamEvents) }
    /// Codec frames decoded (concealed ones included, the padding of the last chunk not).
    public var decodedFrames: Int { value(.decodedFrames) }
    /// Times the audio thread found the buffer empty while playing (each stall counts once).
    public var underruns: Int { value(.underruns) }
    /// Audio frames (samples per channel) handed to the output.
    public var playedFrames: Int { value(.playedFrames) }
    /// Stream bytes the source took in.
    public var bytesReceived: Int { value(.bytesReceived) }
    /// Wall-clock time spent inside `ChunkDecoder.decode`, in seconds.
    public var decodeSeconds: Double { Double(value(.decodeNanoseconds)) / 1e9 }

    /// Decoded audio waiting in the ring buffer, in frames (samples per channel).
    public var bufferedFrames: Int {
        lock.lock()
        let ring = self.ring
        let channels = ringChannels
        lock.unlock()
        return (ring?.available ?? 0) / channels
    }

    /// Everything at once, for a UI.
    public func snapshot() -> Snapshot {
        lock.lock()
        let header = self.header
        lock.unlock()
        var s = Snapshot()
        s.chunksDecoded = chunksDecoded
        s.packetsDecoded = packetsDecoded
        s.damagedPackets = damagedPackets
        s.concealedFrames = concealedFrames
        s.streamEvents = streamEvents
        s.decodedFrames = decodedFrames
        s.underruns = underruns
        s.playedFrames = playedFrames
        s.bytesReceived = bytesReceived
        s.decodeSeconds = decodeSeconds
        s.bufferedFrames = bufferedFrames
        s.decoderResets = decoderResets
        if s.chunksDecoded > 0 {
            s.lastChunkSeconds = Double(value(.lastChunkNanoseconds)) / 1e9
            s.maxChunkSeconds = Double(value(.maxChunkNanoseconds)) / 1e9
            s.meanChunkSeconds = s.decodeSeconds / Double(s.chunksDecoded)
        }
        if let header {
            let frameSeconds = Double(header.hopLength) / Double(header.sampleRate)
            s.sampleRate = header.sampleRate
            s.streamChannels = header.channels
            s.audioSeconds = Double(s.decodedFrames) * frameSeconds
            s.bufferedSeconds = Double(s.bufferedFrames) / Double(header.sampleRate)
            s.nominalBitrate = header.bitrate
            s.positionSeconds = Double(value(.startSample) + s.playedFrames) / Double(header.sampleRate)
            s.durationSeconds = header.totalSamples.map { Double($0) / Double(header.sampleRate) }
            let frames = value(.packetFrames)
            if frames > 0 {
                s.measuredBitsPerSecond = Double(8 * value(.packetBytes)) / (Double(frames) * frameSeconds)
            }
        }
        return s
    }

    /// The counters at one moment, with the derived rates.
    public struct Snapshot: Sendable {
        public var chunksDecoded = 0
        public var packetsDecoded = 0
        public var damagedPackets = 0
        public var concealedFrames = 0
        public var decoderResets = 0
        public var streamEvents = 0
        public var decodedFrames = 0
        public var underruns = 0
        public var playedFrames = 0
        public var bytesReceived = 0
        public var decodeSeconds = 0.0
        /// Seconds of audio decoded.
        public var audioSeconds = 0.0
        public var bufferedFrames = 0
        public var bufferedSeconds = 0.0
        /// Decode time of the last chunk, the mean and the slowest so far (all channels of a
        /// chunk together); nil before the first chunk.
        public var lastChunkSeconds: Double?
        public var meanChunkSeconds: Double?
        public var maxChunkSeconds: Double?
        /// Where playback is: the start (0, or a seek's target) plus the audio handed to the output.
        public var positionSeconds = 0.0
        /// The stream's length from total_samples; nil for a live stream.
        public var durationSeconds: Double?
        public var sampleRate: Int?
        public var streamChannels: Int?
        /// The stream's steady-state rate (full packets, overhead included), from its header.
        public var nominalBitrate: Bitrate?
        /// Bits of the packets received over the audio they carry (packet overhead included).
        public var measuredBitsPerSecond: Double?

        /// Decode time over audio time: below 1 the decoder keeps up (0.25 = four times faster
        /// than real time). nil before the first chunk.
        public var realTimeFactor: Double? {
            audioSeconds > 0 ? decodeSeconds / audioSeconds : nil
        }

        /// Position over duration in [0, 1]; nil when the length is unknown (live) or zero.
        public var progress: Double? {
            guard let durationSeconds, durationSeconds > 0 else {
                return nil
            }
            return min(1, max(0, positionSeconds / durationSeconds))
        }
    }
}
