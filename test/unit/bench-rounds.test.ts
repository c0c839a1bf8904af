import t from 'tap';
import { benchRounds } from '../../src/commands/bench.js';

t.test('bench rounds add up to exactly the requested count: full rounds of 100, then the remainder', async (t) => {
  const cases: Array<[count: number, rounds: number[]]> = [
    [10_000, new Array<number>(100).fill(100)], // fio's check
    [10_029, [...new Array<number>(100).fill(100), 29]], // 3 × 3343: no round of 3 at a time
    [1003, [...new Array<number>(10).fill(100), 3]],
    [250, [100, 100, 50]],
    [100, [100]],
    [50, [50]],
    [1, [1]],
  ];
  for (const [count, rounds] of cases) {
    t.same(benchRounds(count), rounds, `${count} → ${rounds.length} rounds`);
    t.equal(benchRounds(count).reduce((a, b) => a + b, 0), count, `${count}: nothing made and thrown away`);
  }
});
