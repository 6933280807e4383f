#!/usr/bin/env bash
# Create the bpy test environments .venv-bpy45 and .venv-bpy50 next to this repository's .venv.
# Each holds the PyPI `bpy` module (Blender as a Python module) plus the core's dependencies,
# so tests/blender can run the real extension inside Blender 4.5 LTS and 5.0.
# Usage: scripts/setup_blender_envs.sh [45] [50]   (default: both)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3.11}"

declare -A bpy_version=([45]="4.5.15" [50]="5.0.1")

# Shared libraries the bpy wheel links against (X11/GL stubs for a headless machine).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    libs=(libx11-6 libxrender1 libxxf86vm1 libxfixes3 libxi6 libxkbcommon0 libsm6 libgl1 libegl1 libxext6)
    missing=()
    for lib in "${libs[@]}"; do dpkg -s "$lib" >/dev/null 2>&1 || missing+=("$lib"); done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
fi

tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=(45 50)
for tag in "${tags[@]}"; do
    venv="$root/.venv-bpy$tag"
    version="${bpy_version[$tag]}"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import bpy, PIL, sys; sys.exit(bpy.app.version_string.split()[0] != '$version')" 2>/dev/null; then
        echo "$venv: bpy $version ready"
        continue
    fi
    echo "$venv: installing bpy $version (Blender as a Python module), torch 2.13.0, PyAV, soundfile, pillow, pytest (about 2 GB)"
    "$python" -m venv --clear "$venv"
    "$venv/bin/pip" install -q -c "$root/constraints.txt" \
        "bpy==$version" "numpy<2" torch==2.13.0 av soundfile pillow pytest
    "$venv/bin/python" -c "import bpy, torch, av, soundfile, PIL; print('$venv: bpy', bpy.app.version_string, 'torch', torch.__version__)"
done
