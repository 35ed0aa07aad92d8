#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/lib/ca.sh DIR: a throwaway PKI for the relay/provisioner tests, made
# with openssl in DIR (which must exist and be empty):
#   ca.crt            the hosts' CA (it also signs the server certificate)
#   server.crt/.key   CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   host1.crt/.key    SAN DNS:host1.ws.example.com (host2, host3 the same)
#   other.crt/.key    SAN DNS:host9.ws.example.com, signed by another CA
#   outside.crt/.key  SAN DNS:evil.example.org (outside *.ws.example.com)
#   expired.crt/.key  SAN DNS:host7.ws.example.com, valid 2020-2021 only
#   wild.crt/.key     SAN DNS:*.ws.example.com
#   revoked.crt/.key  SAN DNS:host8.ws.example.com
#   crl-empty.pem     the CA's CRL, revoking nothing
#   crl-revoked.pem   the CA's CRL, revoking revoked.crt
#   crl-stale.pem     the same, its nextUpdate in 2020 (out of date)
#   NAME.sha256       the SHA-256 fingerprint of NAME.crt's DER, hex
# Every key is mode 0600.  Exits non-zero (saying why) on any failure.
set -euo pipefail
dir=$1
cd "$dir"
umask 077

conf() { # conf NAME: the openssl ca config of the CA in NAME/
	cat >"$1/ca.cnf" <<CNF
[ca]
default_ca = ca_default
[ca_default]
dir = $dir/$1
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = policy_any
copy_extensions = copy
unique_subject = no
[policy_any]
commonName = supplied
[v3_host]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth, serverAuth
CNF
}

make_ca() { # make_ca NAME CN
	mkdir -p "$1"
	: >"$1/index.txt"
	echo 1000 >"$1/serial"
	echo 1000 >"$1/crlnumber"
	conf "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -sha256 \
		-subj "/CN=$2" -keyout "$1/ca.key" -out "$1/ca.crt" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# cert CA NAME CN SAN [openssl ca options...]
cert() {
	local ca=$1 name=$2 cn=$3 san=$4
	shift 4
	openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$cn" \
		-addext "subjectAltName=$san" -keyout "$name.key" \
		-out "$name.csr" 2>/dev/null
	openssl ca -batch -config "$ca/ca.cnf" -cert "$ca/ca.crt" \
		-keyfile "$ca/ca.key" -extensions v3_host -in "$name.csr" \
		-out "$name.crt" -notext "$@" 2>/dev/null
	rm -f "$name.csr"
	openssl x509 -in "$name.crt" -outform DER |
		openssl dgst -sha256 -hex | sed 's/.*= *//' >"$name.sha256"
}

make_ca ca "Test hosts CA"
make_ca otherca "Another CA"
cp ca/ca.crt ca.crt
cert ca server localhost "DNS:localhost,IP:127.0.0.1"
for h in host1 host2 host3; do
	cert ca "$h" "$h.ws.example.com" "DNS:$h.ws.example.com"
done
cert otherca other host9.ws.example.com DNS:host9.ws.example.com
cert ca outside evil.example.org DNS:evil.example.org
cert ca expired host7.ws.example.com DNS:host7.ws.example.com \
	-startdate 20200101000000Z -enddate 20210101000000Z
cert ca wild "*.ws.example.com" "DNS:*.ws.example.com"
cert ca revoked host8.ws.example.com DNS:host8.ws.example.com
openssl ca -batch -config ca/ca.cnf -cert ca/ca.crt -keyfile ca/ca.key \
	-gencrl -out crl-empty.pem 2>/dev/null
openssl ca -batch -config ca/ca.cnf -cert ca/ca.crt -keyfile ca/ca.key \
	-revoke revoked.crt 2>/dev/null
openssl ca -batch -config ca/ca.cnf -cert ca/ca.crt -keyfile ca/ca.key \
	-gencrl -out crl-revoked.pem 2>/dev/null
openssl ca -batch -config ca/ca.cnf -cert ca/ca.crt -keyfile ca/ca.key \
	-gencrl -crl_lastupdate 20200101000000Z \
	-crl_nextupdate 20200201000000Z -out crl-stale.pem 2>/dev/null
chmod 0644 ./*.crt ./*.pem
