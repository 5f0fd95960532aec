/**
 * The logs benchmark's second baseline: the same `docker logs -t` streams read by one Node.js process
 * through the same SSH library ascendctl uses (ssh2), each channel's bytes copied to stdout as they
 * arrive — nothing framed, parsed, merged, classified or prefixed. It is the rate any single-process
 * Node.js client could reach on the machine, so it tells how much of the gap to OpenSSH's 16 processes
 * is the merge and how much is SSH in one JavaScript thread.
 *
 *   node bench/ssh2-floor.mjs PORT IDENTITY KNOWN_HOSTS CONTAINER HOST...
 *
 * Host keys are checked against KNOWN_HOSTS (`[host]:port type key` lines), as ascendctl checks them.
 * Plain JavaScript, not TypeScript: it starts as a bare `node` process, with nothing compiled on the way.
 */
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [port, identity, knownHosts, container, ...hosts] = process.argv.slice(2);
if (hosts.length === 0) {
  process.stderr.write('usage: node bench/ssh2-floor.mjs PORT IDENTITY KNOWN_HOSTS CONTAINER HOST...\n');
  process.exit(2);
}
const privateKey = readFileSync(identity);
const keys = new Map(readFileSync(knownHosts, 'utf8').split('\n').filter(Boolean).map((l) => {
  const [where, , key] = l.split(' ');
  return [where, key];
}));

let failed = 0;
/** stdout is one pipe for every channel: a channel waits while stdout is full. */
function copy(channel, out) {
  channel.on('data', (chunk) => {
    if (!out.write(chunk)) {
      channel.pause();
      out.once('drain', () => channel.resume());
    }
  });
}
process.stdout.setMaxListeners(0);

await Promise.all(hosts.map((host) => new Promise((resolve) => {
  const client = new ssh2.Client();
  const fail = (err) => {
    failed++;
    process.stderr.write(`${host}: ${err.message}\n`);
    client.end();
    resolve();
  };
  client.on('error', fail);
  client.on('ready', () => {
    client.exec(`docker logs -t ${container}`, (err, channel) => {
      if (err) return fail(err);
      copy(channel, process.stdout);
      copy(channel.stderr, process.stderr);
      channel.on('close', (code) => {
        if (code !== 0) failed++;
        client.end();
        resolve();
      });
    });
  });
  client.connect({
    host, port: Number(port), username: 'root', privateKey,
    hostVerifier: (key) => keys.get(`[${host}]:${port}`) === key.toString('base64'),
  });
})));
process.exitCode = failed > 0 ? 1 : 0;
