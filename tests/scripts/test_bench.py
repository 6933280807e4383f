"""Smoke test of scripts/bench.py on tiny clips: one real run, its JSON summary checked."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"


def test_bench_prints_json_summary(tmp_path: Path) -> None:
    command = [sys.executable, str(BENCH), "--seconds", "12", "--memory-scale", "0.005", "--htdemucs-seconds", "4",
               "--width", "320", "--height", "240", "--fps", "25", "--clicks", "3",
               "--cache", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])

    for key in ("realtime_factor", "vs_htdemucs", "click_latency_s", "analysis_s", "htdemucs_s", "vs_htdemucs_cpu"):
        assert summary[key] > 0, key
    assert abs(summary["clip_seconds"] - 12) < 0.5
    memory = summary["memory"]
    assert abs(memory["60min_320x240"]["clip_seconds"] - 18) < 0.5
    assert abs(memory["10min_1920x1080"]["clip_seconds"] - 3) < 0.5
    for case in memory.values():
        # A fresh process with torch loaded: hundreds of MB, never the parent's (which held HTDemucs).
        assert 100 < case["peak_rss_mb"] < case["budget_mb"] and case["within_budget"]
    assert summary["realtime_factor"] == summary["clip_seconds"] / summary["analysis_s"]
    assert summary["named_clicks_s"] > summary["named_clicks_again_s"] > 0  # tuned by ear once, then kept
    assert summary["refit_clicks_s"] > 0 and summary["unrefitted_clicks_s"] > 0  # the bundled model has a refit
    # 4 s is one 7.8 s segment; 12 s take three at 25 % overlap.
    assert (summary["htdemucs_segments_timed"], summary["htdemucs_segments_total"]) == (1, 3)
    assert summary["htdemucs_s"] == summary["htdemucs_timed_s"] * 3
    assert summary["clicks"] == 3 and set(summary["meets_targets"]) == {
        "realtime_factor", "vs_htdemucs", "click_latency_s", "peak_rss_60min_320x240", "peak_rss_10min_1920x1080"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clip_12s_320x240_25fps_48000hz_2ch.mp4", "clip_18s_320x240_25fps_48000hz_2ch.mp4",
        "clip_3s_1920x1080_25fps_48000hz_2ch.mp4"]
    assert "audio network" in summary["analysis_stages_s"] and "click to stem" in done.stderr
