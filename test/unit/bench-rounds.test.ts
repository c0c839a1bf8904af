import t from 'tap';
import { roundSize } from '../../src/commands/bench.js';

t.test('bench rounds add up to exactly the requested count, at most 100 fdatasyncs each', async (t) => {
  const cases: Array<[count: number, size: number]> = [
    [10_000, 100], // fio's check: 100 rounds of 100
    [1003, 59], // 17 × 59: the accuracy figure's rounds, none thrown away
    [250, 50],
    [50, 50],
    [997, 1], // a prime above 100: one at a time
    [1, 1],
  ];
  for (const [count, size] of cases) {
    t.equal(roundSize(count), size, `${count} → rounds of ${size}`);
    t.equal(count % roundSize(count), 0, `${count}: whole rounds`);
  }
});
