#!/usr/bin/env bash
# What the cluster tier (test/cluster) needs beyond Node: Debian's PostgreSQL, the Temporal server v1.29.1 and its SQL
# tool (the server the CLI v1.5.1 embeds), and versitygw v1.8.0 (an S3 server that checks signatures). Go builds go
# into the user cache once (about 10 CPU-minutes for the server, 3 for versitygw); later runs reuse them.
set -euo pipefail
cache="$HOME/.cache/imagebatch"
server_version=1.29.1
versitygw_version=1.8.0

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
# The tier runs its own PostgreSQL from a temporary folder on a free port: Debian's main cluster is not used.

server="$cache/server-$server_version"
if [[ ! -x "$server/server" || ! -x "$server/sql" ]]; then
  echo "cluster tools: building the Temporal server $server_version and its SQL tool (minutes, once)"
  GOBIN="$server" go install "go.temporal.io/server/cmd/server@v$server_version" \
    "go.temporal.io/server/cmd/tools/sql@v$server_version"
fi
# The schema files the SQL tool applies, beside the binaries (the Go module cache may be cleaned later).
if [[ ! -d "$server/schema/postgresql/v12" ]]; then
  mkdir -p "$server/schema/postgresql"
  cp -r "$(go env GOMODCACHE)/go.temporal.io/server@v$server_version/schema/postgresql/v12" "$server/schema/postgresql/"
  chmod -R u+w "$server/schema"
fi

gw="$cache/versitygw-$versitygw_version"
if [[ ! -x "$gw/versitygw" ]]; then
  echo "cluster tools: building versitygw $versitygw_version (minutes, once)"
  GOBIN="$gw" go install "github.com/versity/versitygw/cmd/versitygw@v$versitygw_version"
fi
echo "cluster tools: $server, $gw"
