// A failed load's message as the user reads it: the reason first, the file's name at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteFileText } from '../../src/engine/errors';
import { reasonFirst } from '../../src/engine/models/loadMessage';

test('the path in front of the reason moves behind it as the file name', () => {
  const p = '/home/me/models/broken model.gguf';
  assert.equal(reasonFirst(`${quoteFileText(p, 200)} cannot be used: block_count is 0. Re-export the model.`, p), 'Block_count is 0. Re-export the model. (broken model.gguf)');
  assert.equal(reasonFirst(`${p} is not a readable GGUF model: the file ends inside the header`, p), 'The file ends inside the header (broken model.gguf)');
  // a message that already starts with its reason is kept as it is
  assert.equal(reasonFirst('Model file not found: /x/y.gguf', '/x/y.gguf'), 'Model file not found: /x/y.gguf');
  assert.equal(reasonFirst('Not enough memory for tiny: it needs 1 GiB', '/x/tiny.gguf'), 'Not enough memory for tiny: it needs 1 GiB');
  // a path with quotes and control characters, quoted escaped by the engine
  const odd = '/tmp/a"b\u0007.gguf';
  assert.equal(reasonFirst(`${quoteFileText(odd, 200)} cannot be used: no tensors.`, odd), 'No tensors. (a"b\\x07.gguf)');
  // an Ollama blob is named by its model name
  assert.equal(reasonFirst('/s/blobs/sha256-00 cannot be used: no tensors.', '/s/blobs/sha256-00', 'qwen2.5:0.5b'), 'No tensors. (qwen2.5:0.5b)');
});
