"""Photo evidence and drawn signatures: check, normalise and re-encode uploaded images.

Pure functions over bytes (no database, no files): the route hands in the upload,
gets back what to store, or an `ImageRejected` carrying the HTTP status to answer.

Why re-encode everything: uploads come from phones with location data, odd
orientations and sizes of 10-50 MB. What we store is a plain JPEG of at most
2048 px with the capture time as the only metadata, so the evidence is small,
shows the right way up everywhere and leaks nothing about where it was taken.
The type is decided from the content, never from the file name.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import io
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from PIL.ExifTags import IFD, Base

from server.core.errors import DomainError
from server.core.i18n import gettext as _

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000  # what a JPEG may state (~ a 50 MP camera): it is decoded reduced
# What is decoded at full size: PNG and WebP as stated, JPEG after draft (which keeps less
# than 2 x 2048 a side, ~17 MP). 20 MP admits a 16 MP phone photo saved as PNG; decoded as
# RGBA (4 bytes a pixel, and Pillow premultiplies alpha into a second copy to resize) that
# is ~170 MB, where a 49 MP PNG of 200 KB took 450 MB.
MAX_DECODED_PIXELS = 20_000_000
# Decodes at once, process-wide: with the budget above, 8 uploads at a time stay well
# under 1 GB (measured: +374 MB for eight 20 MP RGBA PNGs). Decoding is CPU-bound, so
# more slots would add memory rather than speed on a small server.
DECODE_SLOTS = 2
MAX_SIDE = 2048
THUMB_SIDE = 320
JPEG_QUALITY = 85
THUMB_QUALITY = 80
SIGNATURE_MAX_SIDE = 4000

PHOTO_FORMATS = ["JPEG", "PNG", "WEBP"]
# MPO = a JPEG with extra frames (depth maps, previews), as many phones write
_JPEG_FORMATS = {"JPEG", "MPO"}
_EXIF_TIME = "%Y:%m:%d %H:%M:%S"


@dataclass(frozen=True)
class ProcessedImage:
    """What to store: `data` (and its `sha256`), a thumbnail, and facts for the Photo row."""

    data: bytes
    thumb: bytes
    content_type: str
    extension: str  # without the dot
    width: int
    height: int
    sha256: str
    # The camera's clock: aware when the photo states its UTC offset (EXIF 2.31),
    # else naive wall-clock time, which the caller places in a zone.
    captured_at: datetime | None
    size_bytes: int

    @classmethod
    def stored(cls, data: bytes, thumb: bytes, image: Image.Image, fmt: str,
               captured_at: datetime | None = None) -> ProcessedImage:
        """The record of `data`, the encoding of `image` as JPEG or PNG."""
        return cls(
            data=data,
            thumb=thumb,
            content_type=f"image/{fmt.lower()}",
            extension="jpg" if fmt == "JPEG" else fmt.lower(),
            width=image.width,
            height=image.height,
            sha256=hashlib.sha256(data).hexdigest(),
            captured_at=captured_at,
            size_bytes=len(data),
        )


class ImageRejected(DomainError):
    """An upload we refuse: `status` is the HTTP status to answer (413, 415 or 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message, status=status)


# -- detection ---------------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The image format by magic bytes: "JPEG", "PNG", "WEBP" or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _check_upload(data: bytes) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(
            413, _("The file is larger than %(limit)d MB.", limit=MAX_UPLOAD_BYTES // 2**20)
        )
    if not data:
        raise ImageRejected(422, _("The file is empty."))


def _unreadable() -> ImageRejected:
    return ImageRejected(422, _("The image could not be read: the file is damaged or incomplete."))


def _open(data: bytes, formats: list[str]) -> Image.Image:
    """Open (header only, no pixels decoded yet), turning Pillow's refusals into 422."""
    try:
        return Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit (~89 MP warns, twice that raises) lies above MAX_PIXELS, so a
        # warning that is not raised is followed by our own refusal in _check_pixels.
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        # the magic bytes matched, so this is a broken file rather than another type
        raise _unreadable() from None


def _too_many_pixels(limit: int = MAX_PIXELS) -> ImageRejected:
    return ImageRejected(
        422, _("The image is too large: at most %(limit)d megapixels.", limit=limit // 10**6)
    )


def _check_pixels(im: Image.Image, limit: int = MAX_PIXELS) -> None:
    width, height = im.size
    if width < 1 or height < 1:
        raise _unreadable()
    if width * height > limit:
        raise _too_many_pixels(limit)


def _load(im: Image.Image) -> None:
    try:
        im.load()
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except Exception:  # decoders of untrusted input raise many kinds: all mean "broken"
        raise _unreadable() from None


# -- metadata ----------------------------------------------------------------------------


def parse_exif_time(value: object) -> datetime | None:
    """An EXIF date-time ("2024:05:06 07:08:09", NUL-padded, sometimes with - or T) or None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 ").replace("T", " ")
    if len(text) < 19:
        return None
    text = text[:19]
    if text[4] == "-" and text[7] == "-":
        text = text[:4] + ":" + text[5:7] + ":" + text[8:]
    try:
        parsed = datetime.strptime(text, _EXIF_TIME)
    except ValueError:
        return None  # includes the "0000:00:00 00:00:00" of cameras without a clock
    return parsed if parsed.year >= 1970 else None


_OFFSET_RE = re.compile(r"([+-])([0-9]{2}):([0-9]{2})")
# Each time tag and the tag (in the Exif IFD) that gives its UTC offset.
_OFFSET_OF = {Base.DateTimeOriginal: Base.OffsetTimeOriginal, Base.DateTime: Base.OffsetTime}


def parse_exif_offset(value: object) -> timezone | None:
    """An EXIF offset ("+08:00", NUL-padded) as a fixed zone, or None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    match = _OFFSET_RE.fullmatch(value.strip("\x00 "))
    if match is None or int(match[2]) > 14 or int(match[3]) > 59:
        return None
    delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
    return timezone(-delta if match[1] == "-" else delta)


def _capture_times(exif: Image.Exif) -> dict[int, datetime]:
    """The known capture-related times of the input, by the tag we write them under;
    aware where the input gives the offset."""
    times: dict[int, datetime] = {}
    original = parse_exif_time(exif.get_ifd(IFD.Exif).get(Base.DateTimeOriginal))
    if original is None:  # some writers put it in IFD0
        original = parse_exif_time(exif.get(Base.DateTimeOriginal))
    if original is not None:
        times[Base.DateTimeOriginal] = original
    changed = parse_exif_time(exif.get(Base.DateTime))
    if changed is not None:
        times[Base.DateTime] = changed
    for tag, moment in times.items():
        offset = parse_exif_offset(exif.get_ifd(IFD.Exif).get(_OFFSET_OF[tag]))
        if offset is not None:
            times[tag] = moment.replace(tzinfo=offset)
    return times


def _exif_bytes(times: dict[int, datetime]) -> bytes:
    """An EXIF block holding only DateTimeOriginal (Exif IFD) and DateTime (IFD0), and
    their offsets where known."""
    exif = Image.Exif()
    if Base.DateTime in times:
        exif[Base.DateTime] = times[Base.DateTime].strftime(_EXIF_TIME)
    if Base.DateTimeOriginal in times:
        exif.get_ifd(IFD.Exif)[Base.DateTimeOriginal] = times[Base.DateTimeOriginal].strftime(
            _EXIF_TIME
        )
    for tag, moment in times.items():
        if moment.tzinfo is not None:
            offset = moment.strftime("%z")  # "+0800"
            exif.get_ifd(IFD.Exif)[_OFFSET_OF[tag]] = f"{offset[:3]}:{offset[3:5]}"
    return exif.tobytes()


def _read_exif(im: Image.Image) -> Image.Exif:
    try:
        return im.getexif()
    except Exception:  # a broken EXIF block must not cost the photo: it is dropped anyway
        return Image.Exif()


# -- pixels ------------------------------------------------------------------------------


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` scaled so the longest side is at most `side` (never enlarged)."""
    width, height = size
    scale = side / max(width, height)
    if scale >= 1:
        return size
    return max(1, round(width * scale)), max(1, round(height * scale))


def _workable(im: Image.Image) -> Image.Image:
    """One of L, LA, RGB, RGBA: the modes that resample well (P and 1 would use NEAREST)."""
    mode = im.mode
    if mode in ("L", "RGB") and "transparency" in im.info:  # a PNG colour key (tRNS)
        return im.convert("LA" if mode == "L" else "RGBA")
    if mode in ("L", "LA", "RGB", "RGBA"):
        return im
    if mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    if mode in ("PA", "La", "RGBa"):
        return im.convert("RGBA")
    if mode == "1":
        return im.convert("L")
    if mode.startswith(("I", "F")):  # 16-bit grey PNG: scale to 8 bits instead of clipping
        return im.convert("I").point(lambda v: v / 256).convert("L")
    if mode == "CMYK" and im.info.get("icc_profile"):
        converted = _to_srgb(im, im.info["icc_profile"])
        if converted is not None:
            return converted
    return im.convert("RGB")


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image | None:
    """Colours converted from the embedded profile (e.g. Display P3 of phones) to sRGB.

    The profile itself is dropped with the other metadata, so without this step wide-gamut
    photos would look washed out. None if the profile is unusable.
    """
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode == "RGB" and "srgb" in ImageCms.getProfileDescription(source).lower():
            return im
        converted = ImageCms.profileToProfile(im, source, _srgb(), outputMode="RGB")
    except Exception:  # ImageCms raises PyCMSError, OSError, ... for odd profiles
        return None
    return converted if isinstance(converted, Image.Image) else None


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _flatten(im: Image.Image) -> Image.Image:
    """RGB; transparent parts become white (as on the page), not JPEG's black."""
    if im.mode in ("RGBA", "LA"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im if im.mode == "RGB" else im.convert("RGB")


def _downscaled(im: Image.Image, side: int) -> Image.Image:
    """At most `side` px, in a workable mode; converted after the downscaling where the
    mode resamples as it is, so no second full-size copy is made (16-bit grey, CMYK)."""
    if im.mode in ("P", "PA", "1") or "transparency" in im.info:
        return _resized(_workable(im), side)  # palettes and 1-bit resample only as NEAREST
    return _workable(_resized(im, side))


def _resized(im: Image.Image, side: int) -> Image.Image:
    target = _fit(im.size, side)
    if target == im.size:
        return im
    # Bicubic: by eye the same as Lanczos at these ratios, 30 % faster (the resize is the
    # costliest step). reducing_gap: a fast integer box reduction first for big ratios.
    return im.resize(target, Image.Resampling.BICUBIC, reducing_gap=3.0)


def _orient(im: Image.Image) -> None:
    """Turn the pixels the way the camera's EXIF (or XMP) orientation says, in place."""
    with contextlib.suppress(Exception):  # unreadable orientation: keep the pixels as they are
        ImageOps.exif_transpose(im, in_place=True)


def _encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    im.info = {}  # Pillow re-writes comment/XMP/ICC found in .info: store nothing of it
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def _thumbnail(im: Image.Image, fmt: str, **options: object) -> bytes:
    return _encode(_resized(im, THUMB_SIDE), fmt, **options)


# -- entry points ------------------------------------------------------------------------


def process_photo(data: bytes) -> ProcessedImage:
    """Check an uploaded photo and re-encode it for storage (JPEG, <= 2048 px, no metadata
    but the capture time). Raises ImageRejected (413, 415 or 422)."""
    _check_upload(data)
    kind = sniff(data)
    if kind is None:
        raise ImageRejected(415, _("We accept only JPEG, PNG and WebP photos."))
    im = _open(data, PHOTO_FORMATS)
    expected = _JPEG_FORMATS if kind == "JPEG" else {kind}
    if im.format not in expected:
        raise _unreadable()
    _check_pixels(im)  # before a single pixel is decoded

    if im.format in _JPEG_FORMATS:
        # let libjpeg decode at 1/2, 1/4 or 1/8 scale: draft keeps at least the target size
        im.draft("RGB", _fit(im.size, MAX_SIDE))
    _check_pixels(im, MAX_DECODED_PIXELS)  # the size that will be decoded, after draft
    _load(im)
    exif = _read_exif(im)  # after load: a PNG may carry its eXIf chunk after the pixels
    times = _capture_times(exif)
    icc = im.info.get("icc_profile")

    try:
        work = _downscaled(im, MAX_SIDE)
        # orientation on the small image: cheaper, and the 2048 box is square anyway
        if work is im:
            work = im.copy()
        work.info = dict(im.info)
        _orient(work)
        out = _flatten(work)
        if icc and im.mode != "CMYK":
            out = _to_srgb(out, icc) or out
        stored = _encode(
            out,
            "JPEG",
            quality=JPEG_QUALITY,
            progressive=True,
            optimize=True,
            exif=_exif_bytes(times) if times else b"",
        )
        thumb = _thumbnail(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
    except ImageRejected:
        raise
    except Exception:
        raise _unreadable() from None

    return ProcessedImage.stored(
        stored, thumb, out, "JPEG", times.get(Base.DateTimeOriginal) or times.get(Base.DateTime)
    )


def process_signature(data: bytes) -> ProcessedImage:
    """Check a signature drawn on a canvas (PNG, at most 4000x4000) and store it as a clean
    PNG that keeps its transparency. Raises ImageRejected (413, 415 or 422)."""
    _check_upload(data)
    if sniff(data) != "PNG":
        raise ImageRejected(415, _("A signature must be a PNG image."))
    im = _open(data, ["PNG"])
    _check_pixels(im, MAX_DECODED_PIXELS)
    if max(im.size) > SIGNATURE_MAX_SIDE:
        raise ImageRejected(
            422,
            _(
                "The signature image is too large: at most %(limit)d × %(limit)d pixels.",
                limit=SIGNATURE_MAX_SIDE,
            ),
        )
    _load(im)
    try:
        work = _workable(im)
        if work is im:
            work = im.copy()
        if work.mode in ("RGBA", "LA") and work.getbbox(alpha_only=True) is None:
            raise ImageRejected(422, _("The signature is empty."))
        stored = _encode(work, "PNG", optimize=True)
        thumb = _thumbnail(work, "PNG", optimize=True)
    except ImageRejected:
        raise
    except Exception:
        raise _unreadable() from None

    return ProcessedImage.stored(stored, thumb, work, "PNG")


# Decoding runs in threads of its own, at most DECODE_SLOTS at once: uploads beyond that
# wait in the queue holding only their bytes, and the default executor (file saves, DNS)
# stays free. The context is copied so refusals speak the request's language.
_DECODERS = ThreadPoolExecutor(max_workers=DECODE_SLOTS, thread_name_prefix="image-decode")


async def in_decoder(process: Callable[[bytes], ProcessedImage], data: bytes
                     ) -> ProcessedImage:
    """`process(data)` (process_photo or process_signature) off the event loop."""
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_DECODERS, context.run, process, data)
