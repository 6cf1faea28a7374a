"""rs1-telemetry entry point (thin: parse, call the domain, answer)."""

from workers import WorkerEntrypoint

from rs1.apps.telemetry import app, run_cron
from rs1.platform.cloudflare import make_services, serve, serve_queue
from rs1.telemetry.consumer import consume


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await serve(app, request, self.env, self.ctx)

    async def scheduled(self, controller, env, ctx):
        await run_cron(controller.cron, controller.scheduledTime, make_services(self.env, ctx))

    async def queue(self, batch, env, ctx):
        await serve_queue(consume, batch, self.env, self.ctx)
