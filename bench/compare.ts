// `npm run bench:compare -- <git ref>`: what authentication, scopes and limits cost per request,
// in the working tree and at <ref>, measured side by side in one process. The HTTP benchmark
// (bench/run.ts) shares two cores with PostgreSQL and autocannon and swings by several points
// between runs on a busy VM; this one takes the main thread's own CPU time, which is what bounds
// the gateway's throughput, and compares two versions under the same conditions.
//
// Each side (the ref, checked out with `git archive` and given the working tree's generated
// Prisma client; the working tree) is compiled by esbuild into bench/.build/compare/<side>.js.
// One PostgreSQL database is seeded (bench/seed.ts); each side opens it with its own code and
// builds two apps from its own createApp: "auth" (an EDITOR token: authentication, scope-auth,
// query limits, budgets, rate limits) and "open" (AppOptions.openAccess). Requests go through
// each app's yoga.fetch, COMPARE_CONCURRENCY at a time, the issue-10 query round-robin over the
// boards. COMPARE_ROUNDS rounds alternate the sides and the apps; a run is COMPARE_REQUESTS
// requests, and its figure is main-thread CPU per request (/proc/self/task/<pid>/schedstat).
// Prints medians per side: auth, open, auth - open, and open/auth (target 2's ratio).
//
// Run with NODE_ENV=production (as npm run bench:compare does): graphql-js reads it when it is
// loaded, and outside production its instanceof checks cost tens of µs per request.
//
// Knobs: COMPARE_ROUNDS=20  COMPARE_REQUESTS=1000  COMPARE_CONCURRENCY=10
// BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres
// Linux only (schedstat). Both sides must share prisma/schema.prisma (one generated client).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { mainThreadCpuNs } from './child';
import { BUILD_DIR, buildSides, drive, intEnv, openApps, withComparisonDatabase, type Apps } from './sides';

const settings = {
  rounds: intEnv('COMPARE_ROUNDS', 20),
  requests: intEnv('COMPARE_REQUESTS', 1_000),
  concurrency: intEnv('COMPARE_CONCURRENCY', 10),
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The first and third quartiles (nearest rank). */
const quartiles = (values: number[]): [number, number] => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return [at(0.25), at(0.75)];
};

interface Side {
  name: string;
  apps: Apps;
  samples: Record<'auth' | 'open', number[]>;
}

async function main() {
  if (process.env.NODE_ENV !== 'production') throw new Error('run with NODE_ENV=production (npm run bench:compare)');
  const ref = process.argv[2];
  if (!ref) throw new Error('usage: npm run bench:compare -- <git ref> (compared with the working tree)');
  const files = buildSides(ref);
  const sides: Side[] = [];
  await withComparisonDatabase(async (databaseUrl, dataset) => {
    try {
      for (const [name, file] of Object.entries(files)) sides.push({ name, apps: await openApps(file, databaseUrl, dataset.ownerUserId), samples: { auth: [], open: [] } });
      const run = (side: Side, mode: 'auth' | 'open') => drive(side.apps[mode], mode === 'auth' ? dataset.token : null, dataset.boardIds, settings.requests, settings.concurrency);
      // Warm-up: every app, twice, so that both are compiled by V8 before anything counts.
      for (let i = 0; i < 2; i++) {
        for (const side of sides) {
          await run(side, 'auth');
          await run(side, 'open');
        }
      }
      for (let round = 0; round < settings.rounds; round++) {
        // Alternate which side and which app go first, so that neither always follows the other.
        const order = round % 2 ? [...sides].reverse() : sides;
        for (const side of order) {
          for (const mode of round % 4 < 2 ? (['auth', 'open'] as const) : (['open', 'auth'] as const)) {
            const before = mainThreadCpuNs();
            await run(side, mode);
            side.samples[mode].push((mainThreadCpuNs() - before) / settings.requests / 1_000);
          }
        }
        process.stdout.write(`round ${round + 1}/${settings.rounds}\r`);
      }
    } finally {
      for (const side of sides) await side.apps.stop();
    }
  });

  console.log(`\nmain-thread CPU per request, µs (median of ${settings.rounds} rounds of ${settings.requests} requests, ${settings.concurrency} at a time)`);
  console.log('side           auth    open   auth-open (quartiles)   open/auth');
  for (const side of sides) {
    const auth = median(side.samples.auth);
    const open = median(side.samples.open);
    // Paired by round: each round's auth run and open run were measured back to back.
    const differences = side.samples.auth.map((value, i) => value - side.samples.open[i]);
    const [low, high] = quartiles(differences);
    console.log(
      `${side.name.padEnd(12)} ${auth.toFixed(0).padStart(6)} ${open.toFixed(0).padStart(7)} ${median(differences).toFixed(0).padStart(11)} (${low.toFixed(0)}-${high.toFixed(0)})`.padEnd(51) +
        `${((open / auth) * 100).toFixed(1)}%`,
    );
  }
  // The change itself: each round's two runs of the same app, one per side, were close in time.
  const [before, after] = sides;
  for (const mode of ['auth', 'open'] as const) {
    const changes = after.samples[mode].map((value, i) => value - before.samples[mode][i]);
    const [low, high] = quartiles(changes);
    console.log(`${mode}: working tree - ${before.name}: ${median(changes).toFixed(0)} µs per request (quartiles ${low.toFixed(0)} to ${high.toFixed(0)})`);
  }
  writeFileSync(path.join(BUILD_DIR, 'last.json'), JSON.stringify({ settings, sides: sides.map(({ name, samples }) => ({ name, samples })) }, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
