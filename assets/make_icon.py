"""Draws Skiplane's icon: three layers in a row and the skip connection arching over the middle one.
Writes assets/icon-256.png (the window icon) and packaging/linux/icons/<size>x<size>/skiplane.png
(the hicolor sizes the .deb installs). Run: python3 assets/make_icon.py (needs Pillow)."""
from PIL import Image, ImageDraw

S = 1024  # drawn large, then scaled down for smooth edges
img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
d = ImageDraw.Draw(img)
d.rounded_rectangle([40, 40, S - 40, S - 40], radius=200, fill=(28, 46, 74, 255))
y = 640
for x in (230, 512, 794):
    d.rounded_rectangle([x - 95, y - 95, x + 95, y + 95], radius=40, fill=(240, 244, 250, 255))
d.line([(325, y), (417, y)], fill=(120, 170, 230, 255), width=34)
d.line([(607, y), (699, y)], fill=(120, 170, 230, 255), width=34)
d.arc([230, 250, 794, 1030], start=200, end=340, fill=(255, 170, 60, 255), width=56)
d.polygon([(760, 420), (850, 470), (760, 540)], fill=(255, 170, 60, 255))

# The window icon, and the freedesktop hicolor theme sizes the Linux package installs.
import pathlib

here = pathlib.Path(__file__).resolve().parent
img.resize((256, 256), Image.LANCZOS).save(here / "icon-256.png")
for size in (16, 24, 32, 48, 64, 128, 256, 512):
    out = here.parent / "packaging" / "linux" / "icons" / f"{size}x{size}" / "skiplane.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    img.resize((size, size), Image.LANCZOS).save(out)
