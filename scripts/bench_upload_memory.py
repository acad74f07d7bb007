"""Peak memory a signature or photo upload adds to a worker (issue 14: never over 300 MB).

Each case runs in a fresh child process: it reads the prepared upload from disk,
resets its peak RSS (/proc/self/clear_refs) and notes its RSS, hands the upload to
the code the services call
(`signature_refuse_oversized` + `signature_png` for the three signing pads,
`photo_reencode` for damage and finding photos) and reads the peak (VmHWM) again.

    .venv/bin/python scripts/bench_upload_memory.py
"""

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_MB = 300
ROOT = Path(__file__).resolve().parent.parent


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024  # kB
    raise LookupError(key)


def _reset_peak() -> None:
    """Start the high-water mark afresh: Django's start-up peak must not hide the upload's."""
    Path("/proc/self/clear_refs").write_text("5")


def _child(case: str, path: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dealership.errors import DomainError
    from dealership.images import photo_reencode
    from reception.signatures import signature_png, signature_refuse_oversized

    raw = Path(path).read_bytes()
    _reset_peak()
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    try:
        if case.startswith("signature"):
            data = raw.decode()
            signature_refuse_oversized(data)
            signature_png(data)
        else:
            photo_reencode(SimpleUploadedFile(Path(path).name, raw))
        outcome = "stored"
    except DomainError as error:
        outcome = "refused: " + error.messages[0]
    elapsed = time.perf_counter() - started
    growth = _status_mb("VmHWM") - before
    print(f"{case}\t{len(raw) / 1024:.0f} KB\t+{growth:.1f} MB\t{elapsed:.2f} s\t{outcome}")


def _inputs(folder: Path) -> dict[str, Path]:
    import base64

    from PIL import Image

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealership.settings")
    import django

    django.setup()
    from reception.tests.factories import bomb_png

    files = {}
    for side in (13_000, 14_000):
        path = folder / f"bomb{side}.txt"
        path.write_text("data:image/png;base64," + base64.b64encode(bomb_png(side)).decode())
        files[f"signature bomb {side}x{side}"] = path
    for width, height in ((3000, 1000), (4000, 2000)):  # a big pad; the largest allowed
        pad = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        pad.paste((0, 0, 0, 255), (200, 400, width - 200, 420))
        buffer = io.BytesIO()
        pad.save(buffer, format="PNG")
        path = folder / f"pad{width}.txt"
        path.write_text("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode())
        files[f"signature {width}x{height} pad"] = path
    # 49 MP: a smooth scene with some grain, about the size a phone's JPEG has.
    grain = Image.effect_noise((8100, 6050), 12)
    photo = Image.merge(
        "RGB", (grain, Image.linear_gradient("L").resize(grain.size), grain.rotate(180))
    )
    for fmt in ("JPEG",):
        path = folder / f"photo49.{fmt.lower()}"
        photo.save(path, format=fmt, **({"quality": 80} if fmt == "JPEG" else {}))
        files[f"photo 49 MP {fmt}"] = path
    path = folder / "photo49.png"  # a smooth 49 MP PNG stays under the byte limit
    Image.linear_gradient("L").resize((8100, 6050)).convert("RGB").save(path, format="PNG")
    files["photo 49 MP PNG"] = path
    files["photo bomb PNG 14000x14000"] = folder / "bomb14000.png"
    files["photo bomb PNG 14000x14000"].write_bytes(bomb_png(14_000))
    return files


def main() -> int:
    if len(sys.argv) == 3:
        _child(sys.argv[1], sys.argv[2])
        return 0
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        print("case\tupload\tpeak RSS growth\ttime\toutcome")
        for case, path in _inputs(Path(folder)).items():
            result = subprocess.run(  # noqa: S603 - this script with its own arguments
                [sys.executable, "-W", "ignore", __file__, case, str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            line = result.stdout.strip().splitlines()[-1]
            print(line)
            worst = max(worst, float(line.split("\t")[2].strip("+ MB")))
    print(f"worst growth {worst:.1f} MB (limit {LIMIT_MB} MB)")
    return 0 if worst <= LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
