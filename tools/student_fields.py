"""The student's fields (name and student ID, the partner's too for the pair hand-in): checked where they enter,
kept in student.toml, and turned into the title pages' names and the a3 hand-in's file names (used by
tools/build_reports.py and tools/a3_notebook.py).

A name is "First Last" (the last word is the last name) or "Last, First" ("van der Berg, Anna"): a name of three or
more words needs the comma, which says where the last name ends. What a field may hold is in `problem` below.
"""
import re
import tomllib
import unicodedata

FIELDS = {"name": "NAME", "id": "ID", "partner": "PARTNER", "partner_id": "PARTNER_ID"}  # key: its make variable
MAX_NAME, MAX_ID = 60, 20  # characters
MAX_FILE_NAME = 255  # bytes, the file systems' limit on one file name
A3_SUFFIX = "_Programming_Q1.pdf"  # the longest part the a3 hand-in adds to Lastname_Firstname_Assgn3
NAME_MARKS = " -'’.,"  # what a name may hold besides letters
ID_MARKS = "-"  # what a student ID may hold besides letters and digits
TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


# ------------------------------------------------------------------------------------------------ names
def name_parts(name):
    """(Lastname, Firstname) of a name: "Lovelace, Ada" or "Ada Lovelace" (the last word is the last name), as they
    go into file names (letters, digits and "-")."""
    name = " ".join(name.split())
    if not name:
        return "Lastname", "Firstname"
    if "," in name:
        last, first = (s.strip() for s in name.split(",", 1))
    else:
        *first, last = name.split(" ")
        first = " ".join(first)
    clean = lambda s: re.sub(r"[^\w-]+", "-", s, flags=re.UNICODE).strip("-")  # noqa: E731
    return clean(last) or "Lastname", clean(first) or "Firstname"


def display_name(name):
    """The name as written on a title page ("Lovelace, Ada" becomes "Ada Lovelace")."""
    if "," in name:
        last, first = (s.strip() for s in name.split(",", 1))
        return f"{first} {last}".strip()
    return " ".join(name.split())


def a3_prefix(student):
    """The a3 hand-in's file name prefix, Lastname_Firstname_Assgn3."""
    last, first = name_parts(student["name"])
    return f"{last}_{first}_Assgn3"


# ------------------------------------------------------------------------------------------------ checks
def normalized(value):
    """A field as it is kept: Unicode NFC, spaces at the ends dropped and runs of white space made one space."""
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


def is_letter(char):
    """Whether a character is a letter of any alphabet, or an accent combined with one."""
    return unicodedata.category(char)[0] in "LM"


def odd_characters(value, marks, digits=False):
    """The characters of `value` that are not letters, not in `marks` and (unless `digits`) not digits, quoted."""
    odd = sorted({c for c in value if not (is_letter(c) or c in marks or (digits and c.isdigit()))})
    return " ".join(repr(c) for c in odd)


def name_problem(value, var):
    """(What is wrong with a name given as `var`, NAME or PARTNER; the fix), or None where nothing is."""
    words, odd = value.split(), odd_characters(value, NAME_MARKS)
    last_first = (f'write it as "Last, First": {var}="van der Berg, Anna" for a last name of several words, '
                  f'{var}="Lovelace, Ada King" for a middle name')
    if len(value) > MAX_NAME:
        return (f"it is {len(value)} characters long; at most {MAX_NAME} fit on the title pages and in file names",
                "shorten it, e.g. leave out middle names")
    if odd:
        return (f"it holds {odd}; a name may hold letters (any alphabet), spaces, hyphens, apostrophes, full stops "
                "and one comma, since the a3 hand-in puts it in file names", "leave those characters out")
    if value.count(",") > 1:
        return "it holds more than one comma", last_first
    parts = [part.strip() for part in value.split(",")] if "," in value else words
    if not all(any(map(is_letter, part)) for part in parts):
        return "a part of it holds no letter (a last and a first name are needed)", last_first
    if len(parts) == 1:
        return ("it is one word; the title pages and the a3 file names (Lastname_Firstname_Assgn3) need a first and "
                "a last name", f'give both: {var}="Ada Lovelace" or {var}="Lovelace, Ada"')
    if len(parts) > 2:
        return (f"it has {len(parts)} words and no comma, so which of them are the last name is not clear (the a3 "
                "files are named Lastname_Firstname_Assgn3...)", last_first)
    length = len(f"{a3_prefix(dict(name=value))}{A3_SUFFIX}".encode())
    if length > MAX_FILE_NAME:
        return (f"the a3 file names made from it would be {length} bytes long, more than the {MAX_FILE_NAME} a file "
                "name may have", "shorten it, e.g. leave out middle names")
    return None


def id_problem(value, var):
    """(What is wrong with a student ID given as `var`, ID or PARTNER_ID; the fix), or None where nothing is."""
    odd = odd_characters(value, ID_MARKS, digits=True)
    if len(value) > MAX_ID:
        return (f"it is {len(value)} characters long; a student ID has at most {MAX_ID} here",
                f'give the ID alone, e.g. {var}="123456"')
    if odd:
        return f"it holds {odd}; a student ID may hold letters, digits and hyphens only", f'e.g. {var}="123456"'
    return None


def shown(value):
    """A value as a message quotes it (a long one cut)."""
    return repr(value if len(value) <= 50 else value[:40] + "...")


def problems(values, given=()):
    """One message per refused field, each naming the field, where it came from (the command line for the keys in
    `given`, else student.toml), the value's problem and the fix; [] when every field is fine ("" is: the title
    pages then show a placeholder)."""
    found = []
    for key, var in FIELDS.items():
        value = values.get(key, "")
        check = name_problem if key in ("name", "partner") else id_problem
        refused = check(value, var) if value else None
        if refused:
            where = var if key in given else f"{key} in student.toml"
            saved = "" if key in given else f" (make reports {var}=... replaces the saved one)"
            found.append(f"{where} {shown(value)} is refused: {refused[0]}. Fix: {refused[1]}{saved}.")
    return found


# ------------------------------------------------------------------------------------------------ student.toml
def read(path):
    """The student's fields from student.toml at `path`: name, id, partner, partner_id (missing ones are "")."""
    values = dict.fromkeys(FIELDS, "")
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise SystemExit(f"{path}: {e}. Write it as lines like  name = \"Ada Lovelace\"  and  id = \"123456\", "
                             "or delete it and give NAME and ID again.")
        values.update({k: normalized(v) for k, v in data.items() if k in values})
    return values


def toml_string(value):
    """`value` as a TOML basic string: quotes, backslashes and control characters escaped."""
    return '"' + "".join(TOML_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
                         for c in value) + '"'


def save(path, values):
    """Write student.toml at `path` with the given fields (empty ones left out)."""
    lines = ["# Your name and student ID for the title pages of the reports (tools/build_reports.py reads this;",
             "# `make reports NAME=\"...\" ID=\"...\"` writes it). a3_feedforward is handed in by a pair: partner, "
             "partner_id."]
    lines += [f"{k} = {toml_string(values[k])}" for k in FIELDS if values.get(k)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
