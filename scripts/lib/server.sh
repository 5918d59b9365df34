# Sourced by the check scripts that run a `lookout serve` in the background (serve-checks.sh, kserve-checks.sh,
# kserve-grpc-checks.sh, perf-analyzer-checks.sh).
# The caller sets `name` (its name in messages), `server` (the pid) and `log` (the server's stderr).

# listening SED: prints the first match of the sed expression SED in $log once the server has written it (120 s at
# most); returns 1, the server's last lines on stderr, when it dies first or never writes it.
listening() {
    local found=""
    for _ in $(seq 1 600); do
        found=$(sed -n "$1" "$log" | head -1)
        [ -n "$found" ] && { echo "$found"; return 0; }
        if ! kill -0 "$server" 2>/dev/null; then
            echo "$name: the server exited before listening:" >&2
            tail -40 "$log" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "$name: the server wrote no listening line within 120 s:" >&2
    tail -40 "$log" >&2
    return 1
}

# stopped_cleanly: SIGTERM, then the server must exit 0 within 30 s (killed otherwise); prints PASS or FAIL and
# returns 1 on a failure, or when the server had already died.
stopped_cleanly() {
    local rc=0
    if ! kill -0 "$server" 2>/dev/null; then
        wait "$server" || rc=$?
        echo "FAIL the server died during the checks (exit $rc)" >&2
        return 1
    fi
    kill -TERM "$server"
    for _ in $(seq 1 300); do
        if ! kill -0 "$server" 2>/dev/null; then
            wait "$server" || rc=$?
            if [ "$rc" -eq 0 ]; then
                echo "PASS SIGTERM: the server exited 0"
                return 0
            fi
            echo "FAIL SIGTERM: the server exited $rc" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "FAIL SIGTERM: the server still runs after 30 s" >&2
    kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    return 1
}

# finish STATUS [DIR]: stops the server (stopped_cleanly), then reports: on a failure the server's last lines and
# FAILED, else "all passed" and DIR removed; exits with the status.
finish() {
    local status=$1
    stopped_cleanly || status=1
    server=""
    if [ "$status" -ne 0 ]; then
        echo "$name: the server's last lines:" >&2
        tail -20 "$log" >&2
        echo "$name: FAILED" >&2
    else
        echo "$name: all passed"
        [ -n "${2:-}" ] && rm -rf "$2"
    fi
    exit "$status"
}
