#!/usr/bin/env bash
# Make a throw-away CA and a localhost leaf certificate for the gomoqt interop runs, with openssl.
#
# The leaf is ECDSA P-256 and valid for 13 days (< 14), so Chromium can pin it through
# WebTransport `serverCertificateHashes` as well as trust it through the CA.
#
# Layout (all under $GOMOQT_CACHE, default <repo>/.cache/gomoqt):
#   certs/ca.pem, certs/ca-key.pem          the CA (give ca.pem to clients: SSL_CERT_FILE / NODE_EXTRA_CA_CERTS)
#   certs/leaf.pem, certs/leaf-key.pem      the server certificate (localhost, 127.0.0.1, ::1) and its key
#   certs/leaf-fullchain.pem                leaf followed by the CA
#   certs/leaf-sha256.hex / .b64            SHA-256 of the leaf's DER, hex and base64
#   certs/certs.env                         the paths and hashes as shell assignments (source it)
#   work/go.mod                             marker file: gomoqt's interop server looks for its certs
#   work/cmd/interop/server/localhost.pem      below the nearest directory (from its cwd upwards)
#   work/cmd/interop/server/localhost-key.pem  that holds a go.mod; run the server with cwd=work/
#
# Certificates are reused while the leaf is still valid for at least 2 more days; FORCE=1 remakes them.
# Prints the hashes on stdout at the end.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${GOMOQT_CACHE:-$REPO/.cache/gomoqt}"
CERTS="$CACHE/certs"
WORK="$CACHE/work"
DAYS=13

mkdir -p "$CERTS" "$WORK/cmd/interop/server"

need_new=1
if [[ "${FORCE:-0}" != 1 && -s "$CERTS/leaf.pem" && -s "$CERTS/leaf-key.pem" && -s "$CERTS/ca.pem" ]]; then
  # still valid for at least 2 days?
  if openssl x509 -in "$CERTS/leaf.pem" -noout -checkend $((2 * 86400)) >/dev/null 2>&1; then
    need_new=0
  fi
fi

if [[ $need_new == 1 ]]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT

  # CA: ECDSA P-256, self-signed.
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca-key.pem" 2>/dev/null
  openssl req -x509 -new -key "$tmp/ca-key.pem" -sha256 -days "$DAYS" \
    -subj "/O=moqt interop/CN=moqt interop test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$tmp/ca.pem"

  # Leaf: ECDSA P-256, signed by the CA, SANs for every loopback name the runs use.
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/leaf-key.pem" 2>/dev/null
  openssl req -new -key "$tmp/leaf-key.pem" -subj "/O=moqt interop/CN=localhost" -out "$tmp/leaf.csr"
  cat >"$tmp/leaf.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
  openssl x509 -req -in "$tmp/leaf.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca-key.pem" -CAcreateserial \
    -sha256 -days "$DAYS" -extfile "$tmp/leaf.ext" -out "$tmp/leaf.pem" 2>/dev/null

  openssl verify -CAfile "$tmp/ca.pem" "$tmp/leaf.pem" >/dev/null
  chmod 600 "$tmp/ca-key.pem" "$tmp/leaf-key.pem"
  for f in ca.pem ca-key.pem leaf.pem leaf-key.pem; do mv -f "$tmp/$f" "$CERTS/$f"; done
  cat "$CERTS/leaf.pem" "$CERTS/ca.pem" >"$CERTS/leaf-fullchain.pem"
fi

# Where gomoqt's interop server looks: <dir with go.mod>/cmd/interop/server/localhost{,-key}.pem
[[ -f "$WORK/go.mod" ]] || printf 'module moqt-interop-work\n\ngo 1.25\n' >"$WORK/go.mod"
cp -f "$CERTS/leaf.pem" "$WORK/cmd/interop/server/localhost.pem"
cp -f "$CERTS/leaf-key.pem" "$WORK/cmd/interop/server/localhost-key.pem"

# SHA-256 of the leaf's DER encoding (what serverCertificateHashes wants).
openssl x509 -in "$CERTS/leaf.pem" -outform DER | openssl dgst -sha256 -binary >"$CERTS/leaf-sha256.bin"
HEX="$(xxd -p -c 256 "$CERTS/leaf-sha256.bin")"
B64="$(base64 -w0 "$CERTS/leaf-sha256.bin")"
printf '%s\n' "$HEX" >"$CERTS/leaf-sha256.hex"
printf '%s\n' "$B64" >"$CERTS/leaf-sha256.b64"
rm -f "$CERTS/leaf-sha256.bin"

cat >"$CERTS/certs.env" <<EOF
GOMOQT_CA_PEM='$CERTS/ca.pem'
GOMOQT_CERT_PEM='$CERTS/leaf.pem'
GOMOQT_KEY_PEM='$CERTS/leaf-key.pem'
GOMOQT_WORKDIR='$WORK'
GOMOQT_CERT_SHA256_HEX='$HEX'
GOMOQT_CERT_SHA256_B64='$B64'
EOF

echo "certs: $CERTS ($( [[ $need_new == 1 ]] && echo new || echo reused ), leaf $(openssl x509 -in "$CERTS/leaf.pem" -noout -enddate))"
echo "leaf sha256 hex: $HEX"
echo "leaf sha256 b64: $B64"
