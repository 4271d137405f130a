# pc_certs.sh: sourced by the TLS tests; makes their certificates with
# openssl in the current folder. ca signs server, aggsrv and client; rogue
# is another CA, with a client certificate of its own, intruder. Every one
# serves both ends (no extendedKeyUsage): an agent shows its certificate to
# its subscribers and to the aggregator it dials.
# Mbed TLS 2 matches a server name against DNS entries only, so the
# address that clients dial, 127.0.0.1, is one too.
pc_make_certs() {
	local n
	pc_newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null; }
	pc_mkca() { # NAME
		pc_newkey "$1"
		openssl req -x509 -new -key "$1.key" -subj "/CN=$1" -days 2 -out "$1.crt" 2>/dev/null
	}
	pc_mkcert() { # NAME CA SUBJECT-ALT-NAMES
		pc_newkey "$1"
		openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
		printf 'subjectAltName=%s\n' "$3" >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 \
			-extfile "$1.ext" -out "$1.crt" 2>/dev/null
	}
	command -v openssl >/dev/null || { echo "openssl is missing (scripts/deps.sh installs it)"; return 1; }
	pc_mkca ca
	pc_mkca rogue
	pc_mkcert server ca "DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1"
	pc_mkcert aggsrv ca "DNS:localhost,DNS:127.0.0.1,IP:127.0.0.1"
	pc_mkcert client ca "DNS:client"
	pc_mkcert intruder rogue "DNS:intruder"
	for n in ca rogue server aggsrv client intruder; do
		[ -s "$n.crt" ] && [ -s "$n.key" ] || { echo "openssl made no $n.crt"; return 1; }
	done
	openssl verify -CAfile ca.crt client.crt server.crt >/dev/null || { echo "openssl: certificates do not verify"; return 1; }
}
