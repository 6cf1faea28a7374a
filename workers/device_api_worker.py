"""rs1-device-api entry point (thin: parse, call the domain, answer).

Also exports the DeviceTargets Durable Object (binding LIVE_TARGETS; rs1-telemetry binds it by
script_name): one per device, holding its watchers' WebSockets (rs1.live).
"""

from workers import DurableObject, WorkerEntrypoint

from rs1.apps.device_api import app
from rs1.platform.cloudflare import serve
from rs1.platform.live_objects import TargetsObject


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await serve(app, request, self.env, self.ctx)


class DeviceTargets(DurableObject):
    def __init__(self, ctx, env):
        super().__init__(ctx, env)
        self.targets = TargetsObject(self.ctx, self.env)

    async def fetch(self, request):
        return await self.targets.fetch(request)

    async def webSocketMessage(self, ws, message):
        await self.targets.message(ws, message)

    async def webSocketClose(self, ws, code, reason, was_clean):
        await self.targets.closed(ws, code, reason)

    async def webSocketError(self, ws, error):
        await self.targets.closed(ws, 1011, "error")
