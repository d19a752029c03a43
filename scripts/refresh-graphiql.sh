#!/usr/bin/env bash
# Downloads again, with `npm pack`, every file of GraphiQL that hq-api serves, at the versions
# pinned in assets/graphiql/manifest.json, and checks it: each tarball's integrity (the registry's
# sha512) and each file's sha256 must equal the manifest's, or the script fails and leaves the
# served files untouched.
#
#   scripts/refresh-graphiql.sh            download, verify, write the files
#   scripts/refresh-graphiql.sh --update   after changing a version in the manifest: take the
#                                          registry's integrity and the new files' sha256 into it
#
# Needs Node and npm with access to the registry (or a mirror configured for npm).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=verify
case "${1:-}" in
  "") ;;
  --update) mode=update ;;
  *) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac
command -v npm >/dev/null || { echo "npm is needed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

node - "$mode" assets/graphiql "$work" <<'JS'
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const [mode, dir, work] = process.argv.slice(2);
const manifestPath = path.join(dir, 'manifest.json');
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const staged = [];
let failed = false;
const fail = (message) => { console.error(`MISMATCH ${message}`); failed = true; };

for (const pkg of manifest.packages) {
  const spec = `${pkg.name}@${pkg.version}`;
  const out = path.join(work, pkg.name);
  fs.mkdirSync(out, { recursive: true });
  const [packed] = JSON.parse(execFileSync(
    'npm', ['pack', spec, '--json', '--silent', '--pack-destination', out],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  ));
  if (packed.version !== pkg.version) fail(`${spec}: the registry gave ${packed.version}`);
  const tarball = path.join(out, packed.filename);
  const integrity = 'sha512-' + crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64');
  if (integrity !== packed.integrity) fail(`${spec}: tarball does not match the registry's integrity`);
  if (mode === 'update') pkg.integrity = integrity;
  else if (integrity !== pkg.integrity) fail(`${spec}: integrity ${integrity}, manifest ${pkg.integrity}`);
  execFileSync('tar', ['-xzf', tarball, '-C', out]);
  for (const file of pkg.files) {
    const source = path.join(out, 'package', file.from);
    const sha256 = crypto.createHash('sha256').update(fs.readFileSync(source)).digest('hex');
    if (mode === 'update') file.sha256 = sha256;
    else if (sha256 !== file.sha256) fail(`${spec} ${file.from}: sha256 ${sha256}, manifest ${file.sha256}`);
    staged.push([source, path.join(dir, file.to)]);
  }
  console.log(`ok ${spec} ${integrity}`);
}
if (failed) process.exit(1);
for (const [source, target] of staged) fs.copyFileSync(source, target);
if (mode === 'update') fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
console.log(`${staged.length} files written to ${dir}`);
JS
