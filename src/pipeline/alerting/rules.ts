/**
 * Which rule an incident candidate falls under, and whether it is silenced.
 * Pure functions of the candidate and the compiled settings.
 */
import type { IncidentCandidate } from '../../workers/protocol.js';
import type { CompiledRule, Silence } from './config.js';

export function matchesRule(rule: CompiledRule, c: IncidentCandidate): boolean {
  if (rule.levels !== undefined && !rule.levels.has(c.levelClass)) return false;
  if (rule.services !== undefined && !rule.services.has(c.service)) return false;
  if (rule.fingerprints !== undefined && !rule.fingerprints.has(c.fingerprint)) return false;
  if (rule.namespaces !== undefined && (c.kubernetes === undefined || !rule.namespaces.has(c.kubernetes.namespace))) return false;
  if (rule.labels.length > 0) {
    const labels = c.kubernetes?.labels;
    if (labels === undefined) return false;
    for (const [name, value] of rule.labels) if (labels[name] !== value) return false;
  }
  if (rule.message !== undefined && !rule.message.test(c.sample.message) && !rule.message.test(c.template)) return false;
  return true;
}

/** The first rule that matches, in file order; undefined: no rule, no alert. */
export function ruleFor(rules: readonly CompiledRule[], c: IncidentCandidate): CompiledRule | undefined {
  for (const rule of rules) if (matchesRule(rule, c)) return rule;
  return undefined;
}

export function silenceFor(silences: readonly Silence[], c: IncidentCandidate, nowMs: number): Silence | undefined {
  for (const s of silences) {
    if (s.untilMs <= nowMs) continue;
    if (s.fingerprint !== undefined && s.fingerprint !== c.fingerprint) continue;
    if (s.service !== undefined && s.service !== c.service) continue;
    return s;
  }
  return undefined;
}
