import { formatTime } from '../format.js';
import { findElement, setField } from '../dom.js';
import type { Panel, PanelContext } from './panel.js';

/**
 * The header: the overall state with `overall.problems` (the health model's summaries), when the
 * page was last refreshed, and sign-out.
 */
export function createOverallHeader({ actions }: PanelContext): Panel {
  const overall = findElement('#overall', HTMLElement);
  findElement('#logout', HTMLButtonElement).addEventListener('click', () => {
    const toLogin = (): void => window.location.assign('/login');
    actions.signOut().then(toLogin, toLogin);
  });
  return {
    showStatus(status) {
      const { state, healthy, problems } = status.overall;
      setField(
        'overall',
        `Sync ${state.replace('-', ' ')}${healthy ? ' · all good' : ` · needs attention: ${problems.join(', ')}`}`,
      );
      overall.className = `overall ${healthy ? 'ok' : 'warn'}`;
      setField('refreshed-at', formatTime(status.generatedAt));
    },
  };
}
