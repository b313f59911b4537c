#!/bin/sh
# Installs the packed tokenmeter tarball into DIR with its production dependencies only, at the versions
# package-lock.json pins (the versions the tests ran), rather than `npm install TARBALL`, which would
# resolve them afresh. The Dockerfile's runtime stage runs it; so does test/package/image.test.ts, with
# --offline (from the npm cache), so that the test runs what the image holds.
#   sh deploy/install-package.sh TARBALL LOCKFILE DIR [npm ci options...]
set -eu
tarball=$1
lockfile=$2
dir=$3
shift 3
mkdir -p "$dir"
tar -xzf "$tarball" -C "$dir" --strip-components=1
cp "$lockfile" "$dir/package-lock.json"
cd "$dir"
# --ignore-scripts: the package's own `prepare` compiles with TypeScript, a dev dependency, and dist/ is
# already in the tarball; no production dependency has an install script (the test checks).
npm ci --omit=dev --ignore-scripts --no-audit --no-fund "$@"
