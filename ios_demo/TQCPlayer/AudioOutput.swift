import AVFoundation
import TQCStream

/// AVAudioEngine playing an `AVAudioSourceNode` at the stream's sample rate (44.1 kHz for
/// TQCodec; the mixer resamples if the hardware runs at another rate).
///
/// The render block only reads the ring buffer, through `PlaybackPump.render`: no allocation,
/// no lock, no decoding, no Objective-C messaging on the render thread. The buffers of the
/// standard (deinterleaved float32) format are filled channel by channel; what the ring cannot
/// give is silence, and the pump counts the underrun.
///
/// What to do when (pause on an interruption, restart after a configuration change) is
/// `PlayerStateMachine`'s decision; this class only carries it out, and reports the engine's
/// `AVAudioEngineConfigurationChange` (the system stopped the engine for a new route or
/// sample rate) through `onConfigurationChange`.
final class AudioOutput {
    struct UnsupportedFormat: LocalizedError {
        let sampleRate: Double
        let channels: Int

        var errorDescription: String? {
            "cannot play \(channels) channels at \(sampleRate) Hz"
        }
    }

    private let engine = AVAudioEngine()
    private let node: AVAudioSourceNode
    private let sampleRate: Double
    private var configurationObserver: NSObjectProtocol?
    /// Called on the main queue when the engine was stopped for a configuration change.
    var onConfigurationChange: (() -> Void)?

    init(pump: PlaybackPump, sampleRate: Double) throws {
        guard let format = AVAudioFormat(standardFormatWithSampleRate: sampleRate,
                                         channels: AVAudioChannelCount(pump.channels)) else {
            throw UnsupportedFormat(sampleRate: sampleRate, channels: pump.channels)
        }
        self.sampleRate = sampleRate
        node = AVAudioSourceNode(format: format) { isSilence, _, frameCount, audioBufferList in
            let buffers = UnsafeMutableAudioBufferListPointer(audioBufferList)
            let played = pump.render(frameCount: Int(frameCount), channelCount: buffers.count) { channel in
                buffers[channel].mData!.assumingMemoryBound(to: Float.self)
            }
            isSilence.pointee = ObjCBool(played == 0)
            return noErr
        }
        engine.attach(node)
        engine.connect(node, to: engine.mainMixerNode, format: format)
        configurationObserver = NotificationCenter.default.addObserver(
            forName: .AVAudioEngineConfigurationChange, object: engine, queue: .main) { [weak self] _ in
            self?.onConfigurationChange?()
        }
    }

    deinit {
        if let configurationObserver {
            NotificationCenter.default.removeObserver(configurationObserver)
        }
    }

    /// Activate the session and run the engine (also after a pause or an interruption).
    func start() throws {
        #if os(iOS)
        let session = AVAudioSession.sharedInstance()
        try session.setCategory(.playback, mode: .default)
        try? session.setPreferredSampleRate(sampleRate) // avoids a resampler when the hardware agrees
        try session.setActive(true)
        #endif
        engine.prepare()
        try engine.start()
    }

    /// Stop pulling audio, keep the engine's resources: the ring stays full, and the decode
    /// thread sleeps until playing resumes.
    func pause() {
        engine.pause()
    }

    /// After a configuration change the engine is stopped and its I/O format may have changed:
    /// reconnect the source to the mixer (which converts to the new hardware format) and start.
    func restart() throws {
        engine.stop()
        engine.connect(node, to: engine.mainMixerNode, format: node.outputFormat(forBus: 0))
        try start()
    }

    func stop() {
        engine.stop()
    }
}
