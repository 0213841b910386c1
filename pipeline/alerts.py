"""Failure alerts: a Slack-compatible webhook and e-mail, configured by the environment.

Nothing is sent unless configured: ``ALERT_WEBHOOK_URL`` (any endpoint that accepts Slack's
incoming-webhook JSON: Slack, Mattermost, Rocket.Chat, Teams workflows, a relay) and/or
``ALERT_EMAIL_TO`` (comma-separated) with ``SMTP_HOST`` (``SMTP_PORT`` default 25,
``SMTP_FROM``, optional ``SMTP_USER``/``SMTP_PASSWORD`` and ``SMTP_STARTTLS=1``). The link
to the run uses ``DAGSTER_UI_URL`` (default http://127.0.0.1:3000).

This module has no Dagster import: the run-failure sensor in orchestration/ builds a
:class:`FailureAlert` from the failed run and hands it to :func:`send_alert`.
"""

from __future__ import annotations

import json
import os
import smtplib
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage

ERROR_LINES = 5
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class AlertSettings:
    webhook_url: str = ""
    email_to: tuple[str, ...] = ()
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "customer-intel@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    ui_url: str = "http://127.0.0.1:3000"

    @classmethod
    def from_env(cls) -> AlertSettings:
        env = os.environ
        return cls(
            webhook_url=env.get("ALERT_WEBHOOK_URL", "").strip(),
            email_to=tuple(
                a.strip() for a in env.get("ALERT_EMAIL_TO", "").split(",") if a.strip()
            ),
            smtp_host=env.get("SMTP_HOST", "").strip(),
            smtp_port=int(env.get("SMTP_PORT") or 25),
            smtp_from=env.get("SMTP_FROM") or "customer-intel@localhost",
            smtp_user=env.get("SMTP_USER", ""),
            smtp_password=env.get("SMTP_PASSWORD", ""),
            smtp_starttls=env.get("SMTP_STARTTLS", "").lower() in {"1", "true", "yes"},
            ui_url=(env.get("DAGSTER_UI_URL") or "http://127.0.0.1:3000").rstrip("/"),
        )

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.email_to)

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url) or self.email_enabled


@dataclass(frozen=True)
class FailureAlert:
    job: str
    run_id: str
    failed_steps: tuple[str, ...]
    error: str
    tags: dict[str, str] = field(default_factory=dict)

    def run_url(self, ui_url: str) -> str:
        return f"{ui_url}/runs/{self.run_id}"

    @property
    def error_head(self) -> str:
        lines = [line for line in self.error.strip().splitlines() if line.strip()]
        return "\n".join(lines[:ERROR_LINES]) or "(no error message)"

    @property
    def subject(self) -> str:
        steps = ", ".join(self.failed_steps) or "the run"
        return f"[customer-intel] {self.job} failed: {steps}"

    def text(self, ui_url: str) -> str:
        trigger = self.tags.get("pipeline/trigger", "")
        return "\n".join(
            [
                self.subject,
                f"run: {self.run_url(ui_url)}" + (f" (trigger: {trigger})" if trigger else ""),
                "",
                self.error_head,
            ]
        )

    def slack_payload(self, ui_url: str) -> dict:
        """Slack's incoming-webhook JSON: ``text`` for any client, ``blocks`` for Slack."""
        url = self.run_url(ui_url)
        steps = ", ".join(f"`{s}`" for s in self.failed_steps) or "the run"
        return {
            "text": self.text(ui_url),
            "blocks": [
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f":red_circle: *{self.job}* failed in {steps}: "
                        f"<{url}|open the run>",
                    },
                },
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": f"```{self.error_head}```"},
                },
            ],
        }


def post_webhook(url: str, payload: dict, timeout_s: float = TIMEOUT_S) -> int:
    """POST ``payload`` as JSON; the HTTP status (an error status raises)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
        return response.status


def send_email(settings: AlertSettings, subject: str, body: str) -> None:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(settings.email_to)
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)


def send_alert(alert: FailureAlert, settings: AlertSettings) -> list[str]:
    """Send ``alert`` on every configured channel; what was sent, one line each. A channel
    that fails raises after the others were tried."""
    sent, errors = [], []
    if settings.webhook_url:
        try:
            status = post_webhook(settings.webhook_url, alert.slack_payload(settings.ui_url))
            sent.append(f"webhook: HTTP {status}")
        except OSError as error:
            errors.append(f"webhook {settings.webhook_url}: {error}")
    if settings.email_enabled:
        try:
            send_email(settings, alert.subject, alert.text(settings.ui_url))
            sent.append(f"e-mail to {', '.join(settings.email_to)}")
        except (OSError, smtplib.SMTPException) as error:
            errors.append(f"e-mail via {settings.smtp_host}:{settings.smtp_port}: {error}")
    if errors:
        raise RuntimeError("; ".join(errors) + (f" (sent: {'; '.join(sent)})" if sent else ""))
    return sent
