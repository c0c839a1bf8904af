// The named scenarios: settings, fault, load and measurement period. `npm run scenario -- NAME`
// runs one; `grid` (grid.ts) runs many settings × stall lengths. What a real run showed is in
// test/scenarios/README.md, with the date it was measured.

export type Fault =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'slow-disk';
      /** Injected delay of each stalled fdatasync. */
      readonly stallMs: number;
      /** Every EVERY-th fdatasync (per thread: strace counts per tracee)… */
      readonly every: number;
      /** …from the FIRST-th on, one FIRST per member (index = member index) so stalls do not line up. */
      readonly first: readonly number[];
      /** Run the agents under the same injection, so their probe meets the stalls etcd meets. */
      readonly traceAgents: boolean;
      /**
       * Only these members' disks stall (indices); the others and their agents run untraced, and the
       * window opens with leadership moved to an untraced member. Absent: every member.
       */
      readonly members?: readonly number[];
    }
  | { readonly kind: 'frozen-leader'; readonly pauseMs: number; /** after the window opens */ readonly afterMs: number }
  | { readonly kind: 'member-down'; readonly downMs: number; readonly target: 'follower' | 'leader'; readonly afterMs: number }
  | {
      readonly kind: 'noisy';
      /** shared: etcd's data dirs and fio on one loop-mounted ext4; separate: etcd on one loop device, fio on another (backed by another device). */
      readonly placement: 'shared' | 'separate';
      readonly fioJobs: number;
      readonly fioSizeMiB: number;
      readonly fioBlockSize: string;
    };

export interface ScenarioSpec {
  readonly name: string;
  readonly summary: string;
  readonly heartbeatMs: number;
  readonly electionMs: number;
  readonly size: number;
  readonly fault: Fault;
  /** Length of the measurement window (the fault happens inside it). */
  readonly measureSeconds: number;
  /** Client puts per second. */
  readonly loadRate: number;
  /** Seconds of load before the window opens (Prometheus and the agents get a baseline). */
  readonly warmupSeconds: number;
  /** What a real etcd is expected to show (from the issue); the run's result says what it did show. */
  readonly expect: string;
  /**
   * Where etcd's data dirs and the agents' probes live: the temp dir (this machine's shared disk), or
   * `ram-disk`: ext4 on a loop device backed by /dev/shm — a fast disk of etcd's own, so that "healthy"
   * does not depend on what else the machine's disk is doing (a shared CI disk misses etcd's 10 ms p99
   * now and then, and the agent is right to say so).
   */
  readonly storage?: 'temp-dir' | 'ram-disk';
}

export const DEFAULTS = { heartbeatMs: 100, electionMs: 1000, size: 3, loadRate: 10, warmupSeconds: 5 } as const;

/** Stalls as the issue describes them: 1.5 s on every 15th fdatasync, a different first per member. */
export const SLOW_DISK = { stallMs: 1500, every: 15, first: [40, 45, 50], traceAgents: true } as const;

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'none':
      return 'none';
    case 'slow-disk': {
      const who = f.members ? `on member${f.members.length === 1 ? '' : 's'} ${f.members.map((i) => `m${i}`).join(', ')} only, leadership moved off before the window` : 'on every member';
      return `fdatasync delayed ${f.stallMs} ms on every ${f.every}th call from call ${f.first.join('/')} (per thread), ${who}${f.traceAgents ? ` and ${f.members ? 'their' : 'every'} agent probe` : ''}`;
    }
    case 'frozen-leader':
      return `SIGSTOP the leader for ${f.pauseMs} ms, then SIGCONT`;
    case 'member-down':
      return `SIGKILL a ${f.target} for ${f.downMs} ms, then restart it`;
    case 'noisy':
      return f.placement === 'shared'
        ? `fio (${f.fioJobs} jobs, ${f.fioBlockSize} sequential writes, fsync after each) on the same loop-mounted ext4 as etcd's data dirs`
        : `fio (${f.fioJobs} jobs, ${f.fioBlockSize} sequential writes, fsync after each) on another loop device (backed by /dev/shm) than etcd's (backed by the root disk)`;
  }
}

const base = (s: Partial<ScenarioSpec> & Pick<ScenarioSpec, 'name' | 'summary' | 'fault' | 'measureSeconds' | 'expect'>): ScenarioSpec => ({
  heartbeatMs: DEFAULTS.heartbeatMs,
  electionMs: DEFAULTS.electionMs,
  size: DEFAULTS.size,
  loadRate: DEFAULTS.loadRate,
  warmupSeconds: DEFAULTS.warmupSeconds,
  ...s,
});

const NOISY = { fioJobs: 2, fioSizeMiB: 128, fioBlockSize: '64k' } as const;

export const SCENARIOS: readonly ScenarioSpec[] = [
  base({ name: 'healthy', summary: 'no fault, a fast disk of its own', fault: { kind: 'none' }, storage: 'ram-disk', measureSeconds: 20, expect: 'no elections, no finding above info' }),
  base({ name: 'slow-disk', summary: '1.5 s stalls on every 15th fdatasync, defaults', fault: { kind: 'slow-disk', ...SLOW_DISK }, measureSeconds: 30, expect: 'elections' }),
  base({
    name: 'slow-disk-tuned',
    summary: 'the same stalls with hb 300 / et 3000',
    heartbeatMs: 300,
    electionMs: 3000,
    fault: { kind: 'slow-disk', ...SLOW_DISK },
    measureSeconds: 30,
    expect: 'no elections',
  }),
  base({
    name: 'slow-follower',
    summary: "the seed's 1.5 s stalls on one member's disk only, which follows",
    fault: { kind: 'slow-disk', ...SLOW_DISK, members: [2] },
    measureSeconds: 30,
    expect: "no elections; that member's agent says it follows, predicts none now and many if it led, and advises keeping leadership off it",
  }),
  base({
    name: 'short-stalls',
    summary: '0.7 s stalls on every 15th fdatasync, defaults',
    fault: { kind: 'slow-disk', ...SLOW_DISK, stallMs: 700 },
    measureSeconds: 30,
    expect: 'no elections, but slow WAL fsync',
  }),
  base({ name: 'frozen-leader', summary: 'SIGSTOP the leader 3 s', fault: { kind: 'frozen-leader', pauseMs: 3000, afterMs: 3000 }, measureSeconds: 15, expect: 'one election' }),
  base({
    name: 'member-down',
    summary: 'one follower killed 20 s, restarted',
    fault: { kind: 'member-down', downMs: 20_000, target: 'follower', afterMs: 3000 },
    measureSeconds: 35,
    expect: 'the agent on it reports etcd down, then recovers; no election',
  }),
  base({
    name: 'noisy-shared',
    summary: 'fio beside etcd on the same loop-mounted filesystem',
    fault: { kind: 'noisy', placement: 'shared', ...NOISY },
    measureSeconds: 30,
    expect: 'WAL fsync p99 higher than noisy-separate',
  }),
  base({
    name: 'noisy-separate',
    summary: 'fio on another loop device than etcd',
    fault: { kind: 'noisy', placement: 'separate', ...NOISY },
    measureSeconds: 30,
    expect: 'WAL fsync p99 lower than noisy-shared',
  }),
];

export function scenarioByName(name: string): ScenarioSpec | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** A copy of `spec` with some fields replaced (shorter windows in CI, grid cells). */
export function withOverrides(spec: ScenarioSpec, o: Partial<ScenarioSpec>): ScenarioSpec {
  return { ...spec, ...o };
}
