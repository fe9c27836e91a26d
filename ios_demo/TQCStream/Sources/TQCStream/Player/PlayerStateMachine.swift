/// What the player is doing, and what the app shell must do when something happens: a pure
/// state machine, so interruptions, route changes and engine restarts are decided (and tested)
/// here, and the shell only forwards platform callbacks as `Event`s and carries out `Action`s.
///
/// Why: on iOS a phone call, Siri, or a headphone / Bluetooth change stops the audio engine
/// without asking, and a player that only tracks "started" / "stopped" keeps saying "Playing"
/// over silence. The rules follow what a music app does:
/// - an interruption pauses; when it ends the player resumes only if the system says it should
///   (`shouldResume`) and the player was playing when it began;
/// - the old output device going away (headphones unplugged) pauses; other route changes do not;
/// - an engine configuration change (the engine was stopped for a new route or sample rate)
///   restarts the engine if the player was playing, and keeps playing; one that comes while
///   paused or interrupted makes the next resume a restart;
/// - a media-services reset (every audio object is gone) reloads the stream where it was;
/// - a seek restarts decoding at the new position and then goes back to playing or paused.
public struct PlayerStateMachine: Sendable {
    public enum State: Equatable, Sendable {
        case idle
        /// Preparing a stream (loading the decoder, opening it, seeking); then `playing`, or `paused`.
        case loading(thenPlay: Bool)
        case playing
        case paused
        /// Stopped by the system (a call, an alarm); `resumeAfter`: it was playing when it began.
        case interrupted(resumeAfter: Bool)
        /// Stopped by the user.
        case stopped
        /// The stream played to its end.
        case finished
        case failed(String)
    }

    /// Why the audio route changed (the subset of `AVAudioSession.RouteChangeReason` that matters).
    public enum RouteChange: Sendable, Equatable {
        /// The device in use went away (headphones unplugged, Bluetooth lost): pause.
        case oldDeviceUnavailable
        /// A new device appeared (headphones plugged in): keep going.
        case newDeviceAvailable
        /// Anything else (category change, override, wake from sleep, ...): keep going.
        case other
    }

    public enum Event: Sendable, Equatable {
        /// Start a new stream (from the start, or at `seconds`).
        case play(at: Double?)
        /// The stream is ready to output (decoder loaded, source open).
        case ready
        case pause
        case resume
        /// Play/pause as one button (the remote toggle command).
        case toggle
        case stop
        case seek(seconds: Double)
        case interruptionBegan
        case interruptionEnded(shouldResume: Bool)
        case routeChanged(RouteChange)
        case engineConfigurationChanged
        /// The media server restarted: the engine is gone; `positionSeconds` is where playback was.
        case mediaServicesReset(positionSeconds: Double)
        case endOfStream
        case error(String)
    }

    /// What the shell must do, in order.
    public enum Action: Sendable, Equatable {
        /// Prepare the stream (decoder, source, decode loop) from `seconds` (nil: the start), then send `.ready`.
        case load(at: Double?)
        /// Start (or restart) the audio engine and activate the audio session.
        case startOutput
        /// Pause the audio engine (the decode loop then sleeps on the full ring).
        case pauseOutput
        /// Rebuild and start the engine after the system stopped it for a new configuration.
        case restartOutput
        /// Tear the stream down (decode loop, source, engine).
        case stopOutput
    }

    public private(set) var state: State = .idle
    /// The engine was stopped for a configuration change while not playing: start it again by
    /// restarting (reconnecting) it, not by a plain start.
    public private(set) var outputNeedsRestart = false
    /// An interruption began while loading (nil: none): whether playing should resume after it.
    private var interruptedWhileLoading: Bool?
    /// Where the current stream was told to start (a seek's target), for the shell's progress display.
    public private(set) var startSeconds: Double = 0

    public init() {}

    /// True when the user would call it playing (the UI's play/pause button, Now Playing rate).
    public var isPlaying: Bool {
        switch state {
        case .playing: return true
        case let .loading(thenPlay): return thenPlay
        default: return false
        }
    }

    /// True while a stream is open (playing, paused, interrupted or loading).
    public var hasStream: Bool {
        switch state {
        case .loading, .playing, .paused, .interrupted: return true
        case .idle, .stopped, .finished, .failed: return false
        }
    }

    /// Apply an event; returns what the shell must do (nothing for an event that does not apply).
    public mutating func handle(_ event: Event) -> [Action] {
        let actions = transition(event)
        if case .loading = state {} else {
            interruptedWhileLoading = nil // stopped, failed or started: nothing waits for the call's end
        }
        if actions.contains(where: { if case .load = $0 { return true } else { return false } }) {
            outputNeedsRestart = false // a new session has a new engine
        }
        guard outputNeedsRestart, let start = actions.firstIndex(of: .startOutput) else {
            return actions
        }
        outputNeedsRestart = false
        var restarted = actions
        restarted[start] = .restartOutput
        return restarted
    }

    private mutating func transition(_ event: Event) -> [Action] {
        switch (state, event) {
        case let (_, .play(at)):
            startSeconds = max(0, at ?? 0)
            let tearDown: [Action] = hasStream ? [.stopOutput] : []
            state = .loading(thenPlay: true)
            return tearDown + [.load(at: at.map { _ in startSeconds })]
        case let (.loading(thenPlay), .ready):
            if let resumeAfter = interruptedWhileLoading { // still in the call: wait for its end
                interruptedWhileLoading = nil
                state = .interrupted(resumeAfter: resumeAfter && thenPlay)
                return []
            }
            state = thenPlay ? .playing : .paused
            return thenPlay ? [.startOutput] : []
        case (.playing, .pause), (.playing, .toggle):
            state = .paused
            return [.pauseOutput]
        case (.interrupted, .pause):
            state = .paused // the user paused meanwhile: the interruption's end does not resume
            return []
        case (.loading, .pause), (.loading, .toggle):
            state = .loading(thenPlay: false)
            return []
        case (.paused, .resume), (.paused, .toggle), (.interrupted, .resume), (.interrupted, .toggle):
            state = .playing
            return [.startOutput]
        case (.loading, .resume):
            state = .loading(thenPlay: true)
            return []
        case (.stopped, .resume), (.stopped, .toggle), (.finished, .resume), (.finished, .toggle), (.idle, .toggle):
            startSeconds = 0
            state = .loading(thenPlay: true)
            return [.load(at: nil)]
        case let (.playing, .seek(seconds)), let (.paused, .seek(seconds)), let (.loading, .seek(seconds)),
             let (.interrupted, .seek(seconds)), let (.finished, .seek(seconds)):
            startSeconds = max(0, seconds)
            let thenPlay: Bool
            switch state {
            case .playing: thenPlay = true
            case let .loading(play): thenPlay = play
            default: thenPlay = false // paused, interrupted or finished: seek, and stay paused
            }
            state = .loading(thenPlay: thenPlay)
            return [.stopOutput, .load(at: startSeconds)]
        case (.playing, .interruptionBegan):
            state = .interrupted(resumeAfter: true)
            return [.pauseOutput]
        case let (.loading(thenPlay), .interruptionBegan):
            interruptedWhileLoading = thenPlay
            return []
        case let (.loading(thenPlay), .interruptionEnded(shouldResume)) where interruptedWhileLoading != nil:
            interruptedWhileLoading = nil
            state = .loading(thenPlay: thenPlay && shouldResume)
            return []
        case let (.interrupted(resumeAfter), .interruptionEnded(shouldResume)):
            if resumeAfter && shouldResume {
                state = .playing
                return [.startOutput]
            }
            state = .paused
            return []
        case (.playing, .routeChanged(.oldDeviceUnavailable)):
            state = .paused
            return [.pauseOutput]
        case (.playing, .engineConfigurationChanged):
            return [.restartOutput]
        case (.paused, .engineConfigurationChanged), (.interrupted, .engineConfigurationChanged):
            outputNeedsRestart = true
            return []
        case let (_, .mediaServicesReset(position)) where hasStream:
            startSeconds = max(0, position)
            state = .loading(thenPlay: isPlaying)
            return [.stopOutput, .load(at: startSeconds)]
        case (.playing, .endOfStream), (.paused, .endOfStream), (.interrupted, .endOfStream):
            state = .finished
            return [.stopOutput]
        case let (_, .error(message)):
            let tearDown: [Action] = hasStream ? [.stopOutput] : []
            state = .failed(message)
            return tearDown
        case (_, .stop):
            let tearDown: [Action] = hasStream ? [.stopOutput] : []
            state = hasStream ? .stopped : state
            return tearDown
        default:
            return []
        }
    }
}
