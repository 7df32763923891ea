// Runs under callgrind for bench/instructions.ts: every side's two apps in this one process,
// warmed up, then the measured phases. Each phase ends with os.hostname(), the call callgrind is
// told to dump its counters before (--dump-before), so each phase's instructions land in a file
// of their own. Prints the phases, in order, as one JSON line.
import { hostname } from 'node:os';
import { drive, openApps, type Apps } from './sides';

interface ChildSettings {
  /** Side name -> its compiled file (bench/sides.ts buildSides). */
  sides: Record<string, string>;
  databaseUrl: string;
  ownerUserId: string;
  token: string;
  boardIds: string[];
  warmup: number;
  requests: number;
  rounds: number;
  concurrency: number;
}

type Mode = 'auth' | 'open';

/** A measured phase, or `null` for the collection between two of them. */
export type ChildPhase = { side: string; mode: Mode } | null;

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
  const sides: [string, Apps][] = [];
  for (const [name, file] of Object.entries(settings.sides)) sides.push([name, await openApps(file, settings.databaseUrl, settings.ownerUserId)]);
  const run = (apps: Apps, mode: Mode, count: number, concurrency = settings.concurrency) =>
    drive(apps[mode], mode === 'auth' ? settings.token : null, settings.boardIds, count, concurrency);
  const phases: ChildPhase[] = [];
  try {
    // Under callgrind, cold code is slow enough that the first requests outlast the pool's
    // 5 s connection timeout (Prisma's query compiler is compiled then): they are sent one at a
    // time until each app answers, then a ramp up to the measured concurrency.
    for (const [, apps] of sides) {
      for (const mode of ['auth', 'open'] as const) await untilAnswered(() => run(apps, mode, 1, 1));
      for (const concurrency of [1, 2, 5]) {
        await run(apps, 'auth', 20 * concurrency, concurrency);
        await run(apps, 'open', 20 * concurrency, concurrency);
      }
    }
    for (let i = 0; i < 2; i++) {
      for (const [, apps] of sides) {
        await run(apps, 'auth', settings.warmup);
        await run(apps, 'open', settings.warmup);
      }
    }
    // Every phase starts from a collected heap, so that a major GC falls into one phase or another
    // by the heap's state and not by where the warm-up left it; the collection is a part of its own.
    const collect = () => {
      global.gc?.();
      hostname();
      phases.push(null);
    };
    hostname();
    collect();
    for (let round = 0; round < settings.rounds; round++) {
      // Alternate which side and which app go first, so that neither always follows the other.
      const order = round % 2 ? [...sides].reverse() : sides;
      for (const [side, apps] of order) {
        for (const mode of round % 4 < 2 ? (['auth', 'open'] as const) : (['open', 'auth'] as const)) {
          await run(apps, mode, settings.requests);
          hostname();
          phases.push({ side, mode });
          collect();
        }
      }
    }
  } finally {
    for (const [, apps] of sides) await apps.stop();
  }
  console.log(JSON.stringify(phases));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
