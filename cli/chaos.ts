/** `cairn chaos`: each fault injected on private servers under load, and the table of what it cost. */
import { loadavg } from 'node:os';
import { chaosTable, type FaultReport } from '../bench/chaos/fault-report';
import { type Fault, faults, passed } from '../bench/chaos/faults';
import type { Command } from './commands';

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

export const chaosCommand: Command = {
  name: 'chaos',
  summary: 'inject faults into private servers under load; print events lost, duplicates, error window, p99',
  help: `cairn chaos [--only NAME,…]

Runs each fault in turn on servers of its own (free ports, own state directory; the shared
stack is never touched) while a fixed-rate load runs, and prints a markdown table: events lost
and duplicated (counted in the interaction store against the acknowledged ids), the error window
(first failed request to the last), the degraded window, and p99 during the fault and after
recovery. Exits 1 when a fault loses or duplicates an event, fails a request after recovery, or
cannot be run. Faults (default: all, in this order):
${faults.map((f) => `  ${f.name.padEnd(16)}${f.what}`).join('\n')}
  --only NAME,…   run only these faults`,
  options: { only: { type: 'string' } },
  async run({ values }) {
    const names =
      typeof values.only === 'string' ? values.only.split(',').filter((n) => n !== '') : undefined;
    const unknown = names?.filter((n) => !faults.some((f) => f.name === n)) ?? [];
    if (unknown.length > 0) {
      console.error(
        `cairn chaos: unknown fault ${unknown.join(', ')} (expected ${faults.map((f) => f.name).join(', ')})`,
      );
      return 2;
    }
    const chosen: Fault[] = names === undefined ? faults : faults.filter((f) => names.includes(f.name));
    const log = (line: string) => console.error(`[chaos] ${line}`);
    console.log(`command: cairn chaos ${process.argv.slice(3).join(' ')}`.trim());
    console.log(`load average at start (1, 5, 15 min): ${load()}`);
    const reports: FaultReport[] = [];
    const failures: string[] = [];
    for (const fault of chosen) {
      const started = Date.now();
      try {
        const report = await fault.run(log);
        reports.push(report);
        if (!passed(report))
          failures.push(`${fault.name}: events lost or duplicated, or requests failing after recovery`);
      } catch (error) {
        failures.push(`${fault.name}: could not be run: ${(error as Error).message}`);
      }
      log(`${fault.name} took ${((Date.now() - started) / 1000).toFixed(0)} s; load average ${load()}`);
    }
    console.log(`load average at end (1, 5, 15 min): ${load()}\n`);
    console.log(chaosTable(reports));
    for (const failure of failures) console.log(`\nFAILED ${failure}`);
    return failures.length === 0 ? 0 : 1;
  },
};
