#!/usr/bin/env bash
# The HTTP API checks of `lookout serve` (CI runs them after the build):
#   bash scripts/serve-checks.sh [BINARY]        (default .build/debug/lookout)
# 1. the pinned Python packages (schemathesis, requests, openapi-spec-validator) into .venv when missing
#    (scripts/test creates .venv); web/openapi.yaml must validate as OpenAPI 3.1;
# 2. `lookout serve --port 0 --token RANDOM --db TMP/events.db` (the demo stream: no streams, no config), its URL
#    read from the `serving on http://HOST:PORT` line on stderr;
# 3. scripts/serve-api-checks.py against it and web/openapi.yaml (auth matrix, abuse, slow loris, schemathesis);
# 4. SIGTERM: the server must exit 0 within 30 s.
# Exit 0 when all of it passed. About 3-4 minutes on a 2-core machine. The server's stderr: $SERVE_CHECKS_LOG
# (default: a temporary file, printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
name=serve-checks
source scripts/lib/server.sh

binary=${1:-.build/debug/lookout}
if [ ! -x "$binary" ]; then
    echo "serve-checks: no executable $binary (build it first: swift build)" >&2
    exit 2
fi

# Pinned: the versions the checks were written against (see scripts/serve-api-checks.py's docstring).
SCHEMATHESIS_VERSION=4.32.5
REQUESTS_VERSION=2.34.2
VALIDATOR_VERSION=0.9.0
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python - <<EOF 2>/dev/null; then
import importlib.metadata as m, sys
sys.exit(0 if (m.version("schemathesis"), m.version("requests"), m.version("openapi-spec-validator"))
         == ("$SCHEMATHESIS_VERSION", "$REQUESTS_VERSION", "$VALIDATOR_VERSION") else 1)
EOF
    .venv/bin/python -m pip install -q --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "requests==$REQUESTS_VERSION" \
        "openapi-spec-validator==$VALIDATOR_VERSION"
fi

# The document itself: a valid OpenAPI 3.1 document.
if .venv/bin/python -m openapi_spec_validator web/openapi.yaml >/dev/null; then
    echo "PASS web/openapi.yaml is a valid OpenAPI 3.1 document (openapi-spec-validator $VALIDATOR_VERSION)"
else
    .venv/bin/python -m openapi_spec_validator web/openapi.yaml >&2 || true
    echo "FAIL web/openapi.yaml is not a valid OpenAPI document" >&2
    exit 1
fi

work=$(mktemp -d /tmp/serve-checks.XXXXXX)
log=${SERVE_CHECKS_LOG:-$work/serve.log}
token=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')
server=""
cleanup() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -KILL "$server" 2>/dev/null || true
    fi
}
trap cleanup EXIT

echo "serve-checks: $binary serve --port 0 --token *** --db $work/events.db (stderr: $log)"
"$binary" serve --port 0 --token "$token" --db "$work/events.db" >"$work/serve.out" 2>"$log" &
server=$!

url=$(listening 's/.*serving on \(http:\/\/[^ ]*\).*/\1/p') || exit 1
echo "serve-checks: the server listens on $url"

status=0
.venv/bin/python scripts/serve-api-checks.py --url "$url" --token "$token" --spec web/openapi.yaml || status=1

# Graceful shutdown: SIGTERM drains, flushes the store and exits 0 within 30 s.
echo "serve-checks: server log $log"
finish "$status"
