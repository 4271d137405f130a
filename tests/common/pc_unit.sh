# pc_unit.sh: checks of a systemd unit and of its ExecStart run the unit's
# way, sourced after pc_test.sh (they write in $tmp) by the tests of
# dist/*.service: systemd-analyze's verdicts, setpriv standing in for
# systemd (not PID 1 on the test machines), and a strace log of the
# sandboxed run held against the unit's SystemCallFilter,
# RestrictAddressFamilies and other sandbox options. A check prints one
# line, or FAIL and exits.

# pc_unit_key UNIT NAME: the values of UNIT's NAME= lines, space-separated.
pc_unit_key() {
	sed -n "s/^$2=//p" "$1" | tr '\n' ' ' | sed 's/ *$//'
}

# pc_unit_copy UNIT BINARY OUT: UNIT as installed names the installed
# binary; OUT names BINARY (the built one) instead.
pc_unit_copy() {
	local installed
	installed=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$1")
	[ -n "$installed" ] || { echo "FAIL: no ExecStart in $1"; exit 1; }
	sed "s|^ExecStart=$installed|ExecStart=$(realpath "$2")|" "$1" >"$3"
}

# pc_unit_analyze UNIT MAX: systemd-analyze verify is silent (a good unit)
# and security rates UNIT's exposure at MAX or less.
pc_unit_analyze() {
	local score
	if ! systemd-analyze verify "$1" >"$tmp/verify" 2>&1 || [ -s "$tmp/verify" ]; then
		echo "FAIL: systemd-analyze verify:"
		cat "$tmp/verify"
		exit 1
	fi
	echo "systemd-analyze verify: clean"
	systemd-analyze security --offline=true "$1" >"$tmp/security" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/security")
	[ -n "$score" ] || { echo "FAIL: no exposure level"; cat "$tmp/security"; exit 1; }
	echo "systemd-analyze security: exposure $score (0 safest, 10 unprotected)"
	awk -v s="$score" -v m="$2" 'BEGIN { exit !(s <= m) }' || { echo "FAIL: exposure $score over $2"; exit 1; }
}

# pc_unit_caps "CAP_A CAP_B": setpriv's "+a,+b".
pc_unit_caps() {
	local out="" c
	for c in $1; do out+=",+$(tr '[:upper:]' '[:lower:]' <<<"${c#CAP_}")"; done
	echo "${out#,}"
}

# pc_unit_box UNIT: the setpriv command lines standing in for UNIT's
# sandbox, in arrays: boxed, the unit's user (DynamicUser is a user with
# no rights of its own: nobody stands in for it), no-new-privileges,
# bounding set and ambient capabilities; nocaps, the same user with no
# capabilities at all; box, what the two share.
pc_unit_box() {
	local ambient bounding
	[ "$(pc_unit_key "$1" DynamicUser)" = yes ] || { echo "FAIL: the unit does not set DynamicUser=yes"; exit 1; }
	ambient=$(pc_unit_caps "$(pc_unit_key "$1" AmbientCapabilities)")
	bounding=$(pc_unit_caps "$(pc_unit_key "$1" CapabilityBoundingSet)")
	box=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	[ "$(pc_unit_key "$1" NoNewPrivileges)" = yes ] && box+=(--no-new-privs)
	boxed=("${box[@]}" --bounding-set="-all${bounding:+,$bounding}")
	if [ -n "$ambient" ]; then
		boxed+=(--inh-caps="-all,$ambient" --ambient-caps="-all,$ambient")
	else
		boxed+=(--inh-caps=-all)
	fi
	nocaps=("${box[@]}" --bounding-set=-all --inh-caps=-all)
}

# pc_unit_exec UNIT: UNIT's command line in the array cmd, split as
# systemd does for plain words.
pc_unit_exec() {
	read -r -a cmd <<<"$(pc_unit_key "$1" ExecStart)"
}

# pc_unit_port0 WORD...: the words in the array run, each loopback URL's
# port 0 (the OS picks a free one; --bound-file tells which) instead of
# the unit's fixed one, which a test must not take.
pc_unit_port0() {
	local w
	run=()
	for w in "$@"; do
		run+=("$(sed -E 's#^((tcp|tls\+tcp|http|https)://127\.0\.0\.1):[0-9]+#\1:0#' <<<"$w")")
	done
}

# pc_unit_expand GROUP...: the system calls of systemd's @groups, recursively.
pc_unit_expand() {
	local w
	for w in "$@"; do
		case "$w" in
		@*) pc_unit_expand $(systemd-analyze syscall-filter "$w" | sed -n '2,$p' | grep -v '^ *#') ;;
		*) echo "$w" ;;
		esac
	done
}

# pc_unit_calls UNIT LOG: every system call in strace's LOG (of a run of
# UNIT's ExecStart, strace -f -qq) is one UNIT's SystemCallFilter lines
# allow, merged in order as systemd does: a plain line adds its calls to
# the allowed set, a ~ line removes them.
pc_unit_calls() {
	local line used bad w
	: >"$tmp/allowed"
	while read -r line; do
		case "$line" in
		~*)
			read -r -a w <<<"${line#\~}"
			pc_unit_expand "${w[@]}" | sort -u >"$tmp/deny"
			comm -23 "$tmp/allowed" "$tmp/deny" >"$tmp/next"
			;;
		*)
			read -r -a w <<<"$line"
			pc_unit_expand "${w[@]}" | sort -u | sort -u - "$tmp/allowed" >"$tmp/next"
			;;
		esac
		mv "$tmp/next" "$tmp/allowed"
	done < <(sed -n 's/^SystemCallFilter=//p' "$1")
	# strace lines: "PID name(args) = ret"; resumed and signal lines have no name(.
	sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$2" | sort -u >"$tmp/used"
	# The one execve is strace starting the program, before any filter applies.
	used=$(grep -vx execve "$tmp/used")
	bad=$(comm -23 <(echo "$used") "$tmp/allowed")
	[ -z "$bad" ] || { echo "FAIL: system calls the unit's filter refuses: $(echo $bad)"; exit 1; }
	echo "system calls used, all allowed by SystemCallFilter: $(echo "$used" | wc -l)"
}

# pc_unit_families UNIT LOG: every socket LOG's run made is of a family in
# UNIT's RestrictAddressFamilies.
pc_unit_families() {
	local families f
	families=$(sed -nE 's/^[0-9]+ +socket\((AF_[A-Z0-9]+),.*/\1/p' "$2" | sort -u)
	for f in $families; do
		grep -qw "$f" <<<"$(pc_unit_key "$1" RestrictAddressFamilies)" ||
			{ echo "FAIL: socket family $f outside RestrictAddressFamilies"; exit 1; }
	done
	echo "socket families used: $(echo $families) (all allowed)"
}

# pc_unit_wx LOG: no mapping LOG's run made is writable and executable,
# and none was made executable later: what MemoryDenyWriteExecute=yes
# refuses (mmap with both, mprotect adding PROT_EXEC).
pc_unit_wx() {
	local bad
	bad=$(grep -E '^[0-9]+ +(mmap\([^,]+, [^,]+, [A-Z_|]*PROT_WRITE[A-Z_|]*PROT_EXEC|(pkey_)?mprotect\([^,]+, [^,]+, [A-Z_|]*PROT_EXEC)' "$1")
	[ -z "$bad" ] || { echo "FAIL: what MemoryDenyWriteExecute refuses: $(head -n 3 <<<"$bad")"; exit 1; }
	echo "no writable and executable memory (MemoryDenyWriteExecute)"
}

# pc_unit_proc LOG: the only /proc paths LOG's run named are its own
# process's (self, thread-self, or one of its threads' IDs, the PIDs of
# LOG): what ProtectProc=invisible and ProcSubset=pid leave.
pc_unit_proc() {
	local tids bad p id
	tids=" $(awk '{ print $1 }' "$1" | sort -u | tr '\n' ' ') "
	bad=""
	while read -r p; do
		id=${p#/proc}
		id=${id#/}
		id=${id%%/*}
		case "$id" in
		"" | self | thread-self) ;; # /proc itself lists only PIDs
		*) [[ $tids == *" $id "* ]] || bad+=" $p" ;;
		esac
	done < <(sed -nE 's/^[0-9]+ +(open|openat|openat2|newfstatat|statx|stat|lstat|access|faccessat|faccessat2|readlink|readlinkat)\((AT_FDCWD, )?"(\/proc(\/[^"]*)?)".*/\3/p' "$1" | sort -u)
	[ -z "$bad" ] || { echo "FAIL: /proc paths beyond its own (ProtectProc=invisible, ProcSubset=pid):$bad"; exit 1; }
	echo "/proc: only its own process's files"
}

# pc_unit_devices LOG: the only device files LOG's run named are ones a
# PrivateDevices=yes /dev holds (null, zero, full, random, urandom, tty,
# the pty and shared memory folders).
pc_unit_devices() {
	local bad
	bad=$(grep -oE '^[0-9]+ +(open|openat|openat2|newfstatat|statx|stat|lstat|access|faccessat2?)\((AT_FDCWD, )?"/dev/[^"]*"' "$1" |
		sed -E 's/.*"(\/dev\/[^"]*)"/\1/' | sort -u |
		grep -vE '^/dev/(null|zero|full|random|urandom|tty|ptmx|pts(/.*)?|shm(/.*)?|mqueue(/.*)?|log|stdin|stdout|stderr|fd(/.*)?)$')
	[ -z "$bad" ] || { echo "FAIL: devices PrivateDevices hides: $(echo $bad)"; exit 1; }
	echo "devices: only those PrivateDevices leaves"
}

# pc_unit_written LOG: what LOG's run wrote, one "CALL PATH" a line: the
# paths it opened for writing or made, renamed, linked or removed. A path
# relative to a directory fd, which the log does not resolve, is "?PATH".
pc_unit_written() {
	local re_path='(AT_FDCWD, |[0-9]+, )?"[^"]*"'
	grep -E '^[0-9]+ +(open|openat|openat2|creat|mkdir|mkdirat|unlink|unlinkat|rmdir|rename|renameat|renameat2|link|linkat|symlink|symlinkat|truncate|mknod|mknodat|chmod|fchmodat|chown|fchownat)\(' "$1" |
		awk '!/^[0-9]+ +open(at|at2)?\(/ || /O_(WRONLY|RDWR|CREAT|TRUNC)/' |
		while read -r _ line; do
			call=${line%%(*}
			args=${line#*(}
			# the path arguments: the first, and for rename and link the second
			n=1
			case "$call" in rename* | link* | symlink*) n=2 ;; esac
			grep -oE "$re_path" <<<"$args" | head -n "$n" | while read -r a; do
				case "$a" in
				AT_FDCWD,* | \"*) a=${a#AT_FDCWD, } ;;
				*) a="?${a#*, }" ;;
				esac
				a=${a//\"/}
				echo "$call $a"
			done
		done | sort -u
}

# pc_unit_writes LOG DIR...: every path pc_unit_written finds is under one
# of DIR (what ProtectSystem=strict leaves writable: the unit's state
# directory, a test's own) or in /proc or /dev (API file systems, which
# strict leaves to the other options). A mkdir of one of DIR's parents is
# let be: they exist, so it fails with EEXIST even on a read-only file
# system.
pc_unit_writes() {
	local log=$1 bad="" call p d
	shift
	while read -r call p; do
		case "$p" in
		/proc/* | /dev/*) continue ;;
		esac
		for d in "$@"; do
			case "$p" in
			"$d" | "$d"/*) continue 2 ;;
			esac
			case "$call $d/" in
			"mkdir $p"/* | "mkdirat $p"/*) continue 2 ;;
			esac
		done
		bad+=" $call:$p"
	done < <(pc_unit_written "$log")
	[ -z "$bad" ] || { echo "FAIL: writes outside $* (ProtectSystem=strict):$bad"; exit 1; }
	echo "files written: only under $*"
}
