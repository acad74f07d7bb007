import base64
import io

import factory
from PIL import Image, ImageDraw

from dealership.tests.factories import UserFactory, VehicleFactory
from reception.models import Covers, Visit


class VisitFactory(factory.django.DjangoModelFactory):
    """A checked-in visit. Tests that need another status pass `status=` (a test-only shortcut)."""

    class Meta:
        model = Visit

    number = factory.Sequence(lambda n: f"RO-T{n:05d}")
    vehicle = factory.SubFactory(VehicleFactory)
    customer = factory.LazyAttribute(lambda visit: visit.vehicle.owner)
    advisor = factory.SubFactory(UserFactory, roles=["advisor"])
    concern_text = "刹车时有异响"


class WalkedAroundVisitFactory(VisitFactory):
    """A visit whose walk-around is complete but not yet signed."""

    odometer_km = 42_000
    fuel_level = 4
    covers = Covers.THREE
    key_tag = factory.Sequence(lambda n: f"K{n}")


def signature_data_url(*, blank: bool = False) -> str:
    """A PNG data URL as the tablet's canvas sends it: a stroke, or nothing drawn."""
    image = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line([(20, 80), (120, 30), (260, 90)], fill=(0, 0, 0, 255), width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def bomb_png(side: int = 13_000) -> bytes:
    """A 1-bit PNG of side x side white pixels: about 36 KB on the wire, gigabytes once decoded.

    Written row by row with zlib, so making it costs the test no memory.
    """
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def bomb_data_url(side: int = 13_000) -> str:
    return "data:image/png;base64," + base64.b64encode(bomb_png(side)).decode()
