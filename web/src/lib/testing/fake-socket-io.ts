/**
 * In-memory stand-in for socket.io-client, for unit tests only (vi.mock).
 * It mirrors the parts of Socket/Manager the client uses: connected/active/
 * recovered, on/onAny, emit/volatile/timeout(ms).emit with acks, and lets a
 * test play the server: connect (with or without recovery), drop the
 * transport, disconnect from the server side, refuse with connect_error.
 */
type Handler = (...args: unknown[]) => void;

export interface SentPacket {
  event: string;
  payload: unknown;
  volatile: boolean;
  timeoutMs?: number;
  ack?: (err: Error | null, res?: unknown) => void;
}

export type Responder = (event: string, payload: unknown) => unknown;

export class FakeSocket {
  readonly nsp: string;
  readonly opts: { auth?: unknown };
  connected = false;
  recovered = false;
  id: string | undefined;
  connectCalls = 0;
  disconnectCalls = 0;
  sent: SentPacket[] = [];
  /** When set, acks are answered asynchronously with what it returns (undefined = no answer). */
  responder: Responder | null = null;
  private subscribed = false;
  private handlers = new Map<string, Set<Handler>>();
  private anyHandlers = new Set<Handler>();

  constructor(nsp: string, opts: { auth?: unknown }) {
    this.nsp = nsp;
    this.opts = opts;
  }

  get active(): boolean {
    return this.subscribed;
  }

  on(event: string, fn: Handler): this {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(fn);
    return this;
  }

  off(event: string, fn: Handler): this {
    this.handlers.get(event)?.delete(fn);
    return this;
  }

  onAny(fn: Handler): this {
    this.anyHandlers.add(fn);
    return this;
  }

  connect(): this {
    this.connectCalls += 1;
    this.subscribed = true;
    return this;
  }

  disconnect(): this {
    this.disconnectCalls += 1;
    const was = this.connected;
    this.subscribed = false;
    this.connected = false;
    this.id = undefined;
    if (was) this.fire('disconnect', 'io client disconnect');
    return this;
  }

  emit(event: string, payload?: unknown, ack?: (...args: unknown[]) => void): this {
    const packet: SentPacket = { event, payload, volatile: false };
    if (ack) packet.ack = (err, res) => (err ? ack(err) : ack(res));
    this.record(packet);
    return this;
  }

  get volatile(): { emit: (event: string, payload?: unknown) => void } {
    return {
      emit: (event: string, payload?: unknown) => {
        if (this.connected) this.record({ event, payload, volatile: true });
      },
    };
  }

  timeout(ms: number): { emit: (event: string, payload: unknown, ack: (err: Error | null, res?: unknown) => void) => void } {
    return {
      emit: (event, payload, ack) => {
        this.record({ event, payload, volatile: false, timeoutMs: ms, ack });
      },
    };
  }

  private record(packet: SentPacket): void {
    this.sent.push(packet);
    if (packet.ack && this.responder) {
      const res = this.responder(packet.event, packet.payload);
      if (res !== undefined) {
        const ack = packet.ack;
        packet.ack = undefined;
        queueMicrotask(() => ack(null, res));
      }
    }
  }

  // ------------------------------------------------ the test plays the server

  fire(event: string, ...args: unknown[]): void {
    for (const fn of [...(this.handlers.get(event) ?? [])]) fn(...args);
  }

  /** Server accepted the CONNECT; `recovered` as socket.io-client sets it. */
  serverConnect(opts: { recovered?: boolean } = {}): void {
    this.subscribed = true;
    this.connected = true;
    this.recovered = opts.recovered ?? false;
    this.id = `${this.nsp}#${Math.random().toString(36).slice(2)}`;
    this.fire('connect');
  }

  /** Transport closed: socket.io-client keeps the socket active and reconnects. */
  transportDrop(): void {
    this.connected = false;
    this.fire('disconnect', 'transport close');
  }

  /** Server sent DISCONNECT: socket.io-client gives up on this socket. */
  serverDisconnect(): void {
    this.connected = false;
    this.subscribed = false;
    this.fire('disconnect', 'io server disconnect');
  }

  /** Server refused the CONNECT (CONNECT_ERROR packet). */
  refuse(message: string, data?: unknown): void {
    this.subscribed = false;
    this.connected = false;
    const err = Object.assign(new Error(message), { data });
    this.fire('connect_error', err);
  }

  /** Transport-level connect failure: the Manager retries. */
  transportError(): void {
    this.fire('connect_error', new Error('xhr poll error'));
  }

  /** Server → client event, with any extra arguments (e.g. the recovery offset). */
  serverEmit(event: string, ...args: unknown[]): void {
    for (const fn of [...this.anyHandlers]) fn(event, ...args);
    for (const fn of [...(this.handlers.get(event) ?? [])]) fn(...args);
  }

  /** Packets emitted with an ack that has not been answered yet. */
  pending(event?: string): SentPacket[] {
    return this.sent.filter((p) => p.ack && (event === undefined || p.event === event));
  }

  /** Answers the oldest pending ack of `event`. */
  reply(event: string, res: unknown): void {
    const p = this.pending(event)[0];
    if (!p || !p.ack) throw new Error(`no pending ack for ${event}`);
    const ack = p.ack;
    p.ack = undefined;
    ack(null, res);
  }

  /** Fails the oldest pending ack of `event` as socket.io-client does on timeout. */
  timeoutAck(event: string, message = 'operation has timed out'): void {
    const p = this.pending(event)[0];
    if (!p || !p.ack) throw new Error(`no pending ack for ${event}`);
    const ack = p.ack;
    p.ack = undefined;
    ack(new Error(message));
  }
}

export const managers: FakeManager[] = [];

export class FakeManager {
  readonly uri: string;
  readonly opts: Record<string, unknown>;
  readonly sockets = new Map<string, FakeSocket>();
  private readonly handlers = new Map<string, ((...args: unknown[]) => void)[]>();
  /** Like socket.io-client's Backoff: each call is the delay before the next attempt. */
  backoff = { attempts: 0, duration: (): number => 1000 * 2 ** this.backoff.attempts++ };

  constructor(uri: string, opts: Record<string, unknown> = {}) {
    this.uri = uri;
    this.opts = opts;
    managers.push(this);
  }

  on(event: string, handler: (...args: unknown[]) => void): this {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
    return this;
  }

  emit(event: string, ...args: unknown[]): void {
    for (const h of this.handlers.get(event) ?? []) h(...args);
  }

  /** An attempt to reconnect failed: the Manager schedules the next one (as socket.io-client does). */
  failReconnectAttempt(): number {
    const delay = this.backoff.duration();
    this.emit('reconnect_error', new Error('xhr poll error'));
    return delay;
  }

  socket(nsp: string, opts: { auth?: unknown } = {}): FakeSocket {
    const s = new FakeSocket(nsp, opts);
    this.sockets.set(nsp, s);
    return s;
  }

  /** Both sockets at once, e.g. for a whole-connection drop. */
  get chat(): FakeSocket {
    const s = this.sockets.get('/chat');
    if (!s) throw new Error('no /chat socket');
    return s;
  }

  get notifications(): FakeSocket {
    const s = this.sockets.get('/notifications');
    if (!s) throw new Error('no /notifications socket');
    return s;
  }
}

export function lastManager(): FakeManager {
  const m = managers[managers.length - 1];
  if (!m) throw new Error('no Manager was created');
  return m;
}

export function resetManagers(): void {
  managers.length = 0;
}

export const Manager = FakeManager;
