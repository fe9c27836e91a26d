// The Android shell: UI, stream sources (asset, storage, HTTP), the ExecuTorch decoder and the
// AudioTrack output. Everything else (reading .tqc, the manifest, the decode and audio threads)
// is :tqcstream, tested on the JVM.
plugins {
    id("com.android.application")
}

android {
    namespace = "org.tqcodec.player"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.tqcodec.player"
        minSdk = 26 // AudioTrack.Builder, float PCM in streaming mode, getUnderrunCount
        targetSdk = 35
        versionCode = 1
        versionName = "0.1"
        ndk {
            // ExecuTorch's AAR ships 64-bit native code only: package nothing for 32-bit ABIs, so
            // such a device cannot install an app whose decoder would fail to link
            // (ExecuTorchChunkDecoder.SHIPPED_ABIS lists the same two).
            abiFilters += listOf("arm64-v8a", "x86_64") // x86_64: the emulator
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

dependencies {
    implementation(project(":tqcstream"))
    // The runtime must be the release that exported the .pte (Python executorch==1.5.1,
    // pyproject.toml): ExecuTorch promises no forward compatibility. See README.md.
    implementation("org.pytorch:executorch-android:1.5.1")
}
