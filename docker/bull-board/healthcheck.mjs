// Container healthcheck for the dashboard: GET /healthz on this container's port; exit 0 on 200.
const port = Number(process.env.PORT || 3000);
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim()}`);
  process.exit(0);
} catch (e) {
  process.stderr.write(`unhealthy: ${e.message}\n`);
  process.exit(1);
}
