/**
 * Start-up installation of what the indices need: the log and incident index
 * templates and the ISM retention policy, each only if missing (an operator's
 * later edits are kept). Several replicas starting at once may race: a 409
 * from the policy PUT means another one installed it first.
 */
import type { Client } from '@opensearch-project/opensearch';
import type { OpenSearchSinkConfig } from './config.js';
import { incidentsIndexTemplate, ismPolicy, ismPolicyId, logsIndexTemplate, logsTemplateName } from './request.js';

export interface SetupReport {
  readonly installed: readonly string[];
}

export async function installIndexSetup(client: Client, config: OpenSearchSinkConfig): Promise<SetupReport> {
  const installed: string[] = [];
  const policyId = ismPolicyId(config);
  const policy = await client.ism.existsPolicy({ policy_id: policyId });
  if (policy.statusCode === 404) {
    try {
      await client.ism.putPolicy({ policy_id: policyId, body: ismPolicy(config) as never });
      installed.push(`ism policy ${policyId}`);
    } catch (error) {
      if ((error as { meta?: { statusCode?: unknown } }).meta?.statusCode !== 409) throw error;
    }
  }
  const templates: [string, Record<string, unknown>][] = [
    [logsTemplateName(config), logsIndexTemplate(config)],
    [`${config.incidentsIndex}-template`, incidentsIndexTemplate(config)],
  ];
  for (const [name, body] of templates) {
    const exists = await client.indices.existsIndexTemplate({ name });
    if (exists.statusCode !== 404) continue;
    await client.indices.putIndexTemplate({ name, create: true, body: body as never }).catch((error: unknown) => {
      // create=true answers 400 when another replica created it in between.
      const meta = (error as { meta?: { statusCode?: unknown; body?: { error?: { reason?: unknown } } } }).meta;
      const reason = meta?.body?.error?.reason;
      if (meta?.statusCode !== 400 || typeof reason !== 'string' || !reason.includes('already exists')) throw error;
    });
    installed.push(`index template ${name}`);
  }
  return { installed };
}
