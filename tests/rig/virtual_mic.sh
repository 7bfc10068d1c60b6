# A virtual microphone for headless end-to-end tests (bash, to be sourced).
#
#   source tests/rig/virtual_mic.sh
#   vmic_start || exit 1        # private PulseAudio daemon with a null sink
#   some_program_that_listens &  # inherits XDG_RUNTIME_DIR, HOME, PULSE_SERVER
#   vmic_play speech.wav         # plays into the sink; the program hears it
#   vmic_stop                    # also runs on exit (trap)
#
# The recipe is /work/shared/audio/VIRTUAL_MIC.md (shared/audio/VIRTUAL_MIC.md
# beside the repository): a PulseAudio daemon private to this script (its own
# XDG_RUNTIME_DIR, HOME and PULSE_SERVER under a temporary directory, so the
# user's real audio setup is never touched), a 16 kHz mono null sink "vmic"
# whose monitor is the default source, and a pacat feeding the sink silence
# so it renders in small chunks (an idle null sink renders in 2 s chunks and
# the start of the first sound played would be lost). PortAudio records the
# monitor through ALSA's pulse plugin (libasound2-plugins): PortAudio lists
# two input devices, "pulse" (libasound2-plugins' 50-pulseaudio.conf) and
# "default". On Debian 12 "default" already goes to pulse without any
# ~/.asoundrc: the pulseaudio package's /etc/alsa/conf.d/99-pulse.conf hook
# does it whenever the daemon answers. The private ~/.asoundrc written here
# does the same for systems without that hook; it changes nothing on Debian.
#
# Works as root and without standard input (CI). Every wait is bounded; every
# process started here is killed by its PID in vmic_stop. The variables
# exported by vmic_start: XDG_RUNTIME_DIR, HOME, PULSE_SERVER (the previous
# values are restored by vmic_stop), and VMIC_DIR (the temporary directory).
# Set VMIC_QUIET=1 to silence the progress lines on stderr.
# vmic_kill_server and vmic_restart_server take the audio server away and
# bring it back (for tests of a lost microphone).

VMIC_PIDS=()
VMIC_SERVER_PID=""
VMIC_FEEDER_PID=""
VMIC_DIR=""
VMIC_OLD_ENV=()

_vmic_say() { [ "${VMIC_QUIET:-0}" = 1 ] || echo "vmic: $*" >&2; }

# vmic_start: returns 0 once the sink renders and its monitor gives data;
# prints why and returns 1 otherwise (after cleaning up what it started).
vmic_start() {
    local tool
    for tool in pulseaudio pactl pacat parec paplay; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "vmic: '$tool' not found: install pulseaudio and pulseaudio-utils" \
                 "(apt-get install --no-install-recommends pulseaudio pulseaudio-utils" \
                 "libasound2-plugins, or run scripts/setup.sh --deps)" >&2
            return 1
        fi
    done
    if [ ! -e /usr/share/alsa/alsa.conf.d/50-pulseaudio.conf ] &&
       [ ! -e /etc/alsa/conf.d/50-pulseaudio.conf ]; then
        echo "vmic: ALSA's pulse plugin is missing: apt-get install libasound2-plugins" >&2
        return 1
    fi
    [ -n "$VMIC_DIR" ] && vmic_stop
    VMIC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/vmic.XXXXXX") || return 1
    VMIC_OLD_ENV=("${XDG_RUNTIME_DIR-__unset__}" "${HOME-__unset__}" "${PULSE_SERVER-__unset__}")
    mkdir -p "$VMIC_DIR/xdg" "$VMIC_DIR/home"
    chmod 700 "$VMIC_DIR/xdg"
    export XDG_RUNTIME_DIR="$VMIC_DIR/xdg"
    export HOME="$VMIC_DIR/home"
    export PULSE_SERVER="unix:$XDG_RUNTIME_DIR/pulse/native"
    _vmic_trap

    # ALSA "default" -> the pulse plugin, for this private HOME only.
    cat > "$HOME/.asoundrc" <<'EOF'
pcm.!default { type pulse }
ctl.!default { type pulse }
EOF
    # Never autospawn a daemon with the default configuration (hardware
    # probing) should this one die.
    mkdir -p "$HOME/.config/pulse"
    echo "autospawn = no" > "$HOME/.config/pulse/client.conf"
    cat > "$VMIC_DIR/daemon.pa" <<'EOF'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=vmic rate=16000 channels=1
set-default-sink vmic
set-default-source vmic.monitor
EOF
    _vmic_server_up || return 1
    _vmic_say "virtual microphone up (PULSE_SERVER=$PULSE_SERVER)"
    return 0
}

# _vmic_server_up: starts the daemon and the silence feeder (vmic_start's
# second half, and vmic_restart_server's); returns 0 once the monitor gives
# data, else cleans up and returns 1.
_vmic_server_up() {
    # -n: no default script, no hardware probing. As root pulseaudio only warns.
    pulseaudio -n -F "$VMIC_DIR/daemon.pa" --daemonize=no --exit-idle-time=-1 \
        --disallow-exit --log-target=file:"$VMIC_DIR/daemon.log" </dev/null >/dev/null 2>&1 &
    VMIC_PIDS+=($!)
    VMIC_SERVER_PID=$!
    disown $! # no "Killed" notice from bash when a test kills it
    local i up=0
    for i in $(seq 1 100); do # up to 10 s
        if pactl info >/dev/null 2>&1; then up=1; break; fi
        if ! kill -0 "$VMIC_SERVER_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    if [ "$up" != 1 ]; then
        echo "vmic: the PulseAudio daemon did not come up; its log:" >&2
        sed 's/^/vmic:   /' "$VMIC_DIR/daemon.log" 2>/dev/null | tail -15 >&2
        vmic_stop
        return 1
    fi
    pacat -p --latency-msec=20 --rate=16000 --channels=1 --format=s16le --raw /dev/zero \
        </dev/null >/dev/null 2>&1 &
    VMIC_PIDS+=($!)
    VMIC_FEEDER_PID=$!
    disown $!
    # Wait until the monitor gives data (about 2 s after the daemon starts).
    local got=0
    for i in $(seq 1 10); do
        timeout 1 parec -d vmic.monitor --raw --rate=16000 --channels=1 --format=s16le \
            </dev/null >"$VMIC_DIR/probe.raw" 2>/dev/null
        if [ -s "$VMIC_DIR/probe.raw" ]; then got=1; break; fi
    done
    rm -f "$VMIC_DIR/probe.raw"
    if [ "$got" != 1 ]; then
        echo "vmic: the null sink's monitor gave no data within 10 s" >&2
        vmic_stop
        return 1
    fi
    return 0
}

# vmic_kill_server [SIGNAL]: kills the audio server (and its silence feeder)
# the way an unplugged microphone or a crashed PulseAudio looks to a program
# that listens: its stream stops. Default signal: KILL.
vmic_kill_server() {
    kill -"${1:-KILL}" "$VMIC_SERVER_PID" "$VMIC_FEEDER_PID" 2>/dev/null
    local i
    for i in $(seq 1 30); do kill -0 "$VMIC_SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    for i in $(seq 1 30); do kill -0 "$VMIC_FEEDER_PID" 2>/dev/null || break; sleep 0.1; done
    rm -f "$XDG_RUNTIME_DIR/pulse/pid"
    return 0
}

# vmic_restart_server: a new daemon in the same place (same PULSE_SERVER).
vmic_restart_server() {
    _vmic_server_up || return 1
    _vmic_say "audio server restarted"
}

# Adds vmic_stop in front of whatever EXIT trap the caller already has.
_vmic_trap() {
    local cur
    cur=$(trap -p EXIT)
    case "$cur" in *vmic_stop*) return 0 ;; esac
    if [ -z "$cur" ]; then
        trap vmic_stop EXIT
    else
        eval "set -- $cur" # trap -- 'COMMAND' EXIT
        trap "vmic_stop; $3" EXIT
    fi
}

# vmic_play FILE: plays a sound file into the sink and returns when it ends
# (at most 30 s).
vmic_play() {
    if [ -z "$VMIC_DIR" ]; then
        echo "vmic: vmic_play before vmic_start" >&2
        return 1
    fi
    timeout 30 paplay --latency-msec=20 "$1" </dev/null
}

# vmic_stop: kills every process vmic_start started (by PID), removes the
# temporary directory and restores the three variables. Safe to call twice.
vmic_stop() {
    local p
    for p in "${VMIC_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${VMIC_PIDS[@]}"; do
        local i
        for i in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    VMIC_PIDS=()
    if [ -n "$VMIC_DIR" ]; then
        rm -rf "$VMIC_DIR"
        VMIC_DIR=""
        local names=(XDG_RUNTIME_DIR HOME PULSE_SERVER) k
        for k in 0 1 2; do
            if [ "${VMIC_OLD_ENV[$k]}" = "__unset__" ]; then
                unset "${names[$k]}"
            else
                export "${names[$k]}=${VMIC_OLD_ENV[$k]}"
            fi
        done
    fi
    return 0
}
