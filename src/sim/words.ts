/**
 * Words the simulator streams, each written with a leading space. Every " word"
 * is exactly one token for the llama3, o200k and cl100k tokenizers, and the
 * pre-tokenizers of all three split a run of them at the spaces, so a text of
 * n such words counts n tokens: the simulator knows the truth without a
 * tokenizer of its own. A test holds this for every word.
 */
export const SIM_WORDS: readonly string[] = [
  "the", "of", "and", "to", "in", "is", "was", "for", "on", "that",
  "with", "as", "by", "at", "from", "his", "her", "they", "this", "are",
  "which", "be", "had", "have", "it", "not", "were", "but", "or", "an",
  "their", "one", "all", "been", "has", "there", "more", "when", "who", "will",
  "would", "can", "time", "about", "after", "first", "new", "other", "into", "only",
  "some", "these", "two", "most", "also", "may", "like", "than", "its", "over",
  "such", "then", "them", "people", "years", "made", "many", "where", "work", "part",
  "world", "year", "great", "life", "back", "being", "same", "under", "while", "city",
  "place", "know", "good", "high", "day", "long", "little", "much", "right", "state",
  "well", "school", "still", "own", "down", "each", "both", "find", "through", "before",
  "last", "system", "make", "group", "between", "night", "might", "never", "house", "found",
  "water", "often", "small", "order", "around", "want", "come", "show", "every", "point",
  "away", "another", "hand", "home", "thing", "large", "late", "fact", "early", "need",
  "since", "later", "help", "side", "power", "just", "king", "again", "left", "music",
  "light", "body", "start", "story", "ever", "play", "death", "film", "room", "game",
  "name", "used", "word", "half", "happy", "open", "voice", "quite", "money", "across",
  "close", "bring", "sense", "party", "real", "road", "market", "least", "field", "study",
  "river", "heart", "stand", "friend", "garden", "morning", "window", "summer", "winter", "spring",
  "letter", "simple", "answer", "question", "reason", "number", "sound", "paper", "table", "green",
  "black", "white", "plain", "clear", "quiet", "gentle", "bright", "sharp", "sweet", "warm",
  "cold", "heavy", "short", "young", "old", "strong", "free", "full", "whole", "ready",
  "final", "major", "local", "human", "social", "public", "private", "common", "special", "recent",
  "single", "natural", "modern", "central", "certain", "likely",
];
