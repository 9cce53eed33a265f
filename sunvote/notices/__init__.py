"""Notices (issue 18): a person's inbox on their own phone page, and the meeting's notices as the
clerk handles them (send again, the letters to print, the signed slips)."""
