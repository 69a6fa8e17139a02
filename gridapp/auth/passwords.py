"""The password rule: whether a new password may be set, and if not, why (one place for every form).

Refused, each with its own message: passwords shorter than PASSWORD_MIN_LENGTH; the published demo
password; one containing the account's username, name (or its pinyin) or phone number; one
containing the town's name (or its pinyin); the most common passwords (zxcvbn's list and common
Chinese ones); and passwords made of a few easy pieces — repeated characters, sequences
(abcdefgh, 12345678), keyboard walks (qwertyui, 1qaz2wsx), dates (19900101), names and phrases in
pinyin (zhangwei, woaini) and short numbers (1314, 520) — such as zhangwei123 or woaini1314.
"""
import re
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _

from gridapp.extensions import db
from gridapp.grid.models import Town

# The demo town's published password (gridapp.demo gives it to every demo account): never a real one.
DEMO_PASSWORD = "demo-pass-2020"


class PasswordRejected(ValueError):
    def __init__(self, message: str, field: str = "new_password", reason: str = ""):
        super().__init__(message)
        self.field = field  # the form field the message belongs to
        self.reason = reason  # which rule refused it: "too_short", "demo", "own_details", "town", "common", …


# --- the pieces a guesser tries first ---------------------------------------------------------

_SYLLABLES = frozenset("""
a o e ai ei ao ou an en ang eng er
ba bo bai bei bao ban ben bang beng bi bie biao bian bin bing bu
pa po pai pei pao pou pan pen pang peng pi pie piao pian pin ping pu
ma mo me mai mei mao mou man men mang meng mi mie miao miu mian min ming mu
fa fo fei fou fan fen fang feng fu
da de dai dei dao dou dan den dang deng dong di die diao diu dian ding du duo dui duan dun
ta te tai tao tou tan tang teng tong ti tie tiao tian ting tu tuo tui tuan tun
na ne nai nei nao nou nan nen nang neng nong ni nie niao niu nian nin niang ning nu nuo nuan nv nve
la le lai lei lao lou lan lang leng long li lia lie liao liu lian lin liang ling lu luo luan lun lv lve
ga ge gai gei gao gou gan gen gang geng gong gu gua guo guai gui guan gun guang
ka ke kai kei kao kou kan ken kang keng kong ku kua kuo kuai kui kuan kun kuang
ha he hai hei hao hou han hen hang heng hong hu hua huo huai hui huan hun huang
ji jia jie jiao jiu jian jin jiang jing jiong ju jue juan jun
qi qia qie qiao qiu qian qin qiang qing qiong qu que quan qun
xi xia xie xiao xiu xian xin xiang xing xiong xu xue xuan xun
zha zhe zhi zhai zhei zhao zhou zhan zhen zhang zheng zhong zhu zhua zhuo zhuai zhui zhuan zhun zhuang
cha che chi chai chao chou chan chen chang cheng chong chu chua chuo chuai chui chuan chun chuang
sha she shi shai shei shao shou shan shen shang sheng shu shua shuo shuai shui shuan shun shuang
re ri rao rou ran ren rang reng rong ru ruo rui ruan run
za ze zi zai zei zao zou zan zen zang zeng zong zu zuo zui zuan zun
ca ce ci cai cao cou can cen cang ceng cong cu cuo cui cuan cun
sa se si sai sao sou san sen sang seng song su suo sui suan sun
ya yo ye yao you yan yin yang ying yong yi yu yue yuan yun
wa wo wai wei wan wen wang weng wu
""".split())

# Rows, columns and the usual zigzags of a keyboard; a walk is a stretch of one, either way.
_KEYBOARD = ("1234567890-=", "qwertyuiop[]", "asdfghjkl;'", "zxcvbnm,./", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/",
             "qazwsxedcrfvtgbyhnujmikolp", "zaq1xsw2cde3vfr4bgt5nhy6mju7", "1q2w3e4r5t6y7u8i9o0p",
             "q1w2e3r4t5y6u7i8o9p0", "qweasdzxc", "qweasd", "asdzxc")

# Common Chinese passwords the checks below do not already explain.
_COMMON_CHINESE = frozenset("""
woaini1314 woaini520 5201314 1314520 520520 aini1314 woainima wodemima mima123 qq123456 a123456 a123456789
aa123456 abc123456 123456abc zxc123456 qwe123456 asd123456 1qaz2wsx 1q2w3e4r admin123 admin888 nihao123
147258369 741852963 159357 110110 123456qq 5211314 1314521
""".split())

_SEPARATORS = re.compile(r"[\s._\-@!#$%^&*+=~,;:/\\|?'\"()\[\]{}<>`]+")

# Above this length (without separators) a password is not taken apart into pieces.
_MAX_PIECES_LENGTH = 24
_MAX_PIECES = 3


def _is_pinyin(s: str, max_syllables: int = 4) -> bool:
    """s spells one to max_syllables pinyin syllables (zhangwei, woaini)."""
    if not s.isascii() or not s.isalpha():
        return False
    best = [0] + [None] * len(s)  # fewest syllables spelling s[:i]
    for i in range(1, len(s) + 1):
        for k in range(max(0, i - 6), i):
            if best[k] is not None and s[k:i] in _SYLLABLES and (best[i] is None or best[k] + 1 < best[i]):
                best[i] = best[k] + 1
    return best[-1] is not None and best[-1] <= max_syllables


def _is_sequence(s: str) -> bool:
    steps = {ord(b) - ord(a) for a, b in zip(s, s[1:], strict=False)}
    return len(s) >= 3 and s.isalnum() and s.isascii() and steps in ({1}, {-1})


def _is_keyboard(s: str) -> bool:
    return len(s) >= 3 and any(s in row or s[::-1] in row for row in _KEYBOARD)


def _is_repeat(s: str) -> bool:
    return len(s) >= 3 and re.fullmatch(r"(.{1,4})\1+", s) is not None


def _is_date(s: str) -> bool:
    if not s.isdigit() or not s.isascii():
        return False

    def ymd(y, m, d=1):
        return 1900 <= y <= 2099 and 1 <= m <= 12 and 1 <= d <= 31

    n = len(s)
    if n == 8:
        return (ymd(int(s[:4]), int(s[4:6]), int(s[6:])) or ymd(int(s[4:]), int(s[:2]), int(s[2:4]))
                or ymd(int(s[4:]), int(s[2:4]), int(s[:2])))
    if n == 6:
        return ymd(int(s[:4]), int(s[4:])) or ymd(1900 + int(s[:2]), int(s[2:4]), int(s[4:]))
    return n == 4 and 1900 <= int(s) <= 2099


# (kind, test): the first that fits names the piece; the order puts the clearest reason first.
_PIECES = (
    ("date", _is_date),
    ("repeated", _is_repeat),
    ("sequence", _is_sequence),
    ("keyboard", _is_keyboard),
    ("pinyin", _is_pinyin),
    ("digits", lambda s: s.isdigit() and len(s) <= 4),
    ("short", lambda s: len(s) <= 2),
)


def _piece_kind(s: str) -> str | None:
    for kind, test in _PIECES:
        if test(s):
            return kind
    return None


def weak_pieces(password: str) -> list[tuple[str, str]] | None:
    """The fewest easy pieces (kind, text) that spell the password, if a few do; else None."""
    s = _SEPARATORS.sub("", password.lower())
    if not s or len(s) > _MAX_PIECES_LENGTH:
        return None
    n = len(s)
    best: list[list | None] = [[]] + [None] * n
    for i in range(1, n + 1):
        for k in range(i):
            if best[k] is None or (best[i] is not None and len(best[k]) + 1 >= len(best[i])):
                continue
            kind = _piece_kind(s[k:i])
            if kind is not None:
                best[i] = best[k] + [(kind, s[k:i])]
    pieces = best[n]
    return pieces if pieces is not None and len(pieces) <= _MAX_PIECES else None


@lru_cache(maxsize=1)
def _common() -> frozenset:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"]) | _COMMON_CHINESE


def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text or "")).lower()


def _town_names() -> list[str]:
    """The towns' names in characters and in pinyin, with and without 镇 / 乡 / 街道."""
    from sqlalchemy import select

    names = []
    for name in db.session.scalars(select(Town.name)):
        short = re.sub(r"(镇|乡|街道)$", "", name or "")
        for form in {name, short}:
            if len(form) >= 2:
                names += [form.lower(), _pinyin(form)]
    return [n for n in names if len(n) >= 2 and (not n.isascii() or len(n) >= 4)]


# --- the rule ----------------------------------------------------------------------------------

def _messages() -> dict:
    return {
        "repeated": _("The password repeats the same characters (like aaaaaaaa or abcabc); choose another."),
        "sequence": _("The password is a sequence (like abcdefgh or 12345678); choose another."),
        "keyboard": _("The password is a row of keys on the keyboard (like qwertyui or 1qaz2wsx); choose another."),
        "date": _("The password is mostly a date (like 19900101): birthdays are easy to guess."),
        "pinyin": _("The password is mostly a name or phrase in pinyin (like zhangwei123 or woaini1314), "
                    "which is easy to guess."),
        "digits": _("The password is only a few common numbers (like 1314 or 520); add letters or make it longer."),
        "short": _("The password is made of a few easy pieces; choose a longer or less predictable one."),
    }


def described() -> list[str]:
    """The rule in a few lines, for the pages where a password is chosen."""
    return [
        _("At least %(n)d characters.", n=current_app.config["PASSWORD_MIN_LENGTH"]),
        _("Not containing your username, name or phone number, nor the town's name."),
        _("Not a common password, and not made of a few easy pieces: names or phrases in pinyin, dates, "
          "keyboard rows, sequences or repeated characters (like zhangwei123, 19900101 or qwertyui)."),
        _("A few unrelated words, or a sentence you remember, make a good password."),
    ]


def check_password_rules(password: str, user=None) -> None:
    """Raise PasswordRejected with a user-facing reason, or return. `user` is the account the
    password is for (its username, name and phone are refused in it)."""

    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise PasswordRejected(_("The password must be at least %(n)d characters long.", n=minimum),
                               reason="too_short")
    lowered = password.lower()
    bare = _SEPARATORS.sub("", lowered)
    if lowered == DEMO_PASSWORD or bare == _SEPARATORS.sub("", DEMO_PASSWORD):
        raise PasswordRejected(_("This is the published demo password; choose your own."), reason="demo")
    if user is not None and _contains_own_details(lowered, bare, user):
        raise PasswordRejected(_("The password must not contain your username, name or phone number."),
                               reason="own_details")
    if any(name in lowered or name in bare for name in _town_names()):
        raise PasswordRejected(_("The password must not contain the town's name."), reason="town")
    if lowered in _common() or bare in _common():
        raise PasswordRejected(_("This password is among the most common ones; choose another."), reason="common")
    if re.fullmatch(r"(.+?)\1+", bare):
        raise PasswordRejected(_messages()["repeated"], reason="repeated")
    pieces = weak_pieces(password)
    if pieces:
        # The longest piece says best what makes it guessable (zhangwei123: the name).
        kind = max(pieces, key=lambda p: (len(p[1]), -[k for k, _t in _PIECES].index(p[0])))[0]
        if bare.isdigit() and len(pieces) > 1:
            kind = "digits"  # 1314520520 is numbers people like, not a date
        raise PasswordRejected(_messages()[kind], reason=kind)


def _contains_own_details(lowered: str, bare: str, user) -> bool:
    username = (user.username or "").strip().lower()
    details = [username, username[::-1], _SEPARATORS.sub("", username), _pinyin(user.display_name)]
    if user.display_name and not user.display_name.isascii():
        details.append(user.display_name.lower())
    if user.phone:
        details.append(user.phone)
    for detail in details:
        if len(detail) >= (3 if detail.isascii() else 2) and (detail in lowered or detail in bare):
            return True
        if detail and detail.isascii() and len(detail) < 3 and bare.strip(detail) == "":  # a short name repeated
            return True
    return False
