#!/bin/sh
# vendor.sh: refresh web/dashboard/vendor/ from the npm registry.
#
# The dashboard draws its charts with a few d3 modules (ISC licence; why
# d3 and not a canvas library: docs/dashboard.md). The build never needs
# the network: it embeds the files committed in vendor/. This script is
# the only way they change:
#   1. `npm ci` installs exactly what package-lock.json names (npm checks
#      each tarball against the lockfile's sha512 `integrity`);
#   2. each module's UMD build dist/NAME.min.js is copied to vendor/, in
#      load order (a module after the ones it needs), with its LICENSE;
#   3. vendor/MANIFEST records, per file, the module, its version from the
#      lockfile, the lockfile's tarball integrity and the sha512 of the
#      copied file.
# tests/web/vendor_check.cmake checks the committed files against
# MANIFEST and package-lock.json on every test run.
#
# To change a version: edit package.json, run `npm install
# --package-lock-only --ignore-scripts` here, then this script, then
# rebuild and run the dashboard's tests.
set -eu
cd "$(dirname "$0")"
# Load order: each module after the modules it requires.
MODULES="internmap d3-array d3-color d3-interpolate d3-format d3-time d3-time-format d3-scale d3-selection d3-axis d3-path d3-shape"
npm ci --ignore-scripts --no-audit --no-fund >/dev/null
rm -f vendor/*.min.js vendor/*.LICENSE vendor/MANIFEST
{
  echo "# file module version lockfile-integrity sha512-of-file (written by vendor.sh; checked by tests/web/vendor_check.cmake)"
  for m in $MODULES; do
    cp "node_modules/$m/dist/$m.min.js" "vendor/$m.min.js"
    cp "node_modules/$m/LICENSE" "vendor/$m.LICENSE"
    node -e '
      const lock = require("./package-lock.json").packages["node_modules/" + process.argv[1]];
      const sha = require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[2])).digest("hex");
      console.log([process.argv[1] + ".min.js", process.argv[1], lock.version, lock.integrity, sha].join(" "));
    ' "$m" "vendor/$m.min.js"
  done
} > vendor/MANIFEST
rm -rf node_modules
echo "vendor.sh: $(grep -vc '^#' vendor/MANIFEST) files in vendor/; commit vendor/, package.json and package-lock.json"
