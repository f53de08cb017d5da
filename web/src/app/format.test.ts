import { describe, expect, it } from 'vitest';
import type { Message } from '../lib';
import { connectionLabel } from './ConnectionBanner';
import { continuesGroup, dayKey, dayLabel, shortLabel } from './format';
import { conversationFromHash, hashFor } from './route';

// Local noon, so that "yesterday" is a calendar day back in any time zone.
const now = new Date(2026, 10, 30, 12, 0, 0);
const at = (days: number, hours = 12, minutes = 0) => new Date(2026, 10, 30 - days, hours, minutes).toISOString();

function m(sender: number, iso: string): Message {
  return { id: '1', conversation_id: 1, sender_id: sender, body: 'x', created_at: iso, client_msg_id: null };
}

describe('day labels', () => {
  it('says Today, Yesterday, a weekday this week, else the date (with the year only when another)', () => {
    expect(dayLabel(at(0, 0, 1), now, 'en-GB')).toBe('Today');
    expect(dayLabel(at(1, 23, 59), now, 'en-GB')).toBe('Yesterday');
    expect(dayLabel(at(3), now, 'en-GB')).toBe('Friday');
    expect(dayLabel(at(40), now, 'en-GB')).toBe('Wednesday 21 October');
    expect(dayLabel(new Date(2025, 0, 5, 12).toISOString(), now, 'en-GB')).toBe('Sunday, 5 January 2025');
    expect(dayLabel('not a date', now)).toBe('');
    expect(dayKey(at(0, 0, 1))).toBe(dayKey(at(0, 23, 59)));
    expect(dayKey(at(0))).not.toBe(dayKey(at(1)));
  });

  it('keeps the list short: time today, then Yesterday, weekday, date', () => {
    expect(shortLabel(at(1), now, 'en-GB')).toBe('Yesterday');
    expect(shortLabel(at(3), now, 'en-GB')).toBe('Fri');
    expect(shortLabel(at(40), now, 'en-GB')).toBe('21 Oct');
  });
});

describe('grouping', () => {
  it('joins one sender\'s messages a few minutes apart on the same day', () => {
    expect(continuesGroup(m(1, at(0, 10, 0)), m(1, at(0, 10, 4)))).toBe(true);
    expect(continuesGroup(m(1, at(0, 10, 0)), m(1, at(0, 10, 6)))).toBe(false);
    expect(continuesGroup(m(1, at(0, 10, 0)), m(2, at(0, 10, 1)))).toBe(false);
    expect(continuesGroup(m(1, at(1, 23, 58)), m(1, at(0, 0, 1)))).toBe(false);
    expect(continuesGroup(undefined, m(1, at(0)))).toBe(false);
  });
});

describe('connection banner', () => {
  const base = { retry: null, online: true, missed: null, now: 1_000_000, settled: false };

  it('tells reconnecting, offline with a countdown, and recovered with the missed count', () => {
    expect(connectionLabel({ ...base, state: 'reconnecting' })).toBe('reconnecting…');
    expect(connectionLabel({ ...base, state: 'reconnecting', retry: { at: 1_003_200, failedAttempts: 1 } })).toBe(
      'offline, retrying in 4s',
    );
    expect(connectionLabel({ ...base, state: 'reconnecting', retry: { at: 999_000, failedAttempts: 2 } })).toBe(
      'offline, retrying now…',
    );
    expect(connectionLabel({ ...base, state: 'reconnecting', online: false })).toBe('offline, retrying now…');
    expect(connectionLabel({ ...base, state: 'recovered', missed: 0 })).toBe('recovered (nothing missed)');
    expect(connectionLabel({ ...base, state: 'recovered', missed: 1 })).toBe('recovered (1 missed message delivered)');
    expect(connectionLabel({ ...base, state: 'recovered', missed: 5 })).toBe('recovered (5 missed messages delivered)');
    expect(connectionLabel({ ...base, state: 'recovered', missed: 5, settled: true })).toBe('connected');
    expect(connectionLabel({ ...base, state: 'disconnected' })).toBe('disconnected');
  });
});

describe('route', () => {
  it('reads and writes the open conversation in the hash', () => {
    expect(conversationFromHash('#/c/42')).toBe(42);
    expect(hashFor(42)).toBe('#/c/42');
    expect(hashFor(null)).toBe('#/');
    for (const bad of ['', '#/', '#/c/', '#/c/0', '#/c/abc', '#/c/1/x', '#/c/9999999999999999']) {
      expect(conversationFromHash(bad)).toBeNull();
    }
  });
});
