/**
 * Structure of the monitoring files: dashboards Grafana can provision from
 * the sidecar ConfigMap (datasource variable, no hard-coded datasource uid,
 * unique panel ids, grid positions inside 24 columns and not overlapping, a
 * unit on every panel), and a kustomization that renders them with the
 * sidecar's label. The queries themselves are proven in prometheus-proof.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { CaliMetrics } from '../src/telemetry/metrics.js';
import { alertRules, loadDashboards, MONITORING_DIR, promQueries } from './support/dashboards.js';

const dashboards = loadDashboards();

describe('Grafana dashboards', () => {
  it('cover pipeline, leasing, alerting, RAG and logs, each with a unique uid', () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual(['cali-alerting', 'cali-leasing', 'cali-logs', 'cali-pipeline', 'cali-rag']);
  });

  for (const d of dashboards) {
    describe(d.file, () => {
      it('takes its datasource from a variable, never a fixed uid', () => {
        const variable = d.templating.list.find((v) => v.type === 'datasource');
        expect(variable?.name).toBe('datasource');
        for (const p of d.panels) {
          expect(p.datasource?.uid, p.title).toBe('${datasource}');
          for (const t of p.targets) expect(t.datasource?.uid ?? '${datasource}', `${p.title} ${t.refId}`).toBe('${datasource}');
        }
        expect(JSON.stringify(d)).not.toMatch(/"uid":\s*"(?!\$\{datasource\}|cali-)/);
      });

      it('has unique panel ids and grid positions inside 24 columns that do not overlap', () => {
        const ids = d.panels.map((p) => p.id);
        expect(new Set(ids).size).toBe(ids.length);
        const cells = new Set<string>();
        for (const p of d.panels) {
          const { x, y, w, h } = p.gridPos;
          expect(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, `${p.title} at ${JSON.stringify(p.gridPos)}`).toBe(true);
          for (let i = x; i < x + w; i++) {
            for (let j = y; j < y + h; j++) {
              expect(cells.has(`${i},${j}`), `${p.title} overlaps another panel`).toBe(false);
              cells.add(`${i},${j}`);
            }
          }
        }
      });

      it('gives every panel a unit and at least one query', () => {
        for (const p of d.panels) {
          if (p.type !== 'logs') expect(p.fieldConfig?.defaults?.unit, p.title).toMatch(/^[a-zA-Z]+$/);
          expect(p.targets.length, p.title).toBeGreaterThan(0);
        }
      });
    });
  }

  it('the logs dashboard queries OpenSearch on @timestamp by service and level', () => {
    const logs = dashboards.find((d) => d.uid === 'cali-logs')!;
    const fields = JSON.stringify(logs.panels.flatMap((p) => p.targets));
    expect(logs.templating.list[0]?.query).toBe('grafana-opensearch-datasource');
    for (const field of ['"@timestamp"', '"service"', '"level"', '"_cali.fingerprint"']) expect(fields).toContain(field);
  });
});

describe('kustomization', () => {
  const rendered = spawnSync('kubectl', ['kustomize', MONITORING_DIR], { encoding: 'utf8' });
  it.skipIf(rendered.error !== undefined)('renders the dashboards ConfigMap with the sidecar label, the PrometheusRule and the ServiceMonitor', () => {
    expect(rendered.status, rendered.stderr).toBe(0);
    const objects = parseAllDocuments(rendered.stdout).map((doc) => doc.toJS() as { kind: string; metadata: { name: string; labels?: Record<string, string> }; data?: Record<string, string> });
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'PrometheusRule', 'ServiceMonitor']);
    const configMap = objects.find((o) => o.kind === 'ConfigMap')!;
    expect(configMap.metadata.name).toBe('cali-grafana-dashboards');
    expect(configMap.metadata.labels?.grafana_dashboard).toBe('1');
    expect(Object.keys(configMap.data ?? {}).sort()).toEqual(dashboards.map((d) => d.file).sort());
  });
});

describe('the metric catalogue', () => {
  const registered = new CaliMetrics().registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name);

  it('docs/metrics.md documents every cali_ metric with its type and labels', () => {
    const doc = readFileSync('docs/metrics.md', 'utf8');
    for (const name of registered.filter((n) => n.startsWith('cali_'))) expect(doc, name).toMatch(new RegExp(`^\\| \`${name}\` \\| (counter|gauge|histogram) \\|`, 'm'));
  });

  it('dashboards and rules read only metrics the registry exports', () => {
    const exported = new Set(registered.flatMap((n) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`]));
    const used = [...promQueries(dashboards).map((q) => q.expr), ...alertRules().map((r) => r.expr)].flatMap((e) => e.match(/\b(cali|process|nodejs)_[a-z0-9_]+/g) ?? []);
    for (const name of new Set(used)) expect(exported.has(name), name).toBe(true);
  });

  it('follows the naming rules: cali_ prefix, counters end in _total, units in the names, no high-cardinality labels', () => {
    for (const metric of new CaliMetrics().registry.getMetricsAsArray() as unknown as { name: string; labelNames: string[]; constructor: { name: string } }[]) {
      if (!metric.name.startsWith('cali_')) continue;
      if (metric.constructor.name === 'Counter') expect(metric.name, metric.name).toMatch(/_total$/);
      else expect(metric.name, metric.name).not.toMatch(/_total$/);
      if (metric.constructor.name === 'Histogram') expect(metric.name, metric.name).toMatch(/_seconds$/);
      for (const label of metric.labelNames) expect(['fingerprint', 'message', 'sequence_number', 'record_id', 'url'], metric.name).not.toContain(label);
    }
  });
});
