// The middle dictionary's word list rule. The article took the prompt's words plus 500 random
// words from a list of 3000 common English words; a GGUF carries no word frequencies, but a
// SentencePiece/BPE vocabulary numbers its pieces in merge order, so low ids are frequent pieces.
// Rule (version 2): walk the vocabulary by increasing id and keep a token when its text is a
// word-start marker followed only by ASCII letters forming
//   - a lower-case word of 3 or more letters ("▁the", "Ġlike"), or
//   - a capitalised word of 3 or more letters ("▁The", "ĠThis"), or
//   - one of the 1-2 letter English words below ("▁I", "ĠIt", "▁We", "Ġmy", "▁to");
// until `count` tokens are kept. The marker is SentencePiece's "▁" (Llama 2, Gemma, Phi-3) or
// byte-level BPE's "Ġ", the byte-to-unicode map's space (Llama 3, Qwen: 128k-152k tokens); a
// vocabulary uses one of them, so on a "▁" vocabulary version 2 keeps exactly what version 1 did.
// Some kept tokens are word pieces ("▁con", "Ġpro"): harmless, each is still a token with an input
// row. The prompt's own tokens are always added on top.
export const WORD_LIST_RULE_VERSION = 2;

const SHORT_WORDS = new Set('I a A an An am Am as As at At be Be by By do Do go Go he He if If in In is Is it It me Me my My no No of Of on On or Or so So to To up Up us Us we We'.split(' '));

export function isCommonWordToken(text: string): boolean {
  const m = /^[▁Ġ]([A-Za-z]+)$/.exec(text);
  if (!m) return false;
  const w = m[1]!;
  return SHORT_WORDS.has(w) || /^[a-z]{3,}$/.test(w) || /^[A-Z][a-z]{2,}$/.test(w);
}

/** Token ids of the first `count` common whole-word tokens of a vocabulary, by increasing id. */
export function commonWordTokens(vocab: readonly string[], count: number): number[] {
  const out: number[] = [];
  for (let id = 0; id < vocab.length && out.length < count; id++) if (isCommonWordToken(vocab[id]!)) out.push(id);
  return out;
}
