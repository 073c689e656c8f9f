#!/usr/bin/env bash
# The whole test suite on one Node.js major version: npm run test:node -- 24
# (20 is this machine's node; 22, 24, 26 are fetched once into a cache by .ci/node.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?usage: npm run test:node -- MAJOR   (20, 22, 24 or 26)}
bin=$(bash .ci/node.sh "$major")
npm run build --silent
PATH="$bin:$PATH" exec npm run test:run --silent
