// The TQCodec Mobile Android demo. `tqcstream` is the plain-Java core (stream reader, manifest,
// decode loop), unit-tested on the JVM; the app module (the thin Android shell) is added later.
pluginManagement {
    repositories {
        gradlePluginPortal()
        google()
        mavenCentral()
    }
}

dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "tqcodec-android-demo"

include(":tqcstream")
