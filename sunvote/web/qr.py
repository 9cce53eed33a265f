"""QR codes shown on pages: the poster, the hall screen's check-in code, the phone enrolment,
the cloud invitation, and a ballot receipt itself (for the offline browser verifier)."""

from __future__ import annotations

import qrcode
import qrcode.exceptions
import qrcode.image.svg


def qr_svg_text(data: str) -> str:
    """A QR code of ``data`` as inline SVG."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10,
                        border=2)
    return image.to_string(encoding="unicode")


def receipt_qr_svg(receipt: str) -> str | None:
    """A QR code holding a whole receipt file (its record and tlog-proof, about 1.4 KB), for
    the browser verifier to scan or read from a screenshot (docs/browser-verifier.md): the
    lowest error correction and a quiet zone of four modules, so that it stays readable at
    its size. None if the receipt is too long for any QR code."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=4,
                         box_size=10, image_factory=qrcode.image.svg.SvgPathImage)
    code.add_data(receipt.encode("utf-8"))
    try:
        code.make(fit=True)
    except qrcode.exceptions.DataOverflowError:
        return None
    return code.make_image().to_string(encoding="unicode")
