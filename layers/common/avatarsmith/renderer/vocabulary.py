"""The words the offline studio understands, as (pattern, canonical name) tables.

Patterns are matched against the lower-cased prompt (and hint text); the canonical names are the plain
words `provenance.scene` reports. Synonyms and plurals map to one name ("spectacles" -> glasses).
"""

from __future__ import annotations

from avatarsmith.renderer.palette import HAIR_COLOURS

Table = tuple[tuple[str, str], ...]

# --- who -------------------------------------------------------------------------------------------
FEMALE = (
    r"\b(woman|women|girl|girls|female|lady|ladies|she|her|mother|mom|mum|grandma|grandmother|queen|"
    r"princess|actress|businesswoman|daughter|sister|wife|bride|heroine|waitress|goddess|witch|"
    r"sorceress|empress|duchess|feminine|gal|noblewoman|girlfriend|granddaughter|aunt|niece|ballerina|"
    r"cowgirl|policewoman|chairwoman|lass|madam)\b"
)
MALE = (
    r"\b(man|men|boy|boys|male|guy|gentleman|he|his|him|father|dad|grandpa|grandfather|king|prince|"
    r"actor|businessman|son|brother|husband|groom|hero|waiter|god|wizard|sorcerer|emperor|duke|"
    r"masculine|dude|monk|sir|nobleman|lord|gentlemen|boyfriend|grandson|uncle|nephew|cowboy|policeman|"
    r"fireman|salesman|chairman|fisherman|sportsman|spaceman|bloke|lad)\b"
)
NUMERIC_AGE = r"\b(\d{1,3})[ -]?(?:years?|yrs?|yo)\b(?:[ -]old)?|\baged? (\d{1,3})\b|\b(\d)0s\b"
AGES: Table = (
    (
        r"\b(elderly|senior|seniors|grandma|grandpa|grandmother|grandfather|granny|retired|wrinkled|"
        r"old age|oap|in (?:his|her|their) (?:60s|70s|80s|90s|sixties|seventies|eighties))\b"
        r"|(?<!year-)(?<!years )(?<!year )\bold\b",
        "elderly",
    ),
    (r"\b(middle[ -]aged?|midlife|mature|in (?:his|her|their) (?:40s|50s|forties|fifties))\b", "middle-aged"),
    (
        r"\b(toddler|baby|infant|child|children|kid|kids|little (?:boy|girl)|preschooler)\b",
        "child",
    ),
    (
        r"\b(teen|teens|teenager|teenage|teenaged|adolescent|high[ -]schooler|schoolgirl|"
        r"schoolboy|boy|girl|youth)\b",
        "teen",
    ),
    (
        r"\b(young|youthful|twenty[ -]something|in (?:his|her|their) (?:20s|twenties)|college student|"
        r"student)\b",
        "young",
    ),
    (r"\b(adult|grown[ -]up|in (?:his|her|their) (?:30s|thirties))\b", "adult"),
)


def age_for_years(years: int) -> str:
    if years < 13:
        return "child"
    if years < 20:
        return "teen"
    if years < 35:
        return "young"
    if years < 45:
        return "adult"
    if years < 62:
        return "middle-aged"
    return "elderly"


BALD = r"\b(bald|baldheaded|shaved head|shaven head|no hair|hairless|clean[ -]shaven head)\b"

# --- hair ------------------------------------------------------------------------------------------
HAIR_NOUN = (
    r"(?:hair|haired|hairstyle|hairdo|locks|mane|curls|waves|tresses|pony ?tails?|"
    r"pigtails?|twin ?tails|braids?|plaits?|"
    r"buns?|afro|dreadlocks|dreads|bob|pixie cut|buzz ?cut|crew ?cut|mohawk|undercut)"
)
HAIR_LENGTH_WORDS: dict[str, str] = {
    "short": "short", "cropped": "short", "close-cropped": "short", "buzzed": "short", "pixie": "short",
    "trimmed": "short", "shaved": "short", "long": "long", "flowing": "long", "waist-length": "long",
    "very long": "long", "shoulder-length": "medium", "shoulder length": "medium", "medium-length": "medium",
    "medium length": "medium", "medium": "medium", "chin-length": "medium", "bob": "medium",
    "bobbed": "medium",
}  # fmt: skip
HAIR_TEXTURE_WORDS: dict[str, str] = {
    "curly": "curly", "curled": "curly", "ringlet": "curly", "ringlets": "curly", "coily": "afro",
    "kinky": "afro", "afro": "afro", "wavy": "wavy", "messy": "wavy", "tousled": "wavy", "windswept": "wavy",
    "straight": "straight", "sleek": "straight", "silky": "straight", "spiky": "straight",
    "slicked": "straight",
    "slicked-back": "straight", "braided": "straight",
}  # fmt: skip
HAIR_COLOUR_WORDS: dict[str, str] = {name: name for name in HAIR_COLOURS} | {
    "gray": "grey", "blond": "blonde", "dark": "dark brown", "fair": "blonde", "light": "light brown",
    "raven": "black", "jet-black": "jet black", "copper": "ginger", "strawberry blonde": "ginger",
    "honey": "golden", "sandy": "light brown", "chestnut": "brown", "platinum blonde": "platinum",
    "bleached": "platinum", "grey-haired": "grey", "greying": "salt and pepper", "graying": "salt and pepper",
    "chocolate": "dark brown", "redhead": "red", "violet": "purple", "lavender": "purple", "magenta": "pink",
    "cyan": "teal", "turquoise": "teal", "neon pink": "pink", "neon blue": "blue", "neon green": "green",
}  # fmt: skip
HAIR_NOUN_COLOURS: Table = (  # colour words that stand for the hair on their own: "a blonde woman"
    (r"\b(blonde?s?)\b(?! (?:wood|beer))", "blonde"),
    (r"\bbrunettes?\b", "brunette"),
    (r"\bredheads?\b", "red"),
    (r"\bgingers?\b(?! (?:cat|tea|beer))", "ginger"),
    (r"\bsilver[ -]haired\b|\bwhite[ -]haired\b", "silver"),
)
HAIR_STYLES: Table = (
    (r"\b(afro|afros)\b", "afro"),
    (r"\b(bun|buns|top ?knot|updo|chignon|hair bun)\b", "bun"),
    (r"\b(pony ?tails?|pigtails?|twin ?tails)\b", "ponytail"),
    (r"\b(braids?|braided|plaits?|cornrows|dreadlocks|dreads|locs)\b", "braids"),
    (r"\b(bangs|fringe)\b", "fringe"),
    (r"\b(buzz ?cut|crew ?cut|undercut|pixie cut|fade|mohawk|short[ -]cropped)\b", "short"),
)
EYES = r"\b(brown|dark|hazel|green|blue|gr[ae]y|amber)[- ]eyed?s?\b"

# --- accessories -----------------------------------------------------------------------------------
GLASSES = (
    r"\b((?:round|thick[ -]rimmed|horn[ -]rimmed|wire[ -]rimmed|rimless|reading|nerdy|"
    r"square|big|oval|cat[ -]eye)"
    r" )?(glasses|spectacles|eyeglasses|eyewear|sunglasses|shades|aviators|specs)\b"
)
SUNGLASSES = r"\b(sunglasses|shades|aviators|sun glasses)\b"
ACCESSORIES: Table = (
    (r"\b(headphones?|headset|earphones|earmuffs|gaming headset)\b", "headphones"),
    (r"\b((?:hoop |gold |silver |pearl |diamond )?earrings?|hoops|ear ?rings?|studs)\b", "earrings"),
    (r"\b(scarf|scarves|shawl|muffler|neckerchief)\b", "scarf"),
    (
        r"\b((?:pearl |gold |silver |diamond )?necklaces?|pendants?|chains?|chokers?|pearls|"
        r"amulet|locket|jewel(?:le)?ry)\b",
        "necklace",
    ),
    (r"\b(eye ?patch)\b", "eye patch"),
    (r"\b(masquerade mask|eye mask|domino mask)\b", "eye mask"),
    (
        r"\b(face ?masks?|surgical masks?|gas masks?|(?<!eye )(?<!masquerade )(?<!domino )masks?|masked|"
        r"respirator|balaclava)\b",
        "mask",
    ),
    (r"\b(monocle)\b", "monocle"),
    (r"\b(goggles)\b", "goggles"),
    (r"\b(visor|cyber ?visor|hud|head-up display)\b", "visor"),
    (r"\b(halo)\b", "halo"),
    (r"\b(horns?|horned)\b", "horns"),
    (r"\b(elf ears|elven ears|pointy ears|pointed ears)\b", "elf ears"),
    (r"\b(cat ears|fox ears|animal ears|kitty ears)\b", "cat ears"),
    (r"\b(flower crown|flowers? in (?:her|his|their) hair|hair flower)\b", "flower"),
    (r"\b(nose ring|piercings?|pierced)\b", "piercing"),
    (r"\b(headband|sweatband|hair band)\b", "headband"),
    (r"\b(hair ?bow|ribbon)\b", "hair bow"),
    (r"\b(freckles|freckled)\b", "freckles"),
    (r"\b(scars?|scarred)\b", "scar"),
    (r"\b(tattoos?|tattooed|tatted)\b", "tattoo"),
    (r"\b(cybernetic|cyborg|implants?|augmented|augmentations?|bionic|robotic (?:arm|eye))\b", "implants"),
    (r"\b(wings?|winged)\b", "wings"),
    (r"\b(backpack|rucksack|bag strap)\b", "backpack"),
    (r"\b(makeup|lipstick|eyeliner|eyeshadow)\b", "makeup"),
    (r"\b(face ?paint|war ?paint)\b", "face paint"),
)
HEADWEAR: Table = (
    (r"\b(hijabs?|head ?scarf|khimar|niqab)\b", "hijab"),
    (r"\b(turbans?)\b", "turban"),
    (r"\b(cowboy hats?|stetsons?|ten[ -]gallon hat)\b", "cowboy hat"),
    (r"\b(top hats?|tophat)\b", "top hat"),
    (r"\b((?:wizard'?s?|witch'?s?|pointy|pointed|sorcerer'?s?)(?: [a-z]+)? hats?)\b", "wizard hat"),
    (r"\b(chef'?s? hats?|toque blanche)\b", "chef hat"),
    (r"\b(graduation caps?|mortarboards?)\b", "graduation cap"),
    (r"\b(santa hats?|christmas hat)\b", "santa hat"),
    (r"\b(party hats?)\b", "party hat"),
    (r"\b(hard ?hats?|construction helmet|safety helmet)\b", "hard hat"),
    (r"\b(pirate hats?|tricorne? hats?|tricornes?)\b", "pirate hat"),
    (r"\b(bucket hats?)\b", "bucket hat"),
    (r"\b(straw hats?|sun ?hats?|sombreros?|panama hat)\b", "straw hat"),
    (r"\b(peaked caps?|military caps?|police caps?|officer'?s? cap|captain'?s? hat)\b", "peaked cap"),
    (r"\b(baseball caps?|caps?|snapbacks?|trucker hats?|ball caps?)\b", "cap"),
    (r"\b(beanies?|wool(?:len)? hats?|knit(?:ted)? hats?|toques?|winter hats?|bobble hats?)\b", "beanie"),
    (r"\b(fedoras?|trilby|trilbies|homburg)\b", "fedora"),
    (r"\b(berets?)\b", "beret"),
    (r"\b(?<!flower )(crowns?|crowned)\b", "crown"),
    (r"\b(tiaras?|diadems?)\b", "tiara"),
    (r"\b(helmets?|helm)\b", "helmet"),
    (r"\b(hoods?|hooded)\b(?! (?:sweatshirt|jacket|top))", "hood"),
    (r"\b(bandanas?|headwraps?|head wraps?|durag)\b", "bandana"),
    (r"\b(hats?)\b", "hat"),
)

# --- face ------------------------------------------------------------------------------------------
FACIAL_HAIR: Table = (
    (
        r"\b(long|big|bushy|wizard|flowing|huge|viking)(?:[ -][a-z]+)?[ -]beard\w*\b|\bbeard down\b",
        "long beard",
    ),
    (r"\bgoatees?\b|\bvan ?dyke\b", "goatee"),
    (r"\b(stubble|stubbly|five[ -]o'?clock shadow|unshaven|scruff|scruffy)\b", "stubble"),
    (r"\b(beard\w*|facial hair)\b", "beard"),
    (r"\b(moustaches?|mustaches?|mustachioed|handlebar)\b", "moustache"),
)
ANY_FACIAL_HAIR = r"\b(beard|stubble|moustache|mustache|facial hair)"
CLEAN_SHAVEN = r"\b(clean[ -]shaven|beardless|no beard)\b"
EXPRESSIONS: Table = (
    (r"\b(wink\w*)\b", "winking"),
    (r"\b(laugh\w*|grin\w*|big smile|beaming|giggl\w*|joyous)\b", "laughing"),
    (r"\b(surprised|shocked|astonished|amazed|startled|open[ -]mouthed|in awe|wide[ -]eyed)\b", "surprised"),
    (r"\b(angry|furious|mad|enraged|fierce|scowl\w*|frowning|grumpy|rage|intense|snarl\w*)\b", "angry"),
    (r"\b(sad|unhappy|melancholy|melancholic|crying|tearful|gloomy|sorrowful|depressed|upset)\b", "sad"),
    (r"\b(smirk\w*|sly|mischievous|playful|cocky|flirty)\b", "smirking"),
    (
        r"\b(smil\w*|happy|cheerful|joyful|friendly|warm expression|kind|welcoming|delighted|glad)\b",
        "smiling",
    ),
    (r"\b(confident|proud|self-assured|assured|charming)\b", "smirking"),
    (
        r"\b(serious|stern|stoic|unsmiling|no smile|determined|focused|solemn|grim|neutral expression|"
        r"straight face|expressionless|poker face)\b",
        "serious",
    ),
    (r"\b(calm|peaceful|relaxed|serene|tranquil|content)\b", "calm"),
    (r"\b(thoughtful|pensive|contemplative|curious|dreamy)\b", "thoughtful"),
)

# --- where, and in what light ----------------------------------------------------------------------
SETTINGS: Table = (
    (
        r"\b(neon[ -]?(?:lit )?(?:city|cities|streets?|alley|town)|cyberpunk (?:city|street|alley)|"
        r"futuristic (?:city|metropolis|cityscape|skyline|streets?)|sci-?fi city|night ?city|city at night|"
        r"neo[ -]tokyo)\b",
        "neon city",
    ),
    (
        r"\b(outer space|space station|spaceship|spacecraft|galaxy|galaxies|nebula|cosmos|cosmic|in space|"
        r"among the stars|planets?|orbit|starfield|space background|stars|starry sky)\b",
        "space",
    ),
    (r"\b(underwater|under ?water|under the sea|ocean floor|coral reef|reef)\b", "underwater"),
    (r"\b(enchanted forest|forest|forests|woods|woodland|jungle|rainforest|trees)\b", "forest"),
    (
        r"\b(beach|beaches|seaside|seashore|shore|coast|ocean|sea|tropical|island|surf|ship|"
        r"boat|sailing|deck|"
        r"harbou?r|pier|lake|lakeside|riverside)\b",
        "beach",
    ),
    (r"\b(mountains?|mountain top|alpine|alps|peaks|summit|hills|hiking|valley)\b", "mountains"),
    (r"\b(desert|dunes|sahara|sand dunes)\b", "desert"),
    (r"\b(snow|snowy|snowfall|winter landscape|arctic|tundra|glacier|frozen|blizzard)\b", "snow"),
    (
        r"\b(castle|castles|throne room|throne|palace|fortress|medieval hall|great hall|"
        r"citadel|kingdom|ballroom)\b",
        "castle",
    ),
    (r"\b(library|libraries|bookshel(?:f|ves)|bookcases?|books|reading room)\b", "library"),
    (r"\b(offices?|workplace|boardroom|cubicle|corporate office|conference room|workspace|desk)\b", "office"),
    (r"\b(cafe|café|coffee ?shop|coffeehouse|bistro|diner|bakery|restaurant|bar|pub)\b", "cafe"),
    (r"\b(laboratory|science lab|research lab|(?<!lab )lab)\b(?! ?coat)", "laboratory"),
    (r"\b(classroom|school(?! uniform)|lecture hall|university|campus)\b", "classroom"),
    (r"\b(hospital|clinic|ward|operating room|emergency room|doctor'?s office)\b", "hospital"),
    (
        r"\b(garden|gardens|park|meadow|field of flowers|flower field|countryside|farm|fields?|"
        r"spring|cherry blossoms?|sakura|blossoms?|flowers)\b",
        "garden",
    ),
    (r"\b(stage|concert|on stage|theatre|theater|arena)\b", "stage"),
    (r"\b(kitchen)\b", "kitchen"),
    (r"\b(living room|bedroom|home|cozy room|cosy room|house|apartment|fireplace)\b", "living room"),
    (r"\b(battlefield|battle|war ?zone|ruins|ruined city|wasteland|post[ -]apocalyptic)\b", "battlefield"),
    (r"\b(cave|caves|cavern|dungeon|crypt)\b", "cave"),
    (r"\b(sky|skies|clouds|cloudy|heaven|heavenly)\b", "sky"),
    (
        r"\b(city|cities|cityscape|urban|street|streets|downtown|skyline|rooftop|metropolis|new york|tokyo|"
        r"london|paris|alley)\b",
        "city",
    ),
    (
        r"\b(studio|plain background|backdrop|white background|grey background|gray background|solid "
        r"background|simple background|neutral background|seamless background|photo studio)\b",
        "studio",
    ),
)
LIGHTING: Table = (
    (
        r"\b(neon(?: lights?| lighting| glow| signs?)?|glowing signs|synthwave|rgb lighting|led lights)\b",
        "neon",
    ),
    (
        r"\b(golden hour|sunset|sunrise|dusk|dawn|warm (?:sun)?light|magic hour|evening sun|"
        r"late afternoon)\b",
        "golden hour",
    ),
    (
        r"\b(moonlight|moonlit|moon ?light|night|nighttime|at night|blue hour|starlight|starlit)\b",
        "moonlight",
    ),
    (
        r"\b(candle ?light|candlelit|candles?|fire ?light|firelit|torch ?light|torches|campfire|lantern)\b",
        "candlelight",
    ),
    (r"\b(backlit|back ?light(?:ing)?|rim ?light(?:ing)?|silhouetted?|halo light)\b", "backlit"),
    (
        r"\b(dramatic|chiaroscuro|moody|high[ -]contrast|rembrandt|harsh light|low[ -]key|volumetric|"
        r"god rays|"
        r"spotlight|cinematic lighting|dark and moody|shadows?|storm|stormy|thunder\w*)\b",
        "dramatic",
    ),
    (r"\b(studio light(?:ing)?|softbox|ring ?light|three[ -]point lighting|key light)\b", "studio"),
    (
        r"\b(soft(?: light| lighting| glow| focus)?|diffused?|gentle light|overcast|pastel light|"
        r"dreamy light|"
        r"natural light(?:ing)?|window light|glow(?:ing)?|ethereal)\b",
        "soft",
    ),
    (r"\b(daylight|sunlight|sunlit|sunny|bright|broad daylight|midday|noon|morning light)\b", "daylight"),
)
# A style the words imply when the request names none (first match wins).
IMPLIED_STYLES: Table = (
    (
        r"\b(cyberpunk|cyber|neon|futuristic|sci-?fi|synthwave|dystopian|blade runner|cyborg|android|"
        r"hacker|mecha|holograms?|high[ -]tech)\b",
        "cyberpunk",
    ),
    (r"\b(anime|manga|chibi|kawaii|cel[ -]shaded|shonen|shojo|ghibli|waifu)\b", "anime"),
    (
        r"\b(pixar|disney|dreamworks|3d (?:cartoon|animated|animation|render|character)|cartoon|animated|"
        r"toon)\b",
        "pixar",
    ),
    (
        r"\b(noir|film noir|black and white|black & white|b&w|monochrome|greyscale|grayscale|detective)\b",
        "noir",
    ),
    (
        r"\b(vintage|retro|sepia|old photo(?:graph)?|polaroid|victorian|edwardian|1920s|1930s|1940s|1950s|"
        r"1960s|1970s|antique|daguerreotype|tintype)\b",
        "vintage",
    ),
    (
        r"\b(renaissance|oil painting|baroque|classical painting|old masters?|painted portrait|portrait "
        r"painting|rembrandt|da vinci|museum portrait|fine art painting)\b",
        "renaissance",
    ),
    (
        r"\b(fantasy|wizard|witch|sorcer\w*|elf|elves|elven|dragons?|magic|magical|mage|enchanted|fairy|"
        r"fairies|mythical|medieval|knight|paladin|dwarf|orc|castle|quest|spell|runes?|druid)\b",
        "fantasy",
    ),
    (
        r"\b(cinematic|film still|movie still|movie scene|widescreen|anamorphic|blockbuster|hollywood)\b",
        "cinematic",
    ),
    (
        r"\b(professional|headshot|linkedin|corporate|business portrait|resume|cv photo|executive portrait|"
        r"company photo|team photo|office portrait)\b",
        "professional",
    ),
    (
        r"\b(realistic|photorealistic|photo[ -]realistic|hyper[ -]?realistic|ultra[ -]?realistic|lifelike|"
        r"life-like|photograph|real photo|dslr|raw photo|true to life)\b",
        "realistic",
    ),
)
# Words that promise what the offline renderer cannot deliver.
PHOTOREAL_PROMISE = (
    r"\b(realistic|photorealistic|photo[ -]realistic|hyper[ -]?realistic|ultra[ -]?realistic|lifelike|"
    r"photograph|dslr|raw photo|8k|4k|uhd|hdr|octane render|unreal engine|ray tracing|masterpiece|"
    r"ultra[ -]detailed|highly detailed|hyper[ -]?detailed|sharp focus|bokeh|depth of field|35mm|85mm)\b"
)
POSES: Table = (
    (r"\b(full[ -]?(?:body|length)|standing|head to toe|whole body)\b", "full_body"),
    (r"\b((?:half|upper)[ -]?body|waist[ -]up|bust|torso|medium shot)\b", "half_body"),
    (r"\b(close[ -]?up|headshot|face shot|portrait)\b", "close_up"),
)
# Words that carry no drawable content of their own (never reported as "could not draw").
FILLER = frozenset(
    """a an the of with and or in on at to for from by as is are be it its this that these those into
    onto over under near inside outside behind front wearing wears wear worn dressed having has have
    holding holds hold who which while very really quite slightly some any one two three his her
    their him them she he they i my your our person people someone somebody character avatar
    portrait picture image photo pic headshot profile style styled looking look looks face faces
    shot view angle camera viewer background setting scene lit light lights lighting detailed detail
    details quality high best good nice beautiful handsome pretty cute elegant gorgeous attractive lovely
    stunning amazing awesome cool epic art artwork drawing illustration render rendered digital made
    make create generate showing shows show features featuring plus also like just up down out
    wearing hair eyes eye skin color colour colored coloured tone toned pose posing posed standing
    sitting centered centred center centre left right side both same background bg upper lower body
    head half full close closeup medium wide frame framed framing square vertical horizontal against
    set under above below around about but not no without other another more most""".split()  # noqa: SIM905
)
