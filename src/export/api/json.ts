/** JSON for the APIs: Maps become objects, non-finite numbers (bucket +Inf) become strings, Dates ISO. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (v instanceof Map) return Object.fromEntries(v);
      if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
      return v;
    },
    indent,
  );
}
