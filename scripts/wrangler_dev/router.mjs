// Local development on real workerd (`wrangler dev`, needs internet for the Python runtime):
// one multi-config process runs this small router as its primary Worker on one port and the
// three RS-1 Workers as auxiliaries, reachable only through service bindings. The router sends
// each request where production's routes would:
//   /webhook/*                          -> rs1-telemetry   (api.optic.works/webhook/*)
//   /firmware/*, or Host ota.localhost  -> rs1-ota         (ota.optic.works/*)
//   everything else                     -> rs1-device-api  (api.optic.works/api/*, /admin/*)
// and forwards the crons it is asked to fire (/cdn-cgi/local/scheduled) to rs1-telemetry.
// Dev only: production routes requests with the [env.production] routes of each config.

function target(env, url) {
  if (url.pathname.startsWith("/webhook/")) return env.TELEMETRY;
  if (url.pathname.startsWith("/firmware/") || url.hostname.startsWith("ota.")) return env.OTA;
  return env.DEVICE_API;
}

export default {
  fetch(request, env) {
    return target(env, new URL(request.url)).fetch(request);
  },
  async scheduled(controller, env) {
    await env.TELEMETRY.scheduled({
      cron: controller.cron,
      scheduledTime: new Date(controller.scheduledTime),
    });
  },
};
