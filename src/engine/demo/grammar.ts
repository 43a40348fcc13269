// The demo model's whole world: a small probabilistic grammar of simple English, written for this
// project. Its sentences are in the spirit of the article's prompt ("I like the red ball, but my
// girlfriend likes the larger ball. We like to go to the basketball court to play ball
// together."). Words come in categories, and categories have sub-structure (red goes with ball,
// apple and car; basketball with court; fish swim in the lake), so the model fitted to it has
// word associations that can be checked: colours cluster, "red" predicts ball, "basketball" predicts
// court. Nothing here is downloaded or copied text.
import type { Rng } from '../util/random';

/** Verbs that come in a base form and a third-person form ("like", "likes"). */
const LIKING_VERBS = [['like', 'likes'], ['love', 'loves'], ['enjoy', 'enjoys'], ['prefer', 'prefers'], ['want', 'wants'], ['hate', 'hates']] as const;
const ACTION_VERBS = [
  ['play', 'plays'], ['run', 'runs'], ['swim', 'swims'], ['walk', 'walks'], ['read', 'reads'], ['eat', 'eats'],
  ['cook', 'cooks'], ['dance', 'dances'], ['sing', 'sings'], ['sleep', 'sleeps'], ['jump', 'jumps'], ['climb', 'climbs'],
  ['draw', 'draws'], ['paint', 'paints'], ['write', 'writes'], ['work', 'works'], ['ride', 'rides'], ['fly', 'flies'],
] as const;

/** The grammar's content words by category; the analyses and the UI use these lists. */
export const DEMO_CATEGORIES = {
  colours: ['red', 'blue', 'green', 'yellow', 'orange', 'purple', 'pink', 'brown', 'black', 'white', 'grey', 'golden', 'silver'],
  sizes: ['big', 'small', 'large', 'little', 'tiny', 'huge', 'long', 'short', 'tall', 'wide', 'thin', 'thick'],
  comparatives: ['larger', 'smaller', 'bigger', 'longer', 'shorter', 'taller', 'better', 'nicer', 'newer', 'older', 'faster', 'slower', 'stronger', 'heavier'],
  shapes: ['round', 'square', 'flat', 'oval', 'curved', 'pointed', 'straight', 'hollow'],
  objects: [
    'ball', 'car', 'hat', 'shirt', 'dress', 'boat', 'cup', 'bike', 'kite', 'bus', 'flower', 'box', 'chair', 'table', 'bag', 'book',
    'house', 'ring', 'lamp', 'door', 'pen', 'plate', 'clock', 'train', 'coat', 'tree', 'key', 'bell', 'mirror', 'window', 'phone', 'balloon',
  ],
  foods: ['apple', 'banana', 'bread', 'cake', 'pizza', 'soup', 'rice', 'cheese', 'pie', 'egg', 'salad', 'tea', 'coffee', 'milk', 'water'],
  people: [
    'girlfriend', 'boyfriend', 'mother', 'father', 'mom', 'dad', 'brother', 'sister', 'friend', 'wife', 'husband', 'uncle', 'aunt',
    'son', 'daughter', 'cousin', 'teacher', 'neighbor', 'grandmother', 'grandfather', 'grandma', 'grandpa', 'coach', 'baby',
  ],
  animals: ['dog', 'cat', 'horse', 'bird', 'fish', 'rabbit', 'duck', 'cow', 'sheep', 'mouse', 'bear', 'monkey', 'elephant', 'lion', 'tiger', 'frog', 'turtle'],
  likingVerbs: LIKING_VERBS.flat(),
  actionVerbs: ACTION_VERBS.flat(),
  places: [
    'park', 'beach', 'school', 'garden', 'library', 'store', 'zoo', 'lake', 'river', 'forest', 'city', 'market', 'museum', 'farm',
    'mountain', 'island', 'village', 'church', 'hospital', 'office', 'restaurant', 'kitchen', 'station', 'hotel', 'bank', 'pool', 'hill', 'sea',
  ],
  sports: ['basketball', 'tennis', 'football', 'soccer', 'baseball', 'golf', 'hockey', 'volleyball', 'badminton', 'bowling', 'cricket', 'rugby', 'chess'],
  venues: ['court', 'field', 'course', 'rink', 'alley', 'gym', 'arena', 'stadium', 'pitch', 'club', 'ground'],
  times: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday', 'morning', 'evening', 'night', 'weekend', 'summer', 'winter'],
} as const satisfies Record<string, readonly string[]>;

export type DemoCategory = keyof typeof DEMO_CATEGORIES;
export const DEMO_CATEGORY_NAMES = Object.keys(DEMO_CATEGORIES) as DemoCategory[];

/** Words that glue sentences together; they belong to no category. */
export const FUNCTION_WORDS = [
  'I', 'We', 'My', 'The', 'It', 'On', 'my', 'the', 'a', 'to', 'go', 'and', 'but', 'with', 'in', 'at', 'on', 'every', 'is', 'than',
  'together', 'of', 'lot', 'fun', 'for', 'after', 'has', 'breakfast', 'lunch', 'dinner', 'one', 'too',
] as const;

export const PUNCTUATION = [',', '.'] as const;

/** Every word the grammar can produce (punctuation excluded), categories first. */
export function demoWords(): string[] {
  return [...new Set([...DEMO_CATEGORY_NAMES.flatMap((c) => DEMO_CATEGORIES[c]), ...FUNCTION_WORDS])];
}

export function categoryOf(word: string): DemoCategory | undefined {
  return DEMO_CATEGORY_NAMES.find((c) => (DEMO_CATEGORIES[c] as readonly string[]).includes(word));
}

// --- sub-structure: which words prefer which (weights multiply a base weight of 1) ---------------

type Prefs = Readonly<Record<string, readonly string[]>>;

const COLOUR_NOUNS: Prefs = {
  red: ['ball', 'apple', 'car', 'hat'], blue: ['car', 'shirt', 'boat', 'cup'], green: ['apple', 'tree', 'bike', 'salad'],
  yellow: ['banana', 'ball', 'bus', 'flower'], orange: ['ball', 'kite', 'cup', 'balloon'], purple: ['flower', 'dress', 'hat', 'pen'],
  pink: ['dress', 'flower', 'cake', 'balloon'], brown: ['box', 'chair', 'bag', 'bread'], black: ['car', 'hat', 'bag', 'coat'],
  white: ['shirt', 'cup', 'boat', 'house'], grey: ['car', 'coat', 'bag', 'clock'], golden: ['ring', 'cup', 'bell', 'key'],
  silver: ['ring', 'car', 'key', 'bell'],
};
const SIZE_NOUNS: Prefs = {
  big: ['house', 'car', 'box', 'tree'], small: ['cup', 'box', 'ball', 'key'], large: ['house', 'table', 'pizza', 'window'],
  little: ['ball', 'book', 'boat', 'bell'], tiny: ['ring', 'key', 'cup', 'cake'], huge: ['house', 'tree', 'boat', 'train'],
  long: ['train', 'dress', 'table', 'coat'], short: ['dress', 'pen', 'coat', 'book'], tall: ['tree', 'house', 'lamp', 'window'],
  wide: ['door', 'window', 'table', 'river'], thin: ['book', 'pen', 'plate', 'phone'], thick: ['book', 'coat', 'bread', 'door'],
};
const SHAPE_NOUNS: Prefs = {
  round: ['ball', 'table', 'plate', 'clock'], square: ['box', 'table', 'window', 'plate'], flat: ['plate', 'box', 'book', 'phone'],
  oval: ['mirror', 'table', 'plate', 'egg'], curved: ['mirror', 'lamp', 'phone', 'chair'], pointed: ['hat', 'pen', 'key', 'tree'],
  straight: ['pen', 'table', 'door', 'train'], hollow: ['ball', 'tree', 'box', 'bell'],
};
const COMPARATIVE_NOUNS: Prefs = {
  faster: ['car', 'bike', 'bus', 'train', 'boat'], slower: ['car', 'bike', 'bus', 'train', 'boat'], newer: ['car', 'house', 'book', 'phone', 'bike'],
  older: ['car', 'house', 'book', 'phone', 'clock'], longer: ['train', 'dress', 'coat', 'table', 'pen'], shorter: ['train', 'dress', 'coat', 'pen', 'book'],
  taller: ['tree', 'house', 'lamp', 'window'], stronger: ['tea', 'coffee', 'bike', 'chair'], heavier: ['box', 'bag', 'table', 'chair', 'book'],
};
const SPORT_VENUES: Prefs = {
  basketball: ['court', 'court', 'gym'], tennis: ['court', 'court', 'club'], volleyball: ['court', 'gym'], badminton: ['court', 'gym', 'club'],
  football: ['field', 'stadium'], soccer: ['field', 'pitch'], baseball: ['field', 'stadium'], golf: ['course', 'course', 'club'],
  hockey: ['rink', 'arena'], bowling: ['alley', 'alley', 'club'], cricket: ['pitch', 'ground'], rugby: ['pitch', 'ground', 'field'], chess: ['club'],
};
const BALL_GAMES = new Set(['basketball', 'tennis', 'volleyball', 'football', 'soccer', 'baseball', 'rugby']);
const ACTIVITY_PLACES: Prefs = {
  play: ['park', 'garden', 'school', 'beach'], run: ['park', 'forest', 'beach'], swim: ['lake', 'river', 'sea', 'pool'],
  walk: ['park', 'beach', 'forest', 'city', 'village'], read: ['library', 'garden', 'park'], eat: ['restaurant', 'kitchen', 'park'],
  cook: ['kitchen', 'restaurant'], dance: ['park', 'school', 'hotel', 'kitchen'], sing: ['church', 'school', 'kitchen'],
  sleep: ['hotel', 'garden'], jump: ['pool', 'lake', 'garden'], climb: ['mountain', 'hill'], draw: ['school', 'park', 'museum'],
  paint: ['garden', 'park', 'museum'], write: ['library', 'office', 'school'], work: ['office', 'hospital', 'farm', 'bank', 'store', 'school'],
  ride: ['park', 'farm', 'city', 'village'], fly: ['city', 'island'],
};
const ANIMAL_ACTIVITIES: Prefs = {
  dog: ['run', 'play', 'sleep', 'jump'], cat: ['sleep', 'jump', 'climb', 'play'], horse: ['run', 'eat', 'sleep'], bird: ['sing', 'fly', 'eat'],
  fish: ['swim'], rabbit: ['jump', 'eat', 'run'], duck: ['swim', 'walk', 'fly'], cow: ['eat', 'sleep', 'walk'], sheep: ['eat', 'sleep', 'run'],
  mouse: ['run', 'eat', 'sleep'], bear: ['climb', 'sleep', 'swim'], monkey: ['climb', 'jump', 'play'], elephant: ['walk', 'eat', 'swim'],
  lion: ['sleep', 'run', 'eat'], tiger: ['sleep', 'run', 'swim'], frog: ['jump', 'swim', 'sing'], turtle: ['swim', 'walk', 'sleep'],
};
const ANIMAL_PLACES: Prefs = {
  dog: ['park', 'garden', 'beach'], cat: ['garden', 'kitchen'], horse: ['farm', 'village'], bird: ['forest', 'park', 'garden'],
  fish: ['lake', 'river', 'sea'], rabbit: ['garden', 'farm', 'forest'], duck: ['lake', 'river', 'park'], cow: ['farm', 'village', 'hill'],
  sheep: ['farm', 'hill'], mouse: ['kitchen', 'farm'], bear: ['forest', 'mountain'], monkey: ['zoo', 'forest'], elephant: ['zoo'],
  lion: ['zoo'], tiger: ['zoo', 'forest'], frog: ['lake', 'river', 'garden'], turtle: ['sea', 'lake', 'zoo'],
};
const MEAL_FOODS: Prefs = {
  breakfast: ['bread', 'egg', 'coffee', 'tea', 'milk', 'banana', 'apple'], lunch: ['soup', 'salad', 'pizza', 'rice', 'cheese', 'bread'],
  dinner: ['rice', 'pizza', 'soup', 'pie', 'cake', 'salad'],
};
const DRINKS = ['tea', 'coffee', 'milk', 'water'];

// --- sampling -------------------------------------------------------------------------------------

/** A sentence as words and punctuation marks (a mark attaches to the word before it). */
export type Sentence = string[];

const C = DEMO_CATEGORIES;
const LIKE_BASES = LIKING_VERBS.map((p) => p[0]);
const VERB_BASES = ACTION_VERBS.map((p) => p[0]);
const third = (v: readonly (readonly [string, string])[], w: string): string => v.find((p) => p[0] === w)![1];

/** Items with fixed weights, for fast repeated picks (sampling 200k sentences must take a second). */
class Choice {
  private readonly cum: Float64Array;
  constructor(
    readonly items: readonly string[],
    weights: readonly number[],
  ) {
    this.cum = new Float64Array(items.length);
    let s = 0;
    weights.forEach((w, i) => (this.cum[i] = s += w));
  }
  pick(rng: Rng): string {
    const r = rng.uniform() * this.cum[this.cum.length - 1]!;
    for (let i = 0; i < this.cum.length; i++) if (r < this.cum[i]!) return this.items[i]!;
    return this.items[this.items.length - 1]!;
  }
}

const choices = new Map<string, Choice>();

/**
 * Pick from `items`, each weighted 1, times `boost` for every preference list naming it (twice
 * if named twice). `key` names the combination, so its weights are computed once.
 */
function pickPreferred(rng: Rng, key: string, items: readonly string[], prefs: ReadonlyArray<readonly string[] | undefined>, boost = 6): string {
  let c = choices.get(key);
  if (!c) {
    const weights = items.map((it) => prefs.reduce((w, p) => w * (p?.includes(it) ? boost * p.filter((x) => x === it).length : 1), 1));
    c = new Choice(items, weights);
    choices.set(key, c);
  }
  return c.pick(rng);
}

function maybe(rng: Rng, p: number): boolean {
  return rng.uniform() < p;
}

const colourPools: Record<string, string[]> = {};

/** "big round red ball": optional size, shape and colour, then a noun that suits them. */
function nounPhrase(rng: Rng): string[] {
  const nouns = C.objects;
  const size = maybe(rng, 0.3) ? rng.pick(C.sizes) : undefined;
  const shape = maybe(rng, 0.15) ? rng.pick(C.shapes) : undefined;
  const colour = maybe(rng, 0.65) ? rng.pick(C.colours) : undefined;
  // a colour may also go with a food it prefers ("green salad")
  const pool = colour ? (colourPools[colour] ??= [...nouns, ...C.foods.filter((f) => COLOUR_NOUNS[colour]!.includes(f))]) : nouns;
  const noun = pickPreferred(rng, `np ${size} ${shape} ${colour}`, pool, [size ? SIZE_NOUNS[size] : undefined, shape ? SHAPE_NOUNS[shape] : undefined, colour ? COLOUR_NOUNS[colour] : undefined]);
  return [size, shape, colour, noun].filter((w): w is string => w !== undefined);
}

function comparativePhrase(rng: Rng): string[] {
  const comp = rng.pick(C.comparatives);
  return [comp, pickPreferred(rng, `cmp ${comp}`, [...C.objects, ...C.foods], [COMPARATIVE_NOUNS[comp]], 12)];
}

/** How a sentence may end: "together", "with my sister", "on Sunday", "every morning" ... */
const ENDINGS = new Choice(['none', 'together', 'with', 'on', 'every', 'after'], [3, 2, 2, 1.5, 1, 0.5]);
const DAYS = C.times.slice(0, 7);

function ending(rng: Rng): string[] {
  switch (ENDINGS.pick(rng)) {
    case 'together':
      return ['together'];
    case 'with':
      return ['with', 'my', rng.pick(C.people)];
    case 'on':
      return ['on', rng.pick(DAYS)];
    case 'every':
      return ['every', rng.pick(C.times)];
    case 'after':
      return ['after', 'school'];
    default:
      return [];
  }
}

function sportAndVenue(rng: Rng): [string, string] {
  const sport = rng.pick(C.sports);
  return [sport, rng.pick(SPORT_VENUES[sport]!)];
}

function activityInPlace(rng: Rng): [string, string] {
  const act = rng.pick(VERB_BASES);
  return [act, pickPreferred(rng, `act ${act}`, C.places, [ACTIVITY_PLACES[act]], 10)];
}

const TEMPLATES: ReadonlyArray<readonly [number, (rng: Rng) => Sentence]> = [
  // I like the red ball, but my girlfriend likes the larger ball.
  [3, (rng) => {
    const v = rng.pick(LIKE_BASES);
    const v2 = rng.pick(LIKE_BASES);
    return ['I', v, 'the', ...nounPhrase(rng), ',', 'but', 'my', rng.pick(C.people), third(LIKING_VERBS, v2), 'the', ...comparativePhrase(rng), '.'];
  }],
  // We like to go to the basketball court to play ball together.
  [3, (rng) => {
    const [sport, venue] = sportAndVenue(rng);
    const what = BALL_GAMES.has(sport) && maybe(rng, 0.5) ? 'ball' : sport;
    return ['We', rng.pick(LIKE_BASES), 'to', 'go', 'to', 'the', sport, venue, 'to', 'play', what, ...ending(rng), '.'];
  }],
  // My sister likes to swim in the lake on Sunday.
  [3, (rng) => {
    const [act, place] = activityInPlace(rng);
    return ['My', rng.pick(C.people), third(LIKING_VERBS, rng.pick(LIKE_BASES)), 'to', act, 'in', 'the', place, ...ending(rng), '.'];
  }],
  // My brother works in the office every morning.
  [2, (rng) => {
    const [act, place] = activityInPlace(rng);
    return ['My', rng.pick(C.people), third(ACTION_VERBS, act), 'in', 'the', place, ...ending(rng), '.'];
  }],
  // My cousin plays golf at the club.
  [1.5, (rng) => {
    const [sport, venue] = sportAndVenue(rng);
    return ['My', rng.pick(C.people), 'plays', sport, 'at', 'the', sport, venue, ...ending(rng), '.'];
  }],
  // The fish swims in the lake.
  [2.5, (rng) => {
    const animal = rng.pick(C.animals);
    const act = pickPreferred(rng, `animal act ${animal}`, VERB_BASES, [ANIMAL_ACTIVITIES[animal]], 40);
    const place = pickPreferred(rng, `animal place ${animal}`, C.places, [ANIMAL_PLACES[animal]], 20);
    return maybe(rng, 0.5)
      ? ['The', animal, third(ACTION_VERBS, act), 'in', 'the', place, '.']
      : ['My', animal, 'likes', 'to', act, 'in', 'the', place, '.'];
  }],
  // The red ball is larger than the blue one.
  [2, (rng) => ['The', ...nounPhrase(rng), 'is', rng.pick(C.comparatives), 'than', 'the', ...(maybe(rng, 0.3) ? ['one'] : nounPhrase(rng)), '.']],
  // The ball is red.
  [1.5, (rng) => {
    const np = nounPhrase(rng);
    return ['The', np[np.length - 1]!, 'is', rng.pick(rng.pick([C.colours, C.sizes, C.shapes], [3, 2, 1])), ...(maybe(rng, 0.2) ? ['too'] : []), '.'];
  }],
  // It is a lot of fun to play tennis with my friend.
  [2, (rng) => {
    const rest = maybe(rng, 0.6) ? ['play', rng.pick(C.sports)] : activityInPlace(rng).flatMap((w, i) => (i === 0 ? [w, 'in', 'the'] : [w]));
    return ['It', 'is', 'a', 'lot', 'of', 'fun', 'to', ...rest, ...ending(rng), '.'];
  }],
  // We eat bread and cheese for breakfast.
  [2, (rng) => {
    const meal = rng.pick(['breakfast', 'lunch', 'dinner']);
    const food = (): string => pickPreferred(rng, `meal ${meal}`, C.foods, [MEAL_FOODS[meal]], 8);
    const drinking = maybe(rng, 0.3);
    const what = drinking ? [rng.pick(DRINKS)] : maybe(rng, 0.4) ? [food(), 'and', food()] : [food()];
    const subj = rng.pick<string[]>([['I'], ['We'], ['My', rng.pick(C.people)]]);
    const verb = subj[0] === 'My' ? (drinking ? 'likes' : 'eats') : drinking ? 'like' : 'eat';
    return [...subj, verb, ...what, 'for', meal, '.'];
  }],
  // My uncle has a big black car.
  [2, (rng) => ['My', rng.pick(C.people), 'has', 'a', ...nounPhrase(rng), ...(maybe(rng, 0.3) ? ['too'] : []), '.']],
  // On Sunday, my mother and I go to the market.
  [1.5, (rng) => {
    const where = maybe(rng, 0.3) ? sportAndVenue(rng) : [rng.pick(C.places)];
    return ['On', rng.pick(DAYS), ',', 'my', rng.pick(C.people), 'and', 'I', 'go', 'to', 'the', ...where, '.'];
  }],
];

const TEMPLATE_WEIGHTS = TEMPLATES.map((t) => t[0]);
const TEMPLATE_FNS = TEMPLATES.map((t) => t[1]);

export function sampleSentence(rng: Rng): Sentence {
  return rng.pick(TEMPLATE_FNS, TEMPLATE_WEIGHTS)(rng);
}

/** One to three sentences: a document (the model sees BOS before each). */
export function sampleDocument(rng: Rng): Sentence[] {
  const n = rng.pick([1, 2, 3], [2, 2, 1]);
  return Array.from({ length: n }, () => sampleSentence(rng));
}

/** The text of sentences: words separated by spaces, punctuation attached. */
export function documentText(sentences: readonly Sentence[]): string {
  let out = '';
  for (const item of sentences.flat()) {
    if ((PUNCTUATION as readonly string[]).includes(item)) out += item;
    else out += out ? ` ${item}` : item;
  }
  return out;
}
