import SwiftUI

/// The TQCodec demo player: a thin SwiftUI shell over the TQCStream package (see README.md).
@main
struct TQCPlayerApp: App {
    var body: some Scene {
        WindowGroup {
            ContentView()
        }
    }
}
