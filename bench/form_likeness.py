"""Can a perceptual hash tell one signed form, saved again, from another person's copy of the same form?

Draws one consent form template, fills it in for four people (a name and a signature, boxes
ticked), and compares, with a difference hash (dHash) of the whole page at 8x8 and 16x16:

- each filled form against itself saved again: JPEG at quality 60 and 30, half size, brighter,
  more contrast, blurred, a line drawn in a corner (and the same for a phone-like photo of it);
- each pair of different people's filled forms.

If the largest distance within one form is below the smallest between two people's forms, a
threshold exists that treats a re-saved scan as the same form and another person's as another.
This is why `stories/evidence.py` knows a picture by its exact pixels rather than by a perceptual
hash: on the same template, the two ranges overlap.

    .venv/bin/python bench/form_likeness.py
"""

from __future__ import annotations

import io
import itertools
import random
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import report

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
PEOPLE = ("Olive Jones", "Kevin Pritchard", "Margaret Holt", "Olive Jonas")


def template() -> Image.Image:
    page = Image.new("L", (1240, 1754), 255)  # A4 at 150 dpi
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(FONT, 28)
    draw.text((100, 100), "Aireside Befriending Network - Consent form", fill=0, font=font)
    for line in range(12):
        draw.text((100, 220 + line * 90), f"{line + 1}. I agree that my story may be shared as ticked.", fill=40, font=font)
        draw.rectangle((1050, 215 + line * 90, 1085, 250 + line * 90), outline=0, width=3)
    draw.text((100, 1400), "Name:", fill=0, font=font)
    draw.line((220, 1430, 900, 1430), fill=0, width=2)
    draw.text((100, 1550), "Signed:", fill=0, font=font)
    draw.line((220, 1580, 900, 1580), fill=0, width=2)
    return page


def filled(seed: int, name: str) -> Image.Image:
    chance = random.Random(seed)
    page = template()
    draw = ImageDraw.Draw(page)
    draw.text((240, 1385), name, fill=20, font=ImageFont.truetype(FONT, 40))
    draw.line([(240 + i * 12, 1560 + chance.randint(-25, 25)) for i in range(40)], fill=10, width=4)  # a signature
    for line in range(12):
        if chance.random() < 0.7:
            draw.line((1052, 218 + line * 90, 1083, 248 + line * 90), fill=0, width=4)
    return page


def photographed(page: Image.Image, seed: int) -> Image.Image:
    noise = np.random.default_rng(seed)
    page = page.rotate(noise.uniform(-1.5, 1.5), fillcolor=255, resample=Image.BICUBIC)
    pixels = np.asarray(page, dtype=float) * np.linspace(0.85, 1.0, page.width)[None, :] + noise.normal(0, 6, page.size[::-1])
    return Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"))


def jpeg(page: Image.Image, quality: int) -> Image.Image:
    out = io.BytesIO()
    page.convert("RGB").save(out, "JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue()))


def marked(page: Image.Image) -> Image.Image:
    page = page.copy()
    ImageDraw.Draw(page).line((50, 50, 200, 60), fill=0, width=3)
    return page


SAVED_AGAIN: dict[str, Callable[[Image.Image], Image.Image]] = {
    "jpeg 60": lambda page: jpeg(page, 60),
    "jpeg 30": lambda page: jpeg(page, 30),
    "half size": lambda page: page.resize((page.width // 2, page.height // 2)),
    "brighter": lambda page: ImageEnhance.Brightness(page).enhance(1.1),
    "contrast": lambda page: ImageEnhance.Contrast(page).enhance(1.2),
    "blurred": lambda page: page.filter(ImageFilter.GaussianBlur(1.5)),
    "a line in a corner": marked,
}


def dhash(page: Image.Image, size: int) -> np.ndarray:
    grey = np.asarray(page.convert("L").resize((size + 1, size), Image.LANCZOS), dtype=float)
    return (grey[:, 1:] > grey[:, :-1]).flatten()


def main() -> None:
    forms = {name: filled(seed, name) for seed, name in enumerate(PEOPLE)}
    for size in (8, 16):
        within = {
            f"{name}, {how}{' (photo)' if photo else ''}": int(np.count_nonzero(dhash(page, size) != dhash(change(page), size)))
            for name, form in forms.items()
            for photo, page in ((False, form), (True, photographed(form, 1)))
            for how, change in SAVED_AGAIN.items()
        }
        between = {
            f"{a} / {b}": int(np.count_nonzero(dhash(forms[a], size) != dhash(forms[b], size)))
            for a, b in itertools.combinations(PEOPLE, 2)
        }
        worst = max(within, key=within.get)
        closest = min(between, key=between.get)
        print(f"dHash {size}x{size} ({size * size} bits):")
        print(f"  one form saved again: 0-{within[worst]} bits apart (furthest: {worst})")
        print(f"  two people's forms:   {between[closest]}-{max(between.values())} bits apart (closest: {closest})")
        verdict = "a threshold separates them" if within[worst] < between[closest] else "the ranges overlap: no threshold works"
        print(f"  {verdict}")
        report(
            f"signed forms told apart by a {size}x{size} perceptual hash (why evidence.py compares exact pixels)",
            f"within one form 0-{within[worst]} bits, between people {between[closest]}-{max(between.values())} bits",
        )


if __name__ == "__main__":
    main()
