/**
 * Desktop notifications (the Notifications API) for messages and notifications
 * that arrive while the tab is hidden. Permission is asked only when the
 * person clicks the button, never on load (browsers penalise pages that ask
 * unprompted, and people deny them).
 */
import { useCallback, useMemo, useState } from 'react';
import type { ReactNode } from 'react';

type Permission = NotificationPermission | 'unsupported';

export interface DesktopNotice {
  title: string;
  body?: string;
  /** Same tag: a newer notice replaces the older one instead of piling up. */
  tag?: string;
  onClick?: () => void;
  /** Shown only while the page is hidden (the page itself shows it otherwise). */
  whenHiddenOnly?: boolean;
}

export interface DesktopControl {
  permission: Permission;
  request: () => Promise<void>;
  show: (notice: DesktopNotice) => void;
}

function currentPermission(): Permission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

export function useDesktopNotifications(): DesktopControl {
  const [permission, setPermission] = useState<Permission>(currentPermission);
  const request = useCallback(async () => {
    if (typeof Notification === 'undefined') return;
    setPermission(await Notification.requestPermission());
  }, []);
  const show = useCallback((notice: DesktopNotice) => {
    if (currentPermission() !== 'granted') return;
    if (notice.whenHiddenOnly && document.visibilityState !== 'hidden') return;
    try {
      const n = new Notification(notice.title, { body: notice.body ?? '', tag: notice.tag });
      n.onclick = () => {
        window.focus();
        notice.onClick?.();
        n.close();
      };
    } catch {
      // Some browsers (Android Chrome) allow notifications only from a service worker.
    }
  }, []);
  return useMemo(() => ({ permission, request, show }), [permission, request, show]);
}

/** The switch in the bell's panel: a button while the choice is open, a short status once made. */
export function DesktopNotifications({ control }: { control: DesktopControl }): ReactNode {
  let status: ReactNode;
  switch (control.permission) {
    case 'unsupported':
      return null;
    case 'granted':
      status = <span data-testid="desktop-alerts-status">On while this tab is in the background.</span>;
      break;
    case 'denied':
      status = <span data-testid="desktop-alerts-status">Blocked in the browser's site settings.</span>;
      break;
    default:
      status = (
        <button type="button" data-testid="enable-desktop-notifications" onClick={() => void control.request()}>
          Turn on
        </button>
      );
  }
  return (
    <p className="desktop-alerts row spread small">
      <span>Desktop alerts</span>
      {status}
    </p>
  );
}
