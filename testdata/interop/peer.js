'use strict';

// A WebSocket peer written with the `ws` package, for wsstream's interop
// tests (interop_test.go). It sends `total` bytes of pattern stream
// sendSeed in messages of random sizes, checks that it receives `total`
// bytes of stream recvSeed, and then either closes with a code of its
// own or waits for the Go side to close. It prints JSON lines on stdout:
//   {"event":"listening","port":N}        (server mode, once listening)
//   {"event":"done", ...}                 (once the connection closed)
//
// Usage:
//   node peer.js client <url> <opts-json>
//   node peer.js server <opts-json>
// opts: {"total":N,"sendSeed":S,"recvSeed":R,"maxChunk":M,
//        "closeCode":C,"closeReason":"..."}  (closeCode 0: the Go side closes)

const WebSocket = require('ws');
const { fill, firstMismatch, rng } = require('./pattern.js');

const mode = process.argv[2];
const opts = JSON.parse(process.argv[mode === 'client' ? 4 : 3]);

function print(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// A peer that hangs is killed by the Go test; this only makes the output
// say so if it is ever reached first.
setTimeout(() => {
  print({ event: 'done', ok: false, error: 'timed out in peer.js' });
  process.exit(2);
}, 120000).unref();

function run(ws, onEnd) {
  let received = 0;
  let sent = 0;
  let error = null;
  let sentAll = false;
  const next = rng(opts.sendSeed + 1);

  const maybeClose = () => {
    if (opts.closeCode && sentAll && received === opts.total) {
      ws.close(opts.closeCode, opts.closeReason);
    }
  };

  ws.binaryType = 'nodebuffer';
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      error = error || 'received a text message';
      return;
    }
    const bad = firstMismatch(data, opts.recvSeed, received);
    if (bad >= 0 && !error) error = `byte ${received + bad} differs`;
    received += data.length;
    if (received > opts.total && !error) error = `received ${received} bytes, more than ${opts.total}`;
    maybeClose();
  });
  ws.on('error', (err) => { error = error || String(err); });
  ws.on('close', (code, reason) => {
    print({
      event: 'done',
      ok: !error && received === opts.total && sentAll,
      error,
      received,
      sent,
      closeCode: code,
      closeReason: reason.toString(),
    });
    onEnd();
  });

  const send = () => {
    if (sent >= opts.total) {
      sentAll = true;
      maybeClose();
      return;
    }
    const n = Math.min(opts.total - sent, 1 + next(opts.maxChunk));
    const buf = fill(Buffer.allocUnsafe(n), opts.sendSeed, sent);
    sent += n;
    // The callback runs once the data is written to the socket: one
    // message in flight at a time keeps memory bounded.
    ws.send(buf, { binary: true }, (err) => {
      if (err) { error = error || String(err); return; }
      send();
    });
  };
  send();
}

if (mode === 'client') {
  const ws = new WebSocket(process.argv[3]);
  ws.on('open', () => run(ws, () => process.exit(0)));
  ws.on('error', (err) => {
    print({ event: 'done', ok: false, error: String(err) });
    process.exit(1);
  });
} else if (mode === 'server') {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0 });
  wss.on('listening', () => print({ event: 'listening', port: wss.address().port }));
  wss.on('connection', (ws) => {
    run(ws, () => wss.close(() => process.exit(0)));
  });
} else {
  print({ event: 'done', ok: false, error: `unknown mode ${mode}` });
  process.exit(1);
}
