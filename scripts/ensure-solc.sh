#!/usr/bin/env bash
# Installs solc 0.8.19 (the npm `solc` package: solcjs, the compiler built to JavaScript, no
# download at run time) into ./.tools unless it is already there. snark-verifier generates
# Solidity pinned to `pragma solidity 0.8.19`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .tools/node_modules/.bin/solcjs ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is missing: install Node.js 18+ to get solc" >&2; exit 1; }
echo "installing solc@0.8.19 (solcjs) into .tools"
mkdir -p .tools
npm install --silent --no-audit --no-fund --prefix .tools solc@0.8.19
