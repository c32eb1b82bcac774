"""Photo and signature processing, and photo storage: real images made with Pillow."""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from PIL.ExifTags import GPS, IFD, Base

from server.evidence import storage
from server.evidence.images import (
    DECODE_SLOTS,
    MAX_DECODED_PIXELS,
    MAX_UPLOAD_BYTES,
    ImageRejected,
    ProcessedImage,
    in_decoder,
    parse_exif_offset,
    parse_exif_time,
    process_photo,
    process_signature,
    sniff,
)

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


# -- helpers -----------------------------------------------------------------------------


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def quadrants(width: int, height: int) -> Image.Image:
    """Top-left red, top-right green, bottom-left blue, bottom-right white."""
    im = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=RED)
    draw.rectangle((width // 2, 0, width - 1, height // 2 - 1), fill=GREEN)
    draw.rectangle((0, height // 2, width // 2 - 1, height - 1), fill=BLUE)
    return im


def camera_exif(**tags: object) -> Image.Exif:
    exif = Image.Exif()
    exif[Base.Make] = "SecretCam"
    exif[Base.Model] = "Model X-42"
    for name, value in tags.items():
        exif[Base[name]] = value
    return exif


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height (1-bit grey) with almost no pixel data: a bomb's
    header costs nothing to make, and a careless decoder would allocate the whole image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * 256)  # the start of the first row only
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", rows)
        + chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header (SOF0) is patched to claim another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16), RED), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def rejected(data: bytes, status: int, *, signature: bool = False) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        (process_signature if signature else process_photo)(data)
    assert caught.value.status == status, caught.value.message
    assert caught.value.message
    return caught.value


# -- orientation, metadata ---------------------------------------------------------------


def test_exif_orientation_6_is_applied() -> None:
    # Stored landscape 120x80; orientation 6 means "turn 90 degrees clockwise to view".
    data = encode(quadrants(120, 80), "JPEG", quality=95, exif=camera_exif(Orientation=6))
    result = process_photo(data)
    out = opened(result.data)
    assert (result.width, result.height) == (80, 120) == out.size
    # after a clockwise turn: blue top-left, red top-right, white bottom-left, green bottom-right
    assert close_to(out.getpixel((20, 30)), BLUE)
    assert close_to(out.getpixel((60, 30)), RED)
    assert close_to(out.getpixel((20, 90)), WHITE)
    assert close_to(out.getpixel((60, 90)), GREEN)
    assert Base.Orientation not in out.getexif()  # or viewers would turn it once more
    thumb = opened(result.thumb)
    assert thumb.size == (80, 120)
    assert close_to(thumb.getpixel((60, 30)), RED)


def test_orientation_applied_to_large_drafted_jpeg() -> None:
    # 6000x4000 is decoded at half scale (draft), then scaled and turned
    data = encode(quadrants(6000, 4000), "JPEG", quality=80, exif=camera_exif(Orientation=8))
    result = process_photo(data)
    out = opened(result.data)
    assert out.size == (1365, 2048)
    # orientation 8 = turn 90 degrees anticlockwise: green top-left, white top-right
    assert close_to(out.getpixel((300, 500)), GREEN)
    assert close_to(out.getpixel((1000, 500)), WHITE)
    assert close_to(out.getpixel((300, 1500)), RED)
    assert close_to(out.getpixel((1000, 1500)), BLUE)


def test_gps_and_camera_data_removed_capture_time_kept() -> None:
    exif = camera_exif(DateTime="2024:05:07 10:00:00")
    exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = "2024:05:06 07:08:09"
    exif.get_ifd(IFD.Exif)[Base.BodySerialNumber] = "SN-998877"
    exif.get_ifd(IFD.GPSInfo).update(
        {
            GPS.GPSLatitudeRef: "N",
            GPS.GPSLatitude: (52.0, 31.0, 12.5),
            GPS.GPSLongitudeRef: "E",
            GPS.GPSLongitude: (13.0, 24.0, 3.25),
        }
    )
    source = quadrants(64, 48)
    data = encode(
        source,
        "JPEG",
        exif=exif,
        comment=b"shot at the secret site",
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>secret location</x:xmpmeta>",
    )
    assert opened(data).getexif().get_ifd(IFD.GPSInfo)  # the input really has GPS

    result = process_photo(data)
    assert result.captured_at == datetime(2024, 5, 6, 7, 8, 9)
    out = opened(result.data)
    stored = out.getexif()
    assert not stored.get_ifd(IFD.GPSInfo)
    assert IFD.GPSInfo not in stored
    assert set(stored) == {Base.DateTime, IFD.Exif}
    assert stored[Base.DateTime] == "2024:05:07 10:00:00"
    assert dict(stored.get_ifd(IFD.Exif)) == {Base.DateTimeOriginal: "2024:05:06 07:08:09"}
    for secret in (b"SecretCam", b"X-42", b"SN-998877", b"secret", b"xmpmeta"):
        assert secret not in result.data
    assert "comment" not in out.info and "xmp" not in out.info and "icc_profile" not in out.info
    thumb = opened(result.thumb)
    assert not thumb.getexif() and "exif" not in thumb.info


def test_capture_time_from_datetime_when_no_original() -> None:
    data = encode(quadrants(40, 30), "JPEG", exif=camera_exif(DateTime="2023:12:31 23:59:58"))
    result = process_photo(data)
    assert result.captured_at == datetime(2023, 12, 31, 23, 59, 58)
    stored = opened(result.data).getexif()
    assert stored[Base.DateTime] == "2023:12:31 23:59:58"
    assert not stored.get_ifd(IFD.Exif)  # no invented DateTimeOriginal


def test_capture_offset_makes_the_time_aware_and_is_kept() -> None:
    exif = camera_exif(DateTime="2024:05:07 10:00:00")
    exif.get_ifd(IFD.Exif).update({Base.DateTimeOriginal: "2024:05:06 07:08:09",
                                   Base.OffsetTimeOriginal: "+02:00",
                                   Base.OffsetTime: "+99:00"})  # impossible: ignored
    result = process_photo(encode(quadrants(40, 30), "JPEG", exif=exif))
    assert result.captured_at == datetime(2024, 5, 6, 7, 8, 9,
                                          tzinfo=timezone(timedelta(hours=2)))
    stored = opened(result.data).getexif()
    assert stored[Base.DateTime] == "2024:05:07 10:00:00"
    assert dict(stored.get_ifd(IFD.Exif)) == {Base.DateTimeOriginal: "2024:05:06 07:08:09",
                                              Base.OffsetTimeOriginal: "+02:00"}


@pytest.mark.parametrize(("value", "hours"), [
    ("+08:00", 8), ("-05:30", -5.5), (b"+00:00\x00", 0), ("+8:00", None), ("+15:00", None),
    ("08:00", None), ("", None), (None, None), (800, None),
])
def test_exif_offsets(value: object, hours: float | None) -> None:
    zone = parse_exif_offset(value)
    if hours is None:
        assert zone is None
    else:
        assert zone == timezone(timedelta(hours=hours))


def test_no_exif_means_no_metadata_at_all() -> None:
    result = process_photo(encode(quadrants(40, 30), "JPEG", icc_profile=b"not a profile"))
    assert result.captured_at is None
    out = opened(result.data)
    assert "exif" not in out.info and not out.getexif()
    assert "icc_profile" not in out.info


def test_bogus_capture_time_is_ignored() -> None:
    exif = camera_exif(DateTime="0000:00:00 00:00:00")
    exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = "garbage"
    result = process_photo(encode(quadrants(40, 30), "JPEG", exif=exif))
    assert result.captured_at is None
    assert not opened(result.data).getexif()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024:05:06 07:08:09", datetime(2024, 5, 6, 7, 8, 9)),
        ("2024:05:06 07:08:09\x00", datetime(2024, 5, 6, 7, 8, 9)),
        (b"2024:05:06 07:08:09", datetime(2024, 5, 6, 7, 8, 9)),
        ("2024-05-06T07:08:09+02:00", datetime(2024, 5, 6, 7, 8, 9)),
        ("0000:00:00 00:00:00", None),
        ("    :  :     :  :  ", None),
        ("2024:13:40 07:08:09", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_parse_exif_time(value: object, expected: datetime | None) -> None:
    assert parse_exif_time(value) == expected


# -- formats -----------------------------------------------------------------------------


def test_png_with_alpha_is_composited_on_white() -> None:
    im = Image.new("RGBA", (100, 80), (0, 0, 0, 0))
    ImageDraw.Draw(im).rectangle((50, 0, 99, 79), fill=(255, 0, 0, 255))
    result = process_photo(encode(im, "PNG"))
    assert result.content_type == "image/jpeg" and result.extension == "jpg"
    out = opened(result.data)
    assert out.format == "JPEG" and out.mode == "RGB" and out.size == (100, 80)
    assert close_to(out.getpixel((10, 40)), WHITE)  # not black
    assert close_to(out.getpixel((90, 40)), RED)


def test_palette_png_with_transparency() -> None:
    im = Image.new("P", (60, 40), 0)
    im.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    ImageDraw.Draw(im).rectangle((30, 0, 59, 39), fill=1)
    result = process_photo(encode(im, "PNG", transparency=0))
    out = opened(result.data)
    assert close_to(out.getpixel((5, 20)), WHITE)
    assert close_to(out.getpixel((50, 20)), BLUE)


def test_rgb_png_with_colour_key_transparency() -> None:
    im = quadrants(60, 40)
    result = process_photo(encode(im, "PNG", transparency=RED))  # tRNS: red is transparent
    out = opened(result.data)
    assert close_to(out.getpixel((5, 5)), WHITE)
    assert close_to(out.getpixel((50, 5)), GREEN)


def test_webp_accepted() -> None:
    result = process_photo(encode(quadrants(200, 100), "WEBP", quality=90))
    out = opened(result.data)
    assert out.format == "JPEG" and out.size == (200, 100)
    assert close_to(out.getpixel((50, 25)), RED)
    assert close_to(out.getpixel((150, 75)), WHITE)


def test_cmyk_jpeg_becomes_rgb() -> None:
    result = process_photo(encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG"))
    out = opened(result.data)
    assert out.mode == "RGB"
    assert close_to(out.getpixel((20, 15)), RED, tolerance=60)


def test_16_bit_grey_png_is_scaled_not_clipped() -> None:
    result = process_photo(encode(Image.new("I;16", (40, 30), 40000), "PNG"))
    red, green, blue = opened(result.data).getpixel((20, 15))
    assert red == green == blue
    assert abs(red - 40000 // 256) <= 3


def test_mpo_from_phone_camera_accepted() -> None:
    first, depth = quadrants(80, 60), Image.new("RGB", (80, 60), (9, 9, 9))
    data = encode(first, "MPO", save_all=True, append_images=[depth])
    assert opened(data).format == "MPO"
    out = opened(process_photo(data).data)
    assert close_to(out.getpixel((10, 10)), RED)


def test_large_photo_scaled_to_2048_with_thumbnail_320() -> None:
    im = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    data = encode(im, "JPEG", quality=90)
    result = process_photo(data)
    assert (result.width, result.height) == (2048, 1536)
    out = opened(result.data)
    assert out.size == (2048, 1536)
    assert out.info.get("progressive") or out.info.get("progression")
    assert opened(result.thumb).size == (320, 240)
    assert opened(result.thumb).format == "JPEG"
    assert result.size_bytes == len(result.data) < len(data)


def test_portrait_photo_scaled_on_its_long_side() -> None:
    result = process_photo(encode(quadrants(3000, 4000), "JPEG", quality=70))
    assert (result.width, result.height) == (1536, 2048)
    assert opened(result.thumb).size == (240, 320)


def test_small_photo_not_upscaled() -> None:
    result = process_photo(encode(quadrants(640, 480), "JPEG"))
    assert (result.width, result.height) == (640, 480)
    assert opened(result.thumb).size == (320, 240)
    tiny = process_photo(encode(quadrants(200, 100), "JPEG"))
    assert (tiny.width, tiny.height) == (200, 100)
    assert opened(tiny.thumb).size == (200, 100)


def test_content_decides_not_the_file_name(tmp_path: Path) -> None:
    misnamed = tmp_path / "photo.png"
    misnamed.write_bytes(encode(quadrants(64, 48), "JPEG"))
    assert sniff(misnamed.read_bytes()) == "JPEG"
    result = process_photo(misnamed.read_bytes())
    assert result.content_type == "image/jpeg"
    assert close_to(opened(result.data).getpixel((5, 5)), RED)

    fake = tmp_path / "photo.jpg"
    fake.write_text("this is not a photo\n")
    rejected(fake.read_bytes(), 415)


def test_sha256_and_size_describe_the_stored_bytes() -> None:
    result = process_photo(encode(quadrants(300, 200), "PNG"))
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert result.size_bytes == len(result.data)
    assert process_photo(encode(quadrants(300, 200), "PNG")).sha256 == result.sha256


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"just some text, not a picture", id="text"),
        pytest.param(
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
            b'height="10"><script>alert(document.cookie)</script></svg>',
            id="svg-with-script",
        ),
        pytest.param(b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF", id="pdf"),
        pytest.param(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, id="heic"),
        pytest.param(b"<html><body onload=alert(1)></body></html>", id="html"),
    ],
)
def test_not_an_accepted_type_is_415(data: bytes) -> None:
    error = rejected(data, 415)
    assert "JPEG, PNG and WebP" in error.message


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO"])
def test_other_real_image_formats_are_415(fmt: str) -> None:
    rejected(encode(quadrants(32, 32), fmt), 415)


def test_truncated_jpeg_is_422() -> None:
    im = Image.effect_noise((400, 300), 60).convert("RGB")
    data = encode(im, "JPEG", quality=90)
    error = rejected(data[: len(data) // 2], 422)
    assert "damaged" in error.message
    rejected(data[:20], 422)  # not even a whole header


def test_truncated_png_is_422() -> None:
    data = encode(Image.effect_noise((300, 200), 60), "PNG")
    rejected(data[: len(data) // 2], 422)


def test_empty_upload_is_422() -> None:
    rejected(b"", 422)


def test_oversized_upload_is_413_before_anything_else() -> None:
    error = rejected(b"\xff\xd8\xff" + b"\x00" * MAX_UPLOAD_BYTES, 413)
    assert "25" in error.message
    rejected(b"GIF89a" + b"\x00" * MAX_UPLOAD_BYTES, 413, signature=True)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(png_header_only(30_000, 30_000), id="png-900MP"),  # Pillow's own limit
        pytest.param(png_header_only(10_000, 10_000), id="png-100MP"),  # Pillow only warns
        pytest.param(png_header_only(8_000, 8_000), id="png-64MP"),  # Pillow is silent: ours
        pytest.param(png_header_only(50_000_001, 1), id="png-thin"),
        pytest.param(jpeg_claiming(30_000, 30_000), id="jpeg-900MP"),
        pytest.param(jpeg_claiming(9_000, 6_000), id="jpeg-54MP"),
    ],
)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.serial  # timed
def test_decompression_bomb_refused_without_decoding(data: bytes) -> None:
    assert len(data) < 10_000
    started = time.perf_counter()
    error = rejected(data, 422)
    assert time.perf_counter() - started < 1.0  # decoding 64-900 MP would take seconds
    assert "megapixels" in error.message


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_warning_as_error_is_422() -> None:
    rejected(png_header_only(10_000, 10_000), 422)


# -- the pixel budget and the decode slots -----------------------------------------------


@pytest.mark.parametrize(
    "size", [(7000, 7000), (5000, 4001), (20_000, 1001)], ids=["49MP", "20MP+", "thin"]
)
def test_png_above_the_decode_budget_refused_without_decoding(size: tuple[int, int]) -> None:
    # a PNG cannot be decoded reduced: 7000 x 7000 RGBA in 208 KB cost 450 MB decoded
    assert size[0] * size[1] > MAX_DECODED_PIXELS
    started = time.perf_counter()
    error = rejected(png_header_only(*size), 422)
    assert time.perf_counter() - started < 1.0
    assert "20 megapixels" in error.message


def test_webp_above_the_decode_budget_refused() -> None:
    data = bytearray(encode(Image.new("RGB", (64, 64), RED), "WEBP", lossless=True))
    # VP8L header: 14 bits width-1, 14 bits height-1 after the signature byte 0x2f
    at = data.index(b"VP8L") + 8
    assert data[at] == 0x2F
    bits = (6000 - 1) | ((6000 - 1) << 14) | (int.from_bytes(data[at + 1:at + 5], "little")
                                             & ~((1 << 28) - 1))
    data[at + 1:at + 5] = bits.to_bytes(4, "little")
    assert "20 megapixels" in rejected(bytes(data), 422).message


def test_a_16_megapixel_png_is_still_accepted() -> None:
    # a phone photo saved as PNG: just under the budget with room to spare
    result = process_photo(encode(quadrants(4624, 3468), "PNG", compress_level=1))
    assert (result.width, result.height) == (2048, 1536)
    assert close_to(opened(result.data).getpixel((10, 10)), RED)


def test_a_48_megapixel_jpeg_is_decoded_reduced_within_the_budget() -> None:
    # JPEG states up to 50 MP; draft decodes it at 1/2 (4000 x 3000) instead of 48 MP
    result = process_photo(encode(quadrants(8000, 6000), "JPEG", quality=60))
    assert (result.width, result.height) == (2048, 1536)
    assert close_to(opened(result.data).getpixel((2040, 1530)), WHITE)


def test_16_bit_grey_is_downscaled_before_it_is_converted(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    # converted first, it made three full-size copies (I;16, I, I) of 2 to 4 bytes a pixel
    sizes: list[tuple[int, int]] = []
    convert = Image.Image.convert

    def recording(self: Image.Image, *args: Any, **kwargs: Any) -> Image.Image:
        sizes.append(self.size)
        return convert(self, *args, **kwargs)

    data = encode(Image.new("I;16", (4096, 4096), 40_000), "PNG", compress_level=1)
    monkeypatch.setattr(Image.Image, "convert", recording)
    result = process_photo(data)
    assert (result.width, result.height) == (2048, 2048)
    assert sizes and max(sizes) <= (2048, 2048)
    assert abs(opened(result.data).getpixel((100, 100))[0] - 40_000 // 256) <= 2


def test_no_more_than_the_decode_slots_run_at_once() -> None:
    from server.core import i18n

    running, most = 0, 0
    lock = threading.Lock()

    def process(data: bytes) -> ProcessedImage:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        raise ImageRejected(422, i18n.current_language.get())  # the request's language

    async def eight() -> list[BaseException | ProcessedImage]:
        i18n.current_language.set("zh-CN")
        return await asyncio.gather(*(in_decoder(process, b"") for _ in range(8)),
                                    return_exceptions=True)

    # in a thread: Playwright's tests may leave an event loop running in this one
    with ThreadPoolExecutor(max_workers=1) as pool:
        outcomes = pool.submit(asyncio.run, eight()).result()
    assert most == DECODE_SLOTS == 2
    assert [getattr(o, "message", None) for o in outcomes] == ["zh-CN"] * 8


# -- signatures --------------------------------------------------------------------------


def drawn_signature(width: int = 600, height: int = 200) -> Image.Image:
    im = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(im).line([(20, 150), (200, 40), (380, 160), (580, 50)], fill="#111", width=6)
    return im


def test_signature_kept_as_png_with_transparency() -> None:
    source = encode(drawn_signature(), "PNG", pnginfo=_png_text("Author", "someone@example"))
    result = process_signature(source)
    assert (result.content_type, result.extension) == ("image/png", "png")
    assert result.captured_at is None
    assert result.sha256 == hashlib.sha256(result.data).hexdigest()
    assert result.size_bytes == len(result.data)
    out = opened(result.data)
    assert out.format == "PNG" and out.mode == "RGBA" and out.size == (600, 200)
    assert out.getpixel((5, 5))[3] == 0  # background stays transparent
    assert out.getpixel((110, 95)) == (17, 17, 17, 255)  # on the first stroke
    assert b"someone@example" not in result.data and not out.text
    thumb = opened(result.thumb)
    assert thumb.format == "PNG" and thumb.size == (320, 107) and thumb.mode == "RGBA"


def _png_text(key: str, value: str) -> object:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "GIF"])
def test_signature_must_be_png(fmt: str) -> None:
    rejected(encode(drawn_signature().convert("RGB"), fmt), 415, signature=True)
    rejected(b"<svg><script>alert(1)</script></svg>", 415, signature=True)


def test_signature_too_large_or_empty_or_broken() -> None:
    rejected(encode(Image.new("L", (4001, 10), 0), "PNG"), 422, signature=True)
    assert process_signature(encode(drawn_signature(4000, 300), "PNG")).width == 4000
    blank = encode(Image.new("RGBA", (300, 100), (0, 0, 0, 0)), "PNG")
    empty = rejected(blank, 422, signature=True)
    assert "empty" in empty.message
    data = encode(drawn_signature(), "PNG")
    rejected(data[: len(data) // 2], 422, signature=True)
    rejected(png_header_only(30_000, 30_000), 422, signature=True)


# -- storage -----------------------------------------------------------------------------


def test_storage_save_resolve_remove(tmp_path: Path) -> None:
    image = process_photo(encode(quadrants(64, 48), "JPEG"))
    rel, thumb_rel = storage.save(tmp_path, 12, image)
    assert rel.startswith("photos/12/") and rel.endswith(".jpg")
    assert thumb_rel == rel.removesuffix(".jpg") + "_thumb.jpg"
    assert len(Path(rel).stem) == 32
    assert storage.resolve(tmp_path, rel).read_bytes() == image.data
    assert storage.resolve(tmp_path, thumb_rel).read_bytes() == image.thumb
    assert storage.resolve(tmp_path, rel) == (tmp_path / rel).resolve()
    assert sorted(p.name for p in (tmp_path / "photos" / "12").iterdir()) == sorted(
        [Path(rel).name, Path(thumb_rel).name]
    )  # no temporary files left
    hashed = hashlib.sha256(storage.resolve(tmp_path, rel).read_bytes()).hexdigest()
    assert hashed == image.sha256

    again, _ = storage.save(tmp_path, 12, image)
    assert again != rel  # a fresh name every time

    storage.remove(tmp_path, rel)
    storage.remove(tmp_path, thumb_rel)
    assert not (tmp_path / rel).exists() and not (tmp_path / thumb_rel).exists()
    storage.remove(tmp_path, rel)  # already gone: quiet


def test_storage_save_refuses_bad_audit_ids(tmp_path: Path) -> None:
    image = ProcessedImage(b"x", b"y", "image/jpeg", "jpg", 1, 1, "0" * 64, None, 1)
    for bad in (0, -1, True, "12/../..", None):
        with pytest.raises(ValueError):
            storage.save(tmp_path, bad, image)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        storage.save(tmp_path, 1, ProcessedImage(b"x", b"y", "a", "../x", 1, 1, "", None, 1))
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "rel_path",
    [
        "",
        "photos",
        "photos/",
        "/etc/passwd",
        "../secret_key",
        "photos/../secret_key",
        "photos/12/../../secret_key",
        "photos/./12/a.jpg",
        "photos/12/..",
        "other/12/a.jpg",
        "secret_key",
        "C:/Windows/win.ini",
        "photos\\..\\secret_key",
        "photos/12/a.jpg\x00.png",
    ],
)
def test_storage_resolve_refuses_traversal(tmp_path: Path, rel_path: str) -> None:
    (tmp_path / "secret_key").write_text("s3cret")
    with pytest.raises(ValueError):
        storage.resolve(tmp_path, rel_path)
    with pytest.raises(ValueError):
        storage.remove(tmp_path, rel_path)
    assert (tmp_path / "secret_key").read_text() == "s3cret"


def test_storage_resolve_refuses_symlink_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.jpg").write_bytes(b"private")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "7").symlink_to(outside)
    with pytest.raises(ValueError):
        storage.resolve(tmp_path, "photos/7/x.jpg")
    with pytest.raises(ValueError):
        storage.remove(tmp_path, "photos/7/x.jpg")
    assert (outside / "x.jpg").exists()


def test_storage_remove_refuses_a_folder(tmp_path: Path) -> None:
    storage.save(tmp_path, 3, process_photo(encode(quadrants(20, 20), "PNG")))
    with pytest.raises(ValueError):
        storage.remove(tmp_path, "photos/3")
    assert len(list((tmp_path / "photos" / "3").iterdir())) == 2


def test_truncated_jpeg_stays_refused_once_pdf_rendering_is_loaded() -> None:
    # WeasyPrint's import flips Pillow's global LOAD_TRUNCATED_IMAGES on.
    import server.reports.pdf  # noqa: F401

    im = Image.effect_noise((400, 300), 60).convert("RGB")
    data = encode(im, "JPEG", quality=90)
    assert "damaged" in rejected(data[: len(data) // 2], 422).message
