// The process ids in a listing of /proc: its all-digit entries, in ascending order. Pure.

export function pidsOf(names: readonly string[]): number[] {
  return names.filter((n) => /^[0-9]+$/.test(n)).map(Number).sort((a, b) => a - b);
}
