"""Where alert digests go: a chat webhook and email, built from `alerts:` in the config.

The webhook speaks Slack's incoming-webhook JSON (`{"text": ...}`) or, with `webhook_format: teams`, the
message a Teams Workflows webhook takes (an Adaptive Card attachment). Email goes through the standard
library's `smtplib` (STARTTLS, implicit TLS or plain, with a login when configured): it is what talks SMTP
in Python, and a relay is all a firm's mail setup needs. A channel that fails raises; `Alerts` logs it and
tries again with the next digest.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

import httpx

from q2c.config import AlertEmail, AlertSettings
from q2c.workflows.alerts import HEADINGS, AlertChannel, Digest


class WebhookChannel:
    def __init__(self, url: str, *, fmt: str = "slack", console_url: str | None = None,
                 timeout_seconds: float = 10.0) -> None:
        self.name = f"webhook ({fmt})"
        self.url, self.fmt, self.console_url, self.timeout = url, fmt, console_url, timeout_seconds

    def body(self, digest: Digest) -> dict[str, Any]:
        if self.fmt == "teams":
            return teams_message(digest, self.console_url)
        return {"text": digest.text(self.console_url)}

    def send(self, digest: Digest) -> None:
        answer = httpx.post(self.url, json=self.body(digest), timeout=self.timeout)
        if answer.status_code >= 300:
            raise RuntimeError(f"{self.url} answered HTTP {answer.status_code}: {answer.text[:200]}")


def teams_message(digest: Digest, console_url: str | None) -> dict[str, Any]:
    body: list[dict[str, Any]] = [{"type": "TextBlock", "text": digest.subject, "weight": "Bolder", "size": "Medium",
                                   "wrap": True}]
    for heading, title in HEADINGS.items():
        lines = [ln for ln in digest.lines if ln.heading == heading]
        if lines:
            body.append({"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True})
            body.extend({"type": "TextBlock", "text": f"**{ln.title}**: {ln.detail}", "wrap": True} for ln in lines)
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                            "version": "1.4", "body": body}
    if console_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the exception queue", "url": console_url}]
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                "contentUrl": None, "content": card}]}


class EmailChannel:
    def __init__(self, settings: AlertEmail, *, console_url: str | None = None) -> None:
        self.name = f"email ({settings.host}:{settings.port})"
        self.settings, self.console_url = settings, console_url

    def message(self, digest: Digest) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = digest.subject
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.settings.to)
        msg.set_content(digest.text(self.console_url))
        return msg

    def send(self, digest: Digest) -> None:
        s = self.settings
        if s.tls == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        with smtp:
            if s.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.username:
                smtp.login(s.username, s.password or "")
            smtp.send_message(self.message(digest))


def channels_from(settings: AlertSettings) -> list[AlertChannel]:
    channels: list[AlertChannel] = []
    if settings.webhook_url is not None:
        channels.append(WebhookChannel(settings.webhook_url, fmt=settings.webhook_format,
                                       console_url=settings.console_url))
    if settings.email is not None:
        channels.append(EmailChannel(settings.email, console_url=settings.console_url))
    return channels
