// Root build: plugin versions only. AGP 8.9.0 needs Gradle 8.11.1 or newer (the wrapper's version)
// and supports compileSdk 35; it is also what ExecuTorch builds its own Android library with.
plugins {
    id("com.android.application") version "8.9.0" apply false
}
