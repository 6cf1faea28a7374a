"""Values shared by the broker tests and their fixtures."""

from pathlib import Path

from rs1broker.api_keys import ApiKey

CONFIG = Path(__file__).resolve().parents[2] / "emqx" / "emqx.conf"
WEBHOOK_SECRET = "test-webhook-secret"
API_KEY = ApiKey("rs1-workers", "test-api-secret")
