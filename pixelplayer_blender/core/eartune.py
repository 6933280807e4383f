"""Named picks tuned to the clip by ear.

A name's prototype (its mean feature over training, or tuned to its sound) is what that instrument usually
sounds like to the model; a real player, room and microphone sound otherwise.  With a tagger in the model, the
named picks' features are fitted together to the clip, starting from their prototypes: over the
clip's loudest windows, each pick's sound should be heard as its name and not as the other picks'
names, and what remains (the Rest) should not be heard as any of them.  The fit moves K numbers per
pick through the frozen synthesizer, the model's own STFT and YAMNet (Adam, :data:`STEPS` steps).  A
name the tagger does not hear in the clip (:data:`HEARD`) keeps its prototype: its scores cannot guide it.
"""
from __future__ import annotations

import numpy as np
import torch

from .analysis import Analysis, plan_windows
from .audiotag import resample
from .checkpoint import LoadedModel
from .clip import ClipAudio
from .nets import share
from .progress import Cancel, Progress, check, never, quiet
from .spectral import FrontEnd, unwarp_matrix

# Adam on the features' logits: 12 steps at 0.2 (real MUSIC dev duets and trios, 14 scenes: 2.97 dB SDRi
# in 2.6 s a named isolation; 25 at 0.1: 3.05 dB in 4.5 s).
STEPS = 12
RATE = 0.2
WINDOWS = 2  # the clip's loudest analysis windows the fit listens to
EPS = 1e-4  # keeps the logs of the tagger's scores finite
# A name the tagger hears under this score over the clip keeps its prototype: its scores say nothing there
# (YAMNet hardly hears FluidR3's horn, flute or maracas).  Median SDRi of named clicks, emoji tuning scenes /
# real MUSIC dev: prototypes 10.39 / 1.45 dB, every name tuned 8.45 / 1.94, from 0.02 9.69 / 1.68, 0.05 9.95 / 1.68.
HEARD = 0.05


def _native_span(analysis: Analysis, clip: ClipAudio, start: int) -> tuple[int, int]:
    """The samples ``[start, stop)`` of the clip's native audio under the analysis window starting at model
    sample ``start``."""
    ratio = clip.sample_rate / analysis.config.sample_rate
    first = min(round(start * ratio), clip.samples)
    return first, min(first + round(analysis.config.window_samples * ratio), clip.samples)


def loudest_windows(analysis: Analysis, clip: ClipAudio, count: int = WINDOWS) -> list[int]:
    """The ``count`` analysis windows of ``clip`` with the most energy, in time order."""
    energy = [float(np.square(clip.read(*_native_span(analysis, clip, s))).sum())
              for s in plan_windows(analysis.model_samples, analysis.config)]
    return sorted(np.argsort(energy)[::-1][:count].tolist())


def window_audio(analysis: Analysis, clip: ClipAudio, window: int) -> torch.Tensor:
    """One analysis window of the clip as the model hears it: mono, at its rate, ``(window_samples,)``."""
    samples = analysis.config.window_samples
    start = plan_windows(analysis.model_samples, analysis.config)[window]
    native = clip.read(*_native_span(analysis, clip, start))
    mono = resample(torch.from_numpy(native.mean(0))[None], clip.sample_rate, analysis.config.sample_rate)[0]
    return torch.nn.functional.pad(mono, (0, max(samples - mono.numel(), 0)))[:samples]


def tune(model: LoadedModel, analysis: Analysis, clip: ClipAudio, names: list[str], start: torch.Tensor,
         progress: Progress = quiet, cancel: Cancel = never) -> torch.Tensor:
    """``(Q, K)`` features for picks named ``names`` (vocabulary names), fitted from ``start`` (their
    prototypes) so that the tagger hears each name in its own pick only.  A model without a tagger, names
    outside its labels, and a name not heard in the clip keep ``start``.  ``cancel`` is polled every step."""
    net, config = model.net, analysis.config
    if net.heard is None or not set(names) <= set(config.labels):  # no heard scores for such a name
        return start
    ids = [config.labels.index(name) for name in names]
    deaf = torch.from_numpy(analysis.heard.astype(np.float32)).mean(0)[ids] < HEARD
    if deaf.all():
        return start
    front = FrontEnd(config)
    unwarp = unwarp_matrix(config.n_fft // 2 + 1, config.log_bins)
    listened = []
    with torch.no_grad():
        for w in loudest_windows(analysis, clip):
            components = torch.from_numpy(analysis.components[w]).float()[None]
            listened.append((components, front.spectrum(window_audio(analysis, clip, w)[None])[0]))
    logits = torch.logit(start.clamp(1e-3, 1 - 1e-3)).requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=RATE)
    with torch.enable_grad():  # isolation itself runs without gradients; the net's own are never computed
        for step in range(STEPS):
            check(cancel)
            progress(step / STEPS, "tuning by ear")
            loss = sum(heard_loss(net, front, unwarp, torch.sigmoid(logits), ids, *window) for window in listened)
            logits.grad = torch.autograd.grad(loss, logits)[0].masked_fill(deaf[:, None], 0)
            optimiser.step()
    return torch.where(deaf[:, None], start, torch.sigmoid(logits).detach())


def heard_loss(net, front: FrontEnd, unwarp: torch.Tensor, features: torch.Tensor, ids: list[int],
               components: torch.Tensor, spectrum: torch.Tensor) -> torch.Tensor:
    """How badly one window's picks (and Rest) are heard: -log of each pick's own name, -log(1 - score) of
    the other picks' names in it and of every name in the Rest."""
    masks = share(torch.sigmoid(net.synth(features[None], components)[0]))  # (Q, F, T)
    rest = (1 - masks.sum(0, keepdim=True)).clamp_min(0)
    heard = net.heard(front.inverse(spectrum * (unwarp @ torch.cat([masks, rest]))), front.config.sample_rate)
    own = torch.eye(len(ids), dtype=torch.bool)
    same = torch.tensor([[a == b for b in ids] for a in ids])
    scores = heard[:-1][:, ids]  # (pick, name)
    wanted = -torch.log(scores[own] + EPS).sum()
    unwanted = -torch.log(1 - scores[~same] + EPS).sum() - torch.log(1 - heard[-1, ids] + EPS).sum()
    return wanted + unwanted
