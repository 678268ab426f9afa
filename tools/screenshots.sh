#!/usr/bin/env bash
# Regenerates the README's screenshots (docs/screenshots/*.png) with the application itself:
#   quantscope --screenshot OUT.png --view NAME
# on the embedded demo model (calibrate → analyze → evaluate, the layer where the error grows most
# selected), rendered offscreen, so no display is needed. Run from the repository root after building:
#   tools/screenshots.sh [BUILD_DIR]        (default: build)
set -euo pipefail
build=${1:-build}
app="$build/app/quantscope"
out=docs/screenshots
[ -x "$app" ] || { echo "$app not found: build first (make build)" >&2; exit 1; }
mkdir -p "$out"
export QT_QPA_PLATFORM=offscreen
# Screenshots are documentation: English, and settings of this run only.
export XDG_CONFIG_HOME="$(mktemp -d)"
trap 'rm -rf "$XDG_CONFIG_HOME"' EXIT
for view in window distributions channels collapse results data; do
  "$app" --lang en --screenshot "$out/$view.png" --view "$view"
done
# Views of capabilities that run on demand.
"$app" --lang en --screenshot "$out/sensitivity.png" --view sensitivity --run sensitivity
"$app" --lang en --screenshot "$out/mixed.png" --view mixed --run mixed
# Keep the PNGs small: quantize to a palette when pngquant is there (optional).
if command -v pngquant >/dev/null 2>&1; then
  pngquant --force --skip-if-larger --quality 70-95 --ext .png "$out"/*.png || true
fi
ls -l "$out"
