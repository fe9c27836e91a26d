import Foundation
import TQCStream

/// One stream playing: the decode loop on its own queue, the audio engine, and the ring and
/// pump between them. Everything here is wiring; the behaviour is TQCStream's.
final class PlaybackSession: @unchecked Sendable {
    /// Output channels: TQCodec is stereo or mono, and mono is copied to both sides.
    static let outputChannels = 2
    /// Decoded audio the ring holds: about 3 s of stereo at 44.1 kHz (rounded up to 2^18 samples).
    static let ringSeconds = 2.0
    /// Audio gathered before playback starts, and again after an underrun.
    static let prebufferSeconds = 0.3

    let stats: PlayerStats
    let input: StreamInput
    let decoder: CoreMLChunkDecoder
    private let loop: DecodeLoop<CoreMLChunkDecoder>
    private let pump: PlaybackPump
    private let output: AudioOutput
    private let decodeQueue = DispatchQueue(label: "org.tqcodec.player.decode", qos: .userInitiated)

    init(decoder: CoreMLChunkDecoder, input: StreamInput) throws {
        let manifest = decoder.manifest
        let channels = PlaybackSession.outputChannels
        let ring = FloatRingBuffer(minimumCapacity: Int(Double(manifest.sampleRate * channels) * PlaybackSession.ringSeconds))
        let stats = PlayerStats()
        let pump = PlaybackPump(ring: ring, channels: channels, stats: stats,
                                prebufferFrames: Int(Double(manifest.sampleRate) * PlaybackSession.prebufferSeconds),
                                maxFramesPerCall: 4096)
        output = try AudioOutput(pump: pump, sampleRate: Double(manifest.sampleRate))
        loop = DecodeLoop(source: input.source, decoder: decoder, ring: ring, manifest: manifest,
                          outputChannels: channels, stats: stats)
        self.stats = stats
        self.pump = pump
        self.decoder = decoder
        self.input = input
    }

    func start() throws {
        try output.start()
        input.start()
        let loop = self.loop
        decodeQueue.async {
            loop.run() // blocks this queue until the stream ends or stop()
        }
    }

    func stop() {
        loop.stop()
        input.cancel() // wakes a decode loop that waits for network bytes
        output.stop()
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
