#!/usr/bin/env bash
# Makes the example PKI in this folder: a CA (ECDSA P-256), gateway 1's certificate (ECDSA P-256,
# subjectAltName DNS:gw1.example.net), gateway 2's (RSA 2048, DNS:gw2.example.net, and an ECDSA
# P-256 one, gw2-ecdsa; gw1-p384, ECDSA P-384, for gateway 1), and an
# impostor for gw2.example.net signed by another CA. Valid for 100 years. For demonstrations and
# tests only: the private keys are public. Run it here to make new ones.
set -euo pipefail
cd "$(dirname "$0")"
ca() {  # name subject
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null
  openssl req -x509 -new -key "$1.key" -sha256 -days 36500 -subj "$2" -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
leaf() {  # name rsa|ec|ec384 host ca
  if [[ $2 == rsa ]]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
  elif [[ $2 == ec384 ]]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$1.key" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
  fi
  openssl req -new -key "$1.key" -subj "/C=XX/O=Rampart Example/CN=$3" -out "$1.csr"
  printf 'subjectAltName=DNS:%s\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial -days 36500 -sha256 -extfile "$1.ext" \
    -out "$1.pem" 2>/dev/null
  rm "$1.csr" "$1.ext"
}
ca ca "/C=XX/O=Rampart Example/CN=Rampart Example CA"
leaf gw1 ec gw1.example.net ca
leaf gw2 rsa gw2.example.net ca
leaf gw2-ecdsa ec gw2.example.net ca
leaf gw1-p384 ec384 gw1.example.net ca  # signs with SHA-384 (RFC 8247 2.4)
ca other-ca "/C=XX/O=Someone Else/CN=Another CA"
leaf impostor ec gw2.example.net other-ca
rm -f ./*.srl other-ca.key
