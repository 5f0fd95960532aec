/** The framing that separates a command's own output from what a noisy login shell prints first. */
import { describe, expect, it } from 'vitest';
import { FrameStripper, framedCommand, newMarker, unframeCommand } from '../../../src/remote/frame.js';

describe('frame', () => {
  it('the command line prints the marker on both streams and then runs the command as it was quoted', () => {
    expect(framedCommand("cat '/etc/a b'", 'ascendctl-frame-ab12')).toBe(
      "printf '%s\\n' ascendctl-frame-ab12; printf '%s\\n' ascendctl-frame-ab12 >&2; cat '/etc/a b'",
    );
    expect(newMarker()).not.toBe(newMarker());
  });

  it('drops the noise before the marker, even when the marker is split across chunks', () => {
    const f = new FrameStripper('MARK');
    const parts = [f.push(Buffer.from('Last login: Mon\nwelcome MA')), f.push(Buffer.from('RK')), f.push(Buffer.from('\nreal out')), f.push(Buffer.from('put\n'))];
    expect(Buffer.concat(parts).toString()).toBe('real output\n');
    expect(f.found).toBe(true);
    expect(f.flush().length).toBe(0);
  });

  it('passes later bytes untouched, a second marker-like line included', () => {
    const f = new FrameStripper('MARK');
    expect(f.push(Buffer.from('MARK\n')).toString()).toBe('');
    expect(f.push(Buffer.from('MARK\nx')).toString()).toBe('MARK\nx');
  });

  it('hands over what was printed when the marker never came (the shell failed before the command)', () => {
    const f = new FrameStripper('MARK');
    expect(f.push(Buffer.from('bash: /etc/profile.d/x.sh: Permission denied\n')).length).toBe(0);
    expect(f.flush().toString()).toBe('bash: /etc/profile.d/x.sh: Permission denied\n');
  });
});

describe('unframeCommand', () => {
  it('gives back the marker and the command framedCommand was given', () => {
    const m = newMarker();
    expect(unframeCommand(framedCommand("a 'b; c'\nd", m))).toEqual({ marker: m, command: "a 'b; c'\nd" });
    expect(unframeCommand('echo hi')).toBeUndefined();
  });
});
