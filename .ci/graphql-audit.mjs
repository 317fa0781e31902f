// Runs graphql-http's GraphQL-over-HTTP server audit against a started
// Junction server, prints every result and exits non-zero on any failure or
// warning (warnings are the spec's SHOULDs; we hold ourselves to them).
//
//   JUNCTION_AUDIT_URL=http://127.0.0.1:PORT/graphql JUNCTION_AUDIT_TOKEN=jct_... node .ci/graphql-audit.mjs
//
// The token is sent as a bearer token on every request the audit makes.
import { serverAudits } from 'graphql-http';

const url = process.env.JUNCTION_AUDIT_URL;
const token = process.env.JUNCTION_AUDIT_TOKEN;
if (!url || !token) {
  console.error('graphql-audit: set JUNCTION_AUDIT_URL and JUNCTION_AUDIT_TOKEN');
  process.exit(2);
}

// Wait (up to 30 s) for the server to answer /healthz.
const health = new URL('/healthz', url);
for (let deadline = Date.now() + 30_000; ; ) {
  const up = await fetch(health).then((r) => r.ok, () => false);
  if (up) break;
  if (Date.now() > deadline) {
    console.error(`graphql-audit: ${health} did not answer within 30 s`);
    process.exit(2);
  }
  await new Promise((r) => setTimeout(r, 100));
}

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

// status: ok, notice (a MAY not taken), warn (a SHOULD missed), error (a MUST missed).
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  let line = `${result.status.padEnd(5)} ${result.id} ${result.name}`;
  if (result.status !== 'ok') {
    line += `\n      ${result.reason}`;
    if (result.response) {
      const body = await result.response.text().catch(() => '');
      line += `\n      -> ${result.response.status} ${result.response.headers.get('content-type')} ${body.slice(0, 300)}`;
    }
  }
  console.log(line);
}
console.log(`graphql-audit: ${counts.ok} ok, ${counts.notice} notices, ${counts.warn} warnings, ${counts.error} errors`);
process.exit(counts.warn + counts.error > 0 ? 1 : 0);
