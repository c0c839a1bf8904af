import t from 'tap';
import { parseDuration, parseSize, formatDuration, ms } from '../../src/lib/units.js';

t.test('parseDuration accepts the units operators write', async (t) => {
  const cases: Array<[string, number | undefined]> = [
    ['500ms', 500], ['10s', 10_000], ['1m', 60_000], ['1.5s', 1500], ['2h', 7_200_000], ['250us', 0.25],
    ['', undefined], ['10', undefined], ['-1s', undefined], ['1d', undefined], ['s', undefined], ['1 s', undefined],
  ];
  for (const [text, want] of cases) t.equal(parseDuration(text), want, JSON.stringify(text));
});

t.test('parseSize accepts bytes and binary/decimal suffixes', async (t) => {
  const cases: Array<[string, number | undefined]> = [
    ['2300', 2300], ['64MiB', 64 * 2 ** 20], ['1GiB', 2 ** 30], ['1GB', 1e9], ['1.5KiB', 1536], ['x', undefined], ['1mb', undefined],
  ];
  for (const [text, want] of cases) t.equal(parseSize(text), want, JSON.stringify(text));
});

t.test('formatDuration writes the shortest exact form', async (t) => {
  t.equal(formatDuration(ms(500)), '500ms');
  t.equal(formatDuration(ms(1000)), '1s');
  t.equal(formatDuration(ms(120_000)), '2m');
  t.equal(formatDuration(ms(1500)), '1500ms');
});
