import t from 'tap';
import { TimeRing } from '../../src/lib/time-ring.js';

const at = (s: number) => new Date(s * 1000);

t.test('entries older than the retention are dropped when a new one arrives', async (t) => {
  const ring = new TimeRing<{ at: Date; v: number }>(10_000, 100);
  for (let s = 0; s <= 20; s++) ring.push({ at: at(s), v: s });
  t.same(ring.all().map((e) => e.v), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
});

t.test('the entry count never exceeds its bound', async (t) => {
  const ring = new TimeRing<{ at: Date }>(1e9, 5);
  for (let s = 0; s < 50; s++) ring.push({ at: at(s) });
  t.equal(ring.all().length, 5);
  t.same(ring.latest()?.at, at(49));
});

t.test('startOfWindow finds the first entry inside the window, or the oldest when the window reaches further back', async (t) => {
  const ring = new TimeRing<{ at: Date }>(1e9, 100);
  for (const s of [10, 20, 30]) ring.push({ at: at(s) });
  t.same(ring.startOfWindow(at(15))?.at, at(20));
  t.same(ring.startOfWindow(at(20))?.at, at(20));
  t.same(ring.startOfWindow(at(0))?.at, at(10));
  t.same(ring.startOfWindow(at(40))?.at, at(30), 'nothing that recent: the latest, so the window is empty');
  t.equal(new TimeRing<{ at: Date }>(1, 1).startOfWindow(at(0)), undefined, 'empty ring');
  t.same(ring.since(at(20)).map((e) => e.at), [at(20), at(30)]);
});
