"""Synthetic spoken stories (espeak-ng + ffmpeg) and word error rate, for tests and the benchmark."""

from __future__ import annotations

import io
import math
import re
import shutil
import struct
import subprocess
import wave
from pathlib import Path

# Two voices so results do not depend on one accent. espeak-ng's rate 160 (its default is 175)
# comes out at 190-210 words of script a minute: brisk but clear, a little faster than most
# people tell a story, so the benchmark errs on the hard side.
VOICES = ("en-gb", "en-us+f3")
WORDS_PER_MINUTE = 160

# ffmpeg arguments per target: the codecs phones and browsers actually produce.
# "webm" is written to a pipe, as MediaRecorder streams it, so it carries no
# duration header; "ogg" is Vorbis, "opus" is Firefox's Ogg Opus.
FORMATS: dict[str, tuple[str, list[str]]] = {
    "wav": ("wav", []),
    "mp3": ("mp3", ["-c:a", "libmp3lame", "-q:a", "4"]),
    "ogg": ("ogg", ["-c:a", "libvorbis", "-q:a", "4"]),
    "opus": ("opus", ["-c:a", "libopus", "-b:a", "32k", "-f", "ogg"]),
    "webm": ("webm", ["-c:a", "libopus", "-b:a", "32k", "-f", "webm"]),
    "m4a": ("m4a", ["-c:a", "aac", "-b:a", "64k"]),
    "flac": ("flac", ["-c:a", "flac"]),
}

# Fictional stories of the kind Storybank holds. Numbers are written as words,
# the way a storyteller says them; the WER normaliser turns digits into words.
STORIES: dict[str, str] = {
    "befriending": (
        "My husband died two years ago and after that I hardly left the house. "
        "The befriending service matched me with a volunteer called Sam, who visits every Tuesday. "
        "We have tea, we talk about the garden, and sometimes we walk to the library together. "
        "Last month I went to the lunch club at the church hall on my own for the first time. "
        "I would not have done that before. I feel like I have a reason to get dressed in the morning again. "
        "Sam says I should join the reading group too, so I have put my name down for the next one. "
        "My son noticed the difference when he phoned on Sunday. He said I sounded like myself again."
    ),
    "debt_advice": (
        "When the letters started coming I put them in a drawer and stopped opening them. "
        "I owed money on three credit cards and I was behind with the rent. "
        "My support worker from the housing team rang the advice centre and a debt adviser came to my flat. "
        "She sat at the kitchen table with me and went through every letter, one by one. "
        "We made a budget together and she found that I could claim a council tax reduction. "
        "She wrote to the people I owed money to and asked them to freeze the interest. "
        "Now I pay a small amount each month that I can actually afford. "
        "The phone does not frighten me any more. I sleep through the night, "
        "and I have started helping my neighbour fill in her forms as well."
    ),
    "mens_shed": (
        "I worked as a joiner for forty years and when I retired I did not know what to do with myself. "
        "My daughter saw a poster for the men's shed in the community centre and she drove me there the first time. "
        "There were about twelve of us, mostly retired, some younger lads who were out of work. "
        "At first I just made the tea and watched. Then somebody asked me how to fix a wobbly chair, "
        "and before long I was showing people how to cut a proper joint. "
        "We built benches for the primary school and planters for the high street. "
        "The head teacher wrote us a letter to say thank you, and the children painted the benches in bright colours. "
        "My doctor told me my blood pressure has come down, and I think that is because I am walking there and back every day. "
        "More than that, I have got friends again. On a Thursday we go for a pint after we lock up. "
        "When my wife was ill last winter, two of the lads came round and cleared the snow from my path without being asked. "
        "That is what the shed is really about. It is not the wood, it is the people."
    ),
    "young_carer": (
        "I look after my mum because she has a long term illness and my dad works away. "
        "Before I joined the young carers group I was always tired and I was late for school most days. "
        "My teachers thought I was just lazy, and I did not want to tell anyone what was happening at home. "
        "The youth worker came to school and talked to our class about young carers, "
        "and afterwards I asked her if I could talk to her on my own. "
        "She helped me tell my head of year, and now the school knows why I sometimes need to leave early. "
        "Every other Saturday the group goes on a trip. We have been bowling, climbing and to the seaside. "
        "It is the only time I do not have to think about medicine or shopping or cooking tea. "
        "The other young carers understand without me having to explain anything. "
        "The youth worker also helped my mum get a care assessment from the council, "
        "so now a carer comes in the mornings to help her get up and washed. "
        "That means I can get to school on time. My attendance has gone up and I passed my maths exam in the summer. "
        "Next year I want to go to college to study sport. "
        "A year ago I would never have said that out loud, because I did not think I would be able to leave my mum. "
        "Now I know there is help, and I know I am allowed to have a life of my own as well."
    ),
    "walking_group": (
        "After my heart operation I was frightened to do anything. I sat in my chair all day "
        "and watched television, and I put on a lot of weight. "
        "My doctor referred me to a link worker at the surgery. She did not just hand me a leaflet. "
        "She asked me what I used to enjoy, and I told her that I used to walk the dog along the river "
        "before the dog died. She found a walking group that meets at the park gates on a Wednesday morning. "
        "The first week I only managed to walk to the bridge and back, and I had to sit down on a bench. "
        "The walk leader stayed with me and we talked about our grandchildren. "
        "Nobody made me feel slow. Every week I went a little further, and by the summer "
        "I was doing the whole five mile loop with everyone else. "
        "We stop at the cafe at the end, and that half hour is the best part of my week. "
        "I have lost nearly two stone and my breathing is much better on the stairs. "
        "My wife says I am less grumpy, which I take as a compliment. "
        "In the autumn the walk leader asked if I would train to lead walks myself, "
        "and now I take the slower group on a Friday. "
        "Some of them are just like I was, nervous and out of breath and not sure they belong there. "
        "I tell them to go at their own pace and that the bench by the bridge is always there. "
        "Last week a woman who had not spoken to anyone for months told me that the walk was the only time "
        "she left her flat. She has asked if she can bring her sister next time. "
        "I never thought I would be the one helping other people. "
        "The link worker rang me in the spring to see how I was getting on, and I told her I did not need her any more, "
        "but that I was very glad she had taken the time to ask what I liked doing. "
        "That question changed my life more than any tablet has."
    ),
}


class SpeechToolMissing(RuntimeError):
    """espeak-ng or ffmpeg is not installed."""


def _run(args: list[str]) -> None:
    if shutil.which(args[0]) is None:
        raise SpeechToolMissing(f"{args[0]} is not installed")
    subprocess.run(args, check=True, capture_output=True)


def speak(text: str, folder: Path, name: str, *, voice: str = VOICES[0], fmt: str = "wav") -> Path:
    """Say `text` in `voice` and save it as `folder/name.<ext>` in format `fmt`."""
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / f"{name}.espeak.wav"
    _run(["espeak-ng", "-v", voice, "-s", str(WORDS_PER_MINUTE), "-w", str(wav), text])
    return convert(wav, fmt, folder / name)


def convert(wav: Path, fmt: str, stem: Path) -> Path:
    """Convert a wav file to one of FORMATS, written beside `stem`."""
    ext, codec_args = FORMATS[fmt]
    out = stem.parent / f"{stem.name}.{ext}"
    if fmt == "webm":
        # Written to a pipe so, like a browser recording, it has no duration or cues.
        if shutil.which("ffmpeg") is None:
            raise SpeechToolMissing("ffmpeg is not installed")
        with out.open("wb") as sink:
            subprocess.run(
                ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), *codec_args, "pipe:1"],
                check=True,
                stdout=sink,
            )
    else:
        _run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-i", str(wav), *codec_args, str(out)])
    return out


# --- word error rate --------------------------------------------------------

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """British English words for a whole number below a billion: 240 -> 'two hundred and forty'."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    for size, name in ((1_000_000, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            joiner = " and " if 0 < rest < 100 else " "
            return number_words(n // size) + " " + name + ("" if rest == 0 else joiner + number_words(rest))
    raise ValueError(n)


# Differences a reader would not call mistakes: Whisper writes American spellings
# and contractions where the script has British spellings and full forms.
_EQUIVALENTS = {
    "center": "centre",
    "color": "colour",
    "colors": "colours",
    "neighbor": "neighbour",
    "neighbors": "neighbours",
    "organized": "organised",
    "realized": "realised",
    "anymore": "any more",
    "i'm": "i am",
    "it's": "it is",
    "that's": "that is",
    "don't": "do not",
    "didn't": "did not",
    "i've": "i have",
    "café": "cafe",
}


def normalise_words(text: str) -> list[str]:
    """Lower-case words with punctuation dropped, digits spelled out and spellings unified."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[\w']+", lambda m: _EQUIVALENTS.get(m.group(), m.group()), text)
    text = re.sub(r"£(\d[\d,]*)", r"\1 pounds", text)
    text = re.sub(r"(\d)%", r"\1 percent", text)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"\d+", lambda m: number_words(int(m.group())) if len(m.group()) < 10 else m.group(), text)
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level Levenshtein distance."""
    ref, hyp = normalise_words(reference), normalise_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / len(ref)


def tone(seconds: float = 3.0, rate: int = 8000) -> bytes:
    """A quiet tone as a WAV file: audio the upload check accepts (silence it would refuse)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        samples = (int(3000 * math.sin(2 * math.pi * 220 * n / rate)) for n in range(int(seconds * rate)))
        wav.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return out.getvalue()
