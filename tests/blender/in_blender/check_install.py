"""Install PyTorch's machinery, run for real with a tiny package: pip writes into the extension's user folder only."""
import os
import sys
import urllib.request
from pathlib import Path

import bpy
import pytest
from blend import PACKAGE, drawn


def tree(root: Path, skip: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in root.rglob("*") if p.is_file() and skip not in p.parents}


def test_the_user_site_packages_is_on_sys_path_from_registration(extension):
    site = extension.blender.prefs.site_packages()
    assert site.is_dir() and str(site) in sys.path
    assert Path(os.environ["BLENDER_USER_RESOURCES"]) in site.parents and site.parent.name == "pixelplayer"


def test_pip_installs_a_package_into_the_user_folder_and_nothing_else(extension):
    try:
        urllib.request.urlopen("https://pypi.org/simple/six/", timeout=10).close()
    except OSError as error:
        pytest.skip(f"PyPI is unreachable: {error}")
    prefs = extension.blender.prefs
    folder, site = prefs.user_folder(), prefs.site_packages()
    resources = Path(os.environ["BLENDER_USER_RESOURCES"])
    before = tree(resources, folder)
    assert bpy.ops.preferences.pixelplayer_install_torch(
        build="CPU", requirement="six", index_url="https://pypi.org/simple") == {"FINISHED"}
    assert (site / "six.py").is_file()
    log = (folder / extension.blender.pure.installer.LOG).read_text()
    assert f"--target {site}" in log and "Successfully installed six" in log
    assert not (folder / "tmp").exists()
    assert tree(resources, folder) == before


def test_a_failed_install_reports_its_log(extension):
    with pytest.raises(RuntimeError, match="pip failed .*install-pytorch.log"):
        bpy.ops.preferences.pixelplayer_install_torch(requirement="no-such-package-pixelplayer==0",
                                                      index_url="file:///nonexistent")
    assert PACKAGE in bpy.context.preferences.addons


def test_preferences_offer_each_build_and_the_site_packages_path(extension):
    preferences = extension.blender.prefs.get()
    calls = drawn(type(preferences).draw, preferences)
    builds = [c[3] for c in calls if c[:3] == ("set", "preferences.pixelplayer_install_torch", "build")]
    assert builds == ["CPU", "CUDA"]
    assert {"checkpoint", "device", "threads", "stem_folder", "torch_site_packages"} <= {c[2] for c in calls if c[0] == "prop"}
