#!/usr/bin/env bash
# Build gomoqt's interop peers (cmd/interop/server, cmd/interop/client) from the Go module proxy,
# plus our own raw-QUIC helper (interop/gomoqt/quicpeer), into $GOMOQT_CACHE/bin.
#
#   bash interop/gomoqt/build.sh          # skips the build when the binaries for this version exist
#   FORCE=1 bash interop/gomoqt/build.sh  # rebuild
#
# Env: GOMOQT_MODULE (default github.com/okdaichi/gomoqt), GOMOQT_VERSION (default v0.9.0),
#      GOMOQT_CACHE (default <repo>/.cache/gomoqt), GOMOQT_BUILD_TIMEOUT seconds (default 900).
#
# Why not only `go install …@v0.9.0`: the proxy serves the v0.9.0 module files but refuses the
# module's version list (403), and `go install pkg@version` reads that list to look for a
# deprecation notice, so it fails after downloading. We therefore try `go install` first and, if it
# fails, download the exact version (`go mod download`, checksum-verified) and build the two commands
# inside the downloaded module, i.e. with gomoqt's own go.mod/go.sum: the same build list that
# `go install pkg@version` would use. See README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/interop/gomoqt"
MODULE="${GOMOQT_MODULE:-github.com/okdaichi/gomoqt}"
VERSION="${GOMOQT_VERSION:-v0.9.0}"
CACHE="${GOMOQT_CACHE:-$REPO/.cache/gomoqt}"
BIN="$CACHE/bin"
STAMP="$BIN/.built-from"
TMO="${GOMOQT_BUILD_TIMEOUT:-900}"
WANT="$MODULE@$VERSION"

# Never let an inherited -mod=mod make go try to write into the read-only module cache.
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off
export GO111MODULE=on

if ! command -v go >/dev/null 2>&1; then
  echo "build: FAIL: no 'go' on PATH" >&2
  exit 2
fi

mkdir -p "$BIN"
if [[ "${FORCE:-0}" != 1 && -x "$BIN/server" && -x "$BIN/client" && -x "$BIN/quicpeer" &&
  "$(cat "$STAMP" 2>/dev/null)" == "$WANT" ]]; then
  echo "build: cached: $BIN/{server,client,quicpeer} from $WANT"
  exit 0
fi

start=$SECONDS
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -f "$STAMP"

echo "build: $WANT with $(go version) (GOMODCACHE=$(go env GOMODCACHE))"

# 1) The canonical way. Run outside any module (a temp dir).
if (cd "$tmp" && GOBIN="$BIN" timeout "$TMO" go install \
  "$MODULE/cmd/interop/server@$VERSION" "$MODULE/cmd/interop/client@$VERSION") >"$tmp/install.log" 2>&1; then
  echo "build: go install ok"
else
  echo "build: 'go install …@$VERSION' failed; falling back to download + build in the module dir:"
  sed 's/^/build:   | /' "$tmp/install.log" | tail -n 5
  # 2) Download the exact version (verified against the checksum database) and build in place.
  if ! (cd "$tmp" && timeout "$TMO" go mod download -json "$WANT") >"$tmp/dl.json" 2>"$tmp/dl.err"; then
    echo "build: FAIL: the module proxy did not serve $WANT:" >&2
    echo "build:   command: (cd \$(mktemp -d) && go mod download -json $WANT)" >&2
    cat "$tmp/dl.json" "$tmp/dl.err" | sed 's/^/build:   | /' >&2
    exit 2
  fi
  dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' "$tmp/dl.json" | head -n 1)"
  if [[ -z "$dir" || ! -f "$dir/go.mod" ]]; then
    echo "build: FAIL: could not find the downloaded module dir in:" >&2
    cat "$tmp/dl.json" >&2
    exit 2
  fi
  echo "build: module dir $dir"
  timeout "$TMO" go build -C "$dir" -trimpath -o "$BIN/" ./cmd/interop/server ./cmd/interop/client
fi

# 3) Our raw-QUIC helper (its go.mod pins the same gomoqt version).
if [[ "$VERSION" != "$(sed -n 's/^require github.com\/okdaichi\/gomoqt \(v[^ ]*\)$/\1/p' "$HERE/quicpeer/go.mod")" ]]; then
  echo "build: note: quicpeer/go.mod pins a different gomoqt version than $VERSION"
fi
timeout "$TMO" go build -C "$HERE/quicpeer" -trimpath -o "$BIN/quicpeer" .

for b in server client quicpeer; do
  [[ -x "$BIN/$b" ]] || {
    echo "build: FAIL: $BIN/$b missing" >&2
    exit 2
  }
done
printf '%s\n' "$WANT" >"$STAMP"
echo "build: ok in $((SECONDS - start))s: $BIN/{server,client,quicpeer}"
