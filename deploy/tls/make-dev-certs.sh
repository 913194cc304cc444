#!/bin/sh
# Dev-only certificates for docker-compose.tls.yml: a throw-away CA, and server
# certificates for the broker (host "rabbitmq") and PostgreSQL (hosts "db", "postgres"),
# each also valid for localhost / 127.0.0.1 so host-side tools can connect.
#
#   sh deploy/tls/make-dev-certs.sh [DIR]     # DIR defaults to $SUIVI_TLS_DIR or var/tls
#
# Never use these in production: the CA key sits next to them, and the server keys are
# world-readable so the broker's and PostgreSQL's users can read the bind-mounted files.
set -eu
dir=${1:-${SUIVI_TLS_DIR:-var/tls}}
days=${SUIVI_TLS_DAYS:-825}
mkdir -p "$dir"
cd "$dir"

openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days "$days" \
  -subj "/CN=Suivi dev CA" -keyout ca.key -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null

issue() {  # issue NAME SUBJECT_ALT_NAMES
  openssl req -new -nodes -newkey rsa:2048 -sha256 -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$2" \
    > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
    -sha256 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
  chmod 0644 "$1.key"
}

issue rabbitmq "DNS:rabbitmq,DNS:localhost,IP:127.0.0.1"
issue postgres "DNS:db,DNS:postgres,DNS:localhost,IP:127.0.0.1"
rm -f ca.srl
echo "dev certificates in $dir: ca.crt, rabbitmq.crt/.key, postgres.crt/.key"
