// A V8 CPU profile (node --cpu-prof's .cpuprofile) as the scrape-tail experiments read it: each
// sample's time and the stack of its node, outermost frame first.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface ProfileFile {
  readonly nodes: readonly ProfileNode[];
  /** Microseconds, on the hrtime clock of the profiled process. */
  readonly startTime: number;
  readonly endTime: number;
  /** The node on top of the stack at each sample. */
  readonly samples: readonly number[];
  /** Microseconds since the previous sample (the first: since startTime). */
  readonly timeDeltas: readonly number[];
}

export class CpuProfile {
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  /** Microseconds, on the same clock as startTime, one per sample. */
  readonly sampleTimes: readonly number[];
  private readonly byId: ReadonlyMap<number, ProfileNode>;
  private readonly parent = new Map<number, number>();

  constructor(file: string) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as ProfileFile;
    this.startTime = p.startTime;
    this.endTime = p.endTime;
    this.samples = p.samples;
    this.byId = new Map(p.nodes.map((x) => [x.id, x]));
    for (const x of p.nodes) for (const c of x.children ?? []) this.parent.set(c, x.id);
    let t = p.startTime;
    this.sampleTimes = p.timeDeltas.map((d) => (t += d));
  }

  private node(id: number): ProfileNode {
    const n = this.byId.get(id);
    if (n === undefined) throw new Error(`profile: no node ${id}`);
    return n;
  }

  functionName(id: number): string {
    return this.node(id).callFrame.functionName;
  }

  /** The frames from the root to node `id`, as `function@dir/file` (`:line` appended when asked). */
  stack(id: number, withLine = false): string[] {
    const path: string[] = [];
    for (let c: number | undefined = id; c !== undefined; c = this.parent.get(c)) {
      const f = this.node(c).callFrame;
      path.push(`${f.functionName || '(anon)'}@${f.url.split('/').slice(-2).join('/')}${withLine ? `:${f.lineNumber}` : ''}`);
    }
    return path.reverse();
  }
}
