import type { Command } from 'commander';

/**
 * Commander suggests an option only when the typed one is close by edit distance, so `--ref` gets
 * no hint for `--reference`. This adds the one long option the typed flag abbreviates, in the same
 * form as commander's own suggestion; the option stays unknown (abbreviations are not accepted).
 */
export function suggestAbbreviatedOptions(cmd: Command): void {
  const error = cmd.error.bind(cmd);
  cmd.error = (message, options) => {
    if (options?.code === 'commander.unknownOption' && !message.includes('Did you mean')) {
      const flag = /unknown option '(--[^'=]+)/.exec(message)?.[1];
      const matches = flag
        ? cmd.options.map((o) => o.long).filter((l): l is string => l !== undefined && l.startsWith(flag))
        : [];
      if (matches.length === 1) return error(`${message}\n(Did you mean ${matches[0]}?)`, options);
    }
    return error(message, options);
  };
}
