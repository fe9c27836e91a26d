import AVFoundation
import TQCStream

/// AVAudioSession's notifications as `PlayerStateMachine` events, and nothing else: what they
/// mean for playback (pause, resume, restart) is decided and tested in TQCStream.
final class AudioSessionEvents {
    private var observers: [NSObjectProtocol] = []

    /// `send` runs on the main queue; `position` is where playback is (for a media-services reset).
    init(send: @escaping @MainActor (PlayerStateMachine.Event) -> Void, position: @escaping @MainActor () -> Double) {
        let center = NotificationCenter.default
        let session = AVAudioSession.sharedInstance()
        observers.append(center.addObserver(forName: AVAudioSession.interruptionNotification, object: session,
                                            queue: .main) { note in
            if let event = AudioSessionEvents.interruption(note) {
                MainActor.assumeIsolated { send(event) }
            }
        })
        observers.append(center.addObserver(forName: AVAudioSession.routeChangeNotification, object: session,
                                            queue: .main) { note in
            if let event = AudioSessionEvents.routeChange(note) {
                MainActor.assumeIsolated { send(event) }
            }
        })
        // the media server restarted: every audio object is gone, the stream is reloaded where it was
        observers.append(center.addObserver(forName: AVAudioSession.mediaServicesWereResetNotification,
                                            object: session, queue: .main) { _ in
            MainActor.assumeIsolated { send(.mediaServicesReset(positionSeconds: position())) }
        })
    }

    deinit {
        for observer in observers {
            NotificationCenter.default.removeObserver(observer)
        }
    }

    /// A call, Siri, an alarm: began, or ended (with or without the system's "should resume").
    static func interruption(_ note: Notification) -> PlayerStateMachine.Event? {
        guard let raw = note.userInfo?[AVAudioSessionInterruptionTypeKey] as? UInt,
              let type = AVAudioSession.InterruptionType(rawValue: raw) else {
            return nil
        }
        switch type {
        case .began:
            return .interruptionBegan
        case .ended:
            let options = note.userInfo?[AVAudioSessionInterruptionOptionKey] as? UInt ?? 0
            return .interruptionEnded(shouldResume: AVAudioSession.InterruptionOptions(rawValue: options)
                .contains(.shouldResume))
        @unknown default:
            return nil
        }
    }

    /// Headphones unplugged or Bluetooth gone (pause), a device added, anything else.
    static func routeChange(_ note: Notification) -> PlayerStateMachine.Event? {
        guard let raw = note.userInfo?[AVAudioSessionRouteChangeReasonKey] as? UInt,
              let reason = AVAudioSession.RouteChangeReason(rawValue: raw) else {
            return nil
        }
        switch reason {
        case .oldDeviceUnavailable: return .routeChanged(.oldDeviceUnavailable)
        case .newDeviceAvailable: return .routeChanged(.newDeviceAvailable)
        default: return .routeChanged(.other)
        }
    }
}
