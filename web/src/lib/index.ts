export {
  createSwitchboard,
  isSwitchboardError,
  newClientMsgId,
  SwitchboardError,
} from './switchboard';
export type {
  AuthError,
  ChatSocket,
  ConnectionStateListener,
  Credentials,
  MessagesPage,
  NotificationsQuery,
  NotificationsSocket,
  RegisterInput,
  RetrySchedule,
  SendMessageOptions,
  SwitchboardClient,
  SwitchboardOptions,
  SwitchboardSnapshot,
} from './switchboard';
export { decodeJwt, tokenExpiresAt } from './jwt';
export type { JwtClaims } from './jwt';
export type * from './types';
