import { describe, expect, it } from '@jest/globals';
import { DtlsClient, type RTCDtlsTransport } from 'werift';
import { tolerateRepeatedHelloVerify } from '../../src/ingest/whip/peer.js';

type Handshake = { msg_type: number };

/** A stand-in for werift's DTLS client socket: its flight and the handshake handler the guard wraps. */
function fakeClient(flight: number, seen: number[][]): DtlsClient {
  const c = Object.create(DtlsClient.prototype) as {
    dtls: { flight: number };
    onHandleHandshakes: (a: Handshake[]) => Promise<void>;
  };
  c.dtls = { flight };
  c.onHandleHandshakes = (assembled) => {
    seen.push(assembled.map((h) => h.msg_type));
    return Promise.resolve();
  };
  return c as unknown as DtlsClient;
}

describe('tolerateRepeatedHelloVerify (server peer as DTLS client)', () => {
  it('passes the first HelloVerifyRequest and drops one that repeats after flight 3', async () => {
    const transport = { dtls: undefined } as unknown as RTCDtlsTransport;
    tolerateRepeatedHelloVerify(transport);
    tolerateRepeatedHelloVerify(transport); // idempotent
    const seen: number[][] = [];
    const client = fakeClient(1, seen);
    (transport as { dtls: unknown }).dtls = client; // as werift's RTCDtlsTransport.start() does
    expect(transport.dtls).toBe(client);
    const handle = (client as unknown as { onHandleHandshakes: (a: Handshake[]) => Promise<void> })
      .onHandleHandshakes;
    await handle([{ msg_type: 3 }]);
    (client as unknown as { dtls: { flight: number } }).dtls.flight = 3;
    await handle([{ msg_type: 3 }]); // the answer to a retransmitted ClientHello
    await handle([{ msg_type: 2 }, { msg_type: 3 }, { msg_type: 11 }]);
    expect(seen).toEqual([[3], [2, 11]]);
  });

  it('leaves a DTLS server socket alone', () => {
    const transport = { dtls: undefined } as unknown as RTCDtlsTransport;
    tolerateRepeatedHelloVerify(transport);
    const handler = () => Promise.resolve();
    const server = { dtls: { flight: 3 }, onHandleHandshakes: handler };
    (transport as { dtls: unknown }).dtls = server;
    expect(server.onHandleHandshakes).toBe(handler);
  });
});
