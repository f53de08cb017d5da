/**
 * Dates and grouping for the message list. Pure functions of an ISO time and
 * "now", so the rules (Today / Yesterday / weekday / full date, when a new
 * group starts) are unit-tested without a browser.
 */
import type { Message } from '../lib';

/** Consecutive messages of one sender this close together share one header. */
export const GROUP_GAP_MS = 5 * 60 * 1000;

function parse(iso: string): Date | null {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** A local calendar day, as a key for "is this the same day". */
export function dayKey(iso: string): string {
  const d = parse(iso);
  return d ? `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}` : '';
}

/** "Today", "Yesterday", a weekday within the last week, else a full date. */
export function dayLabel(iso: string, now: Date = new Date(), locale?: string): string {
  const d = parse(iso);
  if (!d) return '';
  const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return d.toLocaleDateString(locale, { weekday: 'long' });
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleDateString(locale, {
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    ...(sameYear ? {} : { year: 'numeric' }),
  });
}

export function timeLabel(iso: string, locale?: string): string {
  const d = parse(iso);
  return d ? d.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' }) : '';
}

/** Full date and time, for a tooltip. */
export function fullLabel(iso: string, locale?: string): string {
  const d = parse(iso);
  return d ? d.toLocaleString(locale, { dateStyle: 'full', timeStyle: 'short' }) : '';
}

/** The list's short time: the time today, the weekday this week, else the date. */
export function shortLabel(iso: string, now: Date = new Date(), locale?: string): string {
  const d = parse(iso);
  if (!d) return '';
  const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000);
  if (days === 0) return timeLabel(iso, locale);
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return d.toLocaleDateString(locale, { weekday: 'short' });
  return d.toLocaleDateString(locale, { day: 'numeric', month: 'short', ...(d.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }) });
}

/** True when `m` continues `prev`'s group: same sender, same day, a few minutes apart. */
export function continuesGroup(prev: Message | undefined, m: Message): boolean {
  if (!prev || prev.sender_id !== m.sender_id) return false;
  const a = parse(prev.created_at);
  const b = parse(m.created_at);
  if (!a || !b || dayKey(prev.created_at) !== dayKey(m.created_at)) return false;
  return b.getTime() - a.getTime() < GROUP_GAP_MS;
}
