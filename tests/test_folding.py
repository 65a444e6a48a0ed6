"""One folding for the finder and the redactor: what it sees through, and that every span maps back to the original."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stories.folding import fold, key, readable

DISGUISED_HOLT = [
    "Ho\u200blt",  # zero-width space
    "Ho\u200dlt",  # zero-width joiner
    "Ho\u00adlt",  # soft hyphen
    "Ho\u2060lt",  # word joiner
    "\u041d\u043elt",  # Cyrillic capital En, small O
    "\u0397\u03bflt",  # Greek capital Eta, small omicron
    "Ｈｏｌｔ",
    "𝐇𝐨𝐥𝐭",
    "Ⓗⓞⓛⓣ",
    "Hölt",
    "Ho\u0308lt",  # a combining accent
    "Ho-\nlt",  # a line broken at a hyphen
]


def test_every_disguise_folds_to_the_plain_name_and_maps_back_whole():
    for written in DISGUISED_HOLT:
        text = f"They wrote {written} on it."
        folded = fold(text)
        start = folded.text.index("Holt")
        assert folded.text == "They wrote Holt on it.", written
        assert folded.span(start, start + 4) == (11, 11 + len(written)), written


def test_spacing_apostrophes_and_compounds():
    assert fold("H\tO\tL\tT").text == "HOLT"  # spelled out with tabs: one word
    assert fold("Oʼ Neill and O’Neill").text == "O' Neill and O'Neill"
    assert fold("Holt-\nBarnes").text == "Holt-Barnes"  # a compound keeps its hyphen
    assert fold("Straße").text == "Strasse"


def test_readable_keeps_accents_and_shows_what_a_reader_sees():
    assert readable("Siobhán") == "Siobhán"
    assert readable("K\u200byle") == "Kyle" and readable("Ｋｙｌｅ") == "Kyle" and readable("\u041a\u0443le") == "Kyle"
    assert key("Ｋｙｌｅ") == key("K\u200byle") == key("Kyle") == "Kyle"


def test_plain_text_is_not_copied():
    text = "Margaret rang on Tuesday."
    assert fold(text).text is text and fold(text).unchanged


TRICKS = st.sampled_from(
    ["\u200b", "\u00ad", "ｘ", "é", "e\u0301", "\u043e", "\t", "ß", "ﬁ", "-\n", "’", " ", "a", "Z", "\n"]
    + ["ɥ", "ʇ", "*", "**", "\f", "\U000e0041", "\U0001f3f4", "\U000e007f", ".", "-"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TRICKS, min_size=1, max_size=40), st.data())
def test_any_span_of_the_folded_text_maps_to_a_span_that_folds_back_to_it(pieces, data):
    text = "".join(pieces)
    folded = fold(text)
    start = data.draw(st.integers(0, len(folded.text)))
    end = data.draw(st.integers(start, len(folded.text)))
    original_start, original_end = folded.span(start, end)
    assert 0 <= original_start <= original_end <= len(text)
    # The original span holds at least the folded span's letters (whole pieces, so perhaps more). Letters
    # only: a broken line is joined by what stands before it ("ß-\nZ"), which a span may leave outside.
    assert _letters(folded.text[start:end]) in _letters(fold(text[original_start:original_end]).text)


def _letters(text: str) -> str:
    return "".join(character for character in text if character.isalnum())


LOOK_ALIKE_HOLT = [
    "ʜᴏʟᴛ",  # small capitals, read from their Unicode names
    "🅗🅞🅛🅣",  # negative circled capitals
    "\u04bb\u043e\u04cft",  # Cyrillic shha, o, palochka (drawn as its capital, which UTS #39 reads as "l")
    "Ho\ufe0flt",  # a variation selector: default-ignorable
    "Ho\U000e0100lt",  # a supplementary variation selector
    "\u202etloH\u202c",  # a right-to-left override draws "Holt"
    "H\u2028olt",  # a line separator inside a word: a browser draws nothing
    "H·olt",  # a dot inside a word
]


def test_look_alike_styled_reversed_and_ignorable_letters_fold_to_the_plain_name():
    for written in LOOK_ALIKE_HOLT:
        folded = fold(f"They wrote {written} on it.")
        name = folded.text.casefold().index("holt")
        assert folded.text[name : name + 4].casefold() == "holt", (written, folded.text)
        assert folded.span(name, name + 4) == (11, 11 + len(written)), written
    assert fold("I am \u202etloH\nnow").text == "I am Holt\nnow"  # without a pop, to the end of the line
    assert fold("\ua7aclenda").text == "Glenda"  # Latin capital script G, by its name
    assert fold("\u0399an and \u03b9").text == "Ian and i"  # Greek iota: UTS #39's prototype, in the letter's case


def test_letters_spelled_out_with_one_separator_are_one_word_and_are_marked():
    for separator in ("-", "\u2013", "\u2012", "·", "_", "/", "~", "*", "+", "|", ":", " ", ". ", " - "):
        folded = fold(f"I am {separator.join('HOLT')} now")
        assert folded.text == "I am HOLT now", separator
        assert folded.spelled == ((5, 9),)
    assert fold("h.o.l.t").text == "holt"
    # Not spelled out: two letters, mixed separators, one letter repeated (a stammer, kisses), a word's own dot.
    for text in ("e.g. now", "H-O L.T", "I-I-I think", "x x x", "Col·lecció"):
        assert fold(text).spelled == (), text
    assert fold("Col·lecció").text == "Colleccio"


def test_a_line_separator_between_words_is_a_line_break():
    assert fold("end.\u2028Next").text == "end.\nNext"


def test_readable_shows_styled_and_reversed_letters_as_a_reader_sees_them():
    assert readable("ʜᴏʟᴛ") == "HOLT" and readable("🅜🅐🅡🅚") == "MARK" and readable("\u202enivlaC\u202c") == "Calvin"
    assert readable("Łódź") == "Łódź"  # a Latin letter with a stroke or an accent stays


# Issue 12, third attack: disguises the folding still let through.


def test_letters_spelled_out_with_mixed_marks_are_one_word_but_abbreviations_are_not():
    assert fold("I am H-O.L-T now").text == "I am HOLT now"
    assert fold("I am H-O.L-T now").spelled == ((5, 9),)
    assert fold("K-E.V-I-N came").text == "KEVIN came"
    assert fold("H. O, L. T").text == "HOLT"  # every gap holds a space
    for text in ("e.g. I went", "i.e. a list", "9 a.m./p.m. daily", "H-O L.T"):
        assert fold(text).spelled == () and fold(text).text == text, text


def test_upside_down_words_read_the_right_way_up():
    for written, read in (("ʇloɥ", "holt"), ("ʇǝɹɐƃɹɐɯ", "margaret"), ("uıʌǝʞ", "kevin"), ("ʇloH", "Holt")):
        folded = fold(f"I saw {written} today")
        assert folded.text == f"I saw {read} today", written
        assert folded.span(6, 6 + len(read)) == (6, 6 + len(written))
    assert fold("Yıldız came").text == "Yildiz came"  # Turkish dotless i: no turned letter, read as written
    assert readable("ʇloɥ") == "holt"


TAGS = "".join(chr(0xE0000 + ord(c)) for c in "Holt")
WALES = "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f"


def test_tag_characters_are_read_as_the_letters_they_encode_but_a_flag_stays_a_flag():
    folded = fold(f"My name is {TAGS}.")
    assert folded.text == "My name is Holt."
    assert folded.span(11, 15) == (11, 15)
    assert readable(TAGS) == "Holt"
    assert fold(f"Cymru {WALES} am byth").text == "Cymru \U0001f3f4 am byth"  # the flag's tags draw nothing
    not_a_nation = "\U0001f3f4" + "".join(chr(0xE0000 + ord(c)) for c in "holt") + "\U000e007f"
    assert fold(f"I am {not_a_nation}").text == "I am \U0001f3f4holt"  # a flag's shape, but no nation's flag


def test_emphasis_inside_a_word_is_read_as_the_plain_word():
    folded = fold("K**e**vin Pr**i**tchard and *Holt*")
    assert folded.text == "Kevin Pritchard and *Holt*"
    assert folded.span(0, 15) == (0, 23)
    assert fold("I am H*O*L*T and K**e**vin").spelled == ((5, 9),)  # spelled out first, emphasis after


def test_other_line_breaks_are_read_as_the_line_break_clean_stores():
    for char in ("\v", "\f", "\x85", "\u2029"):
        assert fold(f"end.{char}Next").text == "end.\nNext", repr(char)
    assert readable("Ho\nlt") == "Ho lt"  # a name is read on one line
