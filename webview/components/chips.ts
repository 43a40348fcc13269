// The prompt's tokens as chips: click or arrow keys select one; the selected chip is the view's
// position. Each chip's tooltip has the token id, position and how surprising it was to the model.
import type { ViewToken } from '../../src/shared/protocol/views';
import { displayToken } from '../../src/shared/format';
import { el } from '../vscodeApi';

export class TokenChips {
  readonly root = el('section', { id: 'tokens', role: 'listbox', 'aria-label': 'Tokens of the inspected text', tabindex: '0' });
  private tokens: readonly ViewToken[] = [];
  private selected = -1;

  constructor(private readonly onSelect: (pos: number) => void) {
    this.root.addEventListener('keydown', (e) => {
      const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : e.key === 'Home' ? -Infinity : e.key === 'End' ? Infinity : 0;
      if (!step || !this.tokens.length) return;
      e.preventDefault();
      const next = Math.max(0, Math.min(this.tokens.length - 1, this.selected + (Number.isFinite(step) ? step : step > 0 ? this.tokens.length : -this.tokens.length)));
      this.onSelect(next);
    });
  }

  show(tokens: readonly ViewToken[]): void {
    this.tokens = tokens;
    this.root.replaceChildren(
      ...tokens.map((t) => {
        const s = t.surprise;
        const how = s.surprisal === undefined ? '' : `\nsurprisal ${s.surprisal.toFixed(2)} nats, rank ${s.rank}`;
        const b = el('button', { class: `chip${t.special ? ' special' : ''}`, 'data-pos': String(t.pos), role: 'option', tabindex: '-1', title: `${t.text} (id ${t.id}, position ${t.pos})${how}` }, displayToken(t.text));
        b.addEventListener('click', () => this.onSelect(t.pos));
        return b;
      }),
    );
    this.selected = -1;
  }

  select(pos: number): void {
    this.selected = pos;
    for (const chip of this.root.querySelectorAll<HTMLElement>('.chip')) {
      const on = Number(chip.dataset['pos']) === pos;
      chip.classList.toggle('selected', on);
      chip.setAttribute('aria-selected', String(on));
      if (on) chip.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    }
  }
}
