"""E-mail over SMTP (the standard library's smtplib): STARTTLS, SSL or plain as configured, with
a login when a user is set. The Message-ID is derived from the notice's idempotency key, so a
copy sent twice carries the same Message-ID (mail readers show one)."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from sunvote.services.channels.base import NotConfigured, Outcome, Outgoing, rejected, retry, sent


def message_id(key: str, sender: str) -> str:
    """``<meeting.12.p3.email@the sender's domain>``: the key's characters that a Message-ID
    cannot hold become dots."""
    domain = sender.rpartition("@")[2].strip(">") or "sunvote.invalid"
    return f"<{re.sub(r'[^A-Za-z0-9!#$%&*+/=?^_`{|}~-]+', '.', key).strip('.')}@{domain}>"


def build(outgoing: Outgoing, sender: str, subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = outgoing.address
    mail["Subject"] = subject
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = message_id(outgoing.key, sender)
    mail.set_content(outgoing.message)
    return mail


def deliver(outgoing: Outgoing, config: dict[str, Any]) -> Outcome:
    if not config.get("host") or not config.get("from"):
        raise NotConfigured("email")
    tls = config.get("tls") or "starttls"  # starttls | ssl | none
    timeout = float(config.get("timeout", 10))
    port = int(config.get("port") or (465 if tls == "ssl" else 587))
    mail = build(outgoing, config["from"], config.get("subject") or "阳光票决通知")
    try:
        smtp: smtplib.SMTP = (smtplib.SMTP_SSL(config["host"], port, timeout=timeout,
                                               context=ssl.create_default_context())
                              if tls == "ssl" else
                              smtplib.SMTP(config["host"], port, timeout=timeout))
        with smtp:
            if tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if config.get("user"):
                smtp.login(config["user"], config.get("password") or "")
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        code, words = next(iter(exc.recipients.values()))
        text = words.decode(errors="replace") if isinstance(words, bytes) else str(words)
        detail = f"smtp {code}: {text}"
        return rejected(detail) if code >= 500 else retry(detail)
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        detail = f"smtp {exc.smtp_code}: {text}"
        # 5xx on a message that reached the server: refused for good (a 530/535 login refusal
        # is the server's settings being fixed, so tried again).
        permanent = exc.smtp_code >= 500 and exc.smtp_code not in (530, 534, 535)
        return rejected(detail) if permanent else retry(detail)
    except (smtplib.SMTPException, OSError) as exc:
        return retry(f"smtp {type(exc).__name__}: {exc}")
    return sent(mail["Message-ID"])
