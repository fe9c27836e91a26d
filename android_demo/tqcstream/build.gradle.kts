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
    testImplementation("junit:junit:4.13.2")
}

tasks.test {
    systemProperty("tqc.vectors", rootProject.file("../tests/vectors").absolutePath)
}
