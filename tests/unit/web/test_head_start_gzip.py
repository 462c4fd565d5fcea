"""gzip with the page's beginning compressed once: the same bytes as compressing it whole."""

import gzip
import zlib

import pytest

from gantong.web.assets import HeadStartGzip

pytestmark = pytest.mark.nodb

HEAD = b"<!doctype html><title>x</title><style>" + b".e5 .qr{animation-delay:5s}\n" * 400
HEAD += b"</style>"


def whole(body: bytes, level: int = 6) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


def test_pages_sharing_a_beginning_come_out_as_if_compressed_whole():
    gzip_of = HeadStartGzip(6)
    for tail in (b"<main>one</main>", b"<main>two, longer " * 50 + b"</main>", b""):
        body = HEAD + tail
        compressed = gzip_of.compress(body, len(HEAD))
        assert gzip.decompress(compressed) == body
        assert compressed == whole(body)
    assert len(gzip_of._started) == 1  # one beginning kept, used three times


def test_other_beginnings_are_kept_apart_and_bounded():
    gzip_of = HeadStartGzip(6, capacity=2)
    for n in range(5):
        head = HEAD.replace(b"<title>x", b"<title>" + str(n).encode())
        body = head + b"<main>" + str(n).encode() * 20 + b"</main>"
        assert gzip.decompress(gzip_of.compress(body, len(head))) == body
        assert len(gzip_of._started) <= 2
