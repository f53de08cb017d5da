/** Emitting with an acknowledgement: the contract's `{ok, ...}` answers as promises. */
import type { Socket } from 'socket.io-client';
import { SwitchboardError } from './errors';
import type { Ack, AckOk } from './types';

/** Emits `event` and resolves with the `{ok: true, ...}` ack; rejects with a `SwitchboardError`. */
export function ackEmit<T extends object>(
  socket: Socket,
  event: string,
  payload: unknown,
  timeoutMs: number,
): Promise<AckOk<T>> {
  return new Promise<AckOk<T>>((resolve, reject) => {
    socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, res: Ack<T> | undefined) => {
      if (err) {
        const dropped = /disconnect/i.test(err.message);
        reject(
          new SwitchboardError(
            dropped ? 'disconnected' : 'timeout',
            dropped
              ? `${event}: the socket disconnected before the acknowledgement`
              : `${event}: no acknowledgement within ${timeoutMs} ms`,
          ),
        );
        return;
      }
      if (!res || typeof res !== 'object' || typeof (res as { ok?: unknown }).ok !== 'boolean') {
        reject(new SwitchboardError('invalid_ack', `${event}: unexpected acknowledgement`, { detail: res }));
        return;
      }
      if (res.ok) {
        resolve(res);
        return;
      }
      const error = (res as { error?: { code?: unknown; message?: unknown } }).error ?? {};
      const code = typeof error.code === 'string' ? error.code : 'internal';
      const message = typeof error.message === 'string' && error.message ? error.message : `${event} failed: ${code}`;
      reject(new SwitchboardError(code, message, { detail: error }));
    });
  });
}
