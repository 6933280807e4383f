"""Build the installable Blender extension zip(s) into dist/ with Blender's own extension CLI.

The CLI (``blender_ext.py``) ships inside the ``bpy`` wheel and runs with plain Python; this script
finds it in a bpy venv (see scripts/setup_blender_envs.sh) or takes ``--cli``.  It stages the
extension in ``WORK/extension`` (blender_manifest.toml, the ``pixelplayer_blender`` package as the
root without its ``training`` subpackage, ``models/`` and the wheels the manifest lists, downloaded
from PyPI once into ``WHEELS``), builds one zip per platform with ``--split-platforms``, named
``pixelplayer-<version>-<platform>.zip`` with the platform's ``-`` written ``_`` (e.g.
``pixelplayer-0.1.0-linux_x64.zip``), and validates every zip with the same CLI.

    python scripts/build_extension.py                      # every platform in the manifest, into dist/
    python scripts/build_extension.py --platform linux-x64 # just one
    python scripts/build_extension.py --work /tmp/b --wheels ~/.cache/wheels --out /tmp/zips  # outside the checkout
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_GLOB = "lib/python3*/site-packages/bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py"
# Blender platform -> every wheel platform tag fragment that must appear for a wheel to belong to it.
PLATFORM_TAGS = {
    "linux-x64": ("manylinux", "x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx", "arm64"),
    "macos-x64": ("macosx", "x86_64"),
}


def find_cli() -> Path:
    """The newest blender_ext.py among the repository's bpy venvs and this interpreter's site-packages."""
    candidates = [p for venv in ROOT.glob(".venv-bpy*") for p in venv.glob(CLI_GLOB)]
    candidates += [p for entry in map(Path, sys.path) for p in entry.glob("bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py")]
    if not candidates:
        sys.exit("Blender's extension CLI was not found: run scripts/setup_blender_envs.sh or pass --cli")
    return max(candidates, key=lambda p: tuple(int(n) for n in p.parts[-6].split(".")))


def wheel_platforms(filename: str) -> set[str]:
    """The Blender platforms a wheel file serves (all of them for a pure wheel)."""
    tag = filename[:-len(".whl")].split("-")[-1]
    if tag == "any":
        return set(PLATFORM_TAGS)
    return {name for name, parts in PLATFORM_TAGS.items() if all(part in tag for part in parts)}


def download_wheel(filename: str, cache: Path) -> Path:
    """Fetch exactly ``filename`` from PyPI into ``cache`` (once)."""
    target = cache / filename
    if target.is_file():
        return target
    name, version, python, abi, platform = filename[:-len(".whl")].split("-")[-5:]
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--dest", str(cache), "--python-version", "3.11", f"{name}=={version}"]
    if platform != "any":
        command += ["--implementation", "cp", "--abi", abi, *(f"--platform={p}" for p in platform.split("."))]
    subprocess.run(command, check=True)
    if not target.is_file():
        sys.exit(f"pip did not produce {filename}; update the manifest's wheels to files PyPI serves")
    return target


def stage(manifest: dict, platforms: list[str], staging: Path, cache: Path) -> None:
    """Lay out the extension's source tree in ``staging`` for the given platforms."""
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(ROOT / "pixelplayer_blender", staging, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "training"))
    shutil.copytree(ROOT / "models", staging / "models")
    wheels = [w for w in manifest.get("wheels", []) if wheel_platforms(Path(w).name) & set(platforms)]
    (staging / "wheels").mkdir()
    cache.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        shutil.copy2(download_wheel(Path(wheel).name, cache), staging / wheel)
    text = (ROOT / "blender_manifest.toml").read_text()
    text = re.sub(r"(?m)^platforms = \[.*\]$", "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]", text)
    text = re.sub(r"(?ms)^wheels = \[.*?^\]$", "wheels = [\n" + "".join(f'  "{w}",\n' for w in wheels) + "]", text)
    (staging / "blender_manifest.toml").write_text(text)


def run_cli(cli: Path, *args: str) -> None:
    subprocess.run([sys.executable, str(cli), *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORM_TAGS),
                        help="build only for this platform (repeatable); default: every platform in the manifest")
    parser.add_argument("--cli", type=Path, help="path to Blender's blender_ext.py")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the zips (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build",
                        help="folder for the staged extension, WORK/extension (default: build/)")
    parser.add_argument("--wheels", type=Path, help="folder the manifest's wheels are downloaded into once "
                        "(default: WORK/wheels)")
    args = parser.parse_args()

    manifest = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
    platforms = args.platform or manifest["platforms"]
    cli = args.cli or find_cli()
    staging = args.work / "extension"
    stage(manifest, platforms, staging, args.wheels or args.work / "wheels")
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob(f"{manifest['id']}-{manifest['version']}-*.zip"):
        old.unlink()
    run_cli(cli, "build", "--source-dir", str(staging), "--output-dir", str(args.out), "--split-platforms")
    zips = sorted(args.out.glob(f"{manifest['id']}-{manifest['version']}-*.zip"))
    for archive in zips:
        run_cli(cli, "validate", str(archive))
    print("\n".join(str(z) for z in zips))


if __name__ == "__main__":
    main()
