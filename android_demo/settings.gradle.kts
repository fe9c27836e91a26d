// The TQCodec Mobile Android demo: `app` is the thin Android shell (ExecuTorch decoder, AudioTrack,
// UI); `tqcstream` is the plain-Java core it drives (stream reader, manifest, decode loop, player
// session), unit-tested on the JVM.
pluginManagement {
    repositories {
        gradlePluginPortal()
        google()
        mavenCentral()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "tqcodec-android-demo"

include(":app")
include(":tqcstream")
