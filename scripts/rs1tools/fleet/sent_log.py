"""The telemetry sent-log: what the fleet published, for a message ledger that must balance.

Every telemetry publish (opticworks/{id}/telemetry/...) is one *copy* of a message id: the
first copy, plus a deliberate duplicate now and then (same message_id, see SimDevice.send).
A copy is *acked* when the broker returned its PUBACK (QoS 1). A copy whose publish raised
(the link died before the PUBACK) counts as sent, not acked: it may or may not have arrived.
At QoS 0 there is no acknowledgement at all: nothing is ever acked and every copy is unacked
("delivery unknown"), so `acked` is 0 there by definition, not a sign of loss.

The cloud keeps one row per (device_id, message_id), so a balanced ledger has, per device,
    ids with an acked copy  <=  ids stored  <=  ids sent (`unique`).

Memory: one small slots record per message id (the device id string is shared), about 160
bytes with its dict entry; 1,000 devices x 10 minutes at the default pace is ~60 MB.
"""

import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)


class SentRecord:
    """One telemetry message id: who sent it, how many copies, how many were acked."""

    __slots__ = ("acked_copies", "copies", "device_id", "message_id")

    def __init__(self, device_id: str, message_id: str) -> None:
        self.device_id = device_id
        self.message_id = message_id
        self.copies = 0
        self.acked_copies = 0

    def __repr__(self) -> str:
        return (
            f"SentRecord({self.device_id!r}, {self.message_id!r}, "
            f"copies={self.copies}, acked_copies={self.acked_copies})"
        )


class SentLog:
    """Per message id: device, copies sent, copies acked; plus running totals.

    Message ids are `{first 8 of device id}-{boot}-{seq}`, so two devices whose ids share
    their first 8 characters could send the same one. Such a clash is kept apart (keyed
    `{device_id}/{message_id}` in `ids()`, the record still holds the plain message_id) and
    counted in `clashes`; pass the device id to `record_acked` so the right copy is acked.
    """

    def __init__(self) -> None:
        self._records: dict[str, SentRecord] = {}
        self.sent = 0  # copies published (first copies and duplicates)
        self.duplicates = 0  # deliberate duplicate copies
        self.acked = 0  # copies the broker acknowledged (always 0 at QoS 0)
        self.clashes = 0  # message ids sent by two different devices

    @property
    def unique(self) -> int:
        """Distinct (device, message id) pairs sent."""
        return len(self._records)

    @property
    def unacked(self) -> int:
        return self.sent - self.acked

    def record_sent(self, device_id: str, message_id: str, duplicate: bool) -> None:
        record = self._find(device_id, message_id)
        if record is None:
            record = SentRecord(device_id, message_id)
            key = message_id
            if message_id in self._records:  # another device's: keep both
                key = f"{device_id}/{message_id}"
                self.clashes += 1
                log.warning("message id %s sent by two devices", message_id)
            self._records[key] = record
        record.copies += 1
        self.sent += 1
        if duplicate:
            self.duplicates += 1

    def record_acked(self, message_id: str, device_id: str | None = None) -> None:
        """The broker acknowledged one copy of `message_id` (sent earlier by `device_id`)."""
        record = self._records.get(message_id)
        if record is not None and device_id is not None and record.device_id != device_id:
            record = self._records.get(f"{device_id}/{message_id}")
        if record is None or record.acked_copies >= record.copies:
            raise ValueError(f"ack for a copy of {message_id} that was never sent")
        record.acked_copies += 1
        self.acked += 1

    def ids(self) -> dict[str, SentRecord]:
        """Per message id (a clash: `{device_id}/{message_id}`), its record. A live view:
        copy it if the fleet is still running."""
        return self._records

    def records(self) -> Iterator[SentRecord]:
        return iter(self._records.values())

    def summary(self, qos: int) -> dict[str, int]:
        """The FleetSummary.telemetry dict. At QoS 0 `acked` is 0 and every copy unacked."""
        return {
            "qos": qos,
            "sent": self.sent,
            "unique": self.unique,
            "duplicates": self.duplicates,
            "acked": self.acked,
            "unacked": self.unacked,
        }

    def _find(self, device_id: str, message_id: str) -> SentRecord | None:
        record = self._records.get(message_id)
        if record is None or record.device_id == device_id:
            return record
        return self._records.get(f"{device_id}/{message_id}")
