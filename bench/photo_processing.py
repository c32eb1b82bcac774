"""How long process_photo takes on a typical phone photo, and how much memory it needs.

    .venv/bin/python -m bench.photo_processing [runs]

The input is a generated 12-megapixel JPEG (4000x3000, gradients, shapes and sensor-like
noise, so it does not compress trivially: ~3.6 MB, like a phone's) with camera EXIF
including GPS. It is made in a child process, so the peak RSS reported here is the
processing's own (plus the interpreter and Pillow), not the generator's.
"""

from __future__ import annotations

import io
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from PIL import Image, ImageDraw, ImageFilter
from PIL.ExifTags import GPS, IFD, Base

from bench.harness import median, percentile
from server.evidence.images import process_photo

WIDTH, HEIGHT = 4000, 3000
RUNS = 15


def make_photo() -> bytes:
    grad = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    radial = Image.radial_gradient("L").resize((WIDTH, HEIGHT))
    base = Image.merge("RGB", (grad, radial, grad.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    noise = [
        Image.effect_noise((WIDTH, HEIGHT), 80).filter(ImageFilter.GaussianBlur(1))
        for _ in range(3)
    ]
    im = Image.blend(base, Image.merge("RGB", noise), 0.5)
    draw = ImageDraw.Draw(im)
    for i in range(40):
        x, y = i * 97 % WIDTH, i * 53 % HEIGHT
        draw.rectangle((x, y, x + 300, y + 200), outline=(i * 6, 255 - i * 6, 128), width=8)
    exif = Image.Exif()
    exif[Base.Make], exif[Base.Model], exif[Base.Orientation] = "BenchCam", "B-1", 1
    exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = "2024:05:06 07:08:09"
    exif.get_ifd(IFD.GPSInfo).update({GPS.GPSLatitudeRef: "N", GPS.GPSLatitude: (52.0, 31.0, 1.0)})
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=92, exif=exif)
    return buffer.getvalue()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main(runs: int = RUNS) -> None:
    with ProcessPoolExecutor(max_workers=1) as pool:
        data = pool.submit(make_photo).result()
    before = peak_rss_mb()
    timings: list[float] = []
    cpu: list[float] = []  # CPU time: steadier than wall time on a busy machine
    result = None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = process_photo(data)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    assert result is not None
    timings.sort()
    print(f"process_photo, {WIDTH}x{HEIGHT} JPEG, {runs} runs")
    print(f"  input      {len(data) / 1e6:.2f} MB")
    print(
        f"  output     {result.size_bytes / 1e6:.2f} MB  {result.width}x{result.height}"
        f"  thumb {len(result.thumb) / 1e3:.1f} kB  captured_at {result.captured_at}"
    )
    print(f"  median     {median(timings):.0f} ms")
    p90 = percentile(timings, 90)
    print(f"  p90        {p90:.0f} ms  (min {timings[0]:.0f}, max {timings[-1]:.0f})")
    print(f"  CPU time   median {median(cpu):.0f} ms, p90 {percentile(cpu, 90):.0f} ms")
    print(f"  peak RSS   {peak_rss_mb():.0f} MB  (before processing: {before:.0f} MB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else RUNS)
