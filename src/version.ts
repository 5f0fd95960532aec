/** Replaced at build time by tsup's define; the fallback serves tests that run the sources. */
declare const __ASCENDCTL_VERSION__: string | undefined;
export const VERSION: string = typeof __ASCENDCTL_VERSION__ === 'string' ? __ASCENDCTL_VERSION__ : '0.0.0-dev';
