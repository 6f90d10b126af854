"""Alert digests: what needs a person, told once, at most one message per digest, through a real chat-webhook
receiver (HTTP on loopback) and a real SMTP server (aiosmtpd), on SQLite and PostgreSQL.

The story: three entries from a person who is no resource and one on an unknown task open two rules
(`time.resource_unknown` x3, `time.task_unknown` x1) and a reconciliation drift one more
(`reconcile.time.missing`): one digest with three lines under three headings, by webhook and by email. Five
more of a rule already told: nothing. NetSuite's circuit opens and closes: one line under "Systems down".
Both channels down: nothing is kept as told, and the next digest after they are back tells it. A restart
tells nothing twice. A rule that cleared and comes back is told again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from fakes import FakeWorld, fake_world

from q2c.config import AlertEmail
from q2c.domain.violations import Violation
from q2c.entrypoints.alert_channels import EmailChannel, WebhookChannel, channels_from, teams_message
from q2c.sandboxes.kit import free_port
from q2c.store import exceptions as exception_store
from q2c.workflows.alerts import Alerts


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.refuse = False

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 try again later"
        self.messages.append(message_from_bytes(envelope.content or b""))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port("127.0.0.1")
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _open(w: FakeWorld, rule: str, record_id: str) -> None:
    with w.hub.engine.begin() as conn:
        exception_store.raise_exception(
            conn, Violation(system="harvest", object="time_entry", record_id=record_id, field="user", rule=rule,
                            message=f"{rule} on {record_id}", action="Fix it in Harvest, then replay"),
            work_kind="time.approved", aggregate=f"time:{record_id}", payload={}, correlation_id=uuid.uuid4().hex)


def test_alert_digests_tell_each_new_rule_and_outage_once(tmp_path: Path, db_url: str,
                                                          smtp: tuple[Inbox, int],
                                                          chat: tuple[list[dict[str, Any]], dict[str, int], str]
                                                          ) -> None:
    inbox, smtp_port = smtp
    bodies, status, url = chat
    w = fake_world(tmp_path, database=db_url)
    email = AlertEmail(host="127.0.0.1", port=smtp_port, sender="q2c@firm.example", to=("finance@firm.example",),
                       tls="none")
    channels = [WebhookChannel(url, console_url="https://q2c.firm.example/exceptions"), EmailChannel(email)]
    alerts = Alerts(w.hub, channels)
    assert alerts.flush() is None  # nothing open, nothing to tell

    for n in (1, 2, 3):
        _open(w, "time.resource_unknown", f"HV-{n}")
    _open(w, "time.task_unknown", "HV-4")
    _open(w, "reconcile.time.missing", "HV-9")
    digest = alerts.flush()
    assert digest is not None
    assert [(ln.heading, ln.title) for ln in digest.lines] == [
        ("drift", "reconcile.time.missing"), ("exceptions", "time.resource_unknown"),
        ("exceptions", "time.task_unknown")]
    assert digest.lines[1].detail.startswith("3 open; first: [time.resource_unknown] harvest time_entry HV-1")
    (chat_body,) = bodies
    assert chat_body["text"].startswith("q2c: 1 reconciliation drifts, 2 new exception rules\n")
    assert "- time.task_unknown: 1 open;" in chat_body["text"]
    assert chat_body["text"].endswith("Open the exception queue: https://q2c.firm.example/exceptions\n")
    (mail,) = inbox.messages
    assert mail["Subject"] == "q2c: 1 reconciliation drifts, 2 new exception rules"
    assert mail["To"] == "finance@firm.example" and "reconcile.time.missing" in mail.get_payload()

    for n in range(5, 10):
        _open(w, "time.resource_unknown", f"HV-{n}")
    assert alerts.flush() is None and len(bodies) == 1  # a rule already told: not again

    alerts.circuit("netsuite", "restlet", "open")
    alerts.circuit("netsuite", "restlet", "closed")
    outage = alerts.flush()
    assert outage is not None and [(ln.heading, ln.title) for ln in outage.lines] == [("circuit", "netsuite restlet")]
    assert "answering again" in outage.lines[0].detail and len(bodies) == 2 and len(inbox.messages) == 2

    status["code"], inbox.refuse = 500, True  # both channels down
    _open(w, "integrity.gl_mismatch", "C-1")
    assert alerts.flush() is None
    status["code"], inbox.refuse = 200, False
    back = alerts.flush()
    assert back is not None and [(ln.heading, ln.title) for ln in back.lines] == [
        ("close_blocker", "integrity.gl_mismatch")]

    restarted = Alerts(w.hub, channels)
    assert restarted.flush() is None  # told before the restart: not again

    with w.hub.engine.begin() as conn:
        for row in exception_store.search(conn, rule="time.task_unknown"):
            exception_store.mark(conn, row.id, status=exception_store.RESOLVED)
    assert restarted.flush() is None  # cleared: forgotten, nothing to tell
    _open(w, "time.task_unknown", "HV-40")
    again = restarted.flush()
    assert again is not None and [ln.title for ln in again.lines] == ["time.task_unknown"]


def test_alert_channels_from_the_config_and_the_teams_card(tmp_path: Path) -> None:
    w = fake_world(tmp_path)
    assert channels_from(w.hub.config.alerts) == [] and not w.hub.config.alerts.enabled
    _open(w, "time.resource_unknown", "HV-1")
    digest = Alerts(w.hub, []).compose()
    assert digest is not None
    card = teams_message(digest, "https://q2c.firm.example/exceptions")
    (attachment,) = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard" and content["body"][0]["text"] == digest.subject
    assert content["actions"][0]["url"] == "https://q2c.firm.example/exceptions"
    assert any("time.resource_unknown" in block["text"] for block in content["body"])

