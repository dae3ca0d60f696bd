"""Generate the bad-input corpus (nothing downloaded): truncated / zero-byte / mislabelled files of every format,
decompression bombs, broken audio, malformed tables, deep JSON, escaping manifests.

`make_corpus(folder) -> {name: path}`; run as a script to write it to tests/corpus/generated/.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import wave
import zipfile
import zlib
from pathlib import Path

import numpy as np


def _png(width: int = 8, height: int = 8) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, dtype=np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def _png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG that declares 3.6 gigapixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * (width // 8 + 1)
    body = b"".join(compressor.compress(row) for _ in range(256)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def _wav(samples: np.ndarray, rate: int = 16000, subtype: str = "PCM_16") -> bytes:
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def _zip_bomb(members: int = 5, member_mb: int = 64) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        zeros = b"\x00" * (member_mb << 20)
        for index in range(members):
            archive.writestr(f"bomb/{index}.csv", zeros)
    return buffer.getvalue()


def _zip_slip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escaped.txt", "owned")
    return buffer.getvalue()


def _parquet() -> bytes:
    import polars as pl

    buffer = io.BytesIO()
    pl.DataFrame({"text": ["a", "b"], "label": [0, 1]}).write_parquet(buffer)
    return buffer.getvalue()


def make_corpus(folder: str | Path) -> dict[str, Path]:
    """Write every corpus file into `folder`; returns name -> path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png, jpeg, parquet = _png(), _jpeg(), _parquet()
    tone = (0.1 * np.sin(np.linspace(0, 2000, 16000))).astype(np.float32)
    nan_audio = tone.copy()
    nan_audio[100:200] = np.nan
    inf_audio = tone.copy()
    inf_audio[5] = np.inf
    files: dict[str, bytes] = {
        # zero-byte files of every format
        **{f"empty{suffix}": b"" for suffix in (".csv", ".tsv", ".jsonl", ".json", ".parquet", ".data", ".txt", ".png",
                                                ".jpg", ".wav", ".flac", ".dcm", ".nii", ".nii.gz", ".zip", ".en")},
        # truncated files
        "truncated.png": png[: len(png) // 2], "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.parquet": parquet[: len(parquet) // 2], "truncated.wav": _wav(tone)[:30],
        "truncated.zip": _zip_slip()[:20], "truncated.nii": b"\x5c\x01\x00\x00" + b"\x00" * 100,
        "truncated.dcm": b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI",
        # wrong extensions
        "image_named.csv": png, "csv_named.png": b"text,label\nhello,1\n", "text_named.wav": b"hello world\n" * 10,
        "image_named.wav": png, "csv_named.parquet": b"a,b\n1,2\n", "csv_named.nii": b"a,b\n1,2\n",
        # decompression bombs
        "bomb.png": _png_bomb(), "bomb.zip": _zip_bomb(), "slip.zip": _zip_slip(),
        # broken audio
        "nan.wav": _wav(nan_audio, subtype="FLOAT"), "inf.wav": _wav(inf_audio, subtype="FLOAT"),
        "zero_length.wav": _wav(np.zeros(0, dtype=np.float32)), "silence.wav": _wav(np.zeros(16000, dtype=np.float32)),
        # tables
        "missing_columns.csv": b"foo,bar\n1,2\n3,4\n",
        "duplicated_headers.csv": b"text,text,label\na,b,1\nc,d,0\n",
        "mixed_types.csv": b"text,label,value,audio,path,source,target,date,id\nhello,1,3.5,x.wav,x.png,a,b,2020-01-01,1\n"
                           b"42,positive,abc,,,,,not a date,\n,2,,y.wav,y.png,c,d,2020-01-01,1\n",
        "inf_values.csv": b"text,label,value,date\nhi,1,inf,2020-01-01\nho,0,-inf,2020-01-02\nha,1,1e309,2020-01-03\n",
        "non_utf8.csv": b"text,label\n\xff\xfe caf\xe9 \x80,1\nok,0\n",
        "long_text.csv": b"text,label\n" + b"a" * 1_000_000 + b",1\nshort,0\n",
        "header_only.csv": b"text,label\n",
        "deep.json": b"[" * 10_000 + b"]" * 10_000,
        "deep_object.json": (b'{"a":' * 10_000) + b"1" + (b"}" * 10_000),
        "not_json.json": b"{ this is not json",
        "squad_malformed.json": json.dumps({"data": [{"paragraphs": [{"context": 5, "qas": "nope"}]}]}).encode(),
        "manifest_escape.csv": b"audio,text,path,label\n../../etc/passwd,hello,../../etc/passwd,a\n",
        "manifest_absolute.csv": b"audio,text,path,label\n/etc/passwd,hello,/etc/passwd,a\n",
        "manifest_escape.jsonl": b'{"audio": "../../etc/passwd", "text": "hi"}\n',
        "whitespace_ragged.data": b"1 2 3\n4 5\n",
        "junk.data": b"\x00\x01\x02 binary junk \xff\n",
        "junk.bin.txt": bytes(range(256)) * 4,
        "lines.en": b"Hello there.\n\nHow are you?\n",
    }
    paths = {}
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths[name] = path
    # folders: empty, images-without-classes, image folder holding broken files
    for name in ("empty_folder", "flat_images", "broken_imagefolder/a", "broken_imagefolder/b"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    (folder / "flat_images" / "x.png").write_bytes(png)
    (folder / "broken_imagefolder" / "a" / "1.png").write_bytes(png[:40])
    (folder / "broken_imagefolder" / "b" / "2.png").write_bytes(b"not an image")
    paths.update({"empty_folder": folder / "empty_folder", "flat_images": folder / "flat_images",
                  "broken_imagefolder": folder / "broken_imagefolder"})
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("generated")
    print(f"{len(make_corpus(target))} corpus entries in {target}")
