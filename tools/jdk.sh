# Sourced by ./unclip, ./test and the other scripts: exports JAVA_HOME as a JDK >= 22
# (the Foreign Function & Memory API is final from 22; the project compiles for 25).
# It tries, in order: $JAVA_HOME, the `java` on PATH, then the usual install folders.
# Nobody needs to set JAVA_HOME by hand.

unclip_java_feature() {  # prints the feature version of the JDK at $1 (e.g. 25), or nothing
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  "$1/bin/java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = \([0-9][0-9]*\).*/\1/p' | head -n 1
}

unclip_find_jdk() {
  local candidates=() dir version
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for dir in /usr/lib/jvm/* /usr/local/lib/jvm/* /opt/java/* /opt/jdk* "$HOME"/.sdkman/candidates/java/* \
             "$HOME"/.jdks/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$dir" ] && candidates+=("$dir")
  done
  # Prefer the newest feature version among the candidates.
  local best="" best_version=0
  for dir in "${candidates[@]}"; do
    version=$(unclip_java_feature "$dir")
    if [ -n "$version" ] && [ "$version" -ge 22 ] && [ "$version" -gt "$best_version" ]; then
      best="$dir"; best_version="$version"
    fi
  done
  if [ -z "$best" ]; then
    echo "unclip4j needs a JDK 22 or newer (25 recommended); none was found in JAVA_HOME, PATH or /usr/lib/jvm." >&2
    return 1
  fi
  export JAVA_HOME="$best"
  export PATH="$JAVA_HOME/bin:$PATH"
}
