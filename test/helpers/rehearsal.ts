/**
 * What every rehearsal suite runs against: the shipped config directory and the model's synthesized
 * template (cached under cdk.out/rehearsal/, so a clean clone pays the synth once).
 */
import { join } from 'node:path';
import { loadConfig } from '../../lib/config/load';
import type { RunOptions } from '../../lib/rehearsal/runner';
import { modelTemplate, type Template } from '../../lib/rehearsal/template';

export const REHEARSAL_CONFIG_DIR = join(__dirname, '..', '..', 'config');
export const REHEARSAL_MODEL = 'document-classifier';

export type ShippedRehearsal = Pick<RunOptions, 'config' | 'configDir'> & { readonly template: Template };

/** Loads the shipped config and the model's template; call it in a `beforeAll` with a long timeout. */
export function shippedRehearsal(): ShippedRehearsal {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const config = loadConfig({ configDir: REHEARSAL_CONFIG_DIR });
  return {
    config,
    configDir: REHEARSAL_CONFIG_DIR,
    template: modelTemplate(config, REHEARSAL_CONFIG_DIR, REHEARSAL_MODEL),
  };
}
