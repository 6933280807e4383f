"""training/refit.py: the refit learns, through the frozen model, to move picks' features so that their shared
masks give each source its own sound; the checkpoint it writes keeps the rest of the model as it was."""
from __future__ import annotations

from pathlib import Path

import torch

from pixelplayer_blender.core.checkpoint import load_checkpoint
from pixelplayer_blender.training import NoteBank
from pixelplayer_blender.training.nametune import Mixtures
from pixelplayer_blender.training.refit import MOST, RefitSettings, RefitTrainer, through_model
from tests.training.test_nametune import pool

ROOT = Path(__file__).resolve().parents[2]


def test_the_refit_learns_to_give_each_pick_its_source(tmp_path):
    torch.manual_seed(0)
    model = load_checkpoint(ROOT / "models" / "pixelplayer.pt")
    config = model.net.config
    settings = RefitSettings(batch=8, steps=40, lr=3e-3, silent=1.0, extra_silent=0.0, step=0.5)
    audio, labels = pool(NoteBank(config.sample_rate, persist=False), config.window_samples, 3, seed=0)
    data = through_model(model.net, Mixtures(audio, labels, settings.mixing(), seed=0), 12)
    assert data["components"].shape == (12, config.k, config.log_bins // 2, config.frames // 2)
    assert data["sources"].shape == (12, MOST, config.log_bins // 2, config.frames // 2)
    picked = data["labels"] >= 0
    assert torch.equal(picked.sum(1) >= 2, torch.ones(12, dtype=torch.bool))
    assert data["sources"][~picked].abs().max() == 0  # padding has no sound

    trainer = RefitTrainer(model, data, settings, seed=0)
    batch = torch.arange(12)
    start = trainer.starts(data["labels"])
    with torch.no_grad():
        before = trainer.loss(batch, start)
    for _ in range(settings.steps):
        trainer.step()
    with torch.no_grad():
        after = trainer.loss(batch, start)
    assert after < 0.8 * before  # 0.27 -> 0.17 here

    saved = load_checkpoint(trainer.save(tmp_path / "refit.pt", note="test"))
    assert saved.net.config.refit == 3 and saved.metadata["refit_trained"] == {"note": "test"}
    assert float(saved.net.refit.step) == 0.5
    kept = saved.net.state_dict()
    assert all(torch.equal(kept[k], v) for k, v in model.net.state_dict().items() if not k.startswith("refit."))
