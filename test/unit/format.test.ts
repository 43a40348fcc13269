// Display helpers: tokens are data, so Markdown syntax in a token must be escaped, and the hover's
// layer choice must stay inside the model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayToken, escapeMarkdown, hoverLayers } from '../../src/shared/format';

test('displayToken strips the word marker, marks word pieces, and keeps special spellings', () => {
  assert.equal(displayToken('▁like'), 'like');
  assert.equal(displayToken('Ġlike'), 'like');
  // a piece inside a word never looks like the word
  assert.equal(displayToken('ball'), '##ball');
  assert.notEqual(displayToken('es'), displayToken('▁es'));
  assert.equal(displayToken(','), ',');
  assert.equal(displayToken('."'), '."');
  assert.equal(displayToken('<0x0A>'), '<0x0A>');
  assert.equal(displayToken('<s>'), '<s>');
  assert.equal(displayToken('▁'), '␣');
  assert.equal(displayToken('▁▁'), '␣␣');
  assert.equal(displayToken('▁New▁York'), 'New York');
});

test('escapeMarkdown leaves no Markdown or HTML syntax', () => {
  const hostile = '<script>alert(1)</script> | **bold** [x](http://e) `code` _i_ #h\nnext';
  const out = escapeMarkdown(hostile);
  const outsideEntities = out.replace(/&#\d+;/g, '');
  for (const c of ['<', '>', '|', '*', '[', ']', '(', ')', '`', '_', '#', '\n', '&']) assert.ok(!outsideEntities.includes(c), `${JSON.stringify(c)} survived in ${out}`);
  // entities decode back to the original text (newline becomes a space)
  const decoded = out.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
  assert.equal(decoded, hostile.replace('\n', ' '));
});

test('hoverLayers picks spread layers by default and honours valid choices', () => {
  assert.deepEqual(hoverLayers(32, []), [0, 8, 16, 24, 32]);
  assert.deepEqual(hoverLayers(2, []), [0, 1, 2]);
  assert.deepEqual(hoverLayers(32, [30, 4, 4, 40, -1, 2.5]), [4, 30]);
});
