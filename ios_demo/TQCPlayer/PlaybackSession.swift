import Foundation
import TQCStream

/// One stream playing: the decode loop on the decode queue, the audio engine, and the ring and
/// pump between them. Everything here is wiring; the behaviour is TQCStream's, and when to
/// start, pause or restart the output is `PlayerStateMachine`'s decision.
final class PlaybackSession: @unchecked Sendable {
    /// Output channels: TQCodec is stereo or mono, and mono is copied to both sides.
    static let outputChannels = 2
    /// Decoded audio the ring holds: about 3 s of stereo at 44.1 kHz (rounded up to 2^18 samples).
    static let ringSeconds = 2.0
    /// Audio gathered before playback starts, and again after an underrun.
    static let prebufferSeconds = 0.3
    /// One serial queue for every session: a session replaced by a seek finishes its last chunk
    /// before the next one's first, so two decode loops never share the model at once.
    private static let decodeQueue = DispatchQueue(label: "org.tqcodec.player.decode", qos: .userInitiated)

    let stats: PlayerStats
    let input: StreamInput
    let decoder: CoreMLChunkDecoder
    private let loop: DecodeLoop<CoreMLChunkDecoder>
    private let pump: PlaybackPump
    private let output: AudioOutput

    /// - Parameter seek: where the input starts (it was opened at `seek.byteOffset`), or nil.
    init(decoder: CoreMLChunkDecoder, input: StreamInput, seek: SeekPlan?) throws {
        let manifest = decoder.manifest
        let channels = PlaybackSession.outputChannels
        let ring = FloatRingBuffer(minimumCapacity: Int(Double(manifest.sampleRate * channels) * PlaybackSession.ringSeconds))
        let stats = PlayerStats()
        let pump = PlaybackPump(ring: ring, channels: channels, stats: stats,
                                prebufferFrames: Int(Double(manifest.sampleRate) * PlaybackSession.prebufferSeconds),
                                maxFramesPerCall: 4096)
        output = try AudioOutput(pump: pump, sampleRate: Double(manifest.sampleRate))
        loop = DecodeLoop(source: input.source, decoder: decoder, ring: ring, manifest: manifest,
                          outputChannels: channels, stats: stats, seek: seek)
        self.stats = stats
        self.pump = pump
        self.decoder = decoder
        self.input = input
    }

    /// Start reading and decoding; the output starts separately (`startOutput`).
    func startDecoding() {
        input.start()
        let loop = self.loop
        PlaybackSession.decodeQueue.async {
            loop.run() // blocks the queue until the stream ends or stop()
        }
    }

    /// The system stopped the engine (new route or sample rate): called on the main queue.
    var onConfigurationChange: (() -> Void)? {
        get { output.onConfigurationChange }
        set { output.onConfigurationChange = newValue }
    }

    func startOutput() throws {
        try output.start()
    }

    func pauseOutput() {
        output.pause()
    }

    func restartOutput() throws {
        try output.restart()
    }

    func stop() {
        loop.stop() // also wakes a decode thread sleeping on the full ring
        input.cancel() // wakes a decode loop that waits for network bytes
        output.stop()
    }

    /// The stream's header once the decode loop has read it (needed to plan a seek).
    var header: StreamHeader? {
        loop.header
    }

    /// The stream ended and everything was played.
    var isFinished: Bool {
        loop.isDone && pump.isFinished
    }

    var isBuffering: Bool {
        pump.isBuffering
    }

    /// What ended decoding early (a fatal stream error, a fingerprint mismatch, a download error, ...).
    var failure: Error? {
        loop.failure
    }
}
