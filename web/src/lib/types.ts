/**
 * Wire types of the Switchboard interface contract (docs/contract.md).
 * Every object, event payload and acknowledgement the server sends or takes
 * is described here, so application code gets the shapes from one place.
 */

// ---------------------------------------------------------------- objects

export interface User {
  id: number;
  email: string;
  name: string;
}

export interface Conversation {
  id: number;
  title: string | null;
  member_ids: number[];
  created_at: string;
}

/** A conversation as `GET /api/conversations` lists it: with the caller's view of it. */
export interface ConversationSummary extends Conversation {
  last_message: Message | null;
  /** Messages from others after the caller's last read one (the server's count). */
  unread_count: number;
}

/** A member's last read message (`GET /api/conversations/{id}/reads`, a SPEC extension). */
export interface ReadMark {
  user_id: number;
  message_id: string | null;
}

/** Public limits (`GET /api/config`, a SPEC extension). */
export interface ChatConfig {
  max_message_chars: number;
  max_title_chars: number;
  max_members: number;
}

export interface Message {
  /** Ids sort in send order within a conversation. */
  id: string;
  conversation_id: number;
  sender_id: number;
  body: string;
  created_at: string;
  client_msg_id: string | null;
}

export interface Notification {
  id: string;
  type: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  created_at: string;
  read_at: string | null;
}

/** Presence map as the server sends it: keys are user ids as decimal strings. */
export type OnlineMap = Record<string, boolean>;

// ---------------------------------------------------------------- HTTP answers

export interface AuthResponse {
  user: User;
  token: string;
}

export interface MeResponse {
  user: User;
  /** Not promised by the contract; used when a server includes it. */
  token?: string;
}

export interface UsersResponse {
  users: User[];
}

export interface ConversationResponse {
  conversation: Conversation;
}

export interface ConversationsResponse {
  conversations: ConversationSummary[];
}

export interface ReadMarksResponse {
  reads: ReadMark[];
}

export interface ConfigResponse {
  chat: ChatConfig;
}

export interface MessagesResponse {
  messages: Message[];
}

export interface MessageResponse {
  message: Message;
}

export interface PresenceResponse {
  online: OnlineMap;
}

export interface NotificationsResponse {
  notifications: Notification[];
  unread_count: number;
}

export interface NotificationReadResponse {
  notification: Notification;
  unread_count: number;
}

export interface UnreadCountResponse {
  unread_count: number;
}

// ---------------------------------------------------------------- acks

/** Error codes a client event's ack may carry. */
export type AckErrorCode =
  | 'invalid_payload'
  | 'forbidden'
  | 'not_found'
  | 'too_large'
  | 'rate_limited'
  | 'internal';

export interface AckErrorBody {
  code: AckErrorCode;
  message: string;
}

export type AckOk<T extends object = Record<never, never>> = { ok: true } & T;
export interface AckFail {
  ok: false;
  error: AckErrorBody;
}
/** Every acknowledged client event answers `{ok: true, ...}` or `{ok: false, error}`. */
export type Ack<T extends object = Record<never, never>> = AckOk<T> | AckFail;

export type SendMessageAck = Ack<{ message: Message }>;
export type JoinConversationAck = Ack;
export type PresenceQueryAck = Ack<{ online: OnlineMap }>;
export type NotificationReadAck = Ack<{ unread_count: number }>;
export type AuthRefreshAck = Ack<{ expires_at: string | number }>;

// ---------------------------------------------------------------- payloads

export interface SendMessagePayload {
  conversation_id: number;
  body: string;
  client_msg_id?: string;
}

export interface TypingPayload {
  conversation_id: number;
  typing: boolean;
}

export interface MarkReadPayload {
  conversation_id: number;
  message_id: string;
}

export interface JoinConversationPayload {
  conversation_id: number;
}

export interface PresenceQueryPayload {
  user_ids: number[];
}

export interface AuthRefreshPayload {
  token: string;
}

export interface NotificationReadPayload {
  id: string;
}

export interface TypingEvent {
  conversation_id: number;
  user_id: number;
  typing: boolean;
}

export interface ReadEvent {
  conversation_id: number;
  user_id: number;
  message_id: string;
}

export interface PresenceEvent {
  user_id: number;
  online: boolean;
}

export interface UnreadCountEvent {
  count: number;
}

/** Payload of `auth:expired`; the contract does not fix it, so every field is optional. */
export interface AuthExpiredEvent {
  code?: string;
  message?: string;
  [key: string]: unknown;
}

// ---------------------------------------------------------------- event maps
// Broadcast events may carry one extra trailing string argument: the
// connection-state-recovery offset. Listeners should only use the first one.

export interface ChatServerToClientEvents {
  'message:new': (message: Message, offset?: string) => void;
  typing: (event: TypingEvent, offset?: string) => void;
  'message:read': (event: ReadEvent, offset?: string) => void;
  presence: (event: PresenceEvent, offset?: string) => void;
  /** A SPEC extension: a conversation was renamed or a member left (docs/events.md). */
  'conversation:updated': (conversation: Conversation, offset?: string) => void;
  'auth:expired': (event?: AuthExpiredEvent) => void;
}

export interface ChatClientToServerEvents {
  'message:send': (payload: SendMessagePayload, ack: (res: SendMessageAck) => void) => void;
  typing: (payload: TypingPayload) => void;
  'message:read': (payload: MarkReadPayload) => void;
  'conversation:join': (payload: JoinConversationPayload, ack: (res: JoinConversationAck) => void) => void;
  'presence:query': (payload: PresenceQueryPayload, ack: (res: PresenceQueryAck) => void) => void;
  'auth:refresh': (payload: AuthRefreshPayload, ack: (res: AuthRefreshAck) => void) => void;
}

export interface NotificationsServerToClientEvents {
  notification: (notification: Notification, offset?: string) => void;
  'notification:unread_count': (event: UnreadCountEvent, offset?: string) => void;
  'auth:expired': (event?: AuthExpiredEvent) => void;
}

export interface NotificationsClientToServerEvents {
  'notification:read': (payload: NotificationReadPayload, ack: (res: NotificationReadAck) => void) => void;
  'auth:refresh': (payload: AuthRefreshPayload, ack: (res: AuthRefreshAck) => void) => void;
}

/** The first argument of an event listener: what Switchboard listeners receive. */
export type EventPayload<F extends (...args: never[]) => void> = Parameters<F>[0];

export type ChatEventName = keyof ChatServerToClientEvents;
export type NotificationsEventName = keyof NotificationsServerToClientEvents;
export type ChatEventPayload<E extends ChatEventName> = EventPayload<ChatServerToClientEvents[E]>;
export type NotificationsEventPayload<E extends NotificationsEventName> = EventPayload<
  NotificationsServerToClientEvents[E]
>;

// ---------------------------------------------------------------- connection state

/**
 * Combined state of the two sockets:
 * - `disconnected`: not connected and not trying (logged out, stopped, or refused);
 * - `connecting`: first connection under way;
 * - `connected`: both sockets connected (after a reconnect that could not recover
 *   missed events, too: the app should reload its data then);
 * - `reconnecting`: a connection dropped and the client is trying again;
 * - `recovered`: both sockets reconnected with Socket.IO connection-state recovery
 *   (`socket.recovered === true`), so every missed event has been replayed.
 */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'recovered';
