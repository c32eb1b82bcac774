// Auditrail evidence helpers: shrink a photo in the browser before uploading it.
//
//   <script src="/static/evidence.js" defer></script>
//
//   const upload = await Auditrail.shrinkImage(input.files[0]);      // maxSide = 2048
//   formData.append("photo", upload, upload.name || "photo.jpg");
//
// Auditrail.shrinkImage(file, maxSide = 2048) -> Promise<Blob|File>
//   Phones take 10-50 MB photos; on a weak mobile connection that is minutes per photo.
//   When the browser can decode the file (createImageBitmap, orientation "from-image")
//   and encode a canvas (toBlob), a photo whose longest side is over maxSide is scaled
//   down, turned the right way up and re-encoded as JPEG (quality 0.85; transparency on
//   white). The capture time (EXIF DateTimeOriginal / DateTime of a JPEG) is carried over
//   in a minimal EXIF block of its own: no location, no camera data, no orientation tag
//   (the pixels are already upright; copying the tag would turn the photo twice).
//   The promise never rejects: whenever the photo is already small enough, the result
//   would not be smaller, or anything fails, it resolves to the original file unchanged
//   (the server takes full-size photos and does the same processing itself).
//   A file of a type the server does not take (e.g. HEIC, which Safari can decode) is
//   converted even when small. The result is a File (named *.jpg) where File exists.
//
// No DOM wiring here: the page's own script decides when to call it. No inline script.
"use strict";

window.Auditrail = window.Auditrail || {};

(function (Auditrail) {
  const SERVER_TYPES = ["image/jpeg", "image/png", "image/webp"];
  const JPEG_QUALITY = 0.85;
  const EXIF_SCAN_BYTES = 256 * 1024; // the EXIF block sits in the first 64 kB of a JPEG

  function canShrink() {
    return typeof window.createImageBitmap === "function" &&
      typeof HTMLCanvasElement !== "undefined" &&
      typeof HTMLCanvasElement.prototype.toBlob === "function";
  }

  function canvasToBlob(canvas, type, quality) {
    return new Promise((resolve, reject) => {
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("toBlob failed"))),
        type, quality);
    });
  }

  // ---- reading the capture time from the original JPEG's EXIF ----------------------

  // The EXIF TIFF structure of a JPEG (APP1 "Exif\0\0"), or null.
  function findExifTiff(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
    let pos = 2;
    while (pos + 4 <= view.byteLength) {
      if (view.getUint8(pos) !== 0xff) return null;
      const marker = view.getUint8(pos + 1);
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        pos += 2; // markers without a length
        continue;
      }
      if (marker === 0xda || marker === 0xd9) return null; // image data: no EXIF before it
      const length = view.getUint16(pos + 2);
      const start = pos + 4;
      if (marker === 0xe1 && length >= 8 && start + 6 <= view.byteLength &&
          view.getUint32(start) === 0x45786966 && view.getUint16(start + 4) === 0) {
        const end = Math.min(pos + 2 + length, view.byteLength);
        return new DataView(bytes.buffer, bytes.byteOffset + start + 6, end - start - 6);
      }
      pos += 2 + length;
    }
    return null;
  }

  // {tag: "YYYY:MM:DD HH:MM:SS"} of the wanted ASCII tags in the IFD at `offset`.
  function readIfd(tiff, little, offset, wanted, found) {
    if (offset + 2 > tiff.byteLength) return null;
    const count = tiff.getUint16(offset, little);
    let exifIfd = null;
    for (let i = 0; i < count; i++) {
      const entry = offset + 2 + i * 12;
      if (entry + 12 > tiff.byteLength) break;
      const tag = tiff.getUint16(entry, little);
      const type = tiff.getUint16(entry + 2, little);
      const n = tiff.getUint32(entry + 4, little);
      if (tag === 0x8769) exifIfd = tiff.getUint32(entry + 8, little);
      if (wanted.includes(tag) && type === 2 && n >= 19) {
        const at = tiff.getUint32(entry + 8, little); // > 4 bytes: always an offset
        if (at + 19 <= tiff.byteLength) {
          let text = "";
          for (let k = 0; k < 19; k++) text += String.fromCharCode(tiff.getUint8(at + k));
          if (/^\d{4}:\d\d:\d\d \d\d:\d\d:\d\d$/.test(text) && !text.startsWith("0000")) {
            found[tag] = text;
          }
        }
      }
    }
    return exifIfd;
  }

  async function readCaptureTimes(file) {
    try {
      const bytes = new Uint8Array(await file.slice(0, EXIF_SCAN_BYTES).arrayBuffer());
      const tiff = findExifTiff(bytes);
      if (!tiff || tiff.byteLength < 8) return {};
      const order = tiff.getUint16(0);
      if (order !== 0x4949 && order !== 0x4d4d) return {};
      const little = order === 0x4949;
      const found = {};
      const exifIfd = readIfd(tiff, little, tiff.getUint32(4, little), [0x0132, 0x9003], found);
      if (exifIfd) readIfd(tiff, little, exifIfd, [0x9003], found);
      return found;
    } catch (error) {
      return {}; // a photo without a readable capture time is still a photo
    }
  }

  // ---- writing a minimal EXIF block into the new JPEG --------------------------------

  // APP1 segment: IFD0 {DateTime?, ExifIFD pointer?}, Exif IFD {DateTimeOriginal?}.
  function exifSegment(times) {
    const ifd0 = [];
    if (times[0x0132]) ifd0.push([0x0132, times[0x0132]]);
    const original = times[0x9003];
    if (!ifd0.length && !original) return null;
    const ifd0Count = ifd0.length + (original ? 1 : 0);
    const ifd0Size = 2 + ifd0Count * 12 + 4;
    const exifSize = original ? 2 + 12 + 4 : 0;
    const strings = ifd0.length + (original ? 1 : 0);
    const tiffSize = 8 + ifd0Size + exifSize + strings * 20;
    const tiff = new DataView(new ArrayBuffer(tiffSize));
    tiff.setUint16(0, 0x4d4d); // big-endian "MM"
    tiff.setUint16(2, 42);
    tiff.setUint32(4, 8);
    let stringAt = 8 + ifd0Size + exifSize;
    const putString = (at, text) => {
      for (let k = 0; k < 19; k++) tiff.setUint8(at + k, text.charCodeAt(k));
      tiff.setUint8(at + 19, 0);
    };
    const entry = (at, tag, type, count, value) => {
      tiff.setUint16(at, tag);
      tiff.setUint16(at + 2, type);
      tiff.setUint32(at + 4, count);
      tiff.setUint32(at + 8, value);
    };
    tiff.setUint16(8, ifd0Count);
    let at = 10;
    for (const [tag, text] of ifd0) { // tags in ascending order: 0x0132 before 0x8769
      entry(at, tag, 2, 20, stringAt);
      putString(stringAt, text);
      stringAt += 20;
      at += 12;
    }
    if (original) {
      const exifAt = 8 + ifd0Size;
      entry(at, 0x8769, 4, 1, exifAt);
      tiff.setUint32(at + 12, 0); // no next IFD
      tiff.setUint16(exifAt, 1);
      entry(exifAt + 2, 0x9003, 2, 20, stringAt);
      tiff.setUint32(exifAt + 14, 0);
      putString(stringAt, original);
    } else {
      tiff.setUint32(at, 0);
    }
    const header = new Uint8Array([0xff, 0xe1, 0, 0, 0x45, 0x78, 0x69, 0x66, 0, 0]);
    new DataView(header.buffer).setUint16(2, 2 + 6 + tiffSize);
    return [header, new Uint8Array(tiff.buffer)];
  }

  async function withCaptureTimes(jpeg, times) {
    const segment = exifSegment(times);
    if (!segment) return jpeg;
    // right after SOI (FFD8); readers (Pillow too) find APP1 before or after JFIF's APP0
    return new Blob([jpeg.slice(0, 2), ...segment, jpeg.slice(2)], { type: "image/jpeg" });
  }

  // ---- the public helper -------------------------------------------------------------

  // Whether the server takes this file, by its first bytes as the server decides (the
  // browser's file.type comes from the name and is sometimes empty).
  async function serverTakes(file) {
    try {
      const b = new Uint8Array(await file.slice(0, 12).arrayBuffer());
      const text = (from, to) => String.fromCharCode(...b.subarray(from, to));
      return (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) ||
        (b[0] === 0x89 && text(1, 4) === "PNG") ||
        (text(0, 4) === "RIFF" && text(8, 12) === "WEBP");
    } catch (error) {
      return SERVER_TYPES.includes(file.type);
    }
  }

  function asFile(blob, original) {
    if (typeof File !== "function") return blob;
    const base = (original.name || "photo").replace(/\.[^./\\]*$/, "") || "photo";
    return new File([blob], base + ".jpg", {
      type: "image/jpeg",
      lastModified: original.lastModified || Date.now(),
    });
  }

  async function shrinkImage(file, maxSide = 2048) {
    if (!file || typeof file.slice !== "function" || !canShrink()) return file;
    const accepted = await serverTakes(file);
    let bitmap = null;
    const canvas = document.createElement("canvas");
    try {
      bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      const longest = Math.max(bitmap.width, bitmap.height);
      if (!longest) return file;
      if (longest <= maxSide && accepted) return file;
      const scale = Math.min(1, maxSide / longest);
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      const ctx = canvas.getContext("2d");
      if (!ctx) return file;
      ctx.fillStyle = "#fff"; // transparent PNG areas: white, not JPEG's black
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      const jpeg = await canvasToBlob(canvas, "image/jpeg", JPEG_QUALITY);
      if (jpeg.type !== "image/jpeg") return file; // a browser that ignored the type
      if (accepted && jpeg.size >= file.size) return file;
      return asFile(await withCaptureTimes(jpeg, await readCaptureTimes(file)), file);
    } catch (error) {
      return file; // cannot decode (e.g. HEIC on Chrome) or out of memory: send as is
    } finally {
      if (bitmap && typeof bitmap.close === "function") bitmap.close();
      canvas.width = canvas.height = 0; // iOS keeps canvas memory until it is shrunk
    }
  }

  Auditrail.shrinkImage = shrinkImage;
})(window.Auditrail);
