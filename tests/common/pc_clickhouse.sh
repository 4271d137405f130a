# pc_clickhouse.sh: a private ClickHouse server (Debian's clickhouse-server)
# for one shell test. Sourced after pc_test.sh:
#   pc_ch_init DIR    a server's folder (data, tmp, logs, config.xml,
#                     users.xml) and two reserved ports: $ch_dir, $ch_http,
#                     $ch_tcp (listening on 127.0.0.1 only)
#   pc_ch_start       starts it in the background and waits for GET /ping
#   pc_ch_stop        SIGTERM, then SIGKILL after PC_CH_STOP_S (20) seconds
#   pc_ch_kill        SIGKILL (a crash); pc_ch_start then starts it again on
#                     the same ports, so that a client keeps its URL
#   pc_ch_pause       SIGSTOP (a server that hangs), pc_ch_resume SIGCONT
# Each takes DIR as its first argument, $ch_dir by default. The server's PID
# is in DIR/pid; it is stopped at exit with the test's other processes.
# Executed, this file does the same for a folder made so by a test, which
# C tests call (through an environment variable the shell test sets):
#   bash pc_clickhouse.sh DIR start|stop|kill|pause|resume
#
# Ports: a server started again must bind the ports of its first start, so
# port 0 will not do (tests/README.md). They are picked at random below the
# ephemeral range (ip_local_port_range), where no outgoing connection takes
# one, and reserved for the test's life with flock on a file per port in
# $pc_ch_locks (1777, shared by every suite and clone): the lock is held on
# a file descriptor of the test's shell, released when it exits however it
# ends, and a port is taken only if no TCP socket uses it once locked.

# shellcheck shell=bash
pc_ch_locks=/tmp/pidcast-test-ports
pc_ch_fds=() # the port locks this shell holds
pc_ch_dirs=() # the servers this shell made, stopped at exit
PC_CH_START_S=${PC_CH_START_S:-60}
PC_CH_STOP_S=${PC_CH_STOP_S:-20}

# pc_ch_reserve VAR: a free port, locked for this shell's life, into VAR
# (not through $(...), whose subshell would take the lock with it).
pc_ch_reserve() {
	local lo p f fd
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 11024 ] || return 1
	[ -d "$pc_ch_locks" ] || mkdir -m 1777 -p "$pc_ch_locks" 2>/dev/null || [ -d "$pc_ch_locks" ] || return 1
	for _ in $(seq 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
		f=$pc_ch_locks/$p.lock
		# Another user's file is opened for reading, which flock needs only.
		[ -e "$f" ] || (umask 0 && : >>"$f") 2>/dev/null
		[ -r "$f" ] || continue
		exec {fd}<"$f" || continue
		if flock -n "$fd" && [ -z "$(ss -Htan "sport = :$p")" ]; then
			pc_ch_fds+=("$fd")
			printf -v "$1" %s "$p"
			return 0
		fi
		exec {fd}<&-
	done
	return 1
}

pc_ch_init() {
	local dir=$1 http tcp
	mkdir -p "$dir/data" "$dir/tmp" "$dir/log" || return 1
	pc_ch_reserve http && pc_ch_reserve tcp || return 1
	echo "$http $tcp" >"$dir/ports"
	ch_dir=$dir ch_http=$http ch_tcp=$tcp
	pc_ch_dirs+=("$dir")
	# No interserver port (nothing replicates), caches small: a test's
	# tables are a few rows.
	cat >"$dir/config.xml" <<-EOF
		<?xml version="1.0"?>
		<yandex>
		  <logger>
		    <level>warning</level>
		    <log>$dir/log/server.log</log>
		    <errorlog>$dir/log/server.err.log</errorlog>
		    <size>10M</size>
		    <count>1</count>
		  </logger>
		  <listen_host>127.0.0.1</listen_host>
		  <http_port>$http</http_port>
		  <tcp_port>$tcp</tcp_port>
		  <path>$dir/data/</path>
		  <tmp_path>$dir/tmp/</tmp_path>
		  <user_files_path>$dir/data/user_files/</user_files_path>
		  <format_schema_path>$dir/data/format_schemas/</format_schema_path>
		  <users_config>$dir/users.xml</users_config>
		  <default_profile>default</default_profile>
		  <default_database>default</default_database>
		  <timezone>UTC</timezone>
		  <mark_cache_size>16777216</mark_cache_size>
		  <uncompressed_cache_size>16777216</uncompressed_cache_size>
		  <max_concurrent_queries>16</max_concurrent_queries>
		  <mlock_executable>false</mlock_executable>
		</yandex>
	EOF
	cat >"$dir/users.xml" <<-EOF
		<?xml version="1.0"?>
		<yandex>
		  <profiles><default></default></profiles>
		  <users>
		    <default>
		      <password></password>
		      <networks><ip>127.0.0.1</ip></networks>
		      <profile>default</profile>
		      <quota>default</quota>
		    </default>
		  </users>
		  <quotas><default></default></quotas>
		</yandex>
	EOF
}

# pc_ch_alive PID DIR: PID is DIR's server, running (not a zombie, whose
# command line is empty; not another process that took a reused PID).
pc_ch_alive() {
	[ -n "$1" ] && tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF -- "--config-file=$2/config.xml"
}

pc_ch_start() {
	local dir=${1:-$ch_dir} http pid
	read -r http _ <"$dir/ports" || return 1
	# Its own process, its output in files (a test's pipe held open by the
	# server would keep CTest waiting), without the port locks (which are
	# the test's to release).
	(
		for fd in "${pc_ch_fds[@]}"; do exec {fd}<&-; done
		exec clickhouse-server --config-file="$dir/config.xml" </dev/null >>"$dir/log/stdout" 2>&1
	) &
	pid=$!
	disown "$pid" # its end is no job of the shell's to report
	echo "$pid" >"$dir/pid"
	for _ in $(seq $((PC_CH_START_S * 10))); do
		[ "$(curl -s -m 2 "http://127.0.0.1:$http/ping" 2>/dev/null)" = "Ok." ] && return 0
		pc_ch_running "$pid" || break
		sleep 0.1
	done
	echo "clickhouse-server in $dir did not answer /ping on port $http:" >&2
	tail -n 5 "$dir/log/server.err.log" "$dir/log/stdout" >&2 2>/dev/null
	pc_ch_kill "$dir"
	return 1
}

# pc_ch_running PID: PID is there and not a zombie (the state follows the
# name in parentheses, which may hold spaces).
pc_ch_running() {
	local st
	st=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null)
	st=${st%% *}
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pc_ch_gone PID DIR: PID has ended and its ports are closed. (Its command
# line goes before its files do, and its first thread can be a zombie
# while others still hold the sockets: the ports are what a client sees.)
pc_ch_gone() {
	local http tcp
	read -r http tcp <"$2/ports"
	! pc_ch_running "$1" && [ -z "$(ss -Hltn "( sport = :$http or sport = :$tcp )")" ]
}

# pc_ch_signal DIR SIGNAL SECONDS: signals the server, waits for it to end.
pc_ch_signal() {
	local pid
	pid=$(cat "$1/pid" 2>/dev/null)
	pc_ch_alive "$pid" "$1" || return 0
	kill "-$2" "$pid" 2>/dev/null
	kill -CONT "$pid" 2>/dev/null # a paused one too
	for _ in $(seq $(($3 * 10))); do
		pc_ch_gone "$pid" "$1" && return 0
		sleep 0.1
	done
	return 1
}

pc_ch_stop() {
	local dir=${1:-$ch_dir}
	pc_ch_signal "$dir" TERM "$PC_CH_STOP_S" && return 0
	echo "clickhouse-server in $dir still running $PC_CH_STOP_S s after SIGTERM: killed" >&2
	pc_ch_signal "$dir" KILL 10
	return 1
}

pc_ch_kill() {
	pc_ch_signal "${1:-$ch_dir}" KILL 10
}

# pc_ch_pause, pc_ch_resume: SIGSTOP and SIGCONT, a server that hangs (the
# kernel still accepts connections; nothing answers them).
pc_ch_pause() {
	local pid st
	pid=$(cat "${1:-$ch_dir}/pid" 2>/dev/null)
	pc_ch_alive "$pid" "${1:-$ch_dir}" && kill -STOP "$pid" || return 1
	# Each thread stops on its way back to user space: waited for, so
	# that nothing answers once this returns.
	for _ in $(seq 100); do
		st=$(cat /proc/"$pid"/task/*/stat 2>/dev/null | sed 's/.*) //' |
			awk '$1 != "T" { n++ } END { print n + 0 }')
		[ "$st" = 0 ] && return 0
		sleep 0.1
	done
	echo "clickhouse-server $pid: $st threads not stopped 10 s after SIGSTOP" >&2
	return 1
}

pc_ch_resume() {
	local pid
	pid=$(cat "${1:-$ch_dir}/pid" 2>/dev/null)
	pc_ch_alive "$pid" "${1:-$ch_dir}" && kill -CONT "$pid"
}

pc_ch_cleanup() {
	local d fd
	for d in "${pc_ch_dirs[@]}"; do pc_ch_stop "$d" 2>/dev/null; done
	for fd in "${pc_ch_fds[@]}"; do exec {fd}<&-; done
	pc_ch_fds=()
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case "${2:-}" in
	start | stop | kill | pause | resume) "pc_ch_$2" "$1" ;;
	*)
		echo "usage: pc_clickhouse.sh DIR start|stop|kill|pause|resume" >&2
		exit 2
		;;
	esac
	exit
fi
if declare -F pc_test_cleanup >/dev/null; then
	trap 'pc_ch_cleanup; pc_test_cleanup' EXIT
fi
