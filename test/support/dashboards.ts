/**
 * The monitoring files as tests read them: every dashboard under
 * k8s/base/monitoring/dashboards, their panels and PromQL, and the rules of
 * the PrometheusRule manifest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

export const MONITORING_DIR = resolve('k8s/base/monitoring');
export const DASHBOARD_DIR = join(MONITORING_DIR, 'dashboards');

export interface Target {
  readonly refId: string;
  readonly expr?: string;
  readonly datasource?: { type?: string; uid?: string };
  readonly [key: string]: unknown;
}

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { x: number; y: number; w: number; h: number };
  readonly datasource?: { type?: string; uid?: string };
  readonly fieldConfig?: { defaults?: { unit?: string } };
  readonly targets: readonly Target[];
}

export interface Dashboard {
  readonly file: string;
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { list: readonly { name: string; type: string; query?: string }[] };
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) as Omit<Dashboard, 'file'>) }));
}

export interface PanelQuery {
  readonly where: string;
  readonly expr: string;
}

export function promQueries(dashboards: readonly Dashboard[]): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const d of dashboards) {
    for (const p of d.panels) {
      for (const t of p.targets) {
        if (t.expr !== undefined && (t.datasource?.type ?? p.datasource?.type) === 'prometheus') out.push({ where: `${d.file} / ${p.title} / ${t.refId}`, expr: t.expr });
      }
    }
  }
  return out;
}

export interface AlertRule {
  readonly group: string;
  readonly alert: string;
  readonly expr: string;
}

interface PrometheusRuleManifest {
  kind: string;
  spec: { groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[] };
}

export function loadRuleManifest(): PrometheusRuleManifest {
  return parse(readFileSync(join(MONITORING_DIR, 'prometheus-rule.yaml'), 'utf8')) as PrometheusRuleManifest;
}

export function alertRules(): AlertRule[] {
  return loadRuleManifest().spec.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, alert: r.alert ?? r.record ?? '?', expr: r.expr })));
}

/** Grafana's built-in interval variables, as Grafana would fill them for a short range. */
export function substituteGrafanaVariables(expr: string, rateInterval = '15s'): string {
  return expr.replaceAll('$__rate_interval', rateInterval).replaceAll('$__interval', '5s').replaceAll('$__range', '1h');
}
