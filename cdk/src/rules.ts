// The function's own UserParameters parser, compiled to WebAssembly (rules/, built into
// assets/rules.wasm): the construct checks what it writes with the rules the deployed function
// applies, and a mistake fails `cdk synth` with the function's own message.
import { readFileSync } from 'fs';
import { join } from 'path';

/** What the parser understood, or why it refused. */
export interface RulesReply {
  readonly ok: boolean;
  /** The message the function would fail the job with, when `ok` is false. */
  readonly error?: string;
  readonly distributionIds?: string[];
  readonly distributionTenantIds?: string[];
  readonly paths?: string[];
  /** The batch the function would send, or null when the paths come from the artifact. */
  readonly planned?: string[] | null;
  readonly wait?: boolean;
  readonly timeoutSeconds?: number;
  readonly onTimeout?: string;
  readonly maxPaths?: number;
  readonly pathsFromArtifact?: { mode: string; keyPrefix: string; pathPrefix: string; pipelineName: string | null } | null;
  /** `verify` as the function reads it (the prefix "" or ending in "/"), or null without it. */
  readonly verify?: {
    baseUrl: string | null;
    maxObjects: number;
    onStale: string;
    bucket: string | null;
    prefix: string;
  } | null;
  /**
   * The IAM actions the function's role needs on a distribution and on a tenant; with `verify`, on
   * each distribution, and for `paths` on the site's objects and on its bucket.
   */
  readonly iamActions?: { distribution: string[]; tenant: string[]; verifyDistribution: string[]; siteObjects: string[]; siteBucket: string[] };
}

// Node's global WebAssembly, as far as it is used here (its types come with the DOM library, which
// a Node package does not load).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface RulesExports {
  memory: { buffer: ArrayBuffer };
  rules_alloc(len: number): number;
  check_user_parameters(ptr: number, len: number): number;
  reply_ptr(): number;
}

let rules: RulesExports | undefined;

function load(): RulesExports {
  if (!rules) {
    const file = join(__dirname, '..', 'assets', 'rules.wasm');
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new Error(`cf-invalidate-cdk: ${file} is missing (${(error as Error).message}); in a checkout, run \`npm run rules\``);
    }
    rules = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as RulesExports;
  }
  return rules;
}

/** Checks UserParameters (the JSON text the function receives) with the function's parser. */
export function checkUserParameters(userParameters: string): RulesReply {
  const module = load();
  const input = Buffer.from(userParameters, 'utf8');
  const ptr = module.rules_alloc(input.length);
  new Uint8Array(module.memory.buffer, ptr, input.length).set(input);
  const len = module.check_user_parameters(ptr, input.length);
  // Read after the call: the module's memory may have grown, which replaces memory.buffer.
  const reply = Buffer.from(new Uint8Array(module.memory.buffer, module.reply_ptr(), len)).toString('utf8');
  return JSON.parse(reply) as RulesReply;
}
