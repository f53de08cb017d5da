/** The REST helpers of the client: one function per HTTP route (docs/contract.md, docs/chat.md). */
import type { MessagesPage, NotificationsQuery, SwitchboardClient } from './client-types';
import type { Request } from './http';
import type {
  ChatConfig,
  ConfigResponse,
  Conversation,
  ConversationResponse,
  ConversationSummary,
  ConversationsResponse,
  Message,
  MessageResponse,
  MessagesResponse,
  NotificationReadResponse,
  NotificationsResponse,
  OnlineMap,
  PresenceResponse,
  ReadMark,
  ReadMarksResponse,
  UnreadCountResponse,
  User,
  UsersResponse,
} from './types';

export type RestApi = Pick<
  SwitchboardClient,
  | 'searchUsers'
  | 'getUsers'
  | 'listConversations'
  | 'createConversation'
  | 'getMessages'
  | 'postMessage'
  | 'getPresence'
  | 'listNotifications'
  | 'readNotification'
  | 'readAllNotifications'
  | 'getConfig'
  | 'getReadMarks'
  | 'searchMessages'
  | 'renameConversation'
  | 'leaveConversation'
>;

function conversationPath(conversationId: number, rest = ''): string {
  return `/api/conversations/${encodeURIComponent(conversationId)}${rest}`;
}

export function createRestApi(request: Request): RestApi {
  async function searchUsers(q = ''): Promise<User[]> {
    const res = await request<UsersResponse>('GET', '/api/users', { query: { q }, sessionRoute: true });
    return res.users;
  }

  async function getUsers(ids: number[]): Promise<User[]> {
    if (ids.length === 0) return [];
    const query = { ids: ids.slice(0, 500).join(',') };
    const res = await request<UsersResponse>('GET', '/api/users', { query, sessionRoute: true });
    return res.users;
  }

  async function listConversations(): Promise<ConversationSummary[]> {
    const res = await request<ConversationsResponse>('GET', '/api/conversations', { sessionRoute: true });
    return res.conversations;
  }

  async function createConversation(memberIds: number[], title?: string | null): Promise<Conversation> {
    const body: { member_ids: number[]; title?: string } = { member_ids: memberIds };
    if (title) body.title = title;
    const res = await request<ConversationResponse>('POST', '/api/conversations', { body, sessionRoute: true });
    return res.conversation;
  }

  async function getMessages(conversationId: number, page: MessagesPage = {}): Promise<Message[]> {
    const res = await request<MessagesResponse>('GET', `/api/conversations/${encodeURIComponent(conversationId)}/messages`, {
      query: { before: page.before, limit: page.limit },
      sessionRoute: true,
    });
    return res.messages;
  }

  async function postMessage(conversationId: number, body: string, clientMsgId?: string): Promise<Message> {
    const payload: { body: string; client_msg_id?: string } = { body };
    if (clientMsgId) payload.client_msg_id = clientMsgId;
    const res = await request<MessageResponse>('POST', `/api/conversations/${encodeURIComponent(conversationId)}/messages`, {
      body: payload,
      sessionRoute: true,
    });
    return res.message;
  }

  async function getPresence(userIds: number[]): Promise<OnlineMap> {
    if (userIds.length === 0) return {};
    const res = await request<PresenceResponse>('GET', '/api/presence', {
      query: { user_ids: userIds.join(',') },
      sessionRoute: true,
    });
    return res.online;
  }

  async function listNotifications(query: NotificationsQuery = {}): Promise<NotificationsResponse> {
    return request<NotificationsResponse>('GET', '/api/notifications', {
      query: { unread_only: query.unreadOnly, limit: query.limit },
      sessionRoute: true,
    });
  }

  async function readNotification(id: string): Promise<NotificationReadResponse> {
    return request<NotificationReadResponse>('POST', `/api/notifications/${encodeURIComponent(id)}/read`, {
      sessionRoute: true,
    });
  }

  async function readAllNotifications(): Promise<number> {
    const res = await request<UnreadCountResponse>('POST', '/api/notifications/read-all', { sessionRoute: true });
    return res.unread_count;
  }

  async function getConfig(): Promise<ChatConfig> {
    const res = await request<ConfigResponse>('GET', '/api/config');
    return res.chat;
  }

  async function getReadMarks(conversationId: number): Promise<ReadMark[]> {
    const res = await request<ReadMarksResponse>('GET', conversationPath(conversationId, '/reads'), {
      sessionRoute: true,
    });
    return res.reads;
  }

  async function searchMessages(conversationId: number, q: string, page: MessagesPage = {}): Promise<Message[]> {
    const res = await request<MessagesResponse>('GET', conversationPath(conversationId, '/search'), {
      query: { q, before: page.before, limit: page.limit },
      sessionRoute: true,
    });
    return res.messages;
  }

  async function renameConversation(conversationId: number, title: string | null): Promise<Conversation> {
    const res = await request<ConversationResponse>('PATCH', conversationPath(conversationId), {
      body: { title },
      sessionRoute: true,
    });
    return res.conversation;
  }

  async function leaveConversation(conversationId: number): Promise<void> {
    await request<void>('POST', conversationPath(conversationId, '/leave'), { sessionRoute: true });
  }


  return {
    searchUsers,
    getUsers,
    listConversations,
    createConversation,
    getMessages,
    postMessage,
    getPresence,
    listNotifications,
    readNotification,
    readAllNotifications,
    getConfig,
    getReadMarks,
    searchMessages,
    renameConversation,
    leaveConversation,
  };
}
