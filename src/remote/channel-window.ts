/**
 * A smaller SSH channel window for streams that many nodes send at once (`ascendctl logs`).
 *
 * The window is SSH's only flow control (RFC 4254 §5.2): a node may send as many bytes as the client
 * has granted and not yet seen. ssh2 1.17 grants every channel 2 MiB and tops it up to 2 MiB again
 * whenever it falls to 1 MiB and the channel's readable side is under its high-water mark, also 2 MiB
 * (lib/Channel.js MAX_WINDOW); none of it can be set per channel. Pausing a channel therefore leaves up
 * to 2 MiB in flight and up to 2 MiB more queued in it, per channel: at 64 nodes whose logs are merged
 * by time, most of them paused at any moment, that alone is well over 100 MiB, and the collector pays
 * for it on every pass.
 *
 * execWithWindow opens the session channel with `bytes` of window instead, keeps every later grant
 * within `bytes` (granted when at most half of it is left, as OpenSSH does), and lowers the channel's
 * high-water mark to half of `bytes`, so a paused channel holds at most about 1.5 × `bytes` here
 * (pausedHoldBytes).
 *
 * A ChannelWindow may be resized while its channel is open: widening grants the difference at once,
 * narrowing takes effect as the node uses up what it was granted (SSH has no way to take a grant back),
 * so what the channel may still hold is its `held`, not its new size. `ascendctl logs` widens the window
 * of the one node its merge is draining alone (lead-window.ts, LeadWindows).
 *
 * This reaches into ssh2's internals (Client._protocol.session and .channelWindowAdjust, the channel's
 * `incoming` window and its readable state), which is why package.json pins ssh2 to 1.17. When they are
 * not as expected, the channel is opened exactly as client.exec opens it, with ssh2's own window.
 */
import type { Client, ClientChannel } from 'ssh2';

/** The window ssh2 1.17 offers and keeps per channel (lib/Channel.js MAX_WINDOW). */
export const SSH2_WINDOW = 2 * 1024 * 1024;
/** Below this, grants the server should see are too small to be worth a message each. */
const MIN_WINDOW = 32 * 1024;

type ExecCallback = (err: Error | undefined, channel: ClientChannel) => void;

interface ProtocolInternals {
  session(chan: number, initWindow: number, maxPacket: number): unknown;
  channelWindowAdjust(chan: number, amount: number): unknown;
}

interface ChannelInternals {
  incoming: { window: number };
  outgoing: { id: number };
  readableLength: number;
  _readableState?: { highWaterMark: number };
  stderr: { readableLength: number; _readableState?: { highWaterMark: number } };
}

/** A capped channel as the grant wrapper sees it. */
interface Capped {
  channel: ChannelInternals;
  window: ChannelWindow;
  /** Send a grant of `amount` past the wrapper (ssh2's own channelWindowAdjust). */
  grant(amount: number): void;
}

/**
 * Per connection: its channels with a capped window, by the id the server gave the channel, and ssh2's
 * own channelWindowAdjust, under the wrapper adjustments() puts over it.
 */
interface Adjustments {
  table: Map<number, Capped>;
  adjust: ProtocolInternals['channelWindowAdjust'];
}

const capped = new WeakMap<ProtocolInternals, Adjustments>();

function protocolOf(client: Client): ProtocolInternals | undefined {
  const proto = (client as unknown as { _protocol?: Partial<ProtocolInternals> })._protocol;
  if (!proto || typeof proto.session !== 'function' || typeof proto.channelWindowAdjust !== 'function') return undefined;
  return proto as ProtocolInternals;
}

/** The window actually used for a request of `bytes`: within [MIN_WINDOW, SSH2_WINDOW / 2]. */
export function channelWindowBytes(bytes: number): number {
  return Math.max(MIN_WINDOW, Math.min(SSH2_WINDOW / 2, Math.floor(bytes)));
}

/**
 * The window of one stream, which its reader may resize while the channel is open (module comment). One
 * ChannelWindow may serve a node's successive channels (a follow that reconnects): it applies to the one
 * opened last.
 */
export class ChannelWindow {
  #bytes: number;
  #bound: Capped | undefined;

  constructor(bytes: number) {
    this.#bytes = channelWindowBytes(bytes);
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * What the channel may hold here: what the node may still send unasked, plus what arrived and is not
   * read yet. 0 once the channel is closed (or before one is open).
   */
  get held(): number {
    const c = this.#bound?.channel;
    return c ? c.incoming.window + c.readableLength + c.stderr.readableLength : 0;
  }

  /** Widening grants the difference now; narrowing stops further grants until the node is within it. */
  resize(bytes: number): void {
    const next = channelWindowBytes(bytes);
    if (next === this.#bytes) return;
    this.#bytes = next;
    if (this.#bound) this.#apply(this.#bound);
  }

  /**
   * channel-window.ts only: `capped` is now the channel this window governs, until it closes. It was
   * offered `offered` bytes; a resize made while it was being opened is applied now.
   */
  bind(capped: Capped, offered: number, closed: Promise<void>): void {
    this.#bound = capped;
    void closed.then(() => {
      if (this.#bound === capped) this.#bound = undefined;
    });
    setHighWater(capped.channel, offered);
    if (this.#bytes !== offered) this.#apply(capped);
  }

  #apply(bound: Capped): void {
    setHighWater(bound.channel, this.#bytes);
    const open = bound.channel.incoming.window;
    if (open >= this.#bytes) return;
    bound.channel.incoming.window = this.#bytes;
    bound.grant(this.#bytes - open);
  }
}

/**
 * client.exec(command, cb) with the channel's window held to `window` (see the module comment), given
 * in bytes or as a ChannelWindow to resize later. Bytes are kept within 32 KiB … 1 MiB: below 1 MiB
 * ssh2's own accounting cannot top the window up before the channel is handed over.
 */
export function execWithWindow(client: Client, command: string, window: number | ChannelWindow, cb: ExecCallback): void {
  const proto = protocolOf(client);
  if (!proto) {
    client.exec(command, cb);
    return;
  }
  const governed = typeof window === 'number' ? new ChannelWindow(window) : window;
  const initial = governed.bytes;
  const adjusting = adjustments(proto);
  const own = Object.prototype.hasOwnProperty.call(proto, 'session');
  const session = proto.session;
  // client.exec asks for the channel synchronously: only this one open sees the smaller window.
  proto.session = function (this: ProtocolInternals, chan: number, _initWindow: number, maxPacket: number) {
    return session.call(this, chan, initial, maxPacket);
  };
  try {
    client.exec(command, (err, channel) => {
      if (!err) cap(proto, adjusting, channel, governed, initial);
      cb(err, channel);
    });
  } finally {
    if (own) proto.session = session;
    else delete (proto as Partial<ProtocolInternals>).session;
  }
}

function cap(proto: ProtocolInternals, { table, adjust }: Adjustments, channel: ClientChannel, window: ChannelWindow, offered: number): void {
  const ch = channel as unknown as ChannelInternals;
  if (typeof ch.incoming?.window !== 'number' || typeof ch.outgoing?.id !== 'number') return;
  // ssh2 counts from the 2 MiB it believes it offered; the server was offered `offered`. Data received
  // so far was counted by both, so the difference is all there is to take off.
  ch.incoming.window = Math.max(0, ch.incoming.window - (SSH2_WINDOW - offered));
  const id = ch.outgoing.id;
  const entry: Capped = { channel: ch, window, grant: (amount) => adjust.call(proto, id, amount) };
  table.set(id, entry);
  const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
  void closed.then(() => {
    if (table.get(id) === entry) table.delete(id);
  });
  window.bind(entry, offered, closed);
}

/** How much a channel may queue unread before it stops granting: half its window. */
const highWaterOf = (bytes: number): number => bytes / 2;

/** The most a paused channel with a window of `bytes` holds: its window in flight plus its queue. */
export function pausedHoldBytes(bytes: number): number {
  return bytes + highWaterOf(bytes);
}

/** A paused channel stops granting once this much waits in it (stdout and stderr alike). */
function setHighWater(ch: ChannelInternals, bytes: number): void {
  for (const state of [ch._readableState, ch.stderr?._readableState]) {
    if (state && typeof state.highWaterMark === 'number') state.highWaterMark = highWaterOf(bytes);
  }
}

/**
 * ssh2 tops a channel's window up to 2 MiB; for a capped channel, the grant is cut to what brings the
 * server's window back to the cap, and skipped while more than half of the cap is still open.
 */
function adjustments(proto: ProtocolInternals): Adjustments {
  const known = capped.get(proto);
  if (known) return known;
  const table = new Map<number, Capped>();
  const adjust = proto.channelWindowAdjust;
  const made: Adjustments = { table, adjust };
  capped.set(proto, made);
  proto.channelWindowAdjust = function (this: ProtocolInternals, chan: number, amount: number) {
    const c = table.get(chan);
    if (!c) return adjust.call(this, chan, amount);
    const bytes = c.window.bytes;
    // ssh2 has already added `amount` to its count of the server's window.
    const open = c.channel.incoming.window - amount;
    if (open > bytes / 2) {
      c.channel.incoming.window = open;
      return undefined;
    }
    c.channel.incoming.window = bytes;
    return adjust.call(this, chan, bytes - open);
  };
  return made;
}
