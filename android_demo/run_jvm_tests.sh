#!/usr/bin/env bash
# Compile tqcstream (main + tests) with plain javac and run every JUnit 4 test class.
# No Gradle or Android SDK needed. Works from any directory; exits non-zero on failure.
#   android_demo/run_jvm_tests.sh            # all test classes
#   android_demo/run_jvm_tests.sh FooTest    # only the named classes (simple or full names)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
module="$here/tqcstream"
vectors="$here/../tests/vectors"

junit="${JUNIT_JAR:-/usr/share/java/junit4.jar}"
hamcrest="${HAMCREST_JAR:-}"
if [[ -z "$hamcrest" ]]; then
  for candidate in /usr/share/java/hamcrest-core.jar /usr/share/java/hamcrest.jar; do
    [[ -f "$candidate" ]] && { hamcrest="$candidate"; break; }
  done
fi
if [[ ! -f "$junit" || -z "$hamcrest" || ! -f "$hamcrest" ]]; then
  echo "error: JUnit 4 and Hamcrest jars are needed (looked for ${junit} and" \
       "/usr/share/java/hamcrest-core.jar or hamcrest.jar)." >&2
  echo "       Install them (Debian: apt-get install junit4) or set JUNIT_JAR and HAMCREST_JAR." >&2
  exit 1
fi
# org.json: Android's platform JSON parser, which the core uses; Debian ships the same code
orgjson="${ORG_JSON_JAR:-/usr/share/java/com.android.json.jar}"
if [[ ! -f "$orgjson" ]]; then
  echo "error: org.json is needed (looked for ${orgjson}, Android's org.json for the JVM)." >&2
  echo "       Install it (Debian: apt-get install libandroid-json-java) or set ORG_JSON_JAR." >&2
  exit 1
fi
if [[ ! -f "$vectors/manifest.json" ]]; then
  echo "error: golden vectors not found at $vectors" >&2
  exit 1
fi
command -v javac >/dev/null || { echo "error: javac not found (a JDK 11+ is needed)" >&2; exit 1; }

build="$(mktemp -d "${TMPDIR:-/tmp}/tqcstream-jvm.XXXXXX")"
trap 'rm -rf "$build"' EXIT
cp="$junit:$hamcrest:$orgjson"

find "$module/src/main/java" -name '*.java' > "$build/main.txt"
find "$module/src/test/java" -name '*.java' > "$build/test.txt"
# --release 8: the API level the Android module compiles against (see build.gradle.kts)
javac -nowarn -Xlint:-options --release 8 -encoding UTF-8 -cp "$orgjson" -d "$build/main" @"$build/main.txt"
javac -nowarn -Xlint:-options --release 8 -encoding UTF-8 -cp "$build/main:$cp" -d "$build/test" @"$build/test.txt"

if [[ $# -gt 0 ]]; then
  classes=()
  for name in "$@"; do
    if [[ "$name" == *.* ]]; then classes+=("$name"); else
      found="$(cd "$module/src/test/java" && find . -name "$name.java" | sed 's|^\./||; s|\.java$||; s|/|.|g')"
      [[ -n "$found" ]] || { echo "error: no test class $name" >&2; exit 1; }
      classes+=($found)
    fi
  done
else
  mapfile -t classes < <(cd "$module/src/test/java" && find . -name '*Test.java' | sort \
                          | sed 's|^\./||; s|\.java$||; s|/|.|g')
fi

start=$(date +%s%N)
set +e
java -Dtqc.vectors="$(cd "$vectors" && pwd)" -cp "$build/main:$build/test:$cp" \
  org.junit.runner.JUnitCore "${classes[@]}"
rc=$?
set -e
echo "JUnit run took $(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s (${#classes[@]} test classes)"
exit $rc
