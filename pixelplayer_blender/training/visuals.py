"""Pictures: generated backgrounds and emoji actors that drift and bounce with their music."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .instruments import EMOJI_FONT
from .music import Note

EMOJI_PIXELS = 109  # the only size Noto Color Emoji's bitmaps come in


@lru_cache(maxsize=None)
def sprite(emoji: str) -> Image.Image:
    """The emoji as an RGBA image cropped to its opaque pixels."""
    font = ImageFont.truetype(EMOJI_FONT, EMOJI_PIXELS)
    image = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((4, 4), emoji, font=font, embedded_color=True)
    box = image.getchannel("A").getbbox()
    if box is None:
        raise ValueError(f"the emoji font has no picture for {emoji!r}")
    return image.crop(box)


def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0, 255, 3)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return x / max(h, w), y / max(h, w)


def _noise(rng: np.random.Generator, h: int, w: int, octaves: int = 3) -> np.ndarray:
    """Smooth fractal value noise in [0, 1]."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    cells = int(rng.integers(2, 6))
    for _ in range(octaves):
        grid = Image.fromarray(rng.random((cells, cells)).astype(np.float32), mode="F")
        out += amp * np.asarray(grid.resize((w, h), Image.BICUBIC))
        total += amp
        amp *= 0.5
        cells *= 2
    out /= total
    return (out - out.min()) / (np.ptp(out) + 1e-6)


def _palette(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] through a random two- or three-colour ramp."""
    stops = [_colour(rng) for _ in range(int(rng.integers(2, 4)))]
    t = np.clip(t, 0, 1)[..., None] * (len(stops) - 1)
    i = np.minimum(t.astype(int), len(stops) - 2)
    stops = np.array(stops, np.float32)
    return stops[i[..., 0]] * (1 - (t - i)) + stops[i[..., 0] + 1] * (t - i)


def _gradient(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    x, y = _grid(h, w)
    if rng.random() < 0.5:
        a = rng.uniform(0, 2 * np.pi)
        t = x * np.cos(a) + y * np.sin(a)
    else:
        t = np.hypot(x - rng.uniform(0, w / max(h, w)), y - rng.uniform(0, h / max(h, w))) * 1.5
    return _palette(rng, (t - t.min()) / (np.ptp(t) + 1e-6))


def _clouds(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return _palette(rng, _noise(rng, h, w))


def _pattern(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Stripes, checks, bricks, wood or marble."""
    x, y = _grid(h, w)
    a = rng.uniform(0, np.pi)
    u, v = x * np.cos(a) + y * np.sin(a), -x * np.sin(a) + y * np.cos(a)
    f = rng.uniform(4, 20)
    kind = rng.integers(4)
    if kind == 0:
        t = (np.sin(2 * np.pi * f * u) > 0).astype(np.float32)
    elif kind == 1:
        t = ((np.floor(f * u) + np.floor(f * v)) % 2).astype(np.float32)
    elif kind == 2:
        row = np.floor(f * v)
        t = (((f * v) % 1 < 0.12) | (((f / 2 * u + 0.5 * (row % 2)) % 1) < 0.06)).astype(np.float32)
    else:
        t = 0.5 + 0.5 * np.sin(2 * np.pi * f * (u + 0.4 * rng.uniform(0.2, 1.0) * _noise(rng, h, w)))
    return _palette(rng, t * 0.8 + 0.2 * _noise(rng, h, w))


def _room(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A rough photo of a room: wall, floor, a window or pictures, soft shadows."""
    wall = _gradient(rng, h, w) * 0.6 + _clouds(rng, h, w) * 0.4
    horizon = int(h * rng.uniform(0.55, 0.85))
    wall[horizon:] = _pattern(rng, h, w)[horizon:] * 0.7 + 0.3 * _colour(rng)
    image = Image.fromarray(wall.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 4))):
        x0, y0 = rng.uniform(0, w * 0.85), rng.uniform(0, horizon * 0.6)
        x1, y1 = x0 + rng.uniform(0.08, 0.35) * w, y0 + rng.uniform(0.1, 0.4) * h
        draw.rectangle((x0, y0, x1, y1), fill=tuple(int(c) for c in _colour(rng)),
                       outline=tuple(int(c) for c in _colour(rng)), width=max(1, w // 100))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(max(h, w) * rng.uniform(0.002, 0.012))), np.float32)


def _bokeh(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = Image.fromarray(_gradient(rng, h, w).clip(0, 255).astype(np.uint8))
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(int(rng.integers(8, 30))):
        r = rng.uniform(0.02, 0.12) * max(h, w)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(int(c) for c in _colour(rng)) + (int(rng.integers(40, 160)),))
    layer = layer.filter(ImageFilter.GaussianBlur(max(h, w) * 0.01))
    base.paste(layer, (0, 0), layer)
    return np.asarray(base, np.float32)


BACKGROUNDS = (_gradient, _clouds, _pattern, _room, _bokeh)


def background(rng: np.random.Generator, h: int, w: int) -> Image.Image:
    """A random backdrop as an RGBA image."""
    pixels = BACKGROUNDS[rng.integers(len(BACKGROUNDS))](rng, h, w)
    if rng.random() < 0.5:  # vignette
        x, y = _grid(h, w)
        r = np.hypot(x - 0.5 * w / max(h, w), y - 0.5 * h / max(h, w))
        pixels = pixels * (1 - rng.uniform(0.2, 0.6) * r[..., None] ** 2)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).convert("RGBA")


def recolour(image: Image.Image, rng: np.random.Generator, strength: float = 1.0) -> Image.Image:
    """Hue, saturation, brightness and contrast jitter of an RGBA sprite."""
    rgba = np.asarray(image, np.float32)
    rgb = rgba[..., :3] / 255.0
    a = np.deg2rad(rng.uniform(-20, 20) * strength)
    # hue rotation about the grey axis
    c, s, k = np.cos(a), np.sin(a), 1 / 3
    q = np.sqrt(k)
    rot = np.array([[c + (1 - c) * k, k * (1 - c) - q * s, k * (1 - c) + q * s],
                    [k * (1 - c) + q * s, c + (1 - c) * k, k * (1 - c) - q * s],
                    [k * (1 - c) - q * s, k * (1 - c) + q * s, c + (1 - c) * k]], np.float32)
    rgb = rgb @ rot.T
    grey = rgb.mean(axis=-1, keepdims=True)
    saturation = 0.0 if rng.random() < 0.04 * strength else rng.uniform(1 - 0.4 * strength, 1 + 0.3 * strength)
    rgb = grey + (rgb - grey) * saturation
    rgb = (rgb - 0.5) * rng.uniform(1 - 0.25 * strength, 1 + 0.2 * strength) + 0.5
    rgb *= rng.uniform(1 - 0.25 * strength, 1 + 0.2 * strength)
    rgba[..., :3] = np.clip(rgb * 255.0, 0, 255)
    return Image.fromarray(rgba.astype(np.uint8), "RGBA")


def onset_envelope(notes: list[Note], times: np.ndarray, decay: float = 0.15) -> np.ndarray:
    """How strongly the player is moving at each time: a decaying pulse at every note onset."""
    out = np.zeros(len(times), np.float32)
    for note in notes:
        dt = times - note.onset
        pulse = np.where(dt >= 0, note.velocity / 127 * np.exp(-np.maximum(dt, 0) / decay), 0.0)
        np.maximum(out, pulse, out=out)
    return out


@dataclass
class Actor:
    """An emoji on screen: its look, path and (for players) the pulse it bounces to."""

    image: Image.Image  # recoloured, possibly mirrored sprite at its source resolution
    size: float  # height in pixels of the unscaled sprite on screen
    start: tuple[float, float]  # centre at the start of the clip
    end: tuple[float, float]  # centre at the end of the clip
    angle: float  # degrees
    wobble: float  # degrees of rotation per unit of pulse
    bounce: float  # fraction of size lifted per unit of pulse

    def pose(self, fraction: float, pulse: float) -> tuple[float, float, float, float]:
        """(centre x, centre y, height, angle) at ``fraction`` of the clip, given the pulse there."""
        x = self.start[0] + (self.end[0] - self.start[0]) * fraction
        y = self.start[1] + (self.end[1] - self.start[1]) * fraction - self.bounce * pulse * self.size
        return x, y, self.size * (1 + 0.6 * self.bounce * pulse), self.angle + self.wobble * pulse

    def draw(self, canvas: Image.Image, fraction: float, pulse: float = 0.0) -> tuple[np.ndarray, Image.Image, tuple[int, int]]:
        """Composite onto ``canvas``; returns the box (x0, y0, x1, y1) in canvas pixels clipped to the
        canvas, the placed sprite and its top-left corner."""
        x, y, height, angle = self.pose(fraction, pulse)
        scale = height / self.image.height
        im = self.image.resize((max(1, round(self.image.width * scale)), max(1, round(height))), Image.BILINEAR)
        if abs(angle) > 0.5:
            im = im.rotate(angle, Image.BILINEAR, expand=True)
        left, top = int(round(x - im.width / 2)), int(round(y - im.height / 2))
        W, H = canvas.size
        crop = (max(0, -left), max(0, -top), min(im.width, W - left), min(im.height, H - top))
        box = np.zeros(4, np.float32)
        if crop[2] > crop[0] and crop[3] > crop[1]:
            visible = im.crop(crop)
            canvas.alpha_composite(visible, (left + crop[0], top + crop[1]))
            alpha_box = visible.getchannel("A").point(lambda v: 255 if v > 24 else 0).getbbox()
            if alpha_box is not None:
                box[:] = (alpha_box[0] + left + crop[0], alpha_box[1] + top + crop[1],
                          alpha_box[2] + left + crop[0], alpha_box[3] + top + crop[1])
        return box, im, (left, top)


def look(rng: np.random.Generator, emoji: str, recolour_strength: float = 1.0) -> Image.Image:
    """The emoji recoloured and, half of the time, mirrored."""
    image = recolour(sprite(emoji), rng, recolour_strength)
    return image.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else image


def place(rng: np.random.Generator, image: Image.Image, size: float, width: int, height: int,
          region: tuple[float, float, float, float] | None = None, drift: float = 0.15, moves: bool = True) -> Actor:
    """An actor showing ``image`` at height ``size`` whose path stays inside ``region``
    (x0, y0, x1, y1; default the frame)."""
    x0, y0, x1, y1 = region or (0, 0, width, height)
    half = 0.55 * size * max(1.0, image.width / image.height)
    lo_x, hi_x = x0 + half, max(x0 + half, x1 - half)
    lo_y, hi_y = y0 + 0.66 * size, max(y0 + 0.66 * size, y1 - 0.6 * size)  # room above to bounce into
    start = (rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y))
    step = drift * max(width, height)
    end = (float(np.clip(start[0] + rng.uniform(-step, step), lo_x, hi_x)),
           float(np.clip(start[1] + rng.uniform(-step, step) * 0.5, lo_y, hi_y)))
    return Actor(image, size, start, end, float(rng.uniform(-25, 25)),
                 float(rng.uniform(-8, 8)) if moves else 0.0, float(rng.uniform(0.03, 0.12)) if moves else 0.0)


@dataclass(frozen=True)
class Camera:
    """Per-clip exposure, contrast and sensor grain."""

    contrast: float
    brightness: float
    grain: float

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Camera":
        grain = rng.uniform(1, 8) if rng.random() < 0.5 else 0.0
        return cls(rng.uniform(0.8, 1.15), rng.uniform(-20, 20), grain)

    def develop(self, canvas: Image.Image, rng: np.random.Generator) -> np.ndarray:
        """The frame as uint8 RGB."""
        rgb = np.asarray(canvas.convert("RGB"), np.float32)
        rgb = (rgb - 128) * self.contrast + 128 + self.brightness
        if self.grain > 0:
            rgb += rng.normal(0, self.grain, rgb.shape).astype(np.float32)
        return rgb.clip(0, 255).astype(np.uint8)
