import Foundation
import MediaPlayer
import TQCStream

/// The lock screen and Control Center: Now Playing info (title, position, duration, rate) and
/// the remote commands (play, pause, toggle, scrub) as `PlayerStateMachine` events. With the
/// `audio` background mode (project.yml) playback goes on with the screen locked.
@MainActor
final class NowPlaying {
    private var targets: [(MPRemoteCommand, Any)] = []

    init(send: @escaping @MainActor (PlayerStateMachine.Event) -> Void) {
        let commands = MPRemoteCommandCenter.shared()
        func on(_ command: MPRemoteCommand, _ event: @escaping (MPRemoteCommandEvent) -> PlayerStateMachine.Event?) {
            command.isEnabled = true
            let target = command.addTarget { commandEvent in
                guard let mapped = event(commandEvent) else {
                    return .commandFailed
                }
                MainActor.assumeIsolated { send(mapped) } // remote commands arrive on the main thread
                return .success
            }
            targets.append((command, target))
        }
        on(commands.playCommand) { _ in .resume }
        on(commands.pauseCommand) { _ in .pause }
        on(commands.togglePlayPauseCommand) { _ in .toggle }
        on(commands.changePlaybackPositionCommand) { commandEvent in
            (commandEvent as? MPChangePlaybackPositionCommandEvent).map { .seek(seconds: $0.positionTime) }
        }
    }

    deinit {
        for (command, target) in targets {
            command.removeTarget(target)
        }
    }

    /// Called with each UI refresh: the system extrapolates the position from the rate between updates.
    func update(title: String, snapshot: PlayerStats.Snapshot?, isPlaying: Bool) {
        var info: [String: Any] = [
            MPMediaItemPropertyTitle: title,
            MPNowPlayingInfoPropertyPlaybackRate: isPlaying ? 1.0 : 0.0,
        ]
        if let snapshot {
            info[MPNowPlayingInfoPropertyElapsedPlaybackTime] = snapshot.positionSeconds
            if let duration = snapshot.durationSeconds {
                info[MPMediaItemPropertyPlaybackDuration] = duration
            }
        }
        info[MPNowPlayingInfoPropertyIsLiveStream] = snapshot?.durationSeconds == nil
        MPNowPlayingInfoCenter.default().nowPlayingInfo = info
    }

    func clear() {
        MPNowPlayingInfoCenter.default().nowPlayingInfo = nil
    }
}
