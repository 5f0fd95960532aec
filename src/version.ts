/** Replaced at build time by tsup's define; the fallback serves tests that run the sources. */
declare const __ASCENDCTL_VERSION__: string | undefined;
export const VERSION: string = typeof __ASCENDCTL_VERSION__ === 'string' ? __ASCENDCTL_VERSION__ : '0.0.0-dev';

/**
 * The argument vector is exactly `--version` (or `-V`): the launchers answer it from this module alone,
 * without loading commander or any command, because it is what scripts and installers call most.
 */
export function isVersionOnly(argv: readonly string[]): boolean {
  return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
}
