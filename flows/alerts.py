"""Alerts on failed runs: a Prefect automation that reacts to the ingest flow's runs entering
``Failed`` (a run in which any input failed, or that could not write) by posting to a webhook
(Slack, Teams, a chat bot, any URL that takes a JSON POST).

``factsheets alert --webhook-url URL`` sets it up on the server ``PREFECT_API_URL`` points to: a
``CustomWebhookNotificationBlock`` named :data:`BLOCK` and an automation named :data:`NAME`
(both replaced when set up again). The same can be done in the Prefect UI (Automations → a
trigger on "flow run state: Failed" for the flow ``ingest-factsheets`` → action "Send a
notification").
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import cast
from uuid import UUID

#: The names of what :func:`setup_alert` creates on the server.
NAME = "factsheets-ingest-failed"
BLOCK = "factsheets-ingest-failed"
#: What the webhook receives ({{ subject }} and {{ body }} are filled by the action).
PAYLOAD = {"text": "{{subject}}\n{{body}}"}
SUBJECT = "factsheets: an ingest run failed"
BODY = "Flow run {{ flow_run.name }} ended {{ flow_run.state.name }}: {{ flow_run.state.message }}"


def setup_alert(webhook_url: str, flow_name: str = "ingest-factsheets") -> UUID:
    """Create (or replace) the webhook block and the automation; return the automation's id."""
    from prefect.automations import Automation, EventTrigger, SendNotification
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.events.schemas.automations import Posture

    block = CustomWebhookNotificationBlock(name=BLOCK, url=webhook_url, method="POST", json_data=PAYLOAD)
    block_id = block.save(BLOCK, overwrite=True)
    with contextlib.suppress(ValueError):  # none yet
        cast(Automation, Automation.read(name=NAME)).delete()  # sync here: not in an event loop
    automation = cast(Automation, Automation(
        name=NAME,
        description=f"Posts to a webhook when a run of {flow_name} fails",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": flow_name},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[SendNotification(block_document_id=block_id, subject=SUBJECT, body=BODY)],
    ).create())
    assert automation.id is not None
    return automation.id
