#!/usr/bin/env bash
# Rebuilds vendor/sqlx-core: the published sqlx-core 0.9.0 (checksum below) with
# vendor/sqlx-core-nodelay.patch applied (TCP_NODELAY on TCP sockets, upstream
# transact-rs/sqlx#4336). Run from the repository root.
set -euo pipefail
version=0.9.0
sha256=05b44e85bf579a8eeb4ceaa77a3a523baf2bf0e9bac7e40f405d537b5d2d5ccb
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsSL -o "$work/sqlx-core.crate" "https://static.crates.io/crates/sqlx-core/sqlx-core-$version.crate"
echo "$sha256  $work/sqlx-core.crate" | sha256sum -c --quiet
tar -xzf "$work/sqlx-core.crate" -C "$work"
rm -rf vendor/sqlx-core
mv "$work/sqlx-core-$version" vendor/sqlx-core
rm -f vendor/sqlx-core/Cargo.lock
patch -d vendor/sqlx-core -p1 < vendor/sqlx-core-nodelay.patch
patch -d vendor/sqlx-core -p1 < vendor/sqlx-core-release-ping.patch
echo "vendor/sqlx-core: sqlx-core $version with the TCP_NODELAY and release-ping patches"
