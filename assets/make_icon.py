"""Draws Skiplane's icon: three layers in a row and the skip connection arching over the middle one.
Writes assets/icon-256.png (the window icon), packaging/linux/icons/<size>x<size>/skiplane.png
(the hicolor sizes the .deb installs), packaging/windows/skiplane.ico and packaging/macos/skiplane.icns
(for cargo-packager's installers and .app). Run: python3 assets/make_icon.py (needs Pillow)."""
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

# Windows and macOS icons for cargo-packager (packaging/Packager.toml): an .ico for the NSIS and MSI
# installers, and an .icns for the .app bundle. Every size is scaled from the 1024 px drawing.
import io
import struct

def scaled(size):
    return img.resize((size, size), Image.LANCZOS)

def ico_frame(size):
    """One frame as Pillow encodes it in a single-image .ico: a 32-bit BMP (DIB with an AND mask)
    below 256 px, which every Windows tool reads; PNG at 256 px, as Windows Vista and later expect."""
    buf = io.BytesIO()
    options = {} if size >= 256 else {"bitmap_format": "bmp"}
    scaled(size).save(buf, format="ICO", sizes=[(size, size)], **options)
    data = buf.getvalue()
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind, count) == (0, 1, 1), (reserved, kind, count)
    entry = data[6:22]
    length, offset = struct.unpack_from("<II", entry, 8)
    return entry[:8], data[offset : offset + length]

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
frames = [ico_frame(size) for size in ICO_SIZES]
header = struct.pack("<HHH", 0, 1, len(frames))
offset = len(header) + 16 * len(frames)
directory, payload = b"", b""
for head, data in frames:
    directory += head + struct.pack("<II", len(data), offset + len(payload))
    payload += data
ico = here.parent / "packaging" / "windows" / "skiplane.ico"
ico.parent.mkdir(parents=True, exist_ok=True)
ico.write_bytes(header + directory + payload)

# Pillow writes the PNG-based ICNS types (ic07-ic14: 32, 64, 128, 256, 512 and 1024 px); give it
# each size scaled with LANCZOS rather than letting it resize.
icns = here.parent / "packaging" / "macos" / "skiplane.icns"
icns.parent.mkdir(parents=True, exist_ok=True)
img.save(icns, format="ICNS", append_images=[scaled(s) for s in (32, 64, 128, 256, 512)])
