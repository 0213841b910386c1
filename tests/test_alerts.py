"""Failure alerts: a failed run reaches a local webhook receiver and a local SMTP sink, both
on 127.0.0.1; nothing is sent when nothing is configured."""

from __future__ import annotations

import json
import socketserver
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DefaultSensorStatus,
    Definitions,
    SkipReason,
    asset,
    build_run_status_sensor_context,
    define_asset_job,
)

from orchestration.definitions import defs
from orchestration.sensors import failure_alerts_sensor
from pipeline.alerts import AlertSettings

ALERT_VARIABLES = ("ALERT_WEBHOOK_URL", "ALERT_EMAIL_TO", "SMTP_HOST", "SMTP_PORT", "SMTP_FROM")


@asset
def staging_clean_stand_in() -> None:
    raise ValueError("landing/day2.csv: row 17, column unit_price: 'abc' is not a number")


FAILING = Definitions(assets=[staging_clean_stand_in], jobs=[define_asset_job("refresh", "*")])


@pytest.fixture
def failed_run_context():
    """The run-failure sensor's context for a failed run of a one-step job."""
    with DagsterInstance.ephemeral() as instance:
        result = FAILING.resolve_job_def("refresh").execute_in_process(
            instance=instance, raise_on_error=False, tags={"pipeline/trigger": "landing_sensor"}
        )
        (record,) = instance.get_records_for_run(
            result.run_id, of_type=DagsterEventType.RUN_FAILURE
        ).records
        yield build_run_status_sensor_context(
            sensor_name="failure_alerts",
            dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
        ).for_run_failure()


@pytest.fixture
def no_alert_settings(monkeypatch):
    for name in ALERT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def webhook_receiver():
    """An HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts", received
    server.shutdown()
    server.server_close()


class _SmtpSink(socketserver.StreamRequestHandler):
    """Enough of SMTP (RFC 5321) for smtplib: greet, EHLO, MAIL, RCPT, DATA, QUIT."""

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self._reply("220 127.0.0.1 sink")
        envelope = {"rcpt": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in {"EHLO", "HELO"}:
                self._reply("250 127.0.0.1")
            elif verb == "MAIL":
                envelope["from"] = command
                self._reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(command)
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with .")
                body = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    body += chunk
                self.server.messages.append((envelope, message_from_bytes(body)))
                self._reply("250 OK queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 OK")


@pytest.fixture
def smtp_sink():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SmtpSink)
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], server.messages
    server.shutdown()
    server.server_close()


def test_a_failed_run_is_posted_to_the_webhook(
    failed_run_context, webhook_receiver, no_alert_settings
):
    url, received = webhook_receiver
    no_alert_settings.setenv("ALERT_WEBHOOK_URL", url)
    no_alert_settings.setenv("DAGSTER_UI_URL", "http://127.0.0.1:3000/")
    failure_alerts_sensor(failed_run_context)
    (payload,) = received
    run_id = failed_run_context.dagster_run.run_id
    assert "refresh failed: staging_clean_stand_in" in payload["text"]
    assert f"http://127.0.0.1:3000/runs/{run_id}" in payload["text"]
    assert "row 17, column unit_price" in payload["text"]
    assert "trigger: landing_sensor" in payload["text"]
    assert payload["blocks"][0]["type"] == "section"
    assert "row 17" in payload["blocks"][1]["text"]["text"]


def test_a_failed_run_is_mailed_through_smtp(failed_run_context, smtp_sink, no_alert_settings):
    port, messages = smtp_sink
    no_alert_settings.setenv("SMTP_HOST", "127.0.0.1")
    no_alert_settings.setenv("SMTP_PORT", str(port))
    no_alert_settings.setenv("ALERT_EMAIL_TO", "oncall@example.org, data@example.org")
    failure_alerts_sensor(failed_run_context)
    ((envelope, message),) = messages
    assert len(envelope["rcpt"]) == 2
    assert message["Subject"] == "[customer-intel] refresh failed: staging_clean_stand_in"
    body = message.get_payload()
    assert "row 17, column unit_price" in body and "/runs/" in body


def test_an_unreachable_webhook_fails_the_tick_loudly(failed_run_context, no_alert_settings):
    no_alert_settings.setenv("ALERT_WEBHOOK_URL", "http://127.0.0.1:9/nothing-listens")
    with pytest.raises(RuntimeError, match="webhook http://127.0.0.1:9"):
        failure_alerts_sensor(failed_run_context)


def test_alerts_are_off_when_nothing_is_configured(failed_run_context, no_alert_settings):
    assert not AlertSettings.from_env().enabled
    result = failure_alerts_sensor(failed_run_context)
    assert isinstance(result, SkipReason)
    sensor = defs.resolve_sensor_def("failure_alerts")
    assert sensor.default_status == DefaultSensorStatus.STOPPED
