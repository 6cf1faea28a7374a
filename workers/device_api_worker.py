"""rs1-device-api entry point (thin: parse, call the domain, answer)."""

from workers import WorkerEntrypoint

from rs1.apps.device_api import app
from rs1.platform.cloudflare import serve


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await serve(app, request, self.env, self.ctx)
