"""A tiny image helper for uploads (no tests here)."""

import io

from PIL import Image


def png_bytes(colour=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="PNG")
    return buffer.getvalue()
