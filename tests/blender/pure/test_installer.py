"""Install PyTorch: the pip call, the index per build and platform, and running pip into one folder."""
import sys
import textwrap
import time

import pytest

from pixelplayer_blender.blender.pure import installer


def test_pip_installs_into_the_target_only_without_cache_or_prompts(tmp_path):
    call = installer.command(tmp_path / "site-packages", index="https://example.org/simple", python="/bin/py")
    assert call[:4] == ["/bin/py", "-m", "pip", "install"]
    assert call[call.index("--target") + 1] == str(tmp_path / "site-packages")
    assert {"--upgrade", "--no-cache-dir", "--no-input"} <= set(call)
    assert call[call.index("--only-binary") + 1] == ":all:"
    assert call[call.index("--index-url") + 1] == "https://example.org/simple"
    assert call[-1] == installer.REQUIREMENT == "torch>=2.4,<2.15"
    assert "--index-url" not in installer.command(tmp_path, "six")


@pytest.mark.parametrize("build, platform, index", [
    ("CPU", "linux", installer.CPU_INDEX),  # PyPI's Linux torch is the CUDA build
    ("CUDA", "linux", None),
    ("CPU", "win32", None),  # PyPI's Windows torch is the CPU build
    ("CUDA", "win32", installer.CUDA_INDEX),
    ("CPU", "darwin", None),
])
def test_each_build_comes_from_its_index(build, platform, index):
    assert installer.index_url(build, platform) == index


def test_macos_offers_no_cuda():
    assert installer.builds("darwin") == ["CPU"] and installer.builds("linux") == ["CPU", "CUDA"]


def test_temporary_files_and_user_site_stay_out(tmp_path):
    env = installer.environment(tmp_path / "tmp")
    assert env["TMPDIR"] == env["TEMP"] == env["TMP"] == str(tmp_path / "tmp")
    assert env["PYTHONNOUSERSITE"] == "1" and env["PIP_NO_CACHE_DIR"] == "1"


FAKE_PIP = """
import sys, tempfile, time
print("Collecting six", flush=True)
print("  Downloading six-1.17.0-py2.py3-none-any.whl", flush=True)
with tempfile.NamedTemporaryFile(prefix="probe-") as f:
    print("temporary", f.name, flush=True)
time.sleep(float(sys.argv[1]))
print("Installing collected packages: six", flush=True)
print("Successfully installed six-1.17.0", flush=True)
sys.exit(int(sys.argv[2]))
"""


def run_script(tmp_path, seconds, code, cancelled=lambda: False):
    seen = []
    call = [sys.executable, "-c", textwrap.dedent(FAKE_PIP), str(seconds), str(code)]
    return seen, lambda: installer.run(call, tmp_path, lambda f, m: seen.append((f, m)), cancelled)


def test_progress_follows_pips_stages_and_the_log_keeps_everything(tmp_path):
    seen, run = run_script(tmp_path, 0.5, 0)
    log = run()
    assert log == tmp_path / installer.LOG
    assert seen[0] == (0.05, "Collecting six") and seen[-1] == (1.0, "Successfully installed six-1.17.0")
    assert [f for f, _ in seen] == sorted(f for f, _ in seen)
    text = log.read_text()
    assert text.startswith("$ ") and "Successfully installed six" in text
    temporary = next(line.split()[1] for line in text.splitlines() if line.startswith("temporary"))
    assert temporary.startswith(str(tmp_path / "tmp")) and not (tmp_path / "tmp").exists()


def test_a_failing_pip_names_its_log(tmp_path):
    _, run = run_script(tmp_path, 0, 1)
    with pytest.raises(installer.InstallError, match="exit code 1.*install-pytorch.log"):
        run()


def test_cancel_stops_pip_at_once(tmp_path):
    start = time.monotonic()
    _, run = run_script(tmp_path, 60, 0, cancelled=lambda: time.monotonic() - start > 0.5)
    with pytest.raises(installer.InstallError, match="cancelled"):
        run()
    assert time.monotonic() - start < 10 and not (tmp_path / "tmp").exists()
