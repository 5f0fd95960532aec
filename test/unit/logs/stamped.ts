import { readLines, type StampedLine } from '../../../src/logs/docker-logs.js';

/** One line (no newline in it) split into its timestamp and the daemon's line, as readLines splits each. */
export const splitTimestamp = (line: string): StampedLine => readLines(line)[0]!;
