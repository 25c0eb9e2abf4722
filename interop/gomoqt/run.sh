#!/usr/bin/env bash
# Interop matrix against gomoqt v0.9.0 (Dec 2025), on loopback only.
#
#   bash interop/gomoqt/run.sh            # every row
#   bash interop/gomoqt/run.sh moqt       # only rows whose name matches the (grep -E) filter
#
# Steps: build.sh (cached), certs.sh (cached), then one fresh server per row on a free UDP port,
# one client against it, every process under `timeout`. A row passes only if the expected lines
# are in the logs (gomoqt's programs exit 0 even after printing "...failed", so exit codes alone
# say little) and no failure line is. Logs: .cache/gomoqt/logs/<stamp>/ (and logs/latest).
#
# Env:
#   INTEROP_REQUIRE_MOQT=1  rows whose moqt program (moqt_client.ts / moqt_server.ts) is missing
#                           count as failures instead of "NOT RUN (program missing)" (skipped).
#   GOMOQT_CLIENT_TIMEOUT   seconds for a client run (default 40)
#   GOMOQT_READY_TIMEOUT    seconds for a server to print its ready line and bind (default 60)
#   GOMOQT_CACHE            cache dir (default <repo>/.cache/gomoqt)
#   INTEROP_HOST            host name clients dial (default localhost; servers bind 127.0.0.1, and the
#                           certificate covers localhost, 127.0.0.1 and ::1)
# Exit: 0 if no row failed, 1 otherwise, 2 if the build or the certificates could not be made.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/interop/gomoqt"
export GOMOQT_CACHE="${GOMOQT_CACHE:-$REPO/.cache/gomoqt}"
CACHE="$GOMOQT_CACHE"
BIN="$CACHE/bin"
FILTER="${1:-}"
REQUIRE_MOQT="${INTEROP_REQUIRE_MOQT:-0}"
CLIENT_TMO="${GOMOQT_CLIENT_TIMEOUT:-40}"
READY_TMO="${GOMOQT_READY_TIMEOUT:-60}"
# (overridable for testing the runner itself)
MOQT_CLIENT_TS="${INTEROP_MOQT_CLIENT_TS:-$HERE/moqt_client.ts}"
MOQT_SERVER_TS="${INTEROP_MOQT_SERVER_TS:-$HERE/moqt_server.ts}"

STAMP="$(date -u +%Y%m%dT%H%M%SZ)-$$"
LOGS="$CACHE/logs/$STAMP"
mkdir -p "$LOGS"
ln -sfn "$STAMP" "$CACHE/logs/latest"
# keep the 20 newest runs
find "$CACHE/logs" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' | sort -rn | tail -n +21 |
  cut -d' ' -f2- | xargs -r -d '\n' rm -rf --

say() { printf '%s\n' "$*"; }

# ---------------------------------------------------------------- setup: build + certs
if ! bash "$HERE/build.sh" >"$LOGS/build.log" 2>&1; then
  say "gomoqt interop: build FAILED (log: $LOGS/build.log)"
  tail -n 30 "$LOGS/build.log"
  exit 2
fi
tail -n 1 "$LOGS/build.log"
if ! bash "$HERE/certs.sh" >"$LOGS/certs.log" 2>&1; then
  say "gomoqt interop: certificates FAILED (log: $LOGS/certs.log)"
  tail -n 30 "$LOGS/certs.log"
  exit 2
fi
# shellcheck disable=SC1091
source "$CACHE/certs/certs.env"
say "certs: CA $GOMOQT_CA_PEM, leaf sha256 (b64) $GOMOQT_CERT_SHA256_B64"

# What every client gets: trust our CA (Go: SSL_CERT_FILE; Node: NODE_EXTRA_CA_CERTS), plus the
# leaf's hash for clients that pin it (WebTransport serverCertificateHashes).
export SSL_CERT_FILE="$GOMOQT_CA_PEM"
export NODE_EXTRA_CA_CERTS="$GOMOQT_CA_PEM"
export MOQT_INTEROP_CA_FILE="$GOMOQT_CA_PEM"
export MOQT_INTEROP_CERT_SHA256_B64="$GOMOQT_CERT_SHA256_B64"
export MOQT_INTEROP_CERT_SHA256_HEX="$GOMOQT_CERT_SHA256_HEX"

if [[ -x "$REPO/node_modules/.bin/tsx" ]]; then
  TSX=("$REPO/node_modules/.bin/tsx")
else
  TSX=(npx --no-install tsx)
fi

# ---------------------------------------------------------------- helpers
BG_PIDS=()
cleanup() {
  local p
  for p in "${BG_PIDS[@]:-}"; do
    [[ -n "$p" ]] && kill -TERM -- "-$p" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

udp_port_busy() { # port -> 0 if something is bound to it
  if command -v ss >/dev/null 2>&1; then
    [[ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ]]
  else
    ! node -e 'const s=require("dgram").createSocket("udp4");s.on("error",()=>process.exit(1));s.bind(+process.argv[1],"127.0.0.1",()=>s.close())' "$1" 2>/dev/null
  fi
}
free_udp_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 40000))
    udp_port_busy "$p" || {
      echo "$p"
      return 0
    }
  done
  return 1
}

# start_bg NAME TIMEOUT CWD CMD... : run under `timeout` (own process group) with logs NAME.out/.err
start_bg() {
  local name="$1" tmo="$2" cwd="$3"
  shift 3
  (cd "$cwd" && exec timeout -k 5 "$tmo" "$@") >"$LOGS/$name.out" 2>"$LOGS/$name.err" </dev/null &
  BG_PID=$!
  BG_PIDS+=("$BG_PID")
}
stop_bg() { # pid: TERM the timeout's process group, then reap
  kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
# wait_exit PID SECONDS -> 0 if it exited in time (exit code in WAIT_RC)
wait_exit() {
  local pid="$1" end=$((SECONDS + $2))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS >= end)) && return 1
    sleep 0.1
  done
  wait "$pid" 2>/dev/null
  WAIT_RC=$?
  return 0
}
# wait_ready PID LOG PATTERN PORT SECONDS: the log shows PATTERN (grep -iE) and the UDP port is bound
wait_ready() {
  local pid="$1" log="$2" pat="$3" port="$4" end=$((SECONDS + $5))
  while ((SECONDS < end)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if grep -qiE "$pat" "$log" 2>/dev/null && udp_port_busy "$port"; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# check_log FILE SPEC... : each SPEC is "=LINE" (an exact line), "~TEXT" (a substring), or
# "!TEXT" (a substring that must NOT appear). Appends reasons to ROW_WHY.
check_log() {
  local f="$1" s
  shift
  for s in "$@"; do
    case "$s" in
    =*) grep -Fxq -- "${s:1}" "$f" || ROW_WHY+=("$(basename "$f"): missing line '${s:1}'") ;;
    ~*) grep -Fq -- "${s:1}" "$f" || ROW_WHY+=("$(basename "$f"): missing '${s:1}'") ;;
    !*) grep -Fq -- "${s:1}" "$f" && ROW_WHY+=("$(basename "$f"): has '${s:1}': $(grep -F -m1 -- "${s:1}" "$f")") ;;
    esac
  done
}

# ---------------------------------------------------------------- expectations
# gomoqt cmd/interop/server, after a client that did everything (see README.md).
GO_SERVER_OK=(
  "=Setting up session...ok"
  "~Serving a track: /interop/server,"
  "=Writing frame to client......ok"
  "=Discovered broadcast: /interop/client"
  "=Reading the first frame from client......ok (payload: HELLO)"
  "=Closing session......ok"
  "!failed"
  "!did not complete"
)
# gomoqt cmd/interop/client, after a server that did everything.
GO_CLIENT_OK=(
  "=Connecting to server......ok"
  "=Discovered broadcast: /interop/server"
  "=Reading the first frame from server......ok (payload: HELLO)"
  "=Writing frame to server......ok"
  "!failed"
  "!did not complete"
)
# our interop/gomoqt/quicpeer (exit 0 also required)
QUICPEER_OK=(
  "=Discovered broadcast: /interop/server"
  "=received (payload: HELLO)"
  "=PASS"
)
# contract for interop/gomoqt/moqt_client.ts (exit 0 also required)
MOQT_CLIENT_OK=(
  "=Discovered broadcast: /interop/server"
  "~payload: HELLO"
  "!...failed"
)
# contract for interop/gomoqt/moqt_server.ts (it is stopped after the client is done)
MOQT_SERVER_OK=(
  "=Discovered broadcast: /interop/client"
  "~payload: HELLO"
  "!...failed"
)

# ---------------------------------------------------------------- one row
PASSED=0
FAILED=0
SKIPPED=0
SUMMARY=()

# row NAME SERVER CLIENT SCHEME
#   SERVER: go | moqt        CLIENT: go | quicpeer | moqt        SCHEME: https | moqt
row() {
  local name="$1" server="$2" client="$3" scheme="$4"
  if [[ -n "$FILTER" ]] && ! grep -qE -- "$FILTER" <<<"$name"; then
    return 0
  fi
  local slug="${name//[^A-Za-z0-9]/_}"
  ROW_WHY=()
  local t0=$SECONDS

  # Programs that do not exist yet.
  local missing=""
  [[ "$server" == moqt && ! -f "$MOQT_SERVER_TS" ]] && missing="${MOQT_SERVER_TS#"$REPO"/}"
  [[ "$client" == moqt && ! -f "$MOQT_CLIENT_TS" ]] && missing="${MOQT_CLIENT_TS#"$REPO"/}"
  if [[ -n "$missing" ]]; then
    if [[ "$REQUIRE_MOQT" == 1 ]]; then
      FAILED=$((FAILED + 1))
      SUMMARY+=("FAIL     $name: NOT RUN (program missing: $missing; INTEROP_REQUIRE_MOQT=1)")
    else
      SKIPPED=$((SKIPPED + 1))
      SUMMARY+=("NOT RUN (program missing)  $name  [$missing]")
    fi
    say "${SUMMARY[-1]}"
    return 0
  fi

  local port
  port="$(free_udp_port)" || {
    ROW_WHY+=("no free UDP port found")
  }

  # --- server
  local spid="" slog="$LOGS/$slug.server"
  if ((${#ROW_WHY[@]} == 0)); then
    if [[ "$server" == go ]]; then
      # cwd = the dir holding go.mod + cmd/interop/server/localhost{,-key}.pem
      start_bg "$slug.server" $((CLIENT_TMO + READY_TMO + 20)) "$GOMOQT_WORKDIR" \
        "$BIN/server" -addr "127.0.0.1:$port"
    else
      start_bg "$slug.server" $((CLIENT_TMO + READY_TMO + 20)) "$REPO" \
        "${TSX[@]}" "$MOQT_SERVER_TS" --addr "127.0.0.1:$port" --cert "$GOMOQT_CERT_PEM" --key "$GOMOQT_KEY_PEM"
    fi
    spid=$BG_PID
    if ! wait_ready "$spid" "$slog.out" 'listening' "$port" "$READY_TMO"; then
      ROW_WHY+=("server not ready (no 'listening' line or UDP port $port not bound) within ${READY_TMO}s")
    fi
  fi

  # --- client
  local url cpid crc="" clog="$LOGS/$slug.client"
  # The trailing "/" matters: gomoqt's server routes the exact path "/" (an empty raw-QUIC path is rejected).
  url="$scheme://${INTEROP_HOST:-localhost}:$port/"
  if ((${#ROW_WHY[@]} == 0)); then
    case "$client" in
    go) start_bg "$slug.client" "$CLIENT_TMO" "$CACHE" "$BIN/client" -addr "$url" ;;
    quicpeer) start_bg "$slug.client" "$CLIENT_TMO" "$CACHE" "$BIN/quicpeer" -addr "$url" ;;
    moqt) start_bg "$slug.client" "$CLIENT_TMO" "$REPO" "${TSX[@]}" "$MOQT_CLIENT_TS" --url "$url" ;;
    esac
    cpid=$BG_PID
    wait_exit "$cpid" $((CLIENT_TMO + 10))
    crc=$WAIT_RC
    ((crc == 124 || crc == 137)) && ROW_WHY+=("client timed out after ${CLIENT_TMO}s")
    if [[ "$client" != go ]] && ((crc != 0 && crc != 124 && crc != 137)); then
      ROW_WHY+=("client exit code $crc")
    fi
    [[ "$client" == go ]] && ((crc != 0 && crc != 124 && crc != 137)) && ROW_WHY+=("gomoqt client exit code $crc")
  fi

  # --- stop the server: gomoqt's exits by itself once its session ended; ours is stopped.
  if [[ -n "$spid" ]]; then
    if [[ "$server" == go ]]; then
      if ! wait_exit "$spid" 10; then
        say "  note: $name: gomoqt server still running 10s after the client finished; stopping it"
        stop_bg "$spid"
      fi
    else
      wait_exit "$spid" 3 || stop_bg "$spid"
    fi
  fi

  # --- judge by the logs
  if [[ -n "$spid" && -n "$crc" ]]; then
    case "$client" in
    go) check_log "$clog.out" "${GO_CLIENT_OK[@]}" ;;
    quicpeer) check_log "$clog.out" "${QUICPEER_OK[@]}" ;;
    moqt) check_log "$clog.out" "${MOQT_CLIENT_OK[@]}" ;;
    esac
    if [[ "$server" == go ]]; then
      check_log "$slog.out" "${GO_SERVER_OK[@]}"
    else
      check_log "$slog.out" "${MOQT_SERVER_OK[@]}"
    fi
    local f
    for f in "$slog.err" "$clog.err"; do
      [[ -f "$f" ]] && check_log "$f" "!panic:" "!DATA RACE"
    done
  fi

  local dt=$((SECONDS - t0))
  if ((${#ROW_WHY[@]} == 0)); then
    PASSED=$((PASSED + 1))
    SUMMARY+=("PASS     $name  (${dt}s, $url)")
    say "${SUMMARY[-1]}"
  else
    FAILED=$((FAILED + 1))
    SUMMARY+=("FAIL     $name  (${dt}s, $url): ${ROW_WHY[0]}")
    say "${SUMMARY[-1]}"
    local w
    for w in "${ROW_WHY[@]}"; do say "  - $w"; done
    for f in "$slog.out" "$slog.err" "$clog.out" "$clog.err"; do
      [[ -s "$f" ]] || continue
      say "  --- $(basename "$f") (last 15 lines)"
      tail -n 15 "$f" | sed 's/^/  | /'
    done
  fi
}

# ---------------------------------------------------------------- the matrix
say "gomoqt interop matrix (logs: $LOGS)"
#   name                                  server client   scheme
# gomoqt against itself: proves the build, the certs and the cert layout.
row "gomoqt-client -> gomoqt-server https" go go https
# Our Go helper over raw QUIC (gomoqt's own client cannot dial moqt://): proves the server's moq-00 path.
row "quicpeer -> gomoqt-server moqt" go quicpeer moqt
row "quicpeer -> gomoqt-server https" go quicpeer https
# Our TypeScript peers.
row "moqt-client -> gomoqt-server https" go moqt https
row "moqt-client -> gomoqt-server moqt" go moqt moqt
row "gomoqt-client -> moqt-server https" moqt go https
row "quicpeer -> moqt-server moqt" moqt quicpeer moqt

say ""
say "==== gomoqt interop summary (logs: $LOGS)"
for s in "${SUMMARY[@]}"; do say "$s"; done
say "interop: $PASSED passed, $FAILED failed, $SKIPPED skipped"
((FAILED == 0 && PASSED + SKIPPED > 0)) || exit 1
exit 0
