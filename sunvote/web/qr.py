"""QR codes shown on pages: the poster, the hall screen's check-in code, the phone enrolment and
the cloud invitation."""

from __future__ import annotations

import qrcode
import qrcode.image.svg


def qr_svg_text(data: str) -> str:
    """A QR code of ``data`` as inline SVG."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10,
                        border=2)
    return image.to_string(encoding="unicode")
