import XCTest
@testable import TQCStream

/// Event sequences as iOS delivers them (calls, headphones, Bluetooth, engine restarts, the
/// lock screen's remote commands), and what the player state and the shell's actions must be.
final class PlayerStateMachineTests: XCTestCase {
    typealias Machine = PlayerStateMachine

    /// Feed events; return the state after each and every action, in order.
    private func run(_ events: [Machine.Event], from start: Machine = Machine()) -> (Machine, [Machine.State], [Machine.Action]) {
        var machine = start
        var states: [Machine.State] = []
        var actions: [Machine.Action] = []
        for event in events {
            actions += machine.handle(event)
            states.append(machine.state)
        }
        return (machine, states, actions)
    }

    private func playing() -> Machine {
        var machine = Machine()
        _ = machine.handle(.play(at: nil))
        _ = machine.handle(.ready)
        XCTAssertEqual(machine.state, .playing)
        return machine
    }

    func testPlayLoadsThenStartsTheOutput() {
        let (machine, states, actions) = run([.play(at: nil), .ready])
        XCTAssertEqual(states, [.loading(thenPlay: true), .playing])
        XCTAssertEqual(actions, [.load(at: nil), .startOutput])
        XCTAssertTrue(machine.isPlaying)
        XCTAssertTrue(machine.hasStream)
    }

    func testAPhoneCallPausesAndResumesWhenTheSystemSaysSo() {
        let (machine, states, actions) = run([.interruptionBegan, .interruptionEnded(shouldResume: true)], from: playing())
        XCTAssertEqual(states, [.interrupted(resumeAfter: true), .playing])
        XCTAssertEqual(actions, [.pauseOutput, .startOutput])
        XCTAssertTrue(machine.isPlaying)
    }

    func testAnInterruptionThatShouldNotResumeLeavesThePlayerPaused() {
        let (machine, states, actions) = run([.interruptionBegan, .interruptionEnded(shouldResume: false)], from: playing())
        XCTAssertEqual(states, [.interrupted(resumeAfter: true), .paused])
        XCTAssertEqual(actions, [.pauseOutput])
        XCTAssertFalse(machine.isPlaying) // the UI no longer says "Playing" over silence
    }

    func testACallDuringLoadingHoldsTheStartUntilItEnds() {
        // the call ends before the stream is ready: it starts as asked (if the system agrees)
        let (_, early, earlyActions) = run([.play(at: nil), .interruptionBegan, .interruptionEnded(shouldResume: true),
                                            .ready])
        XCTAssertEqual(early, [.loading(thenPlay: true), .loading(thenPlay: true), .loading(thenPlay: true), .playing])
        XCTAssertEqual(earlyActions, [.load(at: nil), .startOutput])
        let (_, refused, refusedActions) = run([.play(at: nil), .interruptionBegan,
                                                .interruptionEnded(shouldResume: false), .ready])
        XCTAssertEqual(refused.last, .paused)
        XCTAssertEqual(refusedActions, [.load(at: nil)])
        // still in the call when it is ready: no output until the call ends
        let (_, late, lateActions) = run([.play(at: nil), .interruptionBegan, .ready,
                                          .interruptionEnded(shouldResume: true)])
        XCTAssertEqual(late, [.loading(thenPlay: true), .loading(thenPlay: true), .interrupted(resumeAfter: true),
                              .playing])
        XCTAssertEqual(lateActions, [.load(at: nil), .startOutput])
        // stopped during the call, played again after it: it just plays
        let (_, again, _) = run([.play(at: nil), .interruptionBegan, .stop, .play(at: nil), .ready])
        XCTAssertEqual(again.last, .playing)
    }

    func testAnInterruptionWhilePausedNeverStartsPlayback() {
        let (_, states, actions) = run([.pause, .interruptionBegan, .interruptionEnded(shouldResume: true)], from: playing())
        XCTAssertEqual(states, [.paused, .paused, .paused])
        XCTAssertEqual(actions, [.pauseOutput])
        // paused by the user during the interruption: its end does not resume either
        let (_, during, more) = run([.interruptionBegan, .pause, .interruptionEnded(shouldResume: true)], from: playing())
        XCTAssertEqual(during, [.interrupted(resumeAfter: true), .paused, .paused])
        XCTAssertEqual(more, [.pauseOutput])
    }

    func testUnpluggingHeadphonesPausesPluggingThemInDoesNot() {
        let (_, states, actions) = run([.routeChanged(.newDeviceAvailable), .routeChanged(.other),
                                        .routeChanged(.oldDeviceUnavailable), .routeChanged(.newDeviceAvailable)],
                                       from: playing())
        XCTAssertEqual(states, [.playing, .playing, .paused, .paused])
        XCTAssertEqual(actions, [.pauseOutput])
    }

    func testAnEngineConfigurationChangeRestartsTheEngineAndKeepsPlaying() {
        let (_, states, actions) = run([.engineConfigurationChanged, .engineConfigurationChanged], from: playing())
        XCTAssertEqual(states, [.playing, .playing])
        XCTAssertEqual(actions, [.restartOutput, .restartOutput])
        // paused: nothing to restart now; resume restarts (reconnects) the engine, once
        let (_, pausedStates, pausedActions) = run([.pause, .engineConfigurationChanged, .resume, .pause, .resume],
                                                   from: playing())
        XCTAssertEqual(pausedStates, [.paused, .paused, .playing, .paused, .playing])
        XCTAssertEqual(pausedActions, [.pauseOutput, .restartOutput, .pauseOutput, .startOutput])
        // during a call (Bluetooth connects meanwhile): the resume after it restarts the engine
        let (_, callStates, callActions) = run([.interruptionBegan, .engineConfigurationChanged,
                                                .interruptionEnded(shouldResume: true)], from: playing())
        XCTAssertEqual(callStates, [.interrupted(resumeAfter: true), .interrupted(resumeAfter: true), .playing])
        XCTAssertEqual(callActions, [.pauseOutput, .restartOutput])
        // a new session (a seek) has a new engine: a plain start again
        let (_, _, seekActions) = run([.pause, .engineConfigurationChanged, .seek(seconds: 3), .ready, .resume],
                                      from: playing())
        XCTAssertEqual(seekActions, [.pauseOutput, .stopOutput, .load(at: 3), .startOutput])
    }

    func testAMediaServicesResetReloadsWhereItWas() {
        let (machine, states, actions) = run([.mediaServicesReset(positionSeconds: 42.5), .ready], from: playing())
        XCTAssertEqual(states, [.loading(thenPlay: true), .playing])
        XCTAssertEqual(actions, [.stopOutput, .load(at: 42.5), .startOutput])
        XCTAssertEqual(machine.startSeconds, 42.5)
        let (_, pausedStates, pausedActions) = run([.pause, .mediaServicesReset(positionSeconds: 7), .ready],
                                                   from: playing())
        XCTAssertEqual(pausedStates, [.paused, .loading(thenPlay: false), .paused])
        XCTAssertEqual(pausedActions, [.pauseOutput, .stopOutput, .load(at: 7)])
        // nothing open: nothing to reload
        XCTAssertEqual(run([.mediaServicesReset(positionSeconds: 1)]).2, [])
    }

    func testPauseResumeAndTheRemoteToggle() {
        let (_, states, actions) = run([.pause, .resume, .toggle, .toggle, .resume], from: playing())
        XCTAssertEqual(states, [.paused, .playing, .paused, .playing, .playing])
        XCTAssertEqual(actions, [.pauseOutput, .startOutput, .pauseOutput, .startOutput])
    }

    func testSeekReloadsAtTheTargetAndKeepsPlayingOrPaused() {
        let (machine, states, actions) = run([.seek(seconds: 12.5), .ready], from: playing())
        XCTAssertEqual(states, [.loading(thenPlay: true), .playing])
        XCTAssertEqual(actions, [.stopOutput, .load(at: 12.5), .startOutput])
        XCTAssertEqual(machine.startSeconds, 12.5)
        let (paused, pausedStates, pausedActions) = run([.pause, .seek(seconds: -3), .ready], from: playing())
        XCTAssertEqual(pausedStates, [.paused, .loading(thenPlay: false), .paused])
        XCTAssertEqual(pausedActions, [.pauseOutput, .stopOutput, .load(at: 0)]) // clamped to the start
        XCTAssertEqual(paused.startSeconds, 0)
    }

    func testPauseWhileLoadingIsRememberedForWhenItIsReady() {
        let (_, states, actions) = run([.play(at: 4), .pause, .ready, .resume])
        XCTAssertEqual(states, [.loading(thenPlay: true), .loading(thenPlay: false), .paused, .playing])
        XCTAssertEqual(actions, [.load(at: 4), .startOutput])
    }

    func testTheEndErrorsAndStop() {
        let (finished, states, actions) = run([.endOfStream, .toggle], from: playing())
        XCTAssertEqual(states, [.finished, .loading(thenPlay: true)]) // play again from the start
        XCTAssertEqual(actions, [.stopOutput, .load(at: nil)])
        XCTAssertEqual(finished.startSeconds, 0)

        let (failed, failedStates, failedActions) = run([.error("bad_magic"), .pause, .resume, .endOfStream], from: playing())
        XCTAssertEqual(failedStates, Array(repeating: .failed("bad_magic"), count: 4))
        XCTAssertEqual(failedActions, [.stopOutput])
        XCTAssertFalse(failed.hasStream)

        let (_, stopStates, stopActions) = run([.stop, .stop, .interruptionEnded(shouldResume: true)], from: playing())
        XCTAssertEqual(stopStates, [.stopped, .stopped, .stopped])
        XCTAssertEqual(stopActions, [.stopOutput])
    }

    func testEventsThatDoNotApplyChangeNothing() {
        let (_, states, actions) = run([.pause, .resume, .ready, .interruptionBegan, .interruptionEnded(shouldResume: true),
                                        .routeChanged(.oldDeviceUnavailable), .engineConfigurationChanged, .endOfStream,
                                        .stop])
        XCTAssertEqual(states, Array(repeating: .idle, count: 9))
        XCTAssertEqual(actions, [])
        // playing a new stream over an open one tears the old one down first
        let (_, _, replace) = run([.play(at: nil)], from: playing())
        XCTAssertEqual(replace, [.stopOutput, .load(at: nil)])
    }
}
