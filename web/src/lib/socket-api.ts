/** The socket helpers of the client: one function per client event of the contract. */
import { ackEmit } from './acks';
import type { SendMessageOptions, SwitchboardClient } from './client-types';
import type { Context } from './context';
import { isSwitchboardError, SwitchboardError } from './errors';
import type { Socket } from 'socket.io-client';
import type { Message, OnlineMap } from './types';
import { newClientMsgId, sleep } from './util';

export type SocketApi = Pick<
  SwitchboardClient,
  'sendMessage' | 'typing' | 'markRead' | 'joinConversation' | 'queryPresence' | 'markNotificationRead'
>;

export function createSocketApi(ctx: Context): SocketApi {
  const ackTimeoutMs = ctx.options.ackTimeoutMs;

  function requireSocket(which: 'chat' | 'notifications'): Socket {
    const session = ctx.session;
    if (!session || session.stopped) {
      throw new SwitchboardError('not_connected', `the /${which} socket is not connected (log in and connect first)`);
    }
    return session[which].socket;
  }

  async function sendMessage(conversationId: number, body: string, opts: SendMessageOptions = {}): Promise<Message> {
    const clientMsgId = opts.clientMsgId ?? newClientMsgId();
    const retries = opts.retries ?? 2;
    const payload = { conversation_id: conversationId, body, client_msg_id: clientMsgId };
    for (let attempt = 0; ; attempt += 1) {
      const socket = requireSocket('chat');
      try {
        const res = await ackEmit<{ message: Message }>(
          socket,
          'message:send',
          payload,
          opts.timeoutMs ?? ackTimeoutMs,
        );
        return res.message;
      } catch (err) {
        const transient =
          isSwitchboardError(err) && ['timeout', 'disconnected', 'rate_limited'].includes(err.code);
        if (!transient || attempt >= retries) throw err;
        await sleep(isSwitchboardError(err, 'rate_limited') ? 1000 : 200 * (attempt + 1));
      }
    }
  }

  function typing(conversationId: number, isTyping: boolean): boolean {
    const session = ctx.session;
    if (!session || session.stopped || !session.chat.socket.connected) return false;
    session.chat.socket.volatile.emit('typing', { conversation_id: conversationId, typing: isTyping });
    return true;
  }

  function markRead(conversationId: number, messageId: string): boolean {
    const session = ctx.session;
    if (!session || session.stopped) return false;
    session.chat.socket.emit('message:read', { conversation_id: conversationId, message_id: messageId });
    return true;
  }

  async function joinConversation(conversationId: number): Promise<void> {
    await ackEmit(requireSocket('chat'), 'conversation:join', { conversation_id: conversationId }, ackTimeoutMs);
  }

  async function queryPresence(userIds: number[]): Promise<OnlineMap> {
    const res = await ackEmit<{ online: OnlineMap }>(
      requireSocket('chat'),
      'presence:query',
      { user_ids: userIds },
      ackTimeoutMs,
    );
    return res.online;
  }

  async function markNotificationRead(id: string): Promise<number> {
    const res = await ackEmit<{ unread_count: number }>(
      requireSocket('notifications'),
      'notification:read',
      { id },
      ackTimeoutMs,
    );
    return res.unread_count;
  }

  return { sendMessage, typing, markRead, joinConversation, queryPresence, markNotificationRead };
}
