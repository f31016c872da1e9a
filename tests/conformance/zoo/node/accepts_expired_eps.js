#!/usr/bin/env node
// Zoo member (broken on purpose): an IoME IUT that accepts an expired EPS.
//
// Written from spec/conformance.md (and the op schemas it points to, spec/schemas/iut/) alone,
// to show the wire protocol suffices for an implementer in another language. It is a proxy:
// every request line goes unchanged to an upstream IUT (the reference, `iome serve --stdio`),
// every reply comes back unchanged, except one realistic bug: the price signal's expiry is
// never compared with the block's time, so a `submit_tx` refused with IOME-EPS-011 ("a price
// signal is in force when recorded") is answered as accepted. Plain Node.js, no dependencies.
// Runs on old Node.js too (Debian's nodejs package): no `node:` imports, no `??`.
//
// Usage: node accepts_expired_eps.js UPSTREAM_COMMAND [ARG...]
//        (or IOME_ZOO_UPSTREAM="iome serve --stdio", split on blanks; that is also the default)
//
// Points where spec/conformance.md was ambiguous or silent and this author had to guess:
//  1. An accepted submit_tx must answer {"tx_id"}, but conformance.md does not say how a
//     transaction id is computed (it lives in another area file). Guess: the `id` of a
//     `validate` result is that same transaction id, so the proxy asks upstream `validate` for it.
//  2. Whether an IUT (here: a proxy talking to another IUT) may send requests of its own with
//     string ids between the harness's ones: the framing allows string ids and says the harness
//     is the only writer of the IUT's stdin, nothing about nested IUTs. Guess: yes, with ids
//     "zoo-N" that cannot collide with the harness's integers.
//  3. Whether the harness checks the returned `tx_id` against anything, and whether a
//     `validate` `id` of a Block is its block hash: not said. Only transactions are rewritten.
//  4. How `stdio:COMMAND` is split into argv, and the IUT's working directory and environment:
//     not said. Guess: shell-like splitting, the harness's cwd and environment.
//  5. Whether a dry-run `submit_tx` (state unchanged) records evidence for `evidence`: the op
//     table says the state is unchanged, the vector README says evidence recorded while judging
//     must match. Left to upstream.
//  6. What the IUT's exit status should be at end of stdin: not said. Guess: the upstream's.
//  7. Whether a refusal message must be stable, or an id echoed byte-for-byte (1 vs 1.0): the
//     proxy forwards reply lines unchanged and echoes the parsed id for the one reply it writes.
'use strict';

const { spawn } = require('child_process');
const readline = require('readline');

const BUGGY_CODE = 'IOME-EPS-011';

function upstreamArgv() {
  const argv = process.argv.slice(2);
  if (argv.length > 0) return argv;
  const env = (process.env.IOME_ZOO_UPSTREAM || 'iome serve --stdio').trim();
  return env.split(/\s+/);
}

const [command, ...args] = upstreamArgv();
// Same process group as this proxy (no `detached`): when the harness kills the IUT's process
// group, the upstream goes with it.
const upstream = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
upstream.on('error', (err) => {
  process.stderr.write(`accepts_expired_eps: cannot start upstream ${command}: ${err.message}\n`);
  process.exit(70);
});

// Upstream replies, one per line, handed to whoever waits next (one request outstanding).
const waiting = [];
const upstreamLines = readline.createInterface({ input: upstream.stdout, crlfDelay: Infinity });
upstreamLines.on('line', (line) => {
  const resolve = waiting.shift();
  if (resolve) resolve(line);
  else process.stdout.write(line + '\n'); // unsolicited output: let the harness judge it
});
upstream.on('exit', (code, signal) => {
  process.exitCode = code === null ? 1 : code;
  while (waiting.length > 0) waiting.shift()(null);
  if (signal !== null) process.stderr.write(`accepts_expired_eps: upstream killed by ${signal}\n`);
});

function ask(line) {
  return new Promise((resolve) => {
    waiting.push(resolve);
    upstream.stdin.write(line + '\n');
  });
}

function parse(text) {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

let ownIds = 0;

async function handle(line) {
  const reply = await ask(line);
  if (reply === null) return false;
  const request = parse(line);
  const answer = parse(reply);
  if (
    request !== null && request.op === 'submit_tx' && answer !== null && answer.ok === false &&
    answer.error && answer.error.code === BUGGY_CODE && request.args && typeof request.args === 'object'
  ) {
    // The bug: the in-force check is skipped, the rest of the judgement stands. The id of the
    // transaction comes from upstream's stateless `validate` (ambiguity 1 above).
    ownIds += 1;
    const probe = {
      id: `zoo-${ownIds}`,
      op: 'validate',
      args: {
        message: request.args.tx === undefined ? null : request.args.tx,
        text: request.args.text === undefined ? null : request.args.text,
        with_pki: false,
      },
    };
    const checked = parse(await ask(JSON.stringify(probe)));
    if (checked !== null && checked.ok === true && checked.result && checked.result.type === 'EPS') {
      process.stdout.write(JSON.stringify({ id: request.id, ok: true, result: { tx_id: checked.result.id } }) + '\n');
      return true;
    }
  }
  process.stdout.write(reply + '\n');
  return true;
}

// One request at a time, in order: the harness never has two outstanding anyway.
const requests = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
let chain = Promise.resolve(true);
requests.on('line', (line) => {
  chain = chain.then((alive) => (alive ? handle(line) : false));
});
requests.on('close', () => {
  // End of stdin asks the IUT to exit: pass it on once every request is answered.
  chain.then(() => upstream.stdin.end());
});
