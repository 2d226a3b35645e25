/**
 * Terraform, checked without providers or a backend (no downloads here):
 * every file parses (@cdktf/hcl2json, HashiCorp's HCL parser compiled to
 * WASM), and every reference resolves: var./local./module./data. and
 * resource names are declared, local module sources exist, module arguments
 * are variables of the called module, required variables are given, outputs
 * read from a module exist, registry modules pin a version.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { getReferencesInExpression, parse } from '@cdktf/hcl2json';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Body = Record<string, Json>;
/** hcl2json's shape: `variable "x" {}` -> variable.x[0]; `resource "t" "n" {}` -> resource.t.n[0]. */
interface Blocks {
  variable?: Record<string, Body[]>;
  output?: Record<string, Body[]>;
  module?: Record<string, Body[]>;
  locals?: Body[];
  resource?: Record<string, Record<string, Body[]>>;
  data?: Record<string, Record<string, Body[]>>;
}

export interface TerraformModule {
  readonly dir: string;
  readonly files: Map<string, Record<string, Json>>;
  readonly variables: Map<string, { hasDefault: boolean }>;
  readonly outputs: Set<string>;
  readonly locals: Set<string>;
  readonly calls: Map<string, Record<string, Json>>;
  readonly resources: Set<string>;
  readonly data: Set<string>;
  /** Every reference in every expression, with the file it is in. */
  readonly references: { file: string; ref: string }[];
}

/** Directories holding .tf files under `root`. */
export function terraformDirs(root: string): string[] {
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir);
    if (entries.some((e) => e.endsWith('.tf'))) dirs.push(dir);
    for (const entry of entries) {
      const path = join(dir, entry);
      if (!entry.startsWith('.') && statSync(path).isDirectory()) walk(path);
    }
  };
  walk(root);
  return dirs.sort();
}

function strings(value: Json, out: string[]): void {
  if (typeof value === 'string') {
    if (value.includes('${')) out.push(value);
  } else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
}

/** Parses every .tf file of one directory; throws naming the file that does not parse. */
export async function loadModule(dir: string): Promise<TerraformModule> {
  const module: TerraformModule = {
    dir, files: new Map(), variables: new Map(), outputs: new Set(), locals: new Set(), calls: new Map(), resources: new Set(), data: new Set(), references: [],
  };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tf')).sort()) {
    const path = join(dir, file);
    let json: Record<string, Json>;
    try {
      json = (await parse(file, readFileSync(path, 'utf8'))) as Record<string, Json>;
    } catch (error) {
      throw new Error(`${path} does not parse: ${error instanceof Error ? error.message : String(error)}`);
    }
    module.files.set(file, json);
    const blocks = json as Blocks;
    for (const [name, [body]] of Object.entries(blocks.variable ?? {})) module.variables.set(name, { hasDefault: body !== undefined && 'default' in body });
    for (const name of Object.keys(blocks.output ?? {})) module.outputs.add(name);
    for (const locals of blocks.locals ?? []) for (const name of Object.keys(locals)) module.locals.add(name);
    for (const [name, [body]] of Object.entries(blocks.module ?? {})) module.calls.set(name, body ?? {});
    for (const [type, byName] of Object.entries(blocks.resource ?? {})) for (const name of Object.keys(byName)) module.resources.add(`${type}.${name}`);
    for (const [type, byName] of Object.entries(blocks.data ?? {})) for (const name of Object.keys(byName)) module.data.add(`${type}.${name}`);
    const { terraform: _settings, ...rest } = json;
    const expressions: string[] = [];
    strings(rest, expressions);
    for (const expression of expressions) {
      for (const { value } of await getReferencesInExpression(file, expression)) module.references.push({ file: path, ref: value });
    }
  }
  return module;
}

export async function loadTree(root: string): Promise<Map<string, TerraformModule>> {
  const modules = new Map<string, TerraformModule>();
  for (const dir of terraformDirs(root)) modules.set(resolve(dir), await loadModule(dir));
  return modules;
}

const IGNORED_ROOTS = new Set(['each', 'count', 'path', 'self', 'terraform']);
const META_ARGUMENTS = new Set(['source', 'version', 'providers', 'count', 'for_each', 'depends_on']);

/** One line per unresolved reference or broken module call, over a whole tree. */
export function checkReferences(modules: ReadonlyMap<string, TerraformModule>, root: string): string[] {
  const problems: string[] = [];
  for (const module of modules.values()) {
    const where = relative(root, module.dir) || '.';
    for (const { file, ref } of module.references) {
      const at = relative(root, file);
      const parts = ref.split('.');
      const [head, second, third] = parts;
      if (head === undefined || IGNORED_ROOTS.has(head)) continue;
      if (head === 'var') {
        if (!module.variables.has(second ?? '')) problems.push(`${at}: var.${second} is not declared in ${where}`);
      } else if (head === 'local') {
        if (!module.locals.has(second ?? '')) problems.push(`${at}: local.${second} is not declared in ${where}`);
      } else if (head === 'module') {
        const call = module.calls.get(second ?? '');
        if (call === undefined) problems.push(`${at}: module.${second} is not declared in ${where}`);
        else if (third !== undefined && typeof call.source === 'string' && call.source.startsWith('.')) {
          const target = modules.get(resolve(module.dir, call.source));
          if (target !== undefined && !target.outputs.has(third)) problems.push(`${at}: module.${second}.${third}: ${call.source} has no output "${third}"`);
        }
      } else if (head === 'data') {
        if (!module.data.has(`${second}.${third}`)) problems.push(`${at}: data.${second}.${third} is not declared in ${where}`);
      } else if (second !== undefined && /^[a-z][a-z0-9]*_[a-z0-9_]+$/.test(head)) {
        if (!module.resources.has(`${head}.${second}`)) problems.push(`${at}: resource ${head}.${second} is not declared in ${where}`);
      }
    }
    for (const [name, call] of module.calls) {
      const source = call.source;
      if (typeof source !== 'string') {
        problems.push(`${where}: module "${name}" has no source`);
        continue;
      }
      if (!source.startsWith('.')) {
        if (typeof call.version !== 'string') problems.push(`${where}: module "${name}" (${source}) must pin a version`);
        continue;
      }
      const targetDir = resolve(module.dir, source);
      const target = modules.get(targetDir);
      if (!existsSync(targetDir) || target === undefined) {
        problems.push(`${where}: module "${name}" source ${source} does not exist`);
        continue;
      }
      for (const argument of Object.keys(call)) {
        if (!META_ARGUMENTS.has(argument) && !target.variables.has(argument)) problems.push(`${where}: module "${name}" passes "${argument}", which ${source} does not declare`);
      }
      for (const [variable, { hasDefault }] of target.variables) {
        if (!hasDefault && !(variable in call)) problems.push(`${where}: module "${name}" does not set the required variable "${variable}" of ${source}`);
      }
    }
  }
  return problems;
}

/** A root module's literal argument to a module call (e.g. the env's shard_count). */
export function callArgument(module: TerraformModule, call: string, argument: string): Json | undefined {
  return module.calls.get(call)?.[argument];
}

export interface PolicyStatement {
  readonly sid: string | undefined;
  readonly actions: string[];
  readonly resources: string[];
}

/** The statements of `data "aws_iam_policy_document" "<name>"` in a module. */
export function policyStatements(module: TerraformModule, name: string): PolicyStatement[] {
  for (const json of module.files.values()) {
    const blocks = json as Blocks;
    const document = blocks.data?.aws_iam_policy_document?.[name]?.[0];
    if (document === undefined) continue;
    const statements = (document.statement ?? []) as { sid?: string; actions?: string[]; resources?: string[] }[];
    return statements.map((s) => ({ sid: s.sid, actions: s.actions ?? [], resources: s.resources ?? [] }));
  }
  throw new Error(`${module.dir}: no aws_iam_policy_document "${name}"`);
}
