"""Frames made of real photos: an instrument photo placed on a backdrop cut from other photos,
sometimes beside a visible photo of another instrument, filmed by a jittering, imperfect camera.

Product shots on a plain background are cut out (their border colour made transparent); other
photos are pasted as soft-edged rectangles. The sounding instrument's box is what is visible of it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from .visuals import background

MARGIN = 1.12  # the canvas is this much larger than a view, so views can jitter inside it


class PhotoBank:
    """Photos by class label: {path: label}; images are decoded (downscaled) on use."""

    def __init__(self, files: dict[Path, int], max_side: int = 512):
        self.paths = sorted(files, key=str)
        self.labels = np.array([files[p] for p in self.paths])
        self.max_side = max_side
        if not self.paths:
            raise ValueError("no photos")

    def classes(self) -> list[int]:
        return sorted(set(self.labels.tolist()))

    def pick(self, rng: np.random.Generator, label: int | None = None, avoid: int | None = None) -> Path:
        """A random photo of ``label`` (any class but ``avoid`` when None)."""
        pool = np.flatnonzero(self.labels == label) if label is not None else np.flatnonzero(self.labels != avoid)
        if len(pool) == 0:
            raise KeyError(f"no photo of class {label}")
        return self.paths[int(pool[rng.integers(len(pool))])]

    def image(self, path: Path) -> Image.Image:
        with Image.open(path) as image:
            image.draft("RGB", (self.max_side, self.max_side))
            image = image.convert("RGB")
        if max(image.size) > self.max_side:
            image.thumbnail((self.max_side, self.max_side), Image.BILINEAR)
        return image


def cutout(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """RGBA of the photo: a product shot's plain border colour made transparent (soft edge), any
    other photo cropped a little with feathered edges."""
    rgb = np.asarray(image, np.float32)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    colour = np.median(border, axis=0)
    if np.mean(np.abs(border - colour)) < 10:
        distance = np.abs(rgb - colour).max(axis=-1)
        alpha = Image.fromarray((np.clip((distance - 12) / 20, 0, 1) * 255).astype(np.uint8))
        alpha = alpha.filter(ImageFilter.MaxFilter(3)).filter(ImageFilter.GaussianBlur(1))
        box = alpha.point(lambda v: 255 if v > 128 else 0).getbbox()
        if box is not None and (box[2] - box[0]) * (box[3] - box[1]) > 0.05 * image.width * image.height:
            rgba = image.copy()
            rgba.putalpha(alpha)
            return rgba.crop(box)
    w, h = image.size
    keep = rng.uniform(0.8, 1.0, 2)
    left, top = rng.uniform(0, 1 - keep[0]) * w, rng.uniform(0, 1 - keep[1]) * h
    image = image.crop((int(left), int(top), int(left + keep[0] * w), int(top + keep[1] * h)))
    feather = max(1, int(min(image.size) * rng.uniform(0.0, 0.06)))
    alpha = Image.new("L", image.size, 0)
    alpha.paste(255, (feather, feather, image.width - feather, image.height - feather))
    rgba = image.copy()
    rgba.putalpha(alpha.filter(ImageFilter.GaussianBlur(feather / 2)) if feather > 1 else alpha)
    return rgba


def jitter_colour(image: Image.Image, rng: np.random.Generator, strength: float = 1.0) -> Image.Image:
    """Brightness, contrast, saturation and a colour cast (RGB or RGBA)."""
    alpha = image.getchannel("A") if image.mode == "RGBA" else None
    rgb = image.convert("RGB")
    for enhance, spread in ((ImageEnhance.Brightness, 0.3), (ImageEnhance.Contrast, 0.3), (ImageEnhance.Color, 0.4)):
        rgb = enhance(rgb).enhance(float(1 + rng.uniform(-spread, spread) * strength))
    cast = 1 + rng.uniform(-0.08, 0.08, 3) * strength
    rgb = Image.fromarray(np.clip(np.asarray(rgb, np.float32) * cast, 0, 255).astype(np.uint8))
    if alpha is not None:
        rgb.putalpha(alpha)
    return rgb


def backdrop(bank: PhotoBank, rng: np.random.Generator, width: int, height: int, avoid: int) -> Image.Image:
    """An RGBA backdrop: a zoomed, blurred region of another photo, or a generated one."""
    if rng.random() < 0.25:
        return background(rng, height, width)
    image = bank.image(bank.pick(rng, avoid=avoid))
    w, h = image.size
    crop = rng.uniform(0.3, 0.7) * min(w, h)
    crop_w, crop_h = (crop, crop * height / width) if width >= height else (crop * width / height, crop)
    left, top = rng.uniform(0, w - crop_w), rng.uniform(0, h - crop_h)
    region = image.crop((int(left), int(top), int(left + crop_w), int(top + crop_h)))
    region = region.resize((width, height), Image.BILINEAR)
    region = region.filter(ImageFilter.GaussianBlur(max(width, height) * rng.uniform(0.004, 0.025)))
    return jitter_colour(region, rng).convert("RGBA")


def paste(canvas: Image.Image, sprite: Image.Image, height: float, centre: tuple[float, float],
          flip: bool) -> np.ndarray:
    """Composite ``sprite`` scaled to ``height`` at ``centre``; returns its visible box (x0, y0, x1, y1)
    in canvas pixels, all zeros when nothing of it is visible."""
    scale = height / sprite.height
    im = sprite.resize((max(1, round(sprite.width * scale)), max(1, round(height))), Image.BILINEAR)
    if flip:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
    left, top = int(round(centre[0] - im.width / 2)), int(round(centre[1] - im.height / 2))
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    layer.paste(im, (left, top))
    canvas.alpha_composite(layer)
    box = layer.getchannel("A").point(lambda v: 255 if v > 64 else 0).getbbox()
    return np.array(box if box is not None else (0, 0, 0, 0), np.float32)


def _fit(sprite: Image.Image, height: float, max_width: float) -> float:
    """``height``, reduced so that the sprite is at most ``max_width`` wide."""
    return min(height, max_width * sprite.height / max(sprite.width, 1))


@dataclass(frozen=True)
class PhotoCamera:
    """Per-clip camera: colour, blur, grain, JPEG quality; views jitter in position and scale."""

    blur: float
    grain: float
    quality: int
    shake: float

    @classmethod
    def random(cls, rng: np.random.Generator) -> "PhotoCamera":
        return cls(blur=rng.uniform(0.3, 1.5) if rng.random() < 0.35 else 0.0,
                   grain=rng.uniform(1, 6) if rng.random() < 0.4 else 0.0,
                   quality=int(rng.integers(30, 95)) if rng.random() < 0.7 else 0,
                   shake=rng.uniform(0.0, 0.04))

    def view(self, canvas: Image.Image, box: np.ndarray, size: int, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
        """One frame (size x size uint8 RGB) from a jittered square of the canvas, and the box in it."""
        side = canvas.width / MARGIN * (1 + rng.uniform(-0.5, 0.5) * self.shake)
        slack = canvas.width - side
        centre = canvas.width / 2 + rng.uniform(-0.5, 0.5, 2) * min(slack, 2 * self.shake * canvas.width)
        x0, y0 = centre - side / 2
        frame = canvas.convert("RGB").resize((size, size), Image.BILINEAR, box=(x0, y0, x0 + side, y0 + side))
        if self.blur:
            frame = frame.filter(ImageFilter.GaussianBlur(self.blur * size / 224))
        pixels = np.asarray(frame, np.float32)
        if self.grain:
            pixels = pixels + rng.normal(0, self.grain, pixels.shape)
        frame = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
        if self.quality:
            encoded = io.BytesIO()
            frame.save(encoded, "JPEG", quality=self.quality)
            frame = Image.open(encoded).convert("RGB")
        moved = (box - np.array([x0, y0, x0, y0])) * size / side
        moved = np.clip(moved, 0, size) if box[2] > box[0] else np.zeros(4, np.float32)
        return np.asarray(frame), moved.astype(np.float32)


def film(bank: PhotoBank, rng: np.random.Generator, label: int, size: int, n_views: int,
         distractor_prob: float = 0.35) -> tuple[np.ndarray, np.ndarray]:
    """(n_views, size, size, 3) uint8 frames showing a photo of ``label``, and its (n_views, 4) boxes
    in pixels: either a close-up filling most of the frame or a smaller player, sometimes with a
    silent player of another class beside it."""
    side = int(round(size * MARGIN))
    canvas = backdrop(bank, rng, side, side, avoid=label)
    player = jitter_colour(cutout(bank.image(bank.pick(rng, label)), rng), rng, 0.6)
    aspect = player.width / player.height
    close_up = rng.random() < 0.3
    if close_up:
        height = rng.uniform(0.75, 1.05) * side / max(1.0, aspect)
        spot = (side / 2 + rng.uniform(-0.08, 0.08) * side, side / 2 + rng.uniform(-0.08, 0.08) * side)
    else:
        height = rng.uniform(0.35, 0.7) * side / max(1.0, aspect * 0.8)
        spot = (rng.uniform(0.3, 0.7) * side, rng.uniform(0.35, 0.65) * side)
    if not close_up and rng.random() < distractor_prob:  # a silent player on the other half
        left = rng.random() < 0.5
        other = jitter_colour(cutout(bank.image(bank.pick(rng, avoid=label)), rng), rng, 0.6)
        spot = ((0.28 if left else 0.72) * side + rng.uniform(-0.04, 0.04) * side, spot[1])
        where = ((0.72 if left else 0.28) * side + rng.uniform(-0.04, 0.04) * side,
                 spot[1] + rng.uniform(-0.1, 0.1) * side)
        paste(canvas, other, _fit(other, height * rng.uniform(0.7, 1.3), 0.42 * side), where, bool(rng.random() < 0.5))
        height = _fit(player, height, 0.42 * side)
    box = paste(canvas, player, height, spot, bool(rng.random() < 0.5))
    camera = PhotoCamera.random(rng)
    views = [camera.view(canvas, box, size, rng) for _ in range(n_views)]
    return np.stack([v[0] for v in views]), np.stack([v[1] for v in views])
