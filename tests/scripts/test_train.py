"""CPU smoke runs of scripts/train.py (tiny preset, a handful of solos) and scripts/evaluate.py."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from pixelplayer_blender.core.checkpoint import load_checkpoint, save_checkpoint
from pixelplayer_blender.core.config import PRESETS
from pixelplayer_blender.core.nets import PixelPlayerNet, mobilenet_v2_features
from pixelplayer_blender.training import NAMES, backbone
from pixelplayer_blender.training.cache import SoloCache, pack
from pixelplayer_blender.training.mixing import Augment, Mixer
from pixelplayer_blender.training.objective import MixAndSeparate, shared_error_db
from pixelplayer_blender.training.trainer import Trainer
from scripts import evaluate, make_eval_scenes, train

TRAIN = Path(train.__file__)
ROOT = TRAIN.parent.parent
FEW = ["violin", "flute", "drums"]  # cheap to render from scratch


def run_train(out: Path, solos: Path, *extra: str, ok: bool = True) -> subprocess.CompletedProcess:
    command = [sys.executable, str(TRAIN), str(out), "--preset", "tiny", "--solos", str(solos), "--count", "8",
               "--instruments", *FEW, "--steps", "6", *extra, "--batch", "2", "--crop", "64", "--save-every", "2",
               "--log-every", "1", "--seed", "3", "--pool", "4"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert (done.returncode == 0) == ok, done.stderr
    return done


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A 6-step run paused at step 4 and resumed, and one straight 6-step run, on one solo cache."""
    base = tmp_path_factory.mktemp("train")
    run_train(base / "resumed", base / "solos", "--stop-at", "4")
    resumed = run_train(base / "resumed", base / "solos")
    assert "resumed from step 4" in resumed.stderr
    run_train(base / "straight", base / "solos")
    return {"resumed": base / "resumed", "straight": base / "straight", "solos": base / "solos"}


def test_training_writes_a_trained_checkpoint_and_a_curve(runs):
    model = load_checkpoint(runs["straight"] / "model.pt")
    assert model.trained and model.metadata["steps"] == 6 and model.net.config.name == "tiny"
    assert model.net.config.labels == NAMES
    curve = [json.loads(line) for line in (runs["straight"] / "curve.jsonl").read_text().splitlines()]
    assert [c["step"] for c in curve] == list(range(1, 7))
    assert all(np.isfinite(c["total"]) and 0 < c["mask_pooled"] < 2 and c["label_clicked"] > 0 for c in curve)
    assert "step 6" in (runs["straight"] / "train.log").read_text()


def test_resuming_reproduces_an_uninterrupted_run(runs):
    a = load_checkpoint(runs["resumed"] / "model.pt").net.state_dict()
    b = load_checkpoint(runs["straight"] / "model.pt").net.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_from_a_checkpoint_with_fewer_components_widens_it(runs, tmp_path):
    done = run_train(tmp_path / "wide", runs["solos"], "--init", str(runs["straight"] / "model.pt"), "--k", "12")
    assert "from K = 8 to 12" in done.stderr
    wide = load_checkpoint(tmp_path / "wide" / "model.pt")
    assert wide.net.config.k == 12 and wide.net.video.head.out_channels == 12 and wide.metadata["steps"] == 6


def test_training_refuses_to_shrink_a_checkpoint(runs, tmp_path):
    done = run_train(tmp_path / "narrow", runs["solos"], "--init", str(runs["straight"] / "model.pt"), "--k", "4",
                     ok=False)
    assert "widen to k=4: the net already has 8" in done.stderr


def test_solo_cache_and_mixtures(runs):
    cache = SoloCache(runs["solos"])
    assert len(cache) == 8 and set(NAMES[i] for i in cache.labels) <= set(FEW)
    mixer = Mixer(cache, 96, torch.device("cpu"))
    for mixtures, pool in ((2, None), (4, 5)):  # each solo once; 4 mixtures sharing 5 solos
        batch = mixer.draw(np.random.default_rng(0), mixtures, 3, 2, pool, augment=Augment(gain_db=0.0))
        assert batch["frames"].shape == (pool or 6, 2, 3, 96, 96) and batch["audio"].shape == (mixtures, 3, 65536)
        labels = batch["labels"][batch["members"]]
        assert all(len(set(row.tolist())) == 3 for row in labels)  # distinct instruments per mixture
        assert ((batch["centre"] > 0) & (batch["centre"] < 1)).all()
        heard = batch["audio"].flatten(0, 1).numpy()
        solos = np.asarray(cache.audio, np.float32)
        assert all(any(np.array_equal(a, s) for s in solos) for a in heard)  # at gain 0 dB: the solos themselves


def test_shrunk_and_mirrored_frames_keep_the_instrument_under_its_centre(runs):
    """The centre a click trains on moves with the picture: the pixels around it stay the same."""
    cache = SoloCache(runs["solos"])
    mixer = Mixer(cache, 96, torch.device("cpu"))
    plain = mixer.draw(np.random.default_rng(5), 4, 2, 1, 8, augment=Augment(gain_db=0.0))
    moved = mixer.draw(np.random.default_rng(5), 4, 2, 1, 8, augment=Augment(gain_db=0.0, shrink=1.0, flip=1.0))
    assert not torch.equal(plain["frames"], moved["frames"])
    assert torch.equal(plain["labels"], moved["labels"])

    def around(frames: torch.Tensor, centre: torch.Tensor) -> np.ndarray:
        y, x = (centre.numpy() * 96).astype(int)
        return frames[0, :, y - 1: y + 2, x - 1: x + 2].float().mean((1, 2)).numpy()

    errors = [np.abs(around(a, ca) - around(b, cb)).max()
              for a, ca, b, cb in zip(plain["frames"], plain["centre"], moved["frames"], moved["centre"])]
    assert np.median(errors) < 40, errors


def test_pitch_shift_and_equaliser_stay_in_their_ranges():
    rate, n = 11025, 65536
    tone = np.sin(2 * np.pi * 440 * np.arange(n) / rate).astype(np.float16)
    cache = SimpleNamespace(labels=np.array([0, 1]), boxes=np.full((2, 1, 4), 0.5, np.float32),
                            audio=np.stack([tone, tone]), frames={32: np.zeros((2, 1, 32, 32, 3), np.uint8)})
    mixer = Mixer(cache, 32, torch.device("cpu"))
    rng = np.random.default_rng(0)
    for _ in range(5):
        sound = mixer.sounds(np.array([0, 1]), 16384, Augment(semitones=2.0, eq_db=6.0), rng).numpy()
        assert sound.shape == (2, 16384)
        peak = np.abs(np.fft.rfft(sound * np.hanning(16384), axis=1)).argmax(1) * rate / 16384
        assert np.all((peak > 440 * 2 ** (-2.1 / 12)) & (peak < 440 * 2 ** (2.1 / 12))), peak
        level = 10 * np.log10((sound ** 2).mean(1) / 0.5)
        assert np.all(np.abs(level) < 6.5), level


def test_a_pack_unpacks_to_the_same_solos(runs, tmp_path):
    cache = SoloCache(runs["solos"])
    size = pack(cache, tmp_path / "pack", views=[0, 1], size=96)
    stored = sum(f.stat().st_size for f in runs["solos"].iterdir())
    assert size < stored / 5
    back = SoloCache.ensure(tmp_path / "solos", 0, [96, 48], pack=tmp_path / "pack", workers=2)
    assert len(back) == 8 and back.meta["sizes"] == [48, 96] and back.frames[48].shape == (8, 2, 48, 48, 3)
    assert np.array_equal(back.labels, cache.labels) and np.array_equal(back.silent, cache.silent)
    assert np.array_equal(back.boxes, cache.boxes[:, :2])
    frames = np.asarray(cache.frames[96][:, :2], np.float32)
    assert np.abs(np.asarray(back.frames[96], np.float32) - frames).mean() < 10  # JPEG q80
    for a, b in zip(np.asarray(cache.audio, np.float32), np.asarray(back.audio, np.float32)):
        if np.abs(a).max() > 0:  # Vorbis keeps the spectrum, not the waveform
            sa, sb = np.abs(np.fft.rfft(a)), np.abs(np.fft.rfft(b))
            assert 10 * np.log10((sa ** 2).sum() / ((sa - sb) ** 2).sum()) > 10
        else:
            assert np.abs(b).max() < 1e-3


def test_packs_of_central_excerpts_fill_each_cache(runs, tmp_path):
    """--pack-seconds keeps each sound's middle; --from-pack unpacks one pack per --solos cache."""
    cache = SoloCache(runs["solos"])
    middle = slice((cache.audio.shape[1] - 8000) // 2, (cache.audio.shape[1] - 8000) // 2 + 8000)
    for name in ("p1", "p2"):
        pack(cache, tmp_path / name, size=96, samples=8000)
    trainer = Trainer(train.parse_args([str(tmp_path / "run"), "--preset", "tiny", "--solos", str(tmp_path / "a"),
                                        str(tmp_path / "b"), "--from-pack", str(tmp_path / "p1"), str(tmp_path / "p2"),
                                        "--crop", "16", "--steps", "1"]))
    for unpacked in trainer.caches:
        assert unpacked.audio.shape == (8, 8000) and np.array_equal(unpacked.labels, cache.labels)
        for a, b in zip(np.asarray(cache.audio[:, middle], np.float32), np.asarray(unpacked.audio, np.float32)):
            if np.abs(a).max() > 0:
                sa, sb = np.abs(np.fft.rfft(a)), np.abs(np.fft.rfft(b))
                assert 10 * np.log10((sa ** 2).sum() / ((sa - sb) ** 2).sum()) > 10
    with pytest.raises(SystemExit):
        train.parse_args([str(tmp_path / "run"), "--solos", "a", "--from-pack", "p1", "p2", "--steps", "1"])


def test_a_cache_that_cannot_be_rebuilt_is_left_as_it_was(runs, tmp_path):
    shutil.copytree(runs["solos"], tmp_path / "solos")
    before = {f.name: f.read_bytes() for f in (tmp_path / "solos").iterdir()}
    pack(SoloCache(runs["solos"]), tmp_path / "pack", size=96)
    (tmp_path / "pack" / "audio.bin").write_bytes(b"not Vorbis" * 1000)
    with pytest.raises(Exception):  # a new frame size makes it rebuild the cache from the broken pack
        SoloCache.ensure(tmp_path / "solos", 0, [96, 48], pack=tmp_path / "pack")
    assert {f.name: f.read_bytes() for f in (tmp_path / "solos").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pack", "solos"]


def test_validation_keeps_the_best_model(runs, tmp_path):
    out = tmp_path / "val"
    done = subprocess.run([sys.executable, str(TRAIN), str(out), "--preset", "tiny", "--solos", str(runs["solos"]),
                           "--count", "8", "--sources", "2", "--val", "4", "--val-every", "2", "--steps", "4",
                           "--batch", "2", "--pool", "4", "--crop", "64", "--amp", "--semitones", "1", "--eq-db", "6",
                           "--flip", "0.5", "--log-every", "1", "--shared-weight", "0.1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    best = load_checkpoint(out / "model_best.pt")
    assert best.metadata["validation"]["mask_clicked"] > 0 and best.metadata["data"].startswith("4 solos")
    curve = [json.loads(line) for line in (out / "curve.jsonl").read_text().splitlines()]
    validated = [c for c in curve if "validation" in c]
    validations = [c["validation"] for c in validated]
    assert [c["step"] for c in validated] == [2, 4]
    # With --shared-weight the best model is the one whose shared masks err least.
    assert best.metadata["validation"]["shared_error_db"] == min(v["shared_error_db"] for v in validations)
    final = load_checkpoint(out / "model.pt").metadata
    assert final["validation"] == validations[-1] and final["shared_weight"] == 0.1


def test_shared_error_scores_separation_like_sdr():
    """All sources clicked at once: right masks err far less than even ones; a silent source stays finite."""
    mix = torch.rand(2, 8, 6) + 0.1
    owner = torch.rand(2, 8, 6) > 0.5  # each bin belongs to one of two sources
    sources = torch.stack([mix * owner, mix * ~owner], 1)
    right = torch.where(torch.stack([owner, ~owner], 1), 8.0, -8.0)
    even = torch.zeros_like(right)
    assert shared_error_db(right, mix, sources) < -25
    assert -4 < shared_error_db(even, mix, sources) < -2  # half of every bin to each: about -3 dB
    silent = torch.stack([mix, torch.zeros_like(mix)], 1)
    assert torch.isfinite(shared_error_db(even, mix, silent))
    assert shared_error_db(right, mix, silent) > shared_error_db(torch.stack(
        [torch.full_like(mix, 8.0), torch.full_like(mix, -8.0)], 1), mix, silent)


def test_ratio_targets_make_a_perfect_mask_score_best():
    """The loss is lowest for the mask that is the ratio target itself."""
    net = PixelPlayerNet(dataclasses.replace(PRESETS["tiny"], labels=NAMES))
    objective = MixAndSeparate(net, "ratio")
    rng = np.random.default_rng(1)
    audio = torch.from_numpy(rng.normal(0, 0.05, (1, 2, 65536)).astype(np.float32))
    front = objective.front
    mags = front.magnitude(torch.cat([audio.sum(1), audio[0]]))[:, 0]
    ratio = (mags[1:] / mags[:1]).clamp(0, 1)
    weight = torch.log1p(mags[:1]).clamp(1e-3, 10)

    def loss(mask: torch.Tensor) -> float:
        logits = torch.logit(mask.clamp(1e-4, 1 - 1e-4))
        bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, ratio, reduction="none")
        return float((bce * weight).sum() / weight.expand_as(bce).sum())

    assert loss(ratio) < loss(torch.full_like(ratio, 0.5)) and loss(ratio) < loss(1 - ratio)


def test_evaluate_prints_a_table_for_each_set(runs, tmp_path, capsys):
    model = runs["straight"] / "model.pt"
    for name, seed in (("scenes", 0), ("more", 1)):
        make_eval_scenes.main([str(tmp_path / name), "--duets", "1", "--trios", "1", "--size", "320x180",
                               "--duration", "3", "--seed", str(seed)])
    capsys.readouterr()
    report = evaluate.main([str(tmp_path / "scenes"), str(tmp_path / "more"), "--model", f"tiny={model}",
                            "--named", "--json", str(tmp_path / "eval.json")])
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("###")] == ["### scenes (2 scenes)",
                                                                            "### more (2 scenes)"]
    table = out.split("### scenes (2 scenes)\n\n")[1].split("\n\n")[0]
    assert table.splitlines()[0].startswith("| method | duet SDR")
    assert [line.split(" | ")[0] for line in table.splitlines()[2:]] == [
        "| tiny", "| tiny, named", "| mixture (no separation; uniform map)", "| ideal ratio mask (oracle)",
        "| ideal binary mask (oracle)"]
    rows = report["scenes"]
    tiny = rows["tiny"]["sources"]
    assert len(tiny["duets"]) == 2 and len(tiny["trios"]) == 3
    assert all(s["label"] in (*NAMES, "instrument") for kind in tiny.values() for s in kind)  # "instrument": unsure
    oracle = rows["ideal ratio mask (oracle)"]["sources"]["duets"]
    mixture = rows["mixture (no separation; uniform map)"]["sources"]["duets"]
    assert min(s["sdr"] for s in oracle) > max(s["sdr"] for s in mixture) + 5
    assert all(s["sdri"] == 0 for s in mixture)  # improvement over the mixture: the mixture's own is none
    for mine, unmixed in zip(tiny["duets"], mixture):
        assert mine["sdri"] == pytest.approx(mine["sdr"] - unmixed["sdr"])
    sdri = np.median([s["sdri"] for kind in tiny.values() for s in kind])
    assert table.splitlines()[2].split(" | ")[9] == f"{sdri:.2f}"  # the column after trio SI-SDR
    named = rows["tiny, named"]["sources"]
    known = set(load_checkpoint(model).metadata.get("prototypes", {}))
    assert len(named["duets"]) == 2 and all(s["label"] == s["truth"] for s in named["duets"] if s["truth"] in known)
    corr = np.median([s["pick_corr"] for kind in tiny.values() for s in kind])
    assert table.splitlines()[2].split(" | ")[10] == f"{corr:.2f}"
    assert all(s["pick_corr"] == pytest.approx(1) for s in mixture)  # every pick the same audio
    assert all(s["pick_corr"] < 0.5 for s in oracle)  # distinct instruments
    for mine, unmixed in zip(tiny["duets"], mixture):  # each clicked alone, scored against the same mixture
        assert mine["lone_sdri"] == pytest.approx(mine["lone_sdr"] - unmixed["sdr"])
    lone = [s for kind in tiny.values() for s in kind]
    assert any(s["lone_sdr"] != s["sdr"] for s in lone)  # alone, a pick shares its bins with no other
    cells = table.splitlines()[2].split(" | ")
    assert cells[11:13] == [f"{np.median([s['lone_sdri'] for s in lone]):.2f}",
                            f"{np.median([s['lone_corr'] for s in lone]):.2f}"]
    assert table.splitlines()[3].split(" | ")[11:13] == ["–", "–"]  # named: all at once only
    assert 0 <= rows["tiny"]["localization"][0]["map_in_boxes"] <= 1
    assert report["more"]["tiny"]["sources"]["duets"] != tiny["duets"]  # other scenes, other scores
    written = json.loads((tmp_path / "eval.json").read_text())
    assert written["scenes"]["table"] == table and set(written) == {"scenes", "more"}


def test_a_real_preset_run_from_a_backbone_and_the_lite_audio_side(tmp_path):
    """--backbone fills the frozen trunk, --init-audio the U-Net, synthesizer and the label rows of shared
    names; two caches share the steps; the final checkpoint carries each instrument's prototype."""
    torch.manual_seed(0)
    trunk = {f"features.{k}": v for k, v in mobilenet_v2_features().state_dict().items()}
    backbone.save(tmp_path / "backbone.pt", trunk, "test@0:mobilenet.pt (MIT)")
    lite = PixelPlayerNet(dataclasses.replace(PRESETS["lite"], labels=NAMES[:14]))
    save_checkpoint(tmp_path / "lite.pt", lite, {"trained": True})
    other = SoloCache.ensure(tmp_path / "other", 6, [160], seed=50, instruments=["guitar", "piano"])
    command = [sys.executable, str(TRAIN), str(tmp_path / "run"), "--preset", "real", "--solos", str(tmp_path / "a"),
               str(other.folder), "--solo-weights", "0.3", "0.7", "--count", "6", "--instruments", *FEW,
               "--backbone", str(tmp_path / "backbone.pt"), "--freeze-backbone", "--init-audio",
               str(tmp_path / "lite.pt"), "--lr", "0", "--steps", "3", "--batch", "2", "--pool", "4",
               "--crop", "64", "--sources", "2", "--log-every", "1", "--amp"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "audio, synth, label head (14 names)" in done.stderr and "1.98 M parameters (1.45 M trained)" in done.stderr
    model = load_checkpoint(tmp_path / "run" / "model.pt")
    net, meta = model.net, model.metadata
    assert meta["backbone"] == "test@0:mobilenet.pt (MIT)" and meta["frozen"] == ["video trunk"]
    assert all(torch.equal(v, trunk[f"features.{k}"]) for k, v in net.video.features.state_dict().items())
    ours, theirs = net.state_dict(), dict(lite.named_parameters())  # (batch-norm statistics move at lr 0)
    assert all(torch.equal(ours[k], v) for k, v in theirs.items() if k.startswith(("audio.", "synth.")))
    assert torch.equal(ours["label_head.weight"][:14], theirs["label_head.weight"])
    assert "30% of steps" in meta["data"] and "70% of steps" in meta["data"]
    present = {NAMES[i] for c in (SoloCache(tmp_path / "a"), other) for i in c.labels}
    assert set(meta["prototypes"]) == present and {"guitar", "piano"} <= present
    assert all(len(p) == 16 and all(0 <= x <= 1 for x in p) for p in meta["prototypes"].values())

    # From that checkpoint, the trunk trains at a tenth of the rate, and its origin is kept.
    tuned = Trainer(train.parse_args([str(tmp_path / "tuned"), "--preset", "real", "--solos", str(tmp_path / "a"),
                                      "--count", "6", "--init", str(tmp_path / "run" / "model.pt"), "--backbone-lr",
                                      "0.1", "--steps", "1", "--batch", "2", "--pool", "4", "--crop", "64",
                                      "--sources", "2"]))
    assert tuned.backbone_source == "test@0:mobilenet.pt (MIT)"
    trunk_ids = {id(p) for p in tuned.net.video.features.parameters()}
    head, trunk_group = tuned.optimiser.param_groups
    assert {id(p) for p in trunk_group["params"]} == trunk_ids and not trunk_ids & {id(p) for p in head["params"]}
    tuned.step(1e-3)
    assert (head["lr"], trunk_group["lr"]) == (1e-3, pytest.approx(1e-4))


def test_a_step_with_a_non_finite_loss_changes_neither_weights_nor_running_statistics(runs, tmp_path):
    trainer = Trainer(train.parse_args([str(tmp_path / "run"), "--preset", "tiny", "--solos", str(runs["solos"]),
                                        "--count", "8", "--instruments", *FEW, "--batch", "2", "--crop", "64",
                                        "--pool", "4", "--steps", "1"]))
    trainer.train_mode()
    with torch.no_grad():  # one poisoned weight: the U-Net's batch norms would see NaN batch statistics
        trainer.net.audio.down[0][0].weight[0, 0, 0, 0] = float("nan")
    before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
    losses = trainer.step(1e-3)
    assert not torch.isfinite(losses["total"])
    after = trainer.net.state_dict()
    assert all(torch.equal(before[k].nan_to_num(), after[k].nan_to_num()) for k in before)  # the NaN weight too
    assert all(torch.isfinite(b).all() for name, b in trainer.net.named_buffers() if "running" in name)


def test_prototypes_added_afterwards_are_those_training_writes(runs, tmp_path):
    """scripts/prototypes.py gives a checkpoint trained without prototypes those its training would have written."""
    trained = load_checkpoint(runs["straight"] / "model.pt")
    bare = {k: v for k, v in trained.metadata.items() if k != "prototypes"}
    save_checkpoint(tmp_path / "bare.pt", trained.net, bare)
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "prototypes.py"), str(tmp_path / "bare.pt"),
                           str(runs["solos"]), "--out", str(tmp_path / "named.pt")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    named = load_checkpoint(tmp_path / "named.pt")
    ours, theirs = named.metadata["prototypes"], trained.metadata["prototypes"]
    assert set(ours) == set(theirs) and set(ours) <= set(FEW)
    assert all(np.allclose(ours[k], theirs[k], atol=1e-4) for k in ours)  # threads may order sums otherwise
    assert named.metadata["prototypes_from"] == [SoloCache(runs["solos"]).meta["source"]]
    assert all(torch.equal(a, b) for a, b in zip(named.net.state_dict().values(), trained.net.state_dict().values()))
