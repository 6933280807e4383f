"""Dependency detection and the advice shown when the core cannot run."""
import sys

import pytest

from pixelplayer_blender.blender.pure import deps


def test_everything_is_found_in_the_development_venv():
    assert deps.missing() == []
    deps.require()


def test_blocked_modules_are_reported_with_their_remedy(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "soundfile", None)
    assert deps.missing() == ["torch", "soundfile"]
    with pytest.raises(deps.MissingDependency, match="Install PyTorch.*; soundfile is missing"):
        deps.require()


def test_extra_site_packages_is_appended_once(tmp_path, monkeypatch):
    (tmp_path / "pixelplayer_probe_module.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(sys, "path", list(sys.path))
    assert not deps.available("pixelplayer_probe_module")
    assert deps.add_site_packages(tmp_path) and deps.add_site_packages(tmp_path)
    assert sys.path.count(str(tmp_path)) == 1 and sys.path[-1] == str(tmp_path)
    assert deps.available("pixelplayer_probe_module")
    assert not deps.add_site_packages(tmp_path / "absent")
