// Plain Java, no Android imports: the `.tqc` reader, the manifest and the decode loop that the
// Android app drives. Tests read the golden vectors in ../../tests/vectors (the repository's).
plugins {
    `java-library`
}

java {
    sourceCompatibility = JavaVersion.VERSION_1_8
    targetCompatibility = JavaVersion.VERSION_1_8
}

dependencies {
    // org.json is part of Android (the app gets the platform's); on the JVM the same Android code
    // from Maven Central. run_jvm_tests.sh uses Debian's copy (libandroid-json-java).
    compileOnly("com.vaadin.external.google:android-json:0.0.20131108.vaadin1")
    testImplementation("com.vaadin.external.google:android-json:0.0.20131108.vaadin1")
    testImplementation("junit:junit:4.13.2")
}

tasks.test {
    systemProperty("tqc.vectors", rootProject.file("../tests/vectors").absolutePath)
}
