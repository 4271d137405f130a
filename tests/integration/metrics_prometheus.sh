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
base=$((35000 + ($$ % 800) * 6)) # 35000-39999
. "$(dirname "$0")/../common/pc_test.sh" # $tmp, $pids, fail
metrics=http://127.0.0.1:$((base + 2))/metrics

"$agg" --listen tcp://127.0.0.1:$base --rpc tcp://127.0.0.1:$((base + 1)) --metrics "$metrics" \
	--pid-metrics 'pidcast*' 2>"$tmp/agg.err" &
pids+=($!)
sleep 0.3
"$agent" --host promhost --interval 200ms --publish tcp://127.0.0.1:$((base + 3)) \
	--rpc tcp://127.0.0.1:$((base + 4)) --aggregator tcp://127.0.0.1:$base 2>"$tmp/agent.err" &
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
scrape_configs:
  - job_name: pidcast
    static_configs:
      - targets: ['127.0.0.1:$((base + 2))']
YML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--web.listen-address=127.0.0.1:$((base + 5)) >"$tmp/prom.log" 2>&1 &
pids+=($!)
api=http://127.0.0.1:$((base + 5))/api/v1/query
for _ in $(seq 150); do
	curl -sf "$api" --data-urlencode 'query=pidcast_host_up{host="promhost"}' >"$tmp/q" 2>/dev/null &&
		grep -q '"value":\[[0-9.]*,"1"\]' "$tmp/q" && break
	sleep 0.2
done
grep -q '"value":\[[0-9.]*,"1"\]' "$tmp/q" 2>/dev/null ||
	{ echo "FAIL: Prometheus has no pidcast_host_up for promhost"; tail -n 5 "$tmp/prom.log"; cat "$tmp/q"; exit 1; }
echo "prometheus query pidcast_host_up: $(cat "$tmp/q")"
curl -sf "$api" --data-urlencode 'query=pidcast_group_processes{host="promhost",group="pidcast-agent"}' >"$tmp/q2"
grep -q '"result":\[{' "$tmp/q2" || { echo "FAIL: no group series in Prometheus"; cat "$tmp/q2"; exit 1; }
echo "PASS"
