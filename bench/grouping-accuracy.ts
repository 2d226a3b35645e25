/**
 * Grouping Accuracy (Zhu et al., "Tools and Benchmarks for Automated Log
 * Parsing", ICSE-SEIP 2019): a line counts as correct iff the set of lines in
 * its predicted group is exactly the set of lines in its true group. One
 * wrongly merged or split line makes its whole group wrong, so GA punishes
 * both over- and under-masking. Used by the fingerprint tests, the bench suite
 * and `node dist/bench/fingerprint-accuracy.js`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function groupingAccuracy(truth: readonly string[], predicted: readonly string[]): number {
  if (truth.length !== predicted.length) throw new RangeError('truth and predicted must have the same length');
  if (truth.length === 0) return 1;
  const truthSizes = countBy(truth);
  const groups = new Map<string, { label: string | undefined; size: number; pure: boolean }>();
  truth.forEach((label, i) => {
    const group = groups.get(predicted[i]!);
    if (!group) groups.set(predicted[i]!, { label, size: 1, pure: true });
    else {
      group.size++;
      if (group.label !== label) group.pure = false;
    }
  });
  let correct = 0;
  for (const group of groups.values()) {
    if (group.pure && truthSizes.get(group.label!) === group.size) correct += group.size;
  }
  return correct / truth.length;
}

/** Predicted groups that hold lines of more than one true label: label sets, largest first. */
export function mergedGroups(truth: readonly string[], predicted: readonly string[]): string[][] {
  const labelsByGroup = new Map<string, Set<string>>();
  truth.forEach((label, i) => {
    const labels = labelsByGroup.get(predicted[i]!) ?? new Set<string>();
    labels.add(label);
    labelsByGroup.set(predicted[i]!, labels);
  });
  return [...labelsByGroup.values()].filter((s) => s.size > 1).map((s) => [...s].sort()).sort((a, b) => b.length - a.length);
}

/** True labels whose lines landed in more than one predicted group, with the group count. */
export function splitLabels(truth: readonly string[], predicted: readonly string[]): Map<string, number> {
  const groupsByLabel = new Map<string, Set<string>>();
  truth.forEach((label, i) => {
    const groups = groupsByLabel.get(label) ?? new Set<string>();
    groups.add(predicted[i]!);
    groupsByLabel.set(label, groups);
  });
  return new Map([...groupsByLabel].filter(([, g]) => g.size > 1).map(([label, g]) => [label, g.size]));
}

export interface LabelledLine {
  readonly label: string;
  readonly line: string;
}

/** Reads `label<TAB>line` files (test/fixtures/fingerprint/*): one corpus style per file. */
export function readLabelledLines(dir: string): Map<string, LabelledLine[]> {
  const styles = new Map<string, LabelledLine[]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tsv')).sort()) {
    const lines: LabelledLine[] = [];
    for (const row of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (row === '' || row.startsWith('#')) continue;
      const tab = row.indexOf('\t');
      if (tab < 0) throw new Error(`${file}: no tab in "${row}"`);
      lines.push({ label: `${file}:${row.slice(0, tab)}`, line: row.slice(tab + 1) });
    }
    styles.set(file.replace(/\.tsv$/, ''), lines);
  }
  return styles;
}

function countBy(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}
