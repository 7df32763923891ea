// Runs under callgrind for bench/instructions.ts: one side's two apps, warmed up, then the
// measured phases. Each phase ends with os.hostname(), the call callgrind is told to dump its
// counters before (--dump-before), so each phase's instructions land in a file of their own.
// Prints the phases' names, in order, as one JSON line.
import { hostname } from 'node:os';
import { drive, openApps } from './sides';

interface ChildSettings {
  sideFile: string;
  databaseUrl: string;
  ownerUserId: string;
  token: string;
  boardIds: string[];
  warmup: number;
  requests: number;
  rounds: number;
  concurrency: number;
}

async function untilAnswered(request: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (attempt === 10) throw error;
    }
  }
}

async function main() {
  const settings = JSON.parse(process.env.INSTRUCTIONS_CHILD ?? '') as ChildSettings;
  const apps = await openApps(settings.sideFile, settings.databaseUrl, settings.ownerUserId);
  const run = (mode: 'auth' | 'open', count: number, concurrency = settings.concurrency) =>
    drive(apps[mode], mode === 'auth' ? settings.token : null, settings.boardIds, count, concurrency);
  const phases: ('auth' | 'open' | 'gc')[] = [];
  try {
    // Under callgrind, cold code is slow enough that the first requests outlast the pool's
    // 5 s connection timeout (Prisma's query compiler is compiled then): they are sent one at a
    // time until each app answers, then a ramp up to the measured concurrency.
    for (const mode of ['auth', 'open'] as const) await untilAnswered(() => run(mode, 1, 1));
    for (const concurrency of [1, 2, 5]) {
      await run('auth', 20 * concurrency, concurrency);
      await run('open', 20 * concurrency, concurrency);
    }
    for (let i = 0; i < 2; i++) {
      await run('auth', settings.warmup);
      await run('open', settings.warmup);
    }
    // Every phase starts from a collected heap, so that a major GC falls into one phase or another
    // by the heap's state and not by where the warm-up left it; the collection is a part of its own.
    const collect = () => {
      global.gc?.();
      hostname();
      phases.push('gc');
    };
    hostname();
    collect();
    for (let round = 0; round < settings.rounds; round++) {
      for (const mode of round % 2 ? (['open', 'auth'] as const) : (['auth', 'open'] as const)) {
        await run(mode, settings.requests);
        hostname();
        phases.push(mode);
        collect();
      }
    }
  } finally {
    await apps.stop();
  }
  console.log(JSON.stringify(phases));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
