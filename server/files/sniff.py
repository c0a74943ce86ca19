"""What an uploaded file really is, read from its first bytes: never from its name or the client's type.

`filetype` (a maintained table of magic numbers) names the content; only PDF,
PNG and JPEG are accepted. A Windows or Linux executable renamed `receipt.pdf`
starts with `MZ` or `\\x7fELF`, is recognised as what it is and refused, and
the stored type is always the sniffed one, so a file is served back with the
type its bytes have.
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype

from server.errors import InvalidRequest

MAX_BYTES = 5 * 1024 * 1024  # 5 MB, Stripe's limit for dispute evidence


@dataclass(frozen=True)
class Kind:
    mime: str
    extension: str  # "pdf", "png", "jpg"


ACCEPTED = {k.mime: k for k in (Kind("application/pdf", "pdf"), Kind("image/png", "png"), Kind("image/jpeg", "jpg"))}
EXECUTABLES = {"application/x-msdownload", "application/x-executable", "application/x-elf", "application/x-mach-binary",
               "application/x-sharedlib", "application/vnd.microsoft.portable-executable"}


def sniff(content: bytes, param: str = "file") -> Kind:
    """The accepted kind of `content`, or a 400 naming `param` and what the content looks like."""
    if not content:
        raise InvalidRequest("the file is empty", param=param)
    if len(content) > MAX_BYTES:
        raise InvalidRequest(f"the file is {len(content):,} bytes; at most {MAX_BYTES:,} bytes (5 MB) are accepted",
                             param=param)
    found = filetype.guess(content)
    if found is not None and found.mime in ACCEPTED:
        return ACCEPTED[found.mime]
    if found is None:
        looks = "its content is of no type we recognise"
    elif found.mime in EXECUTABLES or found.extension in ("exe", "elf", "dll"):
        looks = f"its content is an executable ({found.mime}), whatever its name says"
    else:
        looks = f"its content is {found.mime}"
    raise InvalidRequest(f"only PDF, PNG and JPEG files are accepted: {looks}", param=param)
UPLOAD_MAX_BODY = MAX_BYTES + 64 * 1024  # a multipart body: the file and its fields, boundaries and headers
