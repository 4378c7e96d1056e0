# Sourced by the launcher and the build's scripts: finds a JDK >= 25.
# (bash; defines functions only)

# Prints the version of the JDK at $1 (e.g. 25.0.3; 1.8.0_x becomes 8.0_x), or
# nothing if there is no usable java. The release file is read first because
# starting a JVM per candidate costs ~100 ms on every launch; `java -version`
# is the fallback for unusual layouts.
jdk_version() {
    local home=$1 version=
    [[ -x $home/bin/java ]] || return 0
    if [[ -r $home/release ]]; then
        # Read with bash alone: the launcher runs this for every JDK on every start.
        local line
        while IFS= read -r line || [[ -n $line ]]; do
            if [[ $line =~ ^JAVA_VERSION=\"([^\"]*)\" ]]; then
                version=${BASH_REMATCH[1]}
                break
            fi
        done <"$home/release"
    fi
    if [[ -z $version ]]; then
        version=$("$home/bin/java" -version 2>&1 | sed -n '1s/.*version "\([^"]*\)".*/\1/p') || true
    fi
    echo "${version#1.}"
}

# True if version string $1 has a major version of 25 or more.
at_least_25() {
    local major=${1%%[!0-9]*}
    [[ -n $major ]] && ((10#$major >= 25))
}

find_java_home() {
    if [[ -n ${JAVA_HOME:-} ]] && at_least_25 "$(jdk_version "$JAVA_HOME")"; then
        echo "$JAVA_HOME"
        return 0
    fi
    local best= best_version= dir version
    for dir in /usr/lib/jvm/*; do
        [[ -d $dir ]] || continue
        version=$(jdk_version "$dir")
        at_least_25 "$version" || continue
        if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best_version" "$version" | sort -V | tail -n1) != "$best_version" ]]; then
            best=$dir
            best_version=$version
        fi
    done
    [[ -n $best ]] && echo "$best"
    return 0
}
