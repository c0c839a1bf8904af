// The JSON form of a Diagnosis, shared by GET /api/v1/diagnosis and `diagnose --json` so the two
// can never disagree. Schema: docs/api.md.
import type { Diagnosis } from '../../model/diagnosis.js';
import { toJson } from './json.js';

export const DIAGNOSIS_SCHEMA_VERSION = 1;

/** GET /api/v1/diagnosis and `diagnose --json`: the diagnosis, with the member it is about. */
export type DiagnosisDocument = { readonly schemaVersion: number; readonly member: string } & Diagnosis;

export function diagnosisJson(d: Diagnosis, member: string): string {
  const doc: DiagnosisDocument = { schemaVersion: DIAGNOSIS_SCHEMA_VERSION, member, ...d };
  return toJson(doc);
}

/** Reads the JSON back (`diagnose --from`): the dates become Dates again. */
export function parseDiagnosisJson(text: string): Diagnosis {
  const raw = JSON.parse(text) as Diagnosis & { at: string; findings: Array<Diagnosis['findings'][number] & { since: string }> };
  return { ...raw, at: new Date(raw.at), findings: raw.findings.map((f) => ({ ...f, since: new Date(f.since) })) };
}
