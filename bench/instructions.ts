// `npm run bench:instructions [-- <git ref>]`: what authentication, scopes and limits cost per
// request, counted in machine instructions by valgrind's callgrind rather than timed. On this
// project's 2-core VM, timings of the same code swing by 10-30% between runs (steal, the other
// core's load), far more than one change to the request path moves them; an instruction count
// is the same from one run to the next whatever else the machine does, so two versions can be
// told apart by a few microseconds' worth of work. It is not a time: cache misses, branch
// mispredictions and waits do not show, so a change is still confirmed with `npm run bench`.
//
// The working tree (and <ref>, when given, checked out as bench/compare.ts does) is compiled;
// one PostgreSQL database is seeded as for bench/compare.ts; each side then runs in a node
// process of its own under callgrind (both at once: counts do not depend on timing), which
// builds the two apps ("auth": an EDITOR token; "open": AppOptions.openAccess), warms both up
// and sends INSTRUCTIONS_ROUNDS rounds of INSTRUCTIONS_REQUESTS requests to each, alternating
// (bench/instructions-child.ts). Counts are the gateway's main thread's (its share of GC
// included), as bench/compare.ts times it; PostgreSQL runs outside it and is not counted.
//
// Knobs: INSTRUCTIONS_ROUNDS=3  INSTRUCTIONS_REQUESTS=200  INSTRUCTIONS_WARMUP=500
// INSTRUCTIONS_CONCURRENCY=1 (one request at a time: how concurrent requests interleave, and so
// how much work a turn of the event loop or a DataLoader batch does, would depend on timing)
// BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres
// Needs valgrind (Debian's package). Takes a few minutes: node runs ~50x slower under callgrind.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BUILD_DIR, bundle, buildSides, intEnv, withComparisonDatabase } from './sides';

const settings = {
  rounds: intEnv('INSTRUCTIONS_ROUNDS', 3),
  requests: intEnv('INSTRUCTIONS_REQUESTS', 200),
  warmup: intEnv('INSTRUCTIONS_WARMUP', 500),
  concurrency: intEnv('INSTRUCTIONS_CONCURRENCY', 1),
  postgresUrl: process.env.BENCH_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/postgres',
};

/** The node C++ function behind os.hostname(): the child calls it only at the end of each phase. */
const PHASE_MARK = 'node::os::GetHostname*';

interface Phase {
  /** gc: the collection between two measured phases (bench/instructions-child.ts). */
  mode: 'auth' | 'open' | 'gc';
  /** Instructions per request. */
  perRequest: number;
  /** Of which the main thread's garbage collections (V8's Heap::CollectGarbage, inclusive). */
  gcPerRequest: number;
}

/** One side under callgrind: its phases, in the order the child ran them. */
async function countSide(name: string, sideFile: string, childFile: string, child: object): Promise<Phase[]> {
  const outDir = path.join(BUILD_DIR, 'callgrind', name.replace(/\W+/g, '-'));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const args = ['--tool=callgrind', '--separate-threads=yes', `--dump-before=${PHASE_MARK}`, `--callgrind-out-file=${path.join(outDir, 'cg.%p')}`, process.execPath, '--expose-gc', childFile];
  const env = { ...process.env, NODE_ENV: 'production', INSTRUCTIONS_CHILD: JSON.stringify({ ...child, sideFile }) };
  const stdout = await new Promise<string>((resolve, reject) => {
    const proc = spawn('valgrind', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.stderr.on('data', (chunk) => (err += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name}: valgrind exited with ${code}\n${out.slice(-3000)}\n${err.slice(-2000)}`))));
  });
  const modes = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as Phase['mode'][];
  // The main thread's counts (thread 1), which bound the gateway's throughput as its CPU time
  // does in bench/compare.ts; V8's compiler and GC helper threads are left out (the first
  // phases would otherwise count the warm-up's late compilations).
  // cg.<pid>.<n>-01, in order: start-up (pino calls os.hostname() too, once per app) and warm-up,
  // then one per phase; the last phase ends at the last mark.
  const dumps = readdirSync(outDir)
    .map((file) => /^cg\.\d+\.(\d+)-01$/.exec(file))
    .filter((match) => match !== null)
    .map((match) => ({ part: Number(match[1]), file: path.join(outDir, match[0]) }))
    .sort((a, b) => a.part - b.part);
  if (modes.length === 0 || dumps.length <= modes.length) throw new Error(`${name}: ${dumps.length} callgrind dumps for ${modes.length} phases`);
  const phases = dumps.slice(-modes.length);
  return modes.map((mode, i) => {
    if (mode === 'gc') return { mode, perRequest: 0, gcPerRequest: 0 };
    const { total, gc } = countsOf(phases[i].file);
    return { mode, perRequest: total / settings.requests, gcPerRequest: gc / settings.requests };
  });
}

/** A dump's total, and the inclusive count of V8's collections in it (callgrind_annotate). */
function countsOf(file: string): { total: number; gc: number } {
  const match = /^totals: (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!match) throw new Error(`no totals in ${file}`);
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', '--auto=no', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const collections = /^\s*([\d,]+) \([^)]*\)\s+\S*v8::internal::Heap::CollectGarbage\(/m.exec(annotated);
  return { total: Number(match[1]), gc: collections ? Number(collections[1].replace(/,/g, '')) : 0 };
}

const thousands = (n: number) => `${(n / 1000).toFixed(1)}k`;

async function main() {
  const files = buildSides(process.argv[2]);
  const childFile = bundle(path.join(__dirname, 'instructions-child.ts'), path.join(BUILD_DIR, 'instructions-child.js'));
  const results = await withComparisonDatabase(settings.postgresUrl, (databaseUrl, dataset) => {
    const child = { databaseUrl, ownerUserId: dataset.ownerUserId, token: dataset.token, boardIds: dataset.boardIds, ...settings };
    return Promise.all(Object.entries(files).map(async ([name, file]) => ({ name, phases: await countSide(name, file, childFile, child) })));
  });

  console.log(`main-thread instructions per request (callgrind; ${settings.rounds} rounds of ${settings.requests} requests per app, ${settings.concurrency} at a time)`);
  // GC is where runs of the same code differ most (which phase a collection falls in): the
  // difference without it is the steadier figure for a change to the request path.
  console.log('side           auth      open      auth-open  of which GC  without GC   open/auth   (auth/open of each round)');
  const means: Record<string, Record<'auth' | 'open', { all: number; gc: number }>> = {};
  for (const { name, phases } of results) {
    const of = (mode: 'auth' | 'open') => phases.filter((phase) => phase.mode === mode);
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const summary = (mode: 'auth' | 'open') => ({ all: mean(of(mode).map((p) => p.perRequest)), gc: mean(of(mode).map((p) => p.gcPerRequest)) });
    const { auth, open } = (means[name] = { auth: summary('auth'), open: summary('open') });
    const rounds = of('auth').map((phase, i) => `${thousands(phase.perRequest)}/${thousands(of('open')[i].perRequest)}`).join(' ');
    console.log(
      `${name.padEnd(12)} ${thousands(auth.all).padStart(7)} ${thousands(open.all).padStart(9)} ${thousands(auth.all - open.all).padStart(11)} ${thousands(auth.gc - open.gc).padStart(12)} ${thousands(auth.all - auth.gc - (open.all - open.gc)).padStart(11)} ${`${((open.all / auth.all) * 100).toFixed(1)}%`.padStart(11)}   ${rounds}`,
    );
  }
  const [before, after] = Object.keys(means);
  if (after) {
    for (const mode of ['auth', 'open'] as const) {
      const change = means[after][mode].all - means[before][mode].all;
      const gcChange = means[after][mode].gc - means[before][mode].gc;
      console.log(`${mode}: working tree - ${before}: ${change >= 0 ? '+' : ''}${thousands(change)} instructions per request (${((change / means[before][mode].all) * 100).toFixed(1)}%), of which GC ${gcChange >= 0 ? '+' : ''}${thousands(gcChange)}`);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
