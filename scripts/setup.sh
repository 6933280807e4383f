#!/usr/bin/env bash
# One-time (idempotent) setup on a fresh Debian machine: system packages and .venv with the core,
# its test tools (torch pinned by constraints.txt) and the benchmark's HTDemucs. One line per step
# says what it installs and how big it is; pip shows only its downloads and what it installed
# (its full output when it fails). The Blender test environments are not built here: the Blender
# tests build them on first use, or run scripts/setup_blender_envs.sh.
# Usage: scripts/setup.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3.11}"
start=$SECONDS
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

step() { echo "==> [$1/4] $2"; }

# pip install into .venv, showing its downloads (with sizes) and its summary as they come.
pip_install() {
    if ! .venv/bin/pip install --progress-bar off -c constraints.txt "$@" 2>&1 | tee "$log" \
        | { grep --line-buffered -E '^ *(Downloading|Successfully installed)' | sed -u 's/^ */    /' || true; }; then
        cat "$log"
        echo "setup: pip failed (its full output is above)" >&2
        exit 1
    fi
}

packages=(fluidsynth fluid-soundfont-gm fonts-noto-color-emoji timidity freepats)
missing=()
for package in "${packages[@]}"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
if [ ${#missing[@]} -eq 0 ]; then
    step 1 "system packages: fluidsynth, the FluidR3 GM soundfont, Noto Color Emoji, TiMidity++ and freepats: already installed"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step 1 "system packages with apt-get: ${missing[*]} (the training scenes' instruments and pictures, about 200 MB)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    step 1 "system packages: skipped (needs root and apt-get); install ${missing[*]} for the demo and the tests"
fi

if [ -x .venv/bin/python ]; then
    step 2 ".venv: exists ($(.venv/bin/python --version))"
else
    step 2 ".venv with $("$python" --version)"
    "$python" -m venv .venv
fi

step 3 "the pixelplayer package (editable) and its dependencies: torch 2.13.0 (constraints.txt; the CPU wheel is a
    190 MB download, PyPI's default Linux wheel with CUDA several GB), PyAV, soundfile, numpy, pillow; for the
    tests pytest, pyfluidsynth and mir_eval (about 1.3 GB installed with the CPU torch)"
pip_install -e '.[dev]'
echo "    torch $(.venv/bin/python -c 'import torch; print(torch.__version__)'), .venv $(du -sh .venv | cut -f1)"

# Without --no-deps demucs would pull torchaudio and more.
step 4 "the benchmark's anchor, HTDemucs: demucs 4.1.0 without its dependencies, einops, julius, tqdm (about 2 MB)"
pip_install einops==0.8.2 julius==0.2.8 tqdm
pip_install --no-deps demucs==4.1.0

echo "set up in $((SECONDS - start)) s. Next: .venv/bin/python scripts/demo.py"
echo "The Blender test environments (.venv-bpy45 and .venv-bpy50, about 4 GB) are built by the tests on first use,"
echo "or now with scripts/setup_blender_envs.sh."
