"""Group texts for tests that need a robot message of any content, and the oracle that says what
a group chat must never read (the tests' own detector: the app has no such filter)."""
from flask_babel import lazy_gettext as _l

from gridapp.notifications.group import GroupText

# A resident whose data tries every spelling a phone-number filter misses or mangles.
RESIDENT_NAME = "王秀英"
PHONES = ("138.0939.0001", "１３８０９３９０００１", "一三八零九三九零零零一")
ROOM = ("3", "2", "501")  # building, unit, room: written 3-2-501
ITEMS = "布洛芬 1盒\n胰岛素 2支"
NOTES = "王秀英家 3-2-501，电话 138.0939.0001，糖尿病需冷藏"
VOLUNTEER_NAME = "李桂兰"
VOLUNTEER_PHONE = "１３９０９３９０００２"

NEVER_IN_A_GROUP_CHAT = (RESIDENT_NAME, *PHONES, "3-2-501", "501", "布洛芬", "胰岛素", "糖尿病", "冷藏",
                         VOLUNTEER_NAME, VOLUNTEER_PHONE, "0939", "0001", "０００１", "零零零一")


def a_group_text() -> GroupText:
    """The group robots' test notice: for tests about delivery, whatever the text."""
    return GroupText(_l("Test notice from the town grid"), _l("If you can read this, the robot works."))


def personal_data_in(text: str) -> list[str]:
    return [private for private in NEVER_IN_A_GROUP_CHAT if private in text]
