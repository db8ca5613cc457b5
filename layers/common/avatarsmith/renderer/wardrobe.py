"""Clothes the offline studio understands: garments, the outfits roles imply, extras, garment colours.

(pattern, canonical name) rows, matched against the lower-cased prompt; see vocabulary.py.
"""

from __future__ import annotations

from avatarsmith.renderer.palette import NAMED_COLOURS, RGB

Table = tuple[tuple[str, str], ...]

# --- outfit ----------------------------------------------------------------------------------------
# (pattern, kind): the kind decides the drawing (see draw_outfit.FAMILIES).
OUTFITS: Table = (
    (r"\b(tuxedos?|tux|dinner jacket)\b", "tuxedo"),
    (r"\b(lab ?coats?|doctor'?s coat|white coat)\b", "lab coat"),
    (r"\b(space ?suits?|astronaut suit)\b", "spacesuit"),
    (r"\b(business suit|three[ -]piece suit|pinstripe suit|suits?|suited)\b", "suit"),
    (r"\b(blazers?|sport ?coat|suit jacket)\b", "blazer"),
    (r"\b(hoodies?|hoody|hooded (?:sweatshirt|jacket|top)|sweatshirt)\b", "hoodie"),
    (
        r"\b(armou?r|armou?red|plate mail|chain ?mail|breastplate|power armou?r|exosuit|mecha suit)\b",
        "armour",
    ),
    (r"\b(scrubs)\b", "scrubs"),
    (r"\b(uniforms?|military dress|fatigues)\b", "uniform"),
    (r"\b(kimonos?|yukata|hanbok|haori)\b", "kimono"),
    (r"\b(robes?|robed|cloak|cloaked|mantle|cassock|tunic|toga)\b", "robe"),
    (r"\b(ball ?gown|evening gown|gowns?|wedding dress)\b", "gown"),
    (r"\b(dress|dresses|sundress|sari|saree|frock)\b", "dress"),
    (r"\b(trench ?coat|overcoat|long coat|peacoat|greatcoat|duster)\b", "coat"),
    (
        r"\b((?:leather|denim|bomber|biker|puffer|varsity|jean|rain) jacket|jackets?|parka|windbreaker|"
        r"rain ?coats?|anorak|coats?)\b",
        "jacket",
    ),
    (r"\b(sweaters?|jumpers?|pullover|turtleneck|cardigan|knitwear)\b", "sweater"),
    (r"\b(tank ?top|singlet|vest top|sleeveless top)\b", "tank top"),
    (r"\b(t-?shirts?|tee ?shirts?|tees?|t shirts?|tshirts?|jersey)\b", "t-shirt"),
    (r"\b(shirts?|button[ -](?:up|down)|blouse|polo|flannel)\b", "shirt"),
    (r"\b(overalls|dungarees|apron|waistcoat|(?:hi[ -]vis|safety) vest)\b", "vest"),
)
# Who someone is implies what they wear, when the prompt names no garment.
ROLES: tuple[tuple[str, str, tuple[str, ...], str | None], ...] = (
    # pattern, outfit, extras, headwear
    (r"\b(doctor|physician|surgeon)s?\b", "lab coat", ("stethoscope",), None),
    (r"\b(scientists?|chemists?|researchers?|biologists?|physicists?)\b", "lab coat", (), None),
    (r"\b(nurses?|paramedic)\b", "scrubs", (), None),
    (r"\b(chefs?|cooks?)\b", "uniform", (), "chef hat"),
    (
        r"\b(knights?|warriors?|paladins?|gladiators?|spartans?|crusaders?|vikings?|barbarians?|templars?)\b",
        "armour",
        (),
        None,
    ),
    (r"\b(samurai)\b", "armour", (), None),
    (r"\b(astronauts?|cosmonauts?)\b", "spacesuit", (), None),
    (r"\b(pirates?|buccaneers?)\b", "coat", (), "bandana"),
    (
        r"\b(soldiers?|military|army|marine|officer|general|captain|pilot|police(?:man|woman)?|cop|sheriff|"
        r"firefighter|fireman|guard|security guard|sailor|admiral)\b",
        "uniform",
        ("badge",),
        None,
    ),
    (
        r"\b(wizards?|mages?|sorcer(?:er|ess)|warlocks?|witch|witches|druid|necromancer)\b",
        "robe",
        (),
        "wizard hat",
    ),
    (r"\b(monks?|priests?|priestess|nun|cleric|jedi)\b", "robe", (), None),
    (r"\b(kings?|emperor)\b", "robe", ("cape",), "crown"),
    (r"\b(queens?|empress)\b", "gown", (), "crown"),
    (r"\b(princess)\b", "gown", (), "tiara"),
    (r"\b(prince)\b", "uniform", ("cape",), None),
    (
        r"\b(ceo|executive|businessman|businesswoman|business (?:man|woman|person)|lawyer|banker|"
        r"entrepreneur|politician|diplomat|manager|consultant|accountant|agent)s?\b",
        "suit",
        (),
        None,
    ),
    (
        r"\b(hackers?|gamers?|programmers?|developers?|coders?|streamers?|skaters?|rappers?)\b",
        "hoodie",
        (),
        None,
    ),
    (r"\b(detectives?|spy|spies|private eye|investigator)\b", "coat", (), "fedora"),
    (r"\b(cowboys?|cowgirls?|rancher|sheriff)\b", "shirt", (), "cowboy hat"),
    (r"\b(geisha)\b", "kimono", (), None),
    (r"\b(ninjas?)\b", "robe", (), "mask"),
    (r"\b(superhero(?:es)?|superheroine)\b", "uniform", ("cape",), None),
    (r"\b(vampires?|dracula|count)\b", "suit", ("cape",), None),
    (r"\b(construction worker|builder|engineer)s?\b", "vest", (), "hard hat"),
    (r"\b(graduates?|graduation)\b", "robe", (), "graduation cap"),
    (r"\b(santa(?: claus)?)\b", "jacket", (), "santa hat"),
    (r"\b(athletes?|footballer|basketball player|soccer player|runner)s?\b", "t-shirt", (), None),
    (r"\b(teacher|professor|librarian|writer|author)s?\b", "sweater", (), None),
    (r"\b(elf|elves|elven)\b", "robe", (), None),
    (r"\b(bikers?|rockers?|punks?|rock star)\b", "jacket", (), None),
    (r"\b(hipsters?|lumberjacks?|farmers?)\b", "shirt", (), None),
)
OUTFIT_ADJECTIVES = (
    r"leather|denim|silk|silky|satin|wool|woolen|woollen|knitted|knit|oversized|long|fitted|tailored|formal|"
    r"casual|military|medieval|flowing|hooded|striped|plaid|velvet|cotton|plain|pinstripe|sleeveless|puffy|"
    r"winter|elegant|fancy|simple|smart|sharp|classic|modern|futuristic|shiny|metallic|glowing|neon|dark|"
    r"light|bright|pale|deep|navy|royal|ornate|golden|heavy|light-weight|baggy|cozy|cosy|warm|button-up|"
    r"evening|business|cyber|cyberpunk|tech|tactical|fantasy|wizard|battle|plate|police|army|school|nurse|"
    r"doctor's|chef's|tight|loose|crisp|white-collar|vintage|retro|three-piece|two-piece|light-blue|dark-blue"
)
COLOUR_ALIASES: dict[str, str] = {
    "light blue": "blue", "sky blue": "blue", "royal blue": "blue", "dark blue": "navy", "navy blue": "navy",
    "baby blue": "blue", "electric blue": "blue", "dark green": "green", "forest green": "green",
    "olive green": "olive", "lime": "green", "lime green": "green", "mint": "teal", "mint green": "teal",
    "scarlet": "red", "dark red": "burgundy", "wine red": "burgundy", "wine": "burgundy",
    "blood red": "crimson",
    "hot pink": "pink", "pastel pink": "pink", "light pink": "pink", "gray": "grey", "light grey": "grey",
    "light gray": "grey", "dark grey": "charcoal", "dark gray": "charcoal", "off-white": "cream",
    "ivory": "cream", "pastel": "lavender", "neon green": "green", "neon pink": "magenta",
    "neon blue": "cyan",
    "sand": "beige", "rust": "orange", "mustard": "yellow", "indigo": "navy", "aqua": "cyan",
}  # fmt: skip
COLOUR_WORDS = sorted(set(NAMED_COLOURS) | set(COLOUR_ALIASES), key=len, reverse=True)


def colour_rgb(name: str, default: RGB | None = None) -> RGB | None:
    """The RGB of a colour word as written ("navy blue", "dark gray", "red"), or `default`."""
    return NAMED_COLOURS.get(COLOUR_ALIASES.get(name, name), default)


EXTRAS: Table = (
    (r"\b(bow[ -]?ties?)\b", "bow tie"),
    (r"\b(ties?|neckties?|cravat)\b", "tie"),
    (r"\b(badges?|name ?tags?)\b", "badge"),
    (r"\b(capes?)\b", "cape"),
    (r"\b(stethoscope)\b", "stethoscope"),
    (r"\b(medals?)\b", "medals"),
)
