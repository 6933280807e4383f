"""Model configurations; the chosen one travels inside each checkpoint."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the spectral front-end and of the three networks."""

    name: str
    sample_rate: int = 11025  # model audio rate (Hz)
    n_fft: int = 1022
    hop: int = 256
    frames: int = 256  # STFT frames per analysis window (about 6 s)
    log_bins: int = 256  # rows of the log-frequency spectrogram
    k: int = 32  # feature channels per pixel = audio components
    video_frames: int = 3  # frames the video net sees per window
    image_size: int = 224  # square input of the video net
    video_net: str = "resnet18-dilated"  # or "lite", "mobilenetv2"
    video_width: int = 64
    unet_levels: int = 7
    unet_width: int = 64
    unet_final_kernel: int = 3  # the full-resolution output conv; 1 saves ~30 % of the U-Net's work
    labels: tuple[str, ...] = ()  # instrument names of the optional label head
    tagger: str = ""  # "yamnet": an AudioSet tagger tells which of ``labels`` are heard (core.audiotag)
    eyes: str = ""  # "imagenet": ImageNet's classifier tells which of ``labels`` each part of a frame shows (core.eyes)
    refit: int = 0  # rounds of the learned refit of simultaneous picks (``nets.Refit``; 0: none)

    @property
    def window_samples(self) -> int:
        return self.hop * self.frames

    @property
    def window_seconds(self) -> float:
        return self.window_samples / self.sample_rate

    def to_dict(self) -> dict:
        d = asdict(self)
        d["labels"] = list(self.labels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}")
        return cls(**{**d, "labels": tuple(d.get("labels", ()))})


PRESETS: dict[str, ModelConfig] = {
    # The paper's configuration: dilated ResNet-18, 7-level U-Net, K=32, 224 px frames.
    "paper": ModelConfig("paper"),
    # Fast CPU preset: small video net on 128 px frames, 6-level U-Net, K=16.
    "lite": ModelConfig("lite", k=16, image_size=128, video_net="lite", video_width=32,
                        unet_levels=6, unet_width=16, unet_final_kernel=1),
    # Real footage: ImageNet MobileNetV2 trunk (output stride 8: a 20 x 20 grid on 160 px frames) with a
    # trained head, and the lite audio side, so the lite model's U-Net and synthesizer can start it.
    "real": ModelConfig("real", k=16, image_size=160, video_net="mobilenetv2", video_width=128,
                        unet_levels=6, unet_width=16, unet_final_kernel=1),
    # Smallest preset, for smoke tests and very slow machines.
    "tiny": ModelConfig("tiny", k=8, image_size=96, video_net="lite", video_width=16,
                        unet_levels=5, unet_width=8, unet_final_kernel=1),
}
