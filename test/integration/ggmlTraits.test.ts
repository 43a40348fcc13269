// Our table of ggml tensor types (ggmlTypes.ts) against the ggml library node-llama-cpp ships:
// a wrong block or type size would misplace every tensor after the first of that type.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/engine/llama/backend';
import type { Native } from '../../src/engine/llama/native';
import { GgmlType, KNOWN_TYPES, typeFromName, typeName, typeTraits } from '../../src/engine/gguf/ggmlTypes';

// GGML_TYPE_COUNT in ggml.h of this build. ggml's trait getters do not range-check their
// argument in a release build, so ids past the end must not be asked about.
const GGML_TYPE_COUNT = 43;

let native: Native;
before(async () => {
  native = (await getBackend()).native;
});

test('block size, type size and name of every type we list equal ggml_blck_size / ggml_type_size / ggml_type_name', () => {
  assert.ok(KNOWN_TYPES.length > 30);
  for (const id of KNOWN_TYPES) {
    assert.ok(id >= 0 && id < GGML_TYPE_COUNT, `type ${id} is a ggml type id of this build`);
    const ours = typeTraits(id);
    const name = native.base.ggml_type_name(id);
    // ggml spells names in lower case with a capital K ("q4_K"); GGUF tools and we use upper case
    assert.equal(name?.toUpperCase(), ours.name, `name of type ${id}`);
    assert.equal(Number(native.base.ggml_blck_size(id)), ours.blockSize, `block size of ${ours.name}`);
    assert.equal(Number(native.base.ggml_type_size(id)), ours.typeSize, `type size of ${ours.name}`);
    assert.equal(typeName(id), ours.name);
    assert.equal(typeFromName(name!), id, 'lookup by ggml name');
  }
});

test('every type this ggml build can store is in our table (a file using it opens)', () => {
  const missing: string[] = [];
  for (let id = 0; id < GGML_TYPE_COUNT; id++) {
    // removed types (Q4_2, Q4_0_4_4, ...) have block size 0 in ggml and cannot appear in a file
    if (Number(native.base.ggml_blck_size(id)) === 0) {
      assert.ok(!KNOWN_TYPES.includes(id), `removed type ${id} (${native.base.ggml_type_name(id)}) is not listed`);
      continue;
    }
    if (!KNOWN_TYPES.includes(id)) missing.push(`${id} ${native.base.ggml_type_name(id)}`);
  }
  assert.deepEqual(missing, []);
});

test('the GgmlType constants name the same ids as ggml', () => {
  for (const [name, id] of Object.entries(GgmlType)) {
    assert.equal(native.base.ggml_type_name(id)?.toUpperCase(), name, name);
  }
});
