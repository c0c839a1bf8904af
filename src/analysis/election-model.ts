// The election model: how often a disk that stalls etcd's raft loop makes the cluster elect a new
// leader, for the settings running now and for any candidate settings. Pure: no I/O, no clock.
// docs/election-model.md explains the model, its assumptions and its validation.
//
// etcd's raft loop ticks (and so sends heartbeats) in the goroutine that writes and fdatasyncs the
// WAL, so a leader stalled s ms in fdatasync sends nothing. etcd raft counts in ticks of one heartbeat
// interval: a follower campaigns once it has counted d ticks without hearing from the leader, d drawn
// uniformly from [E, 2E) (E = election / heartbeat) when its term begins — once per term, not per
// stall. Measured from the last heartbeat, the leader is silent for s + φ·hb (φ: where in its tick
// the stall began) and the follower campaigns after (d − ψ)·hb (ψ: its own tick's phase), so it
// campaigns during the stall when d·hb < s + (φ + ψ)·hb, φ and ψ uniform on [0, 1).
import { fmtMs, fmtRate, fmtSeconds } from '../lib/format.js';
import { observations, type HistogramSnapshot } from '../lib/histogram.js';
import type { EtcdSettings, HistogramWindow, SettingsPrediction, StallSource, TuningRecommendation } from '../model/diagnosis.js';
import { ms, type Milliseconds } from '../lib/units.js';

/** etcd's defaults (etcd tuning guide). */
export const ETCD_DEFAULT_HEARTBEAT: Milliseconds = ms(100);
export const ETCD_DEFAULT_ELECTION: Milliseconds = ms(1000);
/** etcd refuses an election timeout above 50 s. */
export const ETCD_MAX_ELECTION: Milliseconds = ms(50_000);
/** etcd refuses to start unless election ≥ 5 × heartbeat. */
export const MIN_ELECTION_PER_HEARTBEAT = 5;
/** The usual guidance: election = 10 × heartbeat. Candidates keep election/heartbeat within [5, 10]. */
export const PREFERRED_ELECTION_PER_HEARTBEAT = 10;
/** etcd tuning guide: the election timeout must be at least 10 × the average peer RTT. */
export const MIN_ELECTION_PER_RTT = 10;
/** Cluster size assumed when the member list is unknown (the usual control plane). */
export const DEFAULT_MEMBERS = 3;

const SECONDS_PER_DAY = 86_400;

/** A heartbeat/election pair operators know by name. */
export interface SettingsProfile {
  readonly name: string;
  readonly heartbeat: Milliseconds;
  readonly election: Milliseconds;
}

/**
 * The profiles operators know, cheapest fail-over first: etcd's defaults (etcd tuning guide), the SCS
 * cluster templates' values (SCS's cluster-stacks: heartbeat-interval 250, election-timeout 2500), and
 * OpenShift's controlPlaneHardwareSpeed "Slower" (500/2500).
 */
export const KNOWN_PROFILES: readonly SettingsProfile[] = [
  { name: "etcd's defaults", heartbeat: ETCD_DEFAULT_HEARTBEAT, election: ETCD_DEFAULT_ELECTION },
  { name: 'the SCS cluster templates', heartbeat: ms(250), election: ms(2500) },
  { name: 'OpenShift\'s "Slower" hardware speed', heartbeat: ms(500), election: ms(2500) },
];

/** Election timeouts the recommendation considers, ascending (ms). */
export const ELECTION_GRID: readonly Milliseconds[] = [
  1000, 1250, 1500, 1750, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 7000, 8000, 10_000, 12_000, 15_000, 20_000, 25_000,
  30_000, 40_000, 50_000,
].map(ms);
/** Heartbeat intervals the recommendation considers, ascending (ms): 100 ms … 5 s. */
export const HEARTBEAT_GRID: readonly Milliseconds[] = [
  100, 125, 150, 175, 200, 250, 300, 350, 400, 500, 600, 700, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000,
].map(ms);

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** etcd's election timeout in ticks: election / heartbeat, in whole ticks as etcd configures raft (≥ 1). */
export function electionTicks(hb: Milliseconds, et: Milliseconds): number {
  return Math.max(1, Math.floor(et / hb));
}

/** P(φ + ψ > x) for φ, ψ independent and uniform on [0, 1): the tail of the triangular distribution on [0, 2). */
export function phaseTail(x: number): number {
  if (x <= 0) return 1;
  if (x >= 2) return 0;
  return x <= 1 ? 1 - (x * x) / 2 : ((2 - x) * (2 - x)) / 2;
}

/** P(a follower that drew `d` ticks campaigns during the leader's stall of `stall` ms): d·hb < stall + (φ + ψ)·hb. */
export function pCampaign(d: number, stall: Milliseconds, hb: Milliseconds): number {
  return phaseTail(d - stall / hb);
}

/**
 * The distribution of a term's shortest draw among `followers` followers: element i is P(shortest = E + i
 * ticks), i = 0 … E − 1, each follower drawing uniformly from [E, 2E). The term's first campaign comes
 * from the follower with the shortest draw; the model follows that one (a second follower one tick
 * behind can campaign first when its tick phase favours it: ignored, a slight under-count).
 */
export function shortestDraw(E: number, followers: number): number[] {
  const atLeast = (i: number): number => ((E - i) / E) ** followers;
  return Array.from({ length: E }, (_, i) => atLeast(i) - atLeast(i + 1));
}

/** True when (hb, et, n) describe a cluster that can elect: more than one member, positive timings. */
const canElect = (hb: Milliseconds, et: Milliseconds, n: number): boolean => n > 1 && hb > 0 && et >= hb;

/**
 * The probability that one stall of `stall` ms on the leader starts an election in a term that has just
 * begun (fresh draws), in a cluster of `n` members with heartbeat `hb` and election timeout `et`.
 * 0 for n ≤ 1 (a single member has no one to take over), for stalls shorter than (E − 2) ticks, and for
 * nonsensical input (hb or et ≤ 0, et < hb, NaN).
 */
export function pElection(stall: Milliseconds, hb: Milliseconds, et: Milliseconds, n: number): number {
  if (!canElect(hb, et, n) || Number.isNaN(stall)) return 0;
  const E = electionTicks(hb, et);
  // Summed as 1 − P(no campaign): draws that surely lose add nothing, so a certain election is exactly 1.
  const none = shortestDraw(E, n - 1).reduce((p, w, i) => p + w * (1 - pCampaign(E + i, stall, hb)), 0);
  return clamp(1 - none, 0, 1);
}

/**
 * The stall length (seconds) the model assigns to every observation of a bucket (lo, hi]:
 * lo + position × (hi − lo), so position 1 is the upper edge (conservative: no stall in the bucket is
 * longer), 0.5 the midpoint, 0 the lower edge (optimistic). The +Inf bucket has no upper edge: it is
 * treated as (lo, 2·lo], the next bucket of a power-of-two layout like etcd's.
 */
export function representativeStall(lo: number, hi: number, position: number): number {
  const p = clamp(Number.isNaN(position) ? 1 : position, 0, 1);
  const top = hi === Infinity ? 2 * lo : hi;
  return lo + p * (top - lo);
}

/** One bucket of a cumulative histogram as a range and the number of observations in it. */
export interface BucketRange {
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
}

/** The non-cumulative buckets of a histogram (cumulative counts made non-decreasing first, as histogram_quantile does). */
export function bucketRanges(h: HistogramSnapshot): BucketRange[] {
  const out: BucketRange[] = [];
  let lo = 0;
  let below = 0;
  for (const b of h.buckets) {
    const cumulative = Math.max(below, b.count);
    out.push({ lo, hi: b.le, count: cumulative - below });
    below = cumulative;
    lo = b.le;
  }
  return out;
}

/** `count` observations modelled as stalls of `stall` seconds each. */
export interface StallGroup {
  readonly stall: number;
  readonly count: number;
}

/** A range of stall lengths (seconds). */
export interface StallRange {
  readonly lo: number;
  readonly hi: number;
}

/**
 * What the histogram's sum says about the mean of the highest non-empty bucket — the longest stalls,
 * the ones that cost elections. Every other observation lies in its own bucket, so their sum is
 * between Σ count·lo and Σ count·hi; the rest of the sum belongs to the top bucket. With stalls of
 * one length (a disk that stalls the same way each time, or strace's injected delays) this pins
 * their length to a few milliseconds where the bucket alone spans a factor of two. Undefined when
 * the sum does not fit the buckets (a window across a counter reset, a missing sum): then the
 * bucket's own range is all there is.
 */
export function topBucketMean(h: HistogramSnapshot): { readonly bucket: BucketRange; readonly mean: StallRange } | undefined {
  const ranges = bucketRanges(h).filter((r) => r.count > 0);
  const top = ranges[ranges.length - 1];
  if (!top || !Number.isFinite(h.sum) || h.sum <= 0) return undefined;
  const others = ranges.slice(0, -1);
  const othersMin = others.reduce((a, r) => a + r.count * r.lo, 0);
  const othersMax = others.reduce((a, r) => a + r.count * r.hi, 0);
  const lo = Math.max(top.lo, (h.sum - othersMax) / top.count);
  const hi = Math.min(top.hi, (h.sum - othersMin) / top.count);
  // A little slack for float sums: etcd's sum is a float64 over millions of observations.
  if (!(hi >= lo - 1e-9 * Math.max(1, h.sum))) return undefined;
  return { bucket: top, mean: { lo: Math.min(lo, hi), hi } };
}

/**
 * The model's best estimate of the stalls a window holds: each bucket's observations at
 * `representativeStall(lo, hi, position)`, except the top bucket when its sum pins it
 * (`topBucketMean`): then at the same position inside the range the sum allows.
 */
export function estimatedStalls(h: HistogramSnapshot, position: number): StallGroup[] {
  const pinned = topBucketMean(h);
  return bucketRanges(h)
    .filter((r) => r.count > 0)
    .map((r) =>
      pinned && r.lo === pinned.bucket.lo
        ? { stall: representativeStall(pinned.mean.lo, pinned.mean.hi, position), count: r.count }
        : { stall: representativeStall(r.lo, r.hi, position), count: r.count },
    );
}

/**
 * The longest the window's stalls can be: every observation at its bucket's upper edge. The +Inf
 * bucket has no edge; there the sum bounds it (k stalls above lo whose sum is at most S leave at
 * most S − (k − 1)·lo to the longest), and at least 2·lo is assumed. What a recommendation must
 * tolerate: settings that survive these survive every stall the histogram can hold.
 */
export function longestStalls(h: HistogramSnapshot): StallGroup[] {
  const pinned = topBucketMean(h);
  return bucketRanges(h)
    .filter((r) => r.count > 0)
    .map((r) => {
      if (r.hi !== Infinity) return { stall: r.hi, count: r.count };
      const fromSum = pinned ? pinned.mean.hi * r.count - (r.count - 1) * r.lo : 0;
      return { stall: Math.max(2 * r.lo, fromSum), count: r.count };
    });
}

/**
 * The per-stall bound: Σ count × pElection, every stall meeting fresh draws as if each began a term.
 * Never below `expectedElections`: a term that has survived a stall keeps draws at least as long as
 * a fresh term's.
 */
export function freshDrawElections(stalls: readonly StallGroup[], hb: Milliseconds, et: Milliseconds, n: number): number {
  return stalls.reduce((a, g) => a + g.count * pElection(ms(g.stall * 1000), hb, et, n), 0);
}

/** Terms whose shortest draw one stall of the mix ends with probability `q`: such terms evolve alike, so they are one state. */
interface TermState {
  readonly share: number;
  readonly q: number;
}

function termStates(stalls: readonly StallGroup[], total: number, E: number, hb: Milliseconds, n: number): TermState[] {
  const byQ = new Map<number, number>();
  shortestDraw(E, n - 1).forEach((share, i) => {
    const q = stalls.reduce((a, g) => a + (g.count / total) * pCampaign(E + i, ms(g.stall * 1000), hb), 0);
    byQ.set(q, (byQ.get(q) ?? 0) + share);
  });
  return [...byQ].map(([q, share]) => ({ q, share }));
}

type Matrix = number[][];

const times = (a: Matrix, b: Matrix): Matrix => a.map((row) => b[0]!.map((_, j) => row.reduce((s, x, k) => s + x * b[k]![j]!, 0)));
const apply = (a: Matrix, v: readonly number[]): number[] => a.map((row) => row.reduce((s, x, k) => s + x * v[k]!, 0));

/**
 * Expected elections over `steps` stalls from a fresh term. The chain's state is the term's class and
 * the elections so far; one stall keeps a term of class k with 1 − q_k and otherwise elects and begins
 * a term drawn afresh. The chain's matrix is raised to the number of stalls by squaring, so a day's
 * worth of stalls costs a few dozen products of matrices as small as the number of classes.
 */
function electionsOverSteps(states: readonly TermState[], steps: number): number {
  const g = states.length;
  let power: Matrix = Array.from({ length: g + 1 }, (_, j) =>
    Array.from({ length: g + 1 }, (_, k) => {
      if (j === g) return k === g ? 1 : states[k]!.q;
      if (k === g) return 0;
      return (j === k ? 1 - states[k]!.q : 0) + states[j]!.share * states[k]!.q;
    }),
  );
  let v = [...states.map((s) => s.share), 0];
  for (let k = Math.floor(steps); k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) v = apply(power, v);
    if (k > 1) power = times(power, power);
  }
  const next = states.reduce((a, s, k) => a + s.q * v[k]!, 0);
  return v[g]! + (steps - Math.floor(steps)) * next;
}

/**
 * Expected elections over `scale` × the stalls of `stalls` on the leader, in their proportions and in
 * random order, from a term that has just begun: the renewal view of etcd's per-term draws. A term's
 * shortest draw holds until a stall beats it; the election begins a term with fresh draws. A term whose
 * draw no stall of the mix can beat lasts: with stalls of one length, that is how a cluster settles
 * after a few elections. Stalls no draw can lose to (shorter than E − 2 ticks) change nothing and are
 * left out.
 */
export function expectedElections(stalls: readonly StallGroup[], hb: Milliseconds, et: Milliseconds, n: number, scale = 1): number {
  if (!canElect(hb, et, n) || !(scale > 0)) return 0;
  const E = electionTicks(hb, et);
  const relevant = stalls.filter((g) => g.count > 0 && pCampaign(E, ms(g.stall * 1000), hb) > 0);
  const total = relevant.reduce((a, g) => a + g.count, 0);
  if (total === 0) return 0;
  return electionsOverSteps(termStates(relevant, total, E, hb, n), total * scale);
}

const hasStalls = (h: HistogramWindow): boolean => h.window > 0 && observations(h.histogram) > 0;

/**
 * Elections per day predicted for (hb, et, n) from a window of observed stalls (`estimatedStalls`):
 * the expected count over a day of stalls like the window's, from a fresh term (`expectedElections`).
 * Every observation is taken to happen on the leader (this member's disk seen as the leader's: the
 * conservative case). 0 for an empty histogram or a window that is not positive.
 */
export function predictElectionsPerDay(
  stallHist: HistogramWindow,
  hb: Milliseconds,
  et: Milliseconds,
  n: number,
  representative = 1,
): number {
  if (!hasStalls(stallHist)) return 0;
  return expectedElections(estimatedStalls(stallHist.histogram, representative), hb, et, n, SECONDS_PER_DAY / stallHist.window);
}

/** Elections expected over the window's own stalls, from a fresh term: what a run as long as the window should see. */
export function predictElectionsInWindow(stallHist: HistogramWindow, hb: Milliseconds, et: Milliseconds, n: number, representative = 1): number {
  if (!hasStalls(stallHist)) return 0;
  return expectedElections(estimatedStalls(stallHist.histogram, representative), hb, et, n);
}

/**
 * Elections per day if every stall were as long as its bucket allows (`longestStalls`) and met fresh
 * draws (`freshDrawElections`): the recommendation's test, an upper bound on both counts.
 */
export function worstCaseElectionsPerDay(stallHist: HistogramWindow, hb: Milliseconds, et: Milliseconds, n: number): number {
  if (!hasStalls(stallHist)) return 0;
  return (freshDrawElections(longestStalls(stallHist.histogram), hb, et, n) * SECONDS_PER_DAY) / stallHist.window;
}

/** Mean time for followers to notice a dead leader: the mean of the uniform draw in [et, 2·et). */
export function failoverDetection(et: Milliseconds): Milliseconds {
  return ms(1.5 * et);
}

export function predictSettings(
  stallHist: HistogramWindow,
  hb: Milliseconds,
  et: Milliseconds,
  n: number,
  representative = 1,
): SettingsPrediction {
  return {
    heartbeat: hb,
    election: et,
    electionsPerDay: predictElectionsPerDay(stallHist, hb, et, n, representative),
    electionsInWindow: predictElectionsInWindow(stallHist, hb, et, n, representative),
    failoverDetection: failoverDetection(et),
    stallWindow: stallHist.window,
  };
}

export interface Candidate {
  readonly heartbeat: Milliseconds;
  readonly election: Milliseconds;
}

/**
 * The (heartbeat, election) pairs the recommendation may choose from, by ascending election timeout:
 * for each election timeout on the grid that is ≥ 10 × the mean peer RTT, the smallest grid heartbeat
 * that is ≥ election/10 (etcd's guidance ratio) and ≥ the mean RTT, provided election ≥ 5 × heartbeat.
 * The smallest allowed heartbeat is also the one that tolerates the longest stall (silence = s + hb).
 */
export function candidateSettings(peerRttMean?: Milliseconds): Candidate[] {
  const rtt = peerRttMean !== undefined && peerRttMean > 0 ? peerRttMean : 0;
  const out: Candidate[] = [];
  for (const election of ELECTION_GRID) {
    if (election < MIN_ELECTION_PER_RTT * rtt || election > ETCD_MAX_ELECTION) continue;
    const heartbeat = HEARTBEAT_GRID.find((hb) => hb * PREFERRED_ELECTION_PER_HEARTBEAT >= election && hb >= rtt);
    if (heartbeat === undefined || election < MIN_ELECTION_PER_HEARTBEAT * heartbeat) continue;
    out.push({ heartbeat, election });
  }
  return out;
}

export interface RecommendInput {
  /** The observed stall distribution and where it came from. */
  readonly stalls: HistogramWindow;
  readonly stallSource: StallSource;
  /** The running settings; undefined when unknown (etcd's defaults are assumed and said so). */
  readonly settings?: EtcdSettings;
  /** Cluster size; undefined → DEFAULT_MEMBERS. */
  readonly members?: number;
  /** Mean peer round-trip time over the window, when etcd's peer histogram is known. */
  readonly peerRttMean?: Milliseconds;
  readonly targetElectionsPerDay: number;
  readonly maxTuningElection: Milliseconds;
  /** Position of a stall inside its bucket (0 lower edge … 1 upper edge) for the predicted rates: the model's calibration knob. */
  readonly stallRepresentative: number;
}

/** True when settings keep even the longest stalls the window can hold under the target rate. */
function tolerates(input: RecommendInput, c: Candidate, n: number): boolean {
  return worstCaseElectionsPerDay(input.stalls, c.heartbeat, c.election, n) < input.targetElectionsPerDay;
}

/** Whether etcd and its tuning guide accept the pair for this peer round trip. */
function validFor(c: Candidate, peerRttMean: Milliseconds | undefined): boolean {
  const rtt = peerRttMean ?? 0;
  return c.election >= MIN_ELECTION_PER_HEARTBEAT * c.heartbeat && c.election >= MIN_ELECTION_PER_RTT * rtt && c.heartbeat >= rtt && c.election <= ETCD_MAX_ELECTION;
}

/** The first known profile that etcd accepts here and that rides out the same stalls the recommendation must. */
function fittingProfile(input: RecommendInput, n: number): SettingsProfile | undefined {
  return KNOWN_PROFILES.find((p) => validFor(p, input.peerRttMean) && tolerates(input, p, n));
}

/** The smallest grid election timeout meeting the target when only etcd's own rules apply (no RTT); Infinity if none. */
function stallOnlyElection(input: RecommendInput, n: number): number {
  return candidateSettings().find((c) => tolerates(input, c, n))?.election ?? Infinity;
}

/**
 * Why the rate is the same with pre-vote (docs/election-model.md, "Pre-vote"): a follower refuses a
 * (pre-)vote only while it heard from the leader within the base election timeout, and during a
 * leader's stall the first follower to campaign has waited at least that long, as have the others (to
 * within one tick of their own clocks).
 */
const PRE_VOTE_WORDS = "it does not prevent elections from a leader's stall: by the time a follower campaigns, the others have not heard from the leader for the base election timeout either and grant the vote";

const SOURCE_WORDS: Record<StallSource, string> = {
  etcd_wal_fsync: "etcd's WAL fsync histogram (the raft loop's own stalls)",
  probe: "the probe's fdatasync histogram (etcd's WAL histogram unavailable)",
};

/**
 * The tuning recommendation: the smallest election timeout on the grid (with its heartbeat, see
 * `candidateSettings`) whose predicted rate is strictly under the target, compared with the settings
 * running now. `temporary` when the stalls push the timeout above `maxTuningElection` (a timeout that
 * large only because of the peer RTT is not a disk problem). When no candidate reaches the target,
 * the largest candidate is returned with `meetsTarget: false` and `temporary: true`: the disk must be
 * fixed.
 */
export function recommendSettings(input: RecommendInput): TuningRecommendation {
  const n = input.members !== undefined && input.members >= 1 ? input.members : DEFAULT_MEMBERS;
  const rep = input.stallRepresentative;
  const hb = input.settings?.heartbeat.value ?? ETCD_DEFAULT_HEARTBEAT;
  const et = input.settings?.election.value ?? ETCD_DEFAULT_ELECTION;
  const current = predictSettings(input.stalls, hb, et, n, rep);

  const candidates = candidateSettings(input.peerRttMean);
  if (candidates.length === 0) candidates.push({ heartbeat: HEARTBEAT_GRID[HEARTBEAT_GRID.length - 1]!, election: ETCD_MAX_ELECTION });
  // Chosen against the longest stalls the buckets allow, not the estimate: the recommendation must
  // hold for every stall the window saw, and applied on a real cluster it must stop the elections.
  const chosen = candidates.find((c) => tolerates(input, c, n));
  const meetsTarget = chosen !== undefined;
  const pick = chosen ?? candidates[candidates.length - 1]!;
  const recommended = predictSettings(input.stalls, pick.heartbeat, pick.election, n, rep);
  // Temporary: the timeout the stalls alone need (RTT rules aside) is above maxTuningElection, or
  // nothing helps. A timeout that large only because of the peer RTT is not a disk problem.
  const forStalls = input.peerRttMean === undefined ? (meetsTarget ? recommended.election : Infinity) : stallOnlyElection(input, n);
  const tooLarge = forStalls > input.maxTuningElection;
  const temporary = !meetsTarget || tooLarge;

  const reasons: string[] = [];
  const obs = observations(input.stalls.histogram);
  reasons.push(`stall distribution: ${SOURCE_WORDS[input.stallSource]}, ${obs} observations over ${fmtSeconds(input.stalls.window)}`);
  reasons.push(
    input.settings
      ? `current settings: heartbeat ${fmtMs(hb)} (${input.settings.heartbeat.origin}), election timeout ${fmtMs(et)} (${input.settings.election.origin})`
      : `current settings unknown: etcd's defaults assumed (heartbeat ${fmtMs(hb)}, election timeout ${fmtMs(et)})`,
  );
  reasons.push(input.members !== undefined && input.members >= 1 ? `cluster size: ${n} members` : `cluster size unknown: ${n} members assumed`);
  const preVote = input.settings?.preVote;
  if (preVote) reasons.push(`pre-vote ${preVote.value ? 'on' : 'off'} (${preVote.origin === 'default' ? "the version's default" : preVote.origin}): ${PRE_VOTE_WORDS}`);
  reasons.push(`predicted with current settings: ${fmtRate(current.electionsPerDay)} elections/day (target < ${fmtRate(input.targetElectionsPerDay)}/day)`);
  if (input.peerRttMean !== undefined) {
    reasons.push(`mean peer RTT ${fmtMs(input.peerRttMean)}: election timeout ≥ ${fmtMs(MIN_ELECTION_PER_RTT * input.peerRttMean)}, heartbeat ≥ the RTT`);
  }
  const longest = longestStalls(input.stalls.histogram).at(-1);
  const pinned = topBucketMean(input.stalls.histogram);
  if (pinned && longest) {
    reasons.push(
      `longest stalls: ${pinned.bucket.count} in (${fmtSeconds(pinned.bucket.lo)}, ${pinned.bucket.hi === Infinity ? '+Inf' : fmtSeconds(pinned.bucket.hi)}], ` +
        `${fmtSeconds(pinned.mean.lo)}–${fmtSeconds(pinned.mean.hi)} on average by the histogram's sum`,
    );
  }
  if (meetsTarget) {
    reasons.push(
      `smallest election timeout under the target even if every stall is as long as its bucket allows` +
        `${longest ? ` (up to ${fmtSeconds(longest.stall)})` : ''}: ${fmtMs(recommended.election)} with heartbeat ${fmtMs(recommended.heartbeat)} ` +
        `(predicted ${fmtRate(recommended.electionsPerDay)} elections/day)`,
    );
  } else {
    reasons.push(
      `no setting within etcd's limits (election timeout ≤ ${fmtMs(ETCD_MAX_ELECTION)}) keeps the longest stalls under the target: ` +
        `the largest is predicted at ${fmtRate(recommended.electionsPerDay)} elections/day; the disk must be fixed`,
    );
  }
  if (meetsTarget && tooLarge) {
    reasons.push(
      `the election timeout the stalls need (${fmtMs(forStalls)}) is above ${fmtMs(input.maxTuningElection)}: tuning only hides the disk's stalls, ` +
        'use it as a stop-gap and fix the disk',
    );
  }
  const profile = meetsTarget ? fittingProfile(input, n) : undefined;
  if (profile) reasons.push(`a profile operators know fits too: ${profile.name} (${fmtMs(profile.heartbeat)} / ${fmtMs(profile.election)})`);
  return {
    current,
    recommended,
    ...(profile ? { profile: { ...profile, ...predictSettings(input.stalls, profile.heartbeat, profile.election, n, rep) } } : {}),
    addedFailoverDetection: ms(recommended.failoverDetection - current.failoverDetection),
    temporary,
    meetsTarget,
    targetElectionsPerDay: input.targetElectionsPerDay,
    stallSource: input.stallSource,
    members: n,
    reasons,
  };
}
