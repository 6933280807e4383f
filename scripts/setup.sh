#!/usr/bin/env bash
# One-time (idempotent) setup on a fresh Debian machine: system packages, .venv with the
# core and its test tools (torch pinned by constraints.txt), and the bpy test environments.
# Usage: scripts/setup.sh [--no-blender]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3.11}"

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fluidsynth fluid-soundfont-gm fonts-noto-color-emoji >/dev/null
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e '.[dev]'
# HTDemucs, the benchmark's anchor: without --no-deps demucs would pull torchaudio and more.
.venv/bin/pip install -q -c constraints.txt einops==0.8.2 julius==0.2.8 tqdm
.venv/bin/pip install -q -c constraints.txt --no-deps demucs==4.1.0

if [ "${1:-}" != "--no-blender" ]; then
    bash scripts/setup_blender_envs.sh
fi
