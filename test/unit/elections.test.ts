import t from 'tap';
import { observeTerm, type ElectionTally } from '../../src/state/elections.js';

const fold = (terms: readonly number[], start: ElectionTally = { elections: 0 }): ElectionTally => terms.reduce(observeTerm, start);

t.test('observeTerm counts term increases as elections', async (t) => {
  const cases: Array<{ name: string; terms: number[]; elections: number; lastTerm: number | undefined }> = [
    { name: 'no observation', terms: [], elections: 0, lastTerm: undefined },
    { name: 'first observation counts nothing', terms: [7], elections: 0, lastTerm: 7 },
    { name: 'steady term', terms: [3, 3, 3], elections: 0, lastTerm: 3 },
    { name: 'one election', terms: [2, 3], elections: 1, lastTerm: 3 },
    { name: 'split vote between samples: +3 counts 3', terms: [2, 5], elections: 3, lastTerm: 5 },
    { name: 'several steps add up', terms: [2, 3, 3, 4, 6], elections: 4, lastTerm: 6 },
    { name: 'decrease re-bases without uncounting', terms: [10, 12, 2], elections: 2, lastTerm: 2 },
    { name: 'after a re-base increases count again', terms: [10, 12, 2, 4], elections: 4, lastTerm: 4 },
    { name: 'decrease on the second observation', terms: [9, 1, 2], elections: 1, lastTerm: 2 },
    { name: 'term 0 (member not started) then 2', terms: [0, 2], elections: 2, lastTerm: 2 },
    { name: 'NaN ignored', terms: [2, Number.NaN, 3], elections: 1, lastTerm: 3 },
    { name: 'negative ignored', terms: [2, -1, 3], elections: 1, lastTerm: 3 },
    { name: 'fraction ignored', terms: [2, 2.5, 3], elections: 1, lastTerm: 3 },
    { name: 'infinity ignored', terms: [2, Number.POSITIVE_INFINITY, 3], elections: 1, lastTerm: 3 },
    { name: 'ignored first value leaves the tally unbased', terms: [Number.NaN, 4, 5], elections: 1, lastTerm: 5 },
  ];
  for (const c of cases) {
    const got = fold(c.terms);
    t.equal(got.elections, c.elections, `${c.name}: elections`);
    t.equal(got.lastTerm, c.lastTerm, `${c.name}: lastTerm`);
  }
});

t.test('observeTerm continues from a given tally and never mutates it', async (t) => {
  const start: ElectionTally = Object.freeze({ lastTerm: 4, elections: 10 });
  t.same(observeTerm(start, 6), { lastTerm: 6, elections: 12 });
  t.same(observeTerm(start, 1), { lastTerm: 1, elections: 10 });
  t.equal(observeTerm(start, 4), start, 'same term returns the same tally');
  t.same(start, { lastTerm: 4, elections: 10 });
});

t.test('the count is monotonic for any sequence', async (t) => {
  let seed = 42;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  let tally: ElectionTally = { elections: 0 };
  let previous = 0;
  for (let i = 0; i < 1000; i++) {
    tally = observeTerm(tally, Math.floor(rnd() * 50));
    if (tally.elections < previous) t.fail(`decreased at step ${i}`);
    previous = tally.elections;
  }
  t.pass('monotonic over 1000 random terms');
});
