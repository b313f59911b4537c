/**
 * The scenario's error class on its own, importing nothing, so the command
 * line's one `catch` can recognise it without loading the YAML parser and zod.
 */

/** A scenario file that cannot be used; `problems` are complete lines ready to print. */
export class ScenarioError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.join('\n'));
    this.name = 'ScenarioError';
  }
}
