/** The public types of the browser client: options, the client object, its snapshot. */
import type { ManagerOptions, Socket } from 'socket.io-client';
import type {
  AuthResponse,
  ChatClientToServerEvents,
  ChatConfig,
  ChatEventName,
  ChatEventPayload,
  ChatServerToClientEvents,
  ConnectionState,
  Conversation,
  ConversationSummary,
  Message,
  NotificationReadResponse,
  NotificationsClientToServerEvents,
  NotificationsEventName,
  NotificationsEventPayload,
  NotificationsResponse,
  NotificationsServerToClientEvents,
  OnlineMap,
  ReadMark,
  User,
} from './types';

export type ChatSocket = Socket<ChatServerToClientEvents, ChatClientToServerEvents>;
export type NotificationsSocket = Socket<NotificationsServerToClientEvents, NotificationsClientToServerEvents>;

export interface SwitchboardOptions {
  /** Origin (and optional path prefix) of the Switchboard server; '' or omitted = same origin as the page. */
  baseUrl?: string;
  /** Connect both sockets as soon as login/register/restore succeeds (default true). */
  autoConnect?: boolean;
  /** How long to wait for an ack before failing with `timeout` (default 10 000 ms). */
  ackTimeoutMs?: number;
  /** Refresh the JWT this long before its `exp` (default: 20% of its lifetime, between 1 s and 60 s). */
  refreshMarginMs?: number;
  /** First delay before reconnecting a socket the server disconnected (default 1000 ms, doubling up to 10 s). */
  serverDisconnectRetryMs?: number;
  /** Also send the token in the Socket.IO CONNECT payload (`auth: {token}`) besides the cookie (default true). */
  sendTokenInHandshake?: boolean;
  /** Socket.IO path (default `/socket.io/`). */
  socketPath?: string;
  /** Extra Socket.IO Manager options (reconnection delays, transports, ...). */
  managerOptions?: Partial<ManagerOptions>;
  /** fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Called when one of your listeners throws (default: console.error); the other listeners still run. */
  onListenerError?: (error: unknown) => void;
}

export interface Credentials {
  email: string;
  password: string;
}

export interface RegisterInput extends Credentials {
  name: string;
}

export interface SendMessageOptions {
  /** Idempotency key; generated when omitted. A retry with the same key stores one message. */
  clientMsgId?: string;
  /** Ack timeout for each attempt (default: the client's ackTimeoutMs). */
  timeoutMs?: number;
  /** Retries after `timeout`, `disconnected` or `rate_limited` (default 2); safe thanks to clientMsgId. */
  retries?: number;
}

export interface MessagesPage {
  /** Load messages older than this message id. */
  before?: string;
  /** Page size (server default 50). */
  limit?: number;
}

export interface NotificationsQuery {
  unreadOnly?: boolean;
  limit?: number;
}

/** Why the session ended without a logout: `unauthorized` (a refused request or socket) or `token_expired`. */
export type AuthError = 'unauthorized' | 'token_expired';

/** Immutable view of the client, replaced on every change (fit for React's useSyncExternalStore). */
export interface SwitchboardSnapshot {
  user: User | null;
  connectionState: ConnectionState;
  /** True when the state is `connected` or `recovered`. */
  isConnected: boolean;
  chatSocket: ChatSocket | null;
  notifSocket: NotificationsSocket | null;
  /** Set when the session ended without a logout (token expired or refused); cleared by the next login. */
  authError: AuthError | null;
  /**
   * While reconnecting: when (ms since the epoch) the next attempt is due, and
   * how many attempts failed since the drop; null otherwise.
   */
  retry: RetrySchedule | null;
}

export interface RetrySchedule {
  at: number;
  failedAttempts: number;
}

export type ConnectionStateListener = (state: ConnectionState, previous: ConnectionState) => void;

export interface SwitchboardClient {
  readonly baseUrl: string;
  /** The logged-in user, or null. */
  readonly user: User | null;
  /** The current JWT (from login/register/refresh), or null. */
  readonly token: string | null;
  readonly connectionState: ConnectionState;
  readonly isConnected: boolean;
  /**
   * Server clock minus this device's clock (ms), learnt from the Date header of
   * HTTP answers (±0.5 s; 0 before the first). Lets a page compare the server's
   * `created_at` times with local ones.
   */
  readonly serverClockOffsetMs: number;
  readonly chatSocket: ChatSocket | null;
  readonly notifSocket: NotificationsSocket | null;

  // auth
  register(input: RegisterInput): Promise<User>;
  login(credentials: Credentials): Promise<User>;
  /** Disconnects both sockets at once, then tells the server (cookie cleared). */
  logout(): Promise<void>;
  /** GET /api/auth/me: the cookie's user, or null when not logged in. */
  me(): Promise<User | null>;
  /** POST /api/auth/refresh: a fresh token + cookie, pushed to both sockets with `auth:refresh`. */
  refresh(): Promise<AuthResponse>;
  /** Resumes a session from the cookie (me + refresh to learn the token's expiry); connects when autoConnect. */
  restore(): Promise<User | null>;

  // sockets
  /** Connects `/chat` and `/notifications` (no-op without a user or when already connected). */
  connect(): boolean;
  /** Disconnects both sockets; `connect()` may be called again later. */
  disconnect(): void;
  /** Disconnects and stops the refresh timer. The client stays usable. */
  dispose(): void;

  // observation
  subscribe(listener: ConnectionStateListener): () => void;
  getSnapshot(): SwitchboardSnapshot;
  subscribeSnapshot(listener: () => void): () => void;
  /** Listens to a `/chat` event; gets only the first argument (never the recovery offset). Survives reconnects and re-logins. */
  onChat<E extends ChatEventName>(event: E, listener: (payload: ChatEventPayload<E>) => void): () => void;
  /** Listens to a `/notifications` event, like onChat. */
  onNotification<E extends NotificationsEventName>(
    event: E,
    listener: (payload: NotificationsEventPayload<E>) => void,
  ): () => void;

  // socket helpers
  sendMessage(conversationId: number, body: string, options?: SendMessageOptions): Promise<Message>;
  /** Volatile: dropped when not connected. Returns whether it was sent. */
  typing(conversationId: number, typing: boolean): boolean;
  /** Returns false when there is no chat socket. Buffered while reconnecting. */
  markRead(conversationId: number, messageId: string): boolean;
  joinConversation(conversationId: number): Promise<void>;
  queryPresence(userIds: number[]): Promise<OnlineMap>;
  /** Resolves with the new unread count. */
  markNotificationRead(id: string): Promise<number>;

  // REST helpers
  searchUsers(q?: string): Promise<User[]>;
  /** GET /api/users?ids=: the users with these ids (at most 500), e.g. to name members. */
  getUsers(ids: number[]): Promise<User[]>;
  listConversations(): Promise<ConversationSummary[]>;
  createConversation(memberIds: number[], title?: string | null): Promise<Conversation>;
  getMessages(conversationId: number, page?: MessagesPage): Promise<Message[]>;
  postMessage(conversationId: number, body: string, clientMsgId?: string): Promise<Message>;
  getPresence(userIds: number[]): Promise<OnlineMap>;
  listNotifications(query?: NotificationsQuery): Promise<NotificationsResponse>;
  readNotification(id: string): Promise<NotificationReadResponse>;
  /** Resolves with the new unread count (0). */
  readAllNotifications(): Promise<number>;

  // SPEC extensions (docs/chat.md)
  /** GET /api/config: public limits such as the longest message. */
  getConfig(): Promise<ChatConfig>;
  /** Every member's last read message in a conversation. */
  getReadMarks(conversationId: number): Promise<ReadMark[]>;
  /** Messages containing `q`, newest first; pass the last id of a page as `before` for the next. */
  searchMessages(conversationId: number, q: string, page?: MessagesPage): Promise<Message[]>;
  /** Sets (or clears, with null) a conversation's title. */
  renameConversation(conversationId: number, title: string | null): Promise<Conversation>;
  leaveConversation(conversationId: number): Promise<void>;
}

