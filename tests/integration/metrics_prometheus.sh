#!/usr/bin/env bash
# The aggregator's /metrics page: promtool accepts it, and a real Prometheus
# server (Debian's package, started here on loopback with a data folder of
# its own) scrapes it and answers queries about the agent's host.
# usage: metrics_prometheus.sh AGENT AGGREGATOR
set -u
agent=$1 agg=$2
for tool in curl promtool prometheus; do
	command -v "$tool" >/dev/null || { echo "FAIL: $tool is missing (scripts/deps.sh installs it)"; exit 1; }
done
. "$(dirname "$0")/../common/pc_test.sh" # $tmp, $pids, fail, pc_bound

# Port 0 everywhere: each listener takes a free port and says which.
"$agg" --history none --listen tcp://127.0.0.1:0 --rpc "ipc://$tmp/agg.rpc" --metrics http://127.0.0.1:0/metrics \
	--publish tcp://127.0.0.1:0 --pid-metrics 'pidcast*' --bound-file "$tmp/agg.bound" 2>"$tmp/agg.err" &
pids+=($!)
listen=$(pc_bound "$tmp/agg.bound" listen) || fail "the aggregator did not start"
metrics=$(pc_bound "$tmp/agg.bound" metrics)
"$agent" --host promhost --interval 200ms --publish "ipc://$tmp/agent.pub" \
	--rpc "ipc://$tmp/agent.rpc" --aggregator "$listen" 2>"$tmp/agent.err" &
pids+=($!)

for _ in $(seq 50); do
	curl -sf "$metrics" >"$tmp/page" && grep -q 'pidcast_host_up{host="promhost"} 1' "$tmp/page" && break
	sleep 0.1
done
grep -q 'pidcast_host_up{host="promhost"} 1' "$tmp/page" || { echo "FAIL: host not up on the page"; cat "$tmp"/*.err; exit 1; }
grep -q '^pidcast_group_cpu_seconds_total{host="promhost",group="pidcast-agent",mode="user"}' "$tmp/page" ||
	{ echo "FAIL: no group CPU counter for pidcast-agent"; exit 1; }
grep -q '^pidcast_process_rss_bytes{host="promhost",pid="[0-9]*",name="pidcast-agent"}' "$tmp/page" ||
	{ echo "FAIL: no per-PID series for the included name"; exit 1; }
echo "page: $(wc -l <"$tmp/page") lines"
promtool check metrics <"$tmp/page" || { echo "FAIL: promtool check metrics"; exit 1; }
echo "promtool check metrics: ok"

cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pidcast
    static_configs:
      - targets: ['127.0.0.1:$(pc_port "$metrics")']
YML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--web.listen-address=127.0.0.1:0 >"$tmp/prom.log" 2>&1 &
pids+=($!)
# Prometheus logs the address it took: 'msg="Listening on" address=127.0.0.1:PORT'.
for _ in $(seq 300); do
	prom=$(sed -nE 's/.*msg="Listening on" address=(127\.0\.0\.1:[0-9]+).*/\1/p' "$tmp/prom.log")
	[ -n "$prom" ] && break
	sleep 0.05
done
[ -n "$prom" ] || { echo "FAIL: Prometheus did not say where it listens"; tail -n 5 "$tmp/prom.log"; exit 1; }
api=http://$prom/api/v1/query
# A scrape a second; on a loaded machine the first ones may time out
# (Prometheus bounds a scrape by its interval), so wait up to a minute.
for _ in $(seq 300); do
	curl -sf "$api" --data-urlencode 'query=pidcast_host_up{host="promhost"}' >"$tmp/q" 2>/dev/null &&
		grep -q '"value":\[[0-9.]*,"1"\]' "$tmp/q" && break
	sleep 0.2
done
grep -q '"value":\[[0-9.]*,"1"\]' "$tmp/q" 2>/dev/null || {
	echo "FAIL: Prometheus has no pidcast_host_up for promhost"
	tail -n 5 "$tmp/prom.log"
	cat "$tmp/q"
	echo "targets: $(curl -s "http://$prom/api/v1/targets")"
	exit 1
}
echo "prometheus query pidcast_host_up: $(cat "$tmp/q")"
curl -sf "$api" --data-urlencode 'query=pidcast_group_processes{host="promhost",group="pidcast-agent"}' >"$tmp/q2"
grep -q '"result":\[{' "$tmp/q2" || { echo "FAIL: no group series in Prometheus"; cat "$tmp/q2"; exit 1; }
echo "PASS"
