#!/usr/bin/env bash
# A Temporal server on PostgreSQL for the bench (bench/README.md, "A server on PostgreSQL"); runs until Ctrl-C.
#   bash bench/postgres-server.sh [history shards, default 4]
#   BENCH_TEMPORAL_ADDRESS=127.0.0.1:7233 node .tmp/bench/bench/profile-makespan.js 200 20 2000
# Needs root, Go and Debian's postgresql package. Each start drops and recreates the two databases. PostgreSQL runs
# without durability (fsync off), to compare like for like with the dev server's in-memory SQLite.
set -euo pipefail
shards="${1:-4}"
version=1.29.1 # the server the CLI v1.5.1 embeds
bin="$HOME/.cache/imagebatch/server-$version"
work="$(mktemp -d /tmp/ib-pg-server-XXXX)"
cli="$HOME/.cache/imagebatch/temporal"

if [[ ! -x "$bin/server" || ! -x "$bin/sql" ]]; then
  echo "building the Temporal server $version and its SQL tool (minutes, once)"
  GOBIN="$bin" go install "go.temporal.io/server/cmd/server@v$version" "go.temporal.io/server/cmd/tools/sql@v$version"
fi
schema="$(go env GOMODCACHE)/go.temporal.io/server@v$version/schema/postgresql/v12"

pgver="$(ls /usr/lib/postgresql | sort -n | tail -1)"
cat >"/etc/postgresql/$pgver/main/conf.d/imagebatch-bench.conf" <<'EOF'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 1GB
max_connections = 200
EOF
pg_ctlcluster "$pgver" main restart
su postgres -c "psql -q -v ON_ERROR_STOP=1 -c \"DROP DATABASE IF EXISTS temporal\" \
  -c \"DROP DATABASE IF EXISTS temporal_visibility\" -c \"DROP ROLE IF EXISTS temporal\" \
  -c \"CREATE ROLE temporal SUPERUSER LOGIN PASSWORD 'temporal'\""
export SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT=5432 SQL_USER=temporal SQL_PASSWORD=temporal
for db in temporal:temporal temporal_visibility:visibility; do
  "$bin/sql" --db "${db%%:*}" create-database >"$work/schema.log" 2>&1
  "$bin/sql" --db "${db%%:*}" setup-schema -v 0.0 >>"$work/schema.log" 2>&1
  "$bin/sql" --db "${db%%:*}" update-schema -d "$schema/${db##*:}/versioned" >>"$work/schema.log" 2>&1
done

mkdir -p "$work/config"
cat >"$work/config/development.yaml" <<EOF
log: { stdout: true, level: warn }
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: $shards
  datastores:
    default:
      sql: { pluginName: postgres12, databaseName: temporal, connectAddr: "127.0.0.1:5432", connectProtocol: tcp,
             user: temporal, password: temporal, maxConns: 20, maxIdleConns: 20, maxConnLifetime: 1h }
    visibility:
      sql: { pluginName: postgres12, databaseName: temporal_visibility, connectAddr: "127.0.0.1:5432",
             connectProtocol: tcp, user: temporal, password: temporal, maxConns: 2, maxIdleConns: 2,
             maxConnLifetime: 1h }
global:
  membership: { maxJoinDuration: 30s, broadcastAddress: "127.0.0.1" }
services:
  frontend: { rpc: { grpcPort: 7233, membershipPort: 6933, bindOnLocalHost: true, httpPort: 7243 } }
  matching: { rpc: { grpcPort: 7235, membershipPort: 6935, bindOnLocalHost: true } }
  history: { rpc: { grpcPort: 7234, membershipPort: 6934, bindOnLocalHost: true } }
  worker: { rpc: { grpcPort: 7239, membershipPort: 6939, bindOnLocalHost: true } }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active: { enabled: true, initialFailoverVersion: 1, rpcName: frontend, rpcAddress: "localhost:7233" }
dcRedirectionPolicy: { policy: noop }
dynamicConfigClient: { filepath: "$work/config/dynamic.yaml", pollInterval: 10s }
EOF
# What `temporal server start-dev` sets, and the bench's eager activities.
cat >"$work/config/dynamic.yaml" <<'EOF'
system.enableActivityEagerExecution: [{ value: true }]
history.hostLevelCacheMaxSize: [{ value: 8096 }]
frontend.namespaceRPS.visibility: [{ value: 100 }]
system.forceSearchAttributesCacheRefreshOnRead: [{ value: true }]
EOF

"$bin/server" --root "$work" --config config --env development start &
server=$!
trap 'kill $server 2>/dev/null' EXIT
until "$cli" operator namespace create --address 127.0.0.1:7233 -n default --retention 24h >/dev/null 2>&1; do
  kill -0 $server
  sleep 1
done
echo "server on 127.0.0.1:7233 ($shards history shards), namespace default; Ctrl-C stops it"
wait $server
