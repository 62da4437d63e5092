/**
 * The salt of the router's assignment: the flag's experiment name together with the model name.
 *
 * `assign` (lambdas/core/routing/assignment.ts) salts the user hash with `flag.experiment` alone, so two
 * models whose flags name the same experiment (the config default is `ab`) would put every user in
 * the same bucket for both, and one model's split would be correlated with the other's. Mixing in
 * the model name makes them independent. The salt is a digest of the pair, not `model-experiment`,
 * because the joined text can exceed the 63 characters `assign` accepts, and a valid flag must not
 * become unusable for a long model name; `\0` keeps the pair unambiguous.
 *
 * Changing this function reshuffles every user of every model: its outputs are pinned by tests.
 */
import { hash } from 'node:crypto';
import { assign, type Assignment } from '../core/routing/assignment';
import type { FlagDocument } from '../core/routing/flags';

/** `s` + 32 hex digits of SHA-256(model + "\0" + experiment): a valid experiment name for `assign`. */
export function assignmentSalt(model: string, experiment: string): string {
  return `s${hash('sha256', `${model}\0${experiment}`, 'hex').slice(0, 32)}`;
}

/** The flag with its experiment replaced by the model's salt, ready for `assign`; built once per flag read. */
export function saltedFlag(model: string, flag: FlagDocument): FlagDocument {
  return { ...flag, experiment: assignmentSalt(model, flag.experiment) };
}

/** Which version `userId` gets from `flag` for `model` (the router's assignment, for tools and tests). */
export function assignUser(model: string, flag: FlagDocument, userId: string): Assignment {
  return assign(saltedFlag(model, flag), userId);
}
