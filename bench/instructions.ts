// `npm run bench:instructions [-- <git ref>]`: what authentication, scopes and limits cost per
// request, counted in machine instructions by valgrind's callgrind rather than timed. On this
// project's 2-core VM, timings swing by 10-30% between runs with the machine's load (steal, the
// other core); a count does not depend on what else the machine does. It is not a time either:
// cache misses, branch mispredictions and waits do not show, so a change is still confirmed with
// `npm run bench`. Counts still vary: V8 optimizes on background threads, so when optimized code
// arrives differs from run to run, and GC lands in one phase or another. So, as bench/compare.ts
// does, every side runs in the same process and the phases alternate.
//
// The working tree (and <ref>, when given, checked out as bench/compare.ts does) is compiled;
// one PostgreSQL database is seeded as for bench/compare.ts; one node process under callgrind
// builds each side's two apps ("auth": an EDITOR token; "open": AppOptions.openAccess), warms
// them up and sends INSTRUCTIONS_ROUNDS rounds of INSTRUCTIONS_REQUESTS requests to each,
// alternating sides and apps (bench/instructions-child.ts). Counts are the gateway's main
// thread's (its share of GC included), as bench/compare.ts times it; PostgreSQL runs outside
// it and is not counted.
//
// Knobs: INSTRUCTIONS_ROUNDS=4  INSTRUCTIONS_REQUESTS=200  INSTRUCTIONS_WARMUP=500
// INSTRUCTIONS_CONCURRENCY=1 (one request at a time: how concurrent requests interleave, and so
// how much work a turn of the event loop or a DataLoader batch does, would depend on timing)
// BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres
// Needs valgrind (Debian's package). About 6 minutes with a ref (node runs ~50x slower under callgrind).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ChildPhase } from './instructions-child';
import { BUILD_DIR, bundle, buildSides, intEnv, withComparisonDatabase } from './sides';

const settings = {
  rounds: intEnv('INSTRUCTIONS_ROUNDS', 4),
  requests: intEnv('INSTRUCTIONS_REQUESTS', 200),
  warmup: intEnv('INSTRUCTIONS_WARMUP', 500),
  concurrency: intEnv('INSTRUCTIONS_CONCURRENCY', 1),
};

/** The node C++ function behind os.hostname(): the child calls it only at the end of each phase. */
const PHASE_MARK = 'node::os::GetHostname*';

interface Phase {
  side: string;
  mode: 'auth' | 'open';
  /** Instructions per request. */
  perRequest: number;
  /** Of which the main thread's garbage collections (V8's Heap::CollectGarbage, inclusive). */
  gcPerRequest: number;
}

/** Every side in one node process under callgrind: the measured phases, in the order they ran. */
async function countPhases(childFile: string, child: object): Promise<Phase[]> {
  const outDir = path.join(BUILD_DIR, 'callgrind');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const args = ['--tool=callgrind', '--separate-threads=yes', `--dump-before=${PHASE_MARK}`, `--callgrind-out-file=${path.join(outDir, 'cg.%p')}`, process.execPath, '--expose-gc', childFile];
  const env = { ...process.env, NODE_ENV: 'production', INSTRUCTIONS_CHILD: JSON.stringify(child) };
  const stdout = await new Promise<string>((resolve, reject) => {
    const proc = spawn('valgrind', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (chunk) => (out += chunk));
    proc.stderr.on('data', (chunk) => (err += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`valgrind exited with ${code}\n${out.slice(-3000)}\n${err.slice(-2000)}`))));
  });
  const marked = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as ChildPhase[];
  // The main thread's counts (thread 1), which bound the gateway's throughput as its CPU time
  // does in bench/compare.ts; V8's compiler and GC helper threads are left out (the first
  // phases would otherwise count the warm-up's late compilations).
  // cg.<pid>.<n>-01, in order: start-up (pino calls os.hostname() too, once per app) and warm-up,
  // then one per marked phase; the last phase ends at the last mark.
  const dumps = readdirSync(outDir)
    .map((file) => /^cg\.\d+\.(\d+)-01$/.exec(file))
    .filter((match) => match !== null)
    .map((match) => ({ part: Number(match[1]), file: path.join(outDir, match[0]) }))
    .sort((a, b) => a.part - b.part);
  if (marked.length === 0 || dumps.length <= marked.length) throw new Error(`${dumps.length} callgrind dumps for ${marked.length} phases`);
  const parts = dumps.slice(-marked.length);
  const phases: Phase[] = [];
  marked.forEach((phase, i) => {
    if (!phase) return; // the collection between two phases
    const { total, gc } = countsOf(parts[i].file);
    phases.push({ ...phase, perRequest: total / settings.requests, gcPerRequest: gc / settings.requests });
  });
  return phases;
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
  const phases = await withComparisonDatabase((databaseUrl, dataset) =>
    countPhases(childFile, { sides: files, databaseUrl, ownerUserId: dataset.ownerUserId, token: dataset.token, boardIds: dataset.boardIds, ...settings }),
  );
  const results = Object.keys(files).map((name) => ({ name, phases: phases.filter((phase) => phase.side === name) }));

  console.log(`main-thread instructions per request (callgrind; ${settings.rounds} rounds of ${settings.requests} requests per app, ${settings.concurrency} at a time)`);
  // Which phase a collection falls in is one reason phases of the same code differ, so the
  // difference is also given without GC; it still varies (V8's tiering), by less.
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
